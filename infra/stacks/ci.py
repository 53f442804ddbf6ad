"""CI stack: GitHub's OIDC provider, the roles the workflows assume, and the roles that bound every other role.

Deployed by an administrator (README: bootstrap), first, and whenever it changes: it
holds the pipeline's own powers, so the pipeline cannot widen them.

- ``store-<stage>-ci-code``: code-only redeploys (``deploy-code``, ``deploy-site``,
  ``deploy-server`` through ``infra.delivery``). Its actions are exactly the calls those
  deploys make (``tests/deploy`` checks every call the emulator logged against them): it
  updates the stage's functions and REST API the way ``chalice deploy`` does, keeps
  Chalice's state in the state bucket, uploads the storefront, pushes images and rolls
  the ECS service. It holds **no IAM write**: it may only pass the function role to
  Lambda and the task roles to ECS, so it cannot widen what the code runs with. dev
  trusts pushes to ``main``; prod trusts only jobs of the GitHub environment ``prod``,
  which waits for a reviewer.
- ``store-<stage>-ci-infra``: infrastructure deploys (``deploy-infra``, GitHub environment
  named after the stage). It drives CloudFormation stacks named ``store-<stage>-*`` and
  hands them the execution role; it cannot create resources by itself.
- ``store-<stage>-cfn-exec``: CloudFormation's service role. Every role it creates or
  changes must carry the permissions boundary below (``iam:PermissionsBoundary``
  condition), it can neither remove nor edit that boundary, and it cannot touch this
  stack's roles. Its data-bearing services (DynamoDB, S3, Secrets Manager, KMS) are
  scoped to the stage's names or tags; services whose resource ids are random until
  created (EC2, CloudFront, Cognito, WAF ...) stay service-wide.
- ``store-<stage>-role-boundary``: the permissions boundary, the most any role of the
  stage's stacks can ever do: the app's data, secrets and parameters of this stage, logs, traces,
  image pulls. No IAM, no STS, nothing of another stage.
- ``store-<stage>-function``: the role every Lambda function of the stage runs as
  (Chalice's ``iam_role_arn``), with the policy :mod:`infra.policies` derives.

An account holds one OIDC provider per URL, so ``CreateOidcProvider=false`` reuses the
existing one (its ARN is deterministic).
"""

from __future__ import annotations

from typing import Any, cast

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, Template, iam

from infra import policies
from infra.config import (
    APP,
    StageConfig,
    function_role_name,
    lambda_function_prefix,
    permissions_boundary_name,
    secret_prefix,
    site_bucket_name,
    state_bucket_name,
)
from infra.stacks.common import (
    ACCOUNT,
    PARTITION,
    REGION,
    checkov_skip,
    export,
    new_template,
    permissions_boundary_arn,
    policy_document,
    statement,
    tags,
)
from infra.stacks.container import cluster_name, repository_name, service_name

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
# GitHub's published intermediate thumbprints (AWS no longer checks them for this
# provider, but the property is still required).
GITHUB_THUMBPRINTS = ["1c58a3a8518e8759bf075b76b750d4f2df264fcd", "6938fd4d98bab03faadb97b34396831e3780aea1"]

# Services whose resources CloudFormation creates with ids unknown before creation (or
# names other stacks choose), so the execution role holds them service-wide. None of
# them can grant IAM permissions.
CFN_EXEC_SERVICE_WIDE = (
    "acm", "application-autoscaling", "cloudfront", "cloudwatch", "cognito-idp", "ec2", "ecs",
    "elasticloadbalancing", "logs", "route53", "sns", "ssm", "wafv2",
)
# Stages whose code deploys wait for a person: their code role trusts only jobs of the
# GitHub environment of the same name (deploy-code/site/server run prod jobs in it).
APPROVED_STAGES = frozenset({"prod"})
# Services CloudFormation may create service-linked roles for (ECS, the ALB, autoscaling).
SERVICE_LINKED_ROLE_SERVICES = ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com",
                                "ecs.application-autoscaling.amazonaws.com"]

# IAM actions that change what a role may do. The execution role may use them only on
# roles that carry the stage's boundary; the code role never.
ROLE_WRITE_ACTIONS = ("iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
                      "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy")


