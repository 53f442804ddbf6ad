"""The ``stripe`` provider: hosted Checkout Sessions and refunds through the official SDK.

Imported only on payment paths (``/orders/{id}/pay``, cancelling a paid order, the
webhook, the expiry sweep closing a session), so a cold ``GET`` never loads the SDK.

The SDK talks through its ``urllib`` client (no ``requests`` in the package); tests
point it (``api_base``) at a local HTTP server standing in for Stripe's API and assert
the exact parameters it sends (``tests/functional/test_stripe_provider.py``).
Stripe errors become the port's errors: throttling, connection failures and Stripe's
5xx are :class:`UnavailableError` (503 with ``Retry-After``), a card error is
:class:`PaymentDeclinedError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import stripe

from catalog_lambda.errors import PaymentDeclinedError, UnavailableError
from catalog_lambda.payments.port import CheckoutSession, RefundRequest, RefundResult, SessionRequest

if TYPE_CHECKING:
    from stripe._base_address import BaseAddresses
    from stripe.params._refund_create_params import RefundCreateParams
    from stripe.params.checkout._session_create_params import SessionCreateParams

NAME = "stripe"
# Stripe accepts a Checkout Session's expires_at between 30 minutes and 24 hours ahead.
MIN_SESSION_SECONDS = 30 * 60 + 60
MAX_SESSION_SECONDS = 24 * 3600 - 60
DEFAULT_RETRY_AFTER = 2
ALREADY_REFUNDED = "charge_already_refunded"


def session_window(order_expires_at: int, now: int) -> int:
    """The session's expires_at: the order's deadline, within the window Stripe accepts.

    An order holds its stock for ORDER_HOLD_SECONDS (15 minutes by default), shorter
    than Stripe's minimum: the sweep closes the session when the order expires, and a
    payment that still completes later is refunded in full.
    """
    return min(max(order_expires_at, now + MIN_SESSION_SECONDS), now + MAX_SESSION_SECONDS)


class StripeProvider:
    name = NAME

    def __init__(self, api_key: str, api_base: str = "", max_network_retries: int = 1,
                 client_factory: Callable[..., Any] | None = None) -> None:
        addresses: BaseAddresses | None = {"api": api_base} if api_base else None
        factory = client_factory or stripe.StripeClient
        self._client = factory(api_key, base_addresses=addresses, max_network_retries=max_network_retries,
                               http_client=stripe.UrllibClient())

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        currency = request.currency.lower()
        line_items: list[dict[str, Any]] = [
            {"price_data": {"currency": currency, "unit_amount": line.unit_price_cents,
                            "product_data": {"name": line.name}},
             "quantity": line.quantity}
            for line in request.lines
        ]
        if request.shipping_cents:
            line_items.append({"price_data": {"currency": currency, "unit_amount": request.shipping_cents,
                                              "product_data": {"name": "Shipping"}},
                               "quantity": 1})
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.order_id,
            "customer_email": request.email,
            "line_items": line_items,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": request.expires_at,
            "metadata": {"order_id": request.order_id},
            "payment_intent_data": {"metadata": {"order_id": request.order_id}},
        }
        with _translated_errors():
            session = self._client.v1.checkout.sessions.create(
                params=cast("SessionCreateParams", params), options={"idempotency_key": request.idempotency_key})
        return CheckoutSession(session_id=str(session.id), url=str(session.url), expires_at=int(session.expires_at))

    def refund(self, request: RefundRequest) -> RefundResult:
        params: dict[str, Any] = {"payment_intent": request.payment_intent, "amount": request.amount_cents,
                                  "metadata": {"order_id": request.order_id}}
        try:
            with _translated_errors():
                refund = self._client.v1.refunds.create(
                    params=cast("RefundCreateParams", params), options={"idempotency_key": request.idempotency_key})
        except _AlreadyRefunded:
            # Refunded before (another key, or the dashboard): the money is back already.
            return RefundResult(refund_id="", amount_cents=request.amount_cents)
        return RefundResult(refund_id=str(refund.id), amount_cents=int(refund.amount))

    def expire_session(self, session_id: str) -> None:
        try:
            with _translated_errors():
                self._client.v1.checkout.sessions.expire(session_id)
        except (PaymentDeclinedError, _AlreadyRefunded):
            pass  # already complete or expired: nothing to close


class _AlreadyRefunded(Exception):
    pass


def _retry_after(error: stripe.StripeError) -> int:
    raw = (error.headers or {}).get("Retry-After") or (error.headers or {}).get("retry-after")
    try:
        return max(1, int(str(raw)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        raise PaymentDeclinedError(f"the payment provider declined: {error.user_message or error.code}",
                                   [{"provider_code": error.code}]) from error
    except stripe.RateLimitError as error:
        raise UnavailableError("the payment provider is throttling; retry shortly",
                               retry_after=_retry_after(error)) from error
    except stripe.APIConnectionError as error:
        raise UnavailableError("the payment provider cannot be reached; retry shortly",
                               retry_after=DEFAULT_RETRY_AFTER) from error
    except stripe.InvalidRequestError as error:
        if error.code == ALREADY_REFUNDED:
            raise _AlreadyRefunded() from error
        if (error.http_status or 0) >= 500:
            raise UnavailableError("the payment provider failed; retry shortly", retry_after=DEFAULT_RETRY_AFTER) \
                from error
        raise
    except stripe.StripeError as error:
        if (error.http_status or 0) >= 500 or isinstance(error, stripe.APIError):
            raise UnavailableError("the payment provider failed; retry shortly",
                                   retry_after=_retry_after(error)) from error
        raise
