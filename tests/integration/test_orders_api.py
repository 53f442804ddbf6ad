"""Orders over HTTP: contract, auth, bad input, idempotency, ownership."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack

MakeProduct = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def other_shopper_token(local_stack: LocalStack) -> str:
    """A second customer, created in the emulator's user pool for this module."""
    from infra.local import bootstrap

    cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=local_stack.emulator_url)
    email = f"other-{uuid.uuid4().hex[:8]}@example.com"
    password = "Other-Passw0rd!"
    cognito.admin_create_user(UserPoolId=local_stack.user_pool_id, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email}])
    cognito.admin_set_user_password(UserPoolId=local_stack.user_pool_id, Username=email, Password=password,
                                    Permanent=True)
    return bootstrap.sign_in(local_stack.emulator_url, local_stack.client_id, email, password)["IdToken"]


@pytest.fixture
def other(local_stack: LocalStack, other_shopper_token: str) -> ApiClient:
    return ApiClient(local_stack.api_url, other_shopper_token)


ADDRESS = {"name": "Sam Shopper", "line1": "1 Demo Street", "line2": "Flat 2", "city": "Springfield",
           "region": "IL", "postal_code": "62701", "country": "US"}
ORDER_FIELDS = {"id", "customer_id", "email", "status", "lines", "subtotal_cents", "shipping_cents", "total_cents",
                "currency", "shipping_address", "expires_at", "paid_at", "shipped_at", "shipment", "refunded_cents",
                "created_at", "updated_at"}


def place(client: ApiClient, lines: list[dict[str, Any]], key: str | None = None,
          address: dict[str, Any] | None = None) -> Any:
    return client.post("/orders", {"lines": lines, "shipping_address": address or ADDRESS},
                       headers={"Idempotency-Key": key or uuid.uuid4().hex})


def stock_of(anon: ApiClient, product_id: str) -> int:
    return int(anon.get(f"/products/{product_id}").json()["stock"])


def test_can_place_an_order_capturing_names_and_prices(
    make_product: MakeProduct, shopper: ApiClient, anon: ApiClient
) -> None:
    a = make_product(price_cents=250, stock=5)
    b = make_product(price_cents=1000, stock=3)
    response = place(shopper, [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1}])
    assert response.status_code == 201, response.text
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert order["status"] == "pending_payment" and order["currency"] == "USD"
    assert order["email"] == "shopper@example.com"
    assert (order["subtotal_cents"], order["shipping_cents"]) == (2 * 250 + 1000, 500)
    assert order["total_cents"] == 2 * 250 + 1000 + 500
    assert order["shipping_address"] == ADDRESS
    assert order["expires_at"] > order["created_at"]
    assert order["lines"] == [
        {"product_id": a["id"], "name": a["name"], "quantity": 2, "unit_price_cents": 250},
        {"product_id": b["id"], "name": b["name"], "quantity": 1, "unit_price_cents": 1000},
    ]
    assert order["created_at"].endswith("Z")
    # Relative, so it resolves under whichever prefix the client used (/api via CloudFront).
    assert response.headers["Location"] == f"orders/{order['id']}"
    assert stock_of(anon, a["id"]) == 3 and stock_of(anon, b["id"]) == 2
    assert shopper.get(f"/orders/{order['id']}").json() == order


def test_admins_can_shop_too(make_product: MakeProduct, admin: ApiClient) -> None:
    product = make_product(stock=2)
    assert place(admin, [{"product_id": product["id"], "quantity": 1}]).status_code == 201


def test_duplicate_lines_are_merged(make_product: MakeProduct, shopper: ApiClient, anon: ApiClient) -> None:
    product = make_product(stock=10)
    response = place(shopper, [{"product_id": product["id"], "quantity": 2},
                               {"product_id": product["id"], "quantity": 3}])
    assert response.status_code == 201
    assert response.json()["lines"][0]["quantity"] == 5
    assert stock_of(anon, product["id"]) == 5


def test_short_lines_are_named_and_nothing_is_reserved(
    make_product: MakeProduct, shopper: ApiClient, anon: ApiClient
) -> None:
    plenty, scarce = make_product(stock=10), make_product(stock=1)
    response = place(shopper, [{"product_id": plenty["id"], "quantity": 2},
                               {"product_id": scarce["id"], "quantity": 2}])
    error = assert_error(response, 409, "out_of_stock")
    assert [d["product_id"] for d in error["details"]] == [scarce["id"]]
    assert error["details"][0]["available"] == 1 and error["details"][0]["requested"] == 2
    assert stock_of(anon, plenty["id"]) == 10 and stock_of(anon, scarce["id"]) == 1


