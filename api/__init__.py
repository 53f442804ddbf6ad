"""The HTTP layer: Chalice routes, auth, error mapping. ``create_app`` wires it all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

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


def create_app() -> Chalice:
    # Importing the route modules fills the route table.
    from api import catalog_routes, image_routes, openapi_routes, order_routes, payment_routes  # noqa: F401
    from api.errors import normalize_chalice_error
    from api.http import register
    from api.observability import observe

    app = StoreApp(app_name=APP_NAME)
    app.api.cors = False  # one origin: CloudFront (AWS) or the storefront proxy (local)
    register(app)
    from api.import_events import register_import_trigger
    from catalog_lambda.settings import Settings

    register_import_trigger(app, Settings.from_env())  # uncached: requests read settings later
    from api.order_events import register_expiry_schedule

    register_expiry_schedule(app)

    @app.middleware("http")
    def contract_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
        return observe(event, lambda request: normalize_chalice_error(get_response(request)))

    # Inside contract_errors (registered later), so refusals are logged like any answer.
    from api.origin import refuse_direct_requests

    app.register_middleware(refuse_direct_requests(Settings.from_env()), "http")

    return app


