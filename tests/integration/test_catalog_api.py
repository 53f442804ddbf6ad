"""The catalog API of the contract (DESIGN.md), over real HTTP against the local stack:
every route, every error code, every auth case, the order of checks, and that a
refused request writes nothing.

Other tests share the stack (not in parallel), so category counts are compared as
deltas within a test, never as absolutes.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack
from tests.integration.conftest import unique

MakeProduct = Callable[..., dict[str, Any]]
PRODUCT_FIELDS = {"id", "sku", "name", "description", "category", "price_cents", "currency", "stock", "image_url",
                  "created_at", "updated_at", "version"}


def body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /products body whose name holds a word no other product has."""
    word = f"probe{uuid.uuid4().hex[:8]}"
    return {"sku": unique("sku"), "name": f"Contract {word}", "category": "tea", "price_cents": 500,
            "currency": "USD", "stock": 3, **overrides}


def name_word(product_body: dict[str, Any]) -> str:
    return str(product_body["name"]).split()[-1]


def counts(client: ApiClient) -> dict[str, int]:
    response = client.get("/categories")
    assert response.status_code == 200
    return {c["slug"]: c["product_count"] for c in response.json()["items"]}


def walk(client: ApiClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(500):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/products", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing did not end")


class NothingWritten:
    """Snapshot of what a refused write could have changed: category counts, and
    whether any product carries the body's sku or name word."""

    def __init__(self, client: ApiClient, product_body: Any) -> None:
        self.client = client
        self.body = product_body if isinstance(product_body, dict) else {}
        self.counts = counts(client)

    def check(self) -> None:
        assert counts(self.client) == self.counts
        if isinstance(self.body.get("name"), str) and self.body["name"].split():
            found = walk(self.client, q=name_word(self.body), limit=100)
            assert found == [], found
        if isinstance(self.body.get("sku"), str):
            everything = walk(self.client, limit=100)
            assert [p for p in everything if p["sku"] == self.body["sku"]] == []


# -- health, unknown paths, methods --------------------------------------------------------


def test_health_answers_ok_with_a_version(anon: ApiClient) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["status"] == "ok" and isinstance(data["version"], str) and data["version"]


@pytest.mark.parametrize("path", ["/nope", "/products/x/y/z", "/categories/tea", "/health/deep", "/"])
def test_an_unknown_path_is_a_404_json(anon: ApiClient, path: str) -> None:
    assert_error(anon.get(path), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [
    ("PATCH", "/products/{id}"), ("POST", "/products/{id}"), ("DELETE", "/products"), ("PUT", "/products"),
    ("POST", "/health"), ("DELETE", "/categories"), ("POST", "/categories"), ("GET", "/products/{id}/stock"),
    ("PUT", "/products/{id}/stock"),
])
def test_a_wrong_method_is_a_405_json(admin: ApiClient, make_product: MakeProduct, method: str, path: str) -> None:
    product = make_product()
    before = admin.get(f"/products/{product['id']}").json()
    response = admin.request(method, path.replace("{id}", product["id"]), body(name="Other thing"))
    assert_error(response, 405, "method_not_allowed")
    assert admin.get(f"/products/{product['id']}").json() == before


# -- GET /products --------------------------------------------------------------------------


def test_listing_has_the_contract_shape_and_default_limit(anon: ApiClient) -> None:
    response = anon.get("/products")
    assert response.status_code == 200
    page = response.json()
    assert len(page["items"]) == 20  # the seeded catalog has 48
    assert isinstance(page["next_cursor"], str)
    assert all(set(p) == PRODUCT_FIELDS for p in page["items"])
    names = [p["name"].casefold() for p in page["items"]]
    assert names == sorted(names)


