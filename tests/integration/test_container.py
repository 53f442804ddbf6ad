"""The container service (gunicorn + Flask, as the image runs it), started by the local stack:
server-rendered product pages, the sitemap, the health check, cache headers, the 404 page,
and the same pages reached through the storefront origin."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

from tests.conftest import LocalStack

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class PageParser(HTMLParser):
    """The bits of a page the tests read: meta tags, link rels, JSON-LD blocks, title, h1."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.json_ld: list[str] = []
        self.title = ""
        self.h1 = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = a.get("property") or a.get("name")
            if key:
                self.meta[key] = a.get("content", "")
        elif tag == "link" and a.get("rel"):
            self.links[a["rel"]] = a.get("href", "")
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in = "json_ld"
            self.json_ld.append("")
        elif tag in ("title", "h1"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "json_ld":
            self.json_ld[-1] += data
        elif self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


@pytest.fixture
def server(local_stack: LocalStack) -> str:
    return local_stack.server_url


def test_healthz_answers_ok_and_is_not_cached(server: str) -> None:
    response = requests.get(f"{server}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_can_render_a_product_page_with_open_graph_and_json_ld(
    server: str, local_stack: LocalStack, make_product: Callable[..., dict[str, Any]]
) -> None:
    product = make_product(name="Oolong Reserve Tin", price_cents=2599, stock=4,
                           description="Roasted oolong, 100 g.", image_url="https://images.example.com/o.jpg")
    response = requests.get(f"{server}/p/{product['id']}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "max-age=60" in response.headers["Cache-Control"]
    assert response.headers["Cache-Control"].startswith("public")
    page = parse(response.text)
    assert page.h1 == "Oolong Reserve Tin"
    assert page.title.startswith("Oolong Reserve Tin")
    url = f"{local_stack.site_url}/p/{product['id']}"
    assert page.links["canonical"] == url
    assert page.meta["og:type"] == "product"
    assert page.meta["og:title"] == "Oolong Reserve Tin"
    assert page.meta["og:description"] == "Roasted oolong, 100 g."
    assert page.meta["og:url"] == url
    assert page.meta["og:image"] == "https://images.example.com/o.jpg"
    assert page.meta["product:price:amount"] == "25.99"
    [block] = page.json_ld
    data = json.loads(block)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Product"
    assert data["name"] == "Oolong Reserve Tin"
    assert data["sku"] == product["sku"]
    assert data["image"] == "https://images.example.com/o.jpg"
    assert data["offers"] == {"@type": "Offer", "url": url, "price": "25.99", "priceCurrency": "USD",
                              "availability": "https://schema.org/InStock"}


def test_product_page_escapes_everything_it_shows(server: str, make_product: Callable[..., dict[str, Any]]) -> None:
    name = '</script><script>alert("x")</script> & <b>'
    description = "\"quoted\" 'single' <img src=x onerror=alert(1)> & more"
    product = make_product(name=name, description=description, stock=0)
    response = requests.get(f"{server}/p/{product['id']}", timeout=10)
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "<img src=x" not in response.text
    assert "<b>" not in response.text
    page = parse(response.text)
    assert page.h1 == name
    assert page.meta["og:title"] == name
    assert page.meta["og:description"] == description
    [block] = page.json_ld
    data = json.loads(block)
    assert data["name"] == name and data["description"] == description
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"


def test_product_page_answers_304_to_a_matching_etag(server: str, make_product: Callable[..., dict[str, Any]]) -> None:
    product = make_product()
    first = requests.get(f"{server}/p/{product['id']}", timeout=10)
    etag = first.headers["ETag"]
    again = requests.get(f"{server}/p/{product['id']}", headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("path", ["/p/no-such-product", "/p/" + "x" * 300, "/p/%00", "/nothing/here"])
def test_unknown_pages_get_the_404_page(server: str, path: str) -> None:
    response = requests.get(f"{server}{path}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "public, max-age=30"
    page = parse(response.text)
    assert page.h1 == "Page not found"
    assert page.meta["robots"] == "noindex"


def test_sitemap_is_a_urlset_listing_every_product(
    server: str, local_stack: LocalStack, make_product: Callable[..., dict[str, Any]]
) -> None:
    product = make_product(name="Sitemap Listed Tea")
    response = requests.get(f"{server}/sitemap.xml", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP_NS}urlset"
    locs = [url.findtext(f"{SITEMAP_NS}loc") for url in root.findall(f"{SITEMAP_NS}url")]
    assert f"{local_stack.site_url}/p/{product['id']}" in locs
    total = sum(c["product_count"] for c in requests.get(f"{local_stack.api_url}/categories", timeout=10)
                .json()["items"])
    assert len(locs) == len(set(locs)) == total
    assert all(url.findtext(f"{SITEMAP_NS}lastmod") for url in root.findall(f"{SITEMAP_NS}url"))


def test_category_sitemap_lists_only_that_category(
    server: str, local_stack: LocalStack, make_product: Callable[..., dict[str, Any]]
) -> None:
    tea = make_product(category="tea")
    coffee = make_product(category="coffee")
    response = requests.get(f"{server}/p/sitemap-tea-1.xml", timeout=30)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    locs = {url.findtext(f"{SITEMAP_NS}loc") for url in root.findall(f"{SITEMAP_NS}url")}
    assert f"{local_stack.site_url}/p/{tea['id']}" in locs
    assert f"{local_stack.site_url}/p/{coffee['id']}" not in locs


@pytest.mark.parametrize("path", ["/p/sitemap-tea-0.xml", "/p/sitemap-tea-x.xml", "/p/sitemap-Tea-1.xml",
                                  "/p/sitemap--1.xml", "/p/sitemap-tea-999.xml", "/sitemap-tea-1.xml"])
def test_sitemap_chunks_that_do_not_exist_are_404(server: str, path: str) -> None:
    assert requests.get(f"{server}{path}", timeout=10).status_code == 404


def test_storefront_origin_routes_product_pages_and_sitemap_to_the_container(
    local_stack: LocalStack, make_product: Callable[..., dict[str, Any]]
) -> None:
    product = make_product(name="Routed Through The Storefront")
    site = local_stack.site_url
    page = requests.get(f"{site}/p/{product['id']}", timeout=10)
    assert page.status_code == 200
    assert parse(page.text).h1 == "Routed Through The Storefront"
    assert page.headers["ETag"] and "max-age=60" in page.headers["Cache-Control"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    missing = requests.get(f"{site}/p/nope", timeout=10)
    assert missing.status_code == 404 and parse(missing.text).h1 == "Page not found"
    sitemap = requests.get(f"{site}/sitemap.xml", timeout=30)
    assert sitemap.status_code == 200
    assert ET.fromstring(sitemap.content).tag == f"{SITEMAP_NS}urlset"
