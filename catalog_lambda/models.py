"""PynamoDB models: the single source of every table's shape.

``infra/`` derives the CloudFormation table definitions from these classes, and the
local stack creates its tables from them, so the two cannot drift.

The products table holds several item kinds under a generic ``pk``/``sk`` key:

=================  ==========================  =====================  ==========================
item               pk                          sk                     purpose
=================  ==========================  =====================  ==========================
product            ``P#<id>``                  ``P``                  the product itself
sku guard          ``SKU#<sku>``               ``SKU``                makes sku unique (conditional put)
search token       ``T#<first char of word>``  ``<word>#<id>``        name-prefix search (Query + BatchGet)
category           ``CATEGORIES``              ``<slug>``             name and exact product_count
=================  ==========================  =====================  ==========================

Products also carry two sparse GSIs: ``by_category`` (``CAT#<slug>``, name key) and
``by_name`` (``PRODUCTS``, name key) for listings without a Scan.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from catalog_lambda.settings import Settings

PRODUCT_SK = "P"
SKU_SK = "SKU"
CATEGORIES_PK = "CATEGORIES"
ALL_PRODUCTS_PK = "PRODUCTS"


def product_pk(product_id: str) -> str:
    return f"P#{product_id}"


def sku_pk(sku: str) -> str:
    return f"SKU#{sku}"


def token_pk(word: str) -> str:
    return f"T#{word[0]}"


def token_sk(word: str, product_id: str) -> str:
    return f"{word}#{product_id}"


def category_pk(slug: str) -> str:
    return f"CAT#{slug}"


class _ProductsTable(Model):
    """Key schema shared by every item kind of the products table."""

    class Meta:
        table_name = "store-dev-products"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ByCategoryIndex(GlobalSecondaryIndex["ProductModel"]):
    class Meta:
        index_name = "by_category"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByNameIndex(GlobalSecondaryIndex["ProductModel"]):
    class Meta:
        index_name = "by_name"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class ProductModel(_ProductsTable):
    id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    category = UnicodeAttribute()
    price_cents = NumberAttribute()
    currency = UnicodeAttribute()
    stock = NumberAttribute(default=0)
    image_url = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=1)
    words = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()

    by_category = ByCategoryIndex()
    by_name = ByNameIndex()


class SkuModel(_ProductsTable):
    product_id = UnicodeAttribute()


class TokenModel(_ProductsTable):
    product_id = UnicodeAttribute()


class CategoryModel(_ProductsTable):
    name = UnicodeAttribute()
    product_count = NumberAttribute(default=0)


# --- orders table -------------------------------------------------------------------
#
# =================  ==============================  ===========  ===========================================
# item               pk                              sk           purpose
# =================  ==============================  ===========  ===========================================
# order              ``O#<id>``                      ``O``        the order; its id derives from (customer,
#                                                                 Idempotency-Key), so it is its own guard
# pending counter    ``C#<customer>``                ``PENDING``  unpaid orders held (MAX_PENDING_ORDERS)
# payment event      ``EVT#<provider event id>``     ``EVT``      a webhook event already handled
# =================  ==============================  ===========  ===========================================
#
# Order GSIs: ``by_customer`` (customer_id, created_key), ``by_time`` (all_pk,
# created_key), ``by_status`` (status, created_key) for the admin's status filter, and
# the sparse ``by_due`` (due_pk, expires_at) that holds only ``pending_payment`` orders,
# read by the expiry sweep.

DUE_PK = "DUE"


class OrderLineAttribute(MapAttribute[str, Any]):
    product_id = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price_cents = NumberAttribute()


class AddressAttribute(MapAttribute[str, Any]):
    name = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute()
    country = UnicodeAttribute()


class ShipmentAttribute(MapAttribute[str, Any]):
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()


class _OrdersTable(Model):
    class Meta:
        table_name = "store-dev-orders"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ByCustomerIndex(GlobalSecondaryIndex["OrderModel"]):
    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByTimeIndex(GlobalSecondaryIndex["OrderModel"]):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    all_pk = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByStatusIndex(GlobalSecondaryIndex["OrderModel"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class ByDueIndex(GlobalSecondaryIndex["OrderModel"]):
    """Sparse: only orders awaiting payment carry ``due_pk``."""

    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_pk = UnicodeAttribute(hash_key=True)
    expires_at = UnicodeAttribute(range_key=True)


class OrderModel(_OrdersTable):
    """An order: pk ``O#<id>``, sk ``O``."""

    id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    lines = ListAttribute[OrderLineAttribute](of=OrderLineAttribute)
    subtotal_cents = NumberAttribute(default=0)
    shipping_cents = NumberAttribute(default=0)
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    shipping_address = AddressAttribute(null=True)
    expires_at = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    shipped_at = UnicodeAttribute(null=True)
    shipment = ShipmentAttribute(null=True)
    refunded_cents = NumberAttribute(default=0)
    # A refund owed but not yet confirmed by the provider (a cancel whose refund call failed).
    refund_due_cents = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    request_hash = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute()
    all_pk = UnicodeAttribute()
    due_pk = UnicodeAttribute(null=True)
    # The open payment session (provider's id, page URL, expiry) and what paid it.
    payment_session_id = UnicodeAttribute(null=True)
    payment_session_url = UnicodeAttribute(null=True)
    payment_session_expires_at = UnicodeAttribute(null=True)
    payment_sessions = NumberAttribute(default=0)
    payment_intent = UnicodeAttribute(null=True)

    by_customer = ByCustomerIndex()
    by_time = ByTimeIndex()
    by_status = ByStatusIndex()
    by_due = ByDueIndex()


