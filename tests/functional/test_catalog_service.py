"""The catalog service and its repository over moto's in-process DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog_lambda.catalog import CatalogService, etag_for
from catalog_lambda.errors import (
    DuplicateSkuError,
    OutOfStockError,
    PreconditionFailedError,
    ProductNotFoundError,
    ValidationError,
)
from tests.functional.conftest import product_body

NewProduct = Callable[..., dict[str, Any]]
READ_ONLY = ("id", "version", "stock", "created_at", "updated_at")


def counts(catalog: CatalogService) -> dict[str, int]:
    return {c["slug"]: c["product_count"] for c in catalog.list_categories()["items"]}


def editable(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if k not in READ_ONLY}


def walk(catalog: CatalogService, **query: Any) -> list[dict[str, Any]]:
    """Every item of a listing, page by page, with at most 100 pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = catalog.list_products(cursor=cursor, **query)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the listing did not end within 100 pages")


# -- create / get / replace / delete ------------------------------------------------------


def test_can_create_and_get_a_product(catalog: CatalogService) -> None:
    body = product_body(image_url="https://img.example.com/a.jpg", stock=7)
    created = catalog.create_product(body)
    assert set(created) == {"id", "sku", "name", "description", "category", "price_cents", "currency", "stock",
                            "image_url", "created_at", "updated_at", "version"}
    assert {k: created[k] for k in body} == body
    assert created["version"] == 1
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"].endswith("Z")
    assert catalog.get_product(created["id"]) == created


def test_stock_defaults_to_zero_and_image_url_to_null(catalog: CatalogService) -> None:
    body = product_body()
    del body["stock"]
    created = catalog.create_product(body)
    assert created["stock"] == 0
    assert created["image_url"] is None


def test_getting_an_unknown_product_is_not_found(catalog: CatalogService) -> None:
    with pytest.raises(ProductNotFoundError):
        catalog.get_product("no-such-product")