def code_deploy_subject(cfg: StageConfig) -> str:
    """Which GitHub OIDC subjects the code role trusts: prod only jobs of environment ``prod``."""
    return f"environment:{cfg.stage}" if cfg.stage in APPROVED_STAGES else "ref:refs/heads/main"


def _sub_strings(value: Any) -> Any:
    """Wrap every string carrying a ``${AWS::...}`` pseudo parameter in Fn::Sub."""
    if isinstance(value, str):
        return Sub(value) if "${AWS::" in value else value
    if isinstance(value, list):
        return [_sub_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _sub_strings(v) for k, v in value.items()}
    return value


def function_policy(cfg: StageConfig) -> dict[str, Any]:
    """:func:`infra.policies.lambda_policy` with this account, region and partition."""
    document = policies.lambda_policy(cfg.stage, partition=PARTITION, region=REGION, account=ACCOUNT)
    return cast(dict[str, Any], _sub_strings(document))


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


# What a code deploy calls, by step. tests/deploy/test_deploy_calls.py maps every call
# the emulator logged during `chalice deploy` / `make deploy` to its IAM action and fails
# when one is missing here.
CHALICE_FUNCTION_ACTIONS = (
    # Chalice's planner: exists? create or update code and configuration, concurrency
    # (DeleteFunctionConcurrency on every update without reserved concurrency), tags,
    # and the invoke permissions for API Gateway and EventBridge.
    # DeleteFunction: Chalice's sweeper removes a function the app no longer has.
    "lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListTags", "lambda:PutFunctionConcurrency",
    "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
)
# `@app.schedule` functions: an EventBridge rule store-<stage>-<function> targeting them.
CHALICE_SCHEDULE_ACTIONS = (
    "events:DeleteRule", "events:DescribeRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets",
    "events:RemoveTargets",
)
# Import/PutRestApi, UpdateRestApi, CreateDeployment, the gateway responses.
CHALICE_REST_API_ACTIONS = ("apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST",
                            "apigateway:PUT")


