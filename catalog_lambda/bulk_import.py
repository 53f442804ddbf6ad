"""Bulk import of products from CSV or JSON Lines: idempotent upsert by sku.

Used by ``python -m catalog_lambda import FILE`` and by the Lambda that runs when a
file lands under ``imports/`` of the imports bucket (the report is written beside it).

* Every row is validated like ``POST /products`` (strict types, the contract's limits,
  an existing category); a bad row is reported with its line number and skipped.
* Rows are upserted by sku: a new sku creates a product (with the row's initial
  ``stock``), a known sku replaces the editable fields when they differ (stock is left
  alone: it moves only through the stock endpoint and orders), an identical row
  changes nothing. Importing the same file twice writes nothing the second time.
* Writes go in *transactional chunks* (TransactWriteItems, up to 100 actions): each
  chunk puts its products and their sku guards (conditional: the sku must still be
  free) and moves every touched category's ``product_count`` once by the chunk's net
  delta, so sku uniqueness and the counts stay exact, as with one product at a time.
  A chunk that loses a race (a sku taken, a version moved) is looked up again and
  retried, then falls back to one product at a time through the repository.
* Search-index tokens are idempotent puts sent with BatchWriteItem (25 a call);
  unprocessed items are retried with backoff.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog_lambda.clock import new_id, now_rfc3339
from catalog_lambda.dynamo import MAX_TRANSACTION_ITEMS, LabeledTransaction, TransactionFailed
from catalog_lambda.errors import DomainError, UnavailableError, ValidationError
from catalog_lambda.models import (
    CATEGORIES_PK,
    PRODUCT_SK,
    SKU_SK,
    CategoryModel,
    ProductModel,
    SkuModel,
    TokenModel,
    product_pk,
    sku_pk,
    token_pk,
    token_sk,
)
from catalog_lambda.repositories.products import ProductRepository, fill_derived
from catalog_lambda.settings import Settings

IMPORT_PREFIX = "imports/"
REPORT_SUFFIX = ".report.json"
MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH_WRITE_SIZE = 25
BATCH_GET_SIZE = 100
CHUNK_RETRIES = 3
UNPROCESSED_RETRIES = 8
EDITABLE = ("sku", "name", "description", "category", "price_cents", "currency", "image_url")
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")
_INT_COLUMNS = ("price_cents", "stock")

Progress = Callable[[int], None]


@dataclass
class Row:
    line: int
    fields: dict[str, Any]
    stock: int


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "failed": self.failed, "seconds": round(self.seconds, 3),
                "errors": self.errors}


# --- reading ---------------------------------------------------------------------------------


def detect_format(name: str, text: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_rows(text: str, fmt: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, raw row or None, problem or None) for every record of the file."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        try:
            for raw in reader:
                line = reader.line_num
                if None in raw:
                    yield line, None, "more values than columns"
                    continue
                if all(v in ("", None) for v in raw.values()):
                    continue
                yield line, _from_csv(raw), None
        except csv.Error as error:
            yield reader.line_num, None, f"malformed CSV: {error}"
        return
    for number, line_text in enumerate(text.splitlines(), start=1):
        if not line_text.strip():
            continue
        try:
            value = json.loads(line_text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            yield number, None, f"not valid JSON: {str(error)[:120]}"
            continue
        if not isinstance(value, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, value, None


def _from_csv(raw: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are text: integers where the contract wants them, empty optional cells dropped."""
    row: dict[str, Any] = {}
    for key, value in raw.items():
        name = (key or "").strip()
        if value is None:
            continue
        if name in _INT_COLUMNS and _INTEGER.match(value.strip()):
            row[name] = int(value.strip())
        elif name in ("image_url", "stock", "description") and value == "":
            continue
        else:
            row[name] = value
    return row


