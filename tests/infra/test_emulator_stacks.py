"""Create the stacks the emulator supports in moto's CloudFormation, then FIND every resource with boto3.

moto reports CREATE_COMPLETE even for resource types it silently skips (Cognito,
WAFv2, CloudFront, CloudWatch alarms, bucket policies...), so the stack status proves
nothing: each resource is looked up through its own service's API. Types moto skips
are listed in ``NOT_CREATED_BY_MOTO``; those are covered by cfn-lint, checkov and the
template-as-data tests only (the README's "Infrastructure" section lists both sets).

Stacks created here: network, data, container, observability, ci (dev has no network
or container: its container path is off; prod's tasks use public addresses, and two
network-only variants prove the NAT and interface-endpoint modes). Not created: auth
(moto answers 500 on GetAtt of a skipped Cognito pool), edge-global and edge (same for
WAFv2 and CloudFront), secrets (moto's KMS CloudFormation handler rejects standard
Key/Value tags). The container stack imports the secrets key's ARN, so a stand-in stack
exports that name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.config import StageConfig, stage_config
from infra.deploy import Deployer
from infra.stacks import stacks_for

# moto warns (in the emulator's thread, this process) for every type it skips; the
# suite turns warnings into errors, which would turn those into HTTP 500s.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning")

REGION = "us-east-1"
MOTO_STACKS = ("network", "data", "container", "observability", "ci")
# Network-only variants: the task egress modes the stages do not use by default.
NETWORK_VARIANTS = {
    "natvar": StageConfig(stage="natvar", container_path=True, task_egress="nat", vpc_cidr="10.40.0.0/16"),
    "epvar": StageConfig(stage="epvar", container_path=True, task_egress="endpoints", vpc_cidr="10.50.0.0/16"),
}
ALARM_EMAIL = {"AlarmEmail": "alarms@example.com"}  # required: no stage sets one in infra/config.py


def moto_stacks(stage: str) -> list[str]:
    if stage in NETWORK_VARIANTS:
        return ["network"]
    return [spec.name for spec in stacks_for(stage_config(stage)) if spec.name in MOTO_STACKS]

# Types moto 5.2.5's CloudFormation accepts but does not create, or keeps where no API
# can see it (subnet/route-table associations), so nothing can be looked up.
NOT_CREATED_BY_MOTO = {
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::S3::BucketPolicy",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::IAM::OIDCProvider",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SES::ConfigurationSetEventDestination",
}


@dataclass(frozen=True)
class Created:
    stage: str
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    properties: dict[str, Any]


class Lookups:
    """One boto3 look-up per resource type; each returns normally only if the resource exists."""

    def __init__(self, endpoint: str) -> None:
        def client(service: str) -> Any:
            return boto3.client(service, region_name=REGION, endpoint_url=endpoint)

        self.ec2, self.s3, self.ddb = client("ec2"), client("s3"), client("dynamodb")
        self.iam, self.logs, self.ecr = client("iam"), client("logs"), client("ecr")
        self.ecs, self.elb, self.sns = client("ecs"), client("elbv2"), client("sns")
        self.cloudwatch, self.kms = client("cloudwatch"), client("kms")
        self.by_type: dict[str, Callable[[Created], None]] = {
            "AWS::EC2::VPC": lambda r: self._one(self.ec2.describe_vpcs(VpcIds=[r.physical_id])["Vpcs"]),
            "AWS::EC2::Subnet": self.subnet,
            "AWS::EC2::InternetGateway": lambda r: self._one(
                self.ec2.describe_internet_gateways(InternetGatewayIds=[r.physical_id])["InternetGateways"]),
            "AWS::EC2::VPCGatewayAttachment": self.gateway_attachment,
            "AWS::EC2::RouteTable": lambda r: self._one(
                self.ec2.describe_route_tables(RouteTableIds=[r.physical_id])["RouteTables"]),
            "AWS::EC2::Route": self.route,
            "AWS::EC2::VPCEndpoint": self.endpoint,
            "AWS::EC2::SecurityGroup": lambda r: self._one(
                self.ec2.describe_security_groups(GroupIds=[r.physical_id])["SecurityGroups"]),
            "AWS::EC2::SecurityGroupIngress": self.ingress,
            "AWS::EC2::EIP": lambda r: self._one(self.ec2.describe_addresses(PublicIps=[r.physical_id])["Addresses"]),
            "AWS::EC2::NatGateway": lambda r: self._one(
                self.ec2.describe_nat_gateways(NatGatewayIds=[r.physical_id])["NatGateways"]),
            "AWS::EC2::FlowLog": lambda r: self._one(
                self.ec2.describe_flow_logs(FlowLogIds=[r.physical_id])["FlowLogs"]),
            "AWS::Logs::LogGroup": self.log_group,
            "AWS::IAM::Role": self.role,
            "AWS::IAM::ManagedPolicy": self.managed_policy,
            "AWS::S3::Bucket": self.bucket,
            "AWS::DynamoDB::Table": self.table,
            "AWS::ECR::Repository": self.repository,
            "AWS::ECS::Cluster": self.cluster,
            "AWS::ECS::TaskDefinition": self.task_definition,
            "AWS::ECS::Service": self.service,
            "AWS::ElasticLoadBalancingV2::LoadBalancer": self.load_balancer,
            "AWS::ElasticLoadBalancingV2::TargetGroup": self.target_group,
            "AWS::ElasticLoadBalancingV2::Listener": lambda r: self._one(
                self.elb.describe_listeners(ListenerArns=[r.physical_id])["Listeners"]),
            "AWS::ElasticLoadBalancingV2::ListenerRule": self.listener_rule,
            "AWS::SNS::Topic": lambda r: self.sns.get_topic_attributes(TopicArn=r.physical_id),
            "AWS::CloudWatch::Dashboard": self.dashboard,
            # moto's DescribeKey fails on keys CloudFormation made (it keeps their policy as a dict).
            "AWS::KMS::Key": lambda r: self._one(
                [k for k in self.kms.list_keys()["Keys"] if r.physical_id in (k["KeyId"], k["KeyArn"])]),
            "AWS::KMS::Alias": lambda r: self._one(
                [a for a in self.kms.list_aliases()["Aliases"] if a["AliasName"] == r.physical_id]),
        }

    @staticmethod
    def _one(items: list[Any]) -> Any:
        assert len(items) == 1, items
        return items[0]

    def subnet(self, r: Created) -> None:
        subnet = self._one(self.ec2.describe_subnets(SubnetIds=[r.physical_id])["Subnets"])
        assert subnet["CidrBlock"] == r.properties["CidrBlock"]
        assert subnet["MapPublicIpOnLaunch"] is False

    def gateway_attachment(self, r: Created) -> None:
        gateways = self.ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [r.physical_id]}])["InternetGateways"]
        self._one(gateways)

    def route(self, r: Created) -> None:
        table_id, _, cidr = r.physical_id.partition("~")
        table = self._one(self.ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"])
        assert any(route.get("DestinationCidrBlock") == cidr for route in table["Routes"])

    def endpoint(self, r: Created) -> None:
        endpoint = self._one(self.ec2.describe_vpc_endpoints(VpcEndpointIds=[r.physical_id])["VpcEndpoints"])
        assert endpoint["VpcEndpointType"] == r.properties["VpcEndpointType"]

    def ingress(self, r: Created) -> None:
        groups = self.ec2.describe_security_groups()["SecurityGroups"]
        assert any(
            rule.get("FromPort") == r.properties["FromPort"] and rule.get("UserIdGroupPairs")
            for group in groups for rule in group.get("IpPermissions", [])
        )

    def log_group(self, r: Created) -> None:
        groups = self.logs.describe_log_groups(logGroupNamePrefix=r.physical_id)["logGroups"]
        group = self._one([g for g in groups if g["logGroupName"] == r.physical_id])
        assert group["retentionInDays"] == r.properties["RetentionInDays"]

    def role(self, r: Created) -> None:
        role = self.iam.get_role(RoleName=r.physical_id)["Role"]
        assert role["RoleName"] == r.properties["RoleName"]
        for policy in r.properties.get("Policies", []):
            self.iam.get_role_policy(RoleName=r.physical_id, PolicyName=policy["PolicyName"])

    def managed_policy(self, r: Created) -> None:
        policy = self.iam.get_policy(PolicyArn=r.physical_id)["Policy"]
        assert policy["PolicyName"] == r.properties["ManagedPolicyName"]

    def bucket(self, r: Created) -> None:
        self.s3.head_bucket(Bucket=r.physical_id)
        rules = self.s3.get_bucket_encryption(Bucket=r.physical_id)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    def table(self, r: Created) -> None:
        table = self.ddb.describe_table(TableName=r.physical_id)["Table"]
        props = r.properties
        assert table["KeySchema"] == props["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == \
            props["AttributeDefinitions"]
        assert {g["IndexName"]: g["KeySchema"] for g in table.get("GlobalSecondaryIndexes", [])} == \
            {g["IndexName"]: g["KeySchema"] for g in props.get("GlobalSecondaryIndexes", [])}
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionProtectionEnabled"] is True

    def repository(self, r: Created) -> None:
        repo = self._one(self.ecr.describe_repositories(repositoryNames=[r.physical_id])["repositories"])
        assert repo["repositoryName"] == r.properties["RepositoryName"]

    def cluster(self, r: Created) -> None:
        cluster = self._one(self.ecs.describe_clusters(clusters=[r.physical_id])["clusters"])
        assert cluster["status"] == "ACTIVE"

    def task_definition(self, r: Created) -> None:
        task = self.ecs.describe_task_definition(taskDefinition=r.physical_id)["taskDefinition"]
        assert task["family"] == r.properties["Family"]
        assert [c["name"] for c in task["containerDefinitions"]] == ["site-server"]

    def service(self, r: Created) -> None:
        cluster = r.physical_id.split("/")[1]
        service = self._one(self.ecs.describe_services(cluster=cluster, services=[r.physical_id])["services"])
        assert service["serviceName"] == r.properties["ServiceName"] and service["status"] == "ACTIVE"

    def load_balancer(self, r: Created) -> None:
        alb = self._one(self.elb.describe_load_balancers(LoadBalancerArns=[r.physical_id])["LoadBalancers"])
        assert alb["Scheme"] == "internet-facing" and len(alb["AvailabilityZones"]) == 2

    def target_group(self, r: Created) -> None:
        group = self._one(self.elb.describe_target_groups(TargetGroupArns=[r.physical_id])["TargetGroups"])
        assert group["TargetType"] == "ip" and group["Port"] == 8080

    def listener_rule(self, r: Created) -> None:
        rule = self._one(self.elb.describe_rules(RuleArns=[r.physical_id])["Rules"])
        assert rule["Conditions"][0]["Field"] == "http-header"

    def dashboard(self, r: Created) -> None:
        body = json.loads(self.cloudwatch.get_dashboard(DashboardName=r.physical_id)["DashboardBody"])
        template_body = r.properties["DashboardBody"]["Fn::Sub"]
        expected = json.loads(template_body[0] if isinstance(template_body, list) else template_body)
        assert len(body["widgets"]) == len(expected["widgets"]) >= 3

    def find(self, resource: Created) -> None:
        self.by_type[resource.resource_type](resource)


def _stand_in_stack(cfn: Any, stage: str) -> None:
    """Exports of the stack moto cannot create (secrets) that the others import."""
    exports = {
        "secrets-key-arn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000",
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name.replace("-", ""): {"Value": value, "Export": {"Name": f"store-{stage}-{name}"}}
                    for name, value in exports.items()},
    }
    cfn.create_stack(StackName=f"store-{stage}-stand-in", TemplateBody=json.dumps(template))


def _without_kms_key_tags(body: str) -> str:
    """moto's KMS CloudFormation handler rejects standard Key/Value tags (500): drop them for moto only."""
    template = json.loads(body)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            resource["Properties"].pop("Tags", None)
    return json.dumps(template)


