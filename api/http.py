"""Route registration and the request plumbing every route shares.

Routes are declared with :func:`route` into a table; :func:`register` puts them on
the Chalice app, wrapping each view so that, in the contract's order, the body size
is checked, the caller is authenticated (401) and authorized (403), the handler runs,
and any error becomes the contract's JSON. Methods a path does not serve get an
explicit 405 view, so API Gateway answers them with the app's 405 too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from chalice.app import Chalice, Request, Response

from api.auth import Principal, authenticate, forbidden, route_authorizer
from api.errors import JSON_HEADERS, ApiError, error_response, internal_error, response_for
from api.observability import logger, record_refusal
from catalog_lambda.errors import ValidationError
from catalog_lambda.settings import get_settings

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


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    access: str
    handler: Handler


ROUTES: list[RouteSpec] = []


def route(path: str, method: str, access: str = PUBLIC) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(path, method, access, handler))
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


def register(app: Chalice) -> None:
    authorizer = route_authorizer()
    by_path: dict[str, list[RouteSpec]] = {}
    for spec in ROUTES:
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
