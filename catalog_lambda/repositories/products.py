"""Product and category storage on DynamoDB (PynamoDB): the only code that writes them.

Every write is a :class:`~catalog_lambda.repositories.plans.WritePlan` built by a pure
function of what was read (:func:`create_plan`, :func:`replace_plan`,
:func:`delete_plan`, and the stock plans orders put in their own transaction), then
committed by :func:`~catalog_lambda.repositories.plans.commit`. Bulk import commits
the same plans, many per transaction.

Every write that must not be lost or doubled is conditional or transactional:
sku uniqueness is a conditional put of a guard item in the same transaction as the
product, edits are conditional on ``version``, stock moves with conditional updates,
and category counts move in the same transaction as the product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from catalog_lambda.clock import now_rfc3339
from catalog_lambda.dynamo import TransactionFailed, unavailable_on_throttle
from catalog_lambda.errors import (
    ConflictError,
    DomainError,
    DuplicateSkuError,
    OutOfStockError,
    PreconditionFailedError,
    ProductNotFoundError,
    ValidationError,
)
from catalog_lambda.models import (
    ALL_PRODUCTS_PK,
    CATEGORIES_PK,
    PRODUCT_SK,
    SKU_SK,
    CategoryModel,
    ProductModel,
    SkuModel,
    TokenModel,
    category_pk,
    product_pk,
    sku_pk,
    token_pk,
    token_sk,
)
from catalog_lambda.repositories.plans import WritePlan, category_label, commit
from catalog_lambda.settings import Settings
from catalog_lambda.text import MAX_INDEXED_CHARS, index_words, name_key, words

# Search reads at most this many index entries per request: a BatchGetItem takes 100 keys.
SEARCH_WINDOW = 100
EDITABLE_FIELDS = ("sku", "name", "description", "category", "price_cents", "currency", "image_url")


@dataclass(frozen=True)
class Page:
    items: list[ProductModel]
    next_key: dict[str, Any] | None


def _key(**attrs: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in attrs.items()}


def fill_derived(product: ProductModel) -> None:
    product.words = index_words(product.name)
    product.gsi1pk = category_pk(product.category)
    product.gsi1sk = name_key(product.name, product.id)
    product.gsi2pk = ALL_PRODUCTS_PK
    product.gsi2sk = product.gsi1sk


class ProductRepository:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    # -- reads -----------------------------------------------------------------------

    def get(self, product_id: str, consistent: bool = True) -> ProductModel:
        with unavailable_on_throttle():
            try:
                return ProductModel.get(product_pk(product_id), PRODUCT_SK, consistent_read=consistent)
            except DoesNotExist:
                raise ProductNotFoundError(f"product {product_id!r} does not exist") from None

    def get_many(self, product_ids: list[str], consistent: bool = False) -> dict[str, ProductModel]:
        keys = [(product_pk(pid), PRODUCT_SK) for pid in dict.fromkeys(product_ids)]
        with unavailable_on_throttle():
            return {p.id: p for p in ProductModel.batch_get(keys, consistent_read=consistent)}

    def product_ids_by_sku(self, skus: list[str]) -> dict[str, str]:
        """The product id holding each sku (skus nobody holds are absent); consistent reads."""
        keys = [(sku_pk(s), SKU_SK) for s in dict.fromkeys(skus)]
        with unavailable_on_throttle():
            return {guard.pk.removeprefix(sku_pk("")): guard.product_id
                    for guard in SkuModel.batch_get(keys, consistent_read=True)}

    def list_products(self, category: str | None, limit: int, start_key: dict[str, Any] | None) -> Page:
        """One Query on a GSI, ordered by name. Reads one extra item to know if more follow."""
        if category is not None:
            index: Any = ProductModel.by_category
            hash_key, attrs = category_pk(category), ("gsi1pk", "gsi1sk")
        else:
            index, hash_key, attrs = ProductModel.by_name, ALL_PRODUCTS_PK, ("gsi2pk", "gsi2sk")
        with unavailable_on_throttle():
            result = index.query(hash_key, limit=limit + 1, page_size=limit + 1, last_evaluated_key=start_key)
            items = list(result)
        if len(items) <= limit:
            return Page(items, None)
        last = items[limit - 1]
        return Page(
            items[:limit],
            _key(pk=last.pk, sk=last.sk, **{attrs[0]: getattr(last, attrs[0]), attrs[1]: getattr(last, attrs[1])}),
        )

    def search(
        self, query_words: list[str], category: str | None, limit: int, start_key: dict[str, Any] | None
    ) -> Page:
        """Name-prefix search in two round trips: Query the token index, BatchGet the products.

        The longest query word drives the index read. A product is emitted only at its
        first matching token, so a product whose name has several words with the
        driving prefix still appears once across all pages.
        """
        driver = max(query_words, key=len)[:MAX_INDEXED_CHARS]
        with unavailable_on_throttle():
            result = TokenModel.query(
                token_pk(driver),
                TokenModel.sk.startswith(driver),
                limit=SEARCH_WINDOW,
                page_size=SEARCH_WINDOW,
                last_evaluated_key=start_key,
            )
            tokens = list(result)
            more_in_index = result.last_evaluated_key is not None
        if not tokens:
            return Page([], None)
        products = self.get_many([t.product_id for t in tokens])
        matched: list[ProductModel] = []
        consumed = 0
        for token in tokens:
            if len(matched) == limit:
                break
            consumed += 1
            product = products.get(token.product_id)
            if product is None or (category is not None and product.category != category):
                continue
            name_words = sorted(words(product.name))
            if not all(any(w.startswith(q) for w in name_words) for q in query_words):
                continue
            token_word = token.sk.rsplit("#", 1)[0]
            if token_word != next(w for w in sorted(index_words(product.name)) if w.startswith(driver)):
                continue
            matched.append(product)
        if consumed < len(tokens) or more_in_index:
            last = tokens[consumed - 1] if consumed else None
            if last is None:
                return Page(matched, start_key)
            return Page(matched, _key(pk=last.pk, sk=last.sk))
        return Page(matched, None)

    def list_categories(self) -> list[CategoryModel]:
        with unavailable_on_throttle():
            return list(CategoryModel.query(CATEGORIES_PK))

    # -- writes: each builds a plan from what it read, then commits it ----------------

    def create_category(self, slug: str, name: str) -> CategoryModel:
        category = CategoryModel(CATEGORIES_PK, slug, name=name, product_count=0)
        with unavailable_on_throttle():
            try:
                category.save(condition=CategoryModel.pk.does_not_exist())
            except PutError as error:
                if error.cause_response_code == "ConditionalCheckFailedException":
                    raise ConflictError(f"category {slug!r} already exists") from None
                raise
        return category

    def create(self, fields: dict[str, Any], product_id: str, stock: int) -> ProductModel:
        """One TransactWriteItems: the product, its sku guard, its tokens and the category count."""
        product, plan = create_plan(fields, product_id, stock)
        try:
            commit(self._settings, [plan])
        except TransactionFailed as failed:
            raise _rejected(failed, product) or ConflictError("the product could not be created; retry") from None
        return product

    def replace(self, product_id: str, fields: dict[str, Any], expected_version: int | None) -> ProductModel:
        """Replace the editable fields: one GetItem, then one TransactWriteItems carrying the
        token changes, conditional on what was read (retried if it moved meanwhile)."""
        for _attempt in range(5):
            current = self.get(product_id)
            if expected_version is not None and current.version != expected_version:
                raise PreconditionFailedError("the product was changed since the given ETag")
            updated, plan = replace_plan(current, fields)
            try:
                commit(self._settings, [plan])
            except TransactionFailed as failed:
                if not failed.failed & {"product", "old_sku"}:
                    raise _rejected(failed, updated) or ConflictError("the product could not be updated; retry") \
                        from None
                continue  # edited, or its stock moved, since we read: read again
            return updated
        raise ConflictError("the product is being edited concurrently; retry")

    def set_image_url(self, product_id: str, image_url: str) -> None:
        """Point the product at a new image: one conditional UpdateItem. The version moves,
        so an edit made from an older copy of the product fails (412) instead of undoing it."""
        item = ProductModel(product_pk(product_id), PRODUCT_SK)
        actions: list[Action] = [ProductModel.image_url.set(image_url), ProductModel.version.add(1),
                   ProductModel.updated_at.set(now_rfc3339())]
        try:
            with unavailable_on_throttle():
                item.update(actions=actions, condition=ProductModel.pk.exists(), add_version_condition=False)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise ProductNotFoundError(f"product {product_id!r} does not exist") from None
            raise

    def delete(self, product_id: str) -> None:
        for _attempt in range(5):
            current = self.get(product_id)
            try:
                commit(self._settings, [delete_plan(current)])
            except TransactionFailed:
                continue
            return
        raise ConflictError("the product is being edited concurrently; retry")

    def adjust_stock(self, product_id: str, delta: int | None = None, set_to: int | None = None) -> int:
        """One conditional UpdateItem (it answers with the new stock); stock never goes below zero."""
        item = ProductModel(product_pk(product_id), PRODUCT_SK)
        actions: list[Action]
        condition: Condition
        if set_to is not None:
            actions, condition = [ProductModel.stock.set(set_to)], ProductModel.pk.exists()
        else:
            assert delta is not None
            actions, condition = [ProductModel.stock.add(delta)], _stock_condition(max(0, -delta))
        try:
            with unavailable_on_throttle():
                item.update(actions=actions, condition=condition, add_version_condition=False)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            current = self.get(product_id)  # raises ProductNotFoundError when absent
            raise OutOfStockError(
                "stock cannot go below zero",
                [{"product_id": product_id, "stock": int(current.stock), "delta": delta}],
            ) from None
        return int(item.stock)

    # -- stock moved inside another aggregate's transaction (orders) --------------------

    @staticmethod
    def reserve_stock(lines: Sequence[tuple[ProductModel, int]]) -> WritePlan:
        """See :func:`reserve_stock_plan`."""
        return reserve_stock_plan(lines)

    @staticmethod
    def return_stock(lines: Sequence[tuple[str, int]]) -> WritePlan:
        """See :func:`return_stock_plan`."""
        return return_stock_plan(lines)


# --- plans: pure functions of what was read -------------------------------------------------


def stored_fields(product: ProductModel) -> dict[str, Any]:
    """The editable fields as a request gives them (what :func:`unchanged` compares)."""
    return {
        "sku": product.sku, "name": product.name, "description": product.description or "",
        "category": product.category, "price_cents": int(product.price_cents), "currency": product.currency,
        "image_url": product.image_url,
    }


def unchanged(current: ProductModel, fields: dict[str, Any]) -> bool:
    """Whether writing ``fields`` would change none of the product's editable fields."""
    have = stored_fields(current)
    want = {"description": "", "image_url": None, **fields}
    return all(have[name] == want.get(name) for name in EDITABLE_FIELDS)