def test_unknown_product_is_404_naming_it(make_product: MakeProduct, shopper: ApiClient, anon: ApiClient) -> None:
    product = make_product(stock=4)
    response = place(shopper, [{"product_id": product["id"], "quantity": 1}, {"product_id": "nope123", "quantity": 1}])
    error = assert_error(response, 404, "not_found")
    assert error["details"] == [{"product_id": "nope123", "issue": "not found"}]
    assert stock_of(anon, product["id"]) == 4


def test_same_key_same_body_returns_same_order_once(
    make_product: MakeProduct, shopper: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=10)
    key = uuid.uuid4().hex
    first = place(shopper, [{"product_id": product["id"], "quantity": 2}], key)
    again = place(shopper, [{"product_id": product["id"], "quantity": 2}], key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert stock_of(anon, product["id"]) == 8


def test_same_key_different_body_is_422(make_product: MakeProduct, shopper: ApiClient, anon: ApiClient) -> None:
    product = make_product(stock=10)
    key = uuid.uuid4().hex
    assert place(shopper, [{"product_id": product["id"], "quantity": 2}], key).status_code == 201
    assert_error(place(shopper, [{"product_id": product["id"], "quantity": 3}], key), 422, "idempotency_key_reused")
    assert stock_of(anon, product["id"]) == 8


def test_keys_are_scoped_per_customer(
    make_product: MakeProduct, shopper: ApiClient, other: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=10)
    key = uuid.uuid4().hex
    mine = place(shopper, [{"product_id": product["id"], "quantity": 1}], key).json()
    theirs = place(other, [{"product_id": product["id"], "quantity": 1}], key).json()
    assert mine["id"] != theirs["id"]
    assert stock_of(anon, product["id"]) == 8


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"lines": []}, None),
        ({"lines": [{"product_id": "x", "quantity": 0}]}, None),
        ({"lines": [{"product_id": "x", "quantity": 1001}]}, None),
        ({"lines": [{"product_id": "x", "quantity": "1"}]}, None),
        ({"lines": [{"product_id": "x", "quantity": 1.0}]}, None),
        ({"lines": [{"product_id": "x"}]}, None),
        ({"lines": [{"product_id": "x", "quantity": 1, "price_cents": 1}]}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}], "coupon": "FREE"}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}], "shipping_address": {**ADDRESS, "country": "us"}}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}], "shipping_address": {**ADDRESS, "country": "XX"}}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}], "shipping_address": {**ADDRESS, "line1": ""}}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}],
          "shipping_address": {k: v for k, v in ADDRESS.items() if k != "postal_code"}}, None),
        ({"lines": [{"product_id": f"p{i}", "quantity": 1} for i in range(51)]}, None),
        ({"lines": [{"product_id": "x", "quantity": 600}, {"product_id": "x", "quantity": 600}]}, None),
        ({"lines": [{"product_id": "x", "quantity": 1}]}, {"Idempotency-Key": ""}),
        ({"lines": [{"product_id": "x", "quantity": 1}]}, {"Idempotency-Key": "has spaces"}),
        ({"lines": [{"product_id": "x", "quantity": 1}]}, {"Idempotency-Key": "k" * 129}),
        ([], None),
        ("lines", None),
    ],
)
def test_bad_order_bodies_are_400(shopper: ApiClient, body: Any, headers: dict[str, str] | None) -> None:
    if isinstance(body, dict) and "shipping_address" not in body:
        body = {**body, "shipping_address": ADDRESS}  # so that only the part under test is wrong
    assert_error(shopper.post("/orders", body, headers=headers or {"Idempotency-Key": uuid.uuid4().hex}),
                 400, "validation_error")


def test_missing_idempotency_key_is_400(make_product: MakeProduct, shopper: ApiClient, anon: ApiClient) -> None:
    product = make_product(stock=3)
    error = assert_error(shopper.post("/orders", {"lines": [{"product_id": product["id"], "quantity": 1}],
                                                  "shipping_address": ADDRESS}), 400, "validation_error")
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert stock_of(anon, product["id"]) == 3


