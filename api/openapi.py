"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Paths, methods, who may call them, summaries, parameters and statuses come from the
routes' own declarations (:class:`api.http.Routes`, where the module docstring says
how to declare one); request bodies are the JSON Schemas of the strict request models
in :mod:`catalog_lambda.schemas`; responses are the models below, which describe what
the services return.

Imported only when ``GET /openapi.json`` is served: pydantic stays off the cold path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http import ADMIN, PUBLIC, RouteSpec
from catalog_lambda import schemas

OPENAPI_VERSION = "3.1.0"
BEARER = "bearerAuth"
COMPONENT_REF = "#/components/schemas/{model}"

# --- response models ------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


Timestamp = Annotated[str, Field(description="RFC 3339, UTC", json_schema_extra={"format": "date-time"})]


class Product(_Out):
    id: str
    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=schemas.SKU_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)]
    category: Annotated[str, Field(pattern=schemas.SLUG_PATTERN)]
    price_cents: Annotated[int, Field(ge=0, le=schemas.MAX_PRICE_CENTS)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    stock: Annotated[int, Field(ge=0)]
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp
    version: Annotated[int, Field(ge=1)]


class ProductPage(_Out):
    items: list[Product]
    next_cursor: str | None


class Category(_Out):
    slug: Annotated[str, Field(pattern=schemas.SLUG_PATTERN)]
    name: str
    product_count: Annotated[int, Field(ge=0)]


class CategoryList(_Out):
    items: list[Category]


class ImageUploadForm(_Out):
    url: str
    fields: dict[str, str]


class ImageUpload(_Out):
    upload: ImageUploadForm
    image_url: str


class StockLevel(_Out):
    stock: Annotated[int, Field(ge=0)]


class Health(_Out):
    status: Literal["ok"]
    version: str


class OrderLine(_Out):
    product_id: str
    name: str
    quantity: Annotated[int, Field(ge=1)]
    unit_price_cents: Annotated[int, Field(ge=0)]


class Address(_Out):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] | None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    region: Annotated[str, Field(max_length=100)] | None
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="an assigned ISO 3166-1 alpha-2 code")]


class ShipmentOut(_Out):
    carrier: str
    tracking_number: str


class Order(_Out):
    id: str
    customer_id: str
    email: str
    status: Literal["pending_payment", "paid", "shipped", "cancelled", "expired"]
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    subtotal_cents: Annotated[int, Field(ge=0)]
    shipping_cents: Annotated[int, Field(ge=0)]
    total_cents: Annotated[int, Field(ge=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    shipping_address: Address | None
    expires_at: Timestamp | None
    paid_at: Timestamp | None
    shipped_at: Timestamp | None
    shipment: ShipmentOut | None
    refunded_cents: Annotated[int, Field(ge=0)]
    created_at: Timestamp
    updated_at: Timestamp


class PaymentSession(_Out):
    url: Annotated[str, Field(description="the provider's hosted payment page")]
    session_id: str
    expires_at: Timestamp


class WebhookAck(_Out):
    received: Literal[True]
    outcome: str


class OrderPage(_Out):
    items: list[Order]
    next_cursor: str | None


class ErrorBody(_Out):
    code: str
    message: str
    details: list[Any]


class Error(_Out):
    """Every 4xx and 5xx answer."""

    error: ErrorBody


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Product, ProductPage, Category, CategoryList, StockLevel, Health, Order, OrderPage, PaymentSession, WebhookAck,
    Error, ImageUpload,
)
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    schemas.ProductCreate, schemas.ProductReplace, schemas.StockChange, schemas.OrderCreate, schemas.Shipment,
    schemas.ImageUploadRequest,
)

_STRING_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_MODELS: dict[str, type[BaseModel]] = {model.__name__: model for model in (*RESPONSE_MODELS, *REQUEST_MODELS)}

_REASONS = {
    400: "validation_error (or invalid_signature): the request is malformed or breaks the contract's limits",
    401: "unauthorized: no token, or a token that is not valid",
    403: "forbidden: the caller may not do this",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict, out_of_stock or too_many_pending_orders",
    412: "precondition_failed: the If-Match ETag is stale",
    413: "payload_too_large: the body is over 256 KiB",
    415: "unsupported_media_type: send application/json",
    402: "payment_declined: the payment provider refused",
    422: "idempotency_key_reused: the key was used with a different body",
    503: "unavailable: the database is busy; retry after Retry-After seconds",
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": dict(_STRING_ID)}
            for name in re.findall(r"{([^}]+)}", path)]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": COMPONENT_REF.format(model=model.__name__)}


def _operation(spec: RouteSpec) -> dict[str, Any]:
    doc = spec.doc
    error_ref = _json(_ref(Error))
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": doc.summary}
    if doc.response is not None:
        ok["content"] = _json(_ref(_MODELS[doc.response]))
    elif spec.path == "/openapi.json":
        ok["content"] = _json({"type": "object"})
    if doc.response_headers:
        ok["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                         for name, text in doc.response_headers.items()}
    responses[str(doc.ok)] = ok
    for status, text in doc.extra_responses.items():
        responses[str(status)] = {"description": text}
    statuses = set(doc.errors)
    if spec.access != PUBLIC:
        statuses.add(401)
    if spec.access == ADMIN:
        statuses.add(403)
    if doc.body is not None:
        statuses.add(400)
    for status in sorted(statuses):
        entry: dict[str, Any] = {"description": _REASONS.get(status, "error"), "content": error_ref}
        if status == 503:
            entry["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "Bearer challenge", "schema": {"type": "string"}}}
        responses[str(status)] = entry
    operation: dict[str, Any] = {
        "operationId": f"{spec.handler.__name__}",
        "summary": doc.summary,
        "parameters": _path_parameters(spec.path) + [dict(p) for p in doc.parameters],
        "responses": responses,
    }
    if doc.body is not None:
        operation["requestBody"] = {"required": True, "content": _json(_ref(_MODELS[doc.body]))}
    if spec.access != PUBLIC:
        operation["security"] = [{BEARER: []}]
    else:
        operation["security"] = []
    return operation


def _components() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in (*REQUEST_MODELS, *RESPONSE_MODELS):
        mode: Literal["validation", "serialization"] = "validation" if model in REQUEST_MODELS else "serialization"
        schema = model.model_json_schema(ref_template=COMPONENT_REF, mode=mode)
        for name, nested in schema.pop("$defs", {}).items():
            found.setdefault(name, nested)
        found[model.__name__] = schema
    return found


def build_document(routes: Iterable[RouteSpec], version: str = "0.1.0") -> dict[str, Any]:
    """The whole document for ``routes`` (:func:`api.route_table`), as a JSON-ready dict."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Store API",
            "version": version,
            "description": "JSON in and out; money in integer cents; strict types. Errors: "
                           '{"error": {"code", "message", "details"}}.',
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(_components().items())),
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                         "description": "a Cognito ID token; admins are members of the group 'admin'"},
            },
        },
    }
