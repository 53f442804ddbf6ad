"""Order storage: the only code that writes orders, pending counters and payment events.

* Keys. An order's id derives from (customer, Idempotency-Key) (:func:`order_id_for`),
  so the order item is its own idempotency guard: placing reads the prices and that
  item in ONE BatchGetItem (a replay ends there: one round trip) and writes ONE
  transaction (the order, absent until now; every line's stock; the customer's
  pending counter, below MAX_PENDING_ORDERS).
* Transitions. Every change of an order's status is one transaction conditional on the
  status it leaves, carrying the stock it returns, the pending counter it releases and
  the payment event that caused it, so two racing transitions never both win and a
  replayed event changes nothing.
* Stock moves through :class:`ProductRepository`'s write plans (``reserve_stock``,
  ``return_stock``), committed with the order's own plan by the one commit function
  (:func:`catalog_lambda.repositories.plans.commit`).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from catalog_lambda.dynamo import RETRYABLE_CODES, TransactionFailed, shared_connection, unavailable_on_throttle
from catalog_lambda.errors import OrderNotFoundError, TooManyPendingOrdersError, UnavailableError
from catalog_lambda.models import (
    DUE_PK,
    PRODUCT_SK,
    OrderModel,
    PaymentEventModel,
    PendingCounterModel,
    ProductModel,
    product_pk,
)
from catalog_lambda.repositories.plans import WritePlan, commit
from catalog_lambda.repositories.products import ProductRepository
from catalog_lambda.settings import Settings

ORDER_SK = "O"
COUNTER_SK = "PENDING"
EVENT_SK = "EVT"
ALL_ORDERS_PK = "ORDERS"
PENDING_PAYMENT, PAID, SHIPPED, CANCELLED, EXPIRED = "pending_payment", "paid", "shipped", "cancelled", "expired"
STATUSES = (PENDING_PAYMENT, PAID, SHIPPED, CANCELLED, EXPIRED)
_BATCH_GET_ATTEMPTS = 5


def order_pk(order_id: str) -> str:
    return f"O#{order_id}"


def counter_pk(customer_id: str) -> str:
    return f"C#{customer_id}"


def event_pk(event_id: str) -> str:
    return f"EVT#{event_id}"


def order_id_for(customer_id: str, idempotency_key: str) -> str:
    """The order a customer's Idempotency-Key names: 32 lower-case base32 characters."""
    digest = hashlib.sha256(f"{customer_id}\n{idempotency_key}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii").lower()


def new_order_item(order_id: str, created_at: str, **fields: Any) -> OrderModel:
    """An order item with its keys and index keys (newest-first listings sort on ``created_key``)."""
    return OrderModel(order_pk(order_id), ORDER_SK, id=order_id, created_at=created_at,
                      created_key=f"{created_at}#{order_id}", all_pk=ALL_ORDERS_PK, **fields)


def event_item(event_id: str, event_type: str, order_id: str | None, outcome: str,
               received_at: str) -> PaymentEventModel:
    """The record of a handled payment event (written with its effect, on condition it is new)."""
    return PaymentEventModel(event_pk(event_id), EVENT_SK, type=event_type, order_id=order_id, outcome=outcome,
                             received_at=received_at)


class OrderAlreadyPlaced(Exception):
    """The order item exists: this Idempotency-Key was used before (a replay or a race)."""


class ReservationMoved(Exception):
    """A line's stock or price changed since it was read (or its product was deleted)."""


class TransitionLost(Exception):
    """The order is no longer in the state the transition leaves: another one won."""


class EventAlreadyHandled(Exception):
    """The payment event was recorded by an earlier (or concurrent) delivery."""


@dataclass(frozen=True)
class Hold:
    product: ProductModel
    quantity: int