def _created(cfn: Any, stage: str, stack: str, template: dict[str, Any]) -> Iterator[Created]:
    listed = cfn.describe_stack_resources(StackName=f"store-{stage}-{stack}")["StackResources"]
    physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed if "LogicalResourceId" in r}
    conditions = {name: _evaluate(value, template, physical) for name, value in
                  template.get("Conditions", {}).items()}
    for logical, resource in template["Resources"].items():
        if "Condition" in resource and not conditions[resource["Condition"]]:
            continue
        yield Created(stage, stack, logical, resource["Type"], physical.get(logical) or "",
                      resource.get("Properties", {}))


def _evaluate(expression: Any, template: dict[str, Any], parameters: dict[str, Any]) -> bool:
    """Just enough of CloudFormation's condition functions for our templates (defaults only)."""
    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return template["Parameters"][node["Ref"]].get("Default")
        return node

    (function, args), = expression.items()
    if function == "Fn::Equals":
        return bool(value(args[0]) == value(args[1]))
    if function == "Fn::Not":
        return not _evaluate(args[0], template, parameters)
    if function == "Fn::And":
        return all(_evaluate(a, template, parameters) for a in args)
    if function == "Condition":
        return _evaluate(template["Conditions"][args], template, parameters)
    raise AssertionError(f"unsupported condition {function}")


