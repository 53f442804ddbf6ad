"""CI stack: GitHub Actions' OIDC provider and the roles the workflows assume.

- ``store-<stage>-ci-code``: code-only redeploy (``deploy-code.yml`` on push to main,
  through ``infra.delivery``). It may update the stage's Lambda functions and REST API
  the way ``chalice deploy`` does, re-apply the function role's policy file, keep
  ``.chalice/deployed/`` in the state bucket, upload the storefront and invalidate its
  distribution, push images to the stage's ECR repository and roll the ECS service to
  a new task definition. It reads stack outputs but cannot change any stack.
- ``store-<stage>-ci-infra``: infrastructure deploys (``deploy-infra.yml``, behind the
  GitHub environment named after the stage, which carries the approval for prod). It
  can only drive CloudFormation stacks named ``store-<stage>-*`` and hand them the
  execution role below; it cannot create resources by itself.
- ``store-<stage>-cfn-exec``: the CloudFormation service role that creates the stacks'
  resources.

An account holds one OIDC provider per URL, so ``CreateOidcProvider=false`` reuses the
existing one (its ARN is deterministic).
"""

from __future__ import annotations

from typing import Any

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, Template, iam

from infra.config import StageConfig, export_name, lambda_function_prefix, site_bucket_name
from infra.stacks.common import (
    ACCOUNT,
    PARTITION,
    REGION,
    checkov_skip,
    export,
    new_template,
    policy_document,
    statement,
    tags,
)
from infra.stacks.container import cluster_name, repository_name, service_name

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's published intermediate thumbprints (AWS no longer checks them for this
# provider, but the property is still required).
GITHUB_THUMBPRINTS = ["1c58a3a8518e8759bf075b76b750d4f2df264fcd", "6938fd4d98bab03faadb97b34396831e3780aea1"]

# What CloudFormation needs to create this project's stacks. Service-level wildcards:
# the stacks create resources whose ids are unknown until they exist.
CFN_EXEC_SERVICES = (
    "acm", "application-autoscaling", "cloudfront", "cloudwatch", "cognito-idp", "dynamodb", "ec2", "ecr", "ecs",
    "elasticloadbalancing", "kms", "logs", "route53", "s3", "secretsmanager", "sns", "wafv2",
)


def _github_trust(provider: Any, repository: Any, subject: str) -> dict[str, Any]:
    return policy_document({
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": ["sts:AssumeRoleWithWebIdentity"],
        "Condition": {
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{GITHUB_OIDC_HOST}:sub": Sub(f"repo:${{Repo}}:{subject}", Repo=repository)},
        },
    })