def code_deploy_policy(cfg: StageConfig) -> dict[str, Any]:
    """What ``infra.delivery`` (chalice deploy, the storefront upload, the container roll-out) calls."""
    fn = lambda_function_prefix(cfg.stage)
    functions = [Sub(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{fn}"),
                 Sub(f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{fn}-*")]
    function_role = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{function_role_name(cfg.stage)}")
    state_bucket = Sub(f"arn:{PARTITION}:s3:::{state_bucket_name(cfg.stage, ACCOUNT, REGION)}")
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
        statement("UpdateFunctions", list(CHALICE_FUNCTION_ACTIONS), functions),
        statement("ScheduleFunctions", list(CHALICE_SCHEDULE_ACTIONS),
                  [Sub(f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{fn}-*")]),
        statement("UpdateRestApi", list(CHALICE_REST_API_ACTIONS), [
            Sub(f"arn:{PARTITION}:apigateway:{REGION}::/restapis"),
            Sub(f"arn:{PARTITION}:apigateway:{REGION}::/restapis/*"),
        ]),
        # The functions run as the role the ci stack made (manage_iam_role: false): the
        # deploy only hands it to Lambda and can change nothing about it.
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
    state_bucket = Sub(f"arn:{PARTITION}:s3:::{state_bucket_name(cfg.stage, ACCOUNT, REGION)}")
    service = Sub(f"arn:{PARTITION}:ecs:{REGION}:{ACCOUNT}:service/{cluster_name(cfg)}/{service_name(cfg)}")
    return policy_document(
        # DeleteStack: `python -m infra diff` against a stack that does not exist yet
        # leaves an empty REVIEW_IN_PROGRESS stack behind, which it deletes.
        statement("DriveStageStacks", [
            "cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack",
            "cloudformation:DescribeChangeSet", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet", "cloudformation:GetTemplate",
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
    stage_roles = Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{cfg.prefix}-*")
    bounded = {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary_arn(cfg)}}
    stage_tag = {"StringEquals": {"aws:ResourceTag/stage": cfg.stage}}
    tables = Sub(f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{cfg.prefix}-*")
    buckets = Sub(f"arn:{PARTITION}:s3:::{cfg.prefix}-*")
    secrets = Sub(f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_prefix(cfg.stage)}*")
    return policy_document(
        statement("StackResources", [f"{service}:*" for service in CFN_EXEC_SERVICE_WIDE], "*"),
        statement("StageTables", ["dynamodb:*"], [tables, Sub("${T}/*", T=tables)]),
        statement("StageBuckets", ["s3:*"], [buckets, Sub("${B}/*", B=buckets)]),
        statement("StageSecrets", ["secretsmanager:*"], [secrets]),
        statement("RandomPasswords", ["secretsmanager:GetRandomPassword"], "*"),
        statement("StageRepositories", ["ecr:*"],
                  [Sub(f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{cfg.prefix}-*")]),
        # KMS key ids are random: new keys must carry the stage tag (CloudFormation passes
        # the stack's tags), and only keys with it can be changed.
        statement("CreateStageKeys", ["kms:CreateKey", "kms:TagResource"], "*",
                  {"StringEquals": {"aws:RequestTag/stage": cfg.stage}}),
        statement("StageKeys", ["kms:*"], [Sub(f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/*")], stage_tag),
        statement("StageKeyAliases", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
                  [Sub(f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:alias/{cfg.prefix}-*")]),
        statement("ListKeys", ["kms:ListAliases", "kms:ListKeys"], "*"),
        # Roles: only with the stage's boundary, which stays on (see DenyBoundaryRemoval).
        statement("CreateBoundedRoles", list(ROLE_WRITE_ACTIONS), [stage_roles], bounded),
        statement("ManageStageRoles", [
            "iam:DeleteRole", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies", "iam:ListRoleTags", "iam:PassRole", "iam:TagRole", "iam:UntagRole",
            "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
        ], [stage_roles]),
        statement("ServiceLinkedRoles", ["iam:CreateServiceLinkedRole"], "*",
                  {"StringEquals": {"iam:AWSServiceName": SERVICE_LINKED_ROLE_SERVICES}}),
        statement("DenyBoundaryRemoval", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
        statement("DenyBoundaryEdits", [
            "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion",
        ], [permissions_boundary_arn(cfg)], effect="Deny"),
        # This stack's roles are the pipeline's own powers: an administrator changes them.
        statement("DenyPipelineRoles", ["iam:*"], [
            Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{cfg.prefix}-ci-*"),
            Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{cfg.prefix}-cfn-exec"),
            Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:role/{function_role_name(cfg.stage)}"),
        ], effect="Deny"),
    )


def boundary_policy(cfg: StageConfig) -> dict[str, Any]:
    """The most any role of the stage's stacks may do (and the function role too)."""
    logs = Sub(f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:*")
    tables = Sub(f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{cfg.prefix}-*")
    return policy_document(
        statement("StageTables", ["dynamodb:*"], [tables, Sub("${T}/*", T=tables)]),
        statement("StageSecrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                  [Sub(f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret_prefix(cfg.stage)}*")]),
        statement("StageParameters", ["ssm:GetParameter"],
                  [Sub(f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/{APP}/{cfg.stage}/*")]),
        statement("DecryptThroughServices", ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                  [Sub(f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/*")],
                  {"StringLike": {"kms:ViaService": "*.amazonaws.com"}}),
        statement("StageObjects", ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                  [Sub(f"arn:{PARTITION}:s3:::{cfg.prefix}-*"), Sub(f"arn:{PARTITION}:s3:::{cfg.prefix}-*/*")]),
        statement("Logs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                           "logs:DescribeLogStreams", "logs:PutLogEvents"], [logs, Sub("${L}:*", L=logs)]),
        statement("Traces", ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
                             "xray:PutTraceSegments"], "*"),
        statement("Metrics", ["cloudwatch:PutMetricData"], "*"),
        statement("Email", ["ses:SendEmail", "ses:SendRawEmail"], "*"),
        statement("PullImages", ["ecr:GetAuthorizationToken"], "*"),
        statement("PullStageImages", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                      "ecr:GetDownloadUrlForLayer"],
                  [Sub(f"arn:{PARTITION}:ecr:{REGION}:{ACCOUNT}:repository/{cfg.prefix}-*")]),
        statement("Notify", ["sns:Publish"], [Sub(f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{cfg.prefix}-*")]),
    )


def _parameters(template: Template, cfg: StageConfig) -> tuple[Parameter, Parameter]:
    create = template.add_parameter(Parameter(
        "CreateOidcProvider", Type="String", AllowedValues=["true", "false"],
        Default="true" if cfg.create_oidc_provider else "false",
        Description="Create GitHub's OIDC provider (false: reuse the account's existing one)",
    ))
    repository_args: dict[str, Any] = {"Default": cfg.github_repository} if cfg.github_repository else {}
    repository = template.add_parameter(Parameter(
        "GitHubRepository", Type="String", AllowedPattern=r"[\w.-]+/[\w.-]+", MinLength=3,
        Description="owner/name of the repository whose workflows may assume the roles (required: no default)",
        **repository_args,
    ))
    return create, repository


def _exec_role(template: Template, cfg: StageConfig) -> iam.Role:
    return template.add_resource(checkov_skip(
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
        ("CKV_AWS_109", "same CloudFormation service role: roles only with the stage's permissions boundary"),
        ("CKV_AWS_110", "same CloudFormation service role: every role it writes carries the boundary it cannot edit"),
        ("CKV_AWS_111", "same CloudFormation service role: resource ids are unknown before creation"),
    ))


def _function_role(template: Template, cfg: StageConfig, boundary: iam.ManagedPolicy) -> iam.Role:
    return template.add_resource(iam.Role(
        "FunctionRole",
        RoleName=function_role_name(cfg.stage),
        AssumeRolePolicyDocument=policy_document({
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
        }),
        PermissionsBoundary=Ref(boundary),
        Policies=[iam.Policy(PolicyName="app", PolicyDocument=function_policy(cfg))],
        Tags=tags(cfg),
    ))


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "ci", "GitHub OIDC provider, deploy roles, permissions boundary, function role")
    create, repository = _parameters(template, cfg)
    template.add_condition("CreateProvider", Equals(Ref(create), "true"))

    provider = template.add_resource(iam.OIDCProvider(
        "GitHubOidcProvider", Condition="CreateProvider", Url=f"https://{GITHUB_OIDC_HOST}",
        ClientIdList=["sts.amazonaws.com"], ThumbprintList=GITHUB_THUMBPRINTS, Tags=tags(cfg),
    ))
    provider_arn = If("CreateProvider", Ref(provider),
                      Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"))
    boundary = template.add_resource(checkov_skip(
        iam.ManagedPolicy(
            "RoleBoundary", ManagedPolicyName=permissions_boundary_name(cfg.stage),
            Description=f"Permissions boundary of every role the {cfg.stage} stacks create",
            PolicyDocument=boundary_policy(cfg),
        ),
        ("CKV_AWS_111", "a permissions boundary grants nothing by itself: it caps every role of the stage; its "
                        "write actions with resource '*' are metrics, traces and email, which have no resource "
                        "ARNs to name"),
    ))
    function_role = _function_role(template, cfg, boundary)
    code_role = template.add_resource(iam.Role(
        "CodeDeployRole",
        RoleName=f"{cfg.prefix}-ci-code",
        AssumeRolePolicyDocument=_github_trust(provider_arn, Ref(repository), code_deploy_subject(cfg)),
        Policies=[iam.Policy(PolicyName="code-only-redeploy", PolicyDocument=code_deploy_policy(cfg))],
        MaxSessionDuration=3600,
        Tags=tags(cfg),
    ))
    exec_role = _exec_role(template, cfg)
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
    export(template, cfg, "FunctionRoleArn", "function-role-arn", GetAtt(function_role, "Arn"),
           "Role of the stage's Lambda functions (iam_role_arn in .chalice/config.json)")
    export(template, cfg, "PermissionsBoundaryArn", "permissions-boundary-arn", Ref(boundary),
           "Permissions boundary every role of the stage's stacks carries")
    return template
