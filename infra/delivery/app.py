"""``make deploy STAGE=...``: the code-only redeploy of the API: ``chalice deploy`` with its state kept.

It runs the same ``chalice deploy --stage <stage>`` a user types at the repository root
(:mod:`infra.chalice_cli` makes the package lean, attaches the authorizer and puts the
gateway responses in the API definition), wrapped in what a fresh clone lacks:

1. find the stage's target (account, region, endpoint) and the Cognito user pool ARN,
   read from the auth stack's output ``UserPoolArn`` (``store-<stage>-auth``) and handed to
   Chalice as ``API_COGNITO_POOL_ARNS``;
2. restore ``.chalice/deployed/<stage>.json`` from the state bucket
   (:mod:`infra.delivery.state`), so a fresh clone updates the existing function and API
   instead of creating new ones;
3. run ``chalice deploy --stage <stage>``, then save the state back (also when the deploy
   fails part-way, so whatever it created is not orphaned);
4. report each function's code sha before and after, and whether anything was created.

No CloudFormation stack is created or updated here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from catalog_lambda.settings import ENV_AUTHORIZER_POOL_ARNS  # read while Chalice builds the API
from infra import package as packaging
from infra.aws import Target, read_outputs, resolve_target
from infra.delivery import names
from infra.delivery.errors import DeliveryError
from infra.delivery.state import (
    DeploymentStateStore,
    StateLocation,
    deployed_resources,
    function_arns,
    local_state_path,
    rest_api_ids,
)

Printer = Callable[[str], None]


@dataclass(frozen=True)
class AppDeployReport:
    stage: str
    functions_before: dict[str, str]  # function ARN -> CodeSha256 before the deploy
    functions_after: dict[str, str]
    rest_apis_before: tuple[str, ...]
    rest_apis_after: tuple[str, ...]
    restored_state_version: str | None
    saved_state_version: str | None
    pool_arn: str

    @property
    def created_functions(self) -> list[str]:
        return sorted(set(self.functions_after) - set(self.functions_before))

    @property
    def updated_functions(self) -> list[str]:
        return sorted(arn for arn, sha in self.functions_after.items()
                      if arn in self.functions_before and self.functions_before[arn] != sha)

    @property
    def created_rest_apis(self) -> list[str]:
        return sorted(set(self.rest_apis_after) - set(self.rest_apis_before))


def user_pool_arn(target: Target) -> str:
    """The stage's Cognito user pool ARN: the auth stack's output."""
    return read_outputs(target, names.USER_POOL_ARN)[names.USER_POOL_ARN]


def code_shas(lambda_client: Any, arns: Sequence[str]) -> dict[str, str]:
    """CodeSha256 of each function that exists (a stale state entry is left out)."""
    shas: dict[str, str] = {}
    for arn in arns:
        try:
            shas[arn] = str(lambda_client.get_function_configuration(FunctionName=arn)["CodeSha256"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    return shas


def run_chalice(command: Sequence[str], stage: str, project_dir: Path, env: dict[str, str], out: Printer) -> None:
    argv = [*command, "deploy", "--stage", stage]
    process = subprocess.run(argv, cwd=project_dir, env=env, capture_output=True, text=True)
    for line in (process.stdout + process.stderr).splitlines():
        out(f"  chalice | {line}")
    if process.returncode != 0:
        raise DeliveryError(f"chalice deploy --stage {stage} failed with exit code {process.returncode}")


def deploy(stage: str, *, region: str | None = None, chalice_command: Sequence[str] | None = None,
           project_dir: Path = packaging.PROJECT_DIR, out: Printer = print) -> AppDeployReport:
    """Deploy the API's code to ``stage``; see the module docstring for the steps."""
    target = resolve_target(stage, region)
    out(f"deploy app: {target.describe()}")
    pool_arn = user_pool_arn(target)
    source = f"output {names.USER_POOL_ARN.key} of stack {names.USER_POOL_ARN.stack_name(stage)}"
    out(f"authorizer: Cognito user pool {pool_arn} ({source})")

    store = DeploymentStateStore(target.client("s3"),
                                 StateLocation.for_stage(stage, target.account_id, target.region))
    store.check_bucket()
    state_path = local_state_path(project_dir, stage)
    restored = store.restore(state_path)
    if restored is None:
        out(f"state: nothing saved at {store.location}: this first deploy creates the function and the API")
    else:
        out(f"state: restored {store.location} (version {restored})")

    lambda_client = target.client("lambda")
    before_resources = deployed_resources(state_path)
    functions_before = code_shas(lambda_client, function_arns(before_resources))
    apis_before = tuple(rest_api_ids(before_resources))

    env = {**os.environ, ENV_AUTHORIZER_POOL_ARNS: pool_arn, "AWS_DEFAULT_REGION": target.region}
    saved: str | None = None
    try:
        run_chalice(chalice_command or [packaging.chalice_executable()], stage, project_dir, env, out)
    finally:
        if state_path.exists():
            saved = store.save(state_path)
            out(f"state: saved {store.location} (version {saved})" if saved else "state: unchanged")

    after_resources = deployed_resources(state_path)
    apis_after = tuple(rest_api_ids(after_resources))
    if len(apis_after) != 1:
        raise DeliveryError(f"expected one REST API in Chalice's state, found {list(apis_after)}")

    report = AppDeployReport(
        stage=stage,
        functions_before=functions_before,
        functions_after=code_shas(lambda_client, function_arns(after_resources)),
        rest_apis_before=apis_before,
        rest_apis_after=apis_after,
        restored_state_version=restored,
        saved_state_version=saved,
        pool_arn=pool_arn,
    )
    _print_summary(report, out)
    return report


def _print_summary(report: AppDeployReport, out: Printer) -> None:
    for arn, sha in sorted(report.functions_after.items()):
        old = report.functions_before.get(arn)
        if old is None:
            out(f"function {arn}: created, code {sha}")
        elif old != sha:
            out(f"function {arn}: code {old} -> {sha}")
        else:
            out(f"function {arn}: code unchanged ({sha})")
    for api_id in report.rest_apis_after:
        verb = "created" if api_id in report.created_rest_apis else "updated"
        out(f"REST API {api_id}: {verb}")
