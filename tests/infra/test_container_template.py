"""The container stack as data: Graviton and the stage's task size, a read-only root with
nothing to write but /dev/shm, every setting the app requires, automatic bootstrap that
really keeps zero tasks, PublicBaseUrl required once serving, no exports that block
updates, and small builders."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from storefront_server import settings as server_settings

from infra.config import stage_config
from infra.stacks import STACKS, container
from infra.synth import render

ROOT = Path(__file__).resolve().parents[2]


def template(stage: str = "dev") -> dict[str, Any]:
    return dict(json.loads(render(container.build(stage_config(stage)))))


def resource(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(tpl["Resources"][logical_id])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_tasks_run_on_graviton_at_the_stage_size(stage: str) -> None:
    cfg = stage_config(stage)
    task = resource(template(stage), "TaskDefinition")["Properties"]
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert (task["Cpu"], task["Memory"]) == (str(cfg.container_cpu), str(cfg.container_memory))
    assert container.IMAGE_PLATFORM == "linux/arm64"
    delivery = (ROOT / "infra" / "delivery" / "server.py").read_text()
    assert '"--platform", IMAGE_PLATFORM' in delivery, "the image is built for the tasks' platform"


def test_prod_keeps_two_small_tasks_across_two_azs() -> None:
    cfg = stage_config("prod")
    assert (cfg.container_cpu, cfg.container_memory, cfg.container_min_tasks) == (256, 512, 2)
    tpl = template("prod")
    assert resource(tpl, "ServiceScalableTarget")["Properties"]["MinCapacity"] == 2
    subnets = resource(tpl, "Service")["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert [s["Fn::Select"][0] for s in subnets] == [0, 1], "one subnet in each of two AZs"


def test_root_filesystem_is_read_only_with_no_root_owned_scratch_volume() -> None:
    task = resource(template(), "TaskDefinition")["Properties"]
    [definition] = task["ContainerDefinitions"]
    assert definition["ReadonlyRootFilesystem"] is True and definition["Privileged"] is False
    # gunicorn's worker files and TMPDIR go to /dev/shm (proven by tests/image): a Fargate
    # volume at /tmp would be owned by root, unwritable for uid 10001.
    assert not task.get("Volumes") and not definition.get("MountPoints")


def test_the_task_gets_every_setting_the_app_refuses_to_start_without() -> None:
    assert container.ENV_PUBLIC_BASE_URL == server_settings.ENV_PUBLIC_BASE_URL
    [definition] = resource(template(), "TaskDefinition")["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in definition["Environment"]}
    assert server_settings.missing_settings({name: "set" for name in env}) == []
    assert env["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
    from infra.local.stack import server_environment

    assert set(server_environment("dev", "http://127.0.0.1:1", "s")) | {"AWS_REGION"} == set(env), \
        "the local stack gives the container the same settings, by the same names"


def _evaluate(node: Any, conditions: dict[str, Any], params: dict[str, str]) -> Any:
    """Just enough of CloudFormation's condition functions for this template."""
    if isinstance(node, dict) and len(node) == 1:
        [(key, value)] = node.items()
        if key == "Ref":
            return params.get(value, node)
        if key == "Condition":
            return _evaluate(conditions[value], conditions, params)
        if key == "Fn::Equals":
            return _evaluate(value[0], conditions, params) == _evaluate(value[1], conditions, params)
        if key == "Fn::Not":
            return not _evaluate(value[0], conditions, params)
        if key == "Fn::And":
            return all(_evaluate(v, conditions, params) for v in value)
        if key == "Fn::If":
            chosen = value[1] if _evaluate(conditions[value[0]], conditions, params) else value[2]
            return _evaluate(chosen, conditions, params)
    return node


@pytest.mark.parametrize(("bootstrap", "desired", "scaling"), [("true", 0, False), ("false", None, True)])
def test_bootstrap_keeps_zero_tasks_and_serving_hands_the_count_to_auto_scaling(
    bootstrap: str, desired: int | None, scaling: bool
) -> None:
    tpl = template("prod")
    params = {"Bootstrap": bootstrap}
    conditions = tpl["Conditions"]

    def exists(logical_id: str) -> bool:
        condition = tpl["Resources"][logical_id].get("Condition")
        return condition is None or bool(_evaluate(conditions[condition], conditions, params))

    count = _evaluate(resource(tpl, "Service")["Properties"]["DesiredCount"], conditions, params)
    assert (None if count == {"Ref": "AWS::NoValue"} else count) == desired
    # A scalable target's minimum (2 in prod) would override DesiredCount 0: none while bootstrapping.
    assert exists("ServiceScalableTarget") is scaling and exists("ServiceCpuScaling") is scaling
    # The default is the steady state (a stage is priced as synthesized); deploys compute it.
    assert tpl["Parameters"]["Bootstrap"]["Default"] == "false"


def test_public_base_url_is_required_once_serving() -> None:
    tpl = template()
    rule = tpl["Rules"]["PublicBaseUrlWhenServing"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Bootstrap"}, "false"]}
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]}
    assert tpl["Parameters"]["PublicBaseUrl"]["AllowedPattern"] == "(https://[A-Za-z0-9.-]+)?"


def test_no_stack_exports_or_imports_the_alb_values() -> None:
    """alb-origin-domain changed with a domain while edge imported it; alb-full-name pinned the ALB."""
    for stage in ("dev", "prod"):
        for spec in STACKS:
            text = render(spec.build(stage_config(stage)))
            for name in ("alb-origin-domain", "alb-full-name", "alb-dns-name"):
                assert name not in text, (stage, spec.name, name)
    outputs = template()["Outputs"]
    for name in ("OriginDomainName", "LoadBalancerFullName"):
        assert "Export" not in outputs[name]
    edge = json.loads(render(next(s for s in STACKS if s.name == "edge").build(stage_config("prod"))))
    assert "PagesOriginDomain" in edge["Parameters"]
    observability = json.loads(render(next(s for s in STACKS if s.name == "observability").build(stage_config("prod"))))
    assert "LoadBalancerFullName" in observability["Parameters"]


def test_no_builder_in_the_container_stack_is_over_sixty_lines() -> None:
    source = (ROOT / "infra" / "stacks" / "container.py").read_text()
    lengths = {node.name: (node.end_lineno or node.lineno) - node.lineno + 1
               for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
    assert lengths["build"] <= 30
    assert max(lengths.values()) <= 60, lengths
