"""No escalation path from a code-deploy role, and every role of the stacks under the stage's boundary.

The templates are read as data, as a hostile insider with a code role (a push to main,
a compromised workflow) would read them:

* a code role holds no IAM write and no CloudFormation write; it may pass only the
  function role (to Lambda) and the container's task roles (to ECS), and each role it
  can pass carries the stage's permissions boundary and has a policy it cannot change;
* the CloudFormation execution role may create or change a role only when the role
  carries that boundary, may never remove or edit the boundary, and cannot touch the
  ci stack's own roles;
* the boundary itself grants no IAM, STS or account-wide power, and covers every action
  any bounded role is given (a role's grant outside it would silently not work);
* prod's code role trusts only jobs of the GitHub environment ``prod``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

import pytest

from infra import policies
from infra.config import STAGES, function_role_name, permissions_boundary_name, stage_config
from infra.stacks import STACKS, ci

CODE_ROLE = "CodeDeployRole"
EXEC_ROLE = "CloudFormationExecutionRole"
# IAM actions that create, change or hand over permissions.
ESCALATING_IAM = (
    "iam:Add*", "iam:Attach*", "iam:Create*", "iam:Delete*", "iam:Detach*", "iam:Put*", "iam:Remove*",
    "iam:Set*", "iam:Update*", "iam:Upload*", "iam:PassRole", "iam:Tag*", "iam:Untag*",
)
CLOUDFORMATION_WRITES = ("cloudformation:Create*", "cloudformation:Update*", "cloudformation:Execute*",
                         "cloudformation:Delete*", "cloudformation:Set*")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sub_text(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    if isinstance(value, dict) and "Ref" in value:
        return f"Ref:{value['Ref']}"
    return str(value)


def _matches(action: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def _templates(stage: str) -> dict[str, dict[str, Any]]:
    return {spec.name: spec.build(stage_config(stage)).to_dict() for spec in STACKS}


def _roles(stage: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for stack, template in _templates(stage).items():
        for logical, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                yield stack, logical, resource["Properties"]


def _statements(properties: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in properties.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def _ci(stage: str) -> dict[str, Any]:
    return _templates(stage)["ci"]["Resources"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_code_role_holds_no_iam_or_cloudformation_write_but_passrole(stage: str) -> None:
    statements = _statements(_ci(stage)[CODE_ROLE]["Properties"])
    passes: list[dict[str, Any]] = []
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), action
            assert not action.lower().startswith(("sts:", "organizations:")), action
            assert not _matches(action, list(CLOUDFORMATION_WRITES)), action
            if action == "iam:PassRole":
                passes.append(statement)
            else:
                assert not action.startswith("iam:"), action
    passed = {(_sub_text(r), s["Condition"]["StringEquals"]["iam:PassedToService"])
              for s in passes for r in _as_list(s["Resource"])}
    assert passed == {
        (f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{function_role_name(stage)}", "lambda.amazonaws.com"),
        (f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/store-{stage}-site-server-*",
         "ecs-tasks.amazonaws.com"),
    }


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_role_a_code_role_can_pass_carries_the_boundary_and_a_fixed_policy(stage: str) -> None:
    passable = [(stack, logical, props) for stack, logical, props in _roles(stage)
                if props.get("RoleName") == function_role_name(stage)
                or str(props.get("RoleName", "")).startswith(f"store-{stage}-site-server-")]
    assert {props["RoleName"] for _, _, props in passable} >= {function_role_name(stage)}
    for stack, logical, props in passable:
        assert "PermissionsBoundary" in props, (stack, logical)
    (function_role,) = [props for _, _, props in passable if props["RoleName"] == function_role_name(stage)]
    (policy,) = function_role["Policies"]
    derived = policies.lambda_policy(stage)
    assert [s["Sid"] for s in policy["PolicyDocument"]["Statement"]] == [s["Sid"] for s in derived["Statement"]]
    for mine, theirs in zip(policy["PolicyDocument"]["Statement"], derived["Statement"], strict=True):
        assert _as_list(mine["Action"]) == _as_list(theirs["Action"])


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_role_of_the_other_stacks_carries_the_stage_boundary(stage: str) -> None:
    boundary = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{permissions_boundary_name(stage)}"
    checked = 0
    for stack, logical, props in _roles(stage):
        if stack == "ci" and logical != "FunctionRole":
            continue  # the pipeline's own roles: an administrator deploys the ci stack
        checked += 1
        value = props.get("PermissionsBoundary")
        assert value is not None, (stack, logical)
        assert _sub_text(value) in (boundary, "Ref:RoleBoundary"), (stack, logical, value)
    assert checked >= 4


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_execution_role_writes_roles_only_under_the_boundary_it_cannot_remove(stage: str) -> None:
    statements = _statements(_ci(stage)[EXEC_ROLE]["Properties"])
    allows = [s for s in statements if s["Effect"] == "Allow"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    boundary = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:policy/{permissions_boundary_name(stage)}"
    for statement in allows:
        actions = _as_list(statement["Action"])
        assert not any(a.startswith("iam:*") or a == "*" for a in actions), statement["Sid"]
        writes = [a for a in actions if a in ci.ROLE_WRITE_ACTIONS]
        if writes:
            condition = statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
            assert _sub_text(condition) == boundary, statement["Sid"]
        # No managed policy of its own (the boundary included) can be made or changed.
        assert not _matches("iam:CreatePolicyVersion", actions) and not _matches("iam:CreatePolicy", actions)
        assert not _matches("iam:DeleteRolePermissionsBoundary", actions)
    denied = {a for s in denies for a in _as_list(s["Action"])}
    assert "iam:DeleteRolePermissionsBoundary" in denied
    assert {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"} <= denied
    pipeline = [s for s in denies if s["Sid"] == "DenyPipelineRoles"]
    assert pipeline and {_sub_text(r).rsplit("/", 1)[1] for r in _as_list(pipeline[0]["Resource"])} == \
        {f"store-{stage}-ci-*", f"store-{stage}-cfn-exec", function_role_name(stage)}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_execution_role_scopes_data_services_to_the_stage(stage: str) -> None:
    statements = {s["Sid"]: s for s in _statements(_ci(stage)[EXEC_ROLE]["Properties"])}
    wide = {a.split(":")[0] for a in _as_list(statements["StackResources"]["Action"])}
    assert not wide & {"dynamodb", "s3", "secretsmanager", "kms", "iam", "sts", "lambda", "ecr"}
    for sid in ("StageTables", "StageBuckets", "StageSecrets", "StageRepositories"):
        for resource in _as_list(statements[sid]["Resource"]):
            assert f"store-{stage}-" in _sub_text(resource) or f"store/{stage}/" in _sub_text(resource) \
                or _sub_text(resource).startswith("${"), (sid, resource)
    assert statements["StageKeys"]["Condition"] == {"StringEquals": {"aws:ResourceTag/stage": stage}}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_boundary_grants_no_iam_and_covers_every_bounded_role(stage: str) -> None:
    boundary = _ci(stage)["RoleBoundary"]["Properties"]["PolicyDocument"]["Statement"]
    allowed = [a for s in boundary if s["Effect"] == "Allow" for a in _as_list(s["Action"])]
    for action in allowed:
        assert action != "*" and not action.lower().startswith(("iam:", "sts:", "organizations:", "account:"))
    for stack, logical, props in _roles(stage):
        if stack == "ci" and logical != "FunctionRole":
            continue
        for statement in _statements(props):
            for action in _as_list(statement["Action"]):
                assert _matches(action, allowed), f"{stack}/{logical} is granted {action}, which the boundary caps"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_code_roles_trust_main_on_dev_and_only_the_prod_environment_on_prod(stage: str) -> None:
    (statement,) = _ci(stage)[CODE_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    subject = _sub_text(statement["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"])
    expected = "repo:${Repo}:environment:prod" if stage == "prod" else "repo:${Repo}:ref:refs/heads/main"
    assert subject == expected


def test_the_github_repository_has_no_default() -> None:
    for stage in STAGES:
        parameter = _templates(stage)["ci"]["Parameters"]["GitHubRepository"]
        assert "Default" not in parameter
