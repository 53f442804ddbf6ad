"""The Lambda package: `make package` and a literal `chalice package` at the root build the same lean zip.

Both run with ``API_COGNITO_POOL_ARNS`` set (a made-up pool: no AWS call); where the
pool comes from otherwise is tested in ``tests/deploy/test_chalice_cli.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import package as packaging

PROJECT_DIR = Path(__file__).resolve().parents[2]
# What the AWS Lambda Python runtime provides besides the standard library.
RUNTIME_LIBRARIES = ["boto3==1.43.11", "botocore==1.43.11", "jmespath==1.1.0", "python-dateutil==2.9.0.post0",
                     "six==1.17.0", "urllib3==2.8.0", "s3transfer==0.17.1"]


POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example1"
BUILD_ENV = {**os.environ, "API_COGNITO_POOL_ARNS": POOL_ARN, "PY": sys.executable}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    subprocess.run(["make", "package", "STAGE=prod", f"OUT={out}", f"PY={sys.executable}", "STAMP="],
                   cwd=PROJECT_DIR, check=True, env=BUILD_ENV)
    return out


@pytest.fixture(scope="module")
def literal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``chalice package --stage prod OUT`` typed at the repository root."""
    out = tmp_path_factory.mktemp("literal") / "out"
    subprocess.run([packaging.chalice_executable(), "package", "--stage", "prod", str(out)], cwd=PROJECT_DIR,
                   check=True, env=BUILD_ENV)
    return out


def _names(out: Path) -> list[str]:
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        return sorted(archive.namelist())


@pytest.fixture(scope="module")
def runtime_dir() -> Path:
    target = PROJECT_DIR / "build" / "lambda-runtime-libs"
    if not (target / ".complete").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--target", str(target), *RUNTIME_LIBRARIES], check=True)
        (target / ".complete").write_text("ok")
    return target


def test_make_package_writes_deployment_zip_with_app_packages_at_root(built: Path) -> None:
    zip_path = built / "deployment.zip"
    assert zip_path.exists()
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
    assert "app.py" in names
    assert "api/__init__.py" in names
    assert "catalog_lambda/__init__.py" in names
    assert "catalog_lambda/models.py" in names
    assert "chalice/app.py" in names
    for lib in ("pynamodb/", "aws_lambda_powertools/", "aws_xray_sdk/", "pydantic/", "pydantic_core/", "jwt/"):
        assert any(n.startswith(lib) for n in names), lib


def test_package_has_no_boto3_or_botocore_and_fits_the_budget(built: Path) -> None:
    zip_path = built / "deployment.zip"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    top_level = {n.split("/", 1)[0] for n in names}
    assert not {"boto3", "botocore", "s3transfer"} & top_level
    sam = json.loads((built / "sam.json").read_text())
    layers = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert layers == []  # no layers: the function zip is the whole package
    assert any(n.startswith("stripe/") for n in names)  # deployed stages take payments through Stripe
    assert zip_path.stat().st_size <= packaging.MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK == packaging.package_budget(names)
    print(f"make package: {zip_path.stat().st_size / 1024 / 1024:.2f} MB")


def test_a_literal_chalice_package_builds_the_same_zip(built: Path, literal: Path) -> None:
    assert _names(literal) == _names(built)
    size = (literal / "deployment.zip").stat().st_size
    print(f"chalice package: {size / 1024 / 1024:.2f} MB")
    assert size <= packaging.package_budget(_names(literal))


def test_every_protected_route_carries_the_cognito_authorizer(literal: Path) -> None:
    sam = json.loads((literal / "sam.json").read_text())
    (api,) = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    body = api["Properties"]["DefinitionBody"]
    authorizer = body["securityDefinitions"]["CognitoUsers"]["x-amazon-apigateway-authorizer"]
    assert authorizer == {"type": "cognito_user_pools", "providerARNs": [POOL_ARN]}
    secured = {(p, m) for p, item in body["paths"].items() for m, op in item.items()
               if isinstance(op, dict) and op.get("security") == [{"CognitoUsers": []}]}
    assert {("/products", "post"), ("/orders", "post"), ("/orders", "get")} <= secured
    assert ("/health", "get") not in secured and ("/products", "get") not in secured
    # The gateway responses are part of the API definition the package carries.
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"


