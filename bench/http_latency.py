"""GET /products (and GET /products/{id}) latency over HTTP on the loopback, served
by ``chalice local`` (the local stack's API server) against the emulator."""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass

from bench.env import PROJECT_DIR, BenchEnv, free_port
from infra.local.processes import start_server
from infra.local.stack import stop_process


@dataclass(frozen=True)
class Latency:
    path: str
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure(env: BenchEnv, product_id: str, requests_per_path: int = 300) -> list[Latency]:
    import requests

    port = free_port()
    child_env = {**os.environ, **env.app_env(local_auth=False), "PYTHONPATH": str(PROJECT_DIR),
                 "API_ACCESS_LOG": "0", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    base = f"http://127.0.0.1:{port}"
    proc = start_server([sys.executable, "-m", "infra.local.api_server", "--port", str(port), "--stage", "dev"],
                        f"{base}/health", env=child_env)
    results = []
    try:
        session = requests.Session()
        for path in ("/products", f"/products/{product_id}"):
            for _ in range(20):
                session.get(base + path, timeout=30).raise_for_status()
            samples = []
            for _ in range(requests_per_path):
                started = time.perf_counter()
                response = session.get(base + path, timeout=30)
                samples.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            label = path if path == "/products" else "/products/{id}"
            results.append(Latency(label, requests_per_path, statistics.median(samples),
                                   _percentile(samples, 0.99), statistics.fmean(samples)))
    finally:
        stop_process(proc)
    return results
