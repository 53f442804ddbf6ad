"""DynamoDB calls per request, for every endpoint, counted in-process with botocore
event hooks (``before-call.dynamodb.*``) while the real app serves each request
(Chalice's test client: the same middleware, auth, routes and services)."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from bench.counting import DynamoDBCalls
from bench.env import BenchEnv

WEBHOOK_SECRET = "whsec_bench"
ADDRESS = {"name": "Bench Buyer", "line1": "1 Bench Road", "city": "Springfield", "postal_code": "62701",
           "country": "US"}


def signed_completion(order: dict[str, Any], session_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A ``checkout.session.completed`` event for ``order``, signed with the SDK's helper."""
    import stripe

    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "checkout.session.completed", "data": {"object": {
        "id": session_id, "client_reference_id": order["id"], "amount_total": order["total_cents"],
        "currency": order["currency"].lower(), "payment_status": "paid", "payment_intent": f"pi_{session_id}"}}}
    header = stripe.WebhookSignature.generate_signature_header(json.dumps(event), WEBHOOK_SECRET)
    return event, {"Stripe-Signature": header, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Measured:
    method: str
    path: str
    note: str
    status: int
    calls: int
    operations: dict[str, int]


def measure(env: BenchEnv, counter: DynamoDBCalls) -> list[Measured]:
    os.environ.update(env.app_env(local_auth=True))
    os.environ["PAYMENT_WEBHOOK_SECRET"] = WEBHOOK_SECRET  # the local provider's webhooks, signed below
    from chalice.test import Client

    from catalog_lambda import services

    services.reset()
    import app as handler

    admin = {"Authorization": f"Bearer {env.token('admin')}", "Content-Type": "application/json"}
    shopper = {"Authorization": f"Bearer {env.token('shopper')}", "Content-Type": "application/json"}
    results: list[Measured] = []

    with Client(handler.app, stage_name="bench") as client:
        def call(method: str, path: str, note: str = "", headers: dict[str, str] | None = None,
                 body: Any = None, record: bool = True, template: str | None = None) -> Any:
            counter.reset()
            raw = json.dumps(body).encode() if body is not None else b""
            response = client.http.request(method, path, headers=headers or {}, body=raw)
            if record:
                results.append(Measured(method, template or path, note, response.status_code, counter.total,
                                        dict(counter.by_operation)))
            return response

        def body_of(response: Any) -> Any:
            return json.loads(response.body) if response.body else None

        # Warm-up: clients, JWKS, the idempotency layer; nothing recorded.
        first = body_of(call("GET", "/products?limit=2", record=False))
        call("GET", "/orders", headers=shopper, record=False)
        call("GET", "/products?limit=2", headers=admin, record=False)
        pid = first["items"][0]["id"]

        call("GET", "/health", "no database")
        call("GET", "/openapi.json", "no database")
        call("GET", "/categories", "Query on the CATEGORIES partition")
        page = body_of(call("GET", "/products", "Query on the by_name GSI"))
        call("GET", f"/products?cursor={page['next_cursor']}", "next page", template="/products?cursor=...")
        call("GET", "/products?category=tea", "Query on the by_category GSI")
        call("GET", "/products?q=tea", "search: Query tokens + BatchGetItem")
        call("GET", "/products?q=zzzz", "search, no match: Query tokens only")
        got = call("GET", f"/products/{pid}", "GetItem", template="/products/{id}")
        call("GET", f"/products/{pid}", "If-None-Match: 304 still reads the item", template="/products/{id}",
             headers={"If-None-Match": got.headers["ETag"]})
        sku = f"BENCH-{uuid.uuid4().hex[:8]}"
        product = {"sku": sku, "name": "Bench Kettle Deluxe", "category": "kitchen", "price_cents": 4200,
                   "currency": "USD", "stock": 10}
        created = body_of(call("POST", "/products", "one TransactWriteItems (product, sku, tokens, count)",
                               headers=admin, body=product))
        new_id = created["id"]
        call("PUT", f"/products/{new_id}", "GetItem, one TransactWriteItems (fields, token changes)",
             headers=admin, body={**product, "name": "Bench Kettle Plus"}, template="/products/{id}")
        call("POST", f"/products/{new_id}/stock", "one conditional UpdateItem", headers=admin, body={"delta": 5},
             template="/products/{id}/stock")
        key = uuid.uuid4().hex
        order_body = {"lines": [{"product_id": new_id, "quantity": 2}], "shipping_address": ADDRESS}
        order = body_of(call("POST", "/orders", "BatchGetItem (prices + the key's order), one TransactWriteItems",
                             headers={**shopper, "Idempotency-Key": key}, body=order_body))
        call("POST", "/orders", "replay of the same Idempotency-Key: the BatchGetItem alone",
             headers={**shopper, "Idempotency-Key": key}, body=order_body)
        call("GET", "/orders", "Query on the by_customer GSI", headers=shopper)
        call("GET", f"/orders/{order['id']}", "GetItem", headers=shopper, template="/orders/{id}")
        session = body_of(call("POST", f"/orders/{order['id']}/pay", "GetItem, one TransactWriteItems (the session)",
                               headers=shopper, template="/orders/{id}/pay"))
        call("POST", f"/orders/{order['id']}/pay", "the open session again: GetItem", headers=shopper,
             template="/orders/{id}/pay")
        event, signature = signed_completion(order, session["session_id"])
        call("POST", "/payments/webhook", "BatchGetItem (order + event id), one TransactWriteItems",
             headers=signature, body=event)
        call("POST", "/payments/webhook", "replayed event: the BatchGetItem alone", headers=signature, body=event)
        call("POST", f"/orders/{order['id']}/ship", "GetItem, one TransactWriteItems", headers=admin,
             body={"carrier": "BenchPost", "tracking_number": "BP1"}, template="/orders/{id}/ship")
        other = body_of(call("POST", "/orders", record=False, headers={**shopper, "Idempotency-Key": uuid.uuid4().hex},
                             body=order_body))
        call("POST", f"/orders/{other['id']}/cancel", "GetItem, BatchGetItem (products still there), "
             "TransactWriteItems", headers=shopper, template="/orders/{id}/cancel")
        call("DELETE", f"/products/{new_id}", "GetItem, one TransactWriteItems (product, sku, count, tokens)",
             headers=admin, template="/products/{id}")
    services.reset()
    return results