@pytest.fixture(scope="module")
def created_stacks(emulator_url: str, monkeypatch_module: pytest.MonkeyPatch) -> dict[str, list[Created]]:
    """dev, prod and the network variants, created side by side."""
    monkeypatch_module.setenv("AWS_ENDPOINT_URL", emulator_url)
    cfn = boto3.client("cloudformation", region_name=REGION)
    created: dict[str, list[Created]] = {}
    for stage in ("dev", "prod", *NETWORK_VARIANTS):
        _stand_in_stack(cfn, stage)
        # Deployer.plan fills parameters exactly as a deploy would (prefix list looked up in the emulator).
        deployer = Deployer(NETWORK_VARIANTS.get(stage) or stage_config(stage))
        for name in moto_stacks(stage):  # planned in turn, as a deploy does: observability reads container's outputs
            (plan,) = deployer.plan([name], {**ALARM_EMAIL, "GitHubRepository": "example-owner/store"})
            cfn.create_stack(
                StackName=plan.stack_name, TemplateBody=_without_kms_key_tags(plan.body),
                Capabilities=["CAPABILITY_NAMED_IAM"],
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in plan.parameters.items()],
            )
            status = cfn.describe_stacks(StackName=plan.stack_name)["Stacks"][0]["StackStatus"]
            assert status == "CREATE_COMPLETE", (plan.stack_name, status)
            created[f"{stage}/{plan.spec.name}"] = list(
                _created(cfn, stage, plan.spec.name, json.loads(plan.body)))
    return created


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("stage", ["dev", "prod", *NETWORK_VARIANTS])
@pytest.mark.parametrize("stack", MOTO_STACKS)
def test_every_resource_of_a_supported_type_exists(created_stacks: dict[str, list[Created]], emulator_url: str,
                                                   stage: str, stack: str) -> None:
    if stack not in moto_stacks(stage):
        assert f"{stage}/{stack}" not in created_stacks
        return
    lookups = Lookups(emulator_url)
    found = 0
    for resource in created_stacks[f"{stage}/{stack}"]:
        if resource.resource_type in NOT_CREATED_BY_MOTO:
            continue
        assert resource.resource_type in lookups.by_type, f"classify {resource.resource_type}: look-up or skip"
        # moto gives ingress rules no physical id; the look-up finds the rule on its group.
        assert resource.physical_id or resource.resource_type == "AWS::EC2::SecurityGroupIngress", \
            f"{resource.logical_id} has no physical id"
        try:
            lookups.find(resource)
        except Exception as error:
            raise AssertionError(f"{stage}/{stack} {resource.logical_id} ({resource.resource_type}) "
                                 f"not found: {error!r}") from error
        found += 1
    assert found > 0


