"""The idle bill: what each stage runs when nobody visits, and ``python -m infra cost`` pricing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import cost
from infra.config import STAGES, TASK_EGRESS, ConfigError, StageConfig, stage_config
from infra.stacks import STACK_NAMES, stack_spec, stacks_for

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The issue's targets for the always-running resources.
BUDGET = {"dev": 20.0, "prod": 70.0}


def _types(template: dict[str, Any]) -> list[str]:
    return [r["Type"] for r in template["Resources"].values()]


def test_the_container_path_is_opt_in_per_stage() -> None:
    dev, prod = stage_config("dev"), stage_config("prod")
    assert not dev.container_path and prod.container_path
    assert [s.name for s in stacks_for(dev)] == [n for n in STACK_NAMES if n not in ("network", "container")]
    assert [s.name for s in stacks_for(prod)] == list(STACK_NAMES)


def test_without_the_container_path_the_edge_has_no_pages_origin_or_behaviours() -> None:
    edge = stack_spec("edge").build(stage_config("dev")).to_dict()
    config = edge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    assert "pages" not in [o["Id"] for o in config["Origins"]]
    assert not {"/p/*", "/sitemap.xml"} & {b["PathPattern"] for b in config["CacheBehaviors"]}
    assert "/api/*" in {b["PathPattern"] for b in config["CacheBehaviors"]}
    assert "alb-" not in json.dumps(edge) and "PagesCachePolicy" not in edge["Resources"]


def test_without_the_container_path_nothing_watches_an_alb() -> None:
    observability = json.dumps(stack_spec("observability").build(stage_config("dev")).to_dict())
    assert "ApplicationELB" not in observability and "alb-full-name" not in observability


def test_prod_tasks_use_public_addresses_and_no_nat_or_interface_endpoints() -> None:
    network = stack_spec("network").build(stage_config("prod")).to_dict()
    types = _types(network)
    assert "AWS::EC2::NatGateway" not in types and "AWS::EC2::EIP" not in types
    endpoints = [r["Properties"] for r in network["Resources"].values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    assert {e["VpcEndpointType"] for e in endpoints} == {"Gateway"}  # S3 and DynamoDB: free
    assert network["Outputs"]["TaskSubnetIds"]["Value"] == {
        "Fn::Join": [",", [{"Ref": "PublicSubnetA"}, {"Ref": "PublicSubnetB"}]]}
    service = stack_spec("container").build(stage_config("prod")).to_dict()["Resources"]["Service"]
    assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    assert [s["id"] for s in service["Metadata"]["checkov"]["skip"]] == ["CKV_AWS_333"]


def test_tasks_keep_two_zones_and_only_the_alb_reaches_them() -> None:
    container = stack_spec("container").build(stage_config("prod")).to_dict()
    subnets = container["Resources"]["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert [s["Fn::Select"][0] for s in subnets["Subnets"]] == [0, 1]
    group = container["Resources"]["ServiceSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group  # the only ingress is the ALB's group (a separate resource)
    ingress = container["Resources"]["ServiceIngressFromLoadBalancer"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroup"}


def test_private_task_modes_put_endpoints_in_one_zone_or_one_nat_gateway() -> None:
    endpoints = stack_spec("network").build(
        StageConfig(stage="x", container_path=True, task_egress="endpoints")).to_dict()
    interface = [r["Properties"] for r in endpoints["Resources"].values()
                 if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"]["VpcEndpointType"] == "Interface"]
    assert len(interface) == 4 and all(e["SubnetIds"] == [{"Ref": "PrivateSubnetA"}] for e in interface)
    nat = stack_spec("network").build(StageConfig(stage="x", container_path=True, task_egress="nat")).to_dict()
    assert _types(nat).count("AWS::EC2::NatGateway") == 1
    for template in (endpoints, nat):
        assert template["Outputs"]["TaskSubnetIds"]["Value"]["Fn::Join"][1] == [
            {"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
        service = stack_spec("container").build(
            StageConfig(stage="x", container_path=True, task_egress="nat")).to_dict()["Resources"]["Service"]
        assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
        assert "Metadata" not in service


def test_an_unknown_egress_mode_is_refused() -> None:
    assert TASK_EGRESS == ("public-ip", "endpoints", "nat")
    with pytest.raises(ConfigError, match="task_egress"):
        StageConfig(stage="x", task_egress="vpn")


# --- the pricer ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_idles_within_its_budget(stage: str) -> None:
    total = sum(line.monthly for line in cost.price_stage(stage_config(stage)))
    assert 0 < total <= BUDGET[stage], "\n".join(cost.report(stage_config(stage)))


def test_prod_prices_two_tasks_and_the_alb() -> None:
    priced = cost.price_stage(stage_config("prod"))
    lines = {(line.stack, line.resource, line.what.split(" ")[0]): line for line in priced}
    fargate = next(line for key, line in lines.items() if key[2] == "Fargate")
    assert fargate.what.startswith("Fargate 2 x")
    assert ("container", "LoadBalancer", "application") in lines


def test_the_pricer_reads_conditions_with_the_stages_defaults() -> None:
    prices = cost.load_prices("us-east-1")
    template = {
        "Parameters": {"On": {"Type": "String", "Default": "false"}},
        "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]},
                       "IsOff": {"Fn::Not": [{"Condition": "IsOn"}]}},
        "Resources": {
            "Nat": {"Type": "AWS::EC2::NatGateway", "Condition": "IsOn", "Properties": {}},
            "Key": {"Type": "AWS::KMS::Key", "Condition": "IsOff", "Properties": {}},
            "Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
                "VpcEndpointType": "Interface",
                "SubnetIds": {"Fn::If": ["IsOn", ["a", "b"], ["a"]]}}},
        },
    }
    lines = cost.price_template("t", template, prices)
    assert [(line.resource, round(line.monthly, 2)) for line in lines] == [("Key", 1.0), ("Endpoint", 7.3)]
    template["Parameters"]["On"]["Default"] = "true"
    lines = cost.price_template("t", template, prices)
    assert [(line.resource, round(line.monthly, 2)) for line in lines] == [("Nat", 32.85), ("Endpoint", 14.6)]


def test_the_issue_s_baseline_prices_as_the_review_did() -> None:
    """The review's figures: 4 endpoints in 2 AZs $58, NAT + its address $36.50, 2 x 0.5 vCPU/1 GB x86 $36."""
    prices = cost.load_prices("us-east-1")
    assert round(4 * prices.per_month("interface_endpoint_per_az", 2), 1) == 58.4
    assert round(prices.per_month("nat_gateway") + prices.per_month("public_ipv4_address"), 2) == 36.5
    task = prices.per_month("fargate_vcpu_x86_64", 0.5) + prices.per_month("fargate_gb_x86_64", 1)
    assert round(2 * task) == 36