@pytest.mark.parametrize(("limit", "size"), [("1", 1), ("100", 100), ("7", 7), ("20", 20)])
def test_limit_from_1_to_100(anon: ApiClient, limit: str, size: int) -> None:
    response = anon.get("/products", params={"limit": limit})
    assert response.status_code == 200
    assert len(response.json()["items"]) == min(size, len(walk(anon, limit=100)))


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1000000", "abc", "1.5", "1e2", " 5", "0x10", "", "%"])
def test_a_bad_limit_is_a_400(anon: ApiClient, limit: str) -> None:
    response = anon.get("/products", params={"limit": limit})
    assert_error(response, 400, "validation_error")  # empty too: the default is for no limit at all


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "x" * 5000, "..", "eyJrIjp7fX0.AAAA", "%00", "é"])
def test_a_bad_cursor_is_a_400_not_a_500(anon: ApiClient, cursor: str) -> None:
    assert_error(anon.get("/products", params={"cursor": cursor}), 400, "validation_error")
    assert_error(anon.get("/products", params={"cursor": cursor, "q": "tea"}), 400, "validation_error")


def test_a_tampered_or_retargeted_cursor_is_a_400(anon: ApiClient) -> None:
    cursor = anon.get("/products", params={"limit": 2, "category": "coffee"}).json()["next_cursor"]
    assert anon.get("/products", params={"limit": 2, "category": "coffee", "cursor": cursor}).status_code == 200
    payload, signature = cursor.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["s"] = json.dumps(["tea", []])
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    assert_error(anon.get("/products", params={"category": "tea", "cursor": f"{forged}.{signature}"}),
                 400, "validation_error")
    for params in ({"category": "tea"}, {}, {"q": "coffee"}, {"q": "coffee", "category": "coffee"}):
        assert_error(anon.get("/products", params={**params, "cursor": cursor}), 400, "validation_error")


@pytest.mark.parametrize("category", ["NOT A SLUG", "x" * 65, "tea/../x"])
def test_a_malformed_category_filter_is_a_400(anon: ApiClient, category: str) -> None:
    assert_error(anon.get("/products", params={"category": category}), 400, "validation_error")


def test_category_filter(anon: ApiClient, make_product: MakeProduct) -> None:
    product = make_product(category="outdoor")
    items = walk(anon, category="outdoor", limit=100)
    assert {p["category"] for p in items} == {"outdoor"}
    assert product["id"] in {p["id"] for p in items}
    assert product["id"] not in {p["id"] for p in walk(anon, category="tea", limit=100)}
    assert anon.get("/products", params={"category": "no-such-category"}).json() == {"items": [], "next_cursor": None}


def test_search_prefix_case_insensitive_all_words_combined_with_category(
    anon: ApiClient, make_product: MakeProduct
) -> None:
    word = f"zq{uuid.uuid4().hex[:6]}"
    a = make_product(name=f"{word.upper()}-Alpha Kettle", category="kitchen")
    b = make_product(name=f"Blue {word}beta", category="tea")
    c = make_product(name=f"x{word} Alpha", category="kitchen")  # the word is inside, not a prefix

    def found(**params: Any) -> set[str]:
        return {p["id"] for p in walk(anon, limit=1, **params)}

    assert found(q=word) == {a["id"], b["id"]}
    assert found(q=word[:4].upper()) >= {a["id"], b["id"]}
    assert c["id"] not in found(q=word)
    assert found(q=f"{word} alp") == {a["id"]}
    assert found(q=f"alp,{word}") == {a["id"]}
    assert found(q=f"{word} kettle blue") == set()
    assert found(q=word, category="tea") == {b["id"]}
    assert found(q=word, category="kitchen") == {a["id"]}
    assert found(q=f"x{word}") == {c["id"]}


def test_a_name_with_two_words_of_one_prefix_is_found_once(anon: ApiClient, make_product: MakeProduct) -> None:
    word = f"zz{uuid.uuid4().hex[:6]}"
    product = make_product(name=f"{word} {word}pot {word}spoon")
    for limit in (1, 2, 20):
        assert [p["id"] for p in walk(anon, q=word, limit=limit)] == [product["id"]]


def test_an_overlong_query_is_a_400(anon: ApiClient) -> None:
    assert_error(anon.get("/products", params={"q": "a" * 201}), 400, "validation_error")


# -- GET /products/{id} ---------------------------------------------------------------------


