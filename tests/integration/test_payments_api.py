"""Paying, the webhook, the local payment page, expiry, cancel with refund and shipping, over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack
from tests.integration.sell import completed_event, end_hold, new_customer, place, send_webhook, wait_for_status

pytestmark = pytest.mark.integration
MakeProduct = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def secret(local_stack: LocalStack) -> str:
    return local_stack.info["payment_webhook_secret"]


@pytest.fixture
def buyer(local_stack: LocalStack) -> ApiClient:
    return ApiClient(local_stack.api_url, new_customer(local_stack))


def stock_of(anon: ApiClient, product_id: str) -> int:
    return int(anon.get(f"/products/{product_id}").json()["stock"])


def test_pay_returns_the_local_page_for_the_exact_total_and_the_same_on_repeat(
    make_product: MakeProduct, buyer: ApiClient, local_stack: LocalStack
) -> None:
    product = make_product(price_cents=1999, stock=5)
    order = place(buyer, [(product["id"], 2)]).json()
    first = buyer.post(f"/orders/{order['id']}/pay")
    assert first.status_code == 200, first.text
    session = first.json()
    assert set(session) == {"url", "session_id", "expires_at"}
    assert session["expires_at"] == order["expires_at"]
    url = urlsplit(session["url"])
    assert f"{url.scheme}://{url.netloc}" == local_stack.site_url and url.path == "/pay/local"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (query["order"], query["amount"], query["currency"]) == (order["id"], str(2 * 1999 + 500), "usd")
    assert order["total_cents"] == 2 * 1999 + 500
    assert buyer.post(f"/orders/{order['id']}/pay").json() == session


def test_the_local_page_pays_through_the_signed_webhook(
    make_product: MakeProduct, buyer: ApiClient, anon: ApiClient
) -> None:
    product = make_product(price_cents=700, stock=5)
    order = place(buyer, [(product["id"], 1)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    page = requests.get(session["url"], timeout=30)
    assert page.status_code == 200
    assert "12.00 USD" in page.text  # 7.00 + 5.00 shipping
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    form = {k: v.replace("&amp;", "&") for k, v in form.items()}
    site = session["url"].split("/pay/local")[0]
    declined = requests.post(f"{site}/pay/local/complete", data={**form, "decision": "decline"},
                             allow_redirects=False, timeout=30)
    assert declined.status_code == 303 and "payment=cancelled" in declined.headers["Location"]
    assert buyer.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    paid = requests.post(f"{site}/pay/local/complete", data={**form, "decision": "pay"}, allow_redirects=False,
                         timeout=30)
    assert paid.status_code == 303 and paid.headers["Location"].endswith(f"#/orders/{order['id']}?paid=1")
    after = buyer.get(f"/orders/{order['id']}").json()
    assert after["status"] == "paid" and after["paid_at"]
    assert stock_of(anon, product["id"]) == 4
    assert_error(buyer.post(f"/orders/{order['id']}/pay"), 409, "conflict")


def test_the_local_page_refuses_return_urls_off_its_origin(buyer: ApiClient, make_product: MakeProduct) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 1)]).json()
    url = buyer.post(f"/orders/{order['id']}/pay").json()["url"]
    evil = re.sub(r"success=[^&]+", "success=https%3A%2F%2Fevil.example%2F", url)
    assert requests.get(evil, timeout=30).status_code == 400


def test_a_webhook_pays_once_and_a_replay_changes_nothing(
    make_product: MakeProduct, buyer: ApiClient, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 2)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    event = completed_event(order, session["session_id"])
    first = send_webhook(anon, event, secret)
    assert first.status_code == 200 and first.json()["outcome"] == "paid", first.text
    again = send_webhook(anon, event, secret)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert buyer.get(f"/orders/{order['id']}").json()["status"] == "paid"
    assert stock_of(anon, product["id"]) == 3


def test_a_bad_signature_is_400_and_writes_nothing(
    make_product: MakeProduct, buyer: ApiClient, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 1)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    event = completed_event(order, session["session_id"])
    assert_error(send_webhook(anon, event, "whsec_not_the_secret"), 400, "invalid_signature")
    assert_error(anon.post("/payments/webhook", event), 400, "invalid_signature")
    assert buyer.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    # The same event id, properly signed, is still new: the refused attempts recorded nothing.
    assert send_webhook(anon, event, secret).json()["outcome"] == "paid"


def test_a_wrong_amount_does_not_pay(make_product: MakeProduct, buyer: ApiClient, anon: ApiClient,
                                     secret: str) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 1)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    response = send_webhook(anon, completed_event(order, session["session_id"], amount=1), secret)
    assert response.status_code == 200 and response.json()["outcome"] == "amount_mismatch"
    assert buyer.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"


def test_an_unpaid_order_expires_and_a_late_payment_is_refunded(
    make_product: MakeProduct, buyer: ApiClient, anon: ApiClient, local_stack: LocalStack, secret: str
) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 3)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    assert stock_of(anon, product["id"]) == 2
    end_hold(local_stack, order["id"])
    expired = wait_for_status(buyer, order["id"], "expired")  # the stack's sweep (every second in tests)
    assert expired["refunded_cents"] == 0
    assert stock_of(anon, product["id"]) == 5
    late = send_webhook(anon, completed_event(order, session["session_id"]), secret)
    assert late.json()["outcome"] == "refunded_late_payment"
    after = buyer.get(f"/orders/{order['id']}").json()
    assert (after["status"], after["refunded_cents"]) == ("expired", order["total_cents"])
    assert stock_of(anon, product["id"]) == 5
    assert_error(buyer.post(f"/orders/{order['id']}/cancel"), 409, "conflict")


def test_cancelling_a_paid_order_refunds_it_and_returns_stock(
    make_product: MakeProduct, buyer: ApiClient, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 2)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    send_webhook(anon, completed_event(order, session["session_id"]), secret)
    cancelled = buyer.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["refunded_cents"]) == ("cancelled", order["total_cents"])
    assert stock_of(anon, product["id"]) == 5
    assert_error(buyer.post(f"/orders/{order['id']}/cancel"), 409, "conflict")


def test_admin_ships_a_paid_order_only(
    make_product: MakeProduct, buyer: ApiClient, admin: ApiClient, anon: ApiClient, secret: str
) -> None:
    product = make_product(stock=5)
    order = place(buyer, [(product["id"], 1)]).json()
    shipment = {"carrier": "DemoPost", "tracking_number": "DP-123 456"}
    assert_error(admin.post(f"/orders/{order['id']}/ship", shipment), 409, "conflict")
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    send_webhook(anon, completed_event(order, session["session_id"]), secret)
    assert_error(buyer.post(f"/orders/{order['id']}/ship", shipment), 403, "forbidden")
    assert_error(admin.post(f"/orders/{order['id']}/ship", {"carrier": "DemoPost"}), 400, "validation_error")
    shipped = admin.post(f"/orders/{order['id']}/ship", shipment)
    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert (body["status"], body["shipment"]) == ("shipped", shipment) and body["shipped_at"]
    assert_error(admin.post(f"/orders/{order['id']}/ship", shipment), 409, "conflict")
    assert_error(buyer.post(f"/orders/{order['id']}/cancel"), 409, "conflict")
    listed = admin.get("/orders?scope=all&status=shipped&limit=100").json()["items"]
    assert order["id"] in [o["id"] for o in listed]
    assert all(o["status"] == "shipped" for o in listed)


def test_status_filter_is_validated(admin: ApiClient, shopper: ApiClient) -> None:
    assert_error(admin.get("/orders?scope=all&status=placed"), 400, "validation_error")
    assert_error(shopper.get("/orders?status=paid"), 400, "validation_error")
    assert_error(shopper.get("/orders?scope=all&status=paid"), 403, "forbidden")


def test_the_demo_shoppers_seeded_orders_are_paid_or_shipped(shopper: ApiClient, shopper_token: str) -> None:
    import jwt

    from catalog_lambda.repositories.orders import order_id_for

    sub = jwt.decode(shopper_token, options={"verify_signature": False})["sub"]
    seeded = [shopper.get(f"/orders/{order_id_for(sub, f'demo-order-{n}')}").json() for n in (1, 2)]
    assert [o["status"] for o in seeded] == ["shipped", "paid"]
    assert seeded[0]["shipment"]["tracking_number"]


def test_payment_routes_need_auth_but_the_webhook_does_not(anon: ApiClient) -> None:
    assert_error(anon.post("/orders/x/pay"), 401, "unauthorized")
    assert_error(anon.post("/orders/x/ship", {"carrier": "a", "tracking_number": "b"}), 401, "unauthorized")
    assert_error(anon.post("/payments/webhook", {}), 400, "invalid_signature")
