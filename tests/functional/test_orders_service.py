"""The order service in-process over moto: states, placing, paying, webhooks, expiry,
cancel and ship (no concurrency here: moto alone is not atomic; see
tests/integration/test_sell_concurrency.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from catalog_lambda.catalog import CatalogService
from catalog_lambda.cursor import CursorCodec
from catalog_lambda.errors import (
    IdempotencyConflictError,
    InvalidSignatureError,
    OrderNotFoundError,
    OrderStateError,
    OutOfStockError,
    ProductNotFoundError,
    TooManyPendingOrdersError,
    ValidationError,
)
from catalog_lambda.orders import (
    OUTCOME_DUPLICATE,
    OUTCOME_MISMATCH,
    OUTCOME_PAID,
    OUTCOME_REFUNDED,
    OrderService,
)
from catalog_lambda.payments.local import LocalProvider
from catalog_lambda.payments.port import (
    CheckoutSession,
    PaymentSecrets,
    RefundRequest,
    RefundResult,
    SessionRequest,
)
from catalog_lambda.repositories.orders import OrderRepository
from catalog_lambda.repositories.products import ProductRepository
from catalog_lambda.settings import Settings

NewProduct = Callable[..., dict[str, Any]]
SECRET = "whsec_unit_test_secret"
EMAIL = "alice@example.com"
ADDRESS = {"name": "Alice Example", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001", "country": "FR"}


@dataclass
class Notes:
    """The notifier port, recording what it was told."""

    paid: list[str] = field(default_factory=list)
    shipped: list[str] = field(default_factory=list)

    def order_paid(self, order: dict[str, Any]) -> None:
        self.paid.append(order["id"])

    def order_shipped(self, order: dict[str, Any]) -> None:
        self.shipped.append(order["id"])


class RecordingProvider(LocalProvider):
    """The local provider, keeping the requests it served (to assert on refunds)."""

    def __init__(self) -> None:
        super().__init__("http://shop.test")
        self.sessions: list[SessionRequest] = []
        self.refunds: list[RefundRequest] = []
        self.expired: list[str] = []

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        self.sessions.append(request)
        return super().create_session(request)

    def refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append(request)
        return super().refund(request)

    def expire_session(self, session_id: str) -> None:
        self.expired.append(session_id)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Shop:
    orders: OrderService
    provider: RecordingProvider
    notes: Notes
    clock: Clock
    catalog: CatalogService

    def place(self, *pairs: tuple[str, int], customer: str = "alice", key: str | None = None,
              **body: Any) -> dict[str, Any]:
        return self.orders.place_order(customer, EMAIL, key or uuid.uuid4().hex, order_body(*pairs, **body)).order

    def stock(self, product_id: str) -> int:
        return int(self.catalog.get_product(product_id)["stock"])

    def webhook(self, event: dict[str, Any], secret: str = SECRET, timestamp: int | None = None) -> str:
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
        return self.orders.handle_webhook(payload.encode(), header).outcome

    def pay(self, order: dict[str, Any], amount: int | None = None, currency: str | None = None,
            event_id: str | None = None) -> str:
        session = self.orders.pay(order["id"], order["customer_id"])
        return self.webhook(completed(order, session["session_id"], amount, currency, event_id))


def completed(order: dict[str, Any], session_id: str, amount: int | None = None, currency: str | None = None,
              event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event", "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {"id": session_id, "object": "checkout.session", "client_reference_id": order["id"],
                            "amount_total": order["total_cents"] if amount is None else amount,
                            "currency": (currency or order["currency"]).lower(), "payment_status": "paid",
                            "payment_intent": "pi_" + session_id}},
    }


def order_body(*pairs: tuple[str, int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in pairs],
                            "shipping_address": dict(ADDRESS)}
    body.update(overrides)
    return body


@pytest.fixture
def shop(catalog: CatalogService, settings: Settings) -> Shop:
    provider, notes, clock = RecordingProvider(), Notes(), Clock()
    service = OrderService(
        settings, OrderRepository(settings, ProductRepository(settings)), CursorCodec(b"k" * 32),
        provider=lambda: provider, secrets=lambda: PaymentSecrets(SECRET), notifier=notes, clock=clock,
    )
    return Shop(service, provider, notes, clock, catalog)


# -- placing ------------------------------------------------------------------------------------


def test_can_place_an_order_that_holds_its_stock_until_it_expires(shop: Shop, new_product: NewProduct,
                                                                  settings: Settings) -> None:
    a, b = new_product(stock=4, price_cents=300), new_product(stock=2, price_cents=50)
    order = shop.place((a["id"], 3), (b["id"], 2))
    assert order["status"] == "pending_payment"
    assert order["email"] == EMAIL
    assert (order["subtotal_cents"], order["shipping_cents"], order["total_cents"]) == (1000, 500, 1500)
    assert order["shipping_address"] == {**ADDRESS, "line2": None, "region": None}
    created = datetime.fromisoformat(order["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(order["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(seconds=settings.order_hold_seconds)
    assert (order["paid_at"], order["shipped_at"], order["shipment"], order["refunded_cents"]) == (None, None, None, 0)
    assert (shop.stock(a["id"]), shop.stock(b["id"])) == (1, 0)


def test_shipping_is_free_from_the_threshold(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=10, price_cents=2500)
    assert shop.place((product["id"], 1))["shipping_cents"] == 500
    free = shop.place((product["id"], 2))
    assert (free["subtotal_cents"], free["shipping_cents"], free["total_cents"]) == (5000, 0, 5000)


def test_out_of_stock_reserves_nothing(shop: Shop, new_product: NewProduct) -> None:
    a, b = new_product(stock=4), new_product(stock=1)
    with pytest.raises(OutOfStockError) as raised:
        shop.place((a["id"], 1), (b["id"], 2))
    assert [d["product_id"] for d in raised.value.details] == [b["id"]]
    assert shop.stock(a["id"]) == 4


def test_unknown_product_is_named(shop: Shop, new_product: NewProduct) -> None:
    a = new_product(stock=4)
    with pytest.raises(ProductNotFoundError) as raised:
        shop.place((a["id"], 1), ("missing", 1))
    assert raised.value.details == [{"product_id": "missing", "issue": "not found"}]


def test_mixed_currencies_are_refused(shop: Shop, new_product: NewProduct) -> None:
    usd, eur = new_product(currency="USD"), new_product(currency="EUR")
    with pytest.raises(ValidationError):
        shop.place((usd["id"], 1), (eur["id"], 1))


@pytest.mark.parametrize("change", [
    {"country": "fr"}, {"country": "XK"}, {"country": "ZZ"}, {"country": "UK"}, {"country": "FRA"},
    {"line1": ""}, {"line1": "   "}, {"postal_code": ""}, {"name": "x" * 101}, {"line2": "y" * 201},
    {"city": "Lyon\u0000"}, {"extra": "field"}, {"postal_code": 69001},
])
def test_a_bad_address_is_refused_and_writes_nothing(shop: Shop, new_product: NewProduct,
                                                     change: dict[str, Any]) -> None:
    product = new_product(stock=3)
    with pytest.raises(ValidationError) as raised:
        shop.place((product["id"], 1), shipping_address={**ADDRESS, **change})
    assert all(d["field"].startswith("shipping_address") for d in raised.value.details), raised.value.details
    assert shop.stock(product["id"]) == 3


@pytest.mark.parametrize("missing", ["line1", "postal_code", "country", "city", "name"])
def test_a_missing_address_field_is_refused(shop: Shop, new_product: NewProduct, missing: str) -> None:
    product = new_product(stock=3)
    address = {k: v for k, v in ADDRESS.items() if k != missing}
    with pytest.raises(ValidationError):
        shop.place((product["id"], 1), shipping_address=address)
    with pytest.raises(ValidationError):
        shop.orders.place_order("alice", EMAIL, "k", {"lines": [{"product_id": product["id"], "quantity": 1}]})
    assert shop.stock(product["id"]) == 3


def test_optional_address_lines_are_kept(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=3)
    order = shop.place((product["id"], 1), shipping_address={**ADDRESS, "line2": "Flat 2", "region": "Rhone"})
    assert (order["shipping_address"]["line2"], order["shipping_address"]["region"]) == ("Flat 2", "Rhone")


def test_an_account_without_email_cannot_order(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=3)
    with pytest.raises(ValidationError):
        shop.orders.place_order("alice", "", "k", order_body((product["id"], 1)))


def test_same_key_same_body_is_the_same_order_once(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=10)
    first = shop.orders.place_order("alice", EMAIL, "k1", order_body((product["id"], 2)))
    again = shop.orders.place_order("alice", EMAIL, "k1", order_body((product["id"], 2)))
    assert (first.created, again.created) == (True, False)
    assert again.order == first.order
    assert shop.stock(product["id"]) == 8
    with pytest.raises(IdempotencyConflictError):
        shop.orders.place_order("alice", EMAIL, "k1", order_body((product["id"], 3)))
    with pytest.raises(IdempotencyConflictError):
        shop.orders.place_order("alice", EMAIL, "k1",
                                order_body((product["id"], 2), shipping_address={**ADDRESS, "city": "Paris"}))
    assert shop.stock(product["id"]) == 8
    # Keys are per customer.
    assert shop.orders.place_order("bob", EMAIL, "k1", order_body((product["id"], 1))).created


def test_a_customer_holds_at_most_max_pending_orders(shop: Shop, new_product: NewProduct,
                                                     settings: Settings) -> None:
    product = new_product(stock=20)
    held = [shop.place((product["id"], 1)) for _ in range(settings.max_pending_orders)]
    with pytest.raises(TooManyPendingOrdersError) as raised:
        shop.place((product["id"], 1))
    assert raised.value.code == "too_many_pending_orders"
    assert shop.stock(product["id"]) == 20 - settings.max_pending_orders
    assert shop.place((product["id"], 1), customer="bob")["status"] == "pending_payment"
    # Paying, cancelling or expiring one frees a slot.
    shop.pay(held[0])
    shop.place((product["id"], 1))
    shop.orders.cancel_order(held[1]["id"], "alice", False)
    shop.place((product["id"], 1))
    with pytest.raises(TooManyPendingOrdersError):
        shop.place((product["id"], 1))
    shop.clock.advance(settings.order_hold_seconds + 1)
    assert len(shop.orders.expire_due()) == 4  # alice's three and bob's one
    shop.place((product["id"], 1))


# -- paying -------------------------------------------------------------------------------------


def test_pay_opens_one_session_for_the_exact_total(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5, price_cents=1234)
    order = shop.place((product["id"], 2))
    session = shop.orders.pay(order["id"], "alice")
    assert session["session_id"].startswith("cs_local_")
    assert session["url"].startswith("http://shop.test/pay/local?")
    assert session["expires_at"] == order["expires_at"]
    assert shop.orders.pay(order["id"], "alice") == session
    assert len(shop.provider.sessions) == 1
    request = shop.provider.sessions[0]
    assert (request.amount_cents, request.currency, request.order_id) == (2968, "USD", order["id"])
    assert request.success_url == f"{shop.orders._settings.site_url}/#/orders/{order['id']}?paid=1"
    with pytest.raises(OrderNotFoundError):
        shop.orders.pay(order["id"], "mallory")


def test_only_a_pending_order_can_be_paid(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    shop.orders.cancel_order(order["id"], "alice", False)
    with pytest.raises(OrderStateError):
        shop.orders.pay(order["id"], "alice")


def test_the_webhook_pays_the_order_once_and_tells_the_notifier_once(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 2))
    session = shop.orders.pay(order["id"], "alice")
    event = completed(order, session["session_id"])
    assert shop.webhook(event) == OUTCOME_PAID
    assert shop.webhook(event) == OUTCOME_DUPLICATE
    paid = shop.orders.get_order(order["id"], "alice", False)
    assert paid["status"] == "paid" and paid["paid_at"]
    assert shop.notes.paid == [order["id"]]
    assert shop.stock(product["id"]) == 3
    # Another delivery of the same payment under a new event id changes nothing either.
    assert shop.webhook(completed(order, session["session_id"])) == OUTCOME_DUPLICATE
    assert shop.provider.refunds == []


@pytest.mark.parametrize("amount, currency", [(1, None), (None, "eur")])
def test_a_wrong_amount_or_currency_does_not_pay(shop: Shop, new_product: NewProduct, amount: int | None,
                                                 currency: str | None) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    assert shop.pay(order, amount=amount, currency=currency) == OUTCOME_MISMATCH
    assert shop.orders.get_order(order["id"], "alice", False)["status"] == "pending_payment"
    assert len(shop.provider.refunds) == 1  # the wrong payment goes back
    assert shop.notes.paid == []


@pytest.mark.parametrize("header", ["", "t=1,v1=00", "garbage"])
def test_a_bad_signature_is_refused_before_anything_is_read(shop: Shop, new_product: NewProduct,
                                                            header: str) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    payload = json.dumps(completed(order, "cs_x"))
    with pytest.raises(InvalidSignatureError):
        shop.orders.handle_webhook(payload.encode(), header or None)
    with pytest.raises(InvalidSignatureError):
        shop.webhook(completed(order, "cs_x"), secret="whsec_someone_else")
    with pytest.raises(InvalidSignatureError):
        shop.webhook(completed(order, "cs_x"), timestamp=int(time.time()) - 301)
    assert shop.orders.get_order(order["id"], "alice", False)["status"] == "pending_payment"


def test_a_payment_after_expiry_is_refunded_in_full(shop: Shop, new_product: NewProduct, settings: Settings) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 2))
    session = shop.orders.pay(order["id"], "alice")
    shop.clock.advance(settings.order_hold_seconds + 1)
    assert shop.orders.expire_due() == [order["id"]]
    assert shop.provider.expired == [session["session_id"]]
    assert shop.stock(product["id"]) == 5
    event = completed(order, session["session_id"])
    assert shop.webhook(event) == OUTCOME_REFUNDED
    assert shop.webhook(event) == OUTCOME_DUPLICATE
    late = shop.orders.get_order(order["id"], "alice", False)
    assert (late["status"], late["refunded_cents"]) == ("expired", order["total_cents"])
    assert [r.amount_cents for r in shop.provider.refunds] == [order["total_cents"]]
    assert shop.stock(product["id"]) == 5
    assert shop.notes.paid == []


# -- expiry ---------------------------------------------------------------------------------------


def test_expiry_returns_stock_once_and_only_for_due_orders(shop: Shop, new_product: NewProduct,
                                                           settings: Settings) -> None:
    product = new_product(stock=5)
    early = shop.place((product["id"], 1))
    shop.clock.advance(settings.order_hold_seconds / 2)
    late = shop.place((product["id"], 2))
    paid = shop.place((product["id"], 1), customer="bob")
    shop.pay(paid)
    shop.clock.advance(settings.order_hold_seconds / 2 + 1)
    assert shop.orders.expire_due() == [early["id"]]
    assert shop.orders.expire_due() == []
    assert shop.stock(product["id"]) == 2
    shop.clock.advance(settings.order_hold_seconds)
    assert shop.orders.expire_due() == [late["id"]]
    assert shop.stock(product["id"]) == 4
    assert shop.orders.get_order(paid["id"], "bob", False)["status"] == "paid"


def test_an_expired_order_cannot_be_paid_or_cancelled(shop: Shop, new_product: NewProduct,
                                                      settings: Settings) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    shop.clock.advance(settings.order_hold_seconds + 1)
    with pytest.raises(OrderStateError):
        shop.orders.pay(order["id"], "alice")  # hold over, even before the sweep
    shop.orders.expire_due()
    with pytest.raises(OrderStateError):
        shop.orders.cancel_order(order["id"], "alice", False)


# -- cancel and ship --------------------------------------------------------------------------------


def test_cancelling_a_pending_order_returns_stock_once(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 5))
    assert shop.orders.cancel_order(order["id"], "alice", False).order["status"] == "cancelled"
    with pytest.raises(OrderStateError):
        shop.orders.cancel_order(order["id"], "alice", False)
    assert shop.stock(product["id"]) == 5


def test_cancelling_a_paid_order_refunds_it_in_full(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 2))
    session_id = shop.orders.pay(order["id"], "alice")["session_id"]
    assert shop.webhook(completed(order, session_id)) == OUTCOME_PAID
    cancelled = shop.orders.cancel_order(order["id"], "admin-sub", True)
    assert cancelled.refunded_cents == order["total_cents"]
    assert (cancelled.order["status"], cancelled.order["refunded_cents"]) == ("cancelled", order["total_cents"])
    assert shop.stock(product["id"]) == 5
    assert [(r.amount_cents, r.payment_intent, r.idempotency_key) for r in shop.provider.refunds] == [
        (order["total_cents"], f"pi_{session_id}", f"refund-pi_{session_id}")]
    with pytest.raises(OrderStateError):
        shop.orders.cancel_order(order["id"], "alice", False)
    assert len(shop.provider.refunds) == 1


def test_cancel_skips_products_deleted_since(shop: Shop, new_product: NewProduct) -> None:
    kept, gone = new_product(stock=5), new_product(stock=5)
    order = shop.place((kept["id"], 1), (gone["id"], 1))
    shop.catalog.delete_product(gone["id"])
    assert shop.orders.cancel_order(order["id"], "alice", False).order["status"] == "cancelled"
    assert shop.stock(kept["id"]) == 5
    with pytest.raises(ProductNotFoundError):
        shop.catalog.get_product(gone["id"])


def test_only_a_paid_order_ships_and_the_notifier_hears_once(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    with pytest.raises(OrderStateError):
        shop.orders.ship_order(order["id"], {"carrier": "UPS", "tracking_number": "1Z999"})
    shop.pay(order)
    shipped = shop.orders.ship_order(order["id"], {"carrier": "UPS", "tracking_number": "1Z999"})
    assert shipped["status"] == "shipped" and shipped["shipped_at"]
    assert shipped["shipment"] == {"carrier": "UPS", "tracking_number": "1Z999"}
    with pytest.raises(OrderStateError):
        shop.orders.ship_order(order["id"], {"carrier": "UPS", "tracking_number": "1Z999"})
    with pytest.raises(OrderStateError):
        shop.orders.cancel_order(order["id"], "alice", False)
    assert shop.notes.shipped == [order["id"]]
    with pytest.raises(ValidationError):
        shop.orders.ship_order(order["id"], {"carrier": "UPS"})


# -- reading ----------------------------------------------------------------------------------------


def test_orders_are_private_to_their_customer(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    with pytest.raises(OrderNotFoundError):
        shop.orders.get_order(order["id"], "mallory", False)
    with pytest.raises(OrderNotFoundError):
        shop.orders.cancel_order(order["id"], "mallory", False)
    assert shop.orders.get_order(order["id"], "admin-sub", True)["id"] == order["id"]
    assert shop.orders.list_orders("mallory", False, None, None, None)["items"] == []


def test_listing_all_orders_pages_newest_first_and_filters_by_status(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=9)
    ids = []
    for customer in ("a", "b", "c"):
        ids.append(shop.place((product["id"], 1), customer=customer)["id"])
        shop.clock.advance(1)
    page = shop.orders.list_orders("whoever", True, None, "2", None)
    assert [o["id"] for o in page["items"]] == ids[::-1][:2]
    rest = shop.orders.list_orders("whoever", True, None, "2", page["next_cursor"])
    assert [o["id"] for o in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    shop.pay(shop.orders.get_order(ids[1], "b", False))
    assert [o["id"] for o in shop.orders.list_orders("x", True, "paid", None, None)["items"]] == [ids[1]]
    pending = shop.orders.list_orders("x", True, "pending_payment", "1", None)
    assert [o["id"] for o in pending["items"]] == [ids[2]]
    with pytest.raises(ValidationError):  # a cursor is bound to its filter
        shop.orders.list_orders("x", True, "paid", "1", pending["next_cursor"])
    with pytest.raises(ValidationError):
        shop.orders.list_orders("x", True, "placed", None, None)
    with pytest.raises(ValidationError):
        shop.orders.list_orders("x", False, "paid", None, None)


# -- round trips (the contract's bars) --------------------------------------------------------------


def test_placing_is_two_round_trips_and_a_replay_one(shop: Shop, new_product: NewProduct,
                                                      dynamodb_calls: Any) -> None:
    a, b = new_product(stock=5), new_product(stock=5)
    with dynamodb_calls() as placing:
        shop.orders.place_order("alice", EMAIL, "rt", order_body((a["id"], 1), (b["id"], 2)))
    assert placing.operations == ["BatchGetItem", "TransactWriteItems"]
    with dynamodb_calls() as replay:
        assert not shop.orders.place_order("alice", EMAIL, "rt", order_body((a["id"], 1), (b["id"], 2))).created
    assert replay.operations == ["BatchGetItem"]


def test_a_webhook_is_at_most_two_round_trips(shop: Shop, new_product: NewProduct, dynamodb_calls: Any) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    session = shop.orders.pay(order["id"], "alice")
    event = completed(order, session["session_id"])
    with dynamodb_calls() as paying:
        assert shop.webhook(event) == OUTCOME_PAID
    assert paying.operations == ["BatchGetItem", "TransactWriteItems"]
    with dynamodb_calls() as replay:
        assert shop.webhook(event) == OUTCOME_DUPLICATE
    assert replay.operations == ["BatchGetItem"]
    with dynamodb_calls() as refused, pytest.raises(InvalidSignatureError):
        shop.webhook(event, secret="whsec_wrong")
    assert refused.operations == []


def test_a_paid_then_cancelled_orders_payment_delivered_again_is_not_refunded_twice(
    shop: Shop, new_product: NewProduct
) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    session_id = shop.orders.pay(order["id"], "alice")["session_id"]
    assert shop.webhook(completed(order, session_id)) == OUTCOME_PAID
    shop.orders.cancel_order(order["id"], "alice", False)
    assert shop.webhook(completed(order, session_id)) == OUTCOME_DUPLICATE  # a new event id, the same payment
    final = shop.orders.get_order(order["id"], "alice", False)
    assert (final["status"], final["refunded_cents"]) == ("cancelled", order["total_cents"])
    assert len(shop.provider.refunds) == 1


def test_stripe_unreachable_when_paying_is_a_503_and_writes_nothing(catalog: CatalogService, settings: Settings,
                                                                    new_product: NewProduct) -> None:
    from dataclasses import replace

    from api.errors import response_for
    from catalog_lambda.errors import UnavailableError
    from catalog_lambda.payments.stripe_provider import StripeProvider

    stripe_settings = replace(settings, payment_provider="stripe", site_url="https://shop.example.com")
    repository = OrderRepository(stripe_settings, ProductRepository(stripe_settings))
    # The real SDK, pointed at a port where nothing listens.
    down = StripeProvider("sk_test_unreachable", api_base="http://127.0.0.1:9", max_network_retries=0)
    service = OrderService(stripe_settings, repository, CursorCodec(b"k" * 32), provider=lambda: down,
                           secrets=lambda: PaymentSecrets(SECRET), notifier=Notes())
    product = new_product(stock=3)
    order = service.place_order("alice", EMAIL, "k", order_body((product["id"], 1))).order
    with pytest.raises(UnavailableError) as raised:
        service.pay(order["id"], "alice")
    response = response_for(raised.value)
    assert response is not None and response.status_code == 503 and response.headers["Retry-After"]
    stored = repository.get(order["id"])
    assert (stored.payment_session_id, stored.payment_sessions, stored.updated_at) == (None, 0, order["updated_at"])


def test_cancelling_an_unpaid_order_closes_its_payment_page(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    session = shop.orders.pay(order["id"], "alice")
    shop.orders.cancel_order(order["id"], "alice", False)
    assert shop.provider.expired == [session["session_id"]]


def test_the_sweep_stops_at_its_time_budget_and_the_next_run_carries_on(shop: Shop, new_product: NewProduct,
                                                                        settings: Settings) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    shop.clock.advance(settings.order_hold_seconds + 1)
    assert shop.orders.expire_due(budget_seconds=0) == []
    assert shop.orders.expire_due() == [order["id"]]


def event_of(event_type: str, **data: Any) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": int(time.time()),
            "data": {"object": data}}


def test_an_expired_checkout_session_is_forgotten_and_paying_again_opens_a_new_one(
    shop: Shop, new_product: NewProduct
) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    first = shop.orders.pay(order["id"], "alice")
    expired = event_of("checkout.session.expired", id=first["session_id"], client_reference_id=order["id"])
    assert shop.webhook(expired) == "session_expired"
    assert shop.webhook(expired) == OUTCOME_DUPLICATE
    second = shop.orders.pay(order["id"], "alice")
    assert second["session_id"] != first["session_id"]
    assert [s.idempotency_key for s in shop.provider.sessions] == [f"session-{order['id']}-1",
                                                                   f"session-{order['id']}-2"]
    assert shop.pay(order) == OUTCOME_PAID  # the new session pays


def test_a_refund_made_at_the_provider_shows_on_the_order(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5, price_cents=2000)
    order = shop.place((product["id"], 1))
    shop.pay(order)
    refunded = event_of("charge.refunded", id="ch_1", amount_refunded=700, currency="usd",
                        metadata={"order_id": order["id"]})
    assert shop.webhook(refunded) == "refund_recorded"
    assert shop.webhook(refunded) == OUTCOME_DUPLICATE
    after = shop.orders.get_order(order["id"], "alice", False)
    assert (after["status"], after["refunded_cents"]) == ("paid", 700)


def test_events_the_store_does_not_handle_or_for_no_order_change_nothing(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    assert shop.webhook(event_of("customer.created", id="cus_1")) == "ignored"
    assert shop.webhook(event_of("checkout.session.completed", id="cs_x", client_reference_id="no-such-order",
                                 amount_total=100, currency="usd", payment_status="paid",
                                 payment_intent="pi_x")) == "ignored"
    assert shop.provider.refunds == []
    assert shop.orders.get_order(order["id"], "alice", False)["status"] == "pending_payment"


def test_a_late_payment_in_another_currency_is_refunded_but_not_counted(shop: Shop, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    order = shop.place((product["id"], 1))
    session = shop.orders.pay(order["id"], "alice")
    shop.orders.cancel_order(order["id"], "alice", False)
    assert shop.webhook(completed(order, session["session_id"], currency="eur")) == OUTCOME_REFUNDED
    assert [r.amount_cents for r in shop.provider.refunds] == [order["total_cents"]]
    assert shop.orders.get_order(order["id"], "alice", False)["refunded_cents"] == 0
