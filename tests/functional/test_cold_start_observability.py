"""The Lambda handler module, imported in a fresh process as Lambda imports it (tracing
on, a sampled trace header): the cold-start measures in ``app.py`` (the collector paused
while importing, then ``gc.freeze``) leave logs, EMF metrics and X-Ray tracing working.

A fresh process, because Powertools configures the tracer from the environment at
import; the X-Ray SDK's emitter is swapped for one that keeps what would go to the
daemon, so nothing leaves the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"

PROBE = """
import json
sent = []
class Capture:
    def send_entity(self, entity):
        sent.append(json.loads(entity.serialize()))
    def set_daemon_address(self, address):
        pass
import app, gc
from aws_xray_sdk.core import xray_recorder
xray_recorder.emitter = Capture()
event = {"resource": "/products", "path": "/products", "httpMethod": "POST", "headers": {},
         "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": None, "stageVariables": None, "body": "{}", "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/products", "httpMethod": "POST", "path": "/api/products",
                            "requestId": "r-1", "stage": "api"}}
class Ctx:
    function_name = "store-test"; memory_limit_in_mb = 512; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:store-test"
    def get_remaining_time_in_millis(self): return 10000
response = app.app(event, Ctx())
print("RESULT " + json.dumps({"status": response["statusCode"], "frozen": gc.get_freeze_count() > 0,
                              "collector_on": gc.isenabled(), "sent": sent}))
"""


def test_a_cold_request_in_lambda_is_logged_traced_and_counted() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(PROJECT_DIR), "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
           "AWS_LAMBDA_FUNCTION_NAME": "store-test", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "STAGE": "test", "CURSOR_SIGNING_KEY": "k" * 32, "POWERTOOLS_SERVICE_NAME": "store-api",
           "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"}
    # A POST without the authorizer's claims: answered without the database, counted as AuthFailures.
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=str(PROJECT_DIR), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    outcome = json.loads(lines[-1].removeprefix("RESULT "))
    documents = [json.loads(line) for line in lines[:-1]]

    assert outcome["status"] == 401
    assert outcome["frozen"] and outcome["collector_on"]
    emf = [d for d in documents if "_aws" in d]
    assert [m["Name"] for d in emf for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["AuthFailures"]
    access = [d for d in documents if d.get("message") == "request"]
    assert len(access) == 1 and access[0]["cold_start"] is True and access[0]["xray_trace_id"] == TRACE_ROOT
    [subsegment] = [e for e in outcome["sent"] if e.get("name") == "## POST /products"]
    assert subsegment["trace_id"] == TRACE_ROOT
    assert subsegment["annotations"] == {"correlation_id": "r-1", "cold_start": True, "status": 401}
