"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

Paths, methods and who may call them come from :data:`api.http.ROUTES`; request
bodies are the JSON Schemas of the strict request models in
:mod:`catalog_lambda.schemas`; responses are the models below, which describe what
the services return. :data:`OPERATIONS` adds what a route table cannot know
(summary, query and header parameters, statuses). A route without an entry still
appears, with a generic description, and ``tests/integration/test_openapi.py`` fails
until it is documented, so the document cannot drift from the routes.

Imported only when ``GET /openapi.json`` is served: pydantic stays off the cold path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http import ADMIN, PUBLIC, ROUTES, RouteSpec
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

# --- what the route table cannot say ----------------------------------------------------------

_OPTIONAL_SLUG = r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$"
_STRING_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_LIMIT = {"name": "limit", "in": "query", "required": False, "description": "page size, 1 to 100 (default 20)",
          "schema": {"type": "integer", "minimum": 1, "maximum": 100}}
_CURSOR = {"name": "cursor", "in": "query", "required": False,
           "description": "opaque: the next_cursor of the previous page, with the same other parameters",
           "schema": {"type": "string", "maxLength": 2048}}


def _header(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


@dataclass(frozen=True)
class Operation:
    summary: str
    ok: int = 200
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    parameters: tuple[dict[str, Any], ...] = ()
    response_headers: dict[str, str] = field(default_factory=dict)
    extra_responses: dict[int, str] = field(default_factory=dict)


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/health"): Operation("Liveness and version", response=Health),
    ("GET", "/openapi.json"): Operation("This document"),
    ("GET", "/products"): Operation(
        "List or search products, ordered by name", response=ProductPage, errors=(400, 503),
        parameters=(
            {"name": "category", "in": "query", "required": False,
             "description": "a category slug (empty: every category)",
             "schema": {"type": "string", "maxLength": 64, "pattern": _OPTIONAL_SLUG}},
            {"name": "q", "in": "query", "required": False,
             "description": "words; each must prefix-match a word of the name (case-insensitive)",
             "schema": {"type": "string", "maxLength": 200}},
            _LIMIT, _CURSOR,
        ),
    ),
    ("GET", "/products/{product_id}"): Operation(
        "Get a product", response=Product, errors=(404, 503),
        parameters=(_header("If-None-Match", "an ETag from an earlier answer: 304 when unchanged"),),
        response_headers={"ETag": "changes whenever the representation changes"},
        extra_responses={304: "Not modified: the If-None-Match ETag is current"},
    ),
    ("POST", "/products"): Operation(
        "Create a product (admin)", ok=201, response=Product, body=schemas.ProductCreate,
        errors=(400, 409, 413, 415, 503),
        response_headers={"ETag": "the new representation's ETag", "Location": "the product's URL"},
    ),
    ("PUT", "/products/{product_id}"): Operation(
        "Replace a product's editable fields (admin)", response=Product, body=schemas.ProductReplace,
        errors=(400, 404, 409, 412, 413, 415, 503),
        parameters=(_header("If-Match", "the ETag the edit is based on: 412 if another edit happened since"),),
        response_headers={"ETag": "the new representation's ETag"},
    ),
    ("DELETE", "/products/{product_id}"): Operation(
        "Delete a product (admin)", ok=204, errors=(404, 409, 503),
    ),
    ("POST", "/products/{product_id}/stock"): Operation(
        "Change a product's stock by a delta or to a value (admin)", response=StockLevel,
        body=schemas.StockChange, errors=(400, 404, 409, 413, 415, 503),
    ),
    ("POST", "/products/{product_id}/image"): Operation(
        "Sign an image upload (JPEG, PNG or WebP, at most 5 MB) for a product; it shows the image from now on "
        "(admin)", response=ImageUpload, body=schemas.ImageUploadRequest, errors=(400, 404, 413, 415, 503),
    ),
    ("GET", "/categories"): Operation("List categories with exact product counts", response=CategoryList,
                                      errors=(503,)),
    ("POST", "/orders"): Operation(
        "Place an order awaiting payment: every line reserves stock until expires_at, or none does",
        ok=201, response=Order, body=schemas.OrderCreate, errors=(400, 404, 409, 413, 415, 422, 503),
        parameters=(_header("Idempotency-Key", "retries with the same key place the order once", required=True,
                            minLength=1, maxLength=128, pattern=r"^[A-Za-z0-9_.:-]+$"),),
        response_headers={"Location": "the order's URL"},
    ),
    ("GET", "/orders"): Operation(
        "List the caller's orders (or, for an admin with scope=all, everyone's, optionally in one status), "
        "newest first",
        response=OrderPage, errors=(400, 503),
        parameters=(
            {"name": "scope", "in": "query", "required": False, "schema": {"type": "string", "enum": ["mine", "all"]},
             "description": "'all' lists every customer's orders (admin only)"},
            {"name": "status", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["pending_payment", "paid", "shipped", "cancelled", "expired"]},
             "description": "only orders in this status (with scope=all)"},
            _LIMIT, _CURSOR,
        ),
    ),
    ("GET", "/orders/{order_id}"): Operation("Get one of the caller's orders", response=Order, errors=(404, 503)),
    ("POST", "/orders/{order_id}/pay"): Operation(
        "Open (or reopen) the provider's hosted payment page for this order's total", response=PaymentSession,
        errors=(402, 404, 409, 503),
    ),
    ("POST", "/orders/{order_id}/cancel"): Operation(
        "Cancel an order awaiting payment, or a paid one with a full refund; its stock is returned exactly once",
        response=Order, errors=(404, 409, 503),
    ),
    ("POST", "/orders/{order_id}/ship"): Operation(
        "Ship a paid order with its carrier and tracking number (admin)", response=Order, body=schemas.Shipment,
        errors=(400, 404, 409, 413, 415, 503),
    ),
    ("POST", "/payments/webhook"): Operation(
        "The payment provider's events (Stripe's format); a replayed event changes nothing",
        response=WebhookAck, errors=(400, 413, 415, 503),
        parameters=(_header("Stripe-Signature", "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>",
                            required=True),),
    ),
}

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
    doc = OPERATIONS.get((spec.method, spec.path)) or Operation(f"{spec.method} {spec.path} (undocumented)")
    error_ref = _json(_ref(Error))
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": doc.summary}
    if doc.response is not None:
        ok["content"] = _json(_ref(doc.response))
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
    if spec.access == ADMIN or (spec.method, spec.path) == ("GET", "/orders"):
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
        operation["requestBody"] = {"required": True, "content": _json(_ref(doc.body))}
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


def build_document(routes: list[RouteSpec] | None = None, version: str = "0.1.0") -> dict[str, Any]:
    """The whole document, as a JSON-ready dict."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes if routes is not None else ROUTES:
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