def test_get_a_product_with_etag_and_304(anon: ApiClient, admin: ApiClient, make_product: MakeProduct) -> None:
    product = make_product()
    response = anon.get(f"/products/{product['id']}")
    assert response.status_code == 200
    assert response.json() == product
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = anon.get(f"/products/{product['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert anon.get(f"/products/{product['id']}", headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert anon.get(f"/products/{product['id']}", headers={"If-None-Match": '"other"'}).status_code == 200
    # stock is part of the representation: the old ETag no longer matches
    assert admin.post(f"/products/{product['id']}/stock", {"delta": 1}).status_code == 200
    moved = anon.get(f"/products/{product['id']}", headers={"If-None-Match": etag})
    assert moved.status_code == 200
    assert moved.json()["stock"] == product["stock"] + 1
    assert moved.headers["ETag"] != etag


@pytest.mark.parametrize("product_id", ["no-such-id", "0" * 32, "x" * 300, "P%23x", "%00"])
def test_an_unknown_product_is_a_404(anon: ApiClient, product_id: str) -> None:
    assert_error(anon.get(f"/products/{product_id}"), 404, "not_found")


# -- auth -----------------------------------------------------------------------------------


def _moto_signing_key() -> Any:
    """The private key moto's Cognito signs with: public by design (bundled with moto)."""
    from moto.utilities.utils import load_resource

    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def _resign(token: str, key: Any, **claims: Any) -> str:
    original = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    return jwt.encode({**original, **claims}, key, algorithm="RS256", headers={"kid": header.get("kid")})


def _unsigned(token: str, **claims: Any) -> str:
    original = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({**header, 'alg': 'none'})}.{part({**original, **claims})}."


def bad_tokens(admin_token: str) -> dict[str, str]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    moto_key = _moto_signing_key()
    now = int(time.time())
    return {
        "garbage": "garbage",
        "no-dots": "abcdefghijklmnopqrstuvwxyz0123456789",
        "three-garbage-parts": "a.b.c",
        "truncated": admin_token[:-10],
        "flipped-signature": admin_token[:-4] + ("AAAA" if not admin_token.endswith("AAAA") else "BBBB"),
        "other-rsa-key": _resign(admin_token, other_key),
        "alg-none": _unsigned(admin_token),
        "alg-none-no-dot": _unsigned(admin_token).rstrip("."),
        "hs256-shared-secret": jwt.encode(jwt.decode(admin_token, options={"verify_signature": False}),
                                            "s" * 32, algorithm="HS256"),
        "expired": _resign(admin_token, moto_key, exp=now - 3600, iat=now - 7200),
        "wrong-audience": _resign(admin_token, moto_key, aud="someone-else"),
        "wrong-issuer": _resign(admin_token, moto_key, iss="https://cognito-idp.us-east-1.amazonaws.com/other"),
        "access-token-use": _resign(admin_token, moto_key, token_use="access"),
        "no-exp": _resign(admin_token, moto_key, exp=None),
    }


def test_the_moto_key_forges_a_valid_token(local_stack: LocalStack, admin_token: str) -> None:
    # Guards the expiry/audience/issuer cases: their only defect is the one they name.
    forged = _resign(admin_token, _moto_signing_key(), exp=int(time.time()) + 600)
    client = ApiClient(local_stack.api_url, forged)
    response = client.post("/products", {"sku": ""})
    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("case", ["garbage", "no-dots", "three-garbage-parts", "truncated", "flipped-signature",
                                  "other-rsa-key", "alg-none", "alg-none-no-dot", "hs256-shared-secret", "expired",
                                  "wrong-audience", "wrong-issuer", "access-token-use", "no-exp"])
def test_a_bad_token_is_a_401_and_the_connection_stays_up(
    local_stack: LocalStack, admin_token: str, case: str
) -> None:
    token = bad_tokens(admin_token)[case]
    client = ApiClient(local_stack.api_url, token)
    product_body = body()
    written = NothingWritten(client, product_body)
    error = assert_error(client.post("/products", product_body), 401, "unauthorized")
    assert "Traceback" not in error["message"]
    # the same keep-alive session still gets answers
    assert client.session.get(f"{local_stack.api_url}/health", timeout=10).status_code == 200
    written.check()


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "bearer",
                                    "Bearer a b", "Bearer\tabc"])
def test_a_malformed_authorization_header_is_a_401(local_stack: LocalStack, header: str) -> None:
    response = requests.post(f"{local_stack.api_url}/products", data=json.dumps(body()), timeout=10,
                             headers={"Authorization": header, "Content-Type": "application/json"})
    assert_error(response, 401, "unauthorized")


