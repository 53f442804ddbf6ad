"""``python -m infra deploy`` / ``diff``: change sets, parameter look-ups, clear failures.

Against the emulator (moto's CloudFormation, which supports change sets) and, for the
failure paths moto cannot produce (a resource failing mid-deploy), an in-memory fake.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from infra.config import StageConfig, stage_config
from infra.deploy import Deployer, DeployError, read_rest_api_id

PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning")


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200)


@pytest.fixture()
def aws(emulator_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 (and so the deployer) talks to the emulator through the standard variable only."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_url)
    return emulator_url


def run_cli(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "infra", *args], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_deploy_creates_a_stack_through_a_change_set_then_finds_nothing_to_change(aws: str) -> None:
    deployer = Deployer(StageConfig(stage="cs"), console=quiet_console(), poll_seconds=0.05)
    deployer.deploy(["data"])
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    stack = cfn.describe_stacks(StackName="store-cs-data")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName="store-cs-orders")
    (result,) = deployer.diff(["data"])
    assert result.change_type == "UPDATE" and result.empty
    pending = [c for c in cfn.list_change_sets(StackName="store-cs-data")["Summaries"]
               if c["ExecutionStatus"] == "AVAILABLE"]
    assert pending == []  # diff leaves no change set behind


def test_diff_of_a_new_stack_lists_its_resources_and_leaves_no_stack(aws: str) -> None:
    deployer = Deployer(StageConfig(stage="df"), console=quiet_console(), poll_seconds=0.05)
    (result,) = deployer.diff(["data"])
    assert result.change_type == "CREATE"
    assert {(c.action, c.logical_id) for c in result.changes} >= {("Add", "ProductsTable"), ("Add", "OrdersTable")}
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    names = {s["StackName"] for s in cfn.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"}
    assert "store-df-data" not in names


def test_container_parameters_are_looked_up_in_the_region(aws: str) -> None:
    (plan,) = Deployer(stage_config("prod"), console=quiet_console()).plan(["container"])
    ec2 = boto3.client("ec2", region_name="us-east-1")
    (prefix_list,) = ec2.describe_managed_prefix_lists(Filters=[
        {"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}])["PrefixLists"]
    assert plan.parameters == {"CloudFrontPrefixListId": prefix_list["PrefixListId"], "Bootstrap": "true"}


def test_explicit_parameters_win_and_unknown_ones_are_dropped(aws: str) -> None:
    (plan,) = Deployer(stage_config("prod"), console=quiet_console()).plan(
        ["container"], {"CloudFrontPrefixListId": "pl-0123abcd", "NotAParameter": "x", "Bootstrap": "true"})
    assert plan.parameters == {"CloudFrontPrefixListId": "pl-0123abcd", "Bootstrap": "true"}


def test_public_base_url_is_the_domain_else_the_distribution(aws: str) -> None:
    cfg = StageConfig(stage="pu", domain_name="shop.example.com", container_path=True)
    (plan,) = Deployer(cfg, console=quiet_console()).plan(["container"])
    assert plan.parameters["PublicBaseUrl"] == "https://shop.example.com"
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="store-pu-edge", TemplateBody=json.dumps({
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"DistributionDomainName": {"Value": "d111111abcdef8.cloudfront.net"}}}))
    (plan,) = Deployer(StageConfig(stage="pu", container_path=True), console=quiet_console()).plan(["container"])
    assert plan.parameters["PublicBaseUrl"] == "https://d111111abcdef8.cloudfront.net"


def test_a_stage_without_the_container_path_has_no_network_or_container_stack() -> None:
    deployer = Deployer(stage_config("dev"), console=quiet_console())
    for stack in ("network", "container"):
        with pytest.raises(DeployError, match="container_path is off"):
            deployer.plan([stack])


def test_edge_needs_edge_global_first(aws: str, tmp_path: Path) -> None:
    deployer = Deployer(StageConfig(stage="eg"), console=quiet_console(), chalice_dir=tmp_path)
    with pytest.raises(DeployError, match="deploy --stack edge-global first"):
        deployer.plan(["edge"])


def test_edge_reads_waf_from_edge_global_and_the_api_from_chalice(aws: str, tmp_path: Path) -> None:
    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/store-ew-edge/0000"
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="store-ew-edge-global", TemplateBody=json.dumps({
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"WebAclArn": {"Value": acl}}}))
    (tmp_path / "deployed").mkdir()
    (tmp_path / "deployed" / "ew.json").write_text(json.dumps(
        {"resources": [{"resource_type": "rest_api", "rest_api_id": "q1w2e3"}]}))
    (plan,) = Deployer(StageConfig(stage="ew"), console=quiet_console(), chalice_dir=tmp_path).plan(["edge"])
    assert plan.parameters == {"WebAclArn": acl, "RestApiId": "q1w2e3"}
    # With the container path, the ALB's origin name comes from the container stack's outputs.
    _container_stack("ew", {"OriginDomainName": "origin.shop.example.com"})
    (plan,) = Deployer(StageConfig(stage="ew", container_path=True), console=quiet_console(),
                       chalice_dir=tmp_path).plan(["edge"])
    assert plan.parameters["PagesOriginDomain"] == "origin.shop.example.com"


def _container_stack(stage: str, outputs: dict[str, str]) -> None:
    """A stand-in for the stage's container stack: only its outputs matter here."""
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=f"store-{stage}-container", TemplateBody=json.dumps({
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()}}))


