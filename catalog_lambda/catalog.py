"""The catalog service: products, categories and stock, as the API contract describes them."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from catalog_lambda.clock import new_id
from catalog_lambda.cursor import CursorCodec
from catalog_lambda.errors import ValidationError
from catalog_lambda.models import CategoryModel, ProductModel
from catalog_lambda.repositories.products import ProductRepository
from catalog_lambda.settings import Settings
from catalog_lambda.text import words

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_QUERY_LENGTH = 200
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ETAG = re.compile(r'^(?:W/)?"(\d{1,12})-([0-9a-f]{16})"$')


def product_dict(product: ProductModel) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "description": product.description or "",
        "category": product.category,
        "price_cents": int(product.price_cents),
        "currency": product.currency,
        "stock": int(product.stock),
        "image_url": product.image_url,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "version": int(product.version),
    }


def etag_for(representation: dict[str, Any]) -> str:
    """Strong ETag: the edit version (for If-Match) plus a digest of the whole representation
    (stock included), so a 304 is never stale and If-Match ignores stock moves."""
    digest = hashlib.sha256(json.dumps(representation, sort_keys=True).encode()).hexdigest()[:16]
    return f'"{representation["version"]}-{digest}"'


UNMATCHABLE_VERSION = -1


def version_from_if_match(if_match: str) -> int | None:
    """The version an If-Match header guards: None for ``*``, and a version no product
    has when the header names none of ours (the write then fails 412 after the
    existence check, keeping the contract's order of checks)."""
    value = if_match.strip()
    if value == "*":
        return None
    # Several ETags may be listed; any of ours will do, they must name one version.
    versions = set()
    for candidate in value.split(","):
        match = _ETAG.match(candidate.strip())
        if match:
            versions.add(int(match.group(1)))
    if len(versions) != 1:
        return UNMATCHABLE_VERSION
    return versions.pop()


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        raise ValidationError("limit must be an integer from 1 to 100", [{"field": "limit", "issue": "not an integer"}])
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError("limit must be an integer from 1 to 100", [{"field": "limit", "issue": "out of range"}])
    return value


def _category_filter(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) > 64 or not _SLUG.match(raw):
        raise ValidationError("category must be a category slug", [{"field": "category", "issue": "not a slug"}])
    return raw


class CatalogService:
    def __init__(self, settings: Settings, repository: ProductRepository, cursors: CursorCodec) -> None:
        self._settings = settings
        self._repo = repository
        self._cursors = cursors

    # -- reads -----------------------------------------------------------------------

    def get_product(self, product_id: str) -> dict[str, Any]:
        return product_dict(self._repo.get(product_id))

    def list_products(
        self, category: str | None = None, q: str | None = None, limit: str | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        size = parse_limit(limit)
        slug = _category_filter(category)
        query = q or ""
        if len(query) > MAX_QUERY_LENGTH:
            raise ValidationError("q is too long", [{"field": "q", "issue": f"at most {MAX_QUERY_LENGTH} characters"}])
        query_words = words(query)
        scope = json.dumps([slug, sorted(query_words)])
        start_key = self._cursors.decode(cursor, scope) if cursor else None
        if query_words:
            page = self._repo.search(query_words, slug, size, start_key)
        else:
            page = self._repo.list_products(slug, size, start_key)
        next_cursor = self._cursors.encode(page.next_key, scope) if page.next_key else None
        return {"items": [product_dict(p) for p in page.items], "next_cursor": next_cursor}

    def list_categories(self) -> dict[str, Any]:
        return {"items": [category_dict(c) for c in self._repo.list_categories()]}

    # -- writes ----------------------------------------------------------------------

    def create_product(self, body: Any) -> dict[str, Any]:
        from catalog_lambda.schemas import ProductCreate, parse

        data = parse(ProductCreate, body)
        fields = data.model_dump(exclude={"stock"})
        return product_dict(self._repo.create(fields, new_id(), data.stock))

    def replace_product(self, product_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        from catalog_lambda.schemas import ProductReplace, parse

        data = parse(ProductReplace, body)
        fields = data.model_dump(include=set(ProductReplace.model_fields) - {"id", "version", "stock",
                                                                            "created_at", "updated_at"})
        expected = version_from_if_match(if_match) if if_match is not None else None
        return product_dict(self._repo.replace(product_id, fields, expected))

    def delete_product(self, product_id: str) -> None:
        self._repo.delete(product_id)

    def change_stock(self, product_id: str, body: Any) -> dict[str, int]:
        from catalog_lambda.schemas import StockChange, parse

        change = parse(StockChange, body)
        return {"stock": self._repo.adjust_stock(product_id, delta=change.delta, set_to=change.set)}

    def create_category(self, slug: str, name: str) -> dict[str, Any]:
        from catalog_lambda.schemas import CategoryCreate, parse

        data = parse(CategoryCreate, {"slug": slug, "name": name})
        return category_dict(self._repo.create_category(data.slug, data.name))


def category_dict(category: CategoryModel) -> dict[str, Any]:
    return {"slug": category.sk, "name": category.name, "product_count": int(category.product_count)}