ADMIN_ROUTES = [("POST", "/products"), ("PUT", "/products/{id}"), ("DELETE", "/products/{id}"),
                ("POST", "/products/{id}/stock")]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_need_a_token_then_the_admin_group(
    anon: ApiClient, shopper: ApiClient, admin: ApiClient, make_product: MakeProduct, method: str, path: str
) -> None:
    product = make_product()
    url = path.replace("{id}", product["id"])
    payload = {"delta": 1} if url.endswith("/stock") else body()
    written = NothingWritten(anon, payload)
    response = anon.request(method, url, payload)
    assert_error(response, 401, "unauthorized")
    assert "Bearer" in response.headers.get("WWW-Authenticate", "")
    assert_error(shopper.request(method, url, payload), 403, "forbidden")
    assert admin.get(f"/products/{product['id']}").json() == product
    written.check()


# -- the order of checks: 401, 403, 400, then 404 / 409 / 412 -----------------------------


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_401_comes_before_403_before_400_before_404(
    anon: ApiClient, shopper: ApiClient, admin: ApiClient, method: str, path: str
) -> None:
    url = path.replace("{id}", "no-such-product")
    invalid: Any = {"delta": "x"} if url.endswith("/stock") else {"sku": ""}
    big = "x" * (300 * 1024)
    assert_error(anon.request(method, url, invalid), 401, "unauthorized")
    assert_error(anon.request(method, url, raw="{not json"), 401, "unauthorized")
    assert_error(anon.request(method, url, raw=big), 401, "unauthorized")
    assert_error(shopper.request(method, url, invalid), 403, "forbidden")
    assert_error(shopper.request(method, url, raw=big), 403, "forbidden")
    if method != "DELETE":
        assert_error(admin.request(method, url, invalid), 400, "validation_error")
        assert_error(admin.request(method, url, raw="{not json"), 400, "validation_error")
    assert_error(admin.request(method, url, raw=big), 413, "payload_too_large")


def test_validation_comes_before_not_found_and_state(admin: ApiClient, make_product: MakeProduct) -> None:
    product = make_product()
    taken = make_product()
    valid = {k: product[k] for k in ("sku", "name", "category", "price_cents", "currency")}
    # existence (404) before state (412)
    assert_error(admin.put("/products/no-such-product", valid, headers={"If-Match": '"1-0000000000000000"'}),
                 404, "not_found")
    # validation (400) before state (412) and before existence (404)
    assert_error(admin.put(f"/products/{product['id']}", {**valid, "price_cents": -1},
                           headers={"If-Match": '"99-0000000000000000"'}), 400, "validation_error")
    assert_error(admin.put("/products/no-such-product", {**valid, "price_cents": -1}), 400, "validation_error")
    assert_error(admin.post("/products/no-such-product/stock", {"delta": 1.5}), 400, "validation_error")
    assert_error(admin.post("/products/no-such-product/stock", {"delta": -1}), 404, "not_found")
    # validation (unknown category) before state (duplicate sku)
    assert_error(admin.post("/products", body(sku=taken["sku"], category="no-such-category")),
                 400, "validation_error")
    assert_error(admin.put(f"/products/{product['id']}", {**valid, "sku": taken["sku"],
                                                           "category": "no-such-category"}),
                 400, "validation_error")
    assert admin.get(f"/products/{product['id']}").json() == product


# -- POST /products -------------------------------------------------------------------------


def test_admin_creates_a_product(admin: ApiClient, anon: ApiClient) -> None:
    product_body = body(description="Made by a test.", image_url="https://img.example.com/x.jpg", stock=9)
    before = counts(anon)
    response = admin.post("/products", product_body)
    assert response.status_code == 201, response.text
    product = response.json()
    try:
        assert set(product) == PRODUCT_FIELDS
        assert {k: product[k] for k in product_body} == product_body
        assert product["version"] == 1
        assert urljoin(f"{admin.base_url}/products", response.headers["Location"]) == \
            f"{admin.base_url}/products/{product['id']}"
        fetched = anon.get(f"/products/{product['id']}")
        assert fetched.json() == product
        assert fetched.headers["ETag"] == response.headers["ETag"]
        assert counts(anon) == {**before, "tea": before["tea"] + 1}
        assert [p["id"] for p in walk(anon, q=name_word(product_body))] == [product["id"]]
    finally:
        admin.delete(f"/products/{product['id']}")


