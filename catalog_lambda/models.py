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


class OrderLineAttribute(MapAttribute[str, Any]):
    product_id = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price_cents = NumberAttribute()


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


class OrderModel(_OrdersTable):
    """An order: pk ``O#<id>``, sk ``O``."""

    id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    lines = ListAttribute[OrderLineAttribute](of=OrderLineAttribute)
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute()
    all_pk = UnicodeAttribute()

    by_customer = ByCustomerIndex()
    by_time = ByTimeIndex()


class OrderGuardModel(_OrdersTable):
    """Written in the order transaction: ``IK#<customer>#<key>`` can place one order only."""

    order_id = UnicodeAttribute()
    request_hash = UnicodeAttribute()


PRODUCTS_TABLE_MODELS: tuple[type[Model], ...] = (ProductModel, SkuModel, TokenModel, CategoryModel)
ORDERS_TABLE_MODELS: tuple[type[Model], ...] = (OrderModel, OrderGuardModel)
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