def test_the_price_table_is_dated_and_a_missing_region_is_an_error() -> None:
    assert cost.load_prices("us-east-1").as_of
    with pytest.raises(cost.CostError, match="no price table for mars-north-1"):
        cost.load_prices("mars-north-1")


def test_the_cli_prints_the_total_on_its_last_line() -> None:
    result = subprocess.run([sys.executable, "-m", "infra", "cost", "--stage", "dev"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    expected = sum(line.monthly for line in cost.price_stage(stage_config("dev")))
    assert last == f"total {expected:.2f} USD/month"


def test_make_bench_reports_both_stages() -> None:
    from bench import idle_cost

    rows = [line for line in idle_cost.section() if line.startswith("| dev ") or line.startswith("| prod ")]
    assert [row.split(" ")[1] for row in rows] == ["dev", "prod"]
    dev_total = sum(line.monthly for line in cost.price_stage(stage_config("dev")))
    assert f"**{dev_total:.2f}**" in rows[0]


def test_a_resource_type_the_pricer_does_not_know_is_an_error_not_free() -> None:
    template = {"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {}}}}
    with pytest.raises(cost.CostError, match="AWS::RDS::DBInstance"):
        cost.price_template("data", template, cost.load_prices("us-east-1"))
    assert not cost.PRICED_TYPES & cost.FREE_WHEN_IDLE


def test_every_variant_prices_and_private_tasks_cost_what_the_review_said() -> None:
    from tests.infra.conftest import DOMAIN_VARIANT, NAT_VARIANT

    nat = {line.what for line in cost.price_stage(NAT_VARIANT) if line.stack == "network"}
    assert nat == {"NAT gateway (hours)", "public IPv4 address (Elastic IP)"}
    endpoints = [line for line in cost.price_stage(DOMAIN_VARIANT) if line.stack == "network"]
    assert len(endpoints) == 4 and round(sum(line.monthly for line in endpoints), 2) == 29.2  # one AZ
