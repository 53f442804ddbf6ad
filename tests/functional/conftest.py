"""Functional fixtures: the catalog service over moto's in-process DynamoDB (``mock_aws``).

Each test module gets a fresh service (the cached factory is reset around it); each
test gets empty tables holding the six demo categories, and a way to count the DynamoDB calls a piece of code makes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Tables:
    """The stage's tables in moto, and each one's items as seeded (raw DynamoDB JSON)."""

    dynamodb: Any
    key_names: dict[str, list[str]]
    seeded: dict[str, list[dict[str, Any]]]

    @classmethod
    def snapshot(cls, dynamodb: Any) -> _Tables:
        settings = FUNCTIONAL_SETTINGS
        tables = (settings.products_table, settings.orders_table, settings.idempotency_table)
        key_names = {t: [k["AttributeName"] for k in dynamodb.describe_table(TableName=t)["Table"]["KeySchema"]]
                     for t in tables}
        return cls(dynamodb, key_names, {t: _scan(dynamodb, t) for t in tables})

    def restore(self) -> None:
        """Back to the seeded items: one Scan a table and a BatchWriteItem per 25 changes
        (re-seeding through the service took ~20 calls a test, most of the suite's time)."""
        for table, key_names in self.key_names.items():
            wanted = {_key(item, key_names): item for item in self.seeded[table]}
            requests: list[dict[str, Any]] = []
            for item in _scan(self.dynamodb, table):
                key = _key(item, key_names)
                if wanted.get(key) == item:
                    del wanted[key]  # unchanged
                elif key not in wanted:
                    requests.append({"DeleteRequest": {"Key": {name: item[name] for name in key_names}}})
            requests += [{"PutRequest": {"Item": item}} for item in wanted.values()]
            for start in range(0, len(requests), 25):
                pending: dict[str, Any] = {table: requests[start:start + 25]}
                while pending:
                    pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def _key(item: dict[str, Any], key_names: list[str]) -> str:
    return json.dumps([item[name] for name in key_names], sort_keys=True)


@pytest.fixture(scope="module")
def _module_catalog() -> Iterator[tuple[CatalogService, _Tables]]:
    """moto's in-process AWS with the stage's tables, the six demo categories and a fresh
    service, once per test module: creating tables and botocore clients is the slow part."""
    services.reset()
    with mock_aws():
        create_tables(FUNCTIONAL_SETTINGS)
        service = services.catalog_service(FUNCTIONAL_SETTINGS)
        for slug, name in CATEGORIES:
            service.create_category(slug, name)
        yield service, _Tables.snapshot(client("dynamodb", None))
    services.reset()


@pytest.fixture
def catalog(_module_catalog: tuple[CatalogService, _Tables]) -> CatalogService:
    """The catalog service over empty tables holding only the six demo categories."""
    service, tables = _module_catalog
    tables.restore()
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
