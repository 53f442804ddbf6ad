"""``python -m infra cost --stage S``: the idle monthly bill of a stage, read from its synthesized templates.

Every always-on resource in the stage's templates is priced from the dated table in
``infra/prices/<region>.json``: the things that bill by the hour or the month whether
or not anyone visits (load balancers, public IPv4 addresses, NAT gateways, interface
endpoints, Fargate tasks at their minimum count, the web ACL and its rules, KMS keys,
secrets, alarms, dashboards, Container Insights metrics). Usage-priced resources
(Lambda, API Gateway, DynamoDB on demand, S3, CloudFront, logs, Cognito) cost nothing
idle and are not listed.

Conditions are evaluated with the templates' parameter defaults, which carry the
stage's choices (``infra/config.py``): a stage is priced as synthesized. Values the
templates cannot know (imports, resource attributes) count as unknown, never as a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import StageConfig
from infra.stacks import stacks_for

PRICES_DIR = Path(__file__).resolve().parent / "prices"

# Types this pricer bills when present (some only in some configurations: an internal
# ALB has no public addresses, a gateway endpoint is free, an EC2-launched service is
# not Fargate).
PRICED_TYPES = frozenset({
    "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint",
    "AWS::WAFv2::WebACL", "AWS::KMS::Key", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard", "AWS::Route53::HostedZone", "AWS::ECS::Service", "AWS::ECS::Cluster",
})
# Types that cost nothing while nobody uses the store: free, or billed only per request,
# per GB stored or per GB logged.
FREE_WHEN_IDLE = frozenset({
    "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CertificateManager::Certificate", "AWS::CloudFront::CachePolicy", "AWS::CloudFront::Distribution",
    "AWS::CloudFront::Function", "AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::ResponseHeadersPolicy", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup", "AWS::DynamoDB::Table", "AWS::EC2::FlowLog", "AWS::EC2::InternetGateway",
    "AWS::EC2::Route", "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress", "AWS::EC2::Subnet", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::VPC",
    "AWS::EC2::VPCGatewayAttachment", "AWS::ECR::Repository", "AWS::ECS::TaskDefinition",
    "AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::IAM::OIDCProvider", "AWS::IAM::Role", "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy", "AWS::KMS::Alias", "AWS::Lambda::Permission", "AWS::Logs::LogGroup",
    "AWS::Route53::RecordSet", "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination", "AWS::SES::EmailIdentity", "AWS::SNS::Subscription",
    "AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::WAFv2::LoggingConfiguration",
    "AWS::SSM::Parameter",  # a Standard-tier parameter: no storage charge, standard throughput free
})


class CostError(ValueError):
    """No price table for the region, or a template the pricer cannot read."""


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    hours_per_month: float
    hourly: Mapping[str, float]
    monthly: Mapping[str, float]
    container_insights_metrics: Mapping[str, Any]

    def per_month(self, hourly_key: str, count: float = 1) -> float:
        return self.hourly[hourly_key] * self.hours_per_month * count


def load_prices(region: str) -> PriceTable:
    path = PRICES_DIR / f"{region}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PRICES_DIR.glob("*.json")))
        raise CostError(f"no price table for {region} (known: {known}); add infra/prices/{region}.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return PriceTable(region=data["region"], as_of=data["as_of"], hours_per_month=data["hours_per_month"],
                      hourly=data["hourly"], monthly=data["monthly"],
                      container_insights_metrics=data["container_insights_metrics"])


@dataclass(frozen=True)
class Line:
    stack: str
    resource: str
    what: str
    monthly: float


class Unknown:
    """A value only CloudFormation knows (an import, an attribute of another resource)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


