"""Container stack: ``site/server`` on ECS Fargate behind an Application Load Balancer.

ECR repository (scan on push, immutable tags, lifecycle), ECS cluster, a Fargate
service in the private subnets with a deployment circuit breaker that rolls back, CPU
target-tracking auto scaling, an internet-facing ALB in the public subnets that only
CloudFront can use (its origin-facing prefix list, plus a secret header), and a task
role that can only read the catalog. With a domain (``DomainName`` + ``HostedZoneId``)
the ALB listens on HTTPS as ``origin.<domain>`` (regional ACM certificate, Route53
alias); without one it listens on HTTP, as no certificate could name it.

Bootstrap: the service needs an image. ``python -m infra deploy`` computes ``Bootstrap``
on every deploy (``true`` only while this stack does not exist or ``ImageTag`` is not in
the repository yet): then the service has no tasks and no auto scaling, so a first
deploy stabilises instead of waiting for an image that does not exist (and rolling back
into an ALB it cannot delete). Once the image is pushed, the next deploy serves it, with
``PublicBaseUrl`` required (a template rule), so canonical and sitemap URLs never name
the ALB.

Idle cost (docs/operations.md, "Idle cost"): tasks run on Graviton (ARM64, about 20%
cheaper than x86 for the same size) at the stage's size; prod keeps two tasks, one per
AZ. The image is built for ``IMAGE_PLATFORM``.

Builders: ``build`` composes small named functions, one per concern (parameters,
repository and logs, roles, task definition, network, load balancer, service, scaling,
outputs); each returns what the next needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import (
    And,
    Equals,
    GetAtt,
    If,
    Join,
    Not,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Template,
    certificatemanager,
    ec2,
    ecr,
    ecs,
    iam,
    logs,
    route53,
)
from troposphere import applicationautoscaling as aas
from troposphere import elasticloadbalancingv2 as elb

from catalog_lambda import settings as app_settings
from infra.config import CONTAINER_PORT, StageConfig, cursor_secret_name, origin_secret_name, table_name
from infra.stacks.common import (
    ACCOUNT,
    PARTITION,
    REGION,
    assume_role_policy,
    checkov_skip,
    export,
    import_value,
    new_template,
    output,
    policy_document,
    statement,
    tags,
)
from infra.stacks.network import PUBLIC_TASKS_SKIP, task_public_ip

ORIGIN_HEADER = "X-Origin-Verify"
# The container app's own setting (site/server/storefront_server/settings.py spells it
# too; tests/infra checks the two agree): the storefront's public origin.
ENV_PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
CONTAINER_NAME = "site-server"
# Graviton: the task's CPU and the platform the image is built for (infra.delivery.server).
CPU_ARCHITECTURE = "ARM64"
IMAGE_PLATFORM = "linux/arm64"
BOOTSTRAPPING = "Bootstrapping"
SERVING = "Serving"
HTTPS_ORIGIN = "HttpsOrigin"


def repository_name(cfg: StageConfig) -> str:
    return f"{cfg.prefix}-site-server"


def cluster_name(cfg: StageConfig) -> str:
    return f"{cfg.prefix}-cluster"


def service_name(cfg: StageConfig) -> str:
    return f"{cfg.prefix}-site-server"


def origin_secret_reference(cfg: StageConfig) -> str:
    return f"{{{{resolve:secretsmanager:{origin_secret_name(cfg.stage)}:SecretString}}}}"


def _lifecycle_policy() -> str:
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "drop untagged images after 7 days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": 7},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "keep the 30 newest images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
         "action": {"type": "expire"}},
    ]}, sort_keys=True)


def container_environment(cfg: StageConfig, region: object, public_base_url: object) -> dict[str, object]:
    """Every setting of the container, by the names its settings modules read (the local
    stack gives the same ones: ``infra.local.stack.server_environment``)."""
    return {
        app_settings.ENV_STAGE: cfg.stage,
        app_settings.ENV_REGION: region,
        app_settings.ENV_PRODUCTS_TABLE: table_name(cfg.stage, "products"),
        app_settings.ENV_ORDERS_TABLE: table_name(cfg.stage, "orders"),
        app_settings.ENV_IDEMPOTENCY_TABLE: table_name(cfg.stage, "idempotency"),
        app_settings.ENV_CURSOR_SECRET_NAME: cursor_secret_name(cfg.stage),
        ENV_PUBLIC_BASE_URL: public_base_url,
    }


@dataclass(frozen=True)
class Params:
    image_tag: Parameter
    health_path: Parameter
    public_url: Parameter
    zone: Parameter
    prefix_list: Parameter


def _parameters(template: Template, cfg: StageConfig) -> Params:
    image_tag = template.add_parameter(Parameter(
        "ImageTag", Type="String", Default="initial", AllowedPattern=r"[A-Za-z0-9_.-]{1,128}",
        Description="Tag of the site/server image in the stage's ECR repository",
    ))
    bootstrap = template.add_parameter(Parameter(
        # Default: the steady state, as the stage is priced (python -m infra cost) and run.
        "Bootstrap", Type="String", AllowedValues=["true", "false"], Default="false",
        Description="true: no tasks and no auto scaling (no image yet). python -m infra deploy computes it on every "
                    "deploy: true only while this stack does not exist or ImageTag is not in the repository",
    ))
    template.add_condition(BOOTSTRAPPING, Equals(Ref(bootstrap), "true"))
    template.add_condition(SERVING, Not(Equals(Ref(bootstrap), "true")))
    health_path = template.add_parameter(Parameter(
        "HealthCheckPath", Type="String", Default="/healthz", Description="ALB target health check path",
    ))
    public_url = template.add_parameter(Parameter(
        "PublicBaseUrl", Type="String", Default=f"https://{cfg.domain_name}" if cfg.domain_name else "",
        AllowedPattern=r"(https://[A-Za-z0-9.-]+)?",
        Description="The storefront's public origin for canonical and sitemap URLs: https:// + the domain, else the "
                    "edge stack's CloudFront domain (python -m infra deploy looks it up). Required once serving",
    ))
    template.add_rule("PublicBaseUrlWhenServing", {
        "RuleCondition": {"Fn::Equals": [Ref(bootstrap), "false"]},
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Equals": [Ref(public_url), ""]}]},
            "AssertDescription": "PublicBaseUrl is required once the service runs tasks (Bootstrap=false): deploy "
                                 "the edge stack first, or give the stage a domain",
        }],
    })
    domain = template.add_parameter(Parameter(
        "DomainName", Type="String", Default=cfg.domain_name,
        Description="The storefront's domain; with it, CloudFront reaches the ALB over HTTPS at origin.<domain>",
    ))
    zone = template.add_parameter(Parameter(
        "HostedZoneId", Type="String", Default=cfg.hosted_zone_id, Description="Route53 hosted zone of DomainName",
    ))
    template.add_condition(HTTPS_ORIGIN, And(Not(Equals(Ref(domain), "")), Not(Equals(Ref(zone), ""))))
    prefix_list = template.add_parameter(Parameter(
        "CloudFrontPrefixListId", Type="String", AllowedPattern=r"pl-[0-9a-f]+",
        Description="Managed prefix list com.amazonaws.global.cloudfront.origin-facing in this region "
                    "(python -m infra deploy looks it up)",
    ))
    return Params(image_tag, health_path, public_url, zone, prefix_list)


def _repository_and_logs(template: Template, cfg: StageConfig) -> tuple[ecr.Repository, logs.LogGroup]:
    repo = template.add_resource(ecr.Repository(
        "Repository",
        RepositoryName=repository_name(cfg),
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        ImageTagMutability="IMMUTABLE",
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=_lifecycle_policy()),
        Tags=tags(cfg),
    ))
    log_group = template.add_resource(logs.LogGroup(
        "ServiceLogGroup", LogGroupName=f"/ecs/{cfg.prefix}/site-server",
        RetentionInDays=cfg.log_retention_days, Tags=tags(cfg),
    ))
    return repo, log_group


def _roles(template: Template, cfg: StageConfig, repo: ecr.Repository, log_group: logs.LogGroup
           ) -> tuple[iam.Role, iam.Role]:
    """The execution role (pull the image, write logs) and the task role (read the catalog)."""
    products_arn = Sub(f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table_name(cfg.stage, 'products')}")
    secret_arn = Sub(
        f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{cursor_secret_name(cfg.stage)}-*"
    )
    execution_role = template.add_resource(iam.Role(
        "TaskExecutionRole",
        RoleName=f"{cfg.prefix}-site-server-execution",
        AssumeRolePolicyDocument=assume_role_policy("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="pull-and-log", PolicyDocument=policy_document(
            # GetAuthorizationToken has no resource-level permissions.
            statement("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
            statement("PullImage", ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                    "ecr:GetDownloadUrlForLayer"], [GetAtt(repo, "Arn")]),
            statement("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [GetAtt(log_group, "Arn")]),
        ))],
        Tags=tags(cfg),
    ))
    task_role = template.add_resource(iam.Role(
        "TaskRole",
        RoleName=f"{cfg.prefix}-site-server-task",
        AssumeRolePolicyDocument=assume_role_policy("ecs-tasks.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="read-catalog", PolicyDocument=policy_document(
            statement("ReadCatalog", ["dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
                                      "dynamodb:Query"],
                      [products_arn, Join("", [products_arn, "/index/*"])]),
            statement("ReadCursorKey", ["secretsmanager:GetSecretValue"], [secret_arn]),
            statement("DecryptCursorKey", ["kms:Decrypt"], [import_value(cfg, "secrets-key-arn")],
                      {"StringEquals": {"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")}}),
        ))],
        Tags=tags(cfg),
    ))
    return execution_role, task_role


def _task_definition(template: Template, cfg: StageConfig, params: Params, repo: ecr.Repository,
                     log_group: logs.LogGroup, roles: tuple[iam.Role, iam.Role]) -> ecs.TaskDefinition:
    execution_role, task_role = roles
    container = ecs.ContainerDefinition(
        Name=CONTAINER_NAME,
        Image=Join(":", [GetAtt(repo, "RepositoryUri"), Ref(params.image_tag)]),
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=CONTAINER_PORT, Protocol="tcp")],
        # Read-only root: the image runs as uid 10001 and writes only to /dev/shm (gunicorn's
        # --worker-tmp-dir and TMPDIR), so no /tmp volume (Fargate's would be root-owned).
        ReadonlyRootFilesystem=True,
        Privileged=False,
        Environment=[
            ecs.Environment(Name=name, Value=value) for name, value in sorted(container_environment(
                cfg, Ref("AWS::Region"), Ref(params.public_url)).items())
        ],
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group),
            "awslogs-region": Ref("AWS::Region"),
            "awslogs-stream-prefix": "site-server",
        }),
    )
    return template.add_resource(ecs.TaskDefinition(
        "TaskDefinition",
        Family=f"{cfg.prefix}-site-server",
        Cpu=str(cfg.container_cpu),
        Memory=str(cfg.container_memory),
        NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture=CPU_ARCHITECTURE, OperatingSystemFamily="LINUX"),
        ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=GetAtt(task_role, "Arn"),
        ContainerDefinitions=[container],
        Tags=tags(cfg),
    ))


def _security_groups(template: Template, cfg: StageConfig, params: Params
                     ) -> tuple[ec2.SecurityGroup, ec2.SecurityGroup]:
    """(service, ALB) groups; egress rules are inline, as a group without them allows all."""
    vpc = import_value(cfg, "vpc-id")
    service_sg = template.add_resource(ec2.SecurityGroup(
        "ServiceSecurityGroup", VpcId=vpc, GroupDescription="site/server tasks: traffic from the ALB only",
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0",
            Description="HTTPS to AWS APIs (ECR, DynamoDB, Secrets Manager, Logs)",
        )],
        Tags=tags(cfg),
    ))
    alb_sg = template.add_resource(ec2.SecurityGroup(
        "LoadBalancerSecurityGroup", VpcId=vpc, GroupDescription="ALB: CloudFront only",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=If(HTTPS_ORIGIN, 443, 80), ToPort=If(HTTPS_ORIGIN, 443, 80),
            SourcePrefixListId=Ref(params.prefix_list), Description="From CloudFront's origin-facing addresses",
        )],
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=CONTAINER_PORT, ToPort=CONTAINER_PORT,
            DestinationSecurityGroupId=Ref(service_sg), Description="To the tasks",
        )],
        Tags=tags(cfg),
    ))
    template.add_resource(ec2.SecurityGroupIngress(
        "ServiceIngressFromLoadBalancer", GroupId=Ref(service_sg), IpProtocol="tcp", FromPort=CONTAINER_PORT,
        ToPort=CONTAINER_PORT, SourceSecurityGroupId=Ref(alb_sg), Description="From the ALB",
    ))
    return service_sg, alb_sg


def _load_balancer(template: Template, cfg: StageConfig, alb_sg: ec2.SecurityGroup) -> elb.LoadBalancer:
    public_subnets = Split(",", import_value(cfg, "public-subnet-ids"))
    return template.add_resource(elb.LoadBalancer(
        "LoadBalancer",
        Name=f"{cfg.prefix}-alb",
        Scheme="internet-facing",
        Type="application",
        Subnets=[Select(0, public_subnets), Select(1, public_subnets)],
        SecurityGroups=[Ref(alb_sg)],
        LoadBalancerAttributes=[
            elb.LoadBalancerAttributes(Key=key, Value=value) for key, value in (
                ("access_logs.s3.enabled", "true"),
                ("access_logs.s3.bucket", import_value(cfg, "access-logs-bucket")),
                ("access_logs.s3.prefix", "alb"),
                ("deletion_protection.enabled", "true"),
                ("routing.http.drop_invalid_header_fields.enabled", "true"),
            )
        ],
        Tags=tags(cfg),
    ))


def _target_group(template: Template, cfg: StageConfig, params: Params) -> elb.TargetGroup:
    return template.add_resource(elb.TargetGroup(
        "TargetGroup",
        Name=f"{cfg.prefix}-site-server",
        Port=CONTAINER_PORT,
        Protocol="HTTP",
        TargetType="ip",
        VpcId=import_value(cfg, "vpc-id"),
        HealthCheckPath=Ref(params.health_path),
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
        Tags=tags(cfg),
    ))


def _origin_name() -> Sub:
    return Sub("origin.${DomainName}")


def _origin_listener(template: Template, cfg: StageConfig, params: Params, alb: elb.LoadBalancer,
                     target_group: elb.TargetGroup) -> elb.ListenerRule:
    """HTTPS as origin.<domain> with a domain, else HTTP; forwards only CloudFront's requests."""
    certificate = template.add_resource(certificatemanager.Certificate(
        "OriginCertificate", Condition=HTTPS_ORIGIN, DomainName=_origin_name(), ValidationMethod="DNS",
        DomainValidationOptions=[certificatemanager.DomainValidationOption(
            DomainName=_origin_name(), HostedZoneId=Ref(params.zone))],
        Tags=tags(cfg),
    ))
    template.add_resource(route53.RecordSetType(
        "OriginRecord", Condition=HTTPS_ORIGIN, HostedZoneId=Ref(params.zone), Name=_origin_name(), Type="A",
        AliasTarget=route53.AliasTarget(DNSName=GetAtt(alb, "DNSName"),
                                        HostedZoneId=GetAtt(alb, "CanonicalHostedZoneID")),
    ))
    listener = template.add_resource(checkov_skip(
        elb.Listener(
            "OriginListener",
            LoadBalancerArn=Ref(alb),
            Port=If(HTTPS_ORIGIN, 443, 80),
            Protocol=If(HTTPS_ORIGIN, "HTTPS", "HTTP"),
            Certificates=If(HTTPS_ORIGIN, [elb.Certificate(CertificateArn=Ref(certificate))],
                            Ref("AWS::NoValue")),
            SslPolicy=If(HTTPS_ORIGIN, "ELBSecurityPolicy-TLS13-1-2-2021-06", Ref("AWS::NoValue")),
            DefaultActions=[elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
                StatusCode="403", ContentType="text/plain", MessageBody="forbidden"))],
        ),
        ("CKV_AWS_2", "HTTPS (TLS 1.2+, origin.<domain> certificate) whenever the stage has a domain; plain "
                      "HTTP only without one, when no certificate can name the ALB. Either way only CloudFront "
                      "reaches it (origin-facing prefix list + secret header) and viewers get HTTPS"),
        ("CKV_AWS_103", "same listener: TLS 1.2+ policy with a domain; no TLS to configure without one"),
    ))
    return template.add_resource(elb.ListenerRule(
        "ForwardFromCloudFront",
        ListenerArn=Ref(listener),
        Priority=10,
        Conditions=[elb.Condition(Field="http-header", HttpHeaderConfig=elb.HttpHeaderConfig(
            HttpHeaderName=ORIGIN_HEADER, Values=[origin_secret_reference(cfg)]))],
        Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target_group))],
    ))


