"""Sitemaps built by paging through the catalog service (GSI queries, never a Scan).

Up to ``max_urls`` products (the protocol's 50,000 by default) fit one ``urlset``.
Above that, ``/sitemap.xml`` is a sitemap index naming one child sitemap per
category chunk (``/sitemap.xml?category=tea&page=2``): the child URLs stay under the
``/sitemap.xml`` path that CloudFront routes here. Category counts are exact, so the
index is built from one categories read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlencode
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
            query = urlencode({"category": category["slug"], "page": page})
            parts.append(f"<sitemap><loc>{escape(f'{base_url}/sitemap.xml?{query}')}</loc></sitemap>\n")
    parts.append("</sitemapindex>\n")
    return "".join(parts)


def root_sitemap(catalog: Catalog, base_url: str, max_urls: int) -> str:
    categories = catalog.list_categories()["items"]
    total = sum(int(c["product_count"]) for c in categories)
    if total <= max_urls:
        return urlset(base_url, iter_products(catalog, None), max_urls)
    return index(base_url, categories, max_urls)


def category_sitemap(catalog: Catalog, base_url: str, category: str, page: int, max_urls: int) -> str:
    """One chunk of one category: products ``(page-1)*max_urls`` onwards, in name order."""
    products = iter_products(catalog, category)
    skip = (page - 1) * max_urls
    for _ in range(skip):
        if next(products, None) is None:
            break
    return urlset(base_url, products, max_urls)
