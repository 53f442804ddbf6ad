"""Hostile input over HTTP: every malicious or malformed request is a clear 4xx in the
contract's error format, the connection is answered (never dropped), and nothing is
written: the product listing, the categories' counts and the caller's orders are
compared before and after every test.

Free text (a product's ``name`` and ``description``) is the one place where an
injection string is legitimate data: there it must be stored and returned verbatim,
inert, and is checked by a round trip (the only test here that writes, and it cleans up).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE products; --",
    '" OR ""="',
    "#pk = :v",
    "attribute_exists(pk)",
    "SET stock = :0",
    "{\"$ne\": null}",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "P#x",
    "SKU#taken",
    "%00",
    "a\u0000b",
    "line\r\nX-Injected: 1",
    "\u202eevil",
    "😀" * 3,
]
WRITING_TEST = "test_injection_strings_in_free_text_are_stored_verbatim"
# Path segments: what a client could put between slashes (percent-encoded by us).
PATH_INJECTIONS = [s for s in INJECTIONS if "/" not in s] + ["x" * 2000]


def valid_product(**overrides: Any) -> dict[str, Any]:
    return {"sku": f"hostile-{uuid.uuid4().hex[:10]}", "name": "Hostile probe", "category": "tea",
            "price_cents": 100, "currency": "USD", "stock": 1, **overrides}


def snapshot(anon: ApiClient, shopper: ApiClient) -> dict[str, Any]:
    products: list[Any] = []
    cursor = None
    while True:
        url = "/products?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = anon.get(url).json()
        products += [(p["id"], p["sku"], p["version"], p["stock"]) for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return {
        "products": sorted(products),
        "categories": anon.get("/categories").json()["items"],
        "orders": [o["id"] for o in shopper.get("/orders?limit=100").json()["items"]],
    }


@pytest.fixture(autouse=True)
def nothing_written(request: pytest.FixtureRequest, anon: ApiClient, shopper: ApiClient) -> Iterator[None]:
    if request.node.name.startswith(WRITING_TEST):
        yield
        return
    before = snapshot(anon, shopper)
    yield
    assert snapshot(anon, shopper) == before, "a hostile request changed stored data"


def quote(segment: str) -> str:
    return requests.utils.quote(segment, safe="")


ADDRESS = {"name": "Hostile Tester", "line1": "1 Test Road", "city": "Testville", "postal_code": "T1 1TT",
           "country": "GB"}
ADDRESS_JSON = json.dumps(ADDRESS)

# --- bodies ---------------------------------------------------------------------------------

BODY_ROUTES = [
    ("POST", "/products"),
    ("PUT", "/products/{pid}"),
    ("POST", "/products/{pid}/stock"),
    ("POST", "/orders"),
    ("POST", "/orders/{pid}/ship"),
]


@pytest.fixture(scope="module")
def some_product_id(local_stack: LocalStack) -> str:
    items = ApiClient(local_stack.api_url).get("/products?limit=1").json()["items"]
    product_id: str = items[0]["id"]
    return product_id


def test_hostile_webhook_bodies_are_refused_before_anything_is_read(anon: ApiClient) -> None:
    """The webhook checks its signature first: whatever the body, no valid signature is a 400."""
    bodies: list[bytes | str] = [*INVALID_UTF8, "[" * 40_000, json.dumps({"id": "evt_x", "type": "x"}), "", "null"]
    for body in bodies:
        for signature in (None, "t=1,v1=00", "v1=abc", "t=notanumber,v1=ab", "x" * 4000):
            headers = {} if signature is None else {"Stripe-Signature": signature}
            assert_error(anon.post("/payments/webhook", raw=body, headers=headers), 400, "invalid_signature")
    assert_error(anon.post("/payments/webhook", raw=b"\x00" * (1024 * 1024)), 413, "payload_too_large")


def send(client: ApiClient, method: str, path: str, pid: str, raw: bytes | str,
         headers: dict[str, str] | None = None) -> requests.Response:
    headers = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
    return client.request(method, path.format(pid=pid), raw=raw, headers=headers)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_deeply_nested_json_is_refused(admin: ApiClient, some_product_id: str, method: str, path: str) -> None:
    for depth in (40, 5_000, 40_000):
        for raw in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            assert_error(send(admin, method, path, some_product_id, raw), 400, "validation_error")


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_bodies_over_256_kib_are_413(admin: ApiClient, some_product_id: str, method: str, path: str) -> None:
    huge = json.dumps(valid_product(description="x" * (300 * 1024)))
    assert_error(send(admin, method, path, some_product_id, huge), 413, "payload_too_large")
    junk = b"\x00" * (1024 * 1024)
    assert_error(send(admin, method, path, some_product_id, junk), 413, "payload_too_large")


INVALID_UTF8 = [
    b'{"name": "\xff\xfe"}',
    b'{"sku": "\xc3\x28"}',
    b"\xed\xa0\x80",  # an encoded surrogate
    b'{"lines": [{"product_id": "\x80", "quantity": 1}]}',
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_invalid_utf8_is_refused(admin: ApiClient, some_product_id: str, method: str, path: str) -> None:
    for raw in INVALID_UTF8:
        assert_error(send(admin, method, path, some_product_id, raw), 400, "validation_error")


NUMBER_LITERALS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 5000, str(2**64), "1.5", "1e2",
                   "-0.0", "true", '"10"', "null", "[]"]


@pytest.mark.parametrize("literal", NUMBER_LITERALS)
def test_nan_infinity_huge_and_non_integer_numbers_are_refused(admin: ApiClient, some_product_id: str,
                                                               literal: str) -> None:
    body = json.dumps(valid_product()).replace('"price_cents": 100', f'"price_cents": {literal}')
    assert_error(admin.post("/products", raw=body), 400, "validation_error")
    assert_error(admin.post(f"/products/{some_product_id}/stock", raw=f'{{"delta": {literal}}}'),
                 400, "validation_error")
    assert_error(admin.post(f"/products/{some_product_id}/stock", raw=f'{{"set": {literal}}}'),
                 400, "validation_error")
    line = f'{{"product_id": "{some_product_id}", "quantity": {literal}}}'
    order = f'{{"lines": [{line}], "shipping_address": {ADDRESS_JSON}}}'
    assert_error(admin.post("/orders", raw=order, headers={"Idempotency-Key": uuid.uuid4().hex}),
                 400, "validation_error")


@pytest.mark.parametrize("field", ["sku", "name", "category", "currency", "image_url"])
def test_control_characters_in_single_line_fields_are_refused(admin: ApiClient, field: str) -> None:
    for char in ("\u0000", "\u0007", "\u001b", "\u007f", "\u0085", "\ud800", "\n", "\t"):
        body = valid_product(image_url="https://images.example.com/a.jpg")
        body[field] = f"{body[field][:1]}{char}{body[field][1:]}"
        raw = json.dumps(body)  # \ud800 goes out as the escape, which decodes to a lone surrogate
        assert_error(admin.post("/products", raw=raw), 400, "validation_error")


def test_control_characters_in_description_are_refused(admin: ApiClient) -> None:
    for char in ("\u0000", "\u0007", "\u001b", "\ud800"):
        assert_error(admin.post("/products", raw=json.dumps(valid_product(description=f"a{char}b"))),
                     400, "validation_error")


@pytest.mark.parametrize("field", ["sku", "category", "currency", "image_url", "price_cents", "stock"])
def test_injection_strings_in_constrained_fields_are_refused(admin: ApiClient, some_product_id: str,
                                                             field: str) -> None:
    for payload in INJECTIONS:
        body = valid_product(**{field: payload})
        assert_error(admin.post("/products", raw=json.dumps(body)), 400, "validation_error")
        if field != "stock":
            replace = {k: v for k, v in body.items() if k != "stock"}
            assert_error(admin.put(f"/products/{some_product_id}", raw=json.dumps(replace)), 400,
                         "validation_error")


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_in_stock_and_order_fields_are_refused(admin: ApiClient, some_product_id: str,
                                                                 payload: str) -> None:
    stock = f"/products/{some_product_id}/stock"
    assert_error(admin.post(stock, {"delta": payload}), 400, "validation_error")
    assert_error(admin.post(stock, {"set": payload}), 400, "validation_error")
    assert_error(admin.post(stock, {"delta": 1, payload: 1}), 400, "validation_error")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert_error(admin.post("/orders", {"lines": [{"product_id": payload, "quantity": 1}], "shipping_address": ADDRESS},
                            headers=key), 400, "validation_error")
    assert_error(admin.post("/orders", {"lines": [{"product_id": some_product_id, "quantity": payload}],
                                        "shipping_address": ADDRESS}, headers=key), 400, "validation_error")
    assert_error(admin.post("/orders", {"lines": payload, "shipping_address": ADDRESS}, headers=key), 400,
                 "validation_error")
    for field in ("name", "line1", "city", "postal_code", "country", "region"):
        body = {"lines": [{"product_id": some_product_id, "quantity": 1}], "shipping_address": {**ADDRESS,
                                                                                                field: payload}}
        response = admin.post("/orders", body, headers={"Idempotency-Key": uuid.uuid4().hex})
        if response.status_code == 201:  # free text within its limits: stored as text, never interpreted
            assert response.json()["shipping_address"][field] == payload
            assert admin.post(f"/orders/{response.json()['id']}/cancel").status_code == 200
        else:
            assert_error(response, 400, "validation_error")
    ship = admin.post(f"/orders/{uuid.uuid4().hex}/ship", {"carrier": payload, "tracking_number": payload})
    assert (ship.status_code, ship.json()["error"]["code"]) in {(400, "validation_error"), (404, "not_found")}
    assert_error(admin.post("/products", raw=json.dumps({**valid_product(), payload: "x"})), 400,
                 "validation_error")


def test_injection_strings_in_the_idempotency_key_are_refused(admin: ApiClient, some_product_id: str) -> None:
    for payload in INJECTIONS:
        # What can travel in a header at all: latin-1, no CR/LF/NUL (the HTTP client refuses those).
        raw = payload.encode("latin-1", "replace").decode("latin-1")
        safe = raw.replace("\r", "").replace("\n", "").replace("\u0000", "")
        if safe.replace("_", "").replace("-", "").replace(".", "").replace(":", "").isalnum():
            continue  # stripping left a well-formed key
        response = admin.post("/orders", {"lines": [{"product_id": some_product_id, "quantity": 1}],
                                          "shipping_address": ADDRESS}, headers={"Idempotency-Key": safe})
        assert_error(response, 400, "validation_error")


def test_injection_strings_in_path_parameters_are_404(admin: ApiClient) -> None:
    for payload in PATH_INJECTIONS:
        _path_probe(admin, quote(payload))


def _path_probe(admin: ApiClient, segment: str) -> None:
    assert_error(admin.get(f"/products/{segment}"), 404, "not_found")
    replace = {k: v for k, v in valid_product().items() if k != "stock"}
    assert_error(admin.put(f"/products/{segment}", replace), 404, "not_found")
    assert_error(admin.delete(f"/products/{segment}"), 404, "not_found")
    assert_error(admin.post(f"/products/{segment}/stock", {"delta": 1}), 404, "not_found")
    assert_error(admin.get(f"/orders/{segment}"), 404, "not_found")
    assert_error(admin.post(f"/orders/{segment}/cancel"), 404, "not_found")
    assert_error(admin.post(f"/orders/{segment}/pay"), 404, "not_found")
    assert_error(admin.post(f"/orders/{segment}/ship", {"carrier": "UPS", "tracking_number": "1Z"}), 404, "not_found")


def test_injection_strings_in_query_parameters_are_refused_or_inert(anon: ApiClient, shopper: ApiClient) -> None:
    for payload in INJECTIONS:
        for name in ("category", "limit", "cursor"):
            assert_error(anon.get("/products", params={name: payload}), 400, "validation_error")
        for name in ("scope", "limit", "cursor"):
            assert_error(shopper.get("/orders", params={name: payload}), 400, "validation_error")
        # q is free text: an injection string is a search like any other (its words, nothing more).
        response = anon.get("/products", params={"q": payload})
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["items"], list)


def test_if_match_and_if_none_match_garbage_is_harmless(admin: ApiClient, some_product_id: str) -> None:
    current = admin.get(f"/products/{some_product_id}").json()
    replace = {k: current[k] for k in ("sku", "name", "description", "category", "price_cents", "currency")}
    for garbage in INJECTIONS[:8]:
        assert_error(admin.put(f"/products/{some_product_id}", replace, headers={"If-Match": garbage}),
                     412, "precondition_failed")
        assert admin.get(f"/products/{some_product_id}", headers={"If-None-Match": garbage}).status_code == 200


def test_injection_strings_in_free_text_are_stored_verbatim_and_inert(admin: ApiClient, anon: ApiClient) -> None:
    for payload in INJECTIONS:
        if "\u0000" in payload or "\r" in payload:
            continue  # control characters: refused, tested above
        _free_text_round_trip(admin, anon, payload)


def _free_text_round_trip(admin: ApiClient, anon: ApiClient, payload: str) -> None:
    before = anon.get("/categories").json()["items"]
    response = admin.post("/products", valid_product(name=f"Probe {payload}", description=payload))
    assert response.status_code == 201, response.text
    product = response.json()
    try:
        stored = anon.get(f"/products/{product['id']}").json()
        assert stored["name"] == f"Probe {payload}" and stored["description"] == payload
        tea = {c["slug"]: c["product_count"] for c in anon.get("/categories").json()["items"]}
        assert tea["tea"] == {c["slug"]: c["product_count"] for c in before}["tea"] + 1
    finally:
        assert admin.delete(f"/products/{product['id']}").status_code == 204
    assert anon.get("/categories").json()["items"] == before


# --- tokens -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_tokens(real: str) -> list[str]:
    header, payload, signature = real.split(".")
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    admin_claims = {**claims, "cognito:groups": ["admin"], "sub": "someone-else"}
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT",
                                 "kid": json.loads(__import__("base64").urlsafe_b64decode(
                                     header + "=" * (-len(header) % 4)))["kid"]}).encode())
    return [
        "garbage",
        "a.b.c",
        "....",
        "e30.e30.",
        f"{none_header}.{_b64(json.dumps(admin_claims).encode())}.",
        f"{hs_header}.{_b64(json.dumps(admin_claims).encode())}.{_b64(b'x' * 32)}",
        f"{header}.{_b64(json.dumps(admin_claims).encode())}.{signature}",  # tampered claims
        f"{header}.{payload}.{signature[:-4]}AAAA",  # bad signature
        f"{header}.{payload}",
        real + "x",
        "x" * 8000,
        "Ünïcødé.tøkén.✓",
        uuid.uuid4().hex,
    ]


BAD_AUTH_HEADERS = ["", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "bearer", "Token abc", "Bearer a b c",
                    "Bearer\tabc", "BearerX abc"]
PROTECTED = [("POST", "/products"), ("PUT", "/products/x"), ("DELETE", "/products/x"),
             ("POST", "/products/x/stock"), ("POST", "/orders"), ("GET", "/orders"), ("GET", "/orders/x"),
             ("POST", "/orders/x/cancel"), ("POST", "/orders/x/pay"), ("POST", "/orders/x/ship")]


def _raw_request(api_url: str, method: str, path: str, authorization: str | bytes) -> requests.Response:
    headers: dict[str, Any] = {"Content-Type": "application/json", "Authorization": authorization}
    return requests.request(method, api_url + path, headers=headers, data="{}", timeout=30)


def test_random_and_forged_tokens_get_401_never_a_dropped_connection(local_stack: LocalStack,
                                                                     admin_token: str) -> None:
    for (method, path), token in itertools.product(PROTECTED, forged_tokens(admin_token)):
        value: str | bytes = f"Bearer {token}"
        if not value.isascii():
            value = value.encode("utf-8")
        response = _raw_request(local_stack.api_url, method, path, value)
        error = assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert error["message"]


def test_malformed_authorization_headers_get_401(local_stack: LocalStack) -> None:
    for (method, path), header in itertools.product(PROTECTED, BAD_AUTH_HEADERS):
        assert_error(_raw_request(local_stack.api_url, method, path, header), 401, "unauthorized")


def test_a_token_from_another_user_pool_is_401(local_stack: LocalStack) -> None:
    """Signed by the emulator's (real) key but for another app client and issuer."""
    import boto3

    cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=local_stack.emulator_url)
    pool = cognito.create_user_pool(PoolName=f"intruders-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool, ClientName="x",
                                                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH",
                                                                   "ALLOW_REFRESH_TOKEN_AUTH"])[
        "UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="eve@example.com", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="eve@example.com", Password="Eve-Passw0rd!",
                                    Permanent=True)
    token = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": "eve@example.com", "PASSWORD": "Eve-Passw0rd!"})[
        "AuthenticationResult"]["IdToken"]
    for method, path in PROTECTED:
        assert_error(_raw_request(local_stack.api_url, method, path, f"Bearer {token}"), 401, "unauthorized")


def test_an_access_token_is_not_an_id_token(local_stack: LocalStack) -> None:
    from infra.local import bootstrap

    tokens = bootstrap.sign_in(local_stack.emulator_url, local_stack.client_id, local_stack.info["admin_email"],
                               bootstrap.DEFAULT_ADMIN_PASSWORD)
    response = _raw_request(local_stack.api_url, "GET", "/orders", f"Bearer {tokens['AccessToken']}")
    assert_error(response, 401, "unauthorized")
