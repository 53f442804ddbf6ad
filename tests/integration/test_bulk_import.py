"""Bulk import against the local stack's emulator: CSV and JSON Lines, line-numbered
error reports, idempotent upsert by sku with exact category counts, the CLI, and the
S3-triggered Lambda handler (invoked with an S3 event; its report lands beside the file).

Products go to a category of their own, so the rest of the suite never sees them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from catalog_lambda import services
from catalog_lambda.bulk_import import BulkImporter, import_s3_object
from catalog_lambda.errors import ConflictError
from catalog_lambda.models import bind_models
from catalog_lambda.settings import Settings
from tests.api_client import ApiClient
from tests.conftest import PROJECT_DIR, LocalStack

HEADER = "sku,name,description,category,price_cents,currency,image_url,stock"


@pytest.fixture(scope="module")
def settings(local_stack: LocalStack) -> Iterator[Settings]:
    config = Settings(stage="dev", region="us-east-1", endpoint_url=local_stack.emulator_url,
                      cursor_signing_key="i" * 32)
    bind_models(config)
    yield config
    services.reset()


@pytest.fixture
def category(settings: Settings, admin: ApiClient) -> Iterator[str]:
    slug = f"imp-{uuid.uuid4().hex[:8]}"
    service = services.catalog_service(settings)
    try:
        service.create_category(slug, "Imported")
    except ConflictError:
        pass
    yield slug
    for product in _listed(admin, slug):
        admin.delete(f"/products/{product['id']}")


def _listed(client: ApiClient, slug: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get("/products", params={"category": slug, "limit": 100, "cursor": cursor}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _count(client: ApiClient, slug: str) -> int:
    return next(c["product_count"] for c in client.get("/categories").json()["items"] if c["slug"] == slug)


def csv_text(slug: str, prefix: str, n: int, bad: bool = True) -> str:
    lines = [HEADER]
    for i in range(n):
        lines.append(f"{prefix}-{i},Imported {prefix} item {i},A row,{slug},{100 + i},USD,,{i}")
    if bad:
        lines.append(f"{prefix}-bad1,,empty name,{slug},100,USD,,1")          # blank name
        lines.append(f"{prefix}-bad2,Price,text,{slug},12.50,USD,,1")          # not integer cents
        lines.append(f"{prefix}-bad3,Cat,x,no-such-category,100,USD,,1")     # unknown category
        lines.append(f"{prefix}-0,Duplicate,x,{slug},100,USD,,1")             # sku repeated
        lines.append(f"bad sku!,Name,x,{slug},100,USD,,1")                    # sku pattern
        lines.append(f"{prefix}-bad4,Url,x,{slug},100,USD,http://insecure.example,1")
    return "\n".join(lines) + "\n"


def test_csv_import_creates_products_reports_bad_rows_by_line_and_keeps_counts_exact(
    settings: Settings, category: str, anon: ApiClient
) -> None:
    prefix = f"c{uuid.uuid4().hex[:6]}"
    report = BulkImporter(settings).run(csv_text(category, prefix, 120), "products.csv")
    assert (report.created, report.updated, report.unchanged, report.failed) == (120, 0, 0, 6)
    assert report.rows == 126
    assert [e["line"] for e in report.errors] == [122, 123, 124, 125, 126, 127]
    fields = [e["errors"][0]["field"] for e in report.errors]
    assert fields == ["name", "price_cents", "category", "sku", "sku", "image_url"]
    assert "line 2" in report.errors[3]["errors"][0]["issue"]
    assert _count(anon, category) == 120
    listed = _listed(anon, category)
    assert len(listed) == 120 and {p["sku"] for p in listed} == {f"{prefix}-{i}" for i in range(120)}
    found = anon.get("/products", params={"q": f"imported {prefix}", "limit": 100}).json()["items"]
    assert found and all(p["category"] == category for p in found)


def test_reimporting_the_same_file_changes_nothing(settings: Settings, category: str, anon: ApiClient) -> None:
    text = csv_text(category, f"r{uuid.uuid4().hex[:6]}", 60, bad=False)
    first = BulkImporter(settings).run(text, "a.csv")
    before = {p["id"]: (p["version"], p["updated_at"]) for p in _listed(anon, category)}
    again = BulkImporter(settings).run(text, "a.csv")
    assert (first.created, again.created, again.updated, again.unchanged) == (60, 0, 0, 60)
    assert {p["id"]: (p["version"], p["updated_at"]) for p in _listed(anon, category)} == before
    assert _count(anon, category) == 60


def test_upsert_by_sku_updates_changed_rows_and_moves_category_counts(settings: Settings, category: str,
                                                                      anon: ApiClient, admin: ApiClient) -> None:
    other = f"imp-{uuid.uuid4().hex[:8]}"
    services.catalog_service(settings).create_category(other, "Other import")
    prefix = f"u{uuid.uuid4().hex[:6]}"
    rows = [{"sku": f"{prefix}-{i}", "name": f"Upsert {i}", "category": category, "price_cents": 500,
             "currency": "EUR", "stock": 3} for i in range(10)]
    BulkImporter(settings).run("\n".join(json.dumps(r) for r in rows), "rows.jsonl")
    stock_before = {p["sku"]: p["stock"] for p in _listed(anon, category)}
    rows[0]["name"] = "Upsert renamed"
    rows[1]["category"] = other
    rows[2]["price_cents"] = 999
    rows[3]["stock"] = 1000  # stock of an existing product is not the import's to change
    report = BulkImporter(settings).run("\n".join(json.dumps(r) for r in rows), "rows.jsonl")
    try:
        assert (report.created, report.updated, report.unchanged, report.failed) == (0, 3, 7, 0)
        assert _count(anon, category) == 9 and _count(anon, other) == 1
        by_sku = {p["sku"]: p for p in _listed(anon, category) + _listed(anon, other)}
        assert by_sku[f"{prefix}-0"]["name"] == "Upsert renamed" and by_sku[f"{prefix}-0"]["version"] == 2
        assert by_sku[f"{prefix}-1"]["category"] == other
        assert by_sku[f"{prefix}-2"]["price_cents"] == 999
        assert by_sku[f"{prefix}-3"]["stock"] == stock_before[f"{prefix}-3"]
        renamed = anon.get("/products", params={"q": "upsert renamed"}).json()["items"]
        assert [p["sku"] for p in renamed] == [f"{prefix}-0"]
    finally:
        for product in _listed(admin, other):
            admin.delete(f"/products/{product['id']}")


def test_jsonl_errors_name_their_lines(settings: Settings, category: str) -> None:
    text = "\n".join([
        json.dumps({"sku": "j-ok", "name": "Fine", "category": category, "price_cents": 1, "currency": "USD"}),
        "{not json",
        "",
        json.dumps(["not", "an", "object"]),
        '{"sku": "j-nan", "name": "N", "category": "' + category + '", "price_cents": NaN, "currency": "USD"}',
        json.dumps({"sku": "j-extra", "name": "X", "category": category, "price_cents": 1, "currency": "USD",
                    "colour": "red"}),
        json.dumps({"sku": "j-str", "name": "S", "category": category, "price_cents": "10", "currency": "USD"}),
    ])
    report = BulkImporter(settings).run(text, "x.jsonl")
    assert report.created == 1
    assert [e["line"] for e in report.errors] == [2, 4, 5, 6, 7]


def test_cli_imports_with_a_progress_bar_and_writes_the_report(local_stack: LocalStack, category: str,
                                                               tmp_path: Path, anon: ApiClient) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(csv_text(category, f"cli{uuid.uuid4().hex[:5]}", 30))
    env = {**os.environ, "STAGE": "dev", "AWS_ENDPOINT_URL": local_stack.emulator_url,
           "CURSOR_SIGNING_KEY": "c" * 32, "COLUMNS": "120"}
    result = subprocess.run([sys.executable, "-m", "catalog_lambda", "import", str(path)], cwd=PROJECT_DIR,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-2000:]  # some rows were refused
    assert "30 created" in result.stderr and "6 refused" in result.stderr
    assert "line 32" in result.stderr
    report = json.loads((tmp_path / "catalog.csv.report.json").read_text())
    assert report["created"] == 30 and [e["line"] for e in report["errors"]][:1] == [32]
    assert _count(anon, category) == 30


def test_s3_event_runs_the_import_and_writes_the_report_beside_the_file(
    local_stack: LocalStack, settings: Settings, category: str, anon: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = f"store-test-imports-{uuid.uuid4().hex[:6]}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=local_stack.emulator_url)
    s3.create_bucket(Bucket=bucket)
    key = "imports/2026/new catalog.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=csv_text(category, f"s3{uuid.uuid4().hex[:5]}", 25).encode())

    for name, value in {"STAGE": "dev", "AWS_ENDPOINT_URL": local_stack.emulator_url, "IMPORTS_BUCKET": bucket,
                        "CURSOR_SIGNING_KEY": "s" * 32, "AUTH_MODE": "gateway"}.items():
        monkeypatch.setenv(name, value)
    services.reset()
    from api import create_app

    app = create_app()
    handler = app.handler_map["import_products"]
    sources = [s for s in app.event_sources if getattr(s, "bucket", None) == bucket]
    assert sources and sources[0].prefix == "imports/"
    event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                          "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                 "object": {"key": "imports/2026/new+catalog.csv", "size": 1}}}]}
    handler(event, None)

    report = json.loads(s3.get_object(Bucket=bucket, Key=key + ".report.json")["Body"].read())
    assert report["created"] == 25 and report["failed"] == 6
    assert report["errors"][0]["line"] == 27
    assert _count(anon, category) == 25
    # The report landing under imports/ is not imported again; nor is a key outside imports/.
    assert import_s3_object(bucket, key + ".report.json", settings, s3) is None
    assert import_s3_object(bucket, "elsewhere/x.csv", settings, s3) is None
    services.reset()


@pytest.mark.concurrency
def test_concurrent_imports_of_overlapping_files_create_each_sku_once_and_keep_counts_exact(
        settings: Settings, category: str, anon: ApiClient, admin: ApiClient) -> None:
    other = f"imp-{uuid.uuid4().hex[:8]}"
    services.catalog_service(settings).create_category(other, "Other import")
    prefix = f"c{uuid.uuid4().hex[:6]}"
    rows = [{"sku": f"{prefix}-{i}", "name": f"Concurrent {i}", "category": category, "price_cents": 100 + i,
             "currency": "USD", "stock": 1} for i in range(300)]
    # The second file moves every third of the first 200 skus to another category.
    moved = [{**r, "category": other} if i % 3 == 0 else r for i, r in enumerate(rows[:200])]
    files = ["\n".join(json.dumps(r) for r in rows), "\n".join(json.dumps(r) for r in rows),
             "\n".join(json.dumps(r) for r in moved)]
    try:
        with ThreadPoolExecutor(max_workers=len(files)) as pool:
            reports = list(pool.map(lambda text: BulkImporter(settings, workers=4).run(text, "c.jsonl"), files))
        assert all(r.failed == 0 for r in reports), [r.errors[:3] for r in reports]
        assert sum(r.created for r in reports) == 300  # every sku created exactly once
        listed = _listed(anon, category) + _listed(anon, other)
        assert sorted(p["sku"] for p in listed) == sorted(r["sku"] for r in rows)
        assert _count(anon, category) == len(_listed(anon, category))
        assert _count(anon, other) == len(_listed(anon, other))
    finally:
        for product in _listed(admin, other):
            admin.delete(f"/products/{product['id']}")
