"""Test tooling: the project's emulator (``infra.local.emulator``) plus a log of every call made to it.

``python tests/deploy/recording_emulator.py --port N --log FILE`` serves the linearizable
moto server on 127.0.0.1:N and appends one JSON line per request to FILE: the AWS
service (from the SigV4 credential scope), the operation (``X-Amz-Target``, the query
protocol's ``Action``, or method and path for REST-style services) and, for API Gateway
imports and puts, the document sent. The deploy tests read the log to show what a
deploy did and did not call, and which IAM actions those calls need.

It also fills a gap of moto (5.2.5), so that the literal ``chalice deploy`` runs against
it unchanged (:func:`install_api_definition_adapter`). Real API Gateway takes Chalice's
Swagger 2.0 document as it is; moto's ImportRestApi / PutRestApi

* refuse anything but OpenAPI 3 ("Only OpenAPI 3.x.x are currently supported"), and
  answer HTTP 500 when ``info.description`` is missing, which Chalice never sends;
* ignore the document's authorizers (``securityDefinitions`` with
  ``x-amazon-apigateway-authorizer``) and each method's ``security``;
* ignore ``x-amazon-apigateway-gateway-responses``.

The adapter hands moto the document with only its version key and a description
changed, then creates the Cognito authorizers and attaches them to the secured methods,
and puts the gateway responses (after dropping the old ones in ``overwrite`` mode), as
API Gateway does. So ``GetAuthorizers``, ``GetMethod`` and ``GetGatewayResponses`` show
what the deploy defined.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

PROJECT_DIR = Path(__file__).resolve().parents[2]
_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request")
_BODY_KEPT = 200_000


def describe(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    query = environ.get("QUERY_STRING", "")
    entry: dict[str, Any] = {
        "service": scope.group(1) if scope else "",
        "method": environ.get("REQUEST_METHOD", ""),
        "path": environ.get("PATH_INFO", ""),
        "query": query,
        "action": "",
    }
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        entry["action"] = target.rsplit(".", 1)[-1]
    else:
        params = parse_qs(query)
        if "Action" not in params and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            params = parse_qs(body.decode(errors="replace"))
        if "Action" in params:
            entry["action"] = params["Action"][0]
    if entry["service"] == "apigateway" and entry["method"] in ("POST", "PUT") and body:
        entry["body"] = body[:_BODY_KEPT].decode(errors="replace")
    return entry


class Recorder:
    """WSGI middleware: log the request, then hand it on with its body intact."""

    def __init__(self, app: Callable[..., Iterable[bytes]], log: Path) -> None:
        self._app = app
        self._log = log
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        line = json.dumps(describe(environ, body))
        with self._lock, self._log.open("a") as handle:
            handle.write(line + "\n")
        return self._app(environ, start_response)


AUTHORIZER_KEY = "x-amazon-apigateway-authorizer"
GATEWAY_RESPONSES_KEY = "x-amazon-apigateway-gateway-responses"
MOTO_DESCRIPTION = "imported by chalice (description added by tests/deploy/recording_emulator.py)"


def as_openapi3(document: dict[str, Any]) -> dict[str, Any]:
    """The same document under the version key moto accepts, with the description moto reads."""
    adapted = {k: v for k, v in document.items() if k != "swagger"}
    adapted["openapi"] = "3.0.1"
    adapted["info"] = {"description": MOTO_DESCRIPTION, **document.get("info", {})}
    return adapted


def apply_definition_extensions(backend: Any, api_id: str, document: dict[str, Any], mode: str) -> None:
    api = backend.get_rest_api(api_id)
    authorizer_ids: dict[str, str] = {}
    existing = {a.name: a.id for a in api.authorizers.values()}
    for name, definition in (document.get("securityDefinitions") or {}).items():
        authorizer = definition.get(AUTHORIZER_KEY) or {}
        if authorizer.get("type") != "cognito_user_pools":
            continue
        if name not in existing:
            created = backend.create_authorizer(
                api_id, name, "COGNITO_USER_POOLS", provider_arns=authorizer.get("providerARNs"),
                identity_source=f"method.request.header.{definition.get('name', 'Authorization')}")
            existing[name] = created.id
        else:
            api.authorizers[existing[name]].provider_arns = authorizer.get("providerARNs")
        authorizer_ids[name] = existing[name]
    for path, item in (document.get("paths") or {}).items():
        resource = api.get_resource_for_path(path)
        for method, operation in item.items():
            if not isinstance(operation, dict) or resource is None:
                continue
            names = [name for requirement in operation.get("security") or [] for name in requirement]
            secured = [authorizer_ids[name] for name in names if name in authorizer_ids]
            if secured:
                target = resource.resource_methods[method.upper()]
                target.authorization_type = "COGNITO_USER_POOLS"
                target.authorizer_id = secured[0]
    if mode == "overwrite":
        api.gateway_responses.clear()
    for response_type, response in (document.get(GATEWAY_RESPONSES_KEY) or {}).items():
        backend.put_gateway_response(api_id, response_type, response.get("statusCode"),
                                     response.get("responseParameters"), response.get("responseTemplates"))


def install_api_definition_adapter() -> None:
    """Patch moto's API Gateway backend as the module docstring says (this process only)."""
    from moto.apigateway.models import APIGatewayBackend

    original_put = APIGatewayBackend.put_rest_api

    def put_rest_api(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                     mode: str = "merge") -> Any:
        api = original_put(self, function_id, as_openapi3(api_doc), fail_on_warnings, mode)
        apply_definition_extensions(self, function_id, api_doc, mode)
        return api

    original_import = APIGatewayBackend.import_rest_api

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        # moto's import reads the description, then calls put_rest_api (patched above).
        return original_import(self, {**api_doc, "info": as_openapi3(api_doc)["info"]}, fail_on_warnings)

    APIGatewayBackend.put_rest_api = put_rest_api
    APIGatewayBackend.import_rest_api = import_rest_api


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_DIR))
    from infra.local.emulator import make_emulator

    install_api_definition_adapter()
    server = make_emulator(args.port)
    server.app = Recorder(server.app, args.log)
    print(f"emulator listening on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
