"""Integration fixtures: real HTTP against the local stack (started once per session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_client import ApiClient, ProductFactory
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
    make = ProductFactory(admin)
    yield make
    make.cleanup()
