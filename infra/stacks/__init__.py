"""One pure builder per stack: ``StageConfig -> troposphere.Template``, no AWS calls.

``STACKS`` lists them in deploy order (later stacks import earlier stacks' exports).
``edge-global`` always lives in us-east-1 (CloudFront's WAF and certificates); every
other stack lives in the stage's region. ``stacks_for`` is a stage's own list: without
the container path (``StageConfig.container_path``) the stage has no network and no
container stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from troposphere import Template

from infra.config import GLOBAL_REGION, ConfigError, StageConfig
from infra.stacks import auth, ci, container, data, edge, edge_global, network, observability, secrets

Builder = Callable[[StageConfig], Template]


@dataclass(frozen=True)
class StackSpec:
    name: str
    build: Builder
    global_region: bool = False

    def region(self, cfg: StageConfig) -> str:
        return GLOBAL_REGION if self.global_region else cfg.region


STACKS: tuple[StackSpec, ...] = (
    StackSpec("secrets", secrets.build),
    StackSpec("network", network.build),
    StackSpec("data", data.build),
    StackSpec("auth", auth.build),
    StackSpec("container", container.build),
    StackSpec("edge-global", edge_global.build, global_region=True),
    StackSpec("edge", edge.build),
    StackSpec("observability", observability.build),
    StackSpec("ci", ci.build),
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