class PendingCounterModel(_OrdersTable):
    """``C#<customer>`` / ``PENDING``: how many unpaid orders the customer holds."""

    pending = NumberAttribute(default=0)


class PaymentEventModel(_OrdersTable):
    """``EVT#<event id>`` / ``EVT``: written in the same transaction as the event's effect."""

    type = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute()
    received_at = UnicodeAttribute()


PRODUCTS_TABLE_MODELS: tuple[type[Model], ...] = (ProductModel, SkuModel, TokenModel, CategoryModel)
ORDERS_TABLE_MODELS: tuple[type[Model], ...] = (OrderModel, PendingCounterModel, PaymentEventModel)
# One model per table that declares every index: used to create / describe tables.
TABLE_SHAPES: dict[str, type[Model]] = {"products": ProductModel, "orders": OrderModel}


def bind_models(settings: Settings) -> None:
    """Point every model at the stage's tables, region and (locally) the emulator."""
    from pynamodb import settings as pynamodb_settings

    from catalog_lambda.dynamo import DYNAMODB_RETRIES, use_shared_connection

    # A model's connection takes its retry configuration from PynamoDB's global
    # settings only (Meta cannot carry one): adaptive retries for every model.
    defaults: dict[str, Any] = pynamodb_settings.default_settings_dict
    defaults["retry_configuration"] = DYNAMODB_RETRIES
    bindings = [
        (PRODUCTS_TABLE_MODELS, settings.products_table),
        (ORDERS_TABLE_MODELS, settings.orders_table),
    ]
    for models, table in bindings:
        for model in models:
            model.Meta.table_name = table
            model.Meta.region = settings.region
            model.Meta.host = settings.endpoint_url  # type: ignore[attr-defined]
            # One botocore client for every model and transaction (a fresh binding each time).
            use_shared_connection(model, settings)


# Powertools' idempotency table is not a PynamoDB model: its shape is Powertools'
# DynamoDBPersistenceLayer default (key ``id``, TTL attribute ``expiration``).
IDEMPOTENCY_KEY_ATTR = "id"
IDEMPOTENCY_TTL_ATTR = "expiration"
