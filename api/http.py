"""Declaring routes, and the request plumbing every route shares.

How to declare a route: each route module has one :class:`Routes` group and declares
every route of its own once, with its OpenAPI entry beside it::

    routes = Routes()

    @routes.route("/products/{product_id}", "GET", summary="Get a product", response="Product",
                  errors=(404, 503), parameters=(header("If-None-Match", "an ETag from an earlier answer"),))
    def get_product(ctx: Ctx) -> Response:
        ...

- ``access`` is :data:`PUBLIC` (default), :data:`USER` (any signed-in caller: 401 without
  a valid token) or :data:`ADMIN` (also 403 unless in the group ``admin``);
- ``response`` and ``body`` name pydantic models: a response model of
  :mod:`api.openapi`, a request model of :mod:`catalog_lambda.schemas` (names, so that
  declaring a route imports no pydantic; the document is built on first request);
- ``errors`` are the 4xx/5xx statuses it can answer besides 401/403 (implied by
  ``access``) and 400 (implied by ``body``);
- ``parameters`` are its query and header parameters (:func:`query`, :func:`header`,
  :data:`LIMIT`, :data:`CURSOR`); path parameters come from the path. A query
  parameter that is not declared, or an empty value of an integer or enum one, is
  refused with 400 ``validation_error`` before the handler runs.

``create_app`` (``api/__init__.py``) collects the groups of every route module
(:func:`api.route_table`) and :func:`register` puts them on the Chalice app, wrapping
each view so that, in the contract's order, the query and body are checked, the
caller is authenticated (401) and authorized (403), the handler runs, and any error
becomes the contract's JSON. Methods a path does not serve get an explicit 405 view,
so API Gateway answers them with the app's 405 too. :mod:`api.openapi` builds
``/openapi.json`` from the same table, so a route and its documentation cannot part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from chalice.app import Chalice, Request, Response

from api.auth import Principal, authenticate, forbidden, route_authorizer
from api.errors import JSON_HEADERS, ApiError, error_response, internal_error, response_for
from api.observability import logger, record_refusal
from catalog_lambda.errors import ValidationError
from catalog_lambda.settings import Settings, get_settings

MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
PUBLIC, USER, ADMIN = "public", "user", "admin"


@dataclass(frozen=True)
class Ctx:
    """What a handler gets: the request, the caller (None on public routes), path params."""

    request: Request
    principal: Principal | None
    params: dict[str, str]

    def header(self, name: str) -> str | None:
        value = self.request.headers.get(name.lower())
        return None if value is None else str(value)

    def query(self, name: str) -> str | None:
        params: dict[str, Any] = dict(self.request.query_params or {})
        value = params.get(name)
        return None if value is None else str(value)

    def json(self) -> Any:
        raw = self.request.raw_body or b""
        return parse_json_body(raw.encode("utf-8") if isinstance(raw, str) else raw)

    @property
    def user(self) -> Principal:
        assert self.principal is not None
        return self.principal


Handler = Callable[[Ctx], Response]


def query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    """An optional query parameter of a route (its JSON Schema as keywords)."""
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def header(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    """A string header parameter of a route."""
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


LIMIT = query("limit", "page size, 1 to 100 (default 20)", type="integer", minimum=1, maximum=100)
CURSOR = query("cursor", "opaque: the next_cursor of the previous page, with the same other parameters",
               type="string", maxLength=2048)


@dataclass(frozen=True)
class Doc:
    """A route's OpenAPI entry (see the module docstring)."""

    summary: str
    ok: int = 200
    response: str | None = None
    body: str | None = None
    errors: tuple[int, ...] = ()
    parameters: tuple[dict[str, Any], ...] = ()
    response_headers: Mapping[str, str] = field(default_factory=dict)
    extra_responses: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    access: str
    handler: Handler
    doc: Doc


