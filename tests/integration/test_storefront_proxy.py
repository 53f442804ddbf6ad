"""The storefront origin of the local stack routes like CloudFront: static files, /api/* to
the API (prefix removed), /p/* and /sitemap.xml to the container, /cognito/ to the
emulator's public Cognito calls, and /config.json generated for the stack."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from infra.local import bootstrap
from infra.local.site_proxy import ProxyConfig, make_server
from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack, free_port

COGNITO_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture
def site(local_stack: LocalStack) -> str:
    return local_stack.site_url


def _raw_get(base: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_config_json_describes_this_stack(site: str, local_stack: LocalStack) -> None:
    response = requests.get(f"{site}/config.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"apiBaseUrl": "/api", "cognitoEndpoint": "/cognito/", "region": "us-east-1",
                               "userPoolId": local_stack.user_pool_id, "clientId": local_stack.client_id}
    example = Path(__file__).resolve().parents[2] / "site" / "static" / "config.example.json"
    assert set(json.loads(example.read_text())) == set(response.json())


@pytest.mark.parametrize(("path", "content_type"), [
    ("/", "text/html"), ("/index.html", "text/html"), ("/js/app.js", "text/javascript"),
    ("/css/store.css", "text/css"),
])
def test_serves_the_static_storefront(site: str, path: str, content_type: str) -> None:
    response = requests.get(f"{site}{path}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    head = requests.head(f"{site}{path}", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(response.content))


@pytest.mark.parametrize("path", ["/no-such-file.js", "/../pyproject.toml", "/%2e%2e/pyproject.toml",
                                  "/js/../../pyproject.toml", "/%2e%2e%2f%2e%2e%2fetc/passwd", "/%00",
                                  "/js/%00app.js", "/" + "a" * 5000])
def test_unknown_or_outside_paths_are_404(site: str, path: str) -> None:
    status, body = _raw_get(site, path)
    assert status == 404
    assert b"[tool." not in body and b"root:" not in body


def test_api_prefix_is_removed_and_errors_pass_through(site: str) -> None:
    anon = ApiClient(f"{site}/api")
    assert anon.get("/health").json()["status"] == "ok"
    assert_error(anon.post("/products", {"sku": "x"}), 401, "unauthorized")
    assert_error(anon.get("/no/such/route"), 404, "not_found")


def test_api_writes_pass_method_headers_and_body(site: str, admin_token: str) -> None:
    admin = ApiClient(f"{site}/api", admin_token)
    body = {"sku": f"PROXY-{uuid.uuid4().hex[:8]}", "name": "Proxied Product", "category": "tea",
            "price_cents": 500, "currency": "USD", "stock": 2}
    created = admin.post("/products", body)
    assert created.status_code == 201, created.text
    product = created.json()
    try:
        assert created.headers["Location"] == f"products/{product['id']}"
        etag = created.headers["ETag"]
        assert admin.get(f"/products/{product['id']}", headers={"If-None-Match": etag}).status_code == 304
        stale = admin.put(f"/products/{product['id']}", {**body, "name": "Renamed"}, headers={"If-Match": '"999-0"'})
        assert_error(stale, 412, "precondition_failed")
        assert admin.post(f"/products/{product['id']}/stock", {"delta": 3}).json() == {"stock": 5}
    finally:
        assert admin.delete(f"/products/{product['id']}").status_code == 204


def test_cognito_path_serves_public_calls_only(site: str, local_stack: LocalStack) -> None:
    sign_in = requests.post(f"{site}/cognito/", timeout=10, headers={
        **COGNITO_HEADERS, "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}, json={
        "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": local_stack.client_id,
        "AuthParameters": {"USERNAME": bootstrap.SHOPPER_EMAIL, "PASSWORD": bootstrap.DEFAULT_SHOPPER_PASSWORD}})
    assert sign_in.status_code == 200, sign_in.text
    result = sign_in.json()["AuthenticationResult"]
    refreshed = requests.post(f"{site}/cognito/", timeout=10, headers={
        **COGNITO_HEADERS, "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}, json={
        "AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": local_stack.client_id,
        "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]}})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["AuthenticationResult"]["IdToken"]

    admin_call = requests.post(f"{site}/cognito/", timeout=10, headers={
        **COGNITO_HEADERS, "X-Amz-Target": "AWSCognitoIdentityProviderService.AdminAddUserToGroup"}, json={
        "UserPoolId": local_stack.user_pool_id, "Username": bootstrap.SHOPPER_EMAIL, "GroupName": "admin"})
    assert admin_call.status_code == 403
    other_service = requests.post(f"{site}/cognito/", timeout=10, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}, json={})
    assert other_service.status_code == 403
    assert requests.get(f"{site}/cognito/", timeout=10).status_code == 405


SIGNED_FOR = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, " \
             "SignedHeaders=host;x-amz-target, Signature=" + "0" * 64
PUBLIC = "AWSCognitoIdentityProviderService.InitiateAuth"


def _raw_post(base: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    """A POST whose headers go out exactly as listed, repeats included (requests would merge them)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest("POST", "/cognito/")
        for name, value in [*headers, ("Content-Length", str(len(body)))]:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _in_admin_group(local_stack: LocalStack, email: str) -> bool:
    import boto3

    from infra.local.stack import emulator_env

    env = emulator_env(local_stack.emulator_url)
    idp = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=local_stack.emulator_url,
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    groups = idp.admin_list_groups_for_user(UserPoolId=local_stack.user_pool_id, Username=email)["Groups"]
    return any(group["GroupName"] == "admin" for group in groups)


