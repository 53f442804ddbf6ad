"""AWS clients and the facts every deploy needs: region, account, stack outputs.

boto3 reads ``AWS_ENDPOINT_URL`` (and the service-specific ``AWS_ENDPOINT_URL_<SERVICE>``)
on its own, so nothing here rewrites endpoints; :func:`describe_target` only reports
where the calls go. Credentials come from the usual chain: the OIDC role in the
workflows, a profile or SSO session on a laptop, fake ones against the emulator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.config import stage_config
from infra.delivery.errors import MissingInfrastructureError
from infra.delivery.names import StackOutput

ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"


@dataclass(frozen=True)
class Target:
    """Where a deploy goes: the stage, its region and account, and the endpoint override."""

    stage: str
    region: str
    account_id: str
    endpoint_url: str | None

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    def describe(self) -> str:
        where = self.endpoint_url or "AWS"
        return f"stage {self.stage}, account {self.account_id}, region {self.region}, endpoint {where}"


def resolve_region(stage: str, region: str | None = None) -> str:
    """An explicit region wins, then the environment, then the stage's configured region."""
    return region or os.environ.get(ENV_REGION) or os.environ.get(ENV_DEFAULT_REGION) or stage_config(stage).region


def resolve_target(stage: str, region: str | None = None) -> Target:
    stage_config(stage)  # an unknown stage fails here, before any AWS call
    region = resolve_region(stage, region)
    sts = boto3.client("sts", region_name=region)  # type: ignore[call-overload]
    account_id = str(sts.get_caller_identity()["Account"])
    return Target(stage=stage, region=region, account_id=account_id,
                  endpoint_url=os.environ.get(ENV_ENDPOINT_URL) or None)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """A stack's outputs by key (DescribeStacks: read only)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise MissingInfrastructureError(
                f"stack {stack_name} does not exist: deploy the infrastructure first (make deploy-infra)"
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def required_output(outputs: dict[str, str], key: str, stack_name: str) -> str:
    value = outputs.get(key)
    if not value:
        raise MissingInfrastructureError(f"stack {stack_name} has no output {key}: is it up to date?")
    return value



def read_outputs(target: Target, *wanted: StackOutput) -> dict[StackOutput, str]:
    """The values of ``wanted``, each stack described once; a missing one is an error that says what to do."""
    cloudformation = target.client("cloudformation")
    by_stack: dict[str, dict[str, str]] = {}
    values: dict[StackOutput, str] = {}
    for item in wanted:
        name = item.stack_name(target.stage)
        if name not in by_stack:
            by_stack[name] = stack_outputs(cloudformation, name)
        values[item] = required_output(by_stack[name], item.key, name)
    return values
