"""The storefront port of the local stack: one origin, routed the way CloudFront routes it.

- ``/api/*``  -> the API, with the ``/api`` prefix removed (in AWS the API Gateway
  stage is named ``api``, so CloudFront's ``/api/products`` reaches route ``/products``);
- ``/p/*`` and ``/sitemap.xml`` -> the container service;
- ``/cognito/`` (POST) -> the emulator's Cognito endpoint, only for the unsigned calls a
  browser makes (sign up, confirm, sign in, refresh), so the browser stays same-origin.
  The emulator picks the service from ``Authorization`` or the target, so a request with
  any header repeated is refused, and only the checked ``X-Amz-Target`` and
  ``Content-Type`` are forwarded (never ``Authorization``);
- ``/img/*`` (GET) and ``/img-upload`` (POST) -> product images in the emulator's S3
  (``infra.local.image_origin``: it enforces the upload policy S3 would);
- ``/config.json`` -> the storefront's settings for this stack, generated (never a
  file in the source tree, so a test stack and ``make dev`` never clash);
- anything else -> a file under ``site/static``.

Method, headers (less hop-by-hop ones), body and status pass through; upstream calls
have bounded timeouts, and an unreachable upstream is a 502 in the contract's shape.

Run: ``python -m infra.local.site_proxy --port 8080`` with ``API_URL``, ``SERVER_URL``,
``AWS_ENDPOINT_URL``, ``COGNITO_USER_POOL_ID`` and ``COGNITO_CLIENT_ID`` in the
environment (the local stack passes them), or the matching flags.
"""

from __future__ import annotations

import argparse
import http.client
import json
import mimetypes
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local import payment_page
from infra.local.image_origin import MAX_FORM_BYTES, ImageOrigin

PROJECT_DIR = Path(__file__).resolve().parents[2]
STATIC_DIR = PROJECT_DIR / "site" / "static"
UPSTREAM_TIMEOUT_SECONDS = 30.0
# Where the proxy finds the API and the container service (the local stack sets both).
ENV_API_URL = "API_URL"
ENV_SERVER_URL = "SERVER_URL"
MAX_BODY_BYTES = 10 * 1024 * 1024
COGNITO_PATH = "/cognito/"
# The Cognito operations a browser may call without AWS credentials; nothing else of
# the emulator (admin calls, DynamoDB, ...) is reachable through the storefront port.
COGNITO_PUBLIC_TARGETS = frozenset(
    f"AWSCognitoIdentityProviderService.{op}"
    for op in ("InitiateAuth", "RespondToAuthChallenge", "SignUp", "ConfirmSignUp", "ResendConfirmationCode",
               "GetUser", "GlobalSignOut", "RevokeToken", "ForgotPassword", "ConfirmForgotPassword",
               "ChangePassword")
)
COGNITO_CONTENT_TYPE = "application/x-amz-json-1.1"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                        "transfer-encoding", "upgrade", "proxy-connection"})
# The production Content-Security-Policy (infra/stacks/edge.py), with connect-src
# 'self' since Cognito is same-origin here: the storefront runs under the same rules
# locally (no inline scripts or styles), and the browser tests see any violation.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "img-src 'self' https: data:", "style-src 'self'", "script-src 'self'",
    "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'",
])
TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
         ".ico": "image/x-icon", ".webmanifest": "application/manifest+json"}


@dataclass(frozen=True)
class ProxyConfig:
    api_url: str
    server_url: str
    cognito_url: str
    region: str
    user_pool_id: str
    client_id: str
    static_dir: Path = STATIC_DIR
    images_bucket: str = ""

    def storefront_config(self) -> dict[str, str]:
        """What ``/config.json`` says: the same keys the deploy writes per stage."""
        return {
            "apiBaseUrl": "/api",
            "cognitoEndpoint": COGNITO_PATH,
            "region": self.region,
            "userPoolId": self.user_pool_id,
            "clientId": self.client_id,
        }


def cognito_headers(received: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, str]:
    """The headers a ``/cognito/`` call forwards, or ``None`` and why it is refused.

    The emulator serves every AWS service on one port and picks the service from the
    ``Authorization`` header's credential scope or from the target. So no header may
    appear twice (one target checked, another forwarded), the target must be a public
    Cognito operation, and nothing but that target and the content type is forwarded.
    """
    items = list(received)
    names = [name.lower() for name, _value in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return None, f"repeated header(s): {', '.join(repeated)}"
    values = {name.lower(): value for name, value in items}
    target = values.get("x-amz-target", "")
    if target not in COGNITO_PUBLIC_TARGETS:
        return None, "only the public Cognito operations are served here"
    if values.get("content-type", "").split(";")[0].strip().lower() != COGNITO_CONTENT_TYPE:
        return None, f"Content-Type must be {COGNITO_CONTENT_TYPE}"
    return {"X-Amz-Target": target, "Content-Type": COGNITO_CONTENT_TYPE}, ""


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"upstream must be an http:// URL, got {url!r}")
    return parts.hostname, parts.port or 80


class SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "store-site"
    config: ProxyConfig  # set on the subclass that make_server builds
    images: ImageOrigin | None = None  # likewise, when the stack has an images bucket

    # -- dispatch ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        query = urlsplit(self.path).query
        if path == "/api" or path.startswith("/api/"):
            upstream_path = path[len("/api"):] or "/"
            self._forward(self.config.api_url, upstream_path + (f"?{query}" if query else ""), api=True)
        elif path.startswith("/p/") or path == "/sitemap.xml":
            self._forward(self.config.server_url, self.path, api=False)
        elif path == COGNITO_PATH:
            self._cognito()
        elif path in (payment_page.PAGE_PATH, payment_page.COMPLETE_PATH):
            self._payment_page(path, query)
        elif path == "/config.json":
            self._send(200, json.dumps(self.config.storefront_config()).encode(),
                       {"Content-Type": "application/json", "Cache-Control": "no-cache"})
        elif self.images is not None and self.images.handles(path):
            self._image(path)
        elif self.command in ("GET", "HEAD"):
            self._static(path)
        else:
            self._send(405, b"method not allowed\n", {"Content-Type": "text/plain", "Allow": "GET, HEAD"})

    # -- the local payment provider's page (infra/local/payment_page.py) ---------------

    def _payment_page(self, path: str, query: str) -> None:
        html_type = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                     "Content-Security-Policy": CONTENT_SECURITY_POLICY}
        host = self.headers.get("Host", "")
        if path == payment_page.PAGE_PATH and self.command in ("GET", "HEAD"):
            values = {k: v[0] for k, v in parse_qs(query).items() if v}
            status, body = payment_page.render(values, host)
            self._send(status, body, html_type)
        elif path == payment_page.COMPLETE_PATH and self.command == "POST":
            form = self._read_body()
            if form is None:
                self._send(413, b"payload too large\n", {"Content-Type": "text/plain"})
                return
            status, headers, body = payment_page.complete(form, host, self.config.api_url)
            self._send(status, body, {**html_type, **headers})
        else:
            allowed = "GET, HEAD" if path == payment_page.PAGE_PATH else "POST"
            self._send(405, b"method not allowed\n", {"Content-Type": "text/plain", "Allow": allowed})

    def _image(self, path: str) -> None:
        assert self.images is not None
        body = self._read_body(limit=MAX_FORM_BYTES) if self.command == "POST" else b""
        if body is None:
            self._send(413, b"the upload is too large\n", {"Content-Type": "text/plain"})
            self.close_connection = True
            return
        status, payload, headers = self.images.answer(self.command, path, self.headers.get("Content-Type", ""), body)
        self._send(status, payload, {**headers, "Content-Security-Policy": CONTENT_SECURITY_POLICY})

    # -- static files ------------------------------------------------------------------

    def _static(self, path: str) -> None:
        root = self.config.static_dir.resolve()
        relative = unquote(path).lstrip("/")
        if "\x00" in relative:  # no file name holds a NUL (and pathlib raises on one)
            self._not_found()
            return
        try:
            target = (root / relative).resolve()
            if target != root and root not in target.parents:
                self._not_found()
                return
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or target.name.startswith("."):
                self._not_found()
                return
            body = target.read_bytes()
        except OSError:  # a name too long for the file system, or unreadable
            self._not_found()
            return
        content_type = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(200, body, {"Content-Type": content_type, "Cache-Control": "no-cache",
                               "Content-Security-Policy": CONTENT_SECURITY_POLICY})

    def _not_found(self) -> None:
        page = self.config.static_dir / "404.html"
        body = page.read_bytes() if page.is_file() else b"not found\n"
        self._send(404, body, {"Content-Type": "text/html; charset=utf-8",
                               "Content-Security-Policy": CONTENT_SECURITY_POLICY})

    # -- proxying ----------------------------------------------------------------------

    def _read_body(self, limit: int = MAX_BODY_BYTES) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return None  # browsers and our clients send Content-Length; refuse the rest
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0 or size > limit:
            return None
        return self.rfile.read(size)

    def _cognito(self) -> None:
        if self.command != "POST":
            self._send(405, b"method not allowed\n", {"Content-Type": "text/plain", "Allow": "POST"})
            return
        headers, refusal = cognito_headers(self.headers.items())
        if headers is None:
            status = 403 if refusal.startswith("only") else 400
            kind = "AccessDeniedException" if status == 403 else "InvalidRequestException"
            body = json.dumps({"__type": kind, "message": refusal}).encode()
            self._send(status, body, {"Content-Type": COGNITO_CONTENT_TYPE})
            self.close_connection = True
            return
        self._forward(self.config.cognito_url, "/", api=False, only_headers=headers)

    def _forward(self, base_url: str, path: str, api: bool, only_headers: dict[str, str] | None = None) -> None:
        """Pass the request on; ``only_headers``: send exactly these (and our Host) instead of the client's."""
        body = self._read_body()
        if body is None:
            self._bad_gateway(413, "payload_too_large", "the request body is too large or not framed", api)
            return
        host, port = _split(base_url)
        if only_headers is not None:
            headers = {**only_headers, "Host": f"{host}:{port}"}
        else:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers.pop("Content-Length", None)
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Host"] = self.headers.get("Host", "")
            headers["X-Forwarded-Proto"] = "http"
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT_SECONDS)
        try:
            connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
            payload = response.read()
            out_headers = [(k, v) for k, v in response.getheaders()
                           if k.lower() not in HOP_BY_HOP and k.lower() not in ("content-length", "date", "server")]
            head_length = response.getheader("Content-Length")
            if not api and response.getheader("Content-Security-Policy") is None:
                out_headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            self.log_error("upstream %s failed: %s", base_url, error)
            self._bad_gateway(502, "unavailable", "the service behind the storefront did not answer", api)
            return
        finally:
            connection.close()
        self._send(status, payload, out_headers, head_length)

    def _bad_gateway(self, status: int, code: str, message: str, api: bool) -> None:
        if api:
            body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
            self._send(status, body, {"Content-Type": "application/json"})
        else:
            self._send(status, (message + "\n").encode(), {"Content-Type": "text/plain; charset=utf-8"})
        self.close_connection = True

    def _send(self, status: int, body: bytes, headers: dict[str, str] | list[tuple[str, str]],
              head_length: str | None = None) -> None:
        self.send_response(status)
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            self.send_header(name, value)
        if status in (204, 304) or 100 <= status < 200:
            self.end_headers()
            return
        # A HEAD answer states the length the GET would have (the upstream's, when proxied).
        length = head_length if self.command == "HEAD" and head_length is not None else str(len(body))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet when asked to be, like the API (the test stack turns access logs off).
        if "0" not in (os.environ.get("SITE_ACCESS_LOG", "1"), os.environ.get("API_ACCESS_LOG", "1")):
            super().log_message(format, *args)


