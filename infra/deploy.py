"""Deploy the generated templates through CloudFormation change sets (``python -m infra deploy|diff``).

It takes the templates the builders made (:mod:`infra.stacks`, pure functions), fills in
the parameters that come from elsewhere, and creates, shows and executes change sets.
The parameters it looks up:

- ``WebAclArn`` / ``CertificateArn`` (edge): outputs of the edge-global stack, which
  lives in us-east-1 (CloudFormation cannot import across regions);
- ``RestApiId`` (edge): Chalice's ``.chalice/deployed/<stage>.json`` if this checkout
  has one, else the copy ``make deploy`` keeps in the stage's state bucket;
- ``CloudFrontPrefixListId`` (container): the region's managed prefix list
  ``com.amazonaws.global.cloudfront.origin-facing``;
- ``ImageTag`` (container): the tag the service runs now. Code deploys roll the service
  to new task definitions outside CloudFormation (``infra.delivery.server``), so an
  infrastructure deploy keeps that image instead of going back to the template default;
- ``PublicBaseUrl`` (container): ``https://`` + the stage's domain, else the edge stack's
  CloudFront domain once that stack exists (the first deploy of a domain-less stage
  leaves it empty, allowed only while bootstrapping);
- ``Bootstrap`` (container): computed on every deploy, ``true`` only while the container
  stack does not exist or ``ImageTag`` is not in its ECR repository yet;
- ``PagesOriginDomain`` (edge), ``LoadBalancerFullName`` (observability): the container
  stack's outputs (parameters rather than imports, so the ALB and its domain can change).

Explicit ``--parameter KEY=VALUE`` values always win. On an update, every other
declared parameter the stack already has is sent as ``UsePreviousValue``: CloudFormation
would otherwise put it back to its template default (a ``CreateOidcProvider=true`` given
once would turn false on the next deploy and delete the account's OIDC provider). So a
template default applies when a stack is created; to change a value later, pass it.

Clients, stack outputs, Chalice's saved REST API id and the error root come from
:mod:`infra.aws` (the toolkit the delivery uses too). The AWS endpoint, credentials and
region come from the standard boto3 sources (``AWS_ENDPOINT_URL`` included), so pointing
it at the emulator needs no code path of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from infra.aws import (
    ClientFactory,
    InfraError,
    boto3_client,
    chalice_resources,
    describe_stack,
    error_code,
    outputs_of,
    rest_api_ids,
    saved_rest_api_id,
)
from infra.config import StageConfig, stack_name
from infra.stacks import StackSpec, stack_spec, stacks_for
from infra.synth import MAX_TEMPLATE_BODY, render

__all__ = ["ClientFactory", "DeployError", "Deployer", "StackPlan", "boto3_client", "read_rest_api_id"]
CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# Parameters with a usable default that are still looked up when the lookup finds a value.
OPTIONAL_LOOKUPS = ("CertificateArn", "ImageTag", "PublicBaseUrl")
CONTAINER_NAME = "site-server"
# Parameters of other stacks read from the container stack's outputs (never exports:
# an export in use blocks a change of its value).
CONTAINER_OUTPUTS = {"PagesOriginDomain": "OriginDomainName", "LoadBalancerFullName": "LoadBalancerFullName"}

# An empty change set fails with no error code, only this status reason (the AWS CLI's
# `deploy --no-fail-on-empty-changeset` tells it apart by the same text).
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "submitted information didn't contain")
DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
DONE_FAILED = {
    "CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED", "DELETE_COMPLETE", "DELETE_FAILED", "IMPORT_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_FAILED",
}


class DeployError(InfraError):
    """A stack could not be planned or deployed; the message says why and what to do."""


@dataclass(frozen=True)
class StackPlan:
    spec: StackSpec
    stack_name: str
    region: str
    body: str
    parameters: Mapping[str, str]
    declared: tuple[str, ...] = ()  # every parameter the template declares


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str


@dataclass
class ChangeSetResult:
    plan: StackPlan
    change_set_id: str
    change_type: str  # CREATE | UPDATE
    changes: list[Change] = field(default_factory=list)
    deleted: bool = False  # an empty change set is deleted as soon as it is known to be empty

    @property
    def empty(self) -> bool:
        return not self.changes


def read_rest_api_id(stage: str, chalice_dir: Path) -> str | None:
    """Chalice records the REST API it deployed in ``.chalice/deployed/<stage>.json``."""
    path = chalice_dir / "deployed" / f"{stage}.json"
    if not path.is_file():
        return None
    ids = rest_api_ids(chalice_resources(path.read_bytes()))
    return ids[0] if ids else None


class Deployer:
    def __init__(self, cfg: StageConfig, *, clients: ClientFactory = boto3_client, console: Console | None = None,
                 chalice_dir: Path | None = None, role_arn: str | None = None, poll_seconds: float = 3.0,
                 timeout_seconds: float = 3600.0) -> None:
        self.cfg = cfg
        self._clients = clients
        self.console = console or Console(stderr=True)
        self.chalice_dir = chalice_dir or Path(__file__).resolve().parents[1] / ".chalice"
        self.role_arn = role_arn
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    # --- planning -------------------------------------------------------------------

    def plan(self, stacks: Iterable[str] | None = None, overrides: Mapping[str, str] | None = None) -> list[StackPlan]:
        specs = [self._stage_stack(name) for name in stacks] if stacks else list(stacks_for(self.cfg))
        return [self._plan_one(spec, dict(overrides or {})) for spec in specs]

    def _stage_stack(self, name: str) -> StackSpec:
        spec = stack_spec(name)
        if spec not in stacks_for(self.cfg):
            raise DeployError(f"stage {self.cfg.stage} has no {name} stack (infra/config.py: container_path is off)")
        return spec

    def _plan_one(self, spec: StackSpec, overrides: dict[str, str]) -> StackPlan:
        template = spec.build(self.cfg)
        body = render(template)
        if len(body.encode()) > MAX_TEMPLATE_BODY:
            raise DeployError(f"{spec.name}: template is {len(body)} bytes, over CloudFormation's inline limit")
        declared = template.parameters
        parameters = {k: v for k, v in overrides.items() if k in declared}
        region = spec.region(self.cfg)
        missing = [name for name, p in declared.items()
                   if name not in parameters and getattr(p, "Default", None) is None]
        for name in missing + [n for n in OPTIONAL_LOOKUPS if n in declared and n not in parameters]:
            value = self._resolve(name)
            if value is not None:
                parameters[name] = value
        if "Bootstrap" in declared and "Bootstrap" not in parameters:
            # Computed on every deploy, never carried over (infra/stacks/container.py).
            image_tag = parameters.get("ImageTag") or str(getattr(declared.get("ImageTag"), "Default", ""))
            parameters["Bootstrap"] = self.bootstrap_mode(image_tag)
        # A required parameter the stack already has keeps its value (UsePreviousValue).
        previous = self.previous_parameters(spec)
        unresolved = [name for name in missing if name not in parameters and name not in previous]
        if unresolved:
            raise DeployError(f"{spec.name}: no value for parameter(s) {', '.join(unresolved)}; "
                              f"pass --parameter NAME=VALUE")
        return StackPlan(spec, stack_name(self.cfg.stage, spec.name), region, body, parameters, tuple(declared))

    def _resolve(self, name: str) -> str | None:
        if name in ("WebAclArn", "CertificateArn"):
            outputs = self.stack_outputs(stack_spec("edge-global"))
            if name == "WebAclArn" and name not in outputs:
                raise DeployError("edge needs the edge-global stack's WebAclArn: deploy --stack edge-global first")
            return outputs.get(name)
        if name == "RestApiId":
            return read_rest_api_id(self.cfg.stage, self.chalice_dir) or self.saved_rest_api_id()
        if name == "ImageTag":
            return self.running_image_tag()
        if name == "PublicBaseUrl":
            if self.cfg.domain_name:
                return f"https://{self.cfg.domain_name}"
            domain = self.stack_outputs(stack_spec("edge")).get("DistributionDomainName")
            return f"https://{domain}" if domain else None
        if name in CONTAINER_OUTPUTS:  # edge's PagesOriginDomain, observability's LoadBalancerFullName
            return self.stack_outputs(stack_spec("container")).get(CONTAINER_OUTPUTS[name])
        if name == "CloudFrontPrefixListId":
            ec2 = self._clients("ec2", self.cfg.region)
            lists = ec2.describe_managed_prefix_lists(
                Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}])["PrefixLists"]
            return str(lists[0]["PrefixListId"]) if lists else None
        return None

    def bootstrap_mode(self, image_tag: str) -> str:
        """``"true"`` only while the container stack does not exist or ``image_tag`` is not pushed yet.

        A service that runs tasks is never put back into bootstrap (that would scale it to
        zero): with its image missing the deploy fails loudly instead, and the circuit
        breaker keeps the running tasks.
        """
        from infra.stacks.container import repository_name

        cfn = self._clients("cloudformation", self.cfg.region)
        stack = describe_stack(cfn, stack_name(self.cfg.stage, "container"))
        if stack is None or stack.get("StackStatus") in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
            return "true"
        ecr = self._clients("ecr", self.cfg.region)
        try:
            ecr.describe_images(repositoryName=repository_name(self.cfg), imageIds=[{"imageTag": image_tag}])
        except ClientError as error:
            code = error_code(error)
            if code not in ("ImageNotFoundException", "RepositoryNotFoundException"):
                raise
            return "false" if self._service_runs_tasks(stack) else "true"
        return "false"

    def _service_runs_tasks(self, stack: Mapping[str, Any]) -> bool:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        cluster, service = outputs.get("ClusterName"), outputs.get("ServiceName")
        if not cluster or not service:
            return False
        services = self._clients("ecs", self.cfg.region).describe_services(cluster=cluster, services=[service])
        return any(int(s.get("desiredCount", 0)) > 0 for s in services.get("services", []))

    def saved_rest_api_id(self) -> str | None:
        """The REST API id in the Chalice state ``make deploy`` saved to the state bucket."""
        account = str(self._clients("sts", self.cfg.region).get_caller_identity()["Account"])
        # No bucket yet (data stack not deployed) means no saved state either: None.
        return saved_rest_api_id(self._clients("s3", self.cfg.region), self.cfg.stage, account, self.cfg.region)

    def running_image_tag(self) -> str | None:
        outputs = self.stack_outputs(stack_spec("container"))
        cluster, service = outputs.get("ClusterName"), outputs.get("ServiceName")
        if not cluster or not service:
            return None
        ecs = self._clients("ecs", self.cfg.region)
        services = ecs.describe_services(cluster=cluster, services=[service])["services"]
        if not services:
            return None
        task = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"])["taskDefinition"]
        for container in task["containerDefinitions"]:
            image = str(container.get("image", ""))
            if container.get("name") == CONTAINER_NAME and ":" in image.rsplit("/", 1)[-1]:
                return image.rsplit(":", 1)[1]
        return None

    def previous_parameters(self, spec: StackSpec) -> set[str]:
        """The parameters the deployed stack has (none while it does not exist)."""
        cfn = self._clients("cloudformation", spec.region(self.cfg))
        stack = describe_stack(cfn, stack_name(self.cfg.stage, spec.name)) or {}
        if stack.get("StackStatus") == "REVIEW_IN_PROGRESS":
            return set()
        return {str(p["ParameterKey"]) for p in stack.get("Parameters", [])}

    def stack_outputs(self, spec: StackSpec) -> dict[str, str]:
        cfn = self._clients("cloudformation", spec.region(self.cfg))
        return outputs_of(describe_stack(cfn, stack_name(self.cfg.stage, spec.name)))

    # --- change sets ----------------------------------------------------------------

    def create_change_set(self, plan: StackPlan) -> ChangeSetResult:
        cfn = self._clients("cloudformation", plan.region)
        existing = describe_stack(cfn, plan.stack_name)
        status = (existing or {}).get("StackStatus", "")
        if status == "ROLLBACK_COMPLETE":
            raise DeployError(f"{plan.stack_name} is ROLLBACK_COMPLETE (its creation failed): delete the stack, "
                              f"then deploy again")
        if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise DeployError(f"{plan.stack_name} is {status}: wait for it to finish")
        change_type = "UPDATE" if existing and status != "REVIEW_IN_PROGRESS" else "CREATE"
        name = f"{plan.stack_name}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
        request: dict[str, Any] = {
            "StackName": plan.stack_name, "ChangeSetName": name, "ChangeSetType": change_type,
            "TemplateBody": plan.body, "Capabilities": CAPABILITIES,
            "Parameters": change_set_parameters(plan, existing if change_type == "UPDATE" else None),
            "Tags": [{"Key": "app", "Value": "store"}, {"Key": "stage", "Value": self.cfg.stage}],
        }
        if self.role_arn:
            request["RoleARN"] = self.role_arn
        try:
            change_set_id = cfn.create_change_set(**request)["Id"]
        except ClientError as error:
            if error_code(error) == "ValidationError" and any(m in str(error) for m in NO_CHANGES):
                # Some CloudFormation implementations refuse an empty update outright.
                return ChangeSetResult(plan, "", change_type, deleted=True)
            raise DeployError(f"{plan.stack_name}: CloudFormation refused the change set: {error}") from error
        result = ChangeSetResult(plan, change_set_id, change_type)
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            described = cfn.describe_change_set(ChangeSetName=change_set_id, StackName=plan.stack_name)
            state = described.get("Status", "")
            if state == "CREATE_COMPLETE":
                result.changes = [_change(c) for c in described.get("Changes", [])]
                return result
            if state == "FAILED":
                reason = described.get("StatusReason", "")
                if any(marker in reason for marker in NO_CHANGES):
                    cfn.delete_change_set(ChangeSetName=change_set_id, StackName=plan.stack_name)
                    result.deleted = True
                    return result
                raise DeployError(f"{plan.stack_name}: change set failed: {reason}")
            if time.monotonic() > deadline:
                raise DeployError(f"{plan.stack_name}: change set not ready after {self.timeout_seconds:.0f}s")
            time.sleep(self.poll_seconds)

    def discard(self, result: ChangeSetResult) -> None:
        """Drop a change set that was only shown (and the empty stack a CREATE one leaves)."""
        cfn = self._clients("cloudformation", result.plan.region)
        if not result.deleted:
            cfn.delete_change_set(ChangeSetName=result.change_set_id, StackName=result.plan.stack_name)
            result.deleted = True
        if result.change_type == "CREATE":
            stack = describe_stack(cfn, result.plan.stack_name)
            if stack and stack.get("StackStatus") == "REVIEW_IN_PROGRESS":
                cfn.delete_stack(StackName=result.plan.stack_name)

    def show(self, result: ChangeSetResult) -> None:
        title = f"{result.plan.stack_name} ({result.plan.region}, {result.change_type})"
        if result.empty:
            self.console.print(f"[green]{title}: no changes[/green]")
            return
        table = Table(title=title)
        for column in ("action", "logical id", "type", "replacement"):
            table.add_column(column)
        for change in result.changes:
            table.add_row(change.action, change.logical_id, change.resource_type, change.replacement)
        self.console.print(table)

    # --- execution ------------------------------------------------------------------

    def execute(self, result: ChangeSetResult) -> dict[str, str]:
        """Execute a change set, showing every resource's status live; return the outputs."""
        plan = result.plan
        cfn = self._clients("cloudformation", plan.region)
        if result.empty:
            self.console.print(f"[green]{plan.stack_name}: up to date[/green]")
            return self.stack_outputs(plan.spec)
        # Events already there belong to earlier operations: remember them, show only new ones.
        seen = {e["EventId"] for e in cfn.describe_stack_events(StackName=plan.stack_name)["StackEvents"]}
        try:
            cfn.execute_change_set(ChangeSetName=result.change_set_id, StackName=plan.stack_name)
        except Exception as error:
            raise DeployError(f"{plan.stack_name}: CloudFormation refused to execute the change set: {error}") \
                from error
        statuses: dict[str, tuple[str, str, str]] = {}
        failures: list[str] = []
        deadline = time.monotonic() + self.timeout_seconds
        with Live(_progress_table(plan.stack_name, statuses, "starting"), console=self.console,
                  refresh_per_second=4, transient=False) as live:
            while True:
                stack = describe_stack(cfn, plan.stack_name) or {}
                status = str(stack.get("StackStatus", "UNKNOWN"))
                for event in reversed(cfn.describe_stack_events(StackName=plan.stack_name)["StackEvents"]):
                    event_id = event["EventId"]
                    if event_id in seen:
                        continue
                    seen.add(event_id)
                    logical = event.get("LogicalResourceId", "")
                    state = event.get("ResourceStatus", "")
                    reason = event.get("ResourceStatusReason", "") or ""
                    statuses[logical] = (event.get("ResourceType", ""), state, reason)
                    if state.endswith("_FAILED"):
                        failures.append(f"{logical} ({event.get('ResourceType', '')}): {state}: {reason}")
                live.update(_progress_table(plan.stack_name, statuses, status))
                if status in DONE_OK:
                    break
                if status in DONE_FAILED:
                    details = "\n  ".join(failures) or stack.get("StackStatusReason", "no reason given")
                    raise DeployError(f"{plan.stack_name} failed ({status}):\n  {details}")
                if time.monotonic() > deadline:
                    raise DeployError(f"{plan.stack_name}: still {status} after {self.timeout_seconds:.0f}s")
                time.sleep(self.poll_seconds)
        self.console.print(f"[green]{plan.stack_name}: {status}[/green]")
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def deploy(self, stacks: Iterable[str] | None = None, overrides: Mapping[str, str] | None = None,
               ) -> dict[str, dict[str, str]]:
        """Plan, change-set and execute each stack in order (later ones read earlier outputs)."""
        outputs: dict[str, dict[str, str]] = {}
        names = list(stacks) if stacks else [spec.name for spec in stacks_for(self.cfg)]
        for name in names:
            (plan,) = self.plan([name], overrides)
            result = self.create_change_set(plan)
            self.show(result)
            outputs[name] = self.execute(result)
        return outputs

    def diff(self, stacks: Iterable[str] | None = None, overrides: Mapping[str, str] | None = None,
             ) -> list[ChangeSetResult]:
        results = []
        for plan in self.plan(stacks, overrides):
            result = self.create_change_set(plan)
            self.show(result)
            self.discard(result)
            results.append(result)
        return results


