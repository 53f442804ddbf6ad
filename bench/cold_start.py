"""Cold start: fresh processes, alternating, in a Lambda-like environment.

* handler: import ``app`` (the Lambda handler module) and serve its first
  ``GET /products/{id}`` in-process (an API Gateway proxy event) against the emulator;
* baseline: ``import boto3`` and make one ``GetItem`` of the same item.

Both report, from inside the process, the import time and the time to the answer;
the parent also records the whole process's wall time (interpreter start included).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench.env import CURSOR_KEY, PROJECT_DIR, STAGE, BenchEnv

HANDLER = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import app as handler
t_import = time.perf_counter() - t0
pid = {pid!r}
event = {{"resource": "/products/{{product_id}}", "path": "/products/" + pid, "httpMethod": "GET",
         "headers": {{"Accept": "application/json"}}, "multiValueHeaders": {{}}, "queryStringParameters": None,
         "multiValueQueryStringParameters": None, "pathParameters": {{"product_id": pid}}, "stageVariables": None,
         "body": None, "isBase64Encoded": False,
         "requestContext": {{"resourcePath": "/products/{{product_id}}", "httpMethod": "GET",
                             "path": "/api/products/" + pid, "requestId": "bench-1", "stage": "api"}}}}
class Ctx:
    function_name = "store-bench"; memory_limit_in_mb = 512; aws_request_id = "bench-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:store-bench"
    def get_remaining_time_in_millis(self): return 10000
response = handler.app(event, Ctx())
t_total, c_total = time.perf_counter() - t0, time.process_time() - c0
assert response["statusCode"] == 200, response
print(json.dumps({{"import": t_import, "total": t_total, "cpu": c_total}}))
"""

BASELINE = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import boto3
t_import = time.perf_counter() - t0
client = boto3.client("dynamodb")
item = client.get_item(TableName={table!r}, Key={{"pk": {{"S": "P#" + {pid!r}}}, "sk": {{"S": "P"}}}},
                       ConsistentRead=True)
t_total, c_total = time.perf_counter() - t0, time.process_time() - c0
assert "Item" in item
print(json.dumps({{"import": t_import, "total": t_total, "cpu": c_total}}))
"""


@dataclass(frozen=True)
class Sample:
    import_s: float
    total_s: float
    wall_s: float
    cpu_s: float  # CPU time of import and first answer: steadier than wall time on a busy machine


@dataclass(frozen=True)
class ColdStart:
    runs: int
    tracing: bool
    handler: list[Sample]
    baseline: list[Sample]

    @staticmethod
    def _median(samples: list[Sample], attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in samples)

    def median(self, which: str, attr: str) -> float:
        return self._median(self.handler if which == "handler" else self.baseline, attr)

    def ratio(self, attr: str) -> float:
        return self.median("handler", attr) / self.median("baseline", attr)


def lambda_like_env(env: BenchEnv, tracing: bool) -> dict[str, str]:
    import os

    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
            "PYTHONPATH": str(PROJECT_DIR), "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
            "AWS_LAMBDA_FUNCTION_NAME": "store-bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11", "STAGE": STAGE, "CURSOR_SIGNING_KEY": CURSOR_KEY,
            "POWERTOOLS_SERVICE_NAME": "store-api", "POWERTOOLS_METRICS_NAMESPACE": "Store",
            **env.aws_env()}
    if tracing:
        # As in Lambda: an (unsampled) trace header; the X-Ray SDK finds its facade segment.
        base["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
        base["AWS_XRAY_CONTEXT_MISSING"] = "IGNORE_ERROR"
    else:
        base["POWERTOOLS_TRACE_DISABLED"] = "1"
    return base


def _run(code: str, env: dict[str, str]) -> Sample:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd="/tmp", capture_output=True, text=True,
                            timeout=120)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return Sample(data["import"], data["total"], wall, data["cpu"])


def measure(env: BenchEnv, product_id: str, runs: int = 9, tracing: bool = True) -> ColdStart:
    child_env = lambda_like_env(env, tracing)
    handler_code = HANDLER.format(pid=product_id)
    baseline_code = BASELINE.format(pid=product_id, table=f"store-{STAGE}-products")
    _run(handler_code, child_env)  # byte-compile caches warm for both, so neither pays it
    _run(baseline_code, child_env)
    handler, baseline = [], []
    for _ in range(runs):
        baseline.append(_run(baseline_code, child_env))
        handler.append(_run(handler_code, child_env))
    return ColdStart(runs, tracing, handler, baseline)
