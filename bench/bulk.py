"""Bulk import of N products under a latency model: the importer (the repository's write
plans, many per transaction, windows written in parallel) vs one write per product
(``ProductRepository.create``: one TransactWriteItems holding the product, its sku guard,
its search tokens and the category count), on one emulator that adds a fixed delay to
every request outside its lock (``--latency-ms``): DynamoDB's network round trip, which
an in-process emulator does not have. The one-by-one path writes the first
``single_n`` rows only (its rate does not depend on the row count) so ``make bench``
stays short; the ratio compares rates."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.env import BenchEnv, bench_settings

WORDS = ["organic", "roast", "blend", "ceramic", "kettle", "grinder", "loose", "leaf", "green", "black",
         "espresso", "filter", "travel", "mug", "linen", "apron", "atlas", "guide", "single", "origin"]


def rows(n: int, slug: str, tag: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        name = " ".join(WORDS[(i * k + k) % len(WORDS)] for k in (1, 3, 7)) + f" {tag}{i}"
        out.append({"sku": f"{tag}-{i:06d}", "name": name.title(), "description": "bulk benchmark row",
                    "category": slug, "price_cents": 100 + i % 5000, "currency": "USD", "stock": i % 50})
    return out


@dataclass(frozen=True)
class BulkResult:
    n: int
    single_n: int
    latency_ms: float
    workers: int
    batched_s: float
    single_s: float
    batched_calls: int
    single_calls: int
    batched_count_ok: bool
    single_count_ok: bool
    reimport_unchanged: int
    reimport_s: float

    @property
    def batched_rate(self) -> float:
        return self.n / self.batched_s

    @property
    def single_rate(self) -> float:
        return self.single_n / self.single_s

    @property
    def ratio(self) -> float:
        return self.batched_rate / self.single_rate


def run(env: BenchEnv, n: int, counter: Any, single_n: int, latency_ms: float) -> BulkResult:
    from catalog_lambda.bulk_import import DEFAULT_WORKERS, BulkImporter
    from catalog_lambda.clock import new_id
    from catalog_lambda.models import bind_models
    from catalog_lambda.repositories.products import ProductRepository
    from catalog_lambda.services import catalog_service

    settings: Any = bench_settings(env)
    bind_models(settings)
    service = catalog_service(settings)
    tag = uuid.uuid4().hex[:4]
    slug_a, slug_b = f"bulk-a-{tag}", f"bulk-b-{tag}"
    service.create_category(slug_a, "Bulk batched")
    service.create_category(slug_b, "Bulk one by one")

    text = "\n".join(json.dumps(r) for r in rows(n, slug_a, f"a{tag}"))
    importer = BulkImporter(settings)
    counter.reset()
    started = time.perf_counter()
    report = importer.run(text, "bench.jsonl")
    batched_s = time.perf_counter() - started
    batched_calls = counter.total
    assert report.created == n and report.failed == 0, report.as_dict()

    from catalog_lambda.schemas import ProductCreate

    repo = ProductRepository(settings)
    single_n = min(n, single_n)
    single_rows = [ProductCreate.model_validate(r) for r in rows(single_n, slug_b, f"b{tag}")]
    counter.reset()
    started = time.perf_counter()
    for data in single_rows:
        repo.create(data.model_dump(exclude={"stock"}), new_id(), data.stock)
    single_s = time.perf_counter() - started
    single_calls = counter.total

    started = time.perf_counter()
    again = importer.run(text, "bench.jsonl")
    reimport_s = time.perf_counter() - started
    counts = {c["slug"]: c["product_count"] for c in service.list_categories()["items"]}
    return BulkResult(n, single_n, latency_ms, DEFAULT_WORKERS, batched_s, single_s, batched_calls, single_calls,
                      counts[slug_a] == n, counts[slug_b] == single_n, again.unchanged, reimport_s)
