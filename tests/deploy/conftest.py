"""Fixtures of the deploy tests: a recording emulator, stand-in infrastructure, fresh clones.

Everything is set up here, so ``pytest tests/deploy`` alone passes: the emulator (moto
server, made linearizable, plus a request log, plus the API definition adapter of
``recording_emulator.py``) runs on a free 127.0.0.1 port, the credentials are the fake
ones of ``tests/conftest.py``, and every subprocess gets ``AWS_ENDPOINT_URL`` pointing at
the emulator, the standard variable Chalice, boto3 and the delivery code honour. So
the commands run are the literal ones: ``chalice deploy --stage prod``, ``python -m
infra.delivery app`` (``make deploy``).

The infrastructure the delivery reads is stood in for, not deployed: moto's
CloudFormation cannot create a Cognito user pool (``AWS::Cognito::UserPool`` has no
moto model), so the pool is made through Cognito's API and small
stacks named as the real ones (``store-<stage>-auth`` ...) carry the outputs the delivery
reads (:mod:`infra.delivery.names`; ``test_names.py`` checks the real templates have them).
The state bucket is created with the settings of the data stack's (private, versioned),
and the function role (the ci stack's ``FunctionRoleArn``) as an IAM role.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.aws import StackOutput
from infra.chalice_config import FUNCTION_ROLE_ARN
from infra.config import function_role_name, stack_name, state_bucket_name
from infra.delivery import names
from infra.local.processes import ServerExitedError, start_server, stop_group
from tests.conftest import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEPLOY_DIR = Path(__file__).resolve().parent
STAGE = "dev"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@dataclass
class Emulator:
    url: str
    log: Path

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION)  # type: ignore[call-overload]

    def env(self) -> dict[str, str]:
        """Environment for a subprocess aimed at the emulator (fake credentials from tests/conftest.py)."""
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "PYTHONPATH")}
        env.update({"AWS_ENDPOINT_URL": self.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                    "AWS_EC2_METADATA_DISABLED": "true"})
        return env

    def mark(self) -> int:
        """A position in the request log; :meth:`calls` returns what came after it."""
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines[since:]]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("emulator")
    log = workdir / "requests.jsonl"
    errors = workdir / "emulator.log"  # moto's tracebacks, if any; a pipe left unread could fill and block
    url = f"http://127.0.0.1:{port}"
    try:
        with errors.open("wb") as sink:
            proc = start_server([sys.executable, str(DEPLOY_DIR / "recording_emulator.py"), "--port", str(port),
                                 "--log", str(log)], f"{url}/moto-api/", output=sink)
    except ServerExitedError as error:
        raise RuntimeError(f"the emulator exited: {errors.read_text(errors='replace')[-3000:]}") from error
    try:
        yield Emulator(url, log)
    finally:
        stop_group(proc)


def outputs_stack(emulator: Emulator, stack: str, values: dict[StackOutput, str], stage: str = STAGE) -> None:
    """A stand-in for stack ``store-<stage>-<stack>`` with the outputs the delivery reads from it."""
    assert all(item.stack == stack for item in values)
    template = {
        "Description": f"stand-in for the {stack} stack in the deploy tests (moto cannot create the real one)",
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter",
                                 "Properties": {"Name": f"/tests/{stack}", "Type": "String", "Value": "stand-in"}}},
        "Outputs": {item.key: {"Value": value} for item, value in values.items()},
    }
    template["Resources"]["Marker"]["Properties"]["Name"] = f"/tests/{stage}/{stack}"
    emulator.client("cloudformation").create_stack(StackName=stack_name(stage, stack),
                                                   TemplateBody=json.dumps(template))


@dataclass(frozen=True)
class Infrastructure:
    user_pool_arn: str
    user_pool_id: str
    client_id: str
    state_bucket: str
    function_role_arn: str


def stage_infrastructure(emulator: Emulator, stage: str) -> Infrastructure:
    """``make deploy-infra`` stood in for: the auth outputs, the function role and the state bucket of ``stage``."""
    cognito = emulator.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"store-{stage}-users")["UserPool"]
    client = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName=f"store-{stage}-storefront")
    client_id = client["UserPoolClient"]["ClientId"]
    outputs_stack(emulator, "auth", {names.USER_POOL_ARN: pool["Arn"], names.USER_POOL_ID: pool["Id"],
                                     names.USER_POOL_CLIENT_ID: client_id}, stage)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = emulator.client("iam").create_role(RoleName=function_role_name(stage),
                                              AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    outputs_stack(emulator, "ci", {FUNCTION_ROLE_ARN: role["Arn"]}, stage)
    bucket = state_bucket_name(stage, ACCOUNT, REGION)
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    return Infrastructure(pool["Arn"], pool["Id"], client_id, bucket, role["Arn"])


@pytest.fixture(scope="session")
def infrastructure(emulator: Emulator) -> Infrastructure:
    return stage_infrastructure(emulator, STAGE)


def fresh_clone(dest: Path) -> Path:
    """``git clone`` of this repository's HEAD: no .chalice/deployed, no build/, no .chalice/deployments."""
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_DIR), str(dest)], check=True)
    assert not (dest / ".chalice" / "deployed").exists()
    assert (dest / "vendor" / "api").is_symlink()
    return dest


def run_in(emulator: Emulator, checkout: Path, *argv: str, check: bool = True,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command in ``checkout``, aimed at the emulator; its output is shown with the test's."""
    result = subprocess.run(list(argv), cwd=checkout, env={**emulator.env(), **(env or {})}, capture_output=True,
                            text=True, timeout=300)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if check:
        assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    return result


def commit_function_role(emulator: Emulator, checkout: Path, stage: str) -> None:
    """The README's bootstrap step: the ci stack's function role ARN into .chalice/config.json."""
    run_in(emulator, checkout, sys.executable, "-m", "infra", "function-role", "--stage", stage, "--write")


def deliver_app(emulator: Emulator, checkout: Path) -> subprocess.CompletedProcess[str]:
    """``make deploy`` in the checkout: ``python -m infra.delivery app``, which runs ``chalice deploy``."""
    commit_function_role(emulator, checkout, STAGE)
    return run_in(emulator, checkout, sys.executable, "-m", "infra.delivery", "app", "--stage", STAGE)



def run_make(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    """``make <args>`` aimed at the emulator, with this interpreter (STAMP= skips the venv install step)."""
    result = subprocess.run(["make", "--no-print-directory", *args, f"PY={sys.executable}", "STAMP="],
                            cwd=PROJECT_DIR, env=emulator.env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    return result
