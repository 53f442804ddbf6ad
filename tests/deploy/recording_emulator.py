"""Test tooling: the project's emulator (``infra.local.emulator``) plus a log of every call made to it.

``python tests/deploy/recording_emulator.py --port N --log FILE`` serves the linearizable
moto server on 127.0.0.1:N and appends one JSON line per request to FILE: the AWS
service (from the SigV4 credential scope), the operation (``X-Amz-Target``, the query
protocol's ``Action``, or method and path for REST-style services) and, for API Gateway
imports and puts, the document sent. The deploy tests read the log to show what a
deploy did and did not call (no CloudFormation writes, no CreateFunction ...).
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_DIR))
    from infra.local.emulator import make_emulator

    server = make_emulator(args.port)
    server.app = Recorder(server.app, args.log)
    print(f"emulator listening on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
