"""Observability stack: alarms on the store's health signals, an SNS topic, a dashboard.

Alarms: API Gateway 5xx count and p99 latency, the API Lambda's errors and throttles,
DynamoDB read/write throttle events per table, ALB and target 5xx counts. Every alarm
notifies one SNS topic (with an optional email subscription).

API Gateway metrics are keyed by the REST API's name, which Chalice sets to the app's
name (``store``) in every stage: keep each stage in its own account (or region), or
the API alarms of two stages would watch the same metrics.
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import Equals, Not, Parameter, Ref, Sub, Template, cloudwatch, sns

from infra.config import API_STAGE_NAME, APP, TABLES, StageConfig, lambda_function_prefix, table_name
from infra.stacks.common import new_template, output, tags

PERIOD = 300


def _alarm(logical_id: str, cfg: StageConfig, topic: sns.Topic, *, description: str, namespace: str,
           metric: str, dimensions: dict[str, Any], threshold: float, statistic: str = "Sum",
           extended: str = "", periods: int = 1) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        logical_id,
        AlarmName=f"{cfg.prefix}-{logical_id}",
        AlarmDescription=description,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        Period=PERIOD,
        EvaluationPeriods=periods,
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)],
        OKActions=[Ref(topic)],
    )
    if extended:
        alarm.ExtendedStatistic = extended
    else:
        alarm.Statistic = statistic
    return alarm


def _throttle_alarm(logical_id: str, cfg: StageConfig, topic: sns.Topic, table: str) -> cloudwatch.Alarm:
    def metric(metric_id: str, name: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(
            Id=metric_id, ReturnData=False,
            MetricStat=cloudwatch.MetricStat(
                Metric=cloudwatch.Metric(Namespace="AWS/DynamoDB", MetricName=name, Dimensions=[
                    cloudwatch.MetricDimension(Name="TableName", Value=table_name(cfg.stage, table))]),
                Period=PERIOD, Stat="Sum",
            ),
        )

    return cloudwatch.Alarm(
        logical_id,
        AlarmName=f"{cfg.prefix}-{logical_id}",
        AlarmDescription=f"DynamoDB throttled reads or writes on {table_name(cfg.stage, table)}",
        Metrics=[
            metric("reads", "ReadThrottleEvents"),
            metric("writes", "WriteThrottleEvents"),
            cloudwatch.MetricDataQuery(Id="throttles", Expression="reads + writes", Label="throttle events",
                                       ReturnData=True),
        ],
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)],
        OKActions=[Ref(topic)],
    )


def dashboard_body(cfg: StageConfig) -> str:
    """CloudWatch dashboard JSON; ``${...}`` placeholders are filled by Fn::Sub."""
    api = {"ApiName": APP, "Stage": API_STAGE_NAME}
    function = lambda_function_prefix(cfg.stage)

    def widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
            "title": title, "region": "${AWS::Region}", "stat": stat, "period": PERIOD, "view": "timeSeries",
            "metrics": metrics,
        }}

    widgets = [
        widget("API requests and errors", [
            ["AWS/ApiGateway", "Count", *_flat(api)],
            ["AWS/ApiGateway", "4XXError", *_flat(api)],
            ["AWS/ApiGateway", "5XXError", *_flat(api)],
        ], 0, 0),
        widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *_flat(api)]], 12, 0, stat="p99"),
        widget("Lambda errors and throttles", [
            ["AWS/Lambda", "Errors", "FunctionName", function],
            ["AWS/Lambda", "Throttles", "FunctionName", function],
        ], 0, 6),
        widget("DynamoDB throttle events", [
            ["AWS/DynamoDB", name, "TableName", table_name(cfg.stage, table)]
            for table in TABLES for name in ("ReadThrottleEvents", "WriteThrottleEvents")
        ], 12, 6),
        widget("ALB 5xx", [
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", "${AlbFullName}"],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "${AlbFullName}"],
        ], 0, 12),
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)


def _flat(dimensions: dict[str, str]) -> list[str]:
    return [part for pair in dimensions.items() for part in pair]


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "observability", "alarms, alarm topic, dashboard")
    email = template.add_parameter(Parameter(
        "AlarmEmail", Type="String", Default=cfg.alarm_email, Description="Email that receives alarms (optional)",
    ))
    template.add_condition("HasEmail", Not(Equals(Ref(email), "")))
    # A parameter, not an import, so the container stack may replace its ALB.
    alb_name = template.add_parameter(Parameter(
        "LoadBalancerFullName", Type="String", MinLength=1,
        Description="The container stack's output LoadBalancerFullName, for the ALB's metrics "
                    "(python -m infra deploy reads it)",
    ))

    topic = template.add_resource(sns.Topic(
        "AlarmTopic", TopicName=f"{cfg.prefix}-alarms", KmsMasterKeyId="alias/aws/sns", Tags=tags(cfg),
    ))
    template.add_resource(sns.SubscriptionResource(
        "AlarmEmailSubscription", Condition="HasEmail", TopicArn=Ref(topic), Protocol="email", Endpoint=Ref(email),
    ))

    api = {"ApiName": APP, "Stage": API_STAGE_NAME}
    function = {"FunctionName": lambda_function_prefix(cfg.stage)}
    alb = {"LoadBalancer": Ref(alb_name)}
    alarms = [
        _alarm("Api5xx", cfg, topic, description="API Gateway answered 5xx more than 5 times in 5 minutes",
               namespace="AWS/ApiGateway", metric="5XXError", dimensions=api, threshold=5),
        _alarm("ApiLatencyP99", cfg, topic, description="API p99 latency above 2 s for 10 minutes",
               namespace="AWS/ApiGateway", metric="Latency", dimensions=api, threshold=2000, extended="p99",
               periods=2),
        _alarm("LambdaErrors", cfg, topic, description="The API function raised errors",
               namespace="AWS/Lambda", metric="Errors", dimensions=function, threshold=0),
        _alarm("LambdaThrottles", cfg, topic, description="The API function was throttled",
               namespace="AWS/Lambda", metric="Throttles", dimensions=function, threshold=0),
        _alarm("AlbElb5xx", cfg, topic, description="The ALB itself answered 5xx",
               namespace="AWS/ApplicationELB", metric="HTTPCode_ELB_5XX_Count", dimensions=alb, threshold=5),
        _alarm("AlbTarget5xx", cfg, topic, description="site/server answered 5xx",
               namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count", dimensions=alb, threshold=5),
    ]
    alarms += [_throttle_alarm(f"{table.capitalize()}Throttles", cfg, topic, table) for table in TABLES]
    for alarm in alarms:
        template.add_resource(alarm)

    template.add_resource(cloudwatch.Dashboard(
        "Dashboard", DashboardName=f"{cfg.prefix}-overview",
        DashboardBody=Sub(dashboard_body(cfg), AlbFullName=Ref(alb_name)),
    ))
    output(template, "AlarmTopicArn", Ref(topic), "SNS topic every alarm notifies")
    return template
