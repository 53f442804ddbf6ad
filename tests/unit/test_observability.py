"""Observability: structured JSON logs with the correlation id, the id echoed back,
EMF metrics for refusals, and the tracer off where POWERTOOLS_TRACE_DISABLED is set."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from api import observability


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("CURSOR_SIGNING_KEY", "o" * 32)
    monkeypatch.setenv("AUTH_MODE", "gateway")
    from catalog_lambda.settings import get_settings

    get_settings.cache_clear()
    import app

    with Client(app.app, stage_name="unit") as test_client:
        yield test_client
    get_settings.cache_clear()


def _json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """The JSON lines the Powertools logger writes (its own formatter, our list as the stream)."""
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.setFormatter(observability.logger.registered_formatter)
    target = logging.getLogger(observability.logger.name)
    target.addHandler(handler)
    yield lines
    target.removeHandler(handler)


def test_a_given_correlation_id_is_logged_and_echoed(client: Client, log_lines: list[str]) -> None:
    response = client.http.get("/health", headers={"X-Correlation-Id": "order-flow-42"})
    assert response.status_code == 200
    assert response.headers["X-Correlation-Id"] == "order-flow-42"
    logs = [line for line in _json_lines("\n".join(log_lines)) if line.get("message") == "request"]
    assert logs[-1]["correlation_id"] == "order-flow-42"
    assert logs[-1]["status"] == 200 and logs[-1]["resource"] == "/health"
    assert logs[-1]["service"] == "store-api" and logs[-1]["level"] == "INFO"


@pytest.mark.parametrize("given", ["", "x" * 200, "bad id with spaces", "a\u00e9b", "<script>"])
def test_an_unsafe_correlation_id_is_replaced(client: Client, given: str) -> None:
    headers = {"X-Correlation-Id": given} if given.isascii() else {}
    response = client.http.get("/health", headers=headers)
    echoed = response.headers["X-Correlation-Id"]
    assert echoed and echoed != given and len(echoed) <= 128


def test_every_request_gets_a_correlation_id_even_errors(client: Client) -> None:
    first = client.http.get("/no-such-path")
    second = client.http.post("/products", body=b"{}", headers={"Content-Type": "application/json"})
    assert second.status_code == 401
    assert second.headers["X-Correlation-Id"]
    assert first.headers.get("X-Correlation-Id") != second.headers["X-Correlation-Id"]


def test_auth_failures_emit_an_emf_metric(client: Client, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    response = client.http.post("/orders", body=b"{}", headers={"Content-Type": "application/json",
                                                                  "Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    documents = [d for d in _json_lines(capfd.readouterr().out) if "_aws" in d]
    assert documents, "no EMF document was printed"
    emf = documents[-1]
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Store"
    assert {m["Name"] for m in directive["Metrics"]} == {observability.AUTH_FAILURES}
    assert emf[observability.AUTH_FAILURES] == [1.0]


def test_a_request_without_metrics_prints_no_emf(client: Client, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    client.http.get("/health")
    assert not [d for d in _json_lines(capfd.readouterr().out) if "_aws" in d]


def test_record_refusal_counts_the_right_metric() -> None:
    observability.metrics.clear_metrics()
    observability.record_refusal("GET", "/orders", 403, "forbidden")
    observability.record_refusal("POST", "/orders", 409, "out_of_stock")
    observability.record_refusal("POST", "/products/{product_id}/stock", 409, "out_of_stock")
    observability.record_refusal("GET", "/products/{product_id}", 404, "not_found")
    observability.order_placed()
    recorded = {name: value["Value"] for name, value in observability.metrics.metric_set.items()}
    observability.metrics.clear_metrics()
    assert recorded == {observability.AUTHZ_FAILURES: [1.0], observability.OUT_OF_STOCK_REFUSALS: [1.0],
                        observability.ORDERS_PLACED: [1.0]}


def test_the_tracer_is_off_locally_and_patches_only_botocore() -> None:
    assert observability.tracer.disabled  # POWERTOOLS_TRACE_DISABLED is set for the tests
    source = Path(observability.__file__).read_text()
    assert 'patch_modules=("botocore",)' in source
