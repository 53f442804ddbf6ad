"""Product and category storage on DynamoDB (PynamoDB).

Every write that must not be lost or doubled is conditional or transactional:
sku uniqueness is a conditional put of a guard item in the same transaction as the
product, edits are conditional on ``version``, stock moves with one conditional
UpdateItem, and category counts move in the same transaction as the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from catalog_lambda.clock import now_rfc3339
from catalog_lambda.dynamo import (
    MAX_TRANSACTION_ITEMS,
    LabeledTransaction,
    TransactionFailed,
    unavailable_on_throttle,
)
from catalog_lambda.errors import (
    ConflictError,
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

    def get_many(self, product_ids: list[str]) -> dict[str, ProductModel]:
        keys = [(product_pk(pid), PRODUCT_SK) for pid in dict.fromkeys(product_ids)]
        with unavailable_on_throttle():
            return {p.id: p for p in ProductModel.batch_get(keys)}

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

    # -- writes ----------------------------------------------------------------------

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
        now = now_rfc3339()
        product = ProductModel(
            product_pk(product_id), PRODUCT_SK, id=product_id, stock=stock, created_at=now, updated_at=now, version=1,
            **fields,
        )
        fill_derived(product)
        token_items = [TokenModel(token_pk(w), token_sk(w, product_id), product_id=product_id) for w in product.words]
        tx = LabeledTransaction(self._settings)
        tx.put("product", product, condition=ProductModel.pk.does_not_exist())
        tx.put("sku", SkuModel(sku_pk(product.sku), SKU_SK, product_id=product_id),
               condition=SkuModel.pk.does_not_exist())
        tx.update("category", CategoryModel(CATEGORIES_PK, product.category),
                  actions=[CategoryModel.product_count.add(1)], condition=CategoryModel.pk.exists())
        in_tx = MAX_TRANSACTION_ITEMS - len(tx)
        for token in token_items[:in_tx]:
            tx.put("token", token)
        try:
            tx.commit()
        except TransactionFailed as failed:
            # Validation (400) before state (409), as the contract orders its checks.
            if "category" in failed.failed:
                raise _unknown_category(product.category) from None
            if "sku" in failed.failed:
                raise _duplicate_sku(product.sku) from None
            raise ConflictError("the product could not be created; retry") from None
        self._put_tokens(token_items[in_tx:])
        return product

    def replace(self, product_id: str, fields: dict[str, Any], expected_version: int | None) -> ProductModel:
        """Replace the editable fields, conditional on the version we read (or the caller's)."""
        for _attempt in range(5):
            current = self.get(product_id)
            if expected_version is not None and current.version != expected_version:
                raise PreconditionFailedError("the product was changed since the given ETag")
            try:
                return self._replace_from(current, fields)
            except _VersionMoved:
                if expected_version is not None:
                    raise PreconditionFailedError("the product was changed since the given ETag") from None
        raise ConflictError("the product is being edited concurrently; retry")

    def _replace_from(self, current: ProductModel, fields: dict[str, Any]) -> ProductModel:
        old_words, old_sku, old_category = list(current.words or []), current.sku, current.category
        updated = ProductModel(current.pk, current.sk, **{**current.attribute_values, **fields})
        updated.image_url = fields.get("image_url")
        updated.version = current.version + 1
        updated.updated_at = now_rfc3339()
        fill_derived(updated)
        new_tokens = [w for w in updated.words if w not in old_words]
        stale_tokens = [w for w in old_words if w not in updated.words]
        pid = current.id
        # Stock is left out: it moves only through its own conditional updates.
        actions = [getattr(ProductModel, name).set(getattr(updated, name)) for name in (
            "sku", "name", "description", "category", "price_cents", "currency", "version", "updated_at",
            "words", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")]
        actions.append(
            ProductModel.image_url.set(updated.image_url) if updated.image_url is not None
            else ProductModel.image_url.remove()
        )
        tx = LabeledTransaction(self._settings)
        tx.update("product", ProductModel(current.pk, current.sk), actions=actions,
                  condition=ProductModel.version == current.version)
        if updated.sku != old_sku:
            tx.put("sku", SkuModel(sku_pk(updated.sku), SKU_SK, product_id=pid), condition=SkuModel.pk.does_not_exist())
            tx.delete("old_sku", SkuModel(sku_pk(old_sku), SKU_SK), condition=SkuModel.product_id == pid)
        if updated.category != old_category:
            tx.update("category", CategoryModel(CATEGORIES_PK, updated.category),
                      actions=[CategoryModel.product_count.add(1)], condition=CategoryModel.pk.exists())
            tx.update("old_category", CategoryModel(CATEGORIES_PK, old_category),
                      actions=[CategoryModel.product_count.add(-1)])
        slots = MAX_TRANSACTION_ITEMS - len(tx)
        for word in new_tokens[:slots]:
            tx.put("token", TokenModel(token_pk(word), token_sk(word, pid), product_id=pid))
        try:
            tx.commit()
        except TransactionFailed as failed:
            if "product" in failed.failed or "old_sku" in failed.failed:
                raise _VersionMoved() from None
            if "category" in failed.failed:
                raise _unknown_category(updated.category) from None
            if "sku" in failed.failed:
                raise _duplicate_sku(updated.sku) from None
            raise ConflictError("the product could not be updated; retry") from None
        self._put_tokens([TokenModel(token_pk(w), token_sk(w, pid), product_id=pid) for w in new_tokens[slots:]])
        # Stale tokens are harmless (search re-checks names) but are removed to keep the index small.
        self._delete_tokens(pid, stale_tokens)
        return self.get(pid)

    def delete(self, product_id: str) -> None:
        for _attempt in range(5):
            current = self.get(product_id)
            tx = LabeledTransaction(self._settings)
            tx.delete("product", ProductModel(current.pk, current.sk),
                      condition=ProductModel.version == current.version)
            tx.delete("sku", SkuModel(sku_pk(current.sku), SKU_SK), condition=SkuModel.product_id == product_id)
            tx.update("category", CategoryModel(CATEGORIES_PK, current.category),
                      actions=[CategoryModel.product_count.add(-1)])
            try:
                tx.commit()
            except TransactionFailed:
                continue
            self._delete_tokens(product_id, list(current.words or []))
            return
        raise ConflictError("the product is being edited concurrently; retry")

    def adjust_stock(self, product_id: str, delta: int | None = None, set_to: int | None = None) -> int:
        """One conditional UpdateItem; stock never goes below zero."""
        item = ProductModel(product_pk(product_id), PRODUCT_SK)
        actions: list[Action]
        if set_to is not None:
            actions = [ProductModel.stock.set(set_to)]
            condition = ProductModel.pk.exists()
        else:
            assert delta is not None
            actions = [ProductModel.stock.add(delta)]
            condition = ProductModel.pk.exists()
            if delta < 0:
                condition = condition & (ProductModel.stock >= -delta)
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

    # -- stock moved by orders, inside the order repository's transactions ---------------

    @staticmethod
    def reserve_in(tx: LabeledTransaction, label: str, product: ProductModel, quantity: int) -> None:
        """Take ``quantity`` units, only if they are there and the price read is unchanged."""
        tx.update(label, ProductModel(product_pk(product.id), PRODUCT_SK),
                  actions=[ProductModel.stock.add(-quantity)],
                  condition=(ProductModel.pk.exists() & (ProductModel.stock >= quantity)
                             & (ProductModel.price_cents == product.price_cents)
                             & (ProductModel.currency == product.currency)))

    @staticmethod
    def release_in(tx: LabeledTransaction, label: str, product_id: str, quantity: int) -> None:
        """Give ``quantity`` units back to a product that still exists."""
        tx.update(label, ProductModel(product_pk(product_id), PRODUCT_SK),
                  actions=[ProductModel.stock.add(quantity)], condition=ProductModel.pk.exists())

    # -- token maintenance beyond one transaction --------------------------------------

    def _put_tokens(self, tokens: list[TokenModel]) -> None:
        if not tokens:
            return
        with unavailable_on_throttle(), TokenModel.batch_write() as batch:
            for token in tokens:
                batch.save(token)

    def _delete_tokens(self, product_id: str, stale: list[str]) -> None:
        if not stale:
            return
        with unavailable_on_throttle(), TokenModel.batch_write() as batch:
            for word in stale:
                batch.delete(TokenModel(token_pk(word), token_sk(word, product_id)))


class _VersionMoved(Exception):
    """The item's version changed between our read and our conditional write."""


def _duplicate_sku(sku: str) -> DuplicateSkuError:
    return DuplicateSkuError(f"sku {sku!r} is already used", [{"field": "sku", "issue": "already used"}])


def _unknown_category(slug: str) -> ValidationError:
    return ValidationError(
        f"category {slug!r} does not exist", [{"field": "category", "issue": "not an existing category slug"}]
    )
