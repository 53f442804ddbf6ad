"""The local provider: the local stack's own hosted payment page.

The page (``infra/local/payment_page.py``, served on the storefront origin at
:data:`PAGE_PATH`) shows the order's amount with Pay and Decline buttons. Pay sends
``checkout.session.completed`` in Stripe's webhook format, signed with the stack's
webhook secret, to ``POST /payments/webhook``; Decline sends nothing, so the order
stays ``pending_payment`` until it is paid or expires.

Money never moves here, so a refund is only an id: the webhook and cancel paths that
call it are the same as with Stripe.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from catalog_lambda.payments.port import CheckoutSession, RefundRequest, RefundResult, SessionRequest

PAGE_PATH = "/pay/local"
NAME = "local"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class LocalProvider:
    name = NAME

    def __init__(self, site_url: str = "") -> None:
        # Empty: the page URL is relative to the storefront origin the browser is on.
        self._site_url = site_url.rstrip("/")

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        session_id = f"cs_local_{_digest(request.idempotency_key)}"
        query = urlencode({
            "session": session_id, "order": request.order_id, "amount": request.amount_cents,
            "currency": request.currency.lower(), "email": request.email,
            "success": request.success_url, "cancel": request.cancel_url, "expires": request.expires_at,
        })
        return CheckoutSession(session_id=session_id, url=f"{self._site_url}{PAGE_PATH}?{query}",
                               expires_at=request.expires_at)

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(refund_id=f"re_local_{_digest(request.idempotency_key)}", amount_cents=request.amount_cents)

    def expire_session(self, session_id: str) -> None:
        return None  # nothing to close: a payment sent after expiry is refunded like any late one


def payment_intent_for(session_id: str) -> str:
    """The payment intent id the local page reports for a session."""
    return "pi_local_" + session_id.removeprefix("cs_local_")