@pytest.mark.parametrize("origin", ["api", "storefront"])
def test_the_location_header_leads_to_the_product(local_stack: LocalStack, admin_token: str, origin: str) -> None:
    # The storefront origin serves the API under /api (as CloudFront does in AWS): the
    # Location must lead to the product from whichever origin the client used.
    base = local_stack.api_url if origin == "api" else f"{local_stack.site_url}/api"
    client = ApiClient(base, admin_token)
    response = client.post("/products", body())
    assert response.status_code == 201, response.text
    product = response.json()
    try:
        url = urljoin(f"{base}/products", response.headers["Location"])
        assert url == f"{base}/products/{product['id']}"
        assert requests.get(url, timeout=10).json() == product
    finally:
        client.delete(f"/products/{product['id']}")


def test_a_duplicate_sku_is_a_409_and_nothing_is_written(
    admin: ApiClient, anon: ApiClient, make_product: MakeProduct
) -> None:
    product = make_product()
    duplicate = body(sku=product["sku"])
    written = NothingWritten(anon, {**duplicate, "sku": None})
    assert_error(admin.post("/products", duplicate), 409, "conflict")
    written.check()
    assert [p["id"] for p in walk(anon, limit=100) if p["sku"] == product["sku"]] == [product["id"]]


# -- bad input: each a contract error, and nothing written ----------------------------------

BAD_BODIES: list[tuple[str, Any]] = [
    ("malformed-json", "{\"sku\": "),
    ("trailing-garbage", json.dumps(body()) + "x"),
    ("not-an-object", [body()]),
    ("json-string", "\"text\""),
    ("empty-body", ""),
    ("null-body", None),
    ("string-for-int", body(price_cents="500")),
    ("float-for-int", body(price_cents=500.0)),
    ("fraction-price", body(price_cents=4.99)),
    ("bool-for-int", body(price_cents=True)),
    ("negative-price", body(price_cents=-1)),
    ("price-over-limit", body(price_cents=100_000_001)),
    ("int-for-string", body(name=12345)),
    ("null-name", body(name=None)),
    ("missing-sku", {k: v for k, v in body().items() if k != "sku"}),
    ("missing-name", {k: v for k, v in body().items() if k != "name"}),
    ("missing-category", {k: v for k, v in body().items() if k != "category"}),
    ("missing-price", {k: v for k, v in body().items() if k != "price_cents"}),
    ("missing-currency", {k: v for k, v in body().items() if k != "currency"}),
    ("unknown-field", body(colour="red")),
    ("read-only-field-on-create", body(version=1)),
    ("empty-sku", body(sku="")),
    ("overlong-sku", body(sku="S" * 65)),
    ("bad-sku-chars", body(sku="has space")),
    ("empty-name", body(name="")),
    ("overlong-name", body(name="Contract " + "n" * 200)),
    ("overlong-description", body(description="d" * 5001)),
    ("lowercase-currency", body(currency="usd")),
    ("http-image", body(image_url="http://img.example.com/a.jpg")),
    ("overlong-image", body(image_url="https://img.example.com/" + "a" * 2048)),
    ("negative-stock", body(stock=-1)),
    ("stock-over-limit", body(stock=1_000_001)),
    ("string-stock", body(stock="3")),
    ("unknown-category", body(category="no-such-category")),
    ("nan", json.dumps(body()).replace("500", "NaN")),
    ("huge-number", json.dumps(body()).replace("500", "1" + "0" * 400)),
]


