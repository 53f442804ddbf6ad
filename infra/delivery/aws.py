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
    """A stack's outputs by key (read only: DescribeStacks)."""
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


def exports(cloudformation: Any) -> dict[str, str]:
    """Every CloudFormation export of the account and region, by name (read only: ListExports)."""
    values: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_exports").paginate():
        values.update({e["Name"]: e["Value"] for e in page.get("Exports", [])})
    return values


def required_export(values: dict[str, str], name: str) -> str:
    value = values.get(name)
    if not value:
        raise MissingInfrastructureError(
            f"no CloudFormation export {name}: deploy the infrastructure first (make deploy-infra)"
        )
    return value