class Evaluator:
    """Just enough of CloudFormation's intrinsic functions to read a template with its defaults."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.parameters = {name: spec.get("Default", UNKNOWN)
                           for name, spec in template.get("Parameters", {}).items()}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        (function, args), = node.items()
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::Equals":
            left, right = (self.value(a) for a in args)
            if isinstance(left, Unknown) or isinstance(right, Unknown):
                raise CostError(f"condition compares a value only CloudFormation knows: {node}")
            return bool(left == right)
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        raise CostError(f"unsupported condition function {function}")

    def value(self, node: Any) -> Any:
        """The node with Ref-to-parameter and Fn::If resolved; anything else unresolvable is UNKNOWN."""
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref":
                return self.parameters.get(args, UNKNOWN) if not args.startswith("AWS::") else UNKNOWN
            if key == "Fn::If":
                name, when_true, when_false = args
                return self.value(when_true if self.condition(name) else when_false)
            if key.startswith("Fn::"):
                return UNKNOWN
        return {key: self.value(item) for key, item in node.items()}

    def resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(logical id, type, evaluated properties) of every resource whose condition holds."""
        for logical, resource in self.template.get("Resources", {}).items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            yield logical, resource["Type"], self.value(resource.get("Properties", {}))


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 1


def _fargate_lines(stack: str, evaluator: Evaluator, prices: PriceTable) -> Iterator[Line]:
    resources = {logical: (kind, props) for logical, kind, props in evaluator.resources()}
    # Auto scaling's floor is what always runs (one ECS service per stack here).
    floors = [props.get("MinCapacity") for kind, props in resources.values()
              if kind == "AWS::ApplicationAutoScaling::ScalableTarget" and props.get("ServiceNamespace") == "ecs"]
    for logical, (kind, props) in resources.items():
        if kind != "AWS::ECS::Service" or props.get("LaunchType") != "FARGATE":
            continue
        task_ref = evaluator.template["Resources"][logical]["Properties"]["TaskDefinition"]
        task = resources[task_ref["Ref"]][1]
        arch = (task.get("RuntimePlatform") or {}).get("CpuArchitecture", "X86_64").lower()
        vcpu, memory_gb = int(task["Cpu"]) / 1024, int(task["Memory"]) / 1024
        counts = [n for n in (*floors, props.get("DesiredCount")) if isinstance(n, int)]
        tasks = counts[0] if counts else 1
        compute = tasks * (prices.per_month(f"fargate_vcpu_{arch}", vcpu)
                           + prices.per_month(f"fargate_gb_{arch}", memory_gb))
        yield Line(stack, logical, f"Fargate {tasks} x {vcpu:g} vCPU / {memory_gb:g} GB {arch}", compute)
        network = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
        if network.get("AssignPublicIp") == "ENABLED":
            yield Line(stack, logical, f"{tasks} public IPv4 address(es), one per task",
                       prices.per_month("public_ipv4_address", tasks))


def _container_insights(stack: str, evaluator: Evaluator, prices: PriceTable) -> Iterator[Line]:
    resources = list(evaluator.resources())
    counts = prices.container_insights_metrics
    services = sum(1 for _, kind, _ in resources if kind == "AWS::ECS::Service")
    families = sum(1 for _, kind, _ in resources if kind == "AWS::ECS::TaskDefinition")
    for logical, kind, props in resources:
        settings = {s.get("Name"): s.get("Value") for s in props.get("ClusterSettings", []) or []}
        if kind == "AWS::ECS::Cluster" and settings.get("containerInsights") in ("enabled", "enhanced"):
            metrics = counts["per_cluster"] + services * counts["per_service"] + families * counts["per_task_family"]
            yield Line(stack, logical, f"Container Insights, ~{metrics} custom metrics (estimate)",
                       metrics * prices.monthly["cloudwatch_custom_metric"])


