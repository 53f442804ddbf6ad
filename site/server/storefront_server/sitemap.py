"""Sitemaps built by paging through the catalog service (GSI queries, never a Scan).

Up to ``max_urls`` products (the protocol's 50,000 by default) fit one ``urlset``.
Above that, ``/sitemap.xml`` is a sitemap index naming one child sitemap per
category chunk, ``/p/sitemap-<category>-<n>.xml``: under ``/p/`` because CloudFront
routes that path here (with no query string in its cache key), and because a sitemap
may only list URLs below its own folder, which product pages (``/p/<id>``) are.
Category counts are exact, so the index is built from one categories read.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any, Protocol
from xml.sax.saxutils import escape

XMLNS = "http://www.sitemaps.org/schemas/sitemap/0.9"
PAGE_SIZE = "100"


class Catalog(Protocol):
    """What the container app needs of ``catalog_lambda.catalog.CatalogService``."""

    def get_product(self, product_id: str) -> dict[str, Any]: ...

    def list_products(self, category: str | None = None, q: str | None = None, limit: str | None = None,
                      cursor: str | None = None) -> dict[str, Any]: ...

    def list_categories(self) -> dict[str, Any]: ...


def iter_products(catalog: Catalog, category: str | None) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        page = catalog.list_products(category=category, limit=PAGE_SIZE, cursor=cursor)
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def product_url(base_url: str, product_id: str) -> str:
    from urllib.parse import quote

    return f"{base_url}/p/{quote(product_id, safe='')}"


def chunk_url(base_url: str, category: str, page: int) -> str:
    return f"{base_url}/p/sitemap-{category}-{page}.xml"


def urlset(base_url: str, products: Iterator[dict[str, Any]], max_urls: int) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<urlset xmlns="{XMLNS}">\n']
    for count, product in enumerate(products):
        if count >= max_urls:
            break
        parts.append(f"<url><loc>{escape(product_url(base_url, product['id']))}</loc>"
                     f"<lastmod>{escape(str(product['updated_at']))}</lastmod></url>\n")
    parts.append("</urlset>\n")
    return "".join(parts)


def index(base_url: str, categories: list[dict[str, Any]], max_urls: int) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<sitemapindex xmlns="{XMLNS}">\n']
    for category in categories:
        pages = -(-int(category["product_count"]) // max_urls)
        for page in range(1, pages + 1):
            loc = chunk_url(base_url, category["slug"], page)
            parts.append(f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n")
    parts.append("</sitemapindex>\n")
    return "".join(parts)


def root_sitemap(catalog: Catalog, base_url: str, max_urls: int) -> str:
    categories = catalog.list_categories()["items"]
    total = sum(int(c["product_count"]) for c in categories)
    if total <= max_urls:
        return urlset(base_url, iter_products(catalog, None), max_urls)
    return index(base_url, categories, max_urls)


def category_sitemap(catalog: Catalog, base_url: str, category: str, page: int, max_urls: int) -> str | None:
    """One chunk of one category: products ``(page-1)*max_urls`` onwards, in name order;
    None for a chunk past the end (page 1 always exists, empty or not)."""
    products = iter_products(catalog, category)
    for _ in range((page - 1) * max_urls):
        if next(products, None) is None:
            return None
    first = next(products, None)
    if first is None:
        return None if page > 1 else urlset(base_url, iter(()), max_urls)
    return urlset(base_url, chain([first], products), max_urls)