def create_plan(fields: dict[str, Any], product_id: str, stock: int) -> tuple[ProductModel, WritePlan]:
    """A new product: conditional on its id and its sku being free and its category existing."""
    now = now_rfc3339()
    product = ProductModel(
        product_pk(product_id), PRODUCT_SK, id=product_id, stock=stock, created_at=now, updated_at=now, version=1,
        **fields,
    )
    fill_derived(product)
    plan = WritePlan()
    plan.put("product", product, condition=ProductModel.pk.does_not_exist())
    plan.put("sku", SkuModel(sku_pk(product.sku), SKU_SK, product_id=product_id),
             condition=SkuModel.pk.does_not_exist())
    plan.count(product.category, +1)
    plan.token_puts = [_token(w, product_id) for w in product.words]
    return product, plan


def replace_plan(current: ProductModel, fields: dict[str, Any]) -> tuple[ProductModel, WritePlan]:
    """The editable fields replaced, conditional on the version and stock that were read
    (so the answer built here is the stored product); stock itself is not written."""
    pid = current.id
    updated = ProductModel(current.pk, current.sk, **{**current.attribute_values, **fields})
    updated.image_url = fields.get("image_url")
    updated.version = int(current.version) + 1
    updated.updated_at = now_rfc3339()
    fill_derived(updated)
    actions = [getattr(ProductModel, name).set(getattr(updated, name)) for name in _WRITTEN_ON_REPLACE]
    actions.append(ProductModel.image_url.set(updated.image_url) if updated.image_url is not None
                   else ProductModel.image_url.remove())
    plan = WritePlan()
    plan.update("product", ProductModel(current.pk, current.sk), actions=actions,
                condition=(ProductModel.version == current.version) & (ProductModel.stock == current.stock))
    if updated.sku != current.sku:
        plan.put("sku", SkuModel(sku_pk(updated.sku), SKU_SK, product_id=pid), condition=SkuModel.pk.does_not_exist())
        plan.delete("old_sku", SkuModel(sku_pk(current.sku), SKU_SK), condition=SkuModel.product_id == pid)
    if updated.category != current.category:
        plan.count(updated.category, +1)
        plan.count(current.category, -1)
    old_words = list(current.words or [])
    plan.token_puts = [_token(w, pid) for w in updated.words if w not in old_words]
    plan.token_deletes = [TokenModel(token_pk(w), token_sk(w, pid)) for w in old_words if w not in updated.words]
    return updated, plan


