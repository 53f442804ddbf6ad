"""The HTTP layer: Chalice routes, auth, error mapping. ``create_app`` wires it all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, Request, Response

if TYPE_CHECKING:
    from api.http import RouteSpec
    from catalog_lambda.settings import Settings

APP_NAME = "store"


class StoreApp(Chalice):
    """Chalice, with the current request kept per thread.

    Chalice stores the request being served in one attribute of the app. In Lambda an
    execution environment serves one request at a time, but ``chalice local`` serves
    each connection on its own thread, so concurrent requests could read each other's
    request (headers, body, token). Keeping it thread-local makes local runs behave
    like many Lambda environments side by side, and changes nothing in Lambda.
    """

    def __init__(self, app_name: str) -> None:
        self._per_thread = threading.local()
        super().__init__(app_name=app_name)

    @property  # type: ignore[override]
    def current_request(self) -> Request | None:
        request: Request | None = getattr(self._per_thread, "request", None)
        return request

    @current_request.setter
    def current_request(self, value: Request | None) -> None:
        self._per_thread.request = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return getattr(self._per_thread, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._per_thread.lambda_context = value


def route_table() -> list[RouteSpec]:
    """Every route of the API: each route module's group (see :mod:`api.http`)."""
    from api import catalog_routes, image_routes, openapi_routes, order_routes, payment_routes

    groups = (catalog_routes.routes, image_routes.routes, order_routes.routes, payment_routes.routes,
              openapi_routes.routes)
    return [spec for group in groups for spec in group]


def create_app(settings: Settings | None = None) -> Chalice:
    """The app, configured once from ``settings`` (default: the process's, from its environment)."""
    from api.errors import normalize_chalice_error
    from api.http import register
    from api.import_events import register_import_trigger
    from api.observability import observe
    from catalog_lambda.settings import get_settings

    settings = settings or get_settings()
    app = StoreApp(app_name=APP_NAME)
    app.api.cors = False  # one origin: CloudFront (AWS) or the storefront proxy (local)
    register(app, route_table(), settings)
    register_import_trigger(app, settings)
    from api.order_events import register_expiry_schedule

    register_expiry_schedule(app)

    @app.middleware("http")
    def contract_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
        return observe(event, lambda request: normalize_chalice_error(get_response(request)))

    # Inside contract_errors (registered later), so refusals are logged like any answer.
    from api.origin import refuse_direct_requests

    app.register_middleware(refuse_direct_requests(settings), "http")

    return app


