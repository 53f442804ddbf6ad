"""One pure builder per stack: ``StageConfig -> troposphere.Template``, no AWS calls.

``STACKS`` lists them in deploy order (later stacks import earlier stacks' exports).
``edge-global`` always lives in us-east-1 (CloudFront's WAF and certificates); every
other stack lives in the stage's region. ``ci`` comes first: an administrator deploys
it, and it makes the permissions boundary and the execution role the others need.

Every IAM role of every other stack carries the stage's permissions boundary
(:func:`with_boundary` sets it on any role whose builder did not), because the
CloudFormation execution role may create no role without it.

``stacks_for`` is a stage's own list: without
the container path (``StageConfig.container_path``) the stage has no network and no
container stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from troposphere import Template, iam

from infra.config import GLOBAL_REGION, ConfigError, StageConfig
from infra.stacks import auth, ci, container, data, edge, edge_global, network, observability, secrets
from infra.stacks.common import permissions_boundary_arn

Builder = Callable[[StageConfig], Template]


def with_boundary(build: Builder) -> Builder:
    """``build``, with the stage's permissions boundary on every role that has none."""

    def bounded(cfg: StageConfig) -> Template:
        template = build(cfg)
        for resource in template.resources.values():
            if isinstance(resource, iam.Role) and "PermissionsBoundary" not in resource.properties:
                resource.PermissionsBoundary = permissions_boundary_arn(cfg)
        return template

    bounded.__name__ = getattr(build, "__name__", "build")
    bounded.__doc__ = build.__doc__
    return bounded


@dataclass(frozen=True)
class StackSpec:
    name: str
    build: Builder
    global_region: bool = False

    def region(self, cfg: StageConfig) -> str:
        return GLOBAL_REGION if self.global_region else cfg.region


STACKS: tuple[StackSpec, ...] = (
    StackSpec("ci", ci.build),
    StackSpec("secrets", with_boundary(secrets.build)),
    StackSpec("network", with_boundary(network.build)),
    StackSpec("data", with_boundary(data.build)),
    StackSpec("auth", with_boundary(auth.build)),
    StackSpec("container", with_boundary(container.build)),
    StackSpec("edge-global", with_boundary(edge_global.build), global_region=True),
    StackSpec("edge", with_boundary(edge.build)),
    StackSpec("observability", with_boundary(observability.build)),
)
STACK_NAMES: tuple[str, ...] = tuple(spec.name for spec in STACKS)
CONTAINER_PATH_STACKS = frozenset({"network", "container"})


def stacks_for(cfg: StageConfig) -> tuple[StackSpec, ...]:
    """The stage's stacks, in deploy order."""
    if cfg.container_path:
        return STACKS
    return tuple(spec for spec in STACKS if spec.name not in CONTAINER_PATH_STACKS)


def stack_spec(name: str) -> StackSpec:
    for spec in STACKS:
        if spec.name == name:
            return spec
    raise ConfigError(f"unknown stack {name!r}; known: {', '.join(STACK_NAMES)}")


def build_all(cfg: StageConfig) -> dict[str, Template]:
    return {spec.name: spec.build(cfg) for spec in stacks_for(cfg)}