def test_can_replace_the_editable_fields(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(image_url="https://img.example.com/a.jpg")
    body = product_body(name="Renamed Thing", category="coffee", price_cents=99, image_url=None)
    del body["stock"]
    replaced = catalog.replace_product(product["id"], {**body, **{k: product[k] for k in READ_ONLY}})
    assert editable(replaced) == {**body, "image_url": None}
    assert replaced["version"] == product["version"] + 1
    assert replaced["created_at"] == product["created_at"]
    assert replaced["stock"] == product["stock"]
    assert catalog.get_product(product["id"]) == replaced


def test_read_only_fields_sent_back_are_ignored(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    forged = {**product, "id": "other", "version": 99, "stock": 1000, "created_at": "2000-01-01T00:00:00Z",
              "updated_at": "2000-01-01T00:00:00Z"}
    replaced = catalog.replace_product(product["id"], forged)
    assert replaced["id"] == product["id"]
    assert replaced["stock"] == 5
    assert replaced["version"] == 2
    assert replaced["created_at"] == product["created_at"]


def test_replacing_an_unknown_product_is_not_found(catalog: CatalogService) -> None:
    body = product_body()
    del body["stock"]
    with pytest.raises(ProductNotFoundError):
        catalog.replace_product("missing", body)


def test_can_delete_a_product(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product()
    catalog.delete_product(product["id"])
    with pytest.raises(ProductNotFoundError):
        catalog.get_product(product["id"])
    with pytest.raises(ProductNotFoundError):
        catalog.delete_product(product["id"])
    assert catalog.list_products(q="plain")["items"] == []


# -- sku uniqueness -------------------------------------------------------------------------


def test_a_duplicate_sku_is_refused(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(sku="DUP-1")
    before = counts(catalog)
    with pytest.raises(DuplicateSkuError):
        new_product(sku="DUP-1", name="Another One")
    assert counts(catalog) == before
    assert [p["id"] for p in walk(catalog)] == [product["id"]]
    assert catalog.list_products(q="another")["items"] == []


def test_skus_are_case_sensitive(new_product: NewProduct) -> None:
    new_product(sku="case-a")
    new_product(sku="CASE-A")


def test_changing_the_sku_frees_the_old_one(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(sku="OLD-1")
    catalog.replace_product(product["id"], {**product, "sku": "NEW-1"})
    new_product(sku="OLD-1")
    with pytest.raises(DuplicateSkuError):
        new_product(sku="NEW-1")


def test_replacing_with_another_products_sku_is_refused(catalog: CatalogService, new_product: NewProduct) -> None:
    first = new_product(sku="FIRST")
    second = new_product(sku="SECOND")
    with pytest.raises(DuplicateSkuError):
        catalog.replace_product(second["id"], {**second, "sku": "FIRST"})
    assert catalog.get_product(second["id"]) == second
    # SECOND is still taken by the unchanged product
    with pytest.raises(DuplicateSkuError):
        new_product(sku="SECOND")
    assert catalog.get_product(first["id"]) == first


def test_deleting_frees_the_sku(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(sku="GONE-1")
    catalog.delete_product(product["id"])
    new_product(sku="GONE-1")


# -- category counts ------------------------------------------------------------------------


def test_category_counts_are_exact_through_create_move_and_delete(
    catalog: CatalogService, new_product: NewProduct
) -> None:
    assert set(counts(catalog).values()) == {0}
    a = new_product(category="tea")
    new_product(category="tea")
    new_product(category="books")
    assert counts(catalog)["tea"] == 2 and counts(catalog)["books"] == 1
    catalog.replace_product(a["id"], {**a, "category": "books"})
    assert counts(catalog)["tea"] == 1 and counts(catalog)["books"] == 2
    moved = catalog.get_product(a["id"])
    catalog.replace_product(a["id"], {**moved, "name": "Same Category Edit"})
    assert counts(catalog)["tea"] == 1 and counts(catalog)["books"] == 2
    catalog.delete_product(a["id"])
    assert counts(catalog)["tea"] == 1 and counts(catalog)["books"] == 1
    assert sum(counts(catalog).values()) == 2


def test_categories_are_listed_with_names(catalog: CatalogService) -> None:
    items = catalog.list_categories()["items"]
    assert {c["slug"]: c["name"] for c in items}["coffee"] == "Coffee"
    assert all(set(c) == {"slug", "name", "product_count"} for c in items)
    assert len(items) == 6


def test_an_unknown_category_is_a_validation_error(catalog: CatalogService, new_product: NewProduct) -> None:
    before = counts(catalog)
    with pytest.raises(ValidationError):
        new_product(category="no-such-category")
    product = new_product()
    with pytest.raises(ValidationError):
        catalog.replace_product(product["id"], {**product, "category": "no-such-category"})
    assert catalog.get_product(product["id"]) == product
    assert counts(catalog) == {**before, "tea": before["tea"] + 1}


def test_an_unknown_category_is_reported_before_a_duplicate_sku(
    catalog: CatalogService, new_product: NewProduct
) -> None:
    # The contract's order: validation (400) before state (409).
    new_product(sku="TAKEN")
    with pytest.raises(ValidationError):
        new_product(sku="TAKEN", category="no-such-category")
    other = new_product()
    with pytest.raises(ValidationError):
        catalog.replace_product(other["id"], {**other, "sku": "TAKEN", "category": "no-such-category"})


# -- optimistic concurrency and ETags -----------------------------------------------------


def test_a_stale_if_match_is_refused(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product()
    stale = etag_for(product)
    catalog.replace_product(product["id"], {**product, "name": "Edited Once"}, stale)
    with pytest.raises(PreconditionFailedError):
        catalog.replace_product(product["id"], {**product, "name": "Edited Twice"}, stale)
    assert catalog.get_product(product["id"])["name"] == "Edited Once"


def test_a_current_if_match_is_accepted(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product()
    replaced = catalog.replace_product(product["id"], {**product, "name": "Edited"}, etag_for(product))
    again = catalog.replace_product(product["id"], {**replaced, "name": "Edited Again"}, etag_for(replaced))
    assert again["version"] == 3


def test_if_match_star_and_foreign_etags(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product()
    catalog.replace_product(product["id"], {**product, "name": "Star"}, "*")
    with pytest.raises(PreconditionFailedError):
        catalog.replace_product(product["id"], {**product, "name": "Foreign"}, '"not-one-of-ours"')


def test_stock_moves_do_not_break_if_match(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    etag = etag_for(product)
    catalog.change_stock(product["id"], {"delta": 3})
    catalog.change_stock(product["id"], {"set": 1})
    replaced = catalog.replace_product(product["id"], {**product, "name": "After Stock Moves"}, etag)
    assert replaced["stock"] == 1


def test_the_etag_changes_with_stock(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    catalog.change_stock(product["id"], {"delta": 1})
    moved = catalog.get_product(product["id"])
    assert moved["version"] == product["version"]
    assert etag_for(moved) != etag_for(product)
    assert etag_for(catalog.get_product(product["id"])) == etag_for(moved)


def test_the_etag_changes_with_an_edit(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product()
    replaced = catalog.replace_product(product["id"], {**product, "price_cents": 1})
    assert etag_for(replaced) != etag_for(product)


def test_an_if_match_on_an_unknown_product_is_not_found(catalog: CatalogService) -> None:
    body = product_body()
    del body["stock"]
    with pytest.raises(ProductNotFoundError):
        catalog.replace_product("missing", body, '"1-0000000000000000"')


# -- stock ----------------------------------------------------------------------------------


def test_stock_delta_and_set(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=5)
    assert catalog.change_stock(product["id"], {"delta": 3}) == {"stock": 8}
    assert catalog.change_stock(product["id"], {"delta": -8}) == {"stock": 0}
    assert catalog.change_stock(product["id"], {"set": 42}) == {"stock": 42}
    assert catalog.change_stock(product["id"], {"set": 0}) == {"stock": 0}
    assert catalog.get_product(product["id"])["stock"] == 0


def test_stock_never_goes_below_zero(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(stock=2)
    with pytest.raises(OutOfStockError):
        catalog.change_stock(product["id"], {"delta": -3})
    assert catalog.get_product(product["id"])["stock"] == 2
    with pytest.raises(ValidationError):
        catalog.change_stock(product["id"], {"set": -1})
    assert catalog.get_product(product["id"])["stock"] == 2


def test_stock_of_an_unknown_product_is_not_found(catalog: CatalogService) -> None:
    for body in ({"delta": 1}, {"delta": -1}, {"set": 3}):
        with pytest.raises(ProductNotFoundError):
            catalog.change_stock("missing", body)
    with pytest.raises(ProductNotFoundError):
        catalog.get_product("missing")


@pytest.mark.parametrize("body", [
    {}, {"delta": 1, "set": 1}, {"delta": "1"}, {"delta": 1.0}, {"delta": True}, {"set": None},
    {"delta": None}, {"other": 1}, {"delta": 1, "other": 1}, [], "delta", {"set": 1_000_001},
])
def test_bad_stock_bodies_are_validation_errors(catalog: CatalogService, new_product: NewProduct, body: Any) -> None:
    product = new_product(stock=2)
    with pytest.raises(ValidationError):
        catalog.change_stock(product["id"], body)
    assert catalog.get_product(product["id"])["stock"] == 2


# -- listing --------------------------------------------------------------------------------


def test_listing_by_category_is_ordered_by_name(catalog: CatalogService, new_product: NewProduct) -> None:
    for name in ("banana bread", "Apple Pie", "cherry", "apple crumble"):
        new_product(name=name, category="kitchen")
    new_product(name="Aardvark", category="tea")
    names = [p["name"] for p in catalog.list_products(category="kitchen")["items"]]
    assert names == ["apple crumble", "Apple Pie", "banana bread", "cherry"]


def test_listing_everything_is_ordered_by_name(catalog: CatalogService, new_product: NewProduct) -> None:
    for name, category in (("Zebra", "tea"), ("alpha", "books"), ("Middle", "coffee")):
        new_product(name=name, category=category)
    page = catalog.list_products()
    assert [p["name"] for p in page["items"]] == ["alpha", "Middle", "Zebra"]
    assert page["next_cursor"] is None


def test_an_unknown_category_lists_nothing(catalog: CatalogService, new_product: NewProduct) -> None:
    new_product()
    assert catalog.list_products(category="nothing-here") == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1.5", "ten", " 5", "1e1", "\u0661"])
def test_a_limit_out_of_range_is_a_validation_error(catalog: CatalogService, limit: str) -> None:
    with pytest.raises(ValidationError):
        catalog.list_products(limit=limit)


def test_the_default_limit_is_20(catalog: CatalogService, new_product: NewProduct) -> None:
    for i in range(21):
        new_product(name=f"Item {i:02d}")
    page = catalog.list_products()
    assert len(page["items"]) == 20 and page["next_cursor"]
    assert len(catalog.list_products(limit="100")["items"]) == 21


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 9, 10])
def test_pagination_returns_every_product_exactly_once(
    catalog: CatalogService, new_product: NewProduct, limit: int
) -> None:
    ids = {new_product(name=f"Walk {i % 4} item", category="books" if i % 2 else "tea")["id"] for i in range(9)}
    everything = walk(catalog, limit=str(limit))
    assert sorted(p["id"] for p in everything) == sorted(ids)
    by_category = walk(catalog, limit=str(limit), category="books") + walk(catalog, limit=str(limit), category="tea")
    assert sorted(p["id"] for p in by_category) == sorted(ids)
    searched = walk(catalog, limit=str(limit), q="walk")
    assert sorted(p["id"] for p in searched) == sorted(ids)
    in_books = walk(catalog, limit=str(limit), q="item", category="books")
    assert sorted(p["id"] for p in in_books) == sorted(p["id"] for p in by_category if p["category"] == "books")


def test_an_exact_last_page_has_no_cursor(catalog: CatalogService, new_product: NewProduct) -> None:
    for i in range(4):
        new_product(name=f"Exact {i}")
    first = catalog.list_products(limit="2")
    second = catalog.list_products(limit="2", cursor=first["next_cursor"])
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


# -- search ---------------------------------------------------------------------------------


def _search(catalog: CatalogService, q: str, category: str | None = None) -> list[str]:
    return sorted(p["name"] for p in walk(catalog, q=q, category=category))


def test_search_prefix_matches_words_case_insensitively(catalog: CatalogService, new_product: NewProduct) -> None:
    new_product(name="Earl Grey Supreme", category="tea")
    new_product(name="Greyhound T-Shirt", category="apparel")
    new_product(name="Green-Tea Latte", category="tea")
    new_product(name="Evergreen", category="outdoor")
    assert _search(catalog, "grey") == ["Earl Grey Supreme", "Greyhound T-Shirt"]
    assert _search(catalog, "GRE") == ["Earl Grey Supreme", "Green-Tea Latte", "Greyhound T-Shirt"]
    assert _search(catalog, "green") == ["Green-Tea Latte"]  # "Evergreen" has no word starting so
    assert _search(catalog, "tea") == ["Green-Tea Latte"]  # split on the hyphen
    assert _search(catalog, "shirt") == ["Greyhound T-Shirt"]
    assert _search(catalog, "reen") == []


def test_every_query_word_must_match(catalog: CatalogService, new_product: NewProduct) -> None:
    new_product(name="Earl Grey Supreme")
    new_product(name="Earl Green")
    assert _search(catalog, "earl gr") == ["Earl Green", "Earl Grey Supreme"]
    assert _search(catalog, "earl   SUP") == ["Earl Grey Supreme"]
    assert _search(catalog, "sup,earl") == ["Earl Grey Supreme"]
    assert _search(catalog, "earl x") == []
    assert _search(catalog, "supreme earl grey") == ["Earl Grey Supreme"]


def test_query_and_category_combine(catalog: CatalogService, new_product: NewProduct) -> None:
    new_product(name="Camp Mug", category="outdoor")
    new_product(name="Ceramic Mug", category="kitchen")
    assert _search(catalog, "mug", "outdoor") == ["Camp Mug"]
    assert _search(catalog, "mug", "kitchen") == ["Ceramic Mug"]
    assert _search(catalog, "mug", "tea") == []
    assert _search(catalog, "mug") == ["Camp Mug", "Ceramic Mug"]


def test_a_name_with_two_words_of_the_same_prefix_appears_once(
    catalog: CatalogService, new_product: NewProduct
) -> None:
    product = new_product(name="Tea Teapot Teaspoon")
    for q in ("t", "te", "tea", "teap", "tea teas"):
        for limit in ("1", "2", "20"):
            found = walk(catalog, q=q, limit=limit)
            assert [p["id"] for p in found] == [product["id"]], (q, limit)


def test_search_follows_renames(catalog: CatalogService, new_product: NewProduct) -> None:
    product = new_product(name="Old Name")
    catalog.replace_product(product["id"], {**product, "name": "Fresh Label"})
    assert _search(catalog, "old") == []
    assert _search(catalog, "fresh") == ["Fresh Label"]


def test_search_words_are_unicode_aware(catalog: CatalogService, new_product: NewProduct) -> None:
    new_product(name="Crème Brûlée Kit")
    assert _search(catalog, "CRÈME") == ["Crème Brûlée Kit"]
    assert _search(catalog, "brû") == ["Crème Brûlée Kit"]
    assert _search(catalog, "creme") == []


def test_an_overlong_query_is_a_validation_error(catalog: CatalogService) -> None:
    with pytest.raises(ValidationError):
        catalog.list_products(q="a" * 201)


# -- cursors --------------------------------------------------------------------------------


@pytest.fixture
def cursor(catalog: CatalogService, new_product: NewProduct) -> str:
    for i in range(3):
        new_product(name=f"Cursor {i}", category="books")
    next_cursor: str = catalog.list_products(limit="1", category="books")["next_cursor"]
    assert next_cursor
    return next_cursor


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1:]


@pytest.mark.parametrize("garble", [
    lambda c: c + "x", lambda c: c[:-1], lambda c: _flip(c, 0), lambda c: _flip(c, len(c) - 1),
    lambda c: c.replace(".", ""), lambda c: c + "." + c, lambda c: "x" * 3000, lambda c: "not a cursor",
    lambda c: "é.é", lambda c: "\x00", lambda c: ".",
])
def test_a_garbled_cursor_is_a_validation_error(
    catalog: CatalogService, cursor: str, garble: Callable[[str], str]
) -> None:
    with pytest.raises(ValidationError):
        catalog.list_products(limit="1", category="books", cursor=garble(cursor))


def test_a_forged_cursor_is_a_validation_error(catalog: CatalogService, cursor: str) -> None:
    import base64
    import json

    body, signature = cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"]["pk"] = {"S": "P#someone-else"}
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(ValidationError):
        catalog.list_products(limit="1", category="books", cursor=f"{forged}.{signature}")


def test_a_cursor_signed_with_another_key_is_refused(settings: Any, catalog: CatalogService, cursor: str) -> None:
    from catalog_lambda.cursor import CursorCodec

    body = cursor.split(".")[0]
    import base64
    import json

    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    other = CursorCodec(b"y" * 32).encode(payload["k"], payload["s"])
    with pytest.raises(ValidationError):
        catalog.list_products(limit="1", category="books", cursor=other)


@pytest.mark.parametrize("query", [
    {"category": "tea"}, {}, {"q": "cursor"}, {"q": "cursor", "category": "books"},
])
def test_a_cursor_for_another_query_is_refused(catalog: CatalogService, cursor: str, query: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        catalog.list_products(limit="1", cursor=cursor, **query)


def test_a_cursor_may_change_the_page_size(catalog: CatalogService, cursor: str) -> None:
    rest = catalog.list_products(limit="5", category="books", cursor=cursor)
    assert [p["name"] for p in rest["items"]] == ["Cursor 1", "Cursor 2"]
    assert rest["next_cursor"] is None


# -- names at the edge of DynamoDB's key limits ---------------------------------------------


def test_a_name_whose_casefolded_word_is_over_1024_bytes_can_be_created_and_found(
    catalog: CatalogService,
) -> None:
    # "ᾀ" casefolds to two characters (5 bytes): one 200-character word is 1,000 bytes,
    # too long for a sort key if indexed whole.
    name = "\u1f80" * 200
    product = catalog.create_product(product_body(name=name))
    assert [p["id"] for p in walk(catalog, q="\u1f80")] == [product["id"]]
    assert [p["id"] for p in walk(catalog, q=name)] == [product["id"]]
    assert walk(catalog, q=name[:-1] + "a") == []
    replaced = catalog.replace_product(product["id"], {**product, "name": "\u1f81" * 200})
    assert [p["id"] for p in walk(catalog, q="\u1f81" * 200)] == [replaced["id"]]
    assert walk(catalog, q="\u1f80") == []
    catalog.delete_product(product["id"])


def test_two_long_words_with_one_long_prefix_are_found_once(catalog: CatalogService) -> None:
    stem = "\u1f80" * 65
    product = catalog.create_product(product_body(name=f"{stem}a {stem}b"))
    for q in (stem, f"{stem}a", f"{stem}b", f"{stem}b {stem}a"):
        for limit in ("1", "20"):
            assert [p["id"] for p in walk(catalog, q=q, limit=limit)] == [product["id"]], (q, limit)
    assert walk(catalog, q=f"{stem}c") == []


def test_a_name_of_100_words_is_indexed_beyond_one_transaction(catalog: CatalogService) -> None:
    first = " ".join(chr(0x4E00 + i) for i in range(100))
    product = catalog.create_product(product_body(name=first))
    assert [p["id"] for p in walk(catalog, q=chr(0x4E00 + 99))] == [product["id"]]
    second = " ".join(chr(0x5E00 + i) for i in range(100))
    catalog.replace_product(product["id"], {**product, "name": second, "sku": "NEW-SKU", "category": "books"})
    assert [p["id"] for p in walk(catalog, q=chr(0x5E00 + 99))] == [product["id"]]
    assert walk(catalog, q=chr(0x4E00 + 99)) == []
    catalog.delete_product(product["id"])
    assert walk(catalog, q=chr(0x5E00 + 5)) == []


def test_search_pages_across_the_index_window(catalog: CatalogService, new_product: NewProduct) -> None:
    # More matching index entries than one request reads (100), with a category filter
    # that skips half of them: every match still comes back exactly once.
    ids = {new_product(name=f"Widget {i:03d} wonder", category="tea" if i % 2 else "books")["id"]
           for i in range(70)}
    in_tea = {p["id"] for p in walk(catalog, category="tea", limit="100")}
    for limit in ("7", "100"):
        found = [p["id"] for p in walk(catalog, q="w", limit=limit)]
        assert len(found) == len(set(found)) and set(found) == ids
        found_tea = [p["id"] for p in walk(catalog, q="w", category="tea", limit=limit)]
        assert len(found_tea) == len(set(found_tea)) and set(found_tea) == in_tea


@pytest.mark.parametrize("char", ["\U0001d400", "\u1f80", "\u00e9", "a"])
def test_cursors_after_long_names_and_queries_are_accepted(catalog: CatalogService, char: str) -> None:
    # Every cursor the API issues must be one it accepts back, whatever the names in
    # the start key and the words of the query.
    ids = {catalog.create_product(product_body(name=char * 198 + f" {i}"))["id"] for i in range(3)}
    assert {p["id"] for p in walk(catalog, limit="1")} == ids
    assert {p["id"] for p in walk(catalog, limit="1", category="tea")} == ids
    assert {p["id"] for p in walk(catalog, limit="1", q=char * 100)} == ids
    long_query = " ".join([char * 40] * 4 + ["0 1 2"])[:200]
    walk(catalog, limit="1", q=long_query)
