"""DynamoDB round trips per read (the design's quality bar): get and category listing
one call, search at most two, and never a Scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog_lambda.catalog import CatalogService

NewProduct = Callable[..., dict[str, Any]]


@pytest.fixture
def stocked(new_product: NewProduct) -> list[dict[str, Any]]:
    names = ["Tea Teapot Teaspoon", "Green Tea", "Earl Grey", "Camp Mug", "Tea Towel", "Travel Tea Kit"]
    return [new_product(name=name, category="tea" if i % 2 else "kitchen") for i, name in enumerate(names)]


def test_get_is_one_call(catalog: CatalogService, stocked: list[dict[str, Any]], dynamodb_calls: Any) -> None:
    with dynamodb_calls() as log:
        catalog.get_product(stocked[0]["id"])
    assert log.operations == ["GetItem"]


def test_a_missing_product_is_one_call(catalog: CatalogService, dynamodb_calls: Any) -> None:
    with dynamodb_calls() as log, pytest.raises(Exception):  # noqa: B017
        catalog.get_product("missing")
    assert log.operations == ["GetItem"]


@pytest.mark.parametrize("category", ["tea", None])
def test_a_listing_page_is_one_query(
    catalog: CatalogService, stocked: list[dict[str, Any]], dynamodb_calls: Any, category: str | None
) -> None:
    with dynamodb_calls() as log:
        first = catalog.list_products(category=category, limit="2")
    assert log.operations == ["Query"]
    with dynamodb_calls() as log:
        catalog.list_products(category=category, limit="2", cursor=first["next_cursor"])
    assert log.operations == ["Query"]


@pytest.mark.parametrize(("q", "category"), [("tea", None), ("tea t", "tea"), ("nothing", None), ("te", "kitchen")])
def test_search_is_at_most_two_calls(
    catalog: CatalogService, stocked: list[dict[str, Any]], dynamodb_calls: Any, q: str, category: str | None
) -> None:
    cursor = None
    for _ in range(10):
        with dynamodb_calls() as log:
            page = catalog.list_products(q=q, category=category, limit="1", cursor=cursor)
        assert len(log) <= 2, log.operations
        assert set(log.operations) <= {"Query", "BatchGetItem"}
        cursor = page["next_cursor"]
        if cursor is None:
            break


def test_categories_are_one_query(catalog: CatalogService, dynamodb_calls: Any) -> None:
    with dynamodb_calls() as log:
        catalog.list_categories()
    assert log.operations == ["Query"]


def test_no_request_path_scans(
    catalog: CatalogService, stocked: list[dict[str, Any]], dynamodb_calls: Any
) -> None:
    product = stocked[0]
    with dynamodb_calls() as log:
        catalog.list_products()
        catalog.list_products(category="tea")
        catalog.list_products(q="tea")
        catalog.list_categories()
        catalog.get_product(product["id"])
        catalog.change_stock(product["id"], {"delta": 1})
        catalog.replace_product(product["id"], {**product, "name": "Renamed Tea"})
        catalog.delete_product(product["id"])
    assert "TransactWriteItems" in log.operations
    assert "Scan" not in log.operations


def test_the_counter_sees_calls(catalog: CatalogService, dynamodb_calls: Any) -> None:
    # Guards the other tests: a counter that saw nothing would pass them all.
    with dynamodb_calls() as log:
        catalog.list_products()
        catalog.list_categories()
    assert len(log) == 2