def test_alb_values_are_parameters_read_from_the_container_stack(aws: str) -> None:
    """Not exports: adding a domain (new origin name) or replacing the ALB must not block on an import."""
    cfg = StageConfig(stage="ob", container_path=True, alarm_email="ops@example.com")
    with pytest.raises(DeployError, match="LoadBalancerFullName"):
        Deployer(cfg, console=quiet_console()).plan(["observability"])
    _container_stack("ob", {"LoadBalancerFullName": "app/store-ob-alb/0123456789abcdef"})
    (plan,) = Deployer(cfg, console=quiet_console()).plan(["observability"])
    assert plan.parameters["LoadBalancerFullName"] == "app/store-ob-alb/0123456789abcdef"


def test_bootstrap_is_computed_on_every_deploy_from_the_stack_and_the_image(aws: str) -> None:
    cfg = StageConfig(stage="bs", container_path=True)

    def bootstrap(**overrides: str) -> str:
        (plan,) = Deployer(cfg, console=quiet_console()).plan(["container"], overrides)
        return plan.parameters["Bootstrap"]

    assert bootstrap() == "true"  # no stack yet: the image cannot exist
    _container_stack("bs", {"ClusterName": "store-bs-cluster"})
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="store-bs-site-server")
    assert bootstrap(ImageTag="abc123") == "true"  # the stack exists, the image is not pushed yet
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                                      "digest": "sha256:" + "0" * 64}, "layers": []})
    ecr.put_image(repositoryName="store-bs-site-server", imageManifest=manifest, imageTag="abc123")
    assert bootstrap(ImageTag="abc123") == "false"  # pushed: serve it
    assert bootstrap(ImageTag="not-pushed") == "true"  # never carried over from the last deploy


def test_a_service_running_tasks_is_never_put_back_into_bootstrap(aws: str) -> None:
    """A missing image must fail the deploy (the circuit breaker keeps the tasks), not scale prod to zero."""
    cfg = StageConfig(stage="bt", container_path=True)
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="store-bt-cluster")
    task = ecs.register_task_definition(family="store-bt-site-server", containerDefinitions=[
        {"name": "site-server", "image": "example/site-server:abc", "memory": 512}])["taskDefinition"]
    ecs.create_service(cluster="store-bt-cluster", serviceName="store-bt-site-server",
                       taskDefinition=task["taskDefinitionArn"], desiredCount=2)
    _container_stack("bt", {"ClusterName": "store-bt-cluster", "ServiceName": "store-bt-site-server"})
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="store-bt-site-server")
    (plan,) = Deployer(cfg, console=quiet_console()).plan(["container"], {"ImageTag": "gone"})
    assert plan.parameters["Bootstrap"] == "false"
    ecs.update_service(cluster="store-bt-cluster", service="store-bt-site-server", desiredCount=0)
    (plan,) = Deployer(cfg, console=quiet_console()).plan(["container"], {"ImageTag": "gone"})
    assert plan.parameters["Bootstrap"] == "true"