def _service(template: Template, cfg: StageConfig, cluster: ecs.Cluster, task: ecs.TaskDefinition,
             service_sg: ec2.SecurityGroup, target_group: elb.TargetGroup, rule: elb.ListenerRule) -> ecs.Service:
    task_subnets = Split(",", import_value(cfg, "task-subnet-ids"))
    service = template.add_resource(ecs.Service(
        "Service",
        ServiceName=service_name(cfg),
        Cluster=Ref(cluster),
        TaskDefinition=Ref(task),
        LaunchType="FARGATE",
        # Auto scaling owns the task count once serving; bootstrapping pins it to zero (and
        # has no scalable target whose minimum would raise it again).
        DesiredCount=If(BOOTSTRAPPING, 0, Ref("AWS::NoValue")),
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        HealthCheckGracePeriodSeconds=30,
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MinimumHealthyPercent=100, MaximumPercent=200,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        ),
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            # network.py: without NAT or endpoints, tasks reach AWS APIs by a public address.
            AssignPublicIp=task_public_ip(cfg),
            Subnets=[Select(0, task_subnets), Select(1, task_subnets)],
            SecurityGroups=[Ref(service_sg)],
        )),
        LoadBalancers=[ecs.LoadBalancer(
            ContainerName=CONTAINER_NAME, ContainerPort=CONTAINER_PORT, TargetGroupArn=Ref(target_group),
        )],
        Tags=tags(cfg),
        DependsOn=[rule.title],
    ))
    if task_public_ip(cfg) == "ENABLED":
        checkov_skip(service, PUBLIC_TASKS_SKIP)
    return service


