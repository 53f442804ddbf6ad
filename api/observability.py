"""Observability with Powertools: structured JSON logs carrying a correlation id,
X-Ray tracing (active in AWS, off where ``POWERTOOLS_TRACE_DISABLED`` is set: the
local stack and the tests) and CloudWatch EMF metrics.

:func:`observe` runs each request: it takes the caller's ``X-Correlation-Id`` (or the
request id), puts it on every log line and on the X-Ray subsegment, logs one
structured access line, flushes the request's metrics as one EMF document and echoes
the id back in the response.

Metrics are emitted where their outcome is known: :func:`record_refusal` is called by
the route wrapper (``api/http.py``) for every mapped error, which counts
authentication and authorization failures and out-of-stock refusals of orders;
:func:`order_placed` is called by the order routes when a *new* order was created
(not on an idempotent replay).

Cold start: the Tracer patches botocore only. Patching every supported library (the
default) imports requests, httplib, sqlite3 and friends and costs about 20 ms more.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, Response

SERVICE = "store-api"
DEFAULT_NAMESPACE = "Store"

# Metric names (the dashboard and alarms refer to these).
ORDERS_PLACED = "OrdersPlaced"
OUT_OF_STOCK_REFUSALS = "OutOfStockRefusals"
AUTH_FAILURES = "AuthFailures"
AUTHZ_FAILURES = "AuthorizationFailures"
ORDERS_PAID = "OrdersPaid"
ORDERS_EXPIRED = "OrdersExpired"
PAYMENT_MISMATCHES = "PaymentMismatches"
REFUNDS = "Refunds"

CORRELATION_HEADER = "X-Correlation-Id"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
metrics = Metrics(service=SERVICE)
if not metrics.namespace:  # POWERTOOLS_METRICS_NAMESPACE wins when set
    metrics.namespace = DEFAULT_NAMESPACE

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_cold_start = True


def correlation_id_for(request: Request) -> str:
    """The caller's X-Correlation-Id when it is a sane token, else the request id, else a new one."""
    given = request.headers.get("x-correlation-id")
    if given and _SAFE_ID.match(given):
        return str(given)
    request_id = (request.context or {}).get("requestId")
    return str(request_id) if request_id else uuid.uuid4().hex


# -- metrics ------------------------------------------------------------------------------


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def order_placed() -> None:
    """A new order was stored (call once per order, not on an idempotent replay)."""
    count(ORDERS_PLACED)


def orders_expired(number: int) -> None:
    count(ORDERS_EXPIRED, number)


def refunds_made(number: int = 1) -> None:
    count(REFUNDS, number)


def count_payment_outcome(outcome: str, refunded_cents: int) -> None:
    """Metrics for one webhook delivery, from what the order service says it did."""
    from catalog_lambda.orders import OUTCOME_MISMATCH, OUTCOME_PAID

    if outcome == OUTCOME_PAID:
        count(ORDERS_PAID)
    elif outcome == OUTCOME_MISMATCH:
        count(PAYMENT_MISMATCHES)
    if refunded_cents:
        refunds_made()


def out_of_stock_refused() -> None:
    count(OUT_OF_STOCK_REFUSALS)


def record_refusal(method: str, path: str, status: int, code: str | None) -> None:
    """Count the refusals the issue asks for; called for every error a route answers."""
    if status == 401:
        count(AUTH_FAILURES)
    elif status == 403:
        count(AUTHZ_FAILURES)
    elif code == "out_of_stock" and method == "POST" and path == "/orders":
        out_of_stock_refused()


def flush_metrics() -> None:
    """Print the request's metrics as one EMF document (nothing when none were added)."""
    if metrics.metric_set:
        metrics.flush_metrics()


# -- per request ----------------------------------------------------------------------------


@contextmanager
def _subsegment(name: str) -> Iterator[Any]:
    if tracer.disabled:
        yield None
        return
    with tracer.provider.in_subsegment(name) as subsegment:
        yield subsegment


def observe(request: Request, call: Callable[[Request], Response]) -> Response:
    """Serve one request with its correlation id on logs, trace and response."""
    global _cold_start
    correlation_id = correlation_id_for(request)
    logger.set_correlation_id(correlation_id)
    cold, _cold_start = _cold_start, False
    started = time.perf_counter()
    resource = str((request.context or {}).get("resourcePath") or request.path)
    with _subsegment(f"## {request.method} {resource}") as subsegment:
        if subsegment is not None:
            subsegment.put_annotation("correlation_id", correlation_id)
            subsegment.put_annotation("cold_start", cold)
        try:
            response = call(request)
        finally:
            flush_metrics()
        if subsegment is not None:
            subsegment.put_annotation("status", response.status_code)
    logger.info(
        "request",
        extra={
            "method": request.method,
            "resource": resource,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "cold_start": cold,
        },
    )
    response.headers[CORRELATION_HEADER] = correlation_id
    return response