def test_rest_api_id_comes_from_chalice_deployed_state(tmp_path: Path) -> None:
    assert read_rest_api_id("dev", tmp_path) is None
    (tmp_path / "deployed").mkdir()
    (tmp_path / "deployed" / "dev.json").write_text(json.dumps({"resources": [
        {"name": "api_handler", "resource_type": "lambda_function", "lambda_arn": "arn:x"},
        {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "a1b2c3", "rest_api_url": "https://x"},
    ]}))
    assert read_rest_api_id("dev", tmp_path) == "a1b2c3"


def test_rest_api_id_falls_back_to_the_state_bucket(aws: str, tmp_path: Path) -> None:
    from infra.delivery.state import StateLocation

    cfg = StageConfig(stage="st")
    deployer = Deployer(cfg, console=quiet_console(), poll_seconds=0.05, chalice_dir=tmp_path)
    deployer.deploy(["data"])  # creates the state bucket
    assert deployer.saved_rest_api_id() is None
    location = StateLocation.for_stage("st", "123456789012", "us-east-1")
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=location.bucket, Key=location.key,
        Body=json.dumps({"resources": [{"resource_type": "rest_api", "rest_api_id": "zz9plural"}]}).encode())
    assert deployer.saved_rest_api_id() == "zz9plural"


def test_cli_deploys_and_diffs_against_the_endpoint_from_the_environment(emulator_url: str) -> None:
    first = run_cli("deploy", "--stage", "dev", "--stack", "data", endpoint=emulator_url)
    assert first.returncode == 0, first.stderr
    assert "store-dev-data: CREATE_COMPLETE" in first.stderr
    again = run_cli("diff", "--stage", "dev", "--stack", "data", endpoint=emulator_url)
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stderr


def test_cli_reports_a_failing_stack_clearly(emulator_url: str) -> None:
    # The container stack imports the network's exports, which no stack of stage prod provides here.
    result = run_cli("deploy", "--stage", "prod", "--stack", "container", endpoint=emulator_url)
    assert result.returncode == 1
    assert "deploy failed: store-prod-container" in result.stderr
    assert "store-prod-" in result.stderr


def test_the_ci_stack_needs_the_github_repository_named(emulator_url: str) -> None:
    result = run_cli("deploy", "--stage", "prod", "--stack", "ci", endpoint=emulator_url)
    assert result.returncode == 1
    assert "no value for parameter(s) GitHubRepository" in result.stderr


def test_a_second_deploy_keeps_the_parameters_given_to_the_first(emulator_url: str) -> None:
    # Without UsePreviousValue CloudFormation would put both back to their template defaults:
    # the repository would be missing, and CreateOidcProvider=true would turn false and delete
    # the account's OIDC provider.
    given = ("--parameter", "GitHubRepository=owner-one/store", "--parameter", "CreateOidcProvider=true")
    first = run_cli("deploy", "--stage", "prod", "--stack", "ci", *given, endpoint=emulator_url)
    assert first.returncode == 0, first.stderr
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=emulator_url)

    def values() -> dict[str, str]:
        (stack,) = cfn.describe_stacks(StackName="store-prod-ci")["Stacks"]
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}

    # An update that changes one parameter keeps the other: the change set carries both values.
    # (moto does not copy a change set's parameters to the stack when it executes, so the
    # change set is where CloudFormation's view of the update can be read.)
    def clients(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=emulator_url)  # type: ignore[call-overload]

    deployer = Deployer(stage_config("prod"), clients=clients, console=quiet_console(), poll_seconds=0.05)
    (plan,) = deployer.plan(["ci"], {"GitHubRepository": "owner-two/store"})
    result = deployer.create_change_set(plan)
    described = cfn.describe_change_set(ChangeSetName=result.change_set_id, StackName="store-prod-ci")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == \
        {"GitHubRepository": "owner-two/store", "CreateOidcProvider": "true"}
    deployer.discard(result)
    # One that gives nothing changes nothing.
    third = run_cli("deploy", "--stage", "prod", "--stack", "ci", endpoint=emulator_url)
    assert third.returncode == 0, third.stderr
    assert values() == {"GitHubRepository": "owner-one/store", "CreateOidcProvider": "true"}