def _scaling(template: Template, cfg: StageConfig, cluster: ecs.Cluster, service: ecs.Service) -> None:
    """CPU target tracking between the stage's minimum and maximum, only while serving."""
    scalable = template.add_resource(aas.ScalableTarget(
        "ServiceScalableTarget",
        Condition=SERVING,
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster), GetAtt(service, "Name")]),
        MinCapacity=cfg.container_min_tasks,
        MaxCapacity=cfg.container_max_tasks,
    ))
    template.add_resource(aas.ScalingPolicy(
        "ServiceCpuScaling",
        Condition=SERVING,
        PolicyName=f"{cfg.prefix}-site-server-cpu",
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(scalable),
        TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            TargetValue=60.0,
            ScaleInCooldown=120,
            ScaleOutCooldown=60,
            PredefinedMetricSpecification=aas.PredefinedMetricSpecification(
                PredefinedMetricType="ECSServiceAverageCPUUtilization"),
        ),
    ))


def _outputs(template: Template, cfg: StageConfig, repo: ecr.Repository, cluster: ecs.Cluster,
             alb: elb.LoadBalancer, service: ecs.Service) -> None:
    # Not exported: edge and observability take these as parameters (python -m infra deploy
    # reads them here), so adding a domain or replacing the ALB never blocks on an import.
    output(template, "LoadBalancerDnsName", GetAtt(alb, "DNSName"), "ALB DNS name")
    output(template, "OriginDomainName", If(HTTPS_ORIGIN, _origin_name(), GetAtt(alb, "DNSName")),
           "Where CloudFront reaches the ALB: origin.<domain> (HTTPS) or the ALB's DNS name (HTTP)")
    output(template, "LoadBalancerFullName", GetAtt(alb, "LoadBalancerFullName"), "ALB name for CloudWatch metrics")
    export(template, cfg, "RepositoryUri", "ecr-repository-uri", GetAtt(repo, "RepositoryUri"), "ECR repository")
    export(template, cfg, "RepositoryArn", "ecr-repository-arn", GetAtt(repo, "Arn"), "ECR repository ARN")
    output(template, "ClusterName", Ref(cluster), "ECS cluster")
    output(template, "ServiceName", GetAtt(service, "Name"), "ECS service")


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "container", "ECR, ECS Fargate service for site/server, ALB")
    params = _parameters(template, cfg)
    repo, log_group = _repository_and_logs(template, cfg)
    cluster = template.add_resource(checkov_skip(ecs.Cluster(
        "Cluster",
        ClusterName=cluster_name(cfg),
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="disabled")],
        Tags=tags(cfg),
    ), ("CKV_AWS_65", "Container Insights bills ~34 custom metrics (~$10 a month, python -m infra cost), a seventh of "
                      "prod's idle budget; the free AWS/ECS service CPU and memory metrics drive auto scaling, and "
                      "the ALB's metrics drive the alarms (docs/operations.md, Idle cost)")))
    roles = _roles(template, cfg, repo, log_group)
    task = _task_definition(template, cfg, params, repo, log_group, roles)
    service_sg, alb_sg = _security_groups(template, cfg, params)
    alb = _load_balancer(template, cfg, alb_sg)
    target_group = _target_group(template, cfg, params)
    rule = _origin_listener(template, cfg, params, alb, target_group)
    service = _service(template, cfg, cluster, task, service_sg, target_group, rule)
    _scaling(template, cfg, cluster, service)
    _outputs(template, cfg, repo, cluster, alb, service)
    return template
