"""The design card's own command, typed literally: ``chalice deploy --stage prod`` at the root of a fresh clone.

No wrapper: the clone gets the README's one bootstrap step (``python -m infra
function-role --stage prod --write``, the ci stack's role ARN into
``.chalice/config.json``), then the ``chalice`` executable runs against the emulator
(``AWS_ENDPOINT_URL``). The function, the REST API, its Cognito authorizer on every
protected route and the gateway responses are then found with boto3. Without a pool
(no ``API_COGNITO_POOL_ARNS``, no auth stack) the command refuses before building.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infra import package as packaging
from infra.delivery.gateway import GATEWAY_RESPONSES
from tests.deploy.conftest import (
    Emulator,
    Infrastructure,
    commit_function_role,
    fresh_clone,
    run_in,
    stage_infrastructure,
)
from tests.deploy.iam_actions import actions_used, code_role_actions, uncovered

STAGE = "prod"
FUNCTION = f"store-{STAGE}"


@pytest.fixture(scope="module")
def prod_infrastructure(emulator: Emulator) -> Infrastructure:
    return stage_infrastructure(emulator, STAGE)


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, prod_infrastructure: Infrastructure,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checkout = fresh_clone(tmp_path_factory.mktemp("literal") / "store")
    commit_function_role(emulator, checkout, STAGE)
    mark = emulator.mark()
    result = run_in(emulator, checkout, packaging.chalice_executable(), "deploy", "--stage", STAGE)
    state = json.loads((checkout / ".chalice" / "deployed" / f"{STAGE}.json").read_text())
    (api_id,) = [r["rest_api_id"] for r in state["resources"] if r["resource_type"] == "rest_api"]
    return {"output": result.stdout + result.stderr, "calls": emulator.calls(mark), "api_id": api_id,
            "checkout": checkout}


def secured_operations() -> set[tuple[str, str]]:
    """(path, method) of every operation the contract's OpenAPI document says needs a token."""
    from app import app

    with Client(app) as client:
        document = json.loads(client.http.get("/openapi.json").body)
    return {(path, method.upper()) for path, item in document["paths"].items() for method, operation in item.items()
            if operation.get("security")}


def test_the_function_runs_as_the_ci_stacks_role(deployed: dict[str, Any], emulator: Emulator,
                                                 prod_infrastructure: Infrastructure) -> None:
    fn = emulator.client("lambda").get_function_configuration(FunctionName=FUNCTION)
    assert fn["Handler"] == "app.app"
    assert fn["Role"] == prod_infrastructure.function_role_arn
    assert fn["Environment"]["Variables"]["PRODUCTS_TABLE"] == "store-prod-products"
    assert not [c for c in deployed["calls"] if c["service"] == "iam"]


def test_the_deployed_zip_is_the_lean_package(deployed: dict[str, Any], emulator: Emulator) -> None:
    location = emulator.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    size = location["CodeSize"]
    assert 0 < size <= packaging.MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK
    zips = sorted((deployed["checkout"] / ".chalice" / "deployments").glob("*.zip"))
    import zipfile

    with zipfile.ZipFile(zips[-1]) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"api", "catalog_lambda", "app.py", "pynamodb"} <= top
    assert not {"boto3", "botocore", "s3transfer"} & top


def test_every_protected_route_has_the_cognito_authorizer(deployed: dict[str, Any], emulator: Emulator,
                                                          prod_infrastructure: Infrastructure) -> None:
    apigateway = emulator.client("apigateway")
    (authorizer,) = apigateway.get_authorizers(restApiId=deployed["api_id"])["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"] == [prod_infrastructure.user_pool_arn]
    found: dict[tuple[str, str], str | None] = {}
    for resource in apigateway.get_resources(restApiId=deployed["api_id"], limit=500)["items"]:
        for method in resource.get("resourceMethods", {}):
            detail = apigateway.get_method(restApiId=deployed["api_id"], resourceId=resource["id"], httpMethod=method)
            found[(resource["path"], method)] = detail.get("authorizerId")
    secured = secured_operations()
    assert secured, "the contract names no protected operation"
    for operation in secured:
        assert found.get(operation) == authorizer["id"], operation
    public = {op for op, authorizer_id in found.items() if authorizer_id is None}
    assert ("/health", "GET") in public
    assert not public & secured


def test_gateway_responses_survive_a_bare_chalice_deploy(deployed: dict[str, Any], emulator: Emulator) -> None:
    items = emulator.client("apigateway").get_gateway_responses(restApiId=deployed["api_id"])["items"]
    by_type = {item["responseType"]: item for item in items}
    assert set(by_type) == {r.response_type for r in GATEWAY_RESPONSES}
    missing = by_type["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"])["error"]["code"] == "not_found"


def test_chalice_package_reads_the_pool_from_the_auth_stack(emulator: Emulator, tmp_path: Path,
                                                            deployed: dict[str, Any],
                                                            prod_infrastructure: Infrastructure) -> None:
    out = tmp_path / "out"
    run_in(emulator, deployed["checkout"], packaging.chalice_executable(), "package", "--stage", STAGE, str(out))
    sam = json.loads((out / "sam.json").read_text())
    (api,) = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    definitions = api["Properties"]["DefinitionBody"]["securityDefinitions"]
    assert definitions["CognitoUsers"]["x-amazon-apigateway-authorizer"]["providerARNs"] == \
        [prod_infrastructure.user_pool_arn]


def test_with_no_pool_anywhere_the_command_says_what_to_do(emulator: Emulator, tmp_path: Path,
                                                           deployed: dict[str, Any]) -> None:
    out = tmp_path / "out"
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}  # nothing listens there
    result = run_in(emulator, deployed["checkout"], packaging.chalice_executable(), "package", "--stage", STAGE,
                    str(out), check=False, env=env)
    assert result.returncode != 0
    assert "API_COGNITO_POOL_ARNS" in result.stderr and "nothing was built" in result.stderr
    assert not out.exists()


def test_prods_code_role_allows_every_call_of_the_literal_deploy(deployed: dict[str, Any]) -> None:
    print("IAM actions used by chalice deploy:", ", ".join(actions_used(deployed["calls"])))
    assert uncovered(deployed["calls"], code_role_actions(STAGE)) == []
