"""Orders: place, list, read and cancel, without oversell, double orders or lost stock.

* Placing an order is ONE DynamoDB transaction: a conditional decrement of every
  line's stock (``stock >= quantity`` and the price we quoted unchanged), the order
  item, and a guard item keyed by customer + Idempotency-Key (condition: absent).
  Either every line is reserved and the order recorded, or nothing changes.
* Retries: Powertools' idempotency utility (its own table, scoped per customer, with
  an expiry) replays the first response. Because that record lives outside the order
  transaction and expires, the guard item is the last word: a retry however late, or
  after whatever crash, finds the guard and gets the order already placed.
* Cancelling flips ``placed`` -> ``cancelled`` conditionally, in the same transaction
  that returns the stock, so stock comes back exactly once.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from pynamodb.exceptions import DoesNotExist

from catalog_lambda.clock import new_id, now_rfc3339
from catalog_lambda.cursor import CursorCodec
from catalog_lambda.dynamo import LabeledTransaction, TransactionFailed, unavailable_on_throttle
from catalog_lambda.errors import (
    ConflictError,
    IdempotencyConflictError,
    OrderNotFoundError,
    OutOfStockError,
    ProductNotFoundError,
    RequestInProgressError,
    ValidationError,
)
from catalog_lambda.models import (
    PRODUCT_SK,
    OrderGuardModel,
    OrderLineAttribute,
    OrderModel,
    ProductModel,
    product_pk,
)
from catalog_lambda.repositories import ProductRepository
from catalog_lambda.settings import Settings

ORDER_SK = "O"
GUARD_SK = "IK"
ALL_ORDERS_PK = "ORDERS"
PLACED, CANCELLED = "placed", "cancelled"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ATTEMPTS = 4
# How long an interrupted order keeps its Idempotency-Key "in progress" outside Lambda.
IN_PROGRESS_BUDGET_MS = 30_000


def order_pk(order_id: str) -> str:
    return f"O#{order_id}"


def guard_pk(customer_id: str, idempotency_key: str) -> str:
    return f"IK#{customer_id}#{idempotency_key}"


def order_dict(order: OrderModel) -> dict[str, Any]:
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "status": order.status,
        "lines": [
            {"product_id": line.product_id, "name": line.name, "quantity": int(line.quantity),
             "unit_price_cents": int(line.unit_price_cents)}
            for line in order.lines
        ],
        "total_cents": int(order.total_cents),
        "currency": order.currency,
        "created_at": order.created_at,
    }


def request_hash(lines: list[tuple[str, int]]) -> str:
    return hashlib.sha256(json.dumps(sorted(lines)).encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise ValidationError("the Idempotency-Key header is required",
                              [{"field": "Idempotency-Key", "issue": "missing"}])
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError("the Idempotency-Key header is invalid",
                              [{"field": "Idempotency-Key", "issue": "1-128 of A-Z a-z 0-9 _ . : -"}])
    return key


class OrderService:
    def __init__(self, settings: Settings, products: ProductRepository, cursors: CursorCodec) -> None:
        self._settings = settings
        self._products = products
        self._cursors = cursors

    # -- placing -------------------------------------------------------------------

    def place_order(self, customer_id: str, idempotency_key: str | None, body: Any,
                    lambda_context: Any = None,
                    on_placed: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Validate, then place through the idempotency layer; returns the order.

        ``lambda_context`` (anything with ``get_remaining_time_in_millis``) bounds how
        long the idempotency record stays "in progress" if this invocation dies; without
        one, the request gets :data:`IN_PROGRESS_BUDGET_MS`. ``on_placed`` is called once
        when a new order is stored (not when a retry is answered with an earlier one).
        """
        from catalog_lambda.schemas import OrderCreate, parse

        key = check_idempotency_key(idempotency_key)
        lines = parse(OrderCreate, body).merged()
        request = {"customer_id": customer_id, "idempotency_key": key, "lines": [list(x) for x in lines]}
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        self._idempotency_config.register_lambda_context(lambda_context or _Budget(IN_PROGRESS_BUDGET_MS))
        try:
            result: dict[str, Any] = self._idempotent_place(request=request, on_placed=on_placed)
        except IdempotencyValidationError:
            raise _key_reused() from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgressError("an order with this Idempotency-Key is still being placed; retry") from None
        return result

    @cached_property
    def _idempotency_config(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(
            event_key_jmespath="[customer_id, idempotency_key]",
            payload_validation_jmespath="lines",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        )

    @cached_property
    def _idempotent_place(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

        persistence = DynamoDBPersistenceLayer(table_name=self._settings.idempotency_table)
        config = self._idempotency_config

        @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
        def place(request: dict[str, Any], on_placed: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
            lines = [(str(pid), int(qty)) for pid, qty in request["lines"]]
            return self._place(request["customer_id"], request["idempotency_key"], lines, on_placed)

        return place

    def _place(self, customer_id: str, key: str, lines: list[tuple[str, int]],
               on_placed: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        digest = request_hash(lines)
        for _attempt in range(_ATTEMPTS):
            products = self._products.get_many([pid for pid, _ in lines])
            missing = [pid for pid, _ in lines if pid not in products]
            if missing:
                raise ProductNotFoundError(
                    "some products do not exist", [{"product_id": pid, "issue": "not found"} for pid in missing]
                )
            currencies = {products[pid].currency for pid, _ in lines}
            if len(currencies) > 1:
                raise ValidationError("all lines of an order must share one currency",
                                      [{"field": "lines", "issue": f"currencies {sorted(currencies)}"}])
            short = [(pid, qty) for pid, qty in lines if int(products[pid].stock) < qty]
            if short:
                raise _out_of_stock(short, products)
            order = self._new_order(customer_id, key, lines, products)
            tx = LabeledTransaction(self._settings)
            for pid, qty in lines:
                product = products[pid]
                tx.update(
                    f"line:{pid}", ProductModel(product_pk(pid), PRODUCT_SK),
                    actions=[ProductModel.stock.add(-qty)],
                    condition=(ProductModel.pk.exists() & (ProductModel.stock >= qty)
                               & (ProductModel.price_cents == product.price_cents)
                               & (ProductModel.currency == product.currency)),
                )
            tx.put("order", order, condition=OrderModel.pk.does_not_exist())
            tx.put("guard", OrderGuardModel(guard_pk(customer_id, key), GUARD_SK, order_id=order.id,
                                            request_hash=digest), condition=OrderGuardModel.pk.does_not_exist())
            try:
                tx.commit()
            except TransactionFailed as failed:
                if "guard" in failed.failed:
                    return self._replay(customer_id, key, digest)
                continue  # stock or price moved since we read: look again
            placed = order_dict(order)
            if on_placed is not None:
                on_placed(placed)
            return placed
        raise ConflictError("the products changed while the order was placed; retry")

    def _new_order(self, customer_id: str, key: str, lines: list[tuple[str, int]],
                   products: dict[str, ProductModel]) -> OrderModel:
        order_id, now = new_id(), now_rfc3339()
        order_lines = [
            OrderLineAttribute(product_id=pid, name=products[pid].name, quantity=qty,
                               unit_price_cents=int(products[pid].price_cents))
            for pid, qty in lines
        ]
        return OrderModel(
            order_pk(order_id), ORDER_SK, id=order_id, customer_id=customer_id, status=PLACED, lines=order_lines,
            total_cents=sum(int(line.unit_price_cents) * int(line.quantity) for line in order_lines),
            currency=products[lines[0][0]].currency, created_at=now, updated_at=now, idempotency_key=key,
            created_key=f"{now}#{order_id}", all_pk=ALL_ORDERS_PK,
        )

    def _replay(self, customer_id: str, key: str, digest: str) -> dict[str, Any]:
        """The guard says this key already placed an order: answer with that order."""
        with unavailable_on_throttle():
            guard = OrderGuardModel.get(guard_pk(customer_id, key), GUARD_SK, consistent_read=True)
        if guard.request_hash != digest:
            raise _key_reused()
        return order_dict(self._get(guard.order_id))

    # -- reading -------------------------------------------------------------------

    def _get(self, order_id: str) -> OrderModel:
        if not _ORDER_ID.match(order_id):
            raise OrderNotFoundError(f"order {order_id!r} does not exist")
        with unavailable_on_throttle():
            try:
                return OrderModel.get(order_pk(order_id), ORDER_SK, consistent_read=True)
            except DoesNotExist:
                raise OrderNotFoundError(f"order {order_id!r} does not exist") from None

    def _visible(self, order_id: str, customer_id: str, is_admin: bool) -> OrderModel:
        order = self._get(order_id)
        if order.customer_id != customer_id and not is_admin:
            # Someone else's order does not exist as far as this caller can tell.
            raise OrderNotFoundError(f"order {order_id!r} does not exist")
        return order

    def get_order(self, order_id: str, customer_id: str, is_admin: bool) -> dict[str, Any]:
        return order_dict(self._visible(order_id, customer_id, is_admin))

    def list_orders(self, customer_id: str, all_customers: bool, limit: str | None,
                    cursor: str | None) -> dict[str, Any]:
        from catalog_lambda.catalog import parse_limit

        size = parse_limit(limit)
        scope = json.dumps(["orders", "all" if all_customers else customer_id])
        start_key = self._cursors.decode(cursor, scope) if cursor else None
        if all_customers:
            index: Any = OrderModel.by_time
            hash_key, hash_attr = ALL_ORDERS_PK, "all_pk"
        else:
            index, hash_key, hash_attr = OrderModel.by_customer, customer_id, "customer_id"
        with unavailable_on_throttle():
            items = list(index.query(hash_key, scan_index_forward=False, limit=size + 1, page_size=size + 1,
                                     last_evaluated_key=start_key))
        next_cursor = None
        if len(items) > size:
            last = items[size - 1]
            key = {"pk": {"S": last.pk}, "sk": {"S": last.sk}, hash_attr: {"S": getattr(last, hash_attr)},
                   "created_key": {"S": last.created_key}}
            next_cursor = self._cursors.encode(key, scope)
        return {"items": [order_dict(o) for o in items[:size]], "next_cursor": next_cursor}

    # -- cancelling ----------------------------------------------------------------

    def cancel_order(self, order_id: str, customer_id: str, is_admin: bool) -> dict[str, Any]:
        for _attempt in range(_ATTEMPTS):
            order = self._visible(order_id, customer_id, is_admin)
            if order.status == CANCELLED:
                return order_dict(order)  # already cancelled: stock went back then, not again
            existing = self._products.get_many([line.product_id for line in order.lines])
            now = now_rfc3339()
            tx = LabeledTransaction(self._settings)
            tx.update("order", OrderModel(order.pk, order.sk),
                      actions=[OrderModel.status.set(CANCELLED), OrderModel.updated_at.set(now)],
                      condition=OrderModel.status == PLACED)
            for line in order.lines:
                if line.product_id in existing:  # a deleted product gets nothing back
                    tx.update(f"line:{line.product_id}", ProductModel(product_pk(line.product_id), PRODUCT_SK),
                              actions=[ProductModel.stock.add(int(line.quantity))],
                              condition=ProductModel.pk.exists())
            try:
                tx.commit()
            except TransactionFailed:
                continue  # cancelled concurrently, or a product vanished: look again
            order.status, order.updated_at = CANCELLED, now
            return order_dict(order)
        raise ConflictError("the order changed while it was cancelled; retry")


class _Budget:
    """A stand-in Lambda context outside Lambda: the request has this long to finish."""

    def __init__(self, millis: int) -> None:
        self._deadline = time.monotonic() + millis / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _key_reused() -> IdempotencyConflictError:
    return IdempotencyConflictError(
        "this Idempotency-Key was already used with a different request",
        [{"field": "Idempotency-Key", "issue": "reused with a different body"}],
    )


def _out_of_stock(short: list[tuple[str, int]], products: dict[str, ProductModel]) -> OutOfStockError:
    return OutOfStockError(
        "not enough stock for some lines; nothing was reserved",
        [{"product_id": pid, "name": products[pid].name, "requested": qty, "available": int(products[pid].stock)}
         for pid, qty in short],
    )