def code_deploy_policy(cfg: StageConfig) -> dict[str, Any]:
    """What ``infra.delivery`` (chalice deploy, the storefront upload, the container roll-out) calls."""
    fn = lambda_function_prefix(cfg.stage)
    functions = [Sub(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{fn}"),
                 Sub(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{fn}-*")]
    function_role = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{fn}")
    state_bucket = Sub("arn:${AWS::Partition}:s3:::${Bucket}",
                       Bucket={"Fn::ImportValue": export_name(cfg.stage, "chalice-state-bucket")})
    site_bucket = Sub(f"arn:{PARTITION}:s3:::{site_bucket_name(cfg.stage, ACCOUNT, REGION)}")
    # Any distribution of the account: importing edge's id would make the ci stack wait for
    # edge, and the bootstrap creates the CI roles first. The action only invalidates caches.
    distribution = Sub(f"arn:{PARTITION}:cloudfront::{ACCOUNT}:distribution/*")
    repo = Sub(f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{repository_name(cfg)}")
    service = Sub(f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/{cluster_name(cfg)}/{service_name(cfg)}")
    task_roles = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{cfg.prefix}-site-server-*")
    return policy_document(
        statement("ReadStackOutputs", ["cloudformation:DescribeStacks"],
                  [Sub(f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/{cfg.prefix}-*/*")]),
        statement("UpdateFunctions", [
            "lambda:AddPermission", "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetPolicy",
            "lambda:ListTags", "lambda:ListVersionsByFunction", "lambda:PublishVersion", "lambda:RemovePermission",
            "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
        ], functions),
        # The expiry sweep (@app.schedule): chalice deploy creates its function, its rule
        # ("<app>-<stage>-<name>"), the rule's target and the function's invoke permission.
        statement("ScheduledFunctions", ["lambda:CreateFunction", "lambda:DeleteFunction"],
                  [Sub(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{fn}-*")]),
        statement("ScheduleRules", ["events:DeleteRule", "events:PutRule", "events:PutTargets",
                                    "events:RemoveTargets"],
                  [Sub(f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{fn}-*")]),
        statement("UpdateRestApi", ["apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"], [
            Sub(f"arn:{PARTITION}:apigateway:{REGION}::/restapis"),
            Sub(f"arn:{PARTITION}:apigateway:{REGION}::/restapis/*"),
        ]),
        # chalice deploy re-applies .chalice/policy-<stage>.json to the function's role.
        statement("FunctionRole", ["iam:GetRole", "iam:GetRolePolicy", "iam:PutRolePolicy"], [function_role]),
        statement("PassFunctionRole", ["iam:PassRole"], [function_role],
                  {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
        statement("DeploymentState", ["s3:ListBucket"], [state_bucket]),
        statement("DeploymentStateObjects", ["s3:GetObject", "s3:PutObject"],
                  [Sub("${Arn}/*", Arn=state_bucket)]),
        statement("Storefront", ["s3:ListBucket"], [site_bucket]),
        statement("StorefrontObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                  [Sub("${Arn}/*", Arn=site_bucket)]),
        statement("InvalidateStorefront", ["cloudfront:CreateInvalidation"], [distribution]),
        # GetAuthorizationToken has no resource-level permissions.
        statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        statement("PushImages", [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
            "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
        ], [repo]),
        # Task definition calls have no resource-level permissions; the roll-out itself
        # (UpdateService) is limited to the stage's service.
        statement("TaskDefinitions", ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], "*"),
        statement("TagTaskDefinitions", ["ecs:TagResource"],
                  [Sub(f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:task-definition/{cfg.prefix}-site-server:*")],
                  {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}),
        statement("RollOutService", ["ecs:DescribeServices", "ecs:UpdateService"], [service]),
        statement("PassTaskRoles", ["iam:PassRole"], [task_roles],
                  {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
    )


def infra_deploy_policy(cfg: StageConfig, exec_role: iam.Role) -> dict[str, Any]:
    stacks = Sub(f"arn:{PARTITION}:cloudformation:*:{ACCOUNT}:stack/{cfg.prefix}-*/*")
    state_bucket = Sub("arn:${AWS::Partition}:s3:::${Bucket}",
                       Bucket={"Fn::ImportValue": export_name(cfg.stage, "chalice-state-bucket")})
    service = Sub(f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/{cluster_name(cfg)}/{service_name(cfg)}")
    return policy_document(
        statement("DriveStageStacks", [
            "cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet",
            "cloudformation:GetTemplate",
        ], [stacks]),
        statement("ReadOnlyLookups", [
            "cloudformation:ListExports", "cloudformation:ValidateTemplate", "ec2:DescribeManagedPrefixLists",
        ], "*"),
        statement("HandOverExecutionRole", ["iam:PassRole"], [GetAtt(exec_role, "Arn")],
                  {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
        # Parameter look-ups of python -m infra deploy: the REST API id in Chalice's saved
        # state, the image the service runs now.
        statement("ReadChaliceState", ["s3:GetObject", "s3:ListBucket"],
                  [state_bucket, Sub("${Arn}/*", Arn=state_bucket)]),
        statement("ReadRunningService", ["ecs:DescribeServices"], [service]),
        statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], "*"),
    )


def exec_policy(cfg: StageConfig) -> dict[str, Any]:
    roles = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{cfg.prefix}-*")
    return policy_document(
        statement("StackResources", [f"{service}:*" for service in CFN_EXEC_SERVICES], "*"),
        statement("StageRoles", [
            "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy", "iam:GetRole", "iam:GetRolePolicy", "iam:PassRole", "iam:PutRolePolicy",
            "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
        ], [roles]),
        statement("OidcProvider", [
            "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider",
            "iam:TagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
        ], [Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}")]),
        statement("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], "*"),
    )


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "ci", "GitHub OIDC provider and deploy roles")
    create = template.add_parameter(Parameter(
        "CreateOidcProvider", Type="String", AllowedValues=["true", "false"],
        Default="true" if cfg.create_oidc_provider else "false",
        Description="Create GitHub's OIDC provider (false: reuse the account's existing one)",
    ))
    repository = template.add_parameter(Parameter(
        "GitHubRepository", Type="String", Default=cfg.github_repository, AllowedPattern=r"[\w.-]+/[\w.-]+",
        Description="owner/name of the repository whose workflows may assume the roles",
    ))
    template.add_condition("CreateProvider", Equals(Ref(create), "true"))

    provider = template.add_resource(iam.OIDCProvider(
        "GitHubOidcProvider", Condition="CreateProvider", Url=f"https://{GITHUB_OIDC_HOST}",
        ClientIdList=["sts.amazonaws.com"], ThumbprintList=GITHUB_THUMBPRINTS, Tags=tags(cfg),
    ))
    provider_arn = If("CreateProvider", Ref(provider),
                      Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"))

    code_role = template.add_resource(iam.Role(
        "CodeDeployRole",
        RoleName=f"{cfg.prefix}-ci-code",
        AssumeRolePolicyDocument=_github_trust(provider_arn, Ref(repository), "ref:refs/heads/main"),
        Policies=[iam.Policy(PolicyName="code-only-redeploy", PolicyDocument=code_deploy_policy(cfg))],
        MaxSessionDuration=3600,
        Tags=tags(cfg),
    ))
    exec_role = template.add_resource(checkov_skip(
        iam.Role(
            "CloudFormationExecutionRole",
            RoleName=f"{cfg.prefix}-cfn-exec",
            AssumeRolePolicyDocument=policy_document({
                "Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"},
                "Action": ["sts:AssumeRole"],
                "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
            }),
            Policies=[iam.Policy(PolicyName="create-stack-resources", PolicyDocument=exec_policy(cfg))],
            Tags=tags(cfg),
        ),
        ("CKV_AWS_107", "CloudFormation service role: only cloudformation.amazonaws.com can assume it and "
                        "only the infra role may pass it; it creates resources (keys, secrets) by design"),
        ("CKV_AWS_108", "same CloudFormation service role: creates and reads the stacks' data resources"),
        ("CKV_AWS_109", "same CloudFormation service role: IAM actions are limited to store-<stage>-* roles"),
        ("CKV_AWS_111", "same CloudFormation service role: resource ids are unknown before creation"),
    ))
    infra_role = template.add_resource(iam.Role(
        "InfraDeployRole",
        RoleName=f"{cfg.prefix}-ci-infra",
        AssumeRolePolicyDocument=_github_trust(provider_arn, Ref(repository), f"environment:{cfg.stage}"),
        Policies=[iam.Policy(PolicyName="drive-cloudformation", PolicyDocument=infra_deploy_policy(cfg, exec_role))],
        MaxSessionDuration=3600,
        Tags=tags(cfg),
    ))

    export(template, cfg, "CodeDeployRoleArn", "ci-code-role-arn", GetAtt(code_role, "Arn"),
           "Role for code-only redeploys")
    export(template, cfg, "InfraDeployRoleArn", "ci-infra-role-arn", GetAtt(infra_role, "Arn"),
           "Role for infrastructure deploys")
    export(template, cfg, "CloudFormationExecutionRoleArn", "cfn-exec-role-arn", GetAtt(exec_role, "Arn"),
           "CloudFormation service role (python -m infra deploy --role-arn)")
    return template