@pytest.mark.parametrize(("case", "payload"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
def test_bad_create_bodies_are_a_400_and_nothing_is_written(
    admin: ApiClient, anon: ApiClient, case: str, payload: Any
) -> None:
    parsed: Any = payload
    if isinstance(payload, str):
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = {}
    written = NothingWritten(anon, parsed)
    if isinstance(payload, str) or payload is None:
        response = admin.post("/products", raw=payload or "")
    else:
        response = admin.post("/products", payload)
    error = assert_error(response, 400, "validation_error")
    assert error["details"], "a 400 says what is wrong"
    written.check()


def test_a_body_over_256_kib_is_a_413_and_nothing_is_written(admin: ApiClient, anon: ApiClient) -> None:
    product_body = body(description="d" * (257 * 1024))
    written = NothingWritten(anon, product_body)
    assert_error(admin.post("/products", product_body), 413, "payload_too_large")
    written.check()


def test_a_body_just_under_256_kib_is_judged_on_its_content(admin: ApiClient, anon: ApiClient) -> None:
    product_body = body(description="d" * 5000, colour="x" * (250 * 1024))
    assert_error(admin.post("/products", product_body), 400, "validation_error")


def test_a_non_json_content_type_is_refused(admin: ApiClient, anon: ApiClient) -> None:
    product_body = body()
    written = NothingWritten(anon, product_body)
    response = admin.post("/products", product_body, headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")
    written.check()


# -- PUT /products/{id} ---------------------------------------------------------------------


def _editable(product: dict[str, Any]) -> dict[str, Any]:
    return {k: product[k] for k in ("sku", "name", "description", "category", "price_cents", "currency", "image_url")}


def test_put_replaces_and_ignores_read_only_fields(admin: ApiClient, anon: ApiClient,
                                                   make_product: MakeProduct) -> None:
    product = make_product(stock=4)
    sent = {**product, "name": "Replaced Name", "price_cents": 42, "id": "forged", "version": 77, "stock": 999,
            "created_at": "2000-01-01T00:00:00.000Z", "updated_at": "2000-01-01T00:00:00.000Z"}
    response = admin.put(f"/products/{product['id']}", sent)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["id"] == product["id"]
    assert replaced["stock"] == 4
    assert replaced["version"] == product["version"] + 1
    assert replaced["created_at"] == product["created_at"]
    assert replaced["updated_at"] >= product["updated_at"]
    assert replaced["name"] == "Replaced Name" and replaced["price_cents"] == 42
    assert response.headers["ETag"] == anon.get(f"/products/{product['id']}").headers["ETag"]
    assert anon.get(f"/products/{product['id']}").json() == replaced


def test_if_match_stale_is_412_and_current_is_200(admin: ApiClient, make_product: MakeProduct) -> None:
    product = make_product()
    etag = admin.get(f"/products/{product['id']}").headers["ETag"]
    first = admin.put(f"/products/{product['id']}", {**_editable(product), "name": "Edit One"},
                      headers={"If-Match": etag})
    assert first.status_code == 200, first.text
    stale = admin.put(f"/products/{product['id']}", {**_editable(product), "name": "Edit Two"},
                      headers={"If-Match": etag})
    assert_error(stale, 412, "precondition_failed")
    assert admin.get(f"/products/{product['id']}").json()["name"] == "Edit One"
    current = admin.put(f"/products/{product['id']}", {**_editable(product), "name": "Edit Three"},
                        headers={"If-Match": first.headers["ETag"]})
    assert current.status_code == 200
    assert current.json()["name"] == "Edit Three"
    assert_error(admin.put(f"/products/{product['id']}", _editable(product), headers={"If-Match": '"garbage"'}),
                 412, "precondition_failed")


def test_a_stock_move_between_get_and_put_is_not_a_412(admin: ApiClient, make_product: MakeProduct) -> None:
    product = make_product(stock=10)
    got = admin.get(f"/products/{product['id']}")
    assert admin.post(f"/products/{product['id']}/stock", {"delta": -3}).json() == {"stock": 7}
    response = admin.put(f"/products/{product['id']}", {**got.json(), "name": "After A Sale"},
                         headers={"If-Match": got.headers["ETag"]})
    assert response.status_code == 200, response.text
    assert response.json()["stock"] == 7


def test_put_moves_the_category_counts(admin: ApiClient, anon: ApiClient, make_product: MakeProduct) -> None:
    before = counts(anon)
    product = make_product(category="books")
    assert counts(anon) == {**before, "books": before["books"] + 1}
    assert admin.put(f"/products/{product['id']}", {**product, "category": "apparel"}).status_code == 200
    assert counts(anon) == {**before, "apparel": before["apparel"] + 1}
    assert admin.delete(f"/products/{product['id']}").status_code == 204
    assert counts(anon) == before


@pytest.mark.parametrize(("case", "payload"), [(c, p) for c, p in BAD_BODIES
                                                if c not in ("read-only-field-on-create", "string-stock",
                                                             "negative-stock", "stock-over-limit")],
                         ids=[c for c, _ in BAD_BODIES if c not in ("read-only-field-on-create", "string-stock",
                                                                    "negative-stock", "stock-over-limit")])
def test_bad_put_bodies_are_a_400_and_nothing_changes(
    admin: ApiClient, anon: ApiClient, make_product: MakeProduct, case: str, payload: Any
) -> None:
    product = make_product()
    before = counts(anon)
    if isinstance(payload, str) or payload is None:
        response = admin.put(f"/products/{product['id']}", raw=payload or "")
    else:
        response = admin.put(f"/products/{product['id']}", payload)
    assert_error(response, 400, "validation_error")
    assert anon.get(f"/products/{product['id']}").json() == product
    assert counts(anon) == before


def test_put_to_another_products_sku_is_a_409(admin: ApiClient, make_product: MakeProduct) -> None:
    product = make_product()
    other = make_product()
    assert_error(admin.put(f"/products/{product['id']}", {**product, "sku": other["sku"]}), 409, "conflict")
    assert admin.get(f"/products/{product['id']}").json() == product


def test_put_to_an_unknown_product_is_a_404(admin: ApiClient) -> None:
    assert_error(admin.put("/products/no-such-product", body()), 404, "not_found")


# -- DELETE /products/{id} ------------------------------------------------------------------


def test_delete_is_204_then_404(admin: ApiClient, anon: ApiClient) -> None:
    before = counts(anon)
    product_body = body(category="coffee")
    product = admin.post("/products", product_body).json()
    response = admin.delete(f"/products/{product['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_error(anon.get(f"/products/{product['id']}"), 404, "not_found")
    assert_error(admin.delete(f"/products/{product['id']}"), 404, "not_found")
    assert counts(anon) == before
    assert walk(anon, q=name_word(product_body)) == []
    # the sku is free again
    again = admin.post("/products", product_body)
    assert again.status_code == 201
    admin.delete(f"/products/{again.json()['id']}")


# -- POST /products/{id}/stock --------------------------------------------------------------


def test_stock_delta_set_and_never_below_zero(admin: ApiClient, anon: ApiClient, make_product: MakeProduct) -> None:
    product = make_product(stock=3)
    url = f"/products/{product['id']}/stock"
    assert admin.post(url, {"delta": 2}).json() == {"stock": 5}
    assert admin.post(url, {"delta": -5}).json() == {"stock": 0}
    error = assert_error(admin.post(url, {"delta": -1}), 409, "out_of_stock")
    assert error["details"]
    assert admin.post(url, {"set": 12}).json() == {"stock": 12}
    assert_error(admin.post(url, {"delta": -13}), 409, "out_of_stock")
    assert anon.get(f"/products/{product['id']}").json()["stock"] == 12
    assert admin.post(url, {"set": 0}).json() == {"stock": 0}
    assert admin.post(url, {"delta": 0}).json() == {"stock": 0}


@pytest.mark.parametrize("payload", [
    {}, {"delta": 1, "set": 1}, {"delta": "1"}, {"delta": 1.0}, {"delta": 1.5}, {"delta": True}, {"set": -1},
    {"set": None}, {"delta": None}, {"amount": 1}, {"delta": 1, "note": "x"}, [1], "delta", 5, {"set": 1_000_001},
])
def test_bad_stock_bodies_are_a_400(admin: ApiClient, anon: ApiClient, make_product: MakeProduct,
                                    payload: Any) -> None:
    product = make_product(stock=3)
    assert_error(admin.post(f"/products/{product['id']}/stock", payload), 400, "validation_error")
    assert anon.get(f"/products/{product['id']}").json()["stock"] == 3


@pytest.mark.parametrize("raw", ["", "{", "{\"delta\": 1}}", "null"])
def test_malformed_stock_bodies_are_a_400(admin: ApiClient, make_product: MakeProduct, raw: str) -> None:
    product = make_product(stock=3)
    assert_error(admin.post(f"/products/{product['id']}/stock", raw=raw), 400, "validation_error")


def test_stock_of_an_unknown_product_is_a_404(admin: ApiClient) -> None:
    for payload in ({"delta": 1}, {"delta": -1}, {"set": 1}):
        assert_error(admin.post("/products/no-such-product/stock", payload), 404, "not_found")
    assert_error(admin.get("/products/no-such-product"), 404, "not_found")


# -- GET /categories ------------------------------------------------------------------------


def test_categories_have_exact_counts(anon: ApiClient, admin: ApiClient, make_product: MakeProduct) -> None:
    response = anon.get("/categories")
    assert response.status_code == 200
    items = response.json()["items"]
    assert {c["slug"] for c in items} >= {"coffee", "tea", "kitchen", "books", "apparel", "outdoor"}
    assert all(set(c) == {"slug", "name", "product_count"} for c in items)
    for category in items:
        listed = walk(anon, category=category["slug"], limit=100)
        assert len(listed) == category["product_count"], category
    before = counts(anon)
    a = make_product(category="kitchen")
    make_product(category="kitchen")
    assert counts(anon) == {**before, "kitchen": before["kitchen"] + 2}
    admin.put(f"/products/{a['id']}", {**a, "category": "outdoor"})
    assert counts(anon) == {**before, "kitchen": before["kitchen"] + 1, "outdoor": before["outdoor"] + 1}
    admin.delete(f"/products/{a['id']}")
    assert counts(anon) == {**before, "kitchen": before["kitchen"] + 1}


# -- the whole seeded catalog, page by page -------------------------------------------------


def _seeded_skus() -> set[str]:
    from infra.local.seed_data import products

    return {str(p["sku"]) for p in products()}


def test_walking_all_products_returns_each_exactly_once(anon: ApiClient) -> None:
    items = walk(anon, limit=7)
    ids = [p["id"] for p in items]
    assert len(ids) == len(set(ids))
    assert _seeded_skus() <= {p["sku"] for p in items}
    assert len(items) == sum(counts(anon).values())
    assert {p["id"] for p in walk(anon, limit=100)} == set(ids)
    names = [p["name"].casefold() for p in items]
    assert names == sorted(names)


def test_walking_each_category_returns_each_product_exactly_once(anon: ApiClient) -> None:
    everything = {p["id"]: p for p in walk(anon, limit=100)}
    seen: list[str] = []
    for slug, count in counts(anon).items():
        items = walk(anon, category=slug, limit=3)
        assert len(items) == count
        assert all(p["category"] == slug for p in items)
        seen.extend(p["id"] for p in items)
    assert sorted(seen) == sorted(everything)


def _matches(name: str, q: str) -> bool:
    from catalog_lambda.text import words

    name_words = words(name)
    return all(any(w.startswith(qw) for w in name_words) for qw in words(q))


@pytest.mark.parametrize(("q", "category"), [("coffee", None), ("t", None), ("c", "coffee"), ("tea", "books"),
                                             ("b", None), ("Travel MUG", None), ("home b", None)])
def test_searching_the_seeded_catalog_matches_the_contract(anon: ApiClient, q: str, category: str | None) -> None:
    everything = walk(anon, limit=100)
    expected = {p["id"] for p in everything if _matches(p["name"], q) and category in (None, p["category"])}
    found = walk(anon, q=q, limit=3, **({"category": category} if category else {}))
    ids = [p["id"] for p in found]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert expected, "the query should find something in the seeded catalog"


@pytest.mark.parametrize("char", ["\u1f80", "\U0001d400"])
def test_long_unicode_names_are_created_found_and_paged(anon: ApiClient, make_product: MakeProduct,
                                                        char: str) -> None:
    # U+1F80 casefolds to 5 bytes, U+1D400 is 4 bytes: near DynamoDB's 1,024-byte key limit and
    # the API's own cursor length limit. Valid names must never be a 500, and every
    # cursor the API issues must be accepted back.
    products = [make_product(name=char * 198 + f" {i}", category="apparel") for i in range(3)]
    ids = {p["id"] for p in products}
    assert {p["id"] for p in walk(anon, q=char * 100, limit=1)} == ids
    assert {p["id"] for p in walk(anon, q=char * 198 + " 1", limit=1)} == {products[1]["id"]}
    assert ids <= {p["id"] for p in walk(anon, category="apparel", limit=1)}
