"""Network stack: a VPC over two availability zones for the container service.

Public subnets hold the ALB (and the NAT gateway when enabled); private subnets hold
the Fargate tasks. Gateway endpoints keep S3 and DynamoDB traffic inside AWS. NAT is
optional (parameter ``EnableNat``): without it, interface endpoints for ECR, CloudWatch
Logs and Secrets Manager give the private tasks what they need to start and run.
"""

from __future__ import annotations

import ipaddress

from troposphere import Equals, GetAtt, GetAZs, Join, Not, Parameter, Ref, Select, Sub, Template, ec2, iam, logs

from infra.config import StageConfig
from infra.stacks.common import export, new_template, policy_document, statement, tags

AZ_COUNT = 2
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


def subnet_cidrs(vpc_cidr: str) -> list[str]:
    """Four /20s (or the VPC's size + 4 bits): public a, public b, private a, private b."""
    network = ipaddress.ip_network(vpc_cidr)
    return [str(n) for n in list(network.subnets(prefixlen_diff=4))[: 2 * AZ_COUNT]]


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "network", "VPC, subnets, endpoints, optional NAT")
    enable_nat = template.add_parameter(Parameter(
        "EnableNat", Type="String", AllowedValues=["true", "false"],
        Default="true" if cfg.nat_gateway else "false",
        Description="Create a NAT gateway for the private subnets (else interface endpoints are created)",
    ))
    template.add_condition("HasNat", Equals(Ref(enable_nat), "true"))
    template.add_condition("NoNat", Not(Equals(Ref(enable_nat), "true")))

    cidrs = subnet_cidrs(cfg.vpc_cidr)
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

    public_subnets, private_subnets, private_rts = [], [], []
    for index, zone in enumerate("ab"):
        public = template.add_resource(ec2.Subnet(
            f"PublicSubnet{zone.upper()}", VpcId=Ref(vpc), CidrBlock=cidrs[index],
            AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False,
            Tags=tags(cfg, Name=f"{cfg.prefix}-public-{zone}", tier="public"),
        ))
        template.add_resource(ec2.SubnetRouteTableAssociation(
            f"PublicSubnet{zone.upper()}RouteTable", SubnetId=Ref(public), RouteTableId=Ref(public_rt),
        ))
        private = template.add_resource(ec2.Subnet(
            f"PrivateSubnet{zone.upper()}", VpcId=Ref(vpc), CidrBlock=cidrs[AZ_COUNT + index],
            AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False,
            Tags=tags(cfg, Name=f"{cfg.prefix}-private-{zone}", tier="private"),
        ))
        private_rt = template.add_resource(ec2.RouteTable(
            f"PrivateRouteTable{zone.upper()}", VpcId=Ref(vpc), Tags=tags(cfg, Name=f"{cfg.prefix}-private-{zone}"),
        ))
        template.add_resource(ec2.SubnetRouteTableAssociation(
            f"PrivateSubnet{zone.upper()}RouteTable", SubnetId=Ref(private), RouteTableId=Ref(private_rt),
        ))
        public_subnets.append(public)
        private_subnets.append(private)
        private_rts.append(private_rt)

    # One NAT gateway (in zone a) keeps the cost down; prod can afford the single-AZ risk
    # for egress because the container pages only need AWS APIs that have endpoints too.
    eip = template.add_resource(ec2.EIP("NatAddress", Domain="vpc", Condition="HasNat", DependsOn=attach.title))
    nat = template.add_resource(ec2.NatGateway(
        "NatGateway", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(public_subnets[0]),
        Condition="HasNat", Tags=tags(cfg),
    ))
    for index, private_rt in enumerate(private_rts):
        template.add_resource(ec2.Route(
            f"PrivateDefaultRoute{'AB'[index]}", RouteTableId=Ref(private_rt), DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=Ref(nat), Condition="HasNat",
        ))

    for service in ("s3", "dynamodb"):
        template.add_resource(ec2.VPCEndpoint(
            f"{service.capitalize()}GatewayEndpoint", VpcId=Ref(vpc), VpcEndpointType="Gateway",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            RouteTableIds=[Ref(rt) for rt in private_rts],
        ))

    endpoint_sg = template.add_resource(ec2.SecurityGroup(
        "EndpointSecurityGroup", Condition="NoNat", VpcId=Ref(vpc),
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
            logical, Condition="NoNat", VpcId=Ref(vpc), VpcEndpointType="Interface",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"), PrivateDnsEnabled=True,
            SubnetIds=[Ref(s) for s in private_subnets], SecurityGroupIds=[Ref(endpoint_sg)],
        ))

    # VPC flow logs (rejected and accepted traffic) to CloudWatch Logs.
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

    export(template, cfg, "VpcId", "vpc-id", Ref(vpc), "VPC id")
    export(template, cfg, "VpcCidr", "vpc-cidr", GetAtt(vpc, "CidrBlock"), "VPC CIDR block")
    export(template, cfg, "PublicSubnetIds", "public-subnet-ids",
           Join(",", [Ref(s) for s in public_subnets]), "Public subnets (comma-separated)")
    export(template, cfg, "PrivateSubnetIds", "private-subnet-ids",
           Join(",", [Ref(s) for s in private_subnets]), "Private subnets (comma-separated)")
    return template
