"""The HTTP layer: Chalice routes, auth, error mapping. ``create_app`` wires it all."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Chalice, Request, Response

APP_NAME = "store"


def create_app() -> Chalice:
    # Importing the route modules fills the route table.
    from api import catalog_routes, order_routes  # noqa: F401
    from api.errors import normalize_chalice_error
    from api.http import register
    from api.observability import correlation_id_for, logger

    app = Chalice(app_name=APP_NAME)
    app.api.cors = False  # one origin: CloudFront (AWS) or the storefront proxy (local)
    register(app)

    @app.middleware("http")
    def contract_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
        correlation_id = correlation_id_for(event)
        logger.set_correlation_id(correlation_id)
        response = normalize_chalice_error(get_response(event))
        response.headers["X-Correlation-Id"] = correlation_id
        return response

    return app