class Routes:
    """One module's routes, each declared once with its OpenAPI entry (:meth:`route`)."""

    def __init__(self) -> None:
        self._specs: list[RouteSpec] = []

    def __iter__(self) -> Iterator[RouteSpec]:
        return iter(self._specs)

    def route(self, path: str, method: str, access: str = PUBLIC, *, summary: str, ok: int = 200,
              response: str | None = None, body: str | None = None, errors: tuple[int, ...] = (),
              parameters: tuple[dict[str, Any], ...] = (), response_headers: Mapping[str, str] | None = None,
              extra_responses: Mapping[int, str] | None = None) -> Callable[[Handler], Handler]:
        doc = Doc(summary, ok, response, body, errors, parameters, dict(response_headers or {}),
                  dict(extra_responses or {}))

        def decorator(handler: Handler) -> Handler:
            self._specs.append(RouteSpec(path, method, access, handler, doc))
            return handler

        return decorator


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise ValidationError("a JSON body is required", [{"field": "", "issue": "empty body"}])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the body is not valid UTF-8", [{"field": "", "issue": "invalid UTF-8"}]) from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValidationError("the JSON body is nested too deeply", [{"field": "", "issue": "too deep"}]) from None
    except ValueError as error:
        raise ValidationError("the body is not valid JSON", [{"field": "", "issue": str(error)[:200]}]) from None
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValidationError("the JSON body is nested too deeply", [{"field": "", "issue": "too deep"}])
    return body


def _check_body(request: Request) -> None:
    _check_size(request)
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if request.raw_body and not (content_type == "application/json" or content_type.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")


def _check_query(request: Request, doc: Doc) -> None:
    """Refuse query parameters the route does not declare, and empty values where the
    declared schema (an integer, an enum) has no empty value; the services check the rest."""
    given: dict[str, Any] = dict(request.query_params or {})
    declared = {p["name"]: p["schema"] for p in doc.parameters if p["in"] == "query"}
    details = [{"field": name, "issue": "not a parameter of this route"} for name in sorted(given)
               if name not in declared]
    details += [{"field": name, "issue": "empty"} for name, value in sorted(given.items())
                if value == "" and name in declared
                and (declared[name].get("type") == "integer" or "" not in declared[name].get("enum", [""]))]
    if details:
        raise ValidationError("the query has parameters this route does not take, or empty values",
                              details[:10])


def _check_size(request: Request) -> None:
    declared = request.headers.get("content-length")
    size = len(request.raw_body or b"")
    if declared is not None and declared.isdigit():
        size = max(size, int(declared))
    if size > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")


def _wrap(app: Chalice, spec: RouteSpec) -> Callable[..., Response]:
    @wraps(spec.handler)
    def view(**params: str) -> Response:
        request = app.current_request
        assert request is not None
        try:
            principal = None
            if spec.access != PUBLIC:
                principal = authenticate(request.headers, request.context, get_settings())
                if spec.access == ADMIN and not principal.is_admin:
                    raise forbidden("this needs a member of the 'admin' group")
            _check_query(request, spec.doc)
            _check_body(request)
            return spec.handler(Ctx(request, principal, params))
        except Exception as error:  # one mapping for every route
            mapped = response_for(error)
            if mapped is not None:
                record_refusal(spec.method, spec.path, mapped.status_code, getattr(error, "code", None))
                return mapped
            logger.exception("unhandled error on %s %s", spec.method, spec.path)
            return internal_error()

    view.__name__ = f"{spec.handler.__name__}_{spec.method.lower()}"
    return view


def _method_not_allowed(allowed: list[str]) -> Callable[..., Response]:
    def view(**_params: str) -> Response:
        return error_response(405, "method_not_allowed", "this method is not allowed here",
                              headers={"Allow": ", ".join(sorted(allowed))})

    return view


def register(app: Chalice, routes: Sequence[RouteSpec], settings: Settings) -> None:
    """Put ``routes`` on ``app``: each wrapped as the module docstring says, plus 405 views."""
    authorizer = route_authorizer(settings)
    by_path: dict[str, list[RouteSpec]] = {}
    for spec in routes:
        by_path.setdefault(spec.path, []).append(spec)
    for path, specs in by_path.items():
        for spec in specs:
            # Accept any media type here so the view can answer in the contract's order
            # (401/403 before 415); _check_body refuses non-JSON bodies itself.
            kwargs: dict[str, Any] = {"methods": [spec.method], "content_types": ["*/*"]}
            if spec.access != PUBLIC and authorizer is not None:
                kwargs["authorizer"] = authorizer
            app.route(path, name=f"{spec.handler.__name__}_{spec.method.lower()}", **kwargs)(_wrap(app, spec))
        served = [s.method for s in specs]
        others = [m for m in HTTP_METHODS if m not in served]
        if others:
            view = _method_not_allowed(served)
            slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            view.__name__ = f"not_allowed_{slug}"
            app.route(path, methods=others, name=view.__name__, content_types=["*/*"])(view)
