"""Concurrency against the linearizable emulator: no oversell, no partial reservation,
no double order, stock returned once. `make soak` repeats these 20 times."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api_client import ApiClient
from tests.integration.sell import ADDRESS

pytestmark = pytest.mark.concurrency


def _order(client: ApiClient, lines: list[dict[str, Any]], key: str | None = None) -> tuple[int, dict[str, Any]]:
    body = {"lines": lines, "shipping_address": ADDRESS}
    response = client.post("/orders", body, headers={"Idempotency-Key": key or uuid.uuid4().hex})
    return response.status_code, response.json()


def _stock(anon: ApiClient, product_id: str) -> int:
    response = anon.get(f"/products/{product_id}")
    assert response.status_code == 200
    return int(response.json()["stock"])


def _all_orders(admin: ApiClient) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "/orders?scope=all&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = admin.get(path).json()
        orders += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return orders


def test_concurrent_orders_never_oversell(
    make_product: Callable[..., dict[str, Any]], shopper: ApiClient, admin: ApiClient, anon: ApiClient
) -> None:
    stock, attempts = 37, 120
    product = make_product(stock=stock)
    clients = [ApiClient(shopper.base_url, shopper.token) for _ in range(16)]

    def attempt(i: int) -> tuple[int, dict[str, Any]]:
        return _order(clients[i % len(clients)], [{"product_id": product["id"], "quantity": 1}])

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(attempt, range(attempts)))
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == stock, statuses
    assert statuses[409] == attempts - stock, statuses
    assert all(body["error"]["code"] == "out_of_stock" for status, body in results if status == 409), [
        body for status, body in results if status == 409 and body["error"]["code"] != "out_of_stock"][:3]
    assert _stock(anon, product["id"]) == 0
    placed_ids = {body["id"] for status, body in results if status == 201}
    stored = [o for o in _all_orders(admin) if any(line["product_id"] == product["id"] for line in o["lines"])]
    assert len(stored) == stock
    assert {o["id"] for o in stored} == placed_ids


def test_concurrent_multi_line_orders_never_leave_partial_reservations(
    make_product: Callable[..., dict[str, Any]], shopper: ApiClient, anon: ApiClient
) -> None:
    a, b, c = make_product(stock=20), make_product(stock=15), make_product(stock=25)
    baskets = [
        [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1}],
        [{"product_id": b["id"], "quantity": 2}, {"product_id": c["id"], "quantity": 3}],
        [{"product_id": a["id"], "quantity": 1}, {"product_id": c["id"], "quantity": 2}],
    ]
    clients = [ApiClient(shopper.base_url, shopper.token) for _ in range(12)]

    def attempt(i: int) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        basket = baskets[i % len(baskets)]
        status, body = _order(clients[i % len(clients)], basket)
        return status, body, basket

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(attempt, range(90)))
    assert {status for status, _, _ in results} <= {201, 409}
    reserved: Counter[str] = Counter()
    for status, _, basket in results:
        if status == 201:
            for line in basket:
                reserved[line["product_id"]] += line["quantity"]
    # Stock moved by exactly what the successful orders reserved: nothing partial, nothing lost.
    for product, initial in ((a, 20), (b, 15), (c, 25)):
        final = _stock(anon, product["id"])
        assert final >= 0
        assert final == initial - reserved[product["id"]], (product["id"], final, reserved)


def test_retried_order_with_same_key_is_stored_once(
    make_product: Callable[..., dict[str, Any]], shopper: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=50)
    key = uuid.uuid4().hex
    lines = [{"product_id": product["id"], "quantity": 3}]
    clients = [ApiClient(shopper.base_url, shopper.token) for _ in range(8)]

    def attempt(i: int) -> tuple[int, dict[str, Any]]:
        return _order(clients[i], lines, key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    placed = {body["id"] for status, body in results if status == 201}
    # Every retry answers with the one order its key names: never a second order.
    assert len(placed) == 1, results
    assert {status for status, _ in results} == {201}, results
    status, body = _order(shopper, lines, key)
    assert status == 201 and body["id"] in placed
    assert _stock(anon, product["id"]) == 47


def test_concurrent_cancels_return_stock_once(
    make_product: Callable[..., dict[str, Any]], shopper: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=10)
    status, order = _order(shopper, [{"product_id": product["id"], "quantity": 4}])
    assert status == 201
    assert _stock(anon, product["id"]) == 6
    clients = [ApiClient(shopper.base_url, shopper.token) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda c: c.post(f"/orders/{order['id']}/cancel"), clients))
    # One cancel wins; the others find the order cancelled already (409): stock comes back once.
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9, [r.text for r in responses]
    assert _stock(anon, product["id"]) == 10


def test_concurrent_stock_decrements_never_go_below_zero(
    make_product: Callable[..., dict[str, Any]], admin: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=30)
    clients = [ApiClient(admin.base_url, admin.token) for _ in range(16)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(pool.map(lambda i: clients[i % 16].post(f"/products/{product['id']}/stock", {"delta": -1}),
                                  range(80)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 30 and statuses[409] == 50, statuses
    assert _stock(anon, product["id"]) == 0
