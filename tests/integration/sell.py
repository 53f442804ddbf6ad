"""Helpers for the selling tests over HTTP: orders, signed webhooks, customers, time travel."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import requests
import stripe

from tests.api_client import ApiClient
from tests.conftest import LocalStack

ADDRESS = {"name": "Sam Shopper", "line1": "1 Demo Street", "city": "Springfield", "postal_code": "62701",
           "country": "US"}
ORDERS_TABLE = "store-dev-orders"  # the local stack's stage is dev
PAST = "2000-01-01T00:00:00.000Z"


def place(client: ApiClient, lines: list[tuple[str, int]], key: str | None = None) -> requests.Response:
    body = {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines], "shipping_address": ADDRESS}
    return client.post("/orders", body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def completed_event(order: dict[str, Any], session_id: str, amount: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {"id": session_id, "object": "checkout.session", "client_reference_id": order["id"],
                            "amount_total": order["total_cents"] if amount is None else amount,
                            "currency": order["currency"].lower(), "payment_status": "paid",
                            "payment_intent": f"pi_{session_id}"}},
    }


def signed(event: dict[str, Any], secret: str) -> tuple[str, dict[str, str]]:
    """The body and headers Stripe would send (signed with the SDK's own helper)."""
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}


def send_webhook(client: ApiClient, event: dict[str, Any], secret: str) -> requests.Response:
    payload, headers = signed(event, secret)
    return client.post("/payments/webhook", raw=payload, headers=headers)


def end_hold(stack: LocalStack, order_id: str) -> None:
    """Move an order's hold into the past (test tooling: ORDER_HOLD_SECONDS is 15 minutes)."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.emulator_url)
    dynamodb.update_item(TableName=ORDERS_TABLE, Key={"pk": {"S": f"O#{order_id}"}, "sk": {"S": "O"}},
                         UpdateExpression="SET expires_at = :past", ExpressionAttributeValues={":past": {"S": PAST}})


def new_customer(stack: LocalStack) -> str:
    """A fresh shopper in the emulator's user pool; returns an ID token."""
    from infra.local import bootstrap

    cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=stack.emulator_url)
    email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    password = "Buyer-Passw0rd!"
    cognito.admin_create_user(UserPoolId=stack.user_pool_id, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=stack.user_pool_id, Username=email, Password=password,
                                    Permanent=True)
    return bootstrap.sign_in(stack.emulator_url, stack.client_id, email, password)["IdToken"]


def wait_for_status(client: ApiClient, order_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    order: dict[str, Any] = {}
    while time.monotonic() < deadline:
        order = client.get(f"/orders/{order_id}").json()
        if order.get("status") == status:
            return order
        time.sleep(0.2)
    raise AssertionError(f"order {order_id} is still {order.get('status')!r}, not {status!r}")
