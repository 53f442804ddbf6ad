"""The container app over the real catalog service (moto in process): the sitemap switches
to an index above its URL limit and pages through GSI queries, never a Scan; product
pages render and escape; errors become pages, never stack traces."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from storefront_server.app import create_app
from storefront_server.settings import ServerSettings

from catalog_lambda.catalog import CatalogService
from catalog_lambda.errors import UnavailableError
from catalog_lambda.money import decimal_amount, display_price

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "https://shop.example.com"


def client_for(catalog: Any, max_urls: int = 50_000) -> FlaskClient:
    app = create_app(catalog, ServerSettings(public_base_url=BASE + "/", sitemap_max_urls=max_urls))
    return app.test_client()


def locs(body: bytes, element: str = "url") -> list[str]:
    root = ET.fromstring(body)
    return [e.findtext(f"{NS}loc") or "" for e in root.findall(f"{NS}{element}")]


@pytest.fixture
def seven(new_product: Callable[..., dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tea = [new_product(name=f"Tea number {i}", category="tea") for i in range(4)]
    coffee = [new_product(name=f"Coffee number {i}", category="coffee") for i in range(3)]
    return {"tea": tea, "coffee": coffee}


def test_sitemap_is_one_urlset_up_to_the_limit(catalog: CatalogService, seven: dict[str, list[dict[str, Any]]],
                                              dynamodb_calls: Any) -> None:
    with dynamodb_calls() as log:
        response = client_for(catalog, max_urls=7).get("/sitemap.xml")
    assert response.status_code == 200
    expected = {f"{BASE}/p/{p['id']}" for group in seven.values() for p in group}
    assert set(locs(response.data)) == expected
    assert "Scan" not in log.operations


def test_sitemap_becomes_an_index_of_category_chunks_above_the_limit(
    catalog: CatalogService, seven: dict[str, list[dict[str, Any]]], dynamodb_calls: Any
) -> None:
    client = client_for(catalog, max_urls=3)
    index = client.get("/sitemap.xml")
    assert ET.fromstring(index.data).tag == f"{NS}sitemapindex"
    chunks = [f"{BASE}/p/sitemap-coffee-1.xml", f"{BASE}/p/sitemap-tea-1.xml", f"{BASE}/p/sitemap-tea-2.xml"]
    assert locs(index.data, "sitemap") == chunks
    seen: list[str] = []
    with dynamodb_calls() as log:
        for chunk in chunks:
            response = client.get(chunk.removeprefix(BASE))
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "public, max-age=3600"
            seen += locs(response.data)
    assert "Scan" not in log.operations
    # Every product once, and each chunk lists only URLs below its own folder (/p/).
    assert sorted(seen) == sorted(f"{BASE}/p/{p['id']}" for group in seven.values() for p in group)
    assert client.get("/p/sitemap-tea-3.xml").status_code == 404
    assert client.get("/p/sitemap-books-1.xml").status_code == 200  # page 1 exists even when empty
    assert client.get("/p/sitemap-books-2.xml").status_code == 404


def test_product_page_renders_escaped_open_graph_and_json_ld(
    catalog: CatalogService, new_product: Callable[..., dict[str, Any]]
) -> None:
    product = new_product(name="<Sencha> & \"Matcha\"", price_cents=1999, stock=0)
    response = client_for(catalog).get(f"/p/{product['id']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<Sencha>" not in html
    assert 'content="&lt;Sencha&gt; &amp; &#34;Matcha&#34;"' in html
    start = html.index('<script type="application/ld+json">') + len('<script type="application/ld+json">')
    data = json.loads(html[start:html.index("</script>", start)])
    assert data["name"] == "<Sencha> & \"Matcha\""
    assert data["offers"]["price"] == "19.99"
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"
    assert f'<link rel="canonical" href="{BASE}/p/{product["id"]}">' in html


def test_unknown_product_is_the_404_page(catalog: CatalogService) -> None:
    response = client_for(catalog).get("/p/nope")
    assert response.status_code == 404
    assert b"Page not found" in response.data


class FailingCatalog:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_product(self, product_id: str) -> dict[str, Any]:
        raise self.error

    def list_products(self, category: str | None = None, q: str | None = None, limit: str | None = None,
                      cursor: str | None = None) -> dict[str, Any]:
        raise self.error

    def list_categories(self) -> dict[str, Any]:
        raise self.error


def test_throttling_is_a_503_page_with_retry_after() -> None:
    response = client_for(FailingCatalog(UnavailableError("busy", retry_after=2))).get("/p/x")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_bug_is_a_500_page_without_the_trace() -> None:
    response = client_for(FailingCatalog(RuntimeError("secret detail"))).get("/sitemap.xml")
    assert response.status_code == 500
    assert b"secret detail" not in response.data and b"Traceback" not in response.data


@pytest.mark.parametrize(("minor", "currency", "amount", "shown"), [
    (1650, "USD", "16.50", "$16.50"), (5, "EUR", "0.05", "€0.05"), (1200, "JPY", "1200", "¥1200"),
    (12345, "KWD", "12.345", "12.345 KWD"), (0, "CHF", "0.00", "0.00 CHF"),
])
def test_prices_are_exact_decimals(minor: int, currency: str, amount: str, shown: str) -> None:
    assert decimal_amount(minor, currency) == amount
    assert display_price(minor, currency) == shown


def test_settings_refuse_a_sitemap_limit_above_the_protocol() -> None:
    with pytest.raises(ValueError):
        ServerSettings(sitemap_max_urls=50_001)
    assert ServerSettings.from_env({"PUBLIC_BASE_URL": "https://x.example/"}).public_base_url == "https://x.example"


def test_settings_name_every_missing_one() -> None:
    from storefront_server.settings import MissingSettingsError, missing_settings, require_settings

    assert missing_settings({}) == ["PUBLIC_BASE_URL", "PRODUCTS_TABLE", "AWS_REGION or AWS_DEFAULT_REGION",
                                    "CURSOR_SECRET_NAME or CURSOR_SIGNING_KEY"]
    complete = {"PUBLIC_BASE_URL": "https://shop.example", "PRODUCTS_TABLE": "t", "AWS_DEFAULT_REGION": "eu-west-1",
                "CURSOR_SIGNING_KEY": "k"}
    assert missing_settings(complete) == []
    assert missing_settings({**complete, "PRODUCTS_TABLE": " "}) == ["PRODUCTS_TABLE"]
    with pytest.raises(MissingSettingsError, match="PUBLIC_BASE_URL"):
        require_settings({**complete, "PUBLIC_BASE_URL": ""})


def test_the_production_factory_refuses_to_build_without_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from storefront_server.settings import MissingSettingsError

    for name in ("PUBLIC_BASE_URL", "PRODUCTS_TABLE", "CURSOR_SECRET_NAME", "CURSOR_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingSettingsError, match="PRODUCTS_TABLE"):
        create_app()
