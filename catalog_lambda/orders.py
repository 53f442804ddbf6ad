"""Orders: the business rules of selling. Storage is :class:`OrderRepository`'s.

States: ``pending_payment`` -> ``paid`` | ``cancelled`` | ``expired``; ``paid`` ->
``shipped`` | ``cancelled`` (refunded in full). Each transition is one conditional
transaction (see :mod:`catalog_lambda.repositories.orders`), so of two racing
transitions exactly one wins, and stock comes back exactly once.

* Placing reserves every line or none, computes subtotal, shipping and total from the
  prices it reads, holds the stock until ``expires_at`` and counts against the
  customer's ``MAX_PENDING_ORDERS``. The same Idempotency-Key answers with the same
  order; with another body it is 422.
* Paying opens the provider's hosted page (the same one on a repeat). The provider's
  webhook pays the order; a wrong amount or currency does not, and a payment that
  lands after the order expired or was cancelled is refunded in full.
* The sweep expires due unpaid orders and returns their stock.

The service never sees HTTP, Lambda's context or metrics: it returns what happened
(``created``, an event's ``outcome``, the ids expired) and the caller counts it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from catalog_lambda.clock import now_rfc3339
from catalog_lambda.cursor import CursorCodec
from catalog_lambda.errors import (
    ConflictError,
    IdempotencyConflictError,
    OrderNotFoundError,
    OrderStateError,
    OutOfStockError,
    ProductNotFoundError,
    ValidationError,
)
from catalog_lambda.models import (
    AddressAttribute,
    OrderLineAttribute,
    OrderModel,
    PaymentEventModel,
    ProductModel,
    ShipmentAttribute,
)
from catalog_lambda.payments.port import (
    PaymentProvider,
    PaymentSecrets,
    RefundRequest,
    SessionLine,
    SessionRequest,
)
from catalog_lambda.repositories.orders import (
    CANCELLED,
    EXPIRED,
    PAID,
    PENDING_PAYMENT,
    SHIPPED,
    STATUSES,
    EventAlreadyHandled,
    Hold,
    OrderAlreadyPlaced,
    OrderRepository,
    ReservationMoved,
    Transition,
    TransitionLost,
    event_item,
    new_order_item,
    order_id_for,
)
from catalog_lambda.settings import Settings

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ATTEMPTS = 4
# A payment session closer than this to its end is not handed out again: a new one is opened.
SESSION_REUSE_MARGIN_SECONDS = 60
SWEEP_BATCH = 100
# The scheduled function has 10 s: leave room for the last transaction and provider call.
SWEEP_BUDGET_SECONDS = 6.0

# What a webhook delivery did (the API layer turns these into metrics).
OUTCOME_PAID = "paid"
OUTCOME_MISMATCH = "amount_mismatch"
OUTCOME_REFUNDED = "refunded_late_payment"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_IGNORED = "ignored"
OUTCOME_SESSION_EXPIRED = "session_expired"
OUTCOME_REFUND_RECORDED = "refund_recorded"
OUTCOME_UNPAID = "not_paid_yet"


class OrderNotifier(Protocol):
    """Told once when a paid or shipped transition wins (the order confirmation and the
    shipping notice are sent from here; ``catalog_lambda.notifications`` implements it)."""

    def order_paid(self, order: dict[str, Any]) -> None: ...

    def order_shipped(self, order: dict[str, Any]) -> None: ...


class NoNotifier:
    """For code paths that send nothing (the demo seed)."""

    def order_paid(self, order: dict[str, Any]) -> None:
        return None

    def order_shipped(self, order: dict[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class Placed:
    order: dict[str, Any]
    created: bool  # False: an earlier request with this Idempotency-Key placed it


@dataclass(frozen=True)
class Cancelled:
    order: dict[str, Any]
    refunded_cents: int  # refunded by this call


@dataclass(frozen=True)
class WebhookResult:
    outcome: str
    order_id: str | None = None
    refunded_cents: int = 0


# -- representation ---------------------------------------------------------------------------


def _address(value: AddressAttribute | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {name: getattr(value, name) for name in
            ("name", "line1", "line2", "city", "region", "postal_code", "country")}


def order_dict(order: OrderModel) -> dict[str, Any]:
    shipment = order.shipment
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "email": order.email or "",
        "status": order.status,
        "lines": [
            {"product_id": line.product_id, "name": line.name, "quantity": int(line.quantity),
             "unit_price_cents": int(line.unit_price_cents)}
            for line in order.lines
        ],
        "subtotal_cents": int(order.subtotal_cents or 0),
        "shipping_cents": int(order.shipping_cents or 0),
        "total_cents": int(order.total_cents),
        "currency": order.currency,
        "shipping_address": _address(order.shipping_address),
        "expires_at": order.expires_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "shipment": None if shipment is None else {"carrier": shipment.carrier,
                                                   "tracking_number": shipment.tracking_number},
        "refunded_cents": int(order.refunded_cents or 0),
        "created_at": order.created_at,
        "updated_at": order.updated_at or order.created_at,
    }


def request_hash(lines: list[tuple[str, int]], address: dict[str, Any]) -> str:
    canonical = json.dumps({"lines": sorted(lines), "address": address}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise ValidationError("the Idempotency-Key header is required",
                              [{"field": "Idempotency-Key", "issue": "missing"}])
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError("the Idempotency-Key header is invalid",
                              [{"field": "Idempotency-Key", "issue": "1-128 of A-Z a-z 0-9 _ . : -"}])
    return key


def shipping_for(subtotal_cents: int, settings: Settings) -> int:
    return 0 if subtotal_cents >= settings.free_shipping_over_cents else settings.shipping_flat_cents


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class OrderService:
    def __init__(self, settings: Settings, orders: OrderRepository, cursors: CursorCodec,
                 provider: Callable[[], PaymentProvider], secrets: Callable[[], PaymentSecrets],
                 notifier: OrderNotifier, clock: Callable[[], datetime] | None = None,
                 site_url: Callable[[], str] | None = None) -> None:
        self._settings = settings
        self._orders = orders
        self._cursors = cursors
        # Callables: the provider (and so the Stripe SDK) and the secret load on first use.
        self._provider = provider
        self._secrets = secrets
        self._notifier = notifier
        self._clock = clock or (lambda: datetime.now(UTC))
        # The storefront's origin for return URLs, resolved on first payment (it may read SSM).
        self._site_url = site_url or (lambda: settings.site_url)

    # -- placing -------------------------------------------------------------------

    def place_order(self, customer_id: str, email: str, idempotency_key: str | None, body: Any) -> Placed:
        """Validate, then place (or answer a replay); at most 2 DynamoDB round trips, a replay 1."""
        from catalog_lambda.schemas import OrderCreate, parse

        key = check_idempotency_key(idempotency_key)
        parsed = parse(OrderCreate, body)
        lines = parsed.merged()
        address = parsed.shipping_address.model_dump()
        if not email:
            raise ValidationError("your account has no email address to send the receipt to",
                                  [{"field": "email", "issue": "the ID token carries no email claim"}])
        digest = request_hash(lines, address)
        order_id = order_id_for(customer_id, key)
        for _attempt in range(_ATTEMPTS):
            existing, products = self._orders.read_for_placement(order_id, [pid for pid, _ in lines])
            if existing is not None:
                return Placed(self._replay(existing, digest), created=False)
            self._check_lines(lines, products)
            order = self._new_order(order_id, customer_id, email, key, digest, lines, products, address)
            holds = [Hold(products[pid], qty) for pid, qty in lines]
            try:
                self._orders.create(order, holds, self._settings.max_pending_orders)
            except OrderAlreadyPlaced:
                return Placed(self._replay(self._orders.get(order_id), digest), created=False)
            except ReservationMoved:
                continue  # stock or a price moved since we read: look again
            return Placed(order_dict(order), created=True)
        raise ConflictError("the products changed while the order was placed; retry")

    @staticmethod
    def _check_lines(lines: list[tuple[str, int]], products: dict[str, ProductModel]) -> None:
        missing = [pid for pid, _ in lines if pid not in products]
        if missing:
            raise ProductNotFoundError(
                "some products do not exist", [{"product_id": pid, "issue": "not found"} for pid in missing])
        currencies = {products[pid].currency for pid, _ in lines}
        if len(currencies) > 1:
            raise ValidationError("all lines of an order must share one currency",
                                  [{"field": "lines", "issue": f"currencies {sorted(currencies)}"}])
        short = [(pid, qty) for pid, qty in lines if int(products[pid].stock) < qty]
        if short:
            raise OutOfStockError(
                "not enough stock for some lines; nothing was reserved",
                [{"product_id": pid, "name": products[pid].name, "requested": qty,
                  "available": int(products[pid].stock)} for pid, qty in short])

    def _new_order(self, order_id: str, customer_id: str, email: str, key: str, digest: str,
                   lines: list[tuple[str, int]], products: dict[str, ProductModel],
                   address: dict[str, Any]) -> OrderModel:
        now = self._clock()
        stamp = _at(now)
        order_lines = [
            OrderLineAttribute(product_id=pid, name=products[pid].name, quantity=qty,
                               unit_price_cents=int(products[pid].price_cents))
            for pid, qty in lines
        ]
        subtotal = sum(int(line.unit_price_cents) * int(line.quantity) for line in order_lines)
        shipping = shipping_for(subtotal, self._settings)
        return new_order_item(
            order_id, stamp, customer_id=customer_id, email=email, status=PENDING_PAYMENT,
            lines=order_lines, subtotal_cents=subtotal, shipping_cents=shipping, total_cents=subtotal + shipping,
            currency=products[lines[0][0]].currency, shipping_address=AddressAttribute(**address),
            expires_at=_at(now + timedelta(seconds=self._settings.order_hold_seconds)),
            refunded_cents=0, updated_at=stamp, idempotency_key=key, request_hash=digest,
        )

    @staticmethod
    def _replay(order: OrderModel, digest: str) -> dict[str, Any]:
        if order.request_hash != digest:
            raise IdempotencyConflictError(
                "this Idempotency-Key was already used with a different request",
                [{"field": "Idempotency-Key", "issue": "reused with a different body"}],
            )
        return order_dict(order)

    # -- reading -------------------------------------------------------------------

    def _visible(self, order_id: str, customer_id: str, is_admin: bool) -> OrderModel:
        if not _ORDER_ID.match(order_id):
            raise OrderNotFoundError(f"order {order_id!r} does not exist")
        order = self._orders.get(order_id)
        if order.customer_id != customer_id and not is_admin:
            # Someone else's order does not exist as far as this caller can tell.
            raise OrderNotFoundError(f"order {order_id!r} does not exist")
        return order

    def get_order(self, order_id: str, customer_id: str, is_admin: bool) -> dict[str, Any]:
        return order_dict(self._visible(order_id, customer_id, is_admin))

    def list_orders(self, customer_id: str, all_customers: bool, status: str | None, limit: str | None,
                    cursor: str | None) -> dict[str, Any]:
        from catalog_lambda.catalog import parse_limit

        size = parse_limit(limit)
        if status == "":
            status = None
        if status is not None:
            if status not in STATUSES:
                raise ValidationError(f"status must be one of {', '.join(STATUSES)}",
                                      [{"field": "status", "issue": "unknown value"}])
            if not all_customers:
                raise ValidationError("the status filter needs scope=all",
                                      [{"field": "status", "issue": "only with scope=all"}])
        scope = json.dumps(["orders", "all" if all_customers else customer_id, status])
        start_key = self._cursors.decode(cursor, scope) if cursor else None
        items, next_key = self._orders.page(None if all_customers else customer_id, status, size, start_key)
        next_cursor = self._cursors.encode(next_key, scope) if next_key is not None else None
        return {"items": [order_dict(o) for o in items], "next_cursor": next_cursor}

    # -- paying --------------------------------------------------------------------

    def pay(self, order_id: str, customer_id: str) -> dict[str, Any]:
        """The hosted payment page for this order's total: the open one, or a new one."""
        for _attempt in range(_ATTEMPTS):
            order = self._visible(order_id, customer_id, is_admin=False)
            if order.status != PENDING_PAYMENT:
                raise OrderStateError(f"the order is {order.status}: only an order awaiting payment can be paid",
                                      [{"field": "status", "issue": order.status}])
            now = self._clock()
            assert order.expires_at is not None
            if _parse(order.expires_at) <= now:
                raise OrderStateError("the order's hold has ended: it is expiring", [{"field": "expires_at",
                                                                                     "issue": "in the past"}])
            open_session = self._open_session(order, now)
            if open_session is not None:
                return open_session
            opened = int(order.payment_sessions or 0)
            request = self._session_request(order, opened + 1, now)  # may refuse (503) before anything is written
            session = self._provider().create_session(request)
            try:
                self._orders.save_session(order, session.session_id, session.url,
                                          _at(datetime.fromtimestamp(session.expires_at, UTC)), opened, _at(now))
            except TransitionLost:
                continue  # another request opened one, or the order moved on: look again
            return self._session_view(order)
        raise ConflictError("the order changed while its payment page was opened; retry")

    def _open_session(self, order: OrderModel, now: datetime) -> dict[str, Any] | None:
        if not (order.payment_session_id and order.payment_session_expires_at):
            return None
        if _parse(order.payment_session_expires_at) <= now + timedelta(seconds=SESSION_REUSE_MARGIN_SECONDS):
            return None
        return self._session_view(order)

    @staticmethod
    def _session_view(order: OrderModel) -> dict[str, Any]:
        return {"url": order.payment_session_url, "session_id": order.payment_session_id,
                "expires_at": order.expires_at}

    def _session_request(self, order: OrderModel, number: int, now: datetime) -> SessionRequest:
        from urllib.parse import quote

        assert order.expires_at is not None
        base = self._site_url()
        order_page = f"{base}/#/orders/{quote(order.id)}"
        deadline = int(_parse(order.expires_at).timestamp())
        if self._provider_name() == "stripe":
            from catalog_lambda.payments.stripe_provider import session_window

            deadline = session_window(deadline, int(now.timestamp()))
        return SessionRequest(
            order_id=order.id, amount_cents=int(order.total_cents), currency=order.currency, email=order.email or "",
            lines=tuple(SessionLine(line.name, int(line.quantity), int(line.unit_price_cents)) for line in order.lines),
            shipping_cents=int(order.shipping_cents or 0),
            success_url=f"{order_page}?paid=1", cancel_url=f"{order_page}?payment=cancelled",
            expires_at=deadline, idempotency_key=f"session-{order.id}-{number}",
        )

    def _provider_name(self) -> str:
        return self._settings.payment_provider

    # -- the provider's webhook ----------------------------------------------------

    def handle_webhook(self, payload: bytes, signature: str | None) -> WebhookResult:
        """Verify, then apply the event once: at most 2 DynamoDB round trips when uncontended."""
        from catalog_lambda.payments import webhook

        event = webhook.verify_event(payload, signature, self._secrets().webhook_secret)
        if event.type not in webhook.HANDLED_TYPES:
            return WebhookResult(OUTCOME_IGNORED)
        order, seen = self._orders.read_for_event(event.order_id, event.event_id)
        if seen:
            return WebhookResult(OUTCOME_DUPLICATE, event.order_id)
        try:
            if order is None:
                self._orders.record_event(self._event_item(event, None, OUTCOME_IGNORED))
                return WebhookResult(OUTCOME_IGNORED, event.order_id)
            if event.type == webhook.SESSION_COMPLETED:
                return self._session_completed(event, order)
            if event.type == webhook.SESSION_EXPIRED:
                return self._session_expired(event, order)
            return self._charge_refunded(event, order)
        except EventAlreadyHandled:
            return WebhookResult(OUTCOME_DUPLICATE, event.order_id)

    def _event_item(self, event: Any, order_id: str | None, outcome: str) -> PaymentEventModel:
        return event_item(event.event_id, event.type, order_id, outcome, now_rfc3339())

    def _session_completed(self, event: Any, order: OrderModel) -> WebhookResult:
        if event.text("payment_status") != "paid":
            # Delayed methods complete the session before the money arrives: wait for it.
            self._orders.record_event(self._event_item(event, order.id, OUTCOME_UNPAID))
            return WebhookResult(OUTCOME_UNPAID, order.id)
        amount, currency = event.cents("amount_total"), event.text("currency").upper()
        intent = event.text("payment_intent")
        for _attempt in range(_ATTEMPTS):
            if order.status == PENDING_PAYMENT:
                if amount != int(order.total_cents) or currency != order.currency:
                    return self._refund_event(event, order, amount or 0, OUTCOME_MISMATCH, count_on_order=False)
                now = _at(self._clock())
                try:
                    self._orders.transition(order, Transition(
                        to=PAID, expect=PENDING_PAYMENT, now=now, leaves_pending=True,
                        sets={"paid_at": now, "payment_intent": intent or None},
                        event=self._event_item(event, order.id, OUTCOME_PAID)))
                except TransitionLost:
                    order = self._orders.get(order.id)  # expired or cancelled meanwhile: look again
                    continue
                self._notifier.order_paid(order_dict(order))
                return WebhookResult(OUTCOME_PAID, order.id)
            if intent and order.payment_intent == intent:
                # The payment that paid this order, delivered again under another event id
                # (a cancel since then has refunded it already).
                self._orders.record_event(self._event_item(event, order.id, OUTCOME_DUPLICATE))
                return WebhookResult(OUTCOME_DUPLICATE, order.id)
            # Expired, cancelled, or paid already through another session: give the money back.
            return self._refund_event(event, order, amount or 0, OUTCOME_REFUNDED, count_on_order=True)
        raise ConflictError("the order changed while the payment was recorded; retry")

    def _refund_event(self, event: Any, order: OrderModel, amount: int, outcome: str,
                      count_on_order: bool) -> WebhookResult:
        """Refund a payment the order must not keep, then record the event (with the refund
        on the order when it is in the order's currency). The refund goes first: if it
        fails the provider redelivers, and its idempotency key makes the retry refund once."""
        intent = event.text("payment_intent")
        refunded = 0
        if intent and amount > 0:
            refund = self._provider().refund(RefundRequest(payment_intent=intent, amount_cents=amount,
                                                           order_id=order.id, idempotency_key=f"refund-{intent}"))
            refunded = refund.amount_cents
        item = self._event_item(event, order.id, outcome)
        same_currency = event.text("currency").upper() == order.currency
        if count_on_order and refunded and same_currency:
            self._orders.add_refund(order, refunded, item, _at(self._clock()))
        else:
            self._orders.record_event(item)
        return WebhookResult(outcome, order.id, refunded)

    def _session_expired(self, event: Any, order: OrderModel) -> WebhookResult:
        item = self._event_item(event, order.id, OUTCOME_SESSION_EXPIRED)
        session_id = event.text("id")
        if order.status == PENDING_PAYMENT and session_id and order.payment_session_id == session_id:
            try:
                self._orders.forget_session(order, session_id, item, _at(self._clock()))
                return WebhookResult(OUTCOME_SESSION_EXPIRED, order.id)
            except TransitionLost:
                pass  # a newer session replaced it: nothing to forget
        self._orders.record_event(item)
        return WebhookResult(OUTCOME_SESSION_EXPIRED, order.id)

    def _charge_refunded(self, event: Any, order: OrderModel) -> WebhookResult:
        """A refund made elsewhere (the provider's dashboard): the order shows it."""
        refunded = event.cents("amount_refunded") or 0
        already = int(order.refunded_cents or 0)
        item = self._event_item(event, order.id, OUTCOME_REFUND_RECORDED)
        if refunded > already and event.text("currency").upper() == order.currency:
            try:
                self._orders.set_refunded(order, min(refunded, int(order.total_cents)), already, item,
                                          _at(self._clock()))
                return WebhookResult(OUTCOME_REFUND_RECORDED, order.id)
            except TransitionLost:
                raise ConflictError("the order changed while the refund was recorded; retry") from None
        self._orders.record_event(item)
        return WebhookResult(OUTCOME_REFUND_RECORDED, order.id)

    # -- cancelling and shipping ---------------------------------------------------

    def cancel_order(self, order_id: str, customer_id: str, is_admin: bool) -> Cancelled:
        for _attempt in range(_ATTEMPTS):
            order = self._visible(order_id, customer_id, is_admin)
            try:
                if order.status == PENDING_PAYMENT:
                    self._release(order, CANCELLED, PENDING_PAYMENT)
                    if order.payment_session_id:
                        self._close_session(order.payment_session_id)
                    return Cancelled(order_dict(order), 0)
                if order.status == PAID:
                    total = int(order.total_cents)
                    self._release(order, CANCELLED, PAID, sets={"refund_due_cents": total})
                    refunded = self._settle_refund(order)
                    return Cancelled(order_dict(order), refunded)
            except (TransitionLost, ReservationMoved):
                continue  # paid, shipped or expired meanwhile, or a product vanished: look again
            if order.status == CANCELLED and int(order.refund_due_cents or 0) > 0:
                refunded = self._settle_refund(order)  # finish an interrupted refund
                return Cancelled(order_dict(order), refunded)
            raise OrderStateError(f"the order is {order.status}: it cannot be cancelled",
                                  [{"field": "status", "issue": order.status}])
        raise ConflictError("the order changed while it was cancelled; retry")

    def _release(self, order: OrderModel, to: str, expect: str, sets: dict[str, Any] | None = None) -> None:
        """Move the order to ``to`` and give its stock back, in one transaction."""
        existing = self._orders.existing_products(line.product_id for line in order.lines)
        self._orders.transition(order, Transition(
            to=to, expect=expect, now=_at(self._clock()), sets=sets or {}, release_lines=True,
            leaves_pending=expect == PENDING_PAYMENT), existing_products=existing)

    def _settle_refund(self, order: OrderModel) -> int:
        """Refund what a cancelled paid order is owed (idempotent at the provider), then record it."""
        due = int(order.refund_due_cents or 0)
        if due <= 0 or not order.payment_intent:
            return 0
        refund = self._provider().refund(RefundRequest(payment_intent=order.payment_intent, amount_cents=due,
                                                       order_id=order.id,
                                                       idempotency_key=f"refund-{order.payment_intent}"))
        try:
            self._orders.settle_refund(order, due, refund.amount_cents, _at(self._clock()))
        except TransitionLost:
            return 0  # a concurrent cancel recorded the same refund
        return refund.amount_cents

    def ship_order(self, order_id: str, body: Any) -> dict[str, Any]:
        from catalog_lambda.schemas import Shipment, parse

        shipment = parse(Shipment, body)
        order = self._visible(order_id, "", is_admin=True)
        if order.status != PAID:
            raise OrderStateError(f"the order is {order.status}: only a paid order can be shipped",
                                  [{"field": "status", "issue": order.status}])
        now = _at(self._clock())
        try:
            self._orders.transition(order, Transition(
                to=SHIPPED, expect=PAID, now=now,
                sets={"shipped_at": now, "shipment": ShipmentAttribute(carrier=shipment.carrier,
                                                                        tracking_number=shipment.tracking_number)}))
        except TransitionLost:
            current = self._orders.get(order_id)
            raise OrderStateError(f"the order is {current.status}: only a paid order can be shipped",
                                  [{"field": "status", "issue": current.status}]) from None
        shipped = order_dict(order)
        self._notifier.order_shipped(shipped)
        return shipped

    # -- expiry ----------------------------------------------------------------------

    def expire_due(self, max_orders: int = 1000, budget_seconds: float = SWEEP_BUDGET_SECONDS) -> list[str]:
        """Expire unpaid orders whose hold has ended, returning their stock once each.

        Reads the sparse ``by_due`` index (never a Scan). The index lags the table, so an
        order it lists may have been paid meanwhile: the transition's condition
        (still ``pending_payment``, hold ended) decides, and the loser changes nothing.
        Stops after ``budget_seconds`` (within the function's timeout): the next run,
        a minute later, carries on with what is left.
        """
        import time

        stop_at = time.monotonic() + budget_seconds
        expired: list[str] = []
        seen: set[str] = set()
        while len(seen) < max_orders and time.monotonic() < stop_at:
            now = self._clock()
            batch = [o for o in self._orders.due(_at(now), SWEEP_BATCH) if o.id not in seen]
            if not batch:
                break
            existing = self._orders.existing_products({line.product_id for o in batch for line in o.lines})
            for order in batch:
                if time.monotonic() >= stop_at:
                    break
                seen.add(order.id)
                if self._expire_one(order, existing, _at(now)):
                    expired.append(order.id)
        return expired

    def _expire_one(self, order: OrderModel, existing: set[str], now: str) -> bool:
        for _attempt in range(_ATTEMPTS):
            try:
                self._orders.transition(order, Transition(
                    to=EXPIRED, expect=PENDING_PAYMENT, now=now, release_lines=True, leaves_pending=True,
                    due_by=now), existing_products=existing)
            except TransitionLost:
                return False  # paid or cancelled first
            except ReservationMoved:
                existing = self._orders.existing_products(line.product_id for line in order.lines)
                continue
            if order.payment_session_id:
                self._close_session(order.payment_session_id)
            return True
        return False

    def _close_session(self, session_id: str) -> None:
        from catalog_lambda.errors import DomainError

        try:
            self._provider().expire_session(session_id)
        except DomainError:
            pass  # best effort: a payment that still lands is refunded by the webhook
