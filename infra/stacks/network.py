"""Network stack: a VPC over two availability zones for the container service.

Only stages with the container path (``StageConfig.container_path``) have it. Public
subnets hold the ALB. Where the Fargate tasks run, and how they reach ECR, CloudWatch
Logs and Secrets Manager, is the stage's ``task_egress`` (docs/operations.md, "Idle cost"):

- ``public-ip`` (default, $0 idle): tasks in the public subnets with a public address and
  the internet gateway as their way out. No NAT gateway, no interface endpoints. Inbound
  traffic is still only the ALB's: the tasks' security group admits nothing else.
- ``endpoints``: tasks in private subnets; interface endpoints in one AZ (a zonal outage
  of that AZ stops new tasks from pulling images, running tasks keep serving).
- ``nat``: tasks in private subnets behind one NAT gateway (in zone a).

Gateway endpoints (free) keep S3 and DynamoDB traffic inside AWS in every mode.
"""

from __future__ import annotations

import ipaddress

from troposphere import GetAtt, GetAZs, Join, Ref, Select, Sub, Template, ec2, iam, logs

from infra.config import StageConfig
from infra.stacks.common import export, new_template, policy_document, statement, tags

AZ_COUNT = 2
ZONES = "ab"
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
GATEWAY_ENDPOINTS = ("s3", "dynamodb")


def subnet_cidrs(vpc_cidr: str) -> list[str]:
    """Four /20s (or the VPC's size + 4 bits): public a, public b, private a, private b."""
    network = ipaddress.ip_network(vpc_cidr)
    return [str(n) for n in list(network.subnets(prefixlen_diff=4))[: 2 * AZ_COUNT]]


# The checkov skip the Fargate service carries in "public-ip" mode (CKV_AWS_333: ECS
# services should not assign public IPs automatically).
PUBLIC_TASKS_SKIP = (
    "CKV_AWS_333",
    "task_egress public-ip (infra/config.py): a public address is how the tasks reach ECR, Logs and Secrets "
    "Manager without a NAT gateway or interface endpoints ($33-58 a month idle). Inbound, the tasks' security "
    "group admits only the ALB's group, so the address serves no one else",
)


def tasks_in_public_subnets(cfg: StageConfig) -> bool:
    return cfg.task_egress == "public-ip"


def task_public_ip(cfg: StageConfig) -> str:
    """The Fargate service's ``AssignPublicIp``: tasks without NAT or endpoints need an address."""
    return "ENABLED" if tasks_in_public_subnets(cfg) else "DISABLED"


def _vpc(template: Template, cfg: StageConfig) -> tuple[ec2.VPC, ec2.RouteTable]:
    """The VPC, its internet gateway and the public route table."""
    vpc = template.add_resource(ec2.VPC(
        "Vpc", CidrBlock=cfg.vpc_cidr, EnableDnsHostnames=True, EnableDnsSupport=True,
        Tags=tags(cfg, Name=f"{cfg.prefix}-vpc"),
    ))
    igw = template.add_resource(ec2.InternetGateway("InternetGateway", Tags=tags(cfg)))
    attach = template.add_resource(ec2.VPCGatewayAttachment(
        "InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw),
    ))
    public_rt = template.add_resource(ec2.RouteTable(
        "PublicRouteTable", VpcId=Ref(vpc), Tags=tags(cfg, Name=f"{cfg.prefix}-public"),
    ))
    template.add_resource(ec2.Route(
        "PublicDefaultRoute", RouteTableId=Ref(public_rt), DestinationCidrBlock="0.0.0.0/0",
        GatewayId=Ref(igw), DependsOn=attach.title,
    ))
    return vpc, public_rt


def _subnet(template: Template, cfg: StageConfig, vpc: ec2.VPC, tier: str, index: int,
            route_table: ec2.RouteTable) -> ec2.Subnet:
    zone = ZONES[index]
    offset = 0 if tier == "public" else AZ_COUNT
    name = f"{tier.capitalize()}Subnet{zone.upper()}"
    subnet = template.add_resource(ec2.Subnet(
        name, VpcId=Ref(vpc), CidrBlock=subnet_cidrs(cfg.vpc_cidr)[offset + index],
        # Fargate assigns task addresses itself (AssignPublicIp); nothing else gets one.
        AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False,
        Tags=tags(cfg, Name=f"{cfg.prefix}-{tier}-{zone}", tier=tier),
    ))
    template.add_resource(ec2.SubnetRouteTableAssociation(
        f"{name}RouteTable", SubnetId=Ref(subnet), RouteTableId=Ref(route_table),
    ))
    return subnet


def _private_subnets(template: Template, cfg: StageConfig, vpc: ec2.VPC,
                     ) -> tuple[list[ec2.Subnet], list[ec2.RouteTable]]:
    subnets, route_tables = [], []
    for index, zone in enumerate(ZONES[:AZ_COUNT]):
        route_table = template.add_resource(ec2.RouteTable(
            f"PrivateRouteTable{zone.upper()}", VpcId=Ref(vpc), Tags=tags(cfg, Name=f"{cfg.prefix}-private-{zone}"),
        ))
        subnets.append(_subnet(template, cfg, vpc, "private", index, route_table))
        route_tables.append(route_table)
    return subnets, route_tables