def image_origin(config: ProxyConfig) -> ImageOrigin:
    import boto3

    credentials = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if k in os.environ}
    s3 = boto3.client("s3", region_name=config.region, endpoint_url=config.cognito_url,
                      aws_access_key_id=credentials.get("AWS_ACCESS_KEY_ID", "testing"),
                      aws_secret_access_key=credentials.get("AWS_SECRET_ACCESS_KEY", "testing"))
    return ImageOrigin(config.images_bucket, s3, credentials.get("AWS_SECRET_ACCESS_KEY", "testing"))


def make_server(config: ProxyConfig, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    images = image_origin(config) if config.images_bucket else None
    handler = type("ConfiguredSiteHandler", (SiteHandler,), {"config": config, "images": images})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    env = os.environ
    parser = argparse.ArgumentParser(description="the local storefront origin (static files + routing)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api-url", default=env.get(ENV_API_URL, "http://127.0.0.1:8000"))
    parser.add_argument("--server-url", default=env.get(ENV_SERVER_URL, "http://127.0.0.1:8081"))
    parser.add_argument("--cognito-url", default=env.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"))
    parser.add_argument("--region", default=env.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--user-pool-id", default=env.get("COGNITO_USER_POOL_ID", ""))
    parser.add_argument("--client-id", default=env.get("COGNITO_CLIENT_ID", ""))
    parser.add_argument("--static-dir", default=str(STATIC_DIR))
    parser.add_argument("--images-bucket", default=env.get("IMAGES_BUCKET", ""))
    args = parser.parse_args(argv)
    config = ProxyConfig(api_url=args.api_url, server_url=args.server_url, cognito_url=args.cognito_url,
                         region=args.region, user_pool_id=args.user_pool_id, client_id=args.client_id,
                         static_dir=Path(args.static_dir), images_bucket=args.images_bucket)
    for url in (config.api_url, config.server_url, config.cognito_url):
        _split(url)
    server = make_server(config, args.port)
    print(f"storefront listening on http://127.0.0.1:{server.server_port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
