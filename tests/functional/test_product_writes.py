"""Product writes through the repository's plans (moto in-process): round trips per
write, answers that match what was stored, and bulk import behaving like the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from catalog_lambda.bulk_import import BulkImporter
from catalog_lambda.catalog import CatalogService
from catalog_lambda.settings import Settings

NewProduct = Callable[..., dict[str, Any]]


def _counts(catalog: CatalogService) -> dict[str, int]:
    return {c["slug"]: c["product_count"] for c in catalog.list_categories()["items"]}


def _search(catalog: CatalogService, q: str) -> list[str]:
    return [p["id"] for p in catalog.list_products(q=q)["items"]]


@pytest.mark.parametrize("change", [
    {"name": "Renamed Kettle Deluxe"},
    {"sku": "MOVED-SKU", "category": "kitchen", "name": "Moved Kettle"},
])
def test_a_replace_is_one_read_and_one_transaction(catalog: CatalogService, new_product: NewProduct,
                                                   dynamodb_calls: Any, change: dict[str, Any]) -> None:
    product = new_product(name="Stovetop Kettle Classic")
    with dynamodb_calls() as log:
        answer = catalog.replace_product(product["id"], {**product, **change})
    assert log.operations == ["GetItem", "TransactWriteItems"]
    assert answer == catalog.get_product(product["id"])
    assert answer["version"] == 2 and answer["stock"] == product["stock"]


def test_a_replace_moves_every_search_token_in_its_transaction(catalog: CatalogService,
                                                                new_product: NewProduct) -> None:
    product = new_product(name="Stovetop Kettle Classic")
    catalog.replace_product(product["id"], {**product, "name": "Ceramic Teapot"})
    assert _search(catalog, "teapot") == [product["id"]]
    assert _search(catalog, "stovetop") == []


def test_a_delete_is_one_read_and_one_transaction(catalog: CatalogService, new_product: NewProduct,
                                                  dynamodb_calls: Any) -> None:
    product = new_product(name="Stovetop Kettle Classic")
    before = _counts(catalog)["tea"]
    with dynamodb_calls() as log:
        catalog.delete_product(product["id"])
    assert log.operations == ["GetItem", "TransactWriteItems"]
    assert _search(catalog, "stovetop") == []
    assert _counts(catalog)["tea"] == before - 1


def _import(settings: Settings, rows: list[dict[str, Any]]) -> Any:
    return BulkImporter(settings, workers=1).run("\n".join(json.dumps(r) for r in rows), "rows.jsonl")


def test_an_sku_changed_through_the_api_then_imported_behaves_like_the_api(
        catalog: CatalogService, new_product: NewProduct, settings: Settings) -> None:
    product = new_product(sku="OLD-SKU", name="Loose Leaf Tea")
    changed = catalog.replace_product(product["id"], {**product, "sku": "NEW-SKU"})
    row = {k: changed[k] for k in ("sku", "name", "description", "category", "price_cents", "currency")}

    # The new sku names the same product: an identical row is unchanged, a changed one updates it.
    assert _import(settings, [row]).unchanged == 1
    report = _import(settings, [{**row, "name": "Loose Leaf Tea Tin", "category": "kitchen"}])
    assert (report.created, report.updated, report.failed) == (0, 1, 0)
    imported = catalog.get_product(product["id"])
    api = catalog.replace_product(product["id"], {**imported, "name": "Loose Leaf Tea Tin", "category": "kitchen"})
    assert {k: imported[k] for k in ("sku", "name", "category")} == {k: api[k] for k in ("sku", "name", "category")}
    assert imported["sku"] == "NEW-SKU" and _search(catalog, "tin") == [product["id"]]

    # The old sku was released by the API's change: importing it creates another product.
    report = _import(settings, [{**row, "sku": "OLD-SKU", "name": "Second Tea"}])
    assert report.created == 1
    counts = _counts(catalog)
    assert counts["kitchen"] == 1 and counts["tea"] == 1


def test_an_import_update_writes_all_editable_fields_and_leaves_stock_alone(
        catalog: CatalogService, new_product: NewProduct, settings: Settings) -> None:
    product = new_product(sku="IMP-1", name="Earl Grey", stock=9)
    row = {"sku": "IMP-1", "name": "Earl Grey Strong", "description": "Bold", "category": "kitchen",
           "price_cents": 1500, "currency": "EUR", "image_url": "https://img.example/eg.png", "stock": 500}
    report = _import(settings, [row])
    assert report.updated == 1
    stored = catalog.get_product(product["id"])
    assert {k: stored[k] for k in row if k != "stock"} == {k: v for k, v in row.items() if k != "stock"}
    assert stored["stock"] == 9 and stored["version"] == 2


@pytest.mark.slow  # 750 rows through moto in process: make test runs it, make check does not
def test_an_import_of_many_rows_keeps_counts_exact_and_is_idempotent(catalog: CatalogService,
                                                                     settings: Settings) -> None:
    rows = [{"sku": f"BULK-{i}", "name": f"Bulk Item {i} Organic Roast", "category": "tea" if i % 3 else "kitchen",
             "price_cents": 100 + i, "currency": "USD", "stock": i} for i in range(250)]
    before = _counts(catalog)
    first = _import(settings, rows)
    assert (first.created, first.failed) == (250, 0)
    again = _import(settings, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 250)
    rows[7]["category"] = "kitchen"
    moved = _import(settings, rows)
    assert (moved.updated, moved.unchanged) == (1, 249)
    after = _counts(catalog)
    assert after["tea"] - before["tea"] == sum(1 for r in rows if r["category"] == "tea")
    assert after["kitchen"] - before["kitchen"] == sum(1 for r in rows if r["category"] == "kitchen")
    assert len(_search(catalog, "bulk")) == 20  # one page: the tokens were written


def test_every_model_and_transaction_share_one_botocore_client(catalog: CatalogService, settings: Settings) -> None:
    from catalog_lambda.dynamo import shared_connection
    from catalog_lambda.models import ORDERS_TABLE_MODELS, PRODUCTS_TABLE_MODELS

    clients = {id(model._get_connection().connection.client) for model in PRODUCTS_TABLE_MODELS + ORDERS_TABLE_MODELS}
    assert clients == {id(shared_connection(settings).client)}


def test_the_cursor_key_is_read_from_secrets_manager_on_the_shared_session(catalog: CatalogService) -> None:
    import boto3

    from catalog_lambda import services
    from catalog_lambda.aws import boto3_session, botocore_session

    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="cursor-key", SecretString="k" * 40)
    settings = Settings(stage="functional", cursor_secret_name="cursor-key", endpoint_url=None)
    services.reset()
    assert services.cursor_key(settings) == b"k" * 40
    assert boto3_session()._session is botocore_session()
