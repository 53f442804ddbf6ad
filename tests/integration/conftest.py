"""Integration fixtures: real HTTP against the local stack (started once per session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_client import ApiClient
from tests.conftest import LocalStack


@pytest.fixture(scope="session")
def admin_token(local_stack: LocalStack) -> str:
    return local_stack.token("admin")


@pytest.fixture(scope="session")
def shopper_token(local_stack: LocalStack) -> str:
    return local_stack.token("shopper")


@pytest.fixture
def anon(local_stack: LocalStack) -> ApiClient:
    return ApiClient(local_stack.api_url)


@pytest.fixture
def admin(local_stack: LocalStack, admin_token: str) -> ApiClient:
    return ApiClient(local_stack.api_url, admin_token)


@pytest.fixture
def shopper(local_stack: LocalStack, shopper_token: str) -> ApiClient:
    return ApiClient(local_stack.api_url, shopper_token)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_product(admin: ApiClient) -> Iterator[Any]:
    """Create products for one test and delete them afterwards."""
    created: list[str] = []

    def make(**overrides: Any) -> dict[str, Any]:
        body = {"sku": unique("sku"), "name": f"Test product {uuid.uuid4().hex[:6]}", "category": "tea",
                "price_cents": 1234, "currency": "USD", "stock": 10, **overrides}
        response = admin.post("/products", body)
        assert response.status_code == 201, response.text
        product: dict[str, Any] = response.json()
        created.append(product["id"])
        return product

    yield make
    for product_id in created:
        admin.delete(f"/products/{product_id}")