def change_set_parameters(plan: StackPlan, existing: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Given and looked-up values; on an update, ``UsePreviousValue`` for every other parameter the stack has.

    A parameter the stack does not have yet (new in this template) gets its template
    default: CloudFormation refuses ``UsePreviousValue`` for it.
    """
    parameters: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v}
                                        for k, v in sorted(plan.parameters.items())]
    if existing is not None:
        previous = {str(p["ParameterKey"]) for p in existing.get("Parameters", [])}
        parameters += [{"ParameterKey": k, "UsePreviousValue": True} for k in sorted(plan.declared)
                       if k not in plan.parameters and k in previous]
    return parameters


def _change(raw: dict[str, Any]) -> Change:
    detail = raw.get("ResourceChange", {})
    return Change(
        action=str(detail.get("Action", "")),
        logical_id=str(detail.get("LogicalResourceId", "")),
        resource_type=str(detail.get("ResourceType", "")),
        replacement=str(detail.get("Replacement", "") or "-"),
    )


def _progress_table(stack: str, statuses: Mapping[str, tuple[str, str, str]], status: str) -> Table:
    table = Table(title=f"{stack}: {status}")
    for column in ("resource", "type", "status", "reason"):
        table.add_column(column)
    for logical, (kind, state, reason) in sorted(statuses.items()):
        colour = "red" if "FAILED" in state or "ROLLBACK" in state else \
            "green" if state.endswith("_COMPLETE") else "yellow"
        table.add_row(logical, kind, f"[{colour}]{state}[/{colour}]", reason[:120])
    return table
