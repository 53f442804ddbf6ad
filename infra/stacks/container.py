"""Container stack: ``site/server`` on ECS Fargate behind an Application Load Balancer.

ECR repository (scan on push, immutable tags, lifecycle), ECS cluster, a Fargate
service in the private subnets with a deployment circuit breaker that rolls back, CPU
target-tracking auto scaling, an internet-facing ALB in the public subnets that only
CloudFront can use (its origin-facing prefix list, plus a secret header), and a task
role that can only read the catalog. With a domain (``DomainName`` + ``HostedZoneId``)
the ALB listens on HTTPS as ``origin.<domain>`` (regional ACM certificate, Route53
alias); without one it listens on HTTP, as no certificate could name it.

First deploy: the service needs an image. Deploy with ``Bootstrap=true`` (the service
starts with no tasks), push the image tagged ``ImageTag``, then deploy again with
``Bootstrap=false`` so auto scaling takes over the task count.
"""

from __future__ import annotations

import json

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

from catalog_lambda import settings as names
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


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "container", "ECR, ECS Fargate service for site/server, ALB")
    image_tag = template.add_parameter(Parameter(
        "ImageTag", Type="String", Default="initial", AllowedPattern=r"[A-Za-z0-9_.-]{1,128}",
        Description="Tag of the site/server image in the stage's ECR repository",
    ))
    bootstrap = template.add_parameter(Parameter(
        "Bootstrap", Type="String", AllowedValues=["true", "false"], Default="false",
        Description="true: create the service with no tasks (before the first image is pushed)",
    ))
    template.add_condition("Bootstrapping", Equals(Ref(bootstrap), "true"))
    health_path = template.add_parameter(Parameter(
        "HealthCheckPath", Type="String", Default="/healthz", Description="ALB target health check path",
    ))
    public_url = template.add_parameter(Parameter(
        "PublicBaseUrl", Type="String", Default=f"https://{cfg.domain_name}" if cfg.domain_name else "",
        Description="The storefront's public origin for sitemap and canonical links (python -m infra deploy "
                    "uses the domain, else the edge stack's CloudFront domain once it exists; empty: the "
                    "request's own)",
    ))
    domain = template.add_parameter(Parameter(
        "DomainName", Type="String", Default=cfg.domain_name,
        Description="The storefront's domain; with it, CloudFront reaches the ALB over HTTPS at origin.<domain>",
    ))
    zone = template.add_parameter(Parameter(
        "HostedZoneId", Type="String", Default=cfg.hosted_zone_id, Description="Route53 hosted zone of DomainName",
    ))
    template.add_condition("HttpsOrigin", And(Not(Equals(Ref(domain), "")), Not(Equals(Ref(zone), ""))))
    prefix_list = template.add_parameter(Parameter(
        "CloudFrontPrefixListId", Type="String", AllowedPattern=r"pl-[0-9a-f]+",
        Description="Managed prefix list com.amazonaws.global.cloudfront.origin-facing in this region "
                    "(python -m infra deploy looks it up)",
    ))

    repo = template.add_resource(ecr.Repository(
        "Repository",
        RepositoryName=repository_name(cfg),
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        ImageTagMutability="IMMUTABLE",
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=_lifecycle_policy()),
        Tags=tags(cfg),
    ))
    cluster = template.add_resource(checkov_skip(ecs.Cluster(
        "Cluster",
        ClusterName=cluster_name(cfg),
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="disabled")],
        Tags=tags(cfg),
    ), ("CKV_AWS_65", "Container Insights bills ~34 custom metrics (~$10 a month, python -m infra cost), a seventh of "
                      "prod's idle budget; the free AWS/ECS service CPU and memory metrics drive auto scaling, and "
                      "the ALB's metrics drive the alarms (docs/operations.md, Idle cost)")))
    log_group = template.add_resource(logs.LogGroup(
        "ServiceLogGroup", LogGroupName=f"/ecs/{cfg.prefix}/site-server",
        RetentionInDays=cfg.log_retention_days, Tags=tags(cfg),
    ))

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

    container = ecs.ContainerDefinition(
        Name="site-server",
        Image=Join(":", [GetAtt(repo, "RepositoryUri"), Ref(image_tag)]),
        Essential=True,
        PortMappings=[ecs.PortMapping(ContainerPort=CONTAINER_PORT, Protocol="tcp")],
        ReadonlyRootFilesystem=True,
        Privileged=False,
        # The image runs as its own unprivileged user (site/server/Dockerfile).
        Environment=[
            ecs.Environment(Name=name, Value=value) for name, value in sorted({
                names.ENV_STAGE: cfg.stage,
                names.ENV_REGION: Ref("AWS::Region"),
                names.ENV_PRODUCTS_TABLE: table_name(cfg.stage, "products"),
                names.ENV_ORDERS_TABLE: table_name(cfg.stage, "orders"),
                names.ENV_IDEMPOTENCY_TABLE: table_name(cfg.stage, "idempotency"),
                names.ENV_CURSOR_SECRET_NAME: cursor_secret_name(cfg.stage),
                ENV_PUBLIC_BASE_URL: Ref(public_url),
            }.items())
        ],
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group),
            "awslogs-region": Ref("AWS::Region"),
            "awslogs-stream-prefix": "site-server",
        }),
        # Scratch space for the read-only root filesystem.
        MountPoints=[ecs.MountPoint(SourceVolume="tmp", ContainerPath="/tmp", ReadOnly=False)],
    )
    task = template.add_resource(ecs.TaskDefinition(
        "TaskDefinition",
        Family=f"{cfg.prefix}-site-server",
        Cpu=str(cfg.container_cpu),
        Memory=str(cfg.container_memory),
        NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture="X86_64", OperatingSystemFamily="LINUX"),
        ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=GetAtt(task_role, "Arn"),
        ContainerDefinitions=[container],
        Volumes=[ecs.Volume(Name="tmp")],
        Tags=tags(cfg),
    ))

    vpc = import_value(cfg, "vpc-id")
    # Egress rules are inline: a group without inline egress keeps AWS's allow-all default.
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
            IpProtocol="tcp", FromPort=If("HttpsOrigin", 443, 80), ToPort=If("HttpsOrigin", 443, 80),
            SourcePrefixListId=Ref(prefix_list), Description="From CloudFront's origin-facing addresses",
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

    public_subnets = Split(",", import_value(cfg, "public-subnet-ids"))
    task_subnets = Split(",", import_value(cfg, "task-subnet-ids"))
    alb = template.add_resource(elb.LoadBalancer(
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
    target_group = template.add_resource(elb.TargetGroup(
        "TargetGroup",
        Name=f"{cfg.prefix}-site-server",
        Port=CONTAINER_PORT,
        Protocol="HTTP",
        TargetType="ip",
        VpcId=vpc,
        HealthCheckPath=Ref(health_path),
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30")],
        Tags=tags(cfg),
    ))
    origin_name = Sub("origin.${DomainName}")
    certificate = template.add_resource(certificatemanager.Certificate(
        "OriginCertificate", Condition="HttpsOrigin", DomainName=origin_name, ValidationMethod="DNS",
        DomainValidationOptions=[certificatemanager.DomainValidationOption(
            DomainName=origin_name, HostedZoneId=Ref(zone))],
        Tags=tags(cfg),
    ))
    template.add_resource(route53.RecordSetType(
        "OriginRecord", Condition="HttpsOrigin", HostedZoneId=Ref(zone), Name=origin_name, Type="A",
        AliasTarget=route53.AliasTarget(DNSName=GetAtt(alb, "DNSName"),
                                        HostedZoneId=GetAtt(alb, "CanonicalHostedZoneID")),
    ))
    listener = template.add_resource(checkov_skip(
        elb.Listener(
            "OriginListener",
            LoadBalancerArn=Ref(alb),
            Port=If("HttpsOrigin", 443, 80),
            Protocol=If("HttpsOrigin", "HTTPS", "HTTP"),
            Certificates=If("HttpsOrigin", [elb.Certificate(CertificateArn=Ref(certificate))],
                            Ref("AWS::NoValue")),
            SslPolicy=If("HttpsOrigin", "ELBSecurityPolicy-TLS13-1-2-2021-06", Ref("AWS::NoValue")),
            DefaultActions=[elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
                StatusCode="403", ContentType="text/plain", MessageBody="forbidden"))],
        ),
        ("CKV_AWS_2", "HTTPS (TLS 1.2+, origin.<domain> certificate) whenever the stage has a domain; plain "
                      "HTTP only without one, when no certificate can name the ALB. Either way only CloudFront "
                      "reaches it (origin-facing prefix list + secret header) and viewers get HTTPS"),
        ("CKV_AWS_103", "same listener: TLS 1.2+ policy with a domain; no TLS to configure without one"),
    ))
    rule = template.add_resource(elb.ListenerRule(
        "ForwardFromCloudFront",
        ListenerArn=Ref(listener),
        Priority=10,
        Conditions=[elb.Condition(Field="http-header", HttpHeaderConfig=elb.HttpHeaderConfig(
            HttpHeaderName=ORIGIN_HEADER, Values=[origin_secret_reference(cfg)]))],
        Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(target_group))],
    ))

    service = template.add_resource(ecs.Service(
        "Service",
        ServiceName=service_name(cfg),
        Cluster=Ref(cluster),
        TaskDefinition=Ref(task),
        LaunchType="FARGATE",
        # Auto scaling owns the task count; only a bootstrap deploy pins it to zero.
        DesiredCount=If("Bootstrapping", 0, Ref("AWS::NoValue")),
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
            ContainerName="site-server", ContainerPort=CONTAINER_PORT, TargetGroupArn=Ref(target_group),
        )],
        Tags=tags(cfg),
        DependsOn=[rule.title],
    ))
    if task_public_ip(cfg) == "ENABLED":
        checkov_skip(service, PUBLIC_TASKS_SKIP)

    scalable = template.add_resource(aas.ScalableTarget(
        "ServiceScalableTarget",
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster), GetAtt(service, "Name")]),
        MinCapacity=cfg.container_min_tasks,
        MaxCapacity=cfg.container_max_tasks,
    ))
    template.add_resource(aas.ScalingPolicy(
        "ServiceCpuScaling",
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

    export(template, cfg, "LoadBalancerDnsName", "alb-dns-name", GetAtt(alb, "DNSName"), "ALB DNS name")
    export(template, cfg, "OriginDomainName", "alb-origin-domain",
           If("HttpsOrigin", origin_name, GetAtt(alb, "DNSName")),
           "Where CloudFront reaches the ALB: origin.<domain> (HTTPS) or the ALB's DNS name (HTTP)")
    export(template, cfg, "LoadBalancerFullName", "alb-full-name", GetAtt(alb, "LoadBalancerFullName"),
           "ALB name for CloudWatch metrics")
    export(template, cfg, "RepositoryUri", "ecr-repository-uri", GetAtt(repo, "RepositoryUri"), "ECR repository")
    export(template, cfg, "RepositoryArn", "ecr-repository-arn", GetAtt(repo, "Arn"), "ECR repository ARN")
    output(template, "ClusterName", Ref(cluster), "ECS cluster")
    output(template, "ServiceName", GetAtt(service, "Name"), "ECS service")
    return template