def test_network_variants_prove_public_tasks_nat_and_endpoints(created_stacks: dict[str, list[Created]]) -> None:
    def interface_endpoints(stage: str) -> list[Created]:
        return [r for r in created_stacks[f"{stage}/network"]
                if r.resource_type == "AWS::EC2::VPCEndpoint" and r.properties["VpcEndpointType"] == "Interface"]

    types = {stage: {r.resource_type for r in created_stacks[f"{stage}/network"]} for stage in ("prod", "natvar")}
    assert "AWS::EC2::NatGateway" in types["natvar"] and "AWS::EC2::NatGateway" not in types["prod"]
    assert not interface_endpoints("prod") and not interface_endpoints("natvar")
    assert len(interface_endpoints("epvar")) == 4
    assert all(len(r.properties["SubnetIds"]) == 1 for r in interface_endpoints("epvar"))  # one AZ


def test_app_finds_its_tables_by_the_deterministic_names(created_stacks: dict[str, list[Created]],
                                                         emulator_url: str) -> None:
    from catalog_lambda.settings import Settings

    settings = Settings(stage="prod", endpoint_url=emulator_url, region=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=emulator_url)
    for name in (settings.products_table, settings.orders_table, settings.idempotency_table):
        assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"


def test_types_skipped_by_moto_are_really_absent_from_the_look_ups() -> None:
    assert not NOT_CREATED_BY_MOTO & set(Lookups("http://127.0.0.1:9").by_type)


def test_infra_deploys_keep_the_image_that_code_deploys_rolled_out(created_stacks: dict[str, list[Created]],
                                                                   emulator_url: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_url)
    deployer = Deployer(stage_config("prod"))
    (plan,) = deployer.plan(["container"])
    assert plan.parameters["ImageTag"] == "initial"  # what the stack created
    # What infra.delivery.server does: a new task definition revision, then UpdateService.
    ecs = boto3.client("ecs", region_name=REGION)
    service = ecs.describe_services(cluster="store-prod-cluster", services=["store-prod-site-server"])["services"][0]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    containers = [{**c, "image": c["image"].rsplit(":", 1)[0] + ":abc1234"} for c in task["containerDefinitions"]]
    new = ecs.register_task_definition(family=task["family"], containerDefinitions=containers, cpu="256",
                                       memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"])
    ecs.update_service(cluster="store-prod-cluster", service="store-prod-site-server",
                       taskDefinition=new["taskDefinition"]["taskDefinitionArn"])
    (plan,) = deployer.plan(["container"])
    assert plan.parameters["ImageTag"] == "abc1234"