def test_cognito_path_refuses_a_second_target_and_never_forwards_authorization(
    site: str, local_stack: LocalStack
) -> None:
    """The attack: check the first target, forward the last, let Authorization pick the service."""
    email = bootstrap.SHOPPER_EMAIL
    escalate = json.dumps({"UserPoolId": local_stack.user_pool_id, "Username": email, "GroupName": "admin"})
    status, _ = _raw_post(site, [
        ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", PUBLIC),
        ("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup"),
        ("Authorization", SIGNED_FOR.format(service="cognito-idp")),
    ], escalate.encode())
    assert status == 400
    assert not _in_admin_group(local_stack, email)

    secret = local_stack.info["cursor_secret_name"]
    read_secret = json.dumps({"SecretId": secret}).encode()
    status, _ = _raw_post(site, [
        ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", PUBLIC),
        ("X-Amz-Target", "secretsmanager.GetSecretValue"),
        ("Authorization", SIGNED_FOR.format(service="secretsmanager")),
    ], read_secret)
    assert status == 400
    # One public target, with an Authorization naming another service: the emulator must
    # see a Cognito call (and refuse its body), never Secrets Manager's GetSecretValue.
    status, body = _raw_post(site, [
        ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", PUBLIC),
        ("Authorization", SIGNED_FOR.format(service="secretsmanager")),
    ], read_secret)
    assert status != 200, body
    assert b"SecretString" not in body and b"SecretBinary" not in body
    status, body = _raw_post(site, [
        ("Content-Type", "application/x-amz-json-1.1"), ("Content-Type", "application/json"),
        ("X-Amz-Target", PUBLIC)], b"{}")
    assert status == 400 and b"repeated" in body


def test_cognito_path_needs_the_json_content_type(site: str) -> None:
    status, _ = _raw_post(site, [("Content-Type", "text/plain"), ("X-Amz-Target", PUBLIC)], b"{}")
    assert status == 400


@pytest.fixture
def orphan_proxy(tmp_path: Path) -> Iterator[str]:
    """A storefront proxy whose upstreams are not listening."""
    dead = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    config = ProxyConfig(api_url=dead, server_url=dead, cognito_url=dead, region="us-east-1",
                         user_pool_id="pool", client_id="client", static_dir=tmp_path)
    server = make_server(config, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_unreachable_upstreams_are_502_in_the_contract_shape(orphan_proxy: str) -> None:
    api = requests.get(f"{orphan_proxy}/api/health", timeout=10)
    assert_error(api, 502, "unavailable")
    page = requests.get(f"{orphan_proxy}/p/anything", timeout=10)
    assert page.status_code == 502
    assert requests.get(f"{orphan_proxy}/", timeout=10).text == "<h1>hi</h1>"
