"""Selling under concurrency, against the linearizable emulator over HTTP: the hold limit,
payment racing expiry, replayed webhooks, cancel racing payment. `make soak` repeats these."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.local.processes import start_server, stop_group
from tests.api_client import ApiClient
from tests.conftest import PROJECT_DIR, LocalStack, free_port
from tests.integration.sell import completed_event, end_hold, new_customer, place, send_webhook, signed

pytestmark = [pytest.mark.integration, pytest.mark.concurrency]
MakeProduct = Callable[..., dict[str, Any]]
HOLD_LIMIT = 3


@pytest.fixture(scope="module")
def limited_api(local_stack: LocalStack) -> Iterator[str]:
    """The same app on the same emulator with the default hold limit (the shared test stack
    lifts it so that other tests may leave orders unpaid)."""
    from infra.local import bootstrap
    from infra.local.stack import emulator_env

    port = free_port()
    info = local_stack.info
    env = {
        **os.environ, **emulator_env(local_stack.emulator_url), "PYTHONPATH": str(PROJECT_DIR), "STAGE": "dev",
        "AUTH_MODE": "local", "COGNITO_USER_POOL_ID": info["user_pool_id"], "COGNITO_CLIENT_ID": info["client_id"],
        "COGNITO_JWKS_URL": info["jwks_url"], "COGNITO_ISSUER": info["issuer"],
        "CURSOR_SECRET_NAME": info["cursor_secret_name"], "PAYMENT_SECRET_NAME": bootstrap.payment_secret_name("dev"),
        "PAYMENT_PROVIDER": "local", "MAX_PENDING_ORDERS": str(HOLD_LIMIT), "EXPIRY_SWEEP_SECONDS": "3600",
        "API_ACCESS_LOG": "0", "POWERTOOLS_TRACE_DISABLED": "1",
    }
    url = f"http://127.0.0.1:{port}"
    proc = start_server([sys.executable, "-m", "infra.local.api_server", "--port", str(port)], f"{url}/health",
                        timeout=120, env=env)
    try:
        yield url
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def secret(local_stack: LocalStack) -> str:
    return local_stack.info["payment_webhook_secret"]


def _stock(anon: ApiClient, product_id: str) -> int:
    return int(anon.get(f"/products/{product_id}").json()["stock"])


def test_ten_concurrent_orders_from_one_customer_leave_exactly_the_hold_limit_pending(
    make_product: MakeProduct, limited_api: str, local_stack: LocalStack, anon: ApiClient
) -> None:
    product = make_product(stock=50)
    token = new_customer(local_stack)
    clients = [ApiClient(limited_api, token) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda c: place(c, [(product["id"], 2)]), clients))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: HOLD_LIMIT, 409: 10 - HOLD_LIMIT}, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"too_many_pending_orders"}
    assert _stock(anon, product["id"]) == 50 - 2 * HOLD_LIMIT
    mine = ApiClient(limited_api, token).get("/orders?limit=100").json()["items"]
    assert [o["status"] for o in mine] == ["pending_payment"] * HOLD_LIMIT


def test_payment_racing_expiry_ends_paid_or_expired_and_refunded_never_both(
    make_product: MakeProduct, local_stack: LocalStack, anon: ApiClient, secret: str
) -> None:
    from catalog_lambda.services import order_service
    from catalog_lambda.settings import Settings

    product = make_product(stock=40)
    buyers = [ApiClient(local_stack.api_url, new_customer(local_stack)) for _ in range(4)]
    orders, events = [], []
    for i in range(12):
        buyer = buyers[i % len(buyers)]
        order = place(buyer, [(product["id"], 2)]).json()
        session = buyer.post(f"/orders/{order['id']}/pay").json()
        orders.append((buyer, order))
        events.append(completed_event(order, session["session_id"]))
    for _, order in orders:
        end_hold(local_stack, order["id"])
    # The sweep (the scheduled function's own code, in this process) against the same emulator,
    # racing the webhooks over HTTP (and the stack's own sweep, every second).
    sweeper = order_service(Settings(stage="dev", endpoint_url=local_stack.emulator_url, cursor_signing_key="x" * 32,
                                     payment_webhook_secret=secret))

    def webhook(event: dict[str, Any]) -> int:
        return send_webhook(ApiClient(local_stack.api_url), event, secret).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        sweeps = [pool.submit(sweeper.expire_due) for _ in range(3)]
        deliveries = list(pool.map(webhook, events))
        for sweep in sweeps:
            sweep.result()
    assert deliveries == [200] * len(events)
    held = 0
    for buyer, order in orders:
        final = buyer.get(f"/orders/{order['id']}").json()
        if final["status"] == "paid":
            assert final["refunded_cents"] == 0
            held += 2
        else:
            assert final["status"] == "expired", final
            assert final["refunded_cents"] == order["total_cents"]  # paid too late: all of it back, once
    assert _stock(anon, product["id"]) == 40 - held


def test_twenty_concurrent_replays_of_one_event_pay_once(
    make_product: MakeProduct, local_stack: LocalStack, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=5)
    buyer = ApiClient(local_stack.api_url, new_customer(local_stack))
    order = place(buyer, [(product["id"], 1)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    payload, headers = signed(completed_event(order, session["session_id"]), secret)
    clients = [ApiClient(local_stack.api_url) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda c: c.post("/payments/webhook", raw=payload, headers=headers), clients))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    outcomes = Counter(r.json()["outcome"] for r in responses)
    assert outcomes == {"paid": 1, "duplicate": 19}, outcomes
    final = buyer.get(f"/orders/{order['id']}").json()
    assert (final["status"], final["refunded_cents"]) == ("paid", 0)
    assert _stock(anon, product["id"]) == 4


def test_twenty_concurrent_replays_of_a_late_payment_refund_once(
    make_product: MakeProduct, local_stack: LocalStack, secret: str
) -> None:
    product = make_product(stock=5)
    buyer = ApiClient(local_stack.api_url, new_customer(local_stack))
    order = place(buyer, [(product["id"], 1)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    assert buyer.post(f"/orders/{order['id']}/cancel").status_code == 200
    payload, headers = signed(completed_event(order, session["session_id"]), secret)
    clients = [ApiClient(local_stack.api_url) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda c: c.post("/payments/webhook", raw=payload, headers=headers), clients))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert Counter(r.json()["outcome"] for r in responses) == {"refunded_late_payment": 1, "duplicate": 19}
    final = buyer.get(f"/orders/{order['id']}").json()
    assert (final["status"], final["refunded_cents"]) == ("cancelled", order["total_cents"])


def test_cancel_racing_payment_ends_cancelled_refunded_with_stock_back_once(
    make_product: MakeProduct, local_stack: LocalStack, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=30)
    buyers = [ApiClient(local_stack.api_url, new_customer(local_stack)) for _ in range(4)]
    cases = []
    for i in range(10):
        buyer = buyers[i % len(buyers)]
        order = place(buyer, [(product["id"], 3)]).json()
        session = buyer.post(f"/orders/{order['id']}/pay").json()
        cases.append((buyer, order, completed_event(order, session["session_id"])))
    assert _stock(anon, product["id"]) == 0

    def cancel(case: tuple[ApiClient, dict[str, Any], dict[str, Any]]) -> int:
        buyer, order, _ = case
        return ApiClient(buyer.base_url, buyer.token).post(f"/orders/{order['id']}/cancel").status_code

    def pay(case: tuple[ApiClient, dict[str, Any], dict[str, Any]]) -> int:
        return send_webhook(ApiClient(local_stack.api_url), case[2], secret).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        cancels = [pool.submit(cancel, case) for case in cases]
        payments = [pool.submit(pay, case) for case in cases]
        assert [f.result() for f in payments] == [200] * len(cases)
        assert [f.result() for f in cancels] == [200] * len(cases)
    for buyer, order, _ in cases:
        final = buyer.get(f"/orders/{order['id']}").json()
        # Whichever came first, the shopper ends with the order cancelled and all their money back.
        assert (final["status"], final["refunded_cents"]) == ("cancelled", order["total_cents"]), final
    assert _stock(anon, product["id"]) == 30
