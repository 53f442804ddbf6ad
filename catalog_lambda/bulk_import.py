"""Bulk import of products from CSV or JSON Lines: idempotent upsert by sku.

Used by ``python -m catalog_lambda import FILE`` and by the Lambda that runs when a
file lands under ``imports/`` of the imports bucket (the report is written beside it).

* Every row is validated like ``POST /products`` (strict types, the contract's limits,
  an existing category); a bad row is reported with its line number and skipped.
* Rows are upserted by sku: a new sku creates a product (with the row's initial
  ``stock``), a known sku replaces the editable fields when they differ (stock is left
  alone: it moves only through the stock endpoint and orders), an identical row
  changes nothing. Importing the same file twice writes nothing the second time.
* Writes are the repository's own write plans (``create_plan``, ``replace_plan``: the
  same sku guard, category counts and fields as the API), committed many per
  TransactWriteItems (up to 100 actions): each transaction moves every touched
  category's ``product_count`` once by its plans' net delta, so sku uniqueness and the
  counts stay exact, as with one product at a time. Search tokens fill the spare slots;
  any left over go by BatchWriteItem after the commit.
* Rows are planned in windows of 100 (one BatchGetItem of sku guards, one of products),
  and up to ``DEFAULT_WORKERS`` windows are written at once: a file's skus are unique,
  so windows touch different products, and the conditions decide every race. A window
  that loses one (a sku taken, a version moved) is read again and retried, then falls
  back to one product at a time through the repository.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog_lambda.clock import new_id
from catalog_lambda.dynamo import TransactionFailed
from catalog_lambda.errors import DomainError, UnavailableError, ValidationError
from catalog_lambda.repositories.plans import TokensNotWrittenError, WritePlan, commit, pack
from catalog_lambda.repositories.products import ProductRepository, create_plan, replace_plan, unchanged
from catalog_lambda.settings import Settings

IMPORT_PREFIX = "imports/"
REPORT_SUFFIX = ".report.json"
MAX_FILE_BYTES = 50 * 1024 * 1024
# Rows planned together: their sku guards are one BatchGetItem (100 keys at most).
WINDOW = 100
# Windows written at once: each waits on the network most of its time (bounded threads).
DEFAULT_WORKERS = 8
CHUNK_RETRIES = 3
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


@dataclass
class _Tally:
    """What one window of rows did (windows run on worker threads; the report is merged after)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class BulkImporter:
    """Upserts validated rows through the repository's write plans (see the module docstring)."""

    def __init__(self, settings: Settings, repository: ProductRepository | None = None,
                 workers: int = DEFAULT_WORKERS) -> None:
        self._settings = settings
        self._repo = repository or ProductRepository(settings)
        self._workers = max(1, workers)

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
                tally = _Tally()
                self._one(row, tally)
                _merge(report, tally)
                if progress is not None:
                    progress(1)
        report.errors.sort(key=lambda e: int(e["line"]))
        report.seconds = time.perf_counter() - started
        return report

    # -- windows of rows, on a bounded pool of threads --

    def _batched(self, rows: list[Row], report: ImportReport, progress: Progress | None) -> None:
        windows = [rows[start:start + WINDOW] for start in range(0, len(rows), WINDOW)]
        pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="import")
        try:
            for window, tally in zip(windows, pool.map(self._window, windows), strict=True):
                _merge(report, tally)
                if progress is not None:
                    progress(len(window))
        finally:
            # On an error, windows not yet started are dropped; the import is idempotent.
            pool.shutdown(wait=True, cancel_futures=True)

    def _window(self, rows: list[Row]) -> _Tally:
        tally = _Tally()
        pending = rows
        for attempt in range(CHUNK_RETRIES):
            pending = self._write(pending, tally)
            if not pending:
                return tally
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        # Lost the race repeatedly (someone else is writing these skus): one at a time.
        for row in pending:
            self._one(row, tally)
        return tally

    def _write(self, rows: list[Row], tally: _Tally) -> list[Row]:
        """Plan every row from one consistent read, commit the plans in as few transactions
        as fit; returns the rows left to write after a lost race (none when all went well)."""
        ids = self._repo.product_ids_by_sku([row.fields["sku"] for row in rows])
        current = self._repo.get_many(list(ids.values()), consistent=True) if ids else {}
        planned: list[tuple[Row, bool, WritePlan]] = []
        raced: list[Row] = []
        for row in rows:
            product_id = ids.get(row.fields["sku"])
            product = current.get(product_id) if product_id else None
            if product_id is not None and product is None:
                raced.append(row)  # a guard without its product: a write in flight elsewhere
            elif product is None:
                planned.append((row, True, create_plan(dict(row.fields), new_id(), row.stock)[1]))
            elif unchanged(product, row.fields):
                tally.unchanged += 1
            else:
                planned.append((row, False, replace_plan(product, dict(row.fields))[1]))
        done = 0
        for group in pack([plan for _, _, plan in planned]):
            try:
                commit(self._settings, group)
            except TokensNotWrittenError:
                raise  # committed: reading again would find these rows unchanged, tokens missing
            except (TransactionFailed, UnavailableError):
                # A race lost, or transactions that kept colliding with other writers:
                # what is left is read and planned again.
                return raced + [row for row, _, _ in planned[done:]]
            for _row, created, _plan in planned[done:done + len(group)]:
                if created:
                    tally.created += 1
                else:
                    tally.updated += 1
            done += len(group)
        return raced

    # -- one product at a time (the fallback after lost races, and ``batched=False``) --

    def _one(self, row: Row, tally: _Tally) -> None:
        try:
            product_id = self._repo.product_ids_by_sku([row.fields["sku"]]).get(row.fields["sku"])
            if product_id is None:
                self._repo.create(dict(row.fields), new_id(), row.stock)
                tally.created += 1
                return
            if unchanged(self._repo.get(product_id), row.fields):
                tally.unchanged += 1
                return
            self._repo.replace(product_id, dict(row.fields), None)
            tally.updated += 1
        except UnavailableError:
            raise
        except DomainError as error:
            tally.errors.append({"line": row.line, "sku": row.fields["sku"],
                                 "errors": error.details or [{"field": "", "issue": error.message}]})


def _merge(report: ImportReport, tally: _Tally) -> None:
    report.created += tally.created
    report.updated += tally.updated
    report.unchanged += tally.unchanged
    report.errors += tally.errors


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
