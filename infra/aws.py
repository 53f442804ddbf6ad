"""One AWS toolkit for ``infra``: clients, the deploy target, stack outputs, Chalice's REST API id, error codes.

Both the infrastructure deployer (:mod:`infra.deploy`, ``python -m infra deploy``) and
the delivery (:mod:`infra.delivery`, ``make deploy`` / ``deploy-site`` /
``deploy-server``) and the Chalice CLI hook (:mod:`infra.chalice_cli`) go through here:

- clients come from a :data:`ClientFactory` ``(service, region) -> client``, injectable
  (tests pass one aimed at the emulator); the default is boto3's, which honours the
  standard ``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``) on its own, so no
  code path of ours rewrites endpoints;
- every error of the tooling derives from :class:`InfraError`;
- AWS errors are told apart by botocore's error *code* (:func:`error_code`), never by
  their message text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.config import stack_name, stage_config, state_bucket_name

ClientFactory = Callable[[str, str], Any]  # (service, region) -> boto3 client

ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"

# DescribeStacks answers a stack that does not exist with this code (and a message
# "Stack with id ... does not exist"); for a well-formed stack name it means nothing else.
STACK_MISSING_CODES = frozenset({"ValidationError"})
OBJECT_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
BUCKET_MISSING_CODES = frozenset({"NoSuchBucket", "404", "NotFound", "403", "AccessDenied"})
CHALICE_STATE_PREFIX = "chalice/deployed"


class InfraError(Exception):
    """The root of every error of infra's AWS tooling: a deploy cannot go on, and the message says why."""


class MissingInfrastructureError(InfraError):
    """A stack, bucket or service a deploy reads has not been created yet."""


class AwsUnreachableError(InfraError):
    """No credentials, no region, or no answer from AWS (or the endpoint in AWS_ENDPOINT_URL)."""


def boto3_client(service: str, region: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client(service)  # type: ignore[no-untyped-call]


def error_code(error: BaseException) -> str:
    """botocore's error code of a ClientError (``""`` for anything else)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def resolve_region(stage: str, region: str | None = None) -> str:
    """An explicit region wins, then the environment, then the stage's configured region."""
    return region or os.environ.get(ENV_REGION) or os.environ.get(ENV_DEFAULT_REGION) or stage_config(stage).region


@dataclass(frozen=True)
class Target:
    """Where a deploy goes: the stage, its region and account, the endpoint override, and the clients."""

    stage: str
    region: str
    account_id: str
    endpoint_url: str | None
    clients: ClientFactory = field(default=boto3_client, compare=False, repr=False)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.region)

    def describe(self) -> str:
        where = self.endpoint_url or "AWS"
        return f"stage {self.stage}, account {self.account_id}, region {self.region}, endpoint {where}"


def resolve_target(stage: str, region: str | None = None, clients: ClientFactory = boto3_client) -> Target:
    """The stage's target; asks STS who the caller is (an unknown stage fails before any AWS call)."""
    stage_config(stage)
    region = resolve_region(stage, region)
    try:
        account_id = str(clients("sts", region).get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as error:
        raise AwsUnreachableError(f"cannot reach AWS in {region} ({type(error).__name__}: {error})") from None
    return Target(stage=stage, region=region, account_id=account_id,
                  endpoint_url=os.environ.get(ENV_ENDPOINT_URL) or None, clients=clients)


# --- CloudFormation stacks -----------------------------------------------------------


def describe_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """DescribeStacks of one stack, or None when it does not exist (read only)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if error_code(error) in STACK_MISSING_CODES:
            return None
        raise
    return dict(stacks[0]) if stacks else None


def outputs_of(stack: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


def stack_outputs(cloudformation: Any, name: str) -> dict[str, str]:
    """A stack's outputs by key; a missing stack is an error that says what to do."""
    stack = describe_stack(cloudformation, name)
    if stack is None:
        raise MissingInfrastructureError(f"stack {name} does not exist: deploy the infrastructure first "
                                         f"(make deploy-infra)")
    return outputs_of(stack)


@dataclass(frozen=True)
class StackOutput:
    """One output a deploy reads: which stack (``store-<stage>-<stack>``) and which output key."""

    stack: str  # the stack's short name, as in infra.stacks.STACKS
    key: str  # the output's logical id

    def stack_name(self, stage: str) -> str:
        return stack_name(stage, self.stack)


def read_outputs(target: Target, *wanted: StackOutput) -> dict[StackOutput, str]:
    """The values of ``wanted``, each stack described once; a missing one is an error that says what to do."""
    cloudformation = target.client("cloudformation")
    by_stack: dict[str, dict[str, str]] = {}
    values: dict[StackOutput, str] = {}
    for item in wanted:
        name = item.stack_name(target.stage)
        if name not in by_stack:
            by_stack[name] = stack_outputs(cloudformation, name)
        value = by_stack[name].get(item.key)
        if not value:
            raise MissingInfrastructureError(f"stack {name} has no output {item.key}: is it up to date?")
        values[item] = value
    return values


# --- Chalice's deployment state and the REST API id -------------------------------------


def chalice_state_key(stage: str) -> str:
    return f"{CHALICE_STATE_PREFIX}/{stage}.json"


def chalice_resources(state: bytes | str) -> list[dict[str, Any]]:
    """The resources listed in a Chalice state document (``.chalice/deployed/<stage>.json``)."""
    resources = json.loads(state).get("resources", [])
    return [r for r in resources if isinstance(r, dict)]


def rest_api_ids(resources: Iterable[dict[str, Any]]) -> list[str]:
    return [str(r["rest_api_id"]) for r in resources
            if r.get("resource_type") == "rest_api" and r.get("rest_api_id")]


def function_arns(resources: Iterable[dict[str, Any]]) -> list[str]:
    return [str(r["lambda_arn"]) for r in resources if r.get("resource_type") == "lambda_function"]


def saved_chalice_state(s3: Any, stage: str, account_id: str, region: str) -> tuple[bytes, str | None] | None:
    """The stage's Chalice state kept in its state bucket and its version, or None when nothing is saved."""
    try:
        result = s3.get_object(Bucket=state_bucket_name(stage, account_id, region), Key=chalice_state_key(stage))
    except ClientError as error:
        if error_code(error) in OBJECT_MISSING_CODES | BUCKET_MISSING_CODES:
            return None
        raise
    return result["Body"].read(), result.get("VersionId")


def saved_rest_api_id(s3: Any, stage: str, account_id: str, region: str) -> str | None:
    """The REST API id in the stage's saved Chalice state (the edge stack's ``RestApiId``), or None."""
    saved = saved_chalice_state(s3, stage, account_id, region)
    if saved is None:
        return None
    ids = rest_api_ids(chalice_resources(saved[0]))
    return ids[0] if ids else None
