"""Strict validation of request bodies: every limit of the contract, nothing written on refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog_lambda.catalog import CatalogService
from catalog_lambda.errors import ValidationError
from tests.functional.conftest import product_body

NewProduct = Callable[..., dict[str, Any]]

VALID = [
    {"sku": "a"}, {"sku": "A" * 64}, {"sku": "Az09_-"},
    {"name": "x"}, {"name": "n" * 200}, {"name": "é" * 200},
    {"description": ""}, {"description": "d" * 5000}, {"description": "two\nlines\ttab"},
    {"price_cents": 0}, {"price_cents": 100_000_000},
    {"currency": "EUR"},
    {"image_url": None}, {"image_url": "https://example.com/" + "a" * (2048 - 20)},
    {"stock": 0}, {"stock": 1_000_000},
]

INVALID = [
    # sku: 1-64 of [A-Za-z0-9_-]
    {"sku": ""}, {"sku": "A" * 65}, {"sku": "has space"}, {"sku": "dot.ted"}, {"sku": "slash/"}, {"sku": "é"},
    {"sku": "trailing\n"}, {"sku": 12}, {"sku": None},
    # name: 1-200 characters
    {"name": ""}, {"name": "n" * 201}, {"name": "   "}, {"name": 5}, {"name": None}, {"name": ["x"]},
    {"name": "bell\x07"},
    # description: up to 5,000
    {"description": "d" * 5001}, {"description": None}, {"description": 1},
    # category: an existing slug
    {"category": ""}, {"category": "Tea"}, {"category": "no-such-category"}, {"category": None}, {"category": 1},
    # price_cents: integer 0..100,000,000
    {"price_cents": -1}, {"price_cents": 100_000_001}, {"price_cents": "10"}, {"price_cents": 10.0},
    {"price_cents": 10.5}, {"price_cents": True}, {"price_cents": None}, {"price_cents": 10**30},
    # currency: three capital letters
    {"currency": "usd"}, {"currency": "US"}, {"currency": "USDD"}, {"currency": "U$D"}, {"currency": None},
    {"currency": "USD\n"},
    # image_url: https, at most 2,048
    {"image_url": "http://example.com/a.jpg"}, {"image_url": "https://example.com/" + "a" * (2049 - 20)},
    {"image_url": "https://"}, {"image_url": "ftp://example.com/a"}, {"image_url": "example.com/a.jpg"},
    {"image_url": "https://exa mple.com/a"}, {"image_url": "javascript:alert(1)"}, {"image_url": 1},
    # stock: integer 0..1,000,000
    {"stock": -1}, {"stock": 1_000_001}, {"stock": "10"}, {"stock": 10.0}, {"stock": True}, {"stock": None},
    # any other field
    {"unknown": 1}, {"Sku": "x"}, {"version": 3},
]

REQUIRED = ["sku", "name", "category", "price_cents", "currency"]


def _counts(catalog: CatalogService) -> dict[str, int]:
    return {c["slug"]: c["product_count"] for c in catalog.list_categories()["items"]}


@pytest.mark.parametrize("override", VALID, ids=lambda o: repr(o)[:40])
def test_values_at_the_limits_are_accepted(catalog: CatalogService, override: dict[str, Any]) -> None:
    created = catalog.create_product(product_body(**override))
    for key, value in override.items():
        assert created[key] == value


@pytest.mark.parametrize("override", INVALID, ids=lambda o: repr(o)[:40])
def test_invalid_create_bodies_are_refused_and_nothing_is_written(
    catalog: CatalogService, override: dict[str, Any]
) -> None:
    before = _counts(catalog)
    body = product_body(**override)
    with pytest.raises(ValidationError) as raised:
        catalog.create_product(body)
    assert raised.value.details, "the error names what is wrong"
    assert _counts(catalog) == before
    assert catalog.list_products() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_required_field_is_refused(catalog: CatalogService, field: str) -> None:
    body = product_body()
    del body[field]
    with pytest.raises(ValidationError) as raised:
        catalog.create_product(body)
    assert any(d["field"] == field for d in raised.value.details)
    assert catalog.list_products()["items"] == []


@pytest.mark.parametrize("body", [None, [], "text", 1, True, [product_body()]])
def test_a_body_that_is_not_an_object_is_refused(catalog: CatalogService, body: Any) -> None:
    with pytest.raises(ValidationError):
        catalog.create_product(body)


@pytest.mark.parametrize("override", [o for o in INVALID if "stock" not in o and "version" not in o],
                         ids=lambda o: repr(o)[:40])
def test_invalid_replace_bodies_are_refused_and_nothing_changes(
    catalog: CatalogService, new_product: NewProduct, override: dict[str, Any]
) -> None:
    product = new_product()
    with pytest.raises(ValidationError):
        catalog.replace_product(product["id"], {**product, **override})
    assert catalog.get_product(product["id"]) == product


@pytest.mark.parametrize("field", REQUIRED)
def test_a_replace_missing_a_required_field_is_refused(
    catalog: CatalogService, new_product: NewProduct, field: str
) -> None:
    product = new_product()
    body = dict(product)
    del body[field]
    with pytest.raises(ValidationError):
        catalog.replace_product(product["id"], body)
    assert catalog.get_product(product["id"]) == product


def test_a_replace_may_not_set_stock_through_the_body(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=3)
    replaced = catalog.replace_product(product["id"], {**product, "stock": "whatever"})
    assert replaced["stock"] == 3
