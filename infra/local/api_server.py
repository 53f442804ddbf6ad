"""``chalice local`` for the local stack: Chalice's own local server, built the way
``chalice local --no-autoreload`` builds it, plus the one gateway behaviour the deploy
configures and Chalice's local gateway lacks: an unknown path gets the contract's
404 JSON (API Gateway's MISSING_AUTHENTICATION_TOKEN response is mapped to that at
deploy) instead of a bare 403.

No autoreload: Chalice's reloader polls the whole tree (``.venv`` included) every
second and would restart the server in the middle of a test run.

Run: ``python -m infra.local.api_server --port 8000 --stage dev``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]


# Chalice's local gateway marks "no route for this path" with this error type, and then
# answers a bare 403 ("Missing Authentication Token"), or, when the request carries an
# Authorization header, API Gateway's SigV4 complaint with the whole header echoed.
_NO_ROUTE_ERROR_TYPE = "UnauthorizedException"


class ContractRequestHandler(ChaliceRequestHandler):
    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and (error.headers or {}).get("x-amzn-ErrorType") == _NO_ROUTE_ERROR_TYPE:
            # As the deployed API's MISSING_AUTHENTICATION_TOKEN gateway response: a 404, no token echoed.
            body = json.dumps({"error": {"code": "not_found", "message": "no such resource", "details": []}})
            self._send_http_response(404, {"Content-Type": "application/json", "Cache-Control": "no-store"}, body)
            return
        super()._send_error_response(error)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # A method no route serves (TRACE, CONNECT, made-up ones) would get http.server's
        # 501 HTML page: answer it as the app answers any method a path does not serve.
        if code == 501:
            body = json.dumps({"error": {"code": "method_not_allowed", "message": "this method is not allowed here",
                                         "details": []}})
            self._send_http_response(405, {"Content-Type": "application/json"}, body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("API_ACCESS_LOG", "1") != "0":
            super().log_message(format, *args)


class BackloggedHTTPServer(ThreadedHTTPServer):
    """Chalice's threaded server with a listen backlog fit for concurrent clients
    (socketserver's default of 5 resets connections under a burst of requests)."""

    request_queue_size = 256


def local_server(app_obj: Any, config: Any, host: str, port: int) -> LocalDevServer:
    """Chalice's local server with this module's handler and backlog (``chalice local`` uses it too)."""
    return LocalDevServer(app_obj, config, host, port, handler_cls=ContractRequestHandler,
                          server_cls=BackloggedHTTPServer)


def create_server(port: int, stage: str = "dev", host: str = "127.0.0.1") -> LocalDevServer:
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return local_server(config.chalice_app, config, host, port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="serve the Chalice app locally")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)
    server = create_server(args.port, args.stage)
    from catalog_lambda.settings import get_settings
    from infra.local.expiry import start_sweeper

    start_sweeper(server.app_object, get_settings().expiry_sweep_seconds)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
