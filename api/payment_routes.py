"""``POST /payments/webhook``: the payment provider's events, in Stripe's format.

No Cognito authorizer: the ``Stripe-Signature`` header is the check (a bad one is a
400 that writes nothing). Answers 200 once the event is handled, and to a replay.
"""

from __future__ import annotations

from chalice.app import Response

from api.http import Ctx, Routes, header, json_response
from api.observability import count_payment_outcome
from catalog_lambda.services import order_service

routes = Routes()


@routes.route("/payments/webhook", "POST", response="WebhookAck", errors=(400, 413, 415, 503),
              summary="The payment provider's events (Stripe's format); a replayed event changes nothing",
              parameters=(header("Stripe-Signature", "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>",
                                 required=True),))
def payment_webhook(ctx: Ctx) -> Response:
    raw = ctx.request.raw_body or b""
    payload = raw.encode("utf-8") if isinstance(raw, str) else raw
    result = order_service().handle_webhook(payload, ctx.header("stripe-signature"))
    count_payment_outcome(result.outcome, result.refunded_cents)
    return json_response({"received": True, "outcome": result.outcome})