def test_orders_need_a_signed_in_user(anon: ApiClient) -> None:
    assert_error(place(anon, [{"product_id": "x", "quantity": 1}]), 401, "unauthorized")
    assert_error(anon.get("/orders"), 401, "unauthorized")
    assert_error(anon.get("/orders/abc"), 401, "unauthorized")
    assert_error(anon.post("/orders/abc/cancel"), 401, "unauthorized")
    assert_error(anon.as_token("not.a.token").get("/orders"), 401, "unauthorized")


def test_another_customer_cannot_read_or_cancel_an_order(
    make_product: MakeProduct, shopper: ApiClient, other: ApiClient, admin: ApiClient, anon: ApiClient
) -> None:
    product = make_product(stock=5)
    order = place(shopper, [{"product_id": product["id"], "quantity": 2}]).json()
    assert_error(other.get(f"/orders/{order['id']}"), 404, "not_found")
    assert_error(other.post(f"/orders/{order['id']}/cancel"), 404, "not_found")
    assert all(o["id"] != order["id"] for o in other.get("/orders").json()["items"])
    assert stock_of(anon, product["id"]) == 3
    assert shopper.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    assert admin.get(f"/orders/{order['id']}").status_code == 200


def test_cancel_returns_stock_exactly_once(make_product: MakeProduct, shopper: ApiClient, anon: ApiClient) -> None:
    product = make_product(stock=5)
    order = place(shopper, [{"product_id": product["id"], "quantity": 3}]).json()
    first = shopper.post(f"/orders/{order['id']}/cancel")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert stock_of(anon, product["id"]) == 5
    assert_error(shopper.post(f"/orders/{order['id']}/cancel"), 409, "conflict")
    assert stock_of(anon, product["id"]) == 5


def test_admin_can_cancel_a_customers_order(make_product: MakeProduct, shopper: ApiClient, admin: ApiClient,
                                            anon: ApiClient) -> None:
    product = make_product(stock=5)
    order = place(shopper, [{"product_id": product["id"], "quantity": 1}]).json()
    assert admin.post(f"/orders/{order['id']}/cancel").json()["status"] == "cancelled"
    assert stock_of(anon, product["id"]) == 5


def test_unknown_order_is_404(shopper: ApiClient) -> None:
    assert_error(shopper.get("/orders/doesnotexist"), 404, "not_found")
    assert_error(shopper.post("/orders/doesnotexist/cancel"), 404, "not_found")


def test_list_own_orders_newest_first_with_pagination(
    make_product: MakeProduct, other: ApiClient
) -> None:
    product = make_product(stock=20)
    placed = [place(other, [{"product_id": product["id"], "quantity": 1}]).json()["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = other.get("/orders?limit=2" + (f"&cursor={cursor}" if cursor else "")).json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [oid for oid in seen if oid in placed] == list(reversed(placed))
    assert len(seen) == len(set(seen))


def test_scope_all_is_for_admins(make_product: MakeProduct, shopper: ApiClient, other: ApiClient,
                                 admin: ApiClient) -> None:
    product = make_product(stock=5)
    order = place(other, [{"product_id": product["id"], "quantity": 1}]).json()
    assert_error(shopper.get("/orders?scope=all"), 403, "forbidden")
    assert_error(shopper.get("/orders?scope=everything"), 400, "validation_error")
    first_page = admin.get("/orders?scope=all&limit=5").json()
    assert order["id"] in [o["id"] for o in first_page["items"]]


def test_order_list_rejects_bad_limits_and_cursors(shopper: ApiClient) -> None:
    assert_error(shopper.get("/orders?limit=0"), 400, "validation_error")
    assert_error(shopper.get("/orders?limit=101"), 400, "validation_error")
    assert_error(shopper.get("/orders?limit=ten"), 400, "validation_error")
    assert_error(shopper.get("/orders?cursor=garbage"), 400, "validation_error")
    products_cursor = shopper.get("/products?limit=1").json()["next_cursor"]
    assert_error(shopper.get(f"/orders?cursor={products_cursor}"), 400, "validation_error")


def test_wrong_methods_on_order_paths_are_405(shopper: ApiClient) -> None:
    assert_error(shopper.delete("/orders"), 405, "method_not_allowed")
    assert_error(shopper.put("/orders/abc", {}), 405, "method_not_allowed")
    assert_error(shopper.get("/orders/abc/cancel"), 405, "method_not_allowed")