# --- failure paths, with an in-memory CloudFormation --------------------------------------


class FakeCloudFormation:
    """Just enough of CloudFormation for one change set whose execution fails on a resource."""

    def __init__(self, change_set_status: str = "CREATE_COMPLETE", reason: str = "") -> None:
        self.change_set_status, self.reason = change_set_status, reason
        self.status = "REVIEW_IN_PROGRESS"
        self.events: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackName": StackName, "StackStatus": self.status, "Outputs": []}]}

    def create_change_set(self, **request: Any) -> dict[str, str]:
        assert request["ChangeSetType"] == "CREATE"
        assert "CAPABILITY_NAMED_IAM" in request["Capabilities"]
        return {"Id": "cs-1"}

    def describe_change_set(self, ChangeSetName: str, StackName: str) -> dict[str, Any]:
        return {"Status": self.change_set_status, "StatusReason": self.reason, "Changes": [
            {"ResourceChange": {"Action": "Add", "LogicalResourceId": "ProductsTable",
                                "ResourceType": "AWS::DynamoDB::Table"}}]}

    def delete_change_set(self, ChangeSetName: str, StackName: str) -> None:
        self.deleted.append(ChangeSetName)

    def delete_stack(self, StackName: str) -> None:
        self.status = "DELETE_COMPLETE"

    def execute_change_set(self, ChangeSetName: str, StackName: str) -> None:
        self.status = "ROLLBACK_COMPLETE"
        self.events = [
            {"EventId": "3", "LogicalResourceId": StackName, "ResourceType": "AWS::CloudFormation::Stack",
             "ResourceStatus": "ROLLBACK_COMPLETE"},
            {"EventId": "2", "LogicalResourceId": "ProductsTable", "ResourceType": "AWS::DynamoDB::Table",
             "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "Table already exists: store-dev-products"},
            {"EventId": "1", "LogicalResourceId": "ProductsTable", "ResourceType": "AWS::DynamoDB::Table",
             "ResourceStatus": "CREATE_IN_PROGRESS"},
        ]

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": list(self.events)}


@pytest.fixture()
def fake() -> Iterator[FakeCloudFormation]:
    yield FakeCloudFormation()


def test_a_resource_failure_names_the_resource_and_the_reason(fake: FakeCloudFormation) -> None:
    deployer = Deployer(stage_config("dev"), clients=lambda service, region: fake, console=quiet_console(),
                        poll_seconds=0)
    with pytest.raises(DeployError) as raised:
        deployer.deploy(["data"])
    message = str(raised.value)
    assert "store-dev-data failed (ROLLBACK_COMPLETE)" in message
    assert "ProductsTable (AWS::DynamoDB::Table): CREATE_FAILED: Table already exists" in message


def test_a_refused_change_set_says_why() -> None:
    fake = FakeCloudFormation(change_set_status="FAILED", reason="Template format error: Unresolved dependencies")
    deployer = Deployer(stage_config("dev"), clients=lambda service, region: fake, console=quiet_console(),
                        poll_seconds=0)
    with pytest.raises(DeployError, match="change set failed: Template format error"):
        deployer.deploy(["data"])


def test_edge_global_always_goes_to_us_east_1() -> None:
    regions: list[tuple[str, str]] = []
    fake = FakeCloudFormation(change_set_status="FAILED", reason="The submitted information didn't contain changes.")

    def clients(service: str, region: str) -> FakeCloudFormation:
        regions.append((service, region))
        return fake

    deployer = Deployer(StageConfig(stage="dev", region="eu-west-1"), clients=clients, console=quiet_console(),
                        poll_seconds=0)
    (result,) = deployer.diff(["edge-global"])
    assert result.empty
    assert {region for _, region in regions} == {"us-east-1"}
