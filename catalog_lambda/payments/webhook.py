"""Webhook verification, in Stripe's format for both providers, with the SDK's own verifier.

``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``;
a bad signature, a missing header or a timestamp more than :data:`TOLERANCE_SECONDS`
old is :class:`InvalidSignatureError` (400 ``invalid_signature``), before anything is
read or written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from catalog_lambda.errors import InvalidSignatureError

TOLERANCE_SECONDS = 300
SESSION_COMPLETED = "checkout.session.completed"
SESSION_EXPIRED = "checkout.session.expired"
CHARGE_REFUNDED = "charge.refunded"
HANDLED_TYPES = frozenset({SESSION_COMPLETED, SESSION_EXPIRED, CHARGE_REFUNDED})


@dataclass(frozen=True)
class PaymentEvent:
    """The parts of a verified event the order service acts on."""

    event_id: str
    type: str
    data: dict[str, Any]

    @property
    def order_id(self) -> str | None:
        ref = self.data.get("client_reference_id") or (self.data.get("metadata") or {}).get("order_id")
        return ref if isinstance(ref, str) and ref else None

    def text(self, name: str) -> str:
        value = self.data.get(name)
        return value if isinstance(value, str) else ""

    def cents(self, name: str) -> int | None:
        value = self.data.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def verify_event(payload: bytes, signature: str | None, secret: str) -> PaymentEvent:
    """Verify the signature (the SDK's ``WebhookSignature``), then parse the event."""
    import stripe

    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as error:
        raise InvalidSignatureError("the webhook signature does not match",
                                    [{"field": "Stripe-Signature", "issue": str(error)[:200]}]) from None
    try:
        event = json.loads(text)
    except ValueError:
        raise InvalidSignatureError("the signed body is not JSON", [{"field": "", "issue": "not JSON"}]) from None
    event_id = event.get("id") if isinstance(event, dict) else None
    data = (event.get("data") or {}).get("object") if isinstance(event, dict) else None
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255 or not isinstance(data, dict):
        from catalog_lambda.errors import ValidationError

        raise ValidationError("the event has no id or data.object", [{"field": "id", "issue": "missing"}])
    return PaymentEvent(event_id=event_id, type=str(event.get("type", "")), data=data)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload`` (the local payment page signs with it)."""
    import stripe

    header: str = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return header
