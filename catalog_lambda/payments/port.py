"""The payment port: what the order service asks of a payment provider.

Providers raise :class:`~catalog_lambda.errors.UnavailableError` when the provider is
down or throttling (the API answers 503 with ``Retry-After``) and
:class:`~catalog_lambda.errors.PaymentDeclinedError` when it refuses the request.
Every call that creates something carries an idempotency key, so a retry after a lost
answer never creates it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SessionLine:
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class SessionRequest:
    """A hosted payment page for exactly one order's total."""

    order_id: str
    amount_cents: int
    currency: str  # ISO 4217, capitals
    email: str
    lines: tuple[SessionLine, ...]
    shipping_cents: int
    success_url: str
    cancel_url: str
    expires_at: int  # unix seconds
    idempotency_key: str


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str
    expires_at: int  # unix seconds


@dataclass(frozen=True)
class RefundRequest:
    payment_intent: str
    amount_cents: int
    order_id: str
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount_cents: int


class PaymentProvider(Protocol):
    name: str

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        """Open a hosted payment page; the same idempotency key returns the same session."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund (part of) a payment; the same idempotency key refunds once."""
        ...

    def expire_session(self, session_id: str) -> None:
        """Close an open payment page so it can no longer be paid (best effort)."""
        ...


@dataclass(frozen=True)
class PaymentSecrets:
    webhook_secret: str
    api_key: str = ""
