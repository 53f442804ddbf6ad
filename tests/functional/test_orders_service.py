"""The order service in-process over moto (no concurrency here: moto alone is not atomic)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from catalog_lambda import services
from catalog_lambda.catalog import CatalogService
from catalog_lambda.errors import (
    IdempotencyConflictError,
    OrderNotFoundError,
    OutOfStockError,
    ProductNotFoundError,
    ValidationError,
)
from catalog_lambda.orders import OrderService
from catalog_lambda.settings import Settings

NewProduct = Callable[..., dict[str, Any]]


@pytest.fixture
def orders(catalog: CatalogService, settings: Settings) -> OrderService:
    return services.order_service(settings)


def lines(*pairs: tuple[str, int]) -> dict[str, Any]:
    return {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in pairs]}


def test_can_place_an_order_and_stock_is_reserved(
    orders: OrderService, catalog: CatalogService, new_product: NewProduct
) -> None:
    a, b = new_product(stock=4, price_cents=300), new_product(stock=2, price_cents=50)
    order = orders.place_order("alice", "k1", lines((a["id"], 3), (b["id"], 2)))
    assert order["total_cents"] == 3 * 300 + 2 * 50
    assert [line["quantity"] for line in order["lines"]] == [3, 2]
    assert catalog.get_product(a["id"])["stock"] == 1
    assert catalog.get_product(b["id"])["stock"] == 0


def test_out_of_stock_reserves_nothing(orders: OrderService, catalog: CatalogService, new_product: NewProduct) -> None:
    a, b = new_product(stock=4), new_product(stock=1)
    with pytest.raises(OutOfStockError) as raised:
        orders.place_order("alice", "k1", lines((a["id"], 1), (b["id"], 2)))
    assert [d["product_id"] for d in raised.value.details] == [b["id"]]
    assert catalog.get_product(a["id"])["stock"] == 4


def test_unknown_product_is_named(orders: OrderService, new_product: NewProduct) -> None:
    a = new_product(stock=4)
    with pytest.raises(ProductNotFoundError) as raised:
        orders.place_order("alice", "k1", lines((a["id"], 1), ("missing", 1)))
    assert raised.value.details == [{"product_id": "missing", "issue": "not found"}]


def test_mixed_currencies_are_refused(orders: OrderService, new_product: NewProduct) -> None:
    usd, eur = new_product(currency="USD"), new_product(currency="EUR")
    with pytest.raises(ValidationError):
        orders.place_order("alice", "k1", lines((usd["id"], 1), (eur["id"], 1)))


def test_retry_after_the_idempotency_record_expired_still_places_once(
    orders: OrderService, catalog: CatalogService, new_product: NewProduct, settings: Settings
) -> None:
    product = new_product(stock=10)
    first = orders.place_order("alice", "k1", lines((product["id"], 2)))
    # The Powertools record is gone (expired / TTL-deleted): the guard item still answers.
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(settings.idempotency_table)
    for item in table.scan()["Items"]:
        table.delete_item(Key={"id": item["id"]})
    again = orders.place_order("alice", "k1", lines((product["id"], 2)))
    assert again == first
    assert catalog.get_product(product["id"])["stock"] == 8
    with pytest.raises(IdempotencyConflictError):
        for item in table.scan()["Items"]:
            table.delete_item(Key={"id": item["id"]})
        orders.place_order("alice", "k1", lines((product["id"], 3)))
    assert catalog.get_product(product["id"])["stock"] == 8


def test_cancel_twice_returns_stock_once(
    orders: OrderService, catalog: CatalogService, new_product: NewProduct
) -> None:
    product = new_product(stock=5)
    order = orders.place_order("alice", uuid.uuid4().hex, lines((product["id"], 5)))
    assert orders.cancel_order(order["id"], "alice", False)["status"] == "cancelled"
    assert orders.cancel_order(order["id"], "alice", False)["status"] == "cancelled"
    assert catalog.get_product(product["id"])["stock"] == 5


def test_cancel_skips_products_deleted_since(
    orders: OrderService, catalog: CatalogService, new_product: NewProduct
) -> None:
    kept, gone = new_product(stock=5), new_product(stock=5)
    order = orders.place_order("alice", uuid.uuid4().hex, lines((kept["id"], 1), (gone["id"], 1)))
    catalog.delete_product(gone["id"])
    assert orders.cancel_order(order["id"], "alice", False)["status"] == "cancelled"
    assert catalog.get_product(kept["id"])["stock"] == 5
    with pytest.raises(ProductNotFoundError):
        catalog.get_product(gone["id"])


def test_orders_are_private_to_their_customer(orders: OrderService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = orders.place_order("alice", uuid.uuid4().hex, lines((product["id"], 1)))
    with pytest.raises(OrderNotFoundError):
        orders.get_order(order["id"], "mallory", False)
    with pytest.raises(OrderNotFoundError):
        orders.cancel_order(order["id"], "mallory", False)
    assert orders.get_order(order["id"], "admin-sub", True)["id"] == order["id"]
    assert orders.list_orders("mallory", False, None, None)["items"] == []


def test_listing_all_orders_uses_the_time_index(orders: OrderService, new_product: NewProduct) -> None:
    product = new_product(stock=9)
    ids = [orders.place_order(c, uuid.uuid4().hex, lines((product["id"], 1)))["id"] for c in ("a", "b", "c")]
    page = orders.list_orders("whoever", True, "2", None)
    assert [o["id"] for o in page["items"]] == ids[::-1][:2]
    rest = orders.list_orders("whoever", True, "2", page["next_cursor"])
    assert [o["id"] for o in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None


def test_on_placed_fires_for_new_orders_only(orders: OrderService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    placed: list[str] = []
    first = orders.place_order("alice", "kk", lines((product["id"], 1)), on_placed=lambda o: placed.append(o["id"]))
    replay = orders.place_order("alice", "kk", lines((product["id"], 1)), on_placed=lambda o: placed.append(o["id"]))
    assert replay == first
    assert placed == [first["id"]]
