"""IAM: the functions' policy and the roles in the templates grant only what is needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import policies
from infra.config import STAGES, function_role_name, stage_config
from infra.stacks import STACKS

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Actions whose AWS API has no resource-level permissions, so "*" is the only valid
# resource. Anything else with Resource "*" fails the tests below.
WILDCARD_RESOURCE_REASONS = {
    "xray:PutTraceSegments": "X-Ray write APIs support no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray write APIs support no resource-level permissions",
    "ecr:GetAuthorizationToken": "registry login is account-wide; pulls/pushes are scoped to the repository",
    "cloudformation:ListExports": "list/validate calls support no resource-level permissions",
    "cloudformation:ValidateTemplate": "list/validate calls support no resource-level permissions",
    "ec2:DescribeManagedPrefixLists": "read-only Describe call, no resource-level permissions",
    "ecs:DescribeTaskDefinition": "task definition calls support no resource-level permissions",
    "ecs:RegisterTaskDefinition": "task definition calls support no resource-level permissions",
    "iam:CreateServiceLinkedRole": "CloudFormation service role: ECS/ELB/autoscaling create their service roles",
    "secretsmanager:GetRandomPassword": "generates a random string; no resource",
    "kms:CreateKey": "a new key has no ARN yet; the stage tag is required instead",
    "kms:TagResource": "only with the stage tag on the request (tagging a new key)",
    "kms:ListAliases": "list calls support no resource-level permissions",
    "kms:ListKeys": "list calls support no resource-level permissions",
    "iam:DeleteRolePermissionsBoundary": "an explicit Deny, everywhere",
}
# The CloudFormation service role creates the stacks' resources, whose ids do not exist
# before creation; checkov's findings for it are skipped in the template with reasons.
# Its data services are service-wide in actions but scoped to the stage's names or tags.
SERVICE_WILDCARD_STATEMENTS = {("ci", "CloudFormationExecutionRole", sid) for sid in (
    "StackResources", "StageTables", "StageBuckets", "StageSecrets", "StageRepositories", "StageKeys",
    "DenyPipelineRoles")}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_chalice_runs_every_function_as_the_ci_stacks_role() -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    for stage in STAGES:
        settings = config["stages"][stage]
        assert settings["manage_iam_role"] is False
        assert settings["iam_role_arn"].endswith(f":role/{function_role_name(stage)}")
        assert "iam_policy_file" not in settings


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_lambda_policy_names_every_resource_it_can(stage: str) -> None:
    for statement in policies.lambda_policy(stage)["Statement"]:
        actions = _as_list(statement["Action"])
        assert "*" not in actions and not any(a.endswith(":*") for a in actions)
        if "*" in _as_list(statement["Resource"]):
            assert all(a in WILDCARD_RESOURCE_REASONS for a in actions), statement["Sid"]
        for resource in _as_list(statement["Resource"]):
            assert resource == "*" or f"{stage}" in resource or statement["Sid"].endswith("KeyDecrypt") or (
                statement["Sid"] == "OrderEmails" and "ses:FromAddress" in statement["Condition"]["StringEquals"])


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_lambda_policy_grants_what_the_code_calls_and_nothing_else(stage: str) -> None:
    granted = {a for s in policies.lambda_policy(stage)["Statement"] for a in _as_list(s["Action"])}
    assert granted == {
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue", "kms:Decrypt",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "s3:PutObject", "ses:SendEmail", "ssm:GetParameter",
    }
    assert "cloudwatch:PutMetricData" not in granted  # metrics leave as EMF log lines


def test_kms_decrypt_is_pinned_to_the_cursor_secret_through_secrets_manager() -> None:
    (decrypt,) = [s for s in policies.lambda_policy("prod")["Statement"] if s["Sid"] == "CursorKeyDecrypt"]
    condition = decrypt["Condition"]["StringLike"]
    assert condition["kms:ViaService"] == "secretsmanager.*.amazonaws.com"
    assert "store/prod/cursor-signing-key" in condition["kms:EncryptionContext:SecretARN"]


def test_the_function_reads_the_payment_secret_and_decrypts_it_only_through_secrets_manager() -> None:
    statements = {s["Sid"]: s for s in policies.lambda_policy("prod")["Statement"]}
    assert statements["PaymentKey"]["Resource"] == "arn:aws:secretsmanager:*:*:secret:store/prod/payment-*"
    condition = statements["PaymentKeyDecrypt"]["Condition"]["StringLike"]
    assert condition == {"kms:ViaService": "secretsmanager.*.amazonaws.com",
                         "kms:EncryptionContext:SecretARN": statements["PaymentKey"]["Resource"]}


def test_the_function_reads_the_origin_secret_and_decrypts_it_only_through_secrets_manager() -> None:
    statements = {s["Sid"]: s for s in policies.lambda_policy("prod")["Statement"]}
    assert "store/prod/origin-verify" in statements["OriginVerifyKey"]["Resource"]
    condition = statements["OriginVerifyKeyDecrypt"]["Condition"]["StringLike"]
    assert condition == {"kms:ViaService": "secretsmanager.*.amazonaws.com",
                         "kms:EncryptionContext:SecretARN": statements["OriginVerifyKey"]["Resource"]}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_function_reads_exactly_the_site_url_parameter(stage: str) -> None:
    reads = [s for s in policies.lambda_policy(stage, region="eu-west-1", account="123456789012")["Statement"]
             if "ssm:GetParameter" in _as_list(s["Action"])]
    assert reads == [{"Sid": "SiteUrl", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                      "Resource": f"arn:aws:ssm:eu-west-1:123456789012:parameter/store/{stage}/site-url"}]


def _template_statements() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for spec in STACKS:
        template = spec.build(stage_config("dev")).to_dict()
        for logical, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield spec.name, logical, statement


def test_template_roles_name_every_resource_they_can() -> None:
    checked = 0
    for stack, role, statement in _template_statements():
        checked += 1
        actions = _as_list(statement["Action"])
        assert "*" not in actions, (stack, role)
        if (stack, role, statement.get("Sid")) in SERVICE_WILDCARD_STATEMENTS:
            continue
        assert not any(a.endswith(":*") for a in actions), (stack, role, statement.get("Sid"))
        if "*" in _as_list(statement["Resource"]):
            unexplained = [a for a in actions if a not in WILDCARD_RESOURCE_REASONS]
            assert not unexplained, (stack, role, unexplained)
    assert checked > 10


def test_github_roles_trust_only_this_repository_and_audience() -> None:
    template = next(spec for spec in STACKS if spec.name == "ci").build(stage_config("prod")).to_dict()
    subjects = {}
    for name in ("CodeDeployRole", "InfraDeployRole"):
        (statement,) = template["Resources"][name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
        condition = statement["Condition"]
        assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
        subjects[name] = condition["StringLike"]["token.actions.githubusercontent.com:sub"]["Fn::Sub"][0]
    # prod's code deploys wait for a reviewer: the role trusts only jobs of environment prod.
    assert subjects == {"CodeDeployRole": "repo:${Repo}:environment:prod",
                        "InfraDeployRole": "repo:${Repo}:environment:prod"}