def validate(lines: Iterable[tuple[int, dict[str, Any] | None, str | None]], categories: set[str],
             report: ImportReport) -> list[Row]:
    from catalog_lambda.schemas import ProductCreate, parse

    valid: list[Row] = []
    first_line: dict[str, int] = {}
    for line, raw, problem in lines:
        report.rows += 1
        sku = raw.get("sku") if isinstance(raw, dict) else None
        if problem is not None or raw is None:
            report.errors.append({"line": line, "sku": sku, "errors": [{"field": "", "issue": problem}]})
            continue
        try:
            data = parse(ProductCreate, raw)
        except ValidationError as error:
            report.errors.append({"line": line, "sku": sku if isinstance(sku, str) else None,
                                  "errors": error.details})
            continue
        if data.category not in categories:
            report.errors.append({"line": line, "sku": data.sku, "errors": [
                {"field": "category", "issue": "not an existing category slug"}]})
            continue
        if data.sku in first_line:
            report.errors.append({"line": line, "sku": data.sku, "errors": [
                {"field": "sku", "issue": f"repeats the sku of line {first_line[data.sku]}"}]})
            continue
        first_line[data.sku] = line
        valid.append(Row(line, data.model_dump(exclude={"stock"}), data.stock))
    return valid


# --- writing ---------------------------------------------------------------------------------