def _simple_line(stack: str, logical: str, kind: str, props: Mapping[str, Any], prices: PriceTable) -> Line | None:
    monthly = prices.monthly
    if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        return Line(stack, logical, f"{props.get('Type', 'application')} load balancer (hours, no LCUs idle)",
                    prices.per_month("alb"))
    if kind == "AWS::EC2::NatGateway":
        return Line(stack, logical, "NAT gateway (hours)", prices.per_month("nat_gateway"))
    if kind == "AWS::EC2::EIP":
        return Line(stack, logical, "public IPv4 address (Elastic IP)", prices.per_month("public_ipv4_address"))
    if kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
        zones = _count(props.get("SubnetIds", []))
        return Line(stack, logical, f"interface endpoint in {zones} AZ(s)",
                    prices.per_month("interface_endpoint_per_az", zones))
    if kind == "AWS::WAFv2::WebACL":
        rules = len(props.get("Rules", []))
        return Line(stack, logical, f"web ACL + {rules} rules", monthly["waf_web_acl"] + rules * monthly["waf_rule"])
    if kind == "AWS::KMS::Key":
        return Line(stack, logical, "customer-managed KMS key", monthly["kms_customer_managed_key"])
    if kind == "AWS::SecretsManager::Secret":
        return Line(stack, logical, "secret", monthly["secrets_manager_secret"])
    if kind == "AWS::CloudWatch::Alarm":
        metrics = sum(1 for m in props.get("Metrics", []) if "MetricStat" in m) or 1
        return Line(stack, logical, f"alarm on {metrics} metric(s)", metrics * monthly["cloudwatch_alarm_metric"])
    if kind == "AWS::CloudWatch::Dashboard":
        return Line(stack, logical, "dashboard", monthly["cloudwatch_dashboard"])
    if kind == "AWS::Route53::HostedZone":
        return Line(stack, logical, "hosted zone", monthly["route53_hosted_zone"])
    return None


def _alb_addresses(stack: str, logical: str, props: Mapping[str, Any], prices: PriceTable) -> Line | None:
    if props.get("Scheme") != "internet-facing":
        return None
    zones = _count(props.get("Subnets") or props.get("SubnetMappings") or [])
    return Line(stack, logical, f"{zones} public IPv4 addresses (one per AZ)",
                prices.per_month("public_ipv4_address", zones))


def price_template(stack: str, template: Mapping[str, Any], prices: PriceTable) -> list[Line]:
    """The template's always-on lines; a resource type the pricer does not know is an error, not a $0."""
    unknown = sorted({r["Type"] for r in template.get("Resources", {}).values()} - PRICED_TYPES - FREE_WHEN_IDLE)
    if unknown:
        raise CostError(f"{stack}: no idle price known for {', '.join(unknown)}: classify them in infra/cost.py")
    evaluator = Evaluator(template)
    lines = []
    for logical, kind, props in evaluator.resources():
        line = _simple_line(stack, logical, kind, props, prices)
        if line:
            lines.append(line)
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            addresses = _alb_addresses(stack, logical, props, prices)
            lines += [addresses] if addresses else []
    lines += _fargate_lines(stack, evaluator, prices)
    lines += _container_insights(stack, evaluator, prices)
    return lines


def price_stage(cfg: StageConfig) -> list[Line]:
    """Every always-on line of the stage's synthesized templates (each priced in its own region's table)."""
    lines = []
    for spec in stacks_for(cfg):
        prices = load_prices(spec.region(cfg))
        lines += price_template(spec.name, spec.build(cfg).to_dict(), prices)
    return lines


def report(cfg: StageConfig) -> list[str]:
    """The printed report; the last line is the monthly total."""
    lines = price_stage(cfg)
    as_of = load_prices(cfg.region).as_of
    width = max((len(f"{line.stack}/{line.resource}") for line in lines), default=10)
    out = [f"idle monthly cost of stage {cfg.stage} ({cfg.region}, list prices as of {as_of}, USD):"]
    out += [f"  {f'{line.stack}/{line.resource}':<{width}}  {line.monthly:8.2f}  {line.what}" for line in lines]
    out.append(f"total {sum(line.monthly for line in lines):.2f} USD/month")
    return out
