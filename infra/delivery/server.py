"""``make deploy-server STAGE=...``: a new container image, then a rolling update of the ECS service.

1. The image ``<repository>:<tag>`` (tag: the commit, ``git rev-parse HEAD``) is built
   from ``site/server/Dockerfile`` and pushed to the stage's ECR repository, unless that
   tag is already there (ECR's tags are immutable, so re-running a deploy for the same
   commit reuses the image), and only where a Docker engine answers (the deploy-server
   workflow's runner). Without one the build is skipped with a message, and the image must already be in the repository
   (pushed by that workflow) or be named with ``--image`` (a rollback to an older tag).
2. A new revision of the service's task definition is registered: the current one with
   the server container's image replaced, everything else copied.
3. The service is updated to that revision; ECS replaces the tasks (its deployment
   circuit breaker rolls back on failure). ``--wait`` waits until the service is stable.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.aws import Target, read_outputs, resolve_target
from infra.delivery import names
from infra.delivery.errors import DeliveryError, MissingInfrastructureError

Printer = Callable[[str], None]
PROJECT_DIR = Path(__file__).resolve().parents[2]
DOCKERFILE = PROJECT_DIR / "site" / "server" / "Dockerfile"
# What RegisterTaskDefinition accepts, of what DescribeTaskDefinition returns.
_REGISTER_FIELDS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
                    "placementConstraints", "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode",
                    "proxyConfiguration", "inferenceAccelerators", "ephemeralStorage", "runtimePlatform")


@dataclass(frozen=True)
class ServerDeployReport:
    cluster: str
    service: str
    image: str
    image_built: bool
    task_definition_before: str
    task_definition_after: str

    @property
    def changed(self) -> bool:
        return self.task_definition_before != self.task_definition_after


def git_commit(project_dir: Path = PROJECT_DIR) -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


def docker_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True).returncode == 0


def build_and_push(ecr: Any, image: str, out: Printer) -> None:
    """``docker build`` + ``docker push``, logged in to ECR with a short-lived token."""
    auth = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
    registry = auth["proxyEndpoint"]
    subprocess.run(["docker", "login", "--username", user, "--password-stdin", registry], input=password.encode(),
                   check=True, capture_output=True)
    # The tasks run on Graviton: build for their platform (an x86 builder emulates it with QEMU).
    from infra.stacks.container import IMAGE_PLATFORM

    subprocess.run(["docker", "build", "--pull", "--platform", IMAGE_PLATFORM, "-f", str(DOCKERFILE), "-t", image,
                    str(PROJECT_DIR)], check=True)
    subprocess.run(["docker", "push", image], check=True)
    out(f"image: built and pushed {image}")


def image_exists(ecr: Any, repository_name: str, tag: str) -> bool:
    try:
        found = ecr.describe_images(repositoryName=repository_name, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ImageNotFoundException":
            return False
        raise
    return bool(found.get("imageDetails"))


def with_image(task_definition: dict[str, Any], repository_uri: str, image: str) -> dict[str, Any]:
    """RegisterTaskDefinition arguments: the current definition with the server container's image replaced."""
    containers = [dict(c) for c in task_definition["containerDefinitions"]]
    targets = [c for c in containers if str(c.get("image", "")).split("@")[0].rsplit(":", 1)[0] == repository_uri]
    if not targets and len(containers) == 1:
        targets = containers
    if len(targets) != 1:
        raise DeliveryError(f"cannot tell which container runs {repository_uri} in {task_definition['family']}")
    targets[0]["image"] = image
    request = {k: task_definition[k] for k in _REGISTER_FIELDS if task_definition.get(k) not in (None, [], {})}
    request["containerDefinitions"] = containers
    return request


def deploy(stage: str, *, region: str | None = None, image: str | None = None, tag: str | None = None,
           build: bool = True, wait: bool = False, out: Printer = print) -> ServerDeployReport:
    target: Target = resolve_target(stage, region)
    out(f"deploy server: {target.describe()}")
    values = read_outputs(target, names.CLUSTER_NAME, names.SERVICE_NAME, names.REPOSITORY_URI)
    cluster, service = values[names.CLUSTER_NAME], values[names.SERVICE_NAME]
    repository_uri = values[names.REPOSITORY_URI]
    repository_name = repository_uri.split("/", 1)[1]
    ecr = target.client("ecr")

    built = False
    if image is None:
        tag = tag or git_commit()
        image = f"{repository_uri}:{tag}"
        if image_exists(ecr, repository_name, tag):
            # ECR tags are immutable: a re-run for the same commit would fail to push.
            out(f"image: {image} is already in ECR (tags are immutable): build and push skipped")
        elif build and docker_available():
            build_and_push(ecr, image, out)
            built = True
        else:
            reason = "build not wanted (--no-build)" if not build else "no Docker engine here"
            out(f"image: {reason}, build and push skipped "
                "(the deploy-server workflow builds it; or pass --image to deploy an existing one)")
            if not image_exists(ecr, repository_name, tag):
                raise DeliveryError(f"image {image} is not in ECR: build and push it where Docker runs first")
            out(f"image: {image} is in ECR")
    else:
        out(f"image: {image} (given, not built)")

    ecs = target.client("ecs")
    services = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not services or services[0].get("status") != "ACTIVE":
        raise MissingInfrastructureError(f"ECS service {service} is not active in cluster {cluster}")
    current_arn = str(services[0]["taskDefinition"])
    current = ecs.describe_task_definition(taskDefinition=current_arn, include=["TAGS"])
    request = with_image(current["taskDefinition"], repository_uri, image)
    if current.get("tags"):
        request["tags"] = current["tags"]
    images_now = {c.get("image") for c in current["taskDefinition"]["containerDefinitions"]}
    if image in images_now:
        out(f"task definition {current_arn} already runs {image}: service left as it is")
        return ServerDeployReport(cluster, service, image, built, current_arn, current_arn)

    new_arn = str(ecs.register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"])
    out(f"task definition: registered {new_arn} (was {current_arn})")
    ecs.update_service(cluster=cluster, service=service, taskDefinition=new_arn)
    out(f"service {cluster}/{service}: rolling to {new_arn}")
    if wait:
        ecs.get_waiter("services_stable").wait(cluster=cluster, services=[service])
        out(f"service {cluster}/{service}: stable")
    return ServerDeployReport(cluster, service, image, built, current_arn, new_arn)