class BulkImporter:
    """Upserts validated rows in transactional chunks (see the module docstring)."""

    def __init__(self, settings: Settings, repository: ProductRepository | None = None) -> None:
        self._settings = settings
        self._repo = repository or ProductRepository(settings)

    def categories(self) -> set[str]:
        return {c.sk for c in self._repo.list_categories()}

    def run(self, text: str, source: str, fmt: str | None = None, progress: Progress | None = None,
            batched: bool = True) -> ImportReport:
        started = time.perf_counter()
        report = ImportReport(source=source)
        rows = validate(read_rows(text, fmt or detect_format(source, text)), self.categories(), report)
        if progress is not None and report.errors:
            progress(len(report.errors))
        if batched:
            self._batched(rows, report, progress)
        else:
            for row in rows:
                self._one(row, report)
                if progress is not None:
                    progress(1)
        report.errors.sort(key=lambda e: int(e["line"]))
        report.seconds = time.perf_counter() - started
        return report

    # -- one product at a time (the baseline, and the fallback after lost races) --

    def _one(self, row: Row, report: ImportReport) -> None:
        try:
            existing = self._lookup([row.fields["sku"]])
            product_id = existing.get(row.fields["sku"])
            if product_id is None:
                self._repo.create(dict(row.fields), new_id(), row.stock)
                report.created += 1
                return
            current = self._repo.get(product_id)
            if _unchanged(current, row.fields):
                report.unchanged += 1
                return
            self._repo.replace(product_id, dict(row.fields), None)
            report.updated += 1
        except UnavailableError:
            raise
        except DomainError as error:
            report.errors.append({"line": row.line, "sku": row.fields["sku"],
                                  "errors": error.details or [{"field": "", "issue": error.message}]})

    # -- chunks --

    def _batched(self, rows: list[Row], report: ImportReport, progress: Progress | None) -> None:
        position = 0
        while position < len(rows):
            window = rows[position:position + MAX_TRANSACTION_ITEMS // 2]
            done = self._chunk(window, report)
            position += done
            if progress is not None:
                progress(done)

    def _chunk(self, window: list[Row], report: ImportReport) -> int:
        """Write a prefix of ``window`` in one transaction; returns how many rows it covered."""
        for attempt in range(CHUNK_RETRIES):
            plan = self._plan(window)
            try:
                plan.commit(self._settings)
            except TransactionFailed:
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
                continue
            report.created += plan.created
            report.updated += plan.updated
            report.unchanged += plan.unchanged
            self._write_tokens(plan.new_tokens, plan.stale_tokens)
            return plan.rows
        # Lost the race repeatedly (someone else is writing these skus): one at a time.
        for row in window:
            self._one(row, report)
        return len(window)

    def _lookup(self, skus: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        keys = [(sku_pk(s), SKU_SK) for s in skus]
        from catalog_lambda.dynamo import unavailable_on_throttle

        for start in range(0, len(keys), BATCH_GET_SIZE):
            with unavailable_on_throttle():
                for guard in SkuModel.batch_get(keys[start:start + BATCH_GET_SIZE], consistent_read=True):
                    found[guard.pk.removeprefix("SKU#")] = guard.product_id
        return found

    def _plan(self, window: list[Row]) -> _Plan:
        existing_ids = self._lookup([r.fields["sku"] for r in window])
        current = self._repo.get_many(list(existing_ids.values())) if existing_ids else {}
        plan = _Plan()
        for row in window:
            product_id = existing_ids.get(row.fields["sku"])
            product = current.get(product_id) if product_id else None
            if not plan.add(row, product):
                break
        return plan

    def _write_tokens(self, puts: list[TokenModel], deletes: list[TokenModel]) -> None:
        requests = [{"PutRequest": {"Item": t.serialize()}} for t in puts]
        requests += [{"DeleteRequest": {"Key": {"pk": {"S": t.pk}, "sk": {"S": t.sk}}}} for t in deletes]
        for start in range(0, len(requests), BATCH_WRITE_SIZE):
            self._batch_write(requests[start:start + BATCH_WRITE_SIZE])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        """One BatchWriteItem; unprocessed items are sent again with backoff."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = TokenModel._get_connection().connection.client
        table = self._settings.products_table
        pending = {table: requests}
        for attempt in range(UNPROCESSED_RETRIES + 1):
            try:
                answer = client.batch_write_item(RequestItems=pending)
            except (BotoCoreError, ClientError) as error:
                raise UnavailableError("the database is busy; the import stopped") from error
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
        raise UnavailableError("the database kept some index writes unprocessed; run the import again")


class _Plan:
    """One transaction's worth of rows."""

    def __init__(self) -> None:
        self.products: list[tuple[str, ProductModel, ProductModel | None]] = []
        self.deltas: dict[str, int] = {}
        self.rows = 0
        self.created = self.updated = self.unchanged = 0
        self.new_tokens: list[TokenModel] = []
        self.stale_tokens: list[TokenModel] = []

    def _items(self, deltas: dict[str, int]) -> int:
        writes = sum(2 if old is None else 1 for _, _, old in self.products)
        return writes + sum(1 for d in deltas.values() if d)

    def add(self, row: Row, current: ProductModel | None) -> bool:
        """Take the row if it still fits in one transaction."""
        if current is not None and _unchanged(current, row.fields):
            self.rows += 1
            self.unchanged += 1
            return True
        deltas = dict(self.deltas)
        if current is None:
            deltas[row.fields["category"]] = deltas.get(row.fields["category"], 0) + 1
        elif current.category != row.fields["category"]:
            deltas[row.fields["category"]] = deltas.get(row.fields["category"], 0) + 1
            deltas[current.category] = deltas.get(current.category, 0) - 1
        cost = 2 if current is None else 1
        if self._items(deltas) + cost > MAX_TRANSACTION_ITEMS:
            return False
        self.deltas = deltas
        self.rows += 1
        if current is None:
            self._add_new(row)
        else:
            self._add_update(row, current)
        return True

    def _add_new(self, row: Row) -> None:
        now = now_rfc3339()
        product_id = new_id()
        product = ProductModel(product_pk(product_id), PRODUCT_SK, id=product_id, stock=row.stock, created_at=now,
                               updated_at=now, version=1, **row.fields)
        fill_derived(product)
        self.products.append(("new", product, None))
        self.new_tokens += [TokenModel(token_pk(w), token_sk(w, product_id), product_id=product_id)
                            for w in product.words]
        self.created += 1

    def _add_update(self, row: Row, current: ProductModel) -> None:
        updated = ProductModel(current.pk, current.sk, **{**current.attribute_values, **row.fields})
        updated.image_url = row.fields.get("image_url")
        updated.version = int(current.version) + 1
        updated.updated_at = now_rfc3339()
        fill_derived(updated)
        old_words = list(current.words or [])
        self.new_tokens += [TokenModel(token_pk(w), token_sk(w, current.id), product_id=current.id)
                            for w in updated.words if w not in old_words]
        self.stale_tokens += [TokenModel(token_pk(w), token_sk(w, current.id))
                              for w in old_words if w not in updated.words]
        self.products.append((str(int(current.version)), updated, current))
        self.updated += 1

    def commit(self, settings: Settings) -> None:
        if not self.products:
            return
        tx = LabeledTransaction(settings)
        for kind, product, current in self.products:
            if current is None:
                tx.put(f"product:{product.id}", product, condition=ProductModel.pk.does_not_exist())
                tx.put(f"sku:{product.sku}", SkuModel(sku_pk(product.sku), SKU_SK, product_id=product.id),
                       condition=SkuModel.pk.does_not_exist())
            else:
                actions = [getattr(ProductModel, name).set(getattr(product, name)) for name in (
                    "name", "description", "category", "price_cents", "currency", "version", "updated_at",
                    "words", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")]
                actions.append(ProductModel.image_url.set(product.image_url) if product.image_url is not None
                               else ProductModel.image_url.remove())
                tx.update(f"product:{product.id}", ProductModel(product.pk, product.sk), actions=actions,
                          condition=ProductModel.version == int(kind))
        for slug, delta in sorted(self.deltas.items()):
            if delta:
                tx.update(f"category:{slug}", CategoryModel(CATEGORIES_PK, slug),
                          actions=[CategoryModel.product_count.add(delta)], condition=CategoryModel.pk.exists())
        tx.commit()


def _unchanged(current: ProductModel, fields: dict[str, Any]) -> bool:
    for name in EDITABLE:
        have = getattr(current, name)
        if name == "price_cents":
            have = int(have)
        if name == "description":
            have = have or ""
        if have != fields.get(name, "" if name == "description" else None):
            return False
    return True


# --- entry points ----------------------------------------------------------------------------


def import_file(path: Path, settings: Settings, progress: Progress | None = None, batched: bool = True,
                total: Callable[[int], None] | None = None) -> ImportReport:
    """Import a local file (the CLI)."""
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(f"the file is larger than {MAX_FILE_BYTES} bytes")
    text = _decode(raw)
    if total is not None:
        total(_count_records(text, detect_format(path.name, text)))
    return BulkImporter(settings).run(text, path.name, progress=progress, batched=batched)


def import_s3_object(bucket: str, key: str, settings: Settings, s3: Any = None) -> dict[str, Any] | None:
    """Import ``s3://bucket/key`` and write the report beside it (``key + .report.json``).

    Keys outside ``imports/`` and reports themselves are ignored (returns None), so the
    report written back does not trigger another import.
    """
    if not key.startswith(IMPORT_PREFIX) or key.endswith(REPORT_SUFFIX) or key.endswith("/"):
        return None
    if s3 is None:
        import boto3  # in the Lambda runtime; only this path needs it

        s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    head = s3.head_object(Bucket=bucket, Key=key)
    if int(head["ContentLength"]) > MAX_FILE_BYTES:
        result: dict[str, Any] = {"source": key, "rows": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 1,
                                  "errors": [{"line": 0, "sku": None, "errors": [
                                      {"field": "", "issue": f"the file is larger than {MAX_FILE_BYTES} bytes"}]}]}
    else:
        raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            result = BulkImporter(settings).run(_decode(raw), key).as_dict()
        except ValidationError as error:
            result = {"source": key, "rows": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 1,
                      "errors": [{"line": 0, "sku": None, "errors": error.details or [
                          {"field": "", "issue": error.message}]}]}
    s3.put_object(Bucket=bucket, Key=key + REPORT_SUFFIX, Body=json.dumps(result, indent=2).encode(),
                  ContentType="application/json")
    return result


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise ValidationError("the file is not valid UTF-8",
                              [{"field": "", "issue": f"invalid UTF-8 on line {line}"}]) from None


def _count_records(text: str, fmt: str) -> int:
    if fmt == "csv":
        return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)
    return sum(1 for line in text.splitlines() if line.strip())