@dataclass
class Transition:
    """One status change and everything that moves with it."""

    to: str
    expect: str
    now: str
    sets: dict[str, Any] = field(default_factory=dict)  # attribute name -> value (None removes it)
    release_lines: bool = False  # give the lines' stock back
    leaves_pending: bool = False  # the customer's pending counter goes down by one
    event: PaymentEventModel | None = None
    due_by: str | None = None  # only if the order's hold ended by then (expiry)


class OrderRepository:
    def __init__(self, settings: Settings, products: ProductRepository) -> None:
        self._settings = settings
        self._products = products

    # -- reads -----------------------------------------------------------------------

    def read_for_placement(self, order_id: str, product_ids: list[str]) -> tuple[OrderModel | None,
                                                                                 dict[str, ProductModel]]:
        """The order this key names (if placed) and the lines' products: ONE BatchGetItem."""
        keys: dict[type[Model], list[tuple[str, str]]] = {
            OrderModel: [(order_pk(order_id), ORDER_SK)],
            ProductModel: [(product_pk(pid), PRODUCT_SK) for pid in dict.fromkeys(product_ids)],
        }
        found = self._batch_get(keys)
        orders = [item for item in found if isinstance(item, OrderModel)]
        products = {item.id: item for item in found if isinstance(item, ProductModel)}
        return (orders[0] if orders else None), products

    def read_for_event(self, order_id: str | None, event_id: str) -> tuple[OrderModel | None, bool]:
        """The order an event names and whether the event was handled before: ONE BatchGetItem."""
        keys: dict[type[Model], list[tuple[str, str]]] = {PaymentEventModel: [(event_pk(event_id), EVENT_SK)]}
        if order_id is not None:
            keys[OrderModel] = [(order_pk(order_id), ORDER_SK)]
        found = self._batch_get(keys)
        orders = [item for item in found if isinstance(item, OrderModel)]
        seen = any(isinstance(item, PaymentEventModel) for item in found)
        return (orders[0] if orders else None), seen

    def get(self, order_id: str) -> OrderModel:
        with unavailable_on_throttle():
            try:
                return OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True)
            except DoesNotExist:
                raise OrderNotFoundError(f"order {order_id!r} does not exist") from None

    def page(self, customer_id: str | None, status: str | None, size: int,
             start_key: dict[str, Any] | None) -> tuple[list[OrderModel], dict[str, Any] | None]:
        """Newest first: one customer's orders, every order, or every order in one status."""
        index: Any
        if customer_id is not None:
            index, hash_key, hash_attr = OrderModel.by_customer, customer_id, "customer_id"
        elif status is not None:
            index, hash_key, hash_attr = OrderModel.by_status, status, "status"
        else:
            index, hash_key, hash_attr = OrderModel.by_time, ALL_ORDERS_PK, "all_pk"
        with unavailable_on_throttle():
            items = list(index.query(hash_key, scan_index_forward=False, limit=size + 1, page_size=size + 1,
                                     last_evaluated_key=start_key))
        if len(items) <= size:
            return items, None
        last = items[size - 1]
        key = {"pk": {"S": last.pk}, "sk": {"S": last.sk}, hash_attr: {"S": getattr(last, hash_attr)},
               "created_key": {"S": last.created_key}}
        return items[:size], key

    def due(self, now: str, limit: int) -> list[OrderModel]:
        """Unpaid orders whose hold ended by ``now``, oldest first, from the sparse ``by_due`` index."""
        with unavailable_on_throttle():
            return list(OrderModel.by_due.query(DUE_PK, OrderModel.expires_at <= now, limit=limit,
                                                page_size=limit))

    def existing_products(self, product_ids: Iterable[str]) -> set[str]:
        return set(self._products.get_many(list(product_ids)))

    # -- writes ----------------------------------------------------------------------

    def create(self, order: OrderModel, holds: list[Hold], max_pending: int) -> None:
        """Store a new ``pending_payment`` order, reserving every line, in ONE transaction."""
        order.due_pk = DUE_PK
        order.all_pk = ALL_ORDERS_PK
        plan = WritePlan()
        plan.put("order", order, condition=OrderModel.pk.does_not_exist())
        plan.update("counter", PendingCounterModel(counter_pk(order.customer_id), COUNTER_SK),
                    actions=[PendingCounterModel.pending.add(1)],
                    condition=(PendingCounterModel.pending.does_not_exist()
                               | (PendingCounterModel.pending < max_pending)))
        stock = ProductRepository.reserve_stock([(hold.product, hold.quantity) for hold in holds])
        try:
            commit(self._settings, [plan, stock])
        except TransactionFailed as failed:
            if "order" in failed.failed:
                raise OrderAlreadyPlaced() from None
            if "counter" in failed.failed:
                raise TooManyPendingOrdersError(
                    f"you already have {max_pending} unpaid orders: pay or cancel one first",
                    [{"field": "orders", "issue": f"at most {max_pending} orders may await payment"}],
                ) from None
            raise ReservationMoved() from None

    def transition(self, order: OrderModel, change: Transition, existing_products: set[str] | None = None) -> None:
        """Apply one status change in ONE transaction; raises :class:`TransitionLost`,
        :class:`EventAlreadyHandled` or :class:`ReservationMoved` (a product vanished)."""
        actions: list[Action] = [OrderModel.status.set(change.to), OrderModel.updated_at.set(change.now)]
        for name, value in change.sets.items():
            attribute = getattr(OrderModel, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        if change.leaves_pending:
            actions.append(OrderModel.due_pk.remove())
        condition = OrderModel.status == change.expect
        if change.due_by is not None:
            condition = condition & (OrderModel.expires_at <= change.due_by)
        plan = WritePlan()
        plan.update("order", OrderModel(order.pk, order.sk), actions=actions, condition=condition)
        if change.leaves_pending:
            plan.update("counter", PendingCounterModel(counter_pk(order.customer_id), COUNTER_SK),
                        actions=[PendingCounterModel.pending.add(-1)])
        if change.event is not None:
            plan.put("event", change.event, condition=PaymentEventModel.pk.does_not_exist())
        plans = [plan]
        if change.release_lines:
            # A product deleted since gets nothing back (there is nothing to give it to).
            plans.append(ProductRepository.return_stock([
                (line.product_id, int(line.quantity)) for line in order.lines
                if existing_products is None or line.product_id in existing_products]))
        self._commit(plans)
        order.status, order.updated_at = change.to, change.now
        for name, value in change.sets.items():
            setattr(order, name, value)
        if change.leaves_pending:
            order.due_pk = None

    def save_session(self, order: OrderModel, session_id: str, url: str, expires_at: str, opened_before: int,
                     now: str) -> None:
        """Keep the payment session just opened, unless the order moved on or another
        request opened one first (:class:`TransitionLost`)."""
        self._update(order, {"payment_session_id": session_id, "payment_session_url": url,
                             "payment_session_expires_at": expires_at, "payment_sessions": opened_before + 1},
                     condition=((OrderModel.status == PENDING_PAYMENT)
                                & (OrderModel.payment_sessions.does_not_exist()
                                   | (OrderModel.payment_sessions == opened_before))), now=now)

    def forget_session(self, order: OrderModel, session_id: str, event: PaymentEventModel, now: str) -> None:
        """The provider expired this session: forget it (if it is still the order's), with the event."""
        self._update(order, {"payment_session_id": None, "payment_session_url": None,
                             "payment_session_expires_at": None},
                     condition=OrderModel.payment_session_id == session_id, event=event, now=now)

    def set_refunded(self, order: OrderModel, refunded_cents: int, expected_before: int, event: PaymentEventModel,
                     now: str) -> None:
        """Show a refund made at the provider, with the event that reported it."""
        self._update(order, {"refunded_cents": refunded_cents},
                     condition=OrderModel.refunded_cents == expected_before, event=event, now=now)

    def settle_refund(self, order: OrderModel, due_cents: int, refunded_cents: int, now: str) -> None:
        """A cancelled paid order's refund went through: it is no longer owed."""
        self._update(order, {"refund_due_cents": 0,
                             "refunded_cents": int(order.refunded_cents or 0) + refunded_cents},
                     condition=OrderModel.refund_due_cents == due_cents, now=now)

    def _update(self, order: OrderModel, sets: dict[str, Any], condition: Condition,
                event: PaymentEventModel | None = None, now: str | None = None) -> None:
        actions: list[Action] = []
        for name, value in sets.items():
            attribute = getattr(OrderModel, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        if now is not None:
            actions.append(OrderModel.updated_at.set(now))
        plan = WritePlan()
        plan.update("order", OrderModel(order.pk, order.sk), actions=actions, condition=condition)
        if event is not None:
            plan.put("event", event, condition=PaymentEventModel.pk.does_not_exist())
        self._commit([plan])
        for name, value in sets.items():
            setattr(order, name, value)
        if now is not None:
            order.updated_at = now

    def add_refund(self, order: OrderModel, cents: int, event: PaymentEventModel, now: str) -> None:
        """Count a refund on the order, with the event that caused it (the order keeps its state)."""
        plan = WritePlan()
        plan.update("order", OrderModel(order.pk, order.sk),
                    actions=[OrderModel.refunded_cents.add(cents), OrderModel.updated_at.set(now)],
                    condition=OrderModel.pk.exists())
        plan.put("event", event, condition=PaymentEventModel.pk.does_not_exist())
        self._commit([plan])
        order.refunded_cents = int(order.refunded_cents or 0) + cents

    def record_event(self, event: PaymentEventModel) -> None:
        """An event with no effect on any order, kept so a replay is recognised."""
        plan = WritePlan()
        plan.put("event", event, condition=PaymentEventModel.pk.does_not_exist())
        self._commit([plan])

    # -- plumbing --------------------------------------------------------------------

    def _commit(self, plans: list[WritePlan]) -> None:
        try:
            commit(self._settings, plans)
        except TransactionFailed as failed:
            if "event" in failed.failed:
                raise EventAlreadyHandled() from None
            if "order" in failed.failed:
                raise TransitionLost() from None
            raise ReservationMoved() from None

    def _batch_get(self, keys: dict[type[Model], list[tuple[str, str]]]) -> list[Model]:
        """One BatchGetItem across tables (strongly consistent), retrying only unprocessed keys."""
        request: dict[str, Any] = {}
        models_by_table: dict[str, list[type[Model]]] = {}
        for model, pairs in keys.items():
            if not pairs:
                continue
            table = model.Meta.table_name
            models_by_table.setdefault(table, []).append(model)
            entry = request.setdefault(table, {"Keys": [], "ConsistentRead": True})
            entry["Keys"].extend({"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in pairs)
        client = shared_connection(self._settings).client
        found: list[Model] = []
        for attempt in range(_BATCH_GET_ATTEMPTS):
            try:
                answer = client.batch_get_item(RequestItems=request)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in RETRYABLE_CODES:
                    raise UnavailableError("the database is busy; retry shortly", retry_after=1) from error
                raise
            for table, items in answer.get("Responses", {}).items():
                for item in items:
                    found.append(_model_for(models_by_table[table], item).from_raw_data(item))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(0.05 * 2**attempt)
        raise UnavailableError("the database is busy; retry shortly", retry_after=1)


def _model_for(models: list[type[Model]], item: dict[str, Any]) -> type[Model]:
    """Which item kind a raw item of a shared table is, from its sort key."""
    sort_key = item.get("sk", {}).get("S")
    by_sort_key: dict[str | None, type[Model]] = {
        ORDER_SK: OrderModel, EVENT_SK: PaymentEventModel, COUNTER_SK: PendingCounterModel, PRODUCT_SK: ProductModel,
    }
    model = by_sort_key.get(sort_key)
    if model is None or model not in models:
        return models[0]
    return model
