"""``make deploy`` (``python -m infra.delivery app``) against the emulator: first deploy, then redeploy.

The first deploy runs from a fresh clone (no ``.chalice/deployed``, no ``build/``) and
creates the function and the REST API. The redeploy runs from *another* fresh clone
with a code change: it restores Chalice's state from the state bucket, so the same
function gets new code and the same API is updated; nothing is created and no
CloudFormation stack is created or updated. Chalice is the real CLI, unchanged; the
emulator takes its Swagger 2.0 document through ``recording_emulator.py``'s adapter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from infra.delivery.gateway import GATEWAY_RESPONSES, SWAGGER_EXTENSION
from tests.deploy.conftest import PROJECT_DIR, STAGE, Emulator, Infrastructure, deliver_app, fresh_clone
from tests.deploy.iam_actions import actions_used, code_role_actions, uncovered

FUNCTION_PREFIX = f"store-{STAGE}"
STATE_KEY = f"chalice/deployed/{STAGE}.json"
# What a CloudFormation call may be while the app deploys: reads only.
READ_ONLY = ("Describe", "List", "Get", "Validate", "Estimate")


def functions(emulator: Emulator) -> dict[str, str]:
    """Every Lambda function of the stage: name -> CodeSha256."""
    found: dict[str, str] = {}
    for page in emulator.client("lambda").get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            if fn["FunctionName"] == FUNCTION_PREFIX or fn["FunctionName"].startswith(FUNCTION_PREFIX + "-"):
                found[fn["FunctionName"]] = fn["CodeSha256"]
    return found


def rest_apis(emulator: Emulator) -> dict[str, str]:
    return {api["id"]: api["name"] for api in emulator.client("apigateway").get_rest_apis()["items"]}


def stacks(emulator: Emulator) -> list[dict[str, Any]]:
    summaries = emulator.client("cloudformation").list_stacks()["StackSummaries"]
    return sorted(({k: str(v) for k, v in s.items()} for s in summaries), key=lambda s: s["StackId"])


def operations(calls: list[dict[str, Any]], service: str) -> list[str]:
    return [c["action"] or f"{c['method']} {c['path']}" for c in calls if c["service"] == service]


@pytest.fixture(scope="module")
def first_deploy(emulator: Emulator, infrastructure: Infrastructure,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checkout = fresh_clone(tmp_path_factory.mktemp("first") / "store")
    mark = emulator.mark()
    started = time.monotonic()
    result = deliver_app(emulator, checkout)
    return {"output": result.stdout, "calls": emulator.calls(mark), "seconds": time.monotonic() - started,
            "functions": functions(emulator), "apis": rest_apis(emulator), "stacks": stacks(emulator)}


def test_chalice_deploy_creates_the_function_and_the_rest_api(first_deploy: dict[str, Any], emulator: Emulator,
                                                               infrastructure: Infrastructure) -> None:
    # The API's function and the order-expiry sweep (@app.schedule).
    assert set(first_deploy["functions"]) == {FUNCTION_PREFIX, f"{FUNCTION_PREFIX}-expire_orders"}
    assert list(first_deploy["apis"].values()) == ["store"]
    fn = emulator.client("lambda").get_function_configuration(FunctionName=FUNCTION_PREFIX)
    assert fn["Runtime"].startswith("python3")
    assert fn["Handler"] == "app.app"
    assert fn["Environment"]["Variables"]["PRODUCTS_TABLE"] == "store-dev-products"
    apigateway = operations(first_deploy["calls"], "apigateway")
    assert any(op.startswith("POST /restapis") for op in apigateway)  # ImportRestApi
    assert "POST /2015-03-31/functions" in operations(first_deploy["calls"], "lambda")  # CreateFunction
    assert "Rest API URL:" in first_deploy["output"]
    assert fn["Role"] == infrastructure.function_role_arn  # the ci stack's role; Chalice created none
    assert operations(first_deploy["calls"], "iam") == []  # no IAM call at all


def test_chalice_deploy_schedules_the_expiry_sweep_every_minute(first_deploy: dict[str, Any],
                                                                emulator: Emulator) -> None:
    events = emulator.client("events")
    rule = events.describe_rule(Name=f"{FUNCTION_PREFIX}-expire_orders-event")  # Chalice's "<app>-<stage>-<name>-event"
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"].endswith(f":function:{FUNCTION_PREFIX}-expire_orders")
    fn = emulator.client("lambda").get_function_configuration(FunctionName=f"{FUNCTION_PREFIX}-expire_orders")
    assert fn["Handler"] == "app.expire_orders"


def test_first_deploy_saves_chalices_state_in_the_state_bucket(first_deploy: dict[str, Any], emulator: Emulator,
                                                               infrastructure: Infrastructure) -> None:
    body = emulator.client("s3").get_object(Bucket=infrastructure.state_bucket, Key=STATE_KEY)["Body"].read()
    resources = {r["name"]: r for r in json.loads(body)["resources"]}
    assert resources["api_handler"]["lambda_arn"].endswith(f":function:{FUNCTION_PREFIX}")
    assert resources["rest_api"]["rest_api_id"] in first_deploy["apis"]


def test_the_stage_pool_arn_reaches_the_authorizer(first_deploy: dict[str, Any],
                                                    infrastructure: Infrastructure) -> None:
    documents = [json.loads(c["body"]) for c in first_deploy["calls"]
                 if c["service"] == "apigateway" and c.get("body", "").lstrip().startswith("{")
                 and "paths" in c["body"]]
    assert documents, "no API document was sent"
    authorizer = documents[-1]["securityDefinitions"]["CognitoUsers"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "cognito_user_pools"
    assert authorizer["providerARNs"] == [infrastructure.user_pool_arn]
    secured = {(path, method) for path, item in documents[-1]["paths"].items() for method, op in item.items()
               if isinstance(op, dict) and op.get("security")}
    assert ("/products", "post") in secured
    assert ("/health", "get") not in secured


def test_gateway_responses_use_the_contract_error_shape(first_deploy: dict[str, Any], emulator: Emulator) -> None:
    (api_id,) = first_deploy["apis"]
    items = emulator.client("apigateway").get_gateway_responses(restApiId=api_id)["items"]
    by_type = {item["responseType"]: item for item in items}
    assert set(by_type) == {r.response_type for r in GATEWAY_RESPONSES}
    expected = {"MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"), "UNAUTHORIZED": ("401", "unauthorized"),
                "ACCESS_DENIED": ("403", "forbidden"), "THROTTLED": ("429", "throttled"),
                "INTEGRATION_TIMEOUT": ("503", "unavailable")}
    for response_type, (status, code) in expected.items():
        item = by_type[response_type]
        assert item["statusCode"] == status
        body = json.loads(item["responseTemplates"]["application/json"])
        assert body == {"error": {"code": code, "message": body["error"]["message"], "details": []}}
    assert by_type["UNAUTHORIZED"]["responseParameters"]["gatewayresponse.header.WWW-Authenticate"] == \
        "'Bearer realm=\"store\"'"
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in by_type[response_type]  # keeps API Gateway's own status
    # They travel in the API definition Chalice sends (so every overwrite keeps them), and
    # Chalice's own deployment of the stage, made after it, puts them into effect.
    documents = [c for c in first_deploy["calls"] if c["service"] == "apigateway" and "paths" in c.get("body", "")]
    assert set(json.loads(documents[-1]["body"])[SWAGGER_EXTENSION]) == set(by_type)
    assert not any("/gatewayresponses/" in c["path"] for c in first_deploy["calls"])


def test_the_saved_state_names_the_rest_api_for_the_edge_stack(first_deploy: dict[str, Any],
                                                              emulator: Emulator) -> None:
    result = subprocess.run([sys.executable, "-m", "infra.delivery", "state", "--stage", STAGE, "--rest-api-id"],
                            cwd=PROJECT_DIR, env=emulator.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in first_deploy["apis"]


@pytest.fixture(scope="module")
def redeploy(first_deploy: dict[str, Any], emulator: Emulator, infrastructure: Infrastructure,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checkout = fresh_clone(tmp_path_factory.mktemp("second") / "store")
    changed = checkout / "catalog_lambda" / "__init__.py"
    changed.write_text(changed.read_text() + "\nDEPLOY_TEST_MARKER = 'a code change made in a fresh clone'\n")
    before = {"functions": functions(emulator), "apis": rest_apis(emulator), "stacks": stacks(emulator)}
    mark = emulator.mark()
    started = time.monotonic()
    result = deliver_app(emulator, checkout)
    return {"output": result.stdout, "calls": emulator.calls(mark), "seconds": time.monotonic() - started,
            "before": before, "functions": functions(emulator), "apis": rest_apis(emulator),
            "stacks": stacks(emulator)}


def test_redeploy_from_a_fresh_clone_gives_the_same_functions_new_code(redeploy: dict[str, Any]) -> None:
    before, after = redeploy["before"]["functions"], redeploy["functions"]
    assert set(after) == set(before) == {FUNCTION_PREFIX, f"{FUNCTION_PREFIX}-expire_orders"}
    for name in before:
        assert after[name] != before[name], f"{name} kept its code sha {before[name]}"
    lambda_calls = operations(redeploy["calls"], "lambda")
    assert any(op.startswith("PUT ") and op.endswith("/code") for op in lambda_calls)  # UpdateFunctionCode
    assert not any(op == "POST /2015-03-31/functions" for op in lambda_calls)  # no CreateFunction
    assert "state: restored" in redeploy["output"]


def test_redeploy_adds_no_function_and_no_api(redeploy: dict[str, Any]) -> None:
    assert redeploy["apis"] == redeploy["before"]["apis"]
    assert len(redeploy["apis"]) == 1
    apigateway = operations(redeploy["calls"], "apigateway")
    assert not any(op in ("POST /restapis",) for op in apigateway)  # no CreateRestApi / ImportRestApi
    (api_id,) = redeploy["apis"]
    assert any(op == f"PUT /restapis/{api_id}" for op in apigateway)  # PutRestApi: the same API updated


def test_redeploy_touches_no_cloudformation_stack(redeploy: dict[str, Any]) -> None:
    assert redeploy["stacks"] == redeploy["before"]["stacks"]
    writes = [op for op in operations(redeploy["calls"], "cloudformation") if not op.startswith(READ_ONLY)]
    assert writes == []


def test_redeploy_leaves_the_saved_state_naming_the_same_resources(redeploy: dict[str, Any], emulator: Emulator,
                                                                   infrastructure: Infrastructure) -> None:
    body = emulator.client("s3").get_object(Bucket=infrastructure.state_bucket, Key=STATE_KEY)["Body"].read()
    resources = {r["name"]: r for r in json.loads(body)["resources"]}
    assert set(redeploy["apis"]) == {resources["rest_api"]["rest_api_id"]}
    assert resources["api_handler"]["lambda_arn"].endswith(f":function:{FUNCTION_PREFIX}")




def test_the_code_role_allows_every_call_the_deploys_made(first_deploy: dict[str, Any],
                                                          redeploy: dict[str, Any]) -> None:
    calls = first_deploy["calls"] + redeploy["calls"]
    print("IAM actions used by make deploy:", ", ".join(actions_used(calls)))
    assert uncovered(calls, code_role_actions(STAGE)) == []
    # Chalice's planner clears reserved concurrency on every update of a function.
    assert "lambda:DeleteFunctionConcurrency" in actions_used(redeploy["calls"])
