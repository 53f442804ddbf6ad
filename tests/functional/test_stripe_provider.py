"""The stripe provider's outgoing calls, through the real Stripe SDK, pointed (``api_base``)
at a local HTTP server standing in for Stripe's API.

What this proves: the exact requests the SDK sends for our calls (path, form parameters,
idempotency keys, credentials) and how Stripe's documented error answers map onto the
API's. What it cannot prove: that Stripe accepts these requests (see docs/payments.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from api.errors import response_for
from catalog_lambda.errors import PaymentDeclinedError, UnavailableError
from catalog_lambda.payments.port import RefundRequest, SessionLine, SessionRequest
from catalog_lambda.payments.stripe_provider import MIN_SESSION_SECONDS, StripeProvider, session_window

API_KEY = "sk_test_local_stand_in"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripe:
    """Records every request; answers from ``answers`` (path -> (status, body, headers))."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=dict)


@pytest.fixture
def stripe_api() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path = self.path.split("?")[0]
            fake.requests.append(Seen(self.command, path, {k.lower(): v for k, v in self.headers.items()},
                                      dict(parse_qsl(raw, keep_blank_values=True))))
            status, body, headers = fake.answers.get(path, (404, {"error": {"type": "invalid_request_error",
                                                                               "message": "no such path"}}, {}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", "req_local")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    yield fake
    server.shutdown()
    server.server_close()


def provider(fake: FakeStripe) -> StripeProvider:
    return StripeProvider(API_KEY, api_base=fake.url, max_network_retries=0)


def session_request(expires_at: int) -> SessionRequest:
    return SessionRequest(
        order_id="ord123", amount_cents=3450, currency="EUR", email="alice@example.com",
        lines=(SessionLine("Green Tea", 2, 1200), SessionLine("Mug", 1, 550)), shipping_cents=500,
        success_url="https://shop.example.com/#/orders/ord123?paid=1",
        cancel_url="https://shop.example.com/#/orders/ord123?payment=cancelled",
        expires_at=expires_at, idempotency_key="session-ord123-1",
    )


def test_a_checkout_session_carries_exactly_the_orders_total(stripe_api: FakeStripe) -> None:
    expires = int(time.time()) + 3600
    stripe_api.answers["/v1/checkout/sessions"] = (200, {
        "id": "cs_test_123", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_123",
        "expires_at": expires, "amount_total": 3450, "currency": "eur"}, {})
    session = provider(stripe_api).create_session(session_request(expires))
    assert (session.session_id, session.url, session.expires_at) == (
        "cs_test_123", "https://checkout.stripe.com/c/pay/cs_test_123", expires)
    [seen] = stripe_api.requests
    assert (seen.method, seen.path) == ("POST", "/v1/checkout/sessions")
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["idempotency-key"] == "session-ord123-1"
    assert seen.form == {
        "mode": "payment",
        "client_reference_id": "ord123",
        "customer_email": "alice@example.com",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1200",
        "line_items[0][price_data][product_data][name]": "Green Tea",
        "line_items[0][quantity]": "2",
        "line_items[1][price_data][currency]": "eur",
        "line_items[1][price_data][unit_amount]": "550",
        "line_items[1][price_data][product_data][name]": "Mug",
        "line_items[1][quantity]": "1",
        "line_items[2][price_data][currency]": "eur",
        "line_items[2][price_data][unit_amount]": "500",
        "line_items[2][price_data][product_data][name]": "Shipping",
        "line_items[2][quantity]": "1",
        "success_url": "https://shop.example.com/#/orders/ord123?paid=1",
        "cancel_url": "https://shop.example.com/#/orders/ord123?payment=cancelled",
        "expires_at": str(expires),
        "metadata[order_id]": "ord123",
        "payment_intent_data[metadata][order_id]": "ord123",
    }
    # The lines add up to the order's total: Stripe's amount_total is exactly it.
    total = sum(int(seen.form[f"line_items[{i}][price_data][unit_amount]"])
                * int(seen.form[f"line_items[{i}][quantity]"]) for i in range(3))
    assert total == 3450


def test_the_session_window_respects_stripes_limits() -> None:
    now = 1_700_000_000
    assert session_window(now + 900, now) == now + MIN_SESSION_SECONDS  # a 15-minute hold: Stripe's minimum
    assert session_window(now + 7200, now) == now + 7200
    assert session_window(now + 10 * 86400, now) < now + 86400


def test_a_refund_names_the_payment_and_carries_an_idempotency_key(stripe_api: FakeStripe) -> None:
    stripe_api.answers["/v1/refunds"] = (200, {"id": "re_123", "object": "refund", "amount": 3450,
                                               "payment_intent": "pi_123", "status": "succeeded"}, {})
    result = provider(stripe_api).refund(RefundRequest(payment_intent="pi_123", amount_cents=3450, order_id="ord123",
                                                       idempotency_key="refund-pi_123"))
    assert (result.refund_id, result.amount_cents) == ("re_123", 3450)
    [seen] = stripe_api.requests
    assert (seen.method, seen.path) == ("POST", "/v1/refunds")
    assert seen.headers["idempotency-key"] == "refund-pi_123"
    assert seen.form == {"payment_intent": "pi_123", "amount": "3450", "metadata[order_id]": "ord123"}


def test_a_payment_refunded_already_is_not_an_error(stripe_api: FakeStripe) -> None:
    stripe_api.answers["/v1/refunds"] = (400, {"error": {
        "type": "invalid_request_error", "code": "charge_already_refunded",
        "message": "Charge ch_1 has already been refunded."}}, {})
    result = provider(stripe_api).refund(RefundRequest("pi_1", 100, "ord1", "refund-pi_1"))
    assert result.amount_cents == 100


def test_a_declined_card_is_a_402(stripe_api: FakeStripe) -> None:
    stripe_api.answers["/v1/refunds"] = (402, {"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
        "message": "Your card was declined."}}, {})
    with pytest.raises(PaymentDeclinedError) as raised:
        provider(stripe_api).refund(RefundRequest("pi_1", 100, "ord1", "refund-pi_1"))
    response = response_for(raised.value)
    assert response is not None and response.status_code == 402


def test_rate_limiting_is_a_503_with_retry_after(stripe_api: FakeStripe) -> None:
    stripe_api.answers["/v1/checkout/sessions"] = (429, {"error": {
        "type": "invalid_request_error", "code": "rate_limit",
        "message": "Too many requests hit the API too quickly."}}, {"Retry-After": "7"})
    with pytest.raises(UnavailableError) as raised:
        provider(stripe_api).create_session(session_request(int(time.time()) + 3600))
    response = response_for(raised.value)
    assert response is not None and response.status_code == 503
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_stripe_unavailable_is_a_503_with_retry_after(stripe_api: FakeStripe, status: int) -> None:
    stripe_api.answers["/v1/checkout/sessions"] = (status, {"error": {
        "type": "api_error", "message": "An unknown error occurred"}}, {})
    with pytest.raises(UnavailableError) as raised:
        provider(stripe_api).create_session(session_request(int(time.time()) + 3600))
    response = response_for(raised.value)
    assert response is not None and response.status_code == 503 and int(response.headers["Retry-After"]) >= 1


def test_stripe_unreachable_is_a_503(stripe_api: FakeStripe) -> None:
    closed = StripeProvider(API_KEY, api_base="http://127.0.0.1:9", max_network_retries=0)
    with pytest.raises(UnavailableError):
        closed.create_session(session_request(int(time.time()) + 3600))


def test_closing_a_session_calls_expire(stripe_api: FakeStripe) -> None:
    stripe_api.answers["/v1/checkout/sessions/cs_test_9/expire"] = (200, {
        "id": "cs_test_9", "object": "checkout.session", "status": "expired"}, {})
    provider(stripe_api).expire_session("cs_test_9")
    assert [(r.method, r.path) for r in stripe_api.requests] == [("POST", "/v1/checkout/sessions/cs_test_9/expire")]