def test_packaged_handler_imports_and_serves_with_only_the_runtime_libraries(
    built: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    code_dir = tmp_path / "task"
    with zipfile.ZipFile(built / "deployment.zip") as archive:
        archive.extractall(code_dir)
    probe = f"""
import sys, json
sys.path[:0] = [{str(code_dir)!r}, {str(runtime_dir)!r}]
import app, gc
assert app.__file__.startswith({str(code_dir)!r}), app.__file__
assert gc.get_freeze_count() > 0, "the handler module freezes what import built (cold start)"
assert gc.isenabled(), "and turns the collector back on"
import catalog_lambda, api, pynamodb, pydantic_core
for module in (catalog_lambda, api, pynamodb, pydantic_core):
    assert module.__file__.startswith({str(code_dir)!r}), module.__file__
event = {{"resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {{}},
         "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {{"resourcePath": "/health", "httpMethod": "GET", "path": "/api/health",
                             "requestId": "r-1", "stage": "api"}}}}
class Ctx:
    function_name = "store-prod"; memory_limit_in_mb = 1024; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:store-prod"
response = app.app(event, Ctx())
print(json.dumps(response))
"""
    # What Lambda itself sets, plus only the table names and the cursor key: payment, image
    # and email settings are read when first needed, never at import.
    env = {"PATH": os.environ["PATH"], "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "LAMBDA_TASK_ROOT": str(code_dir), "AWS_LAMBDA_FUNCTION_NAME": "store-prod",
           "POWERTOOLS_TRACE_DISABLED": "1",
           "PRODUCTS_TABLE": "store-prod-products", "ORDERS_TABLE": "store-prod-orders",
           "IDEMPOTENCY_TABLE": "store-prod-idempotency", "CURSOR_SIGNING_KEY": "k" * 32}
    # -S: no site-packages, so only the zip, the runtime libraries and the stdlib are importable.
    result = subprocess.run([sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_the_package_schedules_the_expiry_sweep_every_minute(built: Path) -> None:
    sam = json.loads((built / "sam.json").read_text())
    schedules = [(name, event["Properties"]["Schedule"])
                 for name, resource in sam["Resources"].items() if resource["Type"] == "AWS::Serverless::Function"
                 for event in resource["Properties"].get("Events", {}).values() if event["Type"] == "Schedule"]
    assert [(name, rule) for name, rule in schedules] == [("ExpireOrders", "rate(1 minute)")]
    function = sam["Resources"]["ExpireOrders"]["Properties"]
    assert function["Handler"] == "app.expire_orders"


def test_the_packaged_webhook_verifies_signatures_with_the_sdk_on_the_runtime_libraries(
    built: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    """The Stripe SDK imports and verifies with only the runtime's libraries (no requests),
    and only on the payment path: a GET leaves it unloaded."""
    code_dir = tmp_path / "task"
    with zipfile.ZipFile(built / "deployment.zip") as archive:
        archive.extractall(code_dir)
    probe = f"""
import sys, json, time, hmac, hashlib
sys.path[:0] = [{str(code_dir)!r}, {str(runtime_dir)!r}]
import app

def call(method, path, body=None, headers=None):
    event = {{"resource": path, "path": path, "httpMethod": method, "headers": headers or {{}},
             "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
             "requestContext": {{"resourcePath": path, "httpMethod": method, "path": "/api" + path,
                                 "requestId": "r-1", "stage": "api"}}}}
    class Ctx:
        function_name = "store-prod"; memory_limit_in_mb = 1024; aws_request_id = "r-1"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:store-prod"
    return app.app(event, Ctx())

assert call("GET", "/health")["statusCode"] == 200
assert "stripe" not in sys.modules
body = json.dumps({{"id": "evt_1", "type": "customer.created", "data": {{"object": {{"id": "cus_1"}}}}}})
stamp = int(time.time())
good = hmac.new(b"whsec_probe", f"{{stamp}}.{{body}}".encode(), hashlib.sha256).hexdigest()
bad = call("POST", "/payments/webhook", body, {{"content-type": "application/json",
                                                "stripe-signature": f"t={{stamp}},v1=00"}})
ok = call("POST", "/payments/webhook", body, {{"content-type": "application/json",
                                               "stripe-signature": f"t={{stamp}},v1={{good}}"}})
print(json.dumps([bad["statusCode"], json.loads(bad["body"])["error"]["code"], ok["statusCode"],
                  json.loads(ok["body"])["outcome"], "requests" in sys.modules]))
"""
    env = {"PATH": os.environ["PATH"], "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "STAGE": "prod", "CURSOR_SIGNING_KEY": "k" * 32, "LAMBDA_TASK_ROOT": str(code_dir),
           "AWS_LAMBDA_FUNCTION_NAME": "store-prod", "POWERTOOLS_TRACE_DISABLED": "1",
           "PAYMENT_WEBHOOK_SECRET": "whsec_probe"}
    result = subprocess.run([sys.executable, "-S", "-c", probe], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [400, "invalid_signature", 200, "ignored", False]
