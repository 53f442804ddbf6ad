"""Functional fixtures: the catalog service over moto's in-process DynamoDB (``mock_aws``).

Each test module gets a fresh service (the cached factory is reset around it); each
test gets empty tables holding the six demo categories, and a way to count the DynamoDB calls a piece of code makes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto import mock_aws

from catalog_lambda import services
from catalog_lambda.catalog import CatalogService
from catalog_lambda.dynamo import shared_connection
from catalog_lambda.models import PRODUCTS_TABLE_MODELS
from catalog_lambda.settings import Settings
from infra.local.bootstrap import client, create_tables
from infra.local.seed_data import CATEGORIES

FUNCTIONAL_SETTINGS = Settings(stage="functional", cursor_signing_key="x" * 32, endpoint_url=None)


@pytest.fixture
def settings() -> Settings:
    return FUNCTIONAL_SETTINGS


@pytest.fixture(scope="module")
def _module_catalog() -> Iterator[tuple[CatalogService, Any]]:
    """moto's in-process AWS with the stage's tables and a fresh service, once per test
    module: creating tables and botocore clients is the slow part (~0.5 s a test)."""
    services.reset()
    with mock_aws():
        create_tables(FUNCTIONAL_SETTINGS)
        yield services.catalog_service(FUNCTIONAL_SETTINGS), client("dynamodb", None)
    services.reset()


def _empty_tables(dynamodb: Any) -> None:
    settings = FUNCTIONAL_SETTINGS
    for table in (settings.products_table, settings.orders_table, settings.idempotency_table):
        key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=",".join(key_names)):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key=item)


@pytest.fixture
def catalog(_module_catalog: tuple[CatalogService, Any]) -> CatalogService:
    """The catalog service over empty tables holding only the six demo categories."""
    service, dynamodb = _module_catalog
    _empty_tables(dynamodb)
    for slug, name in CATEGORIES:
        service.create_category(slug, name)
    return service


@pytest.fixture
def new_product(catalog: CatalogService) -> Callable[..., dict[str, Any]]:
    """Create a product through the service; keyword arguments override the body."""

    def make(**overrides: Any) -> dict[str, Any]:
        return catalog.create_product(product_body(**overrides))

    return make


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": f"SKU-{uuid.uuid4().hex[:10]}",
        "name": "Plain Test Product",
        "description": "A product made by a test.",
        "category": "tea",
        "price_cents": 1200,
        "currency": "USD",
        "stock": 5,
    }
    body.update(overrides)
    return body


class CallLog:
    """The DynamoDB operations (``GetItem``, ``Query``, ...) made while recording."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, model: Any, **_kwargs: Any) -> None:
        self.operations.append(model.name)

    def __len__(self) -> int:
        return len(self.operations)


@contextmanager
def _recording() -> Iterator[CallLog]:
    # Every model and transaction should share one botocore client (dynamo.shared_connection);
    # collecting each one's client still sees every API call if one ever did not.
    log = CallLog()
    connections = [m._get_connection().connection for m in PRODUCTS_TABLE_MODELS]
    connections.append(shared_connection(FUNCTIONAL_SETTINGS))  # transactions and batch writes
    clients = {id(c.client): c.client for c in connections}
    for botocore_client in clients.values():
        botocore_client.meta.events.register("before-call.dynamodb", log)
    try:
        yield log
    finally:
        for botocore_client in clients.values():
            botocore_client.meta.events.unregister("before-call.dynamodb", log)


@pytest.fixture
def dynamodb_calls(catalog: CatalogService) -> Callable[[], Any]:
    """``with dynamodb_calls() as log:`` records the DynamoDB calls made inside the block."""
    return _recording