def delete_plan(current: ProductModel) -> WritePlan:
    """The product (conditional on the version read), its sku guard, its tokens and its count."""
    pid = current.id
    plan = WritePlan()
    plan.delete("product", ProductModel(current.pk, current.sk), condition=ProductModel.version == current.version)
    plan.delete("sku", SkuModel(sku_pk(current.sku), SKU_SK), condition=SkuModel.product_id == pid)
    plan.count(current.category, -1)
    plan.token_deletes = [TokenModel(token_pk(w), token_sk(w, pid)) for w in current.words or []]
    return plan


def reserve_stock_plan(lines: Sequence[tuple[ProductModel, int]]) -> WritePlan:
    """Take ``quantity`` from each product's stock, for an order's transaction.

    Each step (label ``line:<product id>``) is conditional on the product existing,
    holding at least ``quantity``, and still having the price and currency that were
    read (the order quotes them).
    """
    plan = WritePlan()
    for product, quantity in lines:
        plan.update(f"line:{product.id}", ProductModel(product.pk, PRODUCT_SK),
                    actions=[ProductModel.stock.add(-quantity)],
                    condition=(_stock_condition(quantity) & (ProductModel.price_cents == product.price_cents)
                               & (ProductModel.currency == product.currency)))
    return plan


def return_stock_plan(lines: Sequence[tuple[str, int]]) -> WritePlan:
    """Give ``quantity`` back to each product (label ``line:<product id>``), for an order's
    transaction; conditional on the product still existing (leave deleted ones out)."""
    plan = WritePlan()
    for product_id, quantity in lines:
        plan.update(f"line:{product_id}", ProductModel(product_pk(product_id), PRODUCT_SK),
                    actions=[ProductModel.stock.add(quantity)], condition=ProductModel.pk.exists())
    return plan


# Every field a replace writes; stock is left out: it moves only through its own conditional updates.
_WRITTEN_ON_REPLACE = ("sku", "name", "description", "category", "price_cents", "currency", "version", "updated_at",
                       "words", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")


def _stock_condition(at_least: int) -> Condition:
    exists: Condition = ProductModel.pk.exists()
    return exists & (ProductModel.stock >= at_least) if at_least > 0 else exists


def _token(word: str, product_id: str) -> TokenModel:
    return TokenModel(token_pk(word), token_sk(word, product_id), product_id=product_id)


def _rejected(failed: TransactionFailed, product: ProductModel) -> DomainError | None:
    """The client's error for a failed create or replace, validation (400) before state (409),
    as the contract orders its checks; None when only a race was lost."""
    if category_label(product.category) in failed.failed:
        return ValidationError(f"category {product.category!r} does not exist",
                               [{"field": "category", "issue": "not an existing category slug"}])
    if "sku" in failed.failed:
        return DuplicateSkuError(f"sku {product.sku!r} is already used", [{"field": "sku", "issue": "already used"}])
    return None
