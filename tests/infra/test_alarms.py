"""Alarms reach someone, through a topic CloudWatch can use, on metrics that name the stage's own resources."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import STAGES, StageConfig, metrics_namespace, stage_config
from infra.stacks import stack_spec
from infra.stacks.observability import EMAIL_PATTERN, dashboard_body


def _observability(cfg: StageConfig) -> dict[str, Any]:
    return dict(stack_spec("observability").build(cfg).to_dict())


def test_the_alarm_topic_uses_a_customer_managed_key_that_cloudwatch_may_use() -> None:
    template = _observability(stage_config("prod"))
    topic = template["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "NotificationsKey"}  # not alias/aws/sns
    key = template["Resources"]["NotificationsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    cloudwatch = statements["CloudWatchPublishesAlarms"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert statements["SesPublishesMailEvents"]["Principal"] == {"Service": "ses.amazonaws.com"}


def test_the_alarm_email_is_required() -> None:
    template = _observability(stage_config("dev"))
    parameter = template["Parameters"]["AlarmEmail"]
    assert "Default" not in parameter  # no stage sets one: a deploy must pass it
    assert re.fullmatch(parameter["AllowedPattern"], "") is None
    assert re.fullmatch(parameter["AllowedPattern"], "ops@shop.example.com")
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert "Condition" not in subscription and subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    configured = _observability(StageConfig(stage="dev", alarm_email="ops@shop.example.com"))
    assert configured["Parameters"]["AlarmEmail"]["Default"] == "ops@shop.example.com"
    assert parameter["AllowedPattern"] == EMAIL_PATTERN


def test_every_alarm_notifies_the_topic() -> None:
    resources = _observability(stage_config("prod"))["Resources"]
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms and all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


def _dimension_values(template: dict[str, Any]) -> set[str]:
    values = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        alarm = resource["Properties"]
        dimensions = alarm.get("Dimensions") or [
            d for m in alarm.get("Metrics", []) if "MetricStat" in m for d in m["MetricStat"]["Metric"]["Dimensions"]]
        values |= {json.dumps([alarm.get("Namespace"), d["Value"]], sort_keys=True) for d in dimensions}
    return values


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_alarms_and_dashboard_name_only_the_stage_s_own_resources(stage: str) -> None:
    """In one account, ApiName=store would count every stage's API: only per-stage names are watched."""
    template = _observability(stage_config(stage))
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for alarm in alarms:
        dimensions = alarm.get("Dimensions") or [
            d for m in alarm.get("Metrics", []) if "MetricStat" in m for d in m["MetricStat"]["Metric"]["Dimensions"]]
        assert dimensions, alarm["AlarmName"]
        if alarm.get("Namespace", "").startswith("Store"):  # the app's EMF metrics
            assert alarm["Namespace"] == metrics_namespace(stage)
            continue
        for dimension in dimensions:
            assert dimension["Name"] in ("FunctionName", "TableName", "LoadBalancer")
            value = dimension["Value"]
            assert (f"store-{stage}" in value if isinstance(value, str)
                    else value == {"Ref": "LoadBalancerFullName"}), dimension
    dashboard = json.loads(dashboard_body(stage_config(stage)))
    for widget in dashboard["widgets"]:
        for metric in widget["properties"]["metrics"]:
            assert metric[0] != "AWS/ApiGateway"
            assert metric[3] == "${AlbFullName}" or metric[3].startswith(f"store-{stage}")


def test_the_stages_watch_disjoint_metrics() -> None:
    dev, prod = (_observability(stage_config(s)) for s in ("dev", "prod"))
    assert _dimension_values(dev) and not _dimension_values(dev) & _dimension_values(prod)


def test_the_app_s_metrics_go_to_the_stage_s_namespace() -> None:
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    assert "POWERTOOLS_METRICS_NAMESPACE" not in config["environment_variables"]
    for stage in STAGES:
        env = config["stages"][stage]["environment_variables"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == metrics_namespace(stage)


def test_bounces_and_complaints_reach_an_encrypted_topic_ses_may_publish_to() -> None:
    resources = _observability(stage_config("dev"))["Resources"]
    destination = resources["MailEventsDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == "store-dev-email"
    event = destination["EventDestination"]
    assert {"BOUNCE", "COMPLAINT"} <= set(event["MatchingEventTypes"])
    assert event["SnsDestination"]["TopicARN"] == {"Ref": "MailEventsTopic"}
    assert resources["MailEventsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationsKey"}
    (statement,) = resources["MailEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"} and statement["Action"] == "sns:Publish"
