"""``make deploy-server``: an image already in ECR is never rebuilt; the ECS rollout runs against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from infra.delivery import names, server
from infra.delivery.errors import DeliveryError
from tests.deploy.conftest import STAGE, Emulator, Infrastructure, outputs_stack, run_make

CLUSTER = f"store-{STAGE}-cluster"
SERVICE = f"store-{STAGE}-site-server"
MANIFEST = ('{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
            '"config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, '
            '"digest": "sha256:%s"}, "layers": []}')


@pytest.fixture(scope="module")
def service(emulator: Emulator, infrastructure: Infrastructure) -> dict[str, Any]:
    ecr = emulator.client("ecr")
    uri = ecr.create_repository(repositoryName=SERVICE)["repository"]["repositoryUri"]
    for index, tag in enumerate(("first", "c0ffee")):
        ecr.put_image(repositoryName=SERVICE, imageTag=tag, imageManifest=MANIFEST % (str(index) * 64))
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="store-dev-server", Description="stand-in", VpcId=vpc)["GroupId"]
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    task = ecs.register_task_definition(
        family=SERVICE, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/store-dev-server-execution",
        taskRoleArn="arn:aws:iam::123456789012:role/store-dev-server-task",
        containerDefinitions=[{"name": "site-server", "image": f"{uri}:first", "essential": True,
                               "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                               "environment": [{"name": "STAGE", "value": STAGE}]}],
        tags=[{"key": "app", "value": "store"}],
    )["taskDefinition"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=task["taskDefinitionArn"],
                       desiredCount=1, launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}})
    outputs_stack(emulator, "container", {names.CLUSTER_NAME: CLUSTER, names.SERVICE_NAME: SERVICE,
                                          names.REPOSITORY_URI: uri})
    return {"uri": uri, "task": task}


def test_server_deploy_registers_a_revision_with_the_new_image_and_rolls_the_service(
        emulator: Emulator, service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setattr(server, "docker_available", lambda: False)  # as on these machines, explicitly
    lines: list[str] = []
    report = server.deploy(STAGE, tag="c0ffee", out=lines.append)

    assert not report.image_built
    assert any("already in ECR (tags are immutable): build and push skipped" in line for line in lines)
    assert report.changed and report.task_definition_before == service["task"]["taskDefinitionArn"]
    ecs = emulator.client("ecs")
    (live,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    assert live["taskDefinition"] == report.task_definition_after
    new = ecs.describe_task_definition(taskDefinition=report.task_definition_after, include=["TAGS"])
    old = service["task"]
    assert new["taskDefinition"]["revision"] == old["revision"] + 1
    (container,) = new["taskDefinition"]["containerDefinitions"]
    assert container["image"] == f"{service['uri']}:c0ffee"
    assert container["portMappings"][0]["containerPort"] == 8080
    assert container["environment"] == [{"name": "STAGE", "value": STAGE}]
    for key in ("cpu", "memory", "networkMode", "executionRoleArn", "taskRoleArn", "requiresCompatibilities"):
        assert new["taskDefinition"][key] == old[key], key
    assert new["tags"] == [{"key": "app", "value": "store"}]

    again = server.deploy(STAGE, tag="c0ffee", out=lines.append)
    assert not again.changed  # the same image twice registers nothing

    rollback = server.deploy(STAGE, image=f"{service['uri']}:first", out=lines.append)
    assert rollback.changed
    (live,) = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    assert live["taskDefinition"] == rollback.task_definition_after


def test_server_deploy_refuses_an_image_that_was_never_pushed(
        emulator: Emulator, service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setattr(server, "docker_available", lambda: False)
    with pytest.raises(DeliveryError, match="not in ECR"):
        server.deploy(STAGE, tag="never-pushed", out=lambda line: None)


def test_with_image_replaces_only_the_server_containers_image() -> None:
    definition = {"family": "f", "cpu": "256", "volumes": [], "containerDefinitions": [
        {"name": "site-server", "image": "1.dkr.ecr.us-east-1.amazonaws.com/repo:a"},
        {"name": "sidecar", "image": "public.ecr.aws/aws-observability/aws-otel-collector:v1"}]}
    request = server.with_image(definition, "1.dkr.ecr.us-east-1.amazonaws.com/repo",
                                "1.dkr.ecr.us-east-1.amazonaws.com/repo:b")
    assert [c["image"] for c in request["containerDefinitions"]] == [
        "1.dkr.ecr.us-east-1.amazonaws.com/repo:b", "public.ecr.aws/aws-observability/aws-otel-collector:v1"]
    assert "volumes" not in request and request["cpu"] == "256"
    assert definition["containerDefinitions"][0]["image"].endswith(":a")  # input untouched


def test_make_deploy_server_rolls_the_commits_image_already_in_ecr_without_building(
        emulator: Emulator, service: dict[str, Any]) -> None:
    commit = server.git_commit()
    emulator.client("ecr").put_image(repositoryName=SERVICE, imageTag=commit, imageManifest=MANIFEST % ("7" * 64))
    out = run_make(emulator, "deploy-server", f"STAGE={STAGE}").stdout
    assert "already in ECR (tags are immutable): build and push skipped" in out
    assert f"endpoint {emulator.url}" in out
    (live,) = emulator.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    definition = emulator.client("ecs").describe_task_definition(taskDefinition=live["taskDefinition"])
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"] == f"{service['uri']}:{commit}"
    assert f"task definition: registered {live['taskDefinition']}" in out


def test_an_image_already_in_ecr_is_never_built_again(emulator: Emulator, service: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a runner with Docker, re-running deploy-server for a commit already pushed:
    # ECR's immutable tags would refuse the push, so the build must not even start.
    monkeypatch.setattr(server, "docker_available", lambda: True)

    def no_build(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("built and pushed an image that ECR already has")

    monkeypatch.setattr(server, "build_and_push", no_build)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    lines: list[str] = []
    report = server.deploy(STAGE, tag="c0ffee", out=lines.append)
    assert not report.image_built
    assert any("already in ECR (tags are immutable): build and push skipped" in line for line in lines)
