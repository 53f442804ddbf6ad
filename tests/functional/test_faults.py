"""Fault injection: DynamoDB throttling and transient errors are retried by botocore
(adaptive mode, with backoff), and when they persist the API answers 503 ``unavailable``
with ``Retry-After``.

Faults are injected in-process with a botocore ``before-send`` hook on the very clients
the service uses: the hook answers in place of the emulator (moto), so botocore's own
retry machinery sees a real throttling response. Backoff sleeps are recorded instead of
slept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.awsrequest
import botocore.retries.bucket
import pytest
from botocore.exceptions import EndpointConnectionError
from chalice.test import Client

from catalog_lambda import services
from catalog_lambda.catalog import CatalogService
from catalog_lambda.dynamo import DYNAMODB_RETRIES, shared_connection
from catalog_lambda.errors import UnavailableError
from catalog_lambda.models import PRODUCTS_TABLE_MODELS
from tests.functional.conftest import FUNCTIONAL_SETTINGS, product_body

ATTEMPTS = int(DYNAMODB_RETRIES["total_max_attempts"])  # type: ignore[call-overload]
NewProduct = Callable[..., dict[str, Any]]


class Faults:
    """Answers the next ``failures`` calls of the given operations with an error."""

    def __init__(self, operations: set[str], failures: int, status: int = 400,
                 code: str = "ProvisionedThroughputExceededException", connection_error: bool = False) -> None:
        self.operations = operations
        self.remaining = failures
        self.status = status
        self.code = code
        self.connection_error = connection_error
        self.calls: list[str] = []
        self.tokens: list[int] = []  # rate-limiter tokens asked for while this ran

    def __call__(self, request: Any, event_name: str = "", **_kwargs: Any) -> Any:
        operation_name = event_name.rsplit(".", 1)[-1]
        if operation_name not in self.operations:
            return None
        self.calls.append(operation_name)
        if self.remaining == 0:
            return None  # let it through to the emulator
        self.remaining -= 1
        # botocore calls every before-send handler and keeps the first answer: point the
        # request where the emulator does not listen, so it does not apply it as well.
        request.url = "https://fault-injected.invalid/"
        if self.connection_error:
            raise EndpointConnectionError(endpoint_url=request.url)
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": "injected"})
        return botocore.awsrequest.AWSResponse(request.url, self.status, {"x-amzn-requestid": "fault"},
                                               _RawBody(body.encode()))


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_args: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def _clients() -> list[Any]:
    connections = [m._get_connection().connection for m in PRODUCTS_TABLE_MODELS]
    connections.append(shared_connection(FUNCTIONAL_SETTINGS))
    return list({id(c.client): c.client for c in connections}.values())


@pytest.fixture
def inject(catalog: CatalogService, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    sleeps: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", sleeps.append)
    # Adaptive mode's client-side rate limiter waits on a condition variable once
    # throttled: record that it was asked for a token instead of waiting.
    rate_limited: list[int] = []

    def acquire(_bucket: Any, amount: int = 1, block: bool = True) -> bool:
        rate_limited.append(amount)
        return True

    monkeypatch.setattr(botocore.retries.bucket.TokenBucket, "acquire", acquire)
    installed: list[tuple[Any, Faults]] = []

    @contextmanager
    def injecting(*operations: str, failures: int, **kwargs: Any) -> Iterator[tuple[Faults, list[float]]]:
        faults = Faults(set(operations), failures, **kwargs)
        for client in _clients():
            client.meta.events.register_first("before-send.dynamodb", faults)
            installed.append((client, faults))
        sleeps.clear()
        rate_limited.clear()
        faults.tokens = rate_limited
        try:
            yield faults, sleeps
        finally:
            for client, handler in installed:
                client.meta.events.unregister("before-send.dynamodb", handler)
            installed.clear()

    yield injecting
    # The adaptive rate limiter remembers throttling: later tests get fresh clients.
    shared_connection.cache_clear()
    services.reset()
    from catalog_lambda.models import bind_models

    bind_models(FUNCTIONAL_SETTINGS)


def test_clients_use_botocores_adaptive_retry_mode(catalog: CatalogService) -> None:
    for client in _clients():
        assert client.meta.config.retries["mode"] == "adaptive"
        assert client.meta.config.retries["total_max_attempts"] == ATTEMPTS


def test_a_throttled_read_is_retried_with_backoff_and_succeeds(new_product: NewProduct, catalog: CatalogService,
                                                               inject: Any) -> None:
    product = new_product()
    with inject("GetItem", failures=ATTEMPTS - 1) as (faults, sleeps):
        assert catalog.get_product(product["id"])["id"] == product["id"]
    assert faults.calls == ["GetItem"] * ATTEMPTS
    assert len([s for s in sleeps if s > 0]) >= ATTEMPTS - 1  # backed off before each retry
    assert faults.tokens, "adaptive mode's rate limiter engaged after the throttling"


def test_a_throttled_transaction_is_retried_and_commits_once(catalog: CatalogService, inject: Any) -> None:
    with inject("TransactWriteItems", failures=ATTEMPTS - 1) as (faults, _sleeps):
        product = catalog.create_product(product_body(category="coffee"))
    assert faults.calls == ["TransactWriteItems"] * ATTEMPTS
    counts = {c["slug"]: c["product_count"] for c in catalog.list_categories()["items"]}
    assert counts["coffee"] == 1
    assert catalog.get_product(product["id"])["sku"] == product["sku"]


@pytest.mark.parametrize(("status", "code"), [
    (400, "ProvisionedThroughputExceededException"),
    (400, "ThrottlingException"),
    (400, "RequestLimitExceeded"),
    (500, "InternalServerError"),
    (503, "ServiceUnavailable"),
])
def test_persistent_throttling_or_server_errors_become_unavailable(new_product: NewProduct, catalog: CatalogService,
                                                                   inject: Any, status: int, code: str) -> None:
    product = new_product()
    with inject("GetItem", "Query", failures=100, status=status, code=code) as (faults, _sleeps), \
            pytest.raises(UnavailableError) as raised:
        catalog.get_product(product["id"])
    assert faults.calls == ["GetItem"] * ATTEMPTS
    assert raised.value.retry_after >= 1
    with inject("Query", failures=100, status=status, code=code), pytest.raises(UnavailableError):
        catalog.list_products()


def test_connection_failures_are_retried_then_unavailable(new_product: NewProduct, catalog: CatalogService,
                                                          inject: Any) -> None:
    product = new_product()
    with inject("GetItem", failures=1, connection_error=True) as (faults, _sleeps):
        assert catalog.get_product(product["id"])["id"] == product["id"]
    assert len(faults.calls) == 2
    with inject("GetItem", failures=100, connection_error=True), pytest.raises(UnavailableError):
        catalog.get_product(product["id"])


def test_a_throttled_write_changes_nothing_and_is_unavailable(catalog: CatalogService, inject: Any) -> None:
    with inject("TransactWriteItems", failures=100), pytest.raises(UnavailableError):
        catalog.create_product(product_body(category="books", sku="THROTTLED-1"))
    counts = {c["slug"]: c["product_count"] for c in catalog.list_categories()["items"]}
    assert counts["books"] == 0


# --- over HTTP (Chalice's test client, the real app) -----------------------------------------


@pytest.fixture
def api(catalog: CatalogService, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("STAGE", FUNCTIONAL_SETTINGS.stage)
    monkeypatch.setenv("CURSOR_SIGNING_KEY", FUNCTIONAL_SETTINGS.cursor_signing_key)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from catalog_lambda.settings import get_settings

    get_settings.cache_clear()
    services.catalog_service.cache_clear()
    import app

    with Client(app.app, stage_name=FUNCTIONAL_SETTINGS.stage) as client:
        yield client
    get_settings.cache_clear()


@pytest.mark.parametrize("path", ["/products/{pid}", "/products", "/categories", "/products?q=plain"])
def test_persistent_throttling_is_503_unavailable_with_retry_after(api: Client, new_product: NewProduct,
                                                                   inject: Any, path: str) -> None:
    product = new_product()
    ok = api.http.get(path.format(pid=product["id"]))
    assert ok.status_code == 200
    with inject("GetItem", "Query", "BatchGetItem", failures=1000) as (faults, _sleeps):
        response = api.http.get(path.format(pid=product["id"]))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body)["error"]["code"] == "unavailable"
    assert len(faults.calls) == ATTEMPTS  # the first call was retried, then given up


def test_a_transient_fault_is_invisible_to_the_client(api: Client, new_product: NewProduct, inject: Any) -> None:
    product = new_product()
    with inject("GetItem", failures=1, code="ThrottlingException"):
        response = api.http.get(f"/products/{product['id']}")
    assert response.status_code == 200
    assert json.loads(response.body)["id"] == product["id"]