def _nat(template: Template, cfg: StageConfig, public_subnet: ec2.Subnet, route_tables: list[ec2.RouteTable]) -> None:
    # One NAT gateway (in zone a) keeps the cost down: egress only matters for starting
    # tasks, and running tasks in zone b keep serving through a zone-a outage.
    eip = template.add_resource(ec2.EIP("NatAddress", Domain="vpc", DependsOn="InternetGatewayAttachment"))
    nat = template.add_resource(ec2.NatGateway(
        "NatGateway", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(public_subnet), Tags=tags(cfg),
    ))
    for index, route_table in enumerate(route_tables):
        template.add_resource(ec2.Route(
            f"PrivateDefaultRoute{ZONES[index].upper()}", RouteTableId=Ref(route_table),
            DestinationCidrBlock="0.0.0.0/0", NatGatewayId=Ref(nat),
        ))


def _interface_endpoints(template: Template, cfg: StageConfig, vpc: ec2.VPC, subnet: ec2.Subnet) -> None:
    """ECR, Logs and Secrets Manager endpoints in ONE zone: each endpoint is billed per AZ-hour."""
    endpoint_sg = template.add_resource(ec2.SecurityGroup(
        "EndpointSecurityGroup", VpcId=Ref(vpc),
        GroupDescription="HTTPS from inside the VPC to the interface endpoints",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=cfg.vpc_cidr, Description="HTTPS from the VPC",
        )],
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp=cfg.vpc_cidr, Description="Replies inside the VPC",
        )],
        Tags=tags(cfg),
    ))
    for service in INTERFACE_ENDPOINTS:
        logical = "".join(part.capitalize() for part in service.split(".")) + "InterfaceEndpoint"
        template.add_resource(ec2.VPCEndpoint(
            logical, VpcId=Ref(vpc), VpcEndpointType="Interface",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"), PrivateDnsEnabled=True,
            SubnetIds=[Ref(subnet)], SecurityGroupIds=[Ref(endpoint_sg)],
        ))


def _gateway_endpoints(template: Template, vpc: ec2.VPC, route_tables: list[ec2.RouteTable]) -> None:
    for service in GATEWAY_ENDPOINTS:
        template.add_resource(ec2.VPCEndpoint(
            f"{service.capitalize()}GatewayEndpoint", VpcId=Ref(vpc), VpcEndpointType="Gateway",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            RouteTableIds=[Ref(rt) for rt in route_tables],
        ))


def _flow_logs(template: Template, cfg: StageConfig, vpc: ec2.VPC) -> None:
    """VPC flow logs (rejected and accepted traffic) to CloudWatch Logs."""
    flow_group = template.add_resource(logs.LogGroup(
        "FlowLogGroup", LogGroupName=f"/vpc/{cfg.prefix}/flow-logs", RetentionInDays=cfg.log_retention_days,
        Tags=tags(cfg),
    ))
    flow_role = template.add_resource(iam.Role(
        "FlowLogRole",
        RoleName=f"{cfg.prefix}-vpc-flow-logs",
        AssumeRolePolicyDocument=policy_document({
            "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
        }),
        Policies=[iam.Policy(
            PolicyName="write-flow-logs",
            PolicyDocument=policy_document(statement(
                "WriteFlowLogs",
                ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                [GetAtt(flow_group, "Arn")],
            )),
        )],
        Tags=tags(cfg),
    ))
    template.add_resource(ec2.FlowLog(
        "VpcFlowLog", ResourceId=Ref(vpc), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName=Ref(flow_group),
        DeliverLogsPermissionArn=GetAtt(flow_role, "Arn"), Tags=tags(cfg),
    ))


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "network", f"VPC, subnets, gateway endpoints; task egress: {cfg.task_egress}")
    vpc, public_rt = _vpc(template, cfg)
    public = [_subnet(template, cfg, vpc, "public", index, public_rt) for index in range(AZ_COUNT)]
    task_subnets, route_tables = public, [public_rt]
    if not tasks_in_public_subnets(cfg):
        task_subnets, private_rts = _private_subnets(template, cfg, vpc)
        route_tables = [public_rt, *private_rts]
        if cfg.task_egress == "nat":
            _nat(template, cfg, public[0], private_rts)
        else:
            _interface_endpoints(template, cfg, vpc, task_subnets[0])
    _gateway_endpoints(template, vpc, route_tables)
    _flow_logs(template, cfg, vpc)

    export(template, cfg, "VpcId", "vpc-id", Ref(vpc), "VPC id")
    export(template, cfg, "VpcCidr", "vpc-cidr", GetAtt(vpc, "CidrBlock"), "VPC CIDR block")
    export(template, cfg, "PublicSubnetIds", "public-subnet-ids",
           Join(",", [Ref(s) for s in public]), "Public subnets (comma-separated): the ALB")
    export(template, cfg, "TaskSubnetIds", "task-subnet-ids", Join(",", [Ref(s) for s in task_subnets]),
           f"Subnets of the Fargate tasks (comma-separated; task egress {cfg.task_egress})")
    return template
