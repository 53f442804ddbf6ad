"""Observability stack: alarms on the store's health signals, their topic, a dashboard.

Alarms: the API function's errors, throttles and p99 duration, DynamoDB read/write
throttle events per table, and (with the container path) ALB and target 5xx counts.
Every alarm notifies one SNS topic with a required email subscription (``AlarmEmail``,
``StageConfig.alarm_email``).

The topic is encrypted with a customer-managed KMS key whose policy admits CloudWatch:
CloudWatch cannot use the AWS-managed ``alias/aws/sns`` key, so alarms published to a
topic encrypted with it are silently dropped. The same key encrypts the mail-events
topic, where SES publishes the bounces and complaints of the stage's configuration set.

Every metric here names the stage's own resources (function, tables, ALB) or lives in
the stage's own namespace (the app's EMF metrics, ``Store/<stage>``). API
Gateway's metrics do not: Chalice names every stage's REST API ``store`` with the stage
``api``, so in an account holding two stages, ``ApiName=store`` would count both. One
account per stage is still the recommendation (docs/deploy.md).
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Parameter, Ref, Sub, Template, cloudwatch, kms, ses, sns

from infra.config import (
    TABLES,
    StageConfig,
    lambda_function_prefix,
    metrics_namespace,
    ses_configuration_set_name,
    table_name,
)
from infra.stacks.common import ACCOUNT, PARTITION, new_template, output, policy_document, tags

PERIOD = 300
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
# SES event types the mail-events topic receives (the rest are delivery noise).
MAIL_EVENTS = ("BOUNCE", "COMPLAINT", "REJECT")


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
    function = lambda_function_prefix(cfg.stage)

    def widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Sum") -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
            "title": title, "region": "${AWS::Region}", "stat": stat, "period": PERIOD, "view": "timeSeries",
            "metrics": metrics,
        }}

    widgets = [
        widget("API function: invocations and errors", [
            ["AWS/Lambda", "Invocations", "FunctionName", function],
            ["AWS/Lambda", "Errors", "FunctionName", function],
            ["AWS/Lambda", "Throttles", "FunctionName", function],
        ], 0, 0),
        widget("API function: duration p99 (ms)", [["AWS/Lambda", "Duration", "FunctionName", function]], 12, 0,
               stat="p99"),
        widget("DynamoDB throttle events", [
            ["AWS/DynamoDB", name, "TableName", table_name(cfg.stage, table)]
            for table in TABLES for name in ("ReadThrottleEvents", "WriteThrottleEvents")
        ], 0, 6),
    ]
    if cfg.container_path:
        widgets.append(widget("ALB 5xx", [
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", "${AlbFullName}"],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "${AlbFullName}"],
        ], 12, 6))
    return json.dumps({"widgets": widgets}, sort_keys=True)


def _notifications_key(template: Template, cfg: StageConfig) -> kms.Key:
    """The key of the alarm and mail-events topics: CloudWatch and SES may use it to publish."""
    def service_may_publish(sid: str, service: str, **condition: Any) -> dict[str, Any]:
        body = {"Sid": sid, "Effect": "Allow", "Principal": {"Service": service},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}
        return {**body, "Condition": condition} if condition else body

    key = template.add_resource(kms.Key(
        "NotificationsKey",
        Description=f"{cfg.prefix}: encrypts the alarm and mail-events topics",
        EnableKeyRotation=True,
        PendingWindowInDays=30,
        KeyPolicy=policy_document(
            {"Sid": "AccountAdministersThroughIam", "Effect": "Allow",
             "Principal": {"AWS": Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
            # CloudWatch's statement is the one AWS documents for alarms on encrypted topics.
            service_may_publish("CloudWatchPublishesAlarms", "cloudwatch.amazonaws.com"),
            service_may_publish("SesPublishesMailEvents", "ses.amazonaws.com",
                                StringEquals={"aws:SourceAccount": Ref("AWS::AccountId")}),
        ),
        Tags=tags(cfg),
    ))
    template.add_resource(kms.Alias("NotificationsKeyAlias", AliasName=f"alias/{cfg.prefix}-notifications",
                                    TargetKeyId=Ref(key)))
    return key


def _alarm_topic(template: Template, cfg: StageConfig, key: kms.Key) -> sns.Topic:
    email = template.add_parameter(Parameter(
        "AlarmEmail", Type="String", AllowedPattern=EMAIL_PATTERN,
        ConstraintDescription="an email address: alarms must reach someone",
        Description="Who receives the alarms (required; StageConfig.alarm_email is the default)",
        **({"Default": cfg.alarm_email} if cfg.alarm_email else {}),
    ))
    topic = template.add_resource(sns.Topic(
        "AlarmTopic", TopicName=f"{cfg.prefix}-alarms", KmsMasterKeyId=Ref(key), Tags=tags(cfg),
    ))
    template.add_resource(sns.SubscriptionResource(
        "AlarmEmailSubscription", TopicArn=Ref(topic), Protocol="email", Endpoint=Ref(email),
    ))
    return topic


def _mail_events(template: Template, cfg: StageConfig, key: kms.Key) -> sns.Topic:
    """Bounces and complaints of the stage's SES configuration set (created by the auth stack)."""
    topic = template.add_resource(sns.Topic(
        "MailEventsTopic", TopicName=f"{cfg.prefix}-mail-events", KmsMasterKeyId=Ref(key), Tags=tags(cfg),
    ))
    template.add_resource(sns.TopicPolicy(
        "MailEventsTopicPolicy", Topics=[Ref(topic)], PolicyDocument=policy_document({
            "Sid": "SesPublishesMailEvents", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "sns:Publish", "Resource": Ref(topic),
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
        }),
    ))
    template.add_resource(ses.ConfigurationSetEventDestination(
        "MailEventsDestination",
        ConfigurationSetName=ses_configuration_set_name(cfg.stage),
        EventDestination=ses.EventDestination(
            Name="bounces-and-complaints", Enabled=True, MatchingEventTypes=list(MAIL_EVENTS),
            SnsDestination=ses.SnsDestination(TopicARN=Ref(topic)),
        ),
    ))
    return topic


def _alb_name(template: Template) -> Parameter:
    """A parameter, not an import, so the container stack may replace its ALB."""
    return template.add_parameter(Parameter(
        "LoadBalancerFullName", Type="String", MinLength=1,
        Description="The container stack's output LoadBalancerFullName, for the ALB's metrics "
                    "(python -m infra deploy reads it)",
    ))


def _alarms(cfg: StageConfig, topic: sns.Topic, alb_name: Parameter | None) -> list[cloudwatch.Alarm]:
    function = {"FunctionName": lambda_function_prefix(cfg.stage)}
    alarms = [
        _alarm("LambdaErrors", cfg, topic, description="The API function raised errors",
               namespace="AWS/Lambda", metric="Errors", dimensions=function, threshold=0),
        _alarm("LambdaThrottles", cfg, topic, description="The API function was throttled",
               namespace="AWS/Lambda", metric="Throttles", dimensions=function, threshold=0),
        _alarm("LambdaDurationP99", cfg, topic, description="API function p99 duration above 2 s for 10 minutes",
               namespace="AWS/Lambda", metric="Duration", dimensions=function, threshold=2000, extended="p99",
               periods=2),
    ]
    if alb_name is not None:
        alb = {"LoadBalancer": Ref(alb_name)}
        alarms += [
            _alarm("AlbElb5xx", cfg, topic, description="The ALB itself answered 5xx",
                   namespace="AWS/ApplicationELB", metric="HTTPCode_ELB_5XX_Count", dimensions=alb, threshold=5),
            _alarm("AlbTarget5xx", cfg, topic, description="site/server answered 5xx",
                   namespace="AWS/ApplicationELB", metric="HTTPCode_Target_5XX_Count", dimensions=alb, threshold=5),
        ]
    # The app's EMF metrics (api/observability.py), in the stage's own namespace.
    alarms.append(_alarm("PaymentMismatches", cfg, topic,
                         description="A completed payment did not match its order's total or currency "
                                     "(refunded, order unpaid): look for tampering or a pricing bug",
                         namespace=metrics_namespace(cfg.stage), metric="PaymentMismatches",
                         dimensions={"service": "store-api"}, threshold=0))
    alarms += [_throttle_alarm(f"{table.capitalize()}Throttles", cfg, topic, table) for table in TABLES]
    return alarms


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "observability", "alarms, alarm and mail-events topics, dashboard")
    key = _notifications_key(template, cfg)
    topic = _alarm_topic(template, cfg, key)
    mail_events = _mail_events(template, cfg, key)
    alb_name = _alb_name(template) if cfg.container_path else None
    for alarm in _alarms(cfg, topic, alb_name):
        template.add_resource(alarm)
    body = dashboard_body(cfg)
    template.add_resource(cloudwatch.Dashboard(
        "Dashboard", DashboardName=f"{cfg.prefix}-overview",
        DashboardBody=Sub(body, AlbFullName=Ref(alb_name)) if alb_name is not None else Sub(body),
    ))
    output(template, "AlarmTopicArn", Ref(topic), "SNS topic every alarm notifies")
    output(template, "MailEventsTopicArn", Ref(mail_events), "SNS topic of SES bounces and complaints")
    output(template, "NotificationsKeyArn", GetAtt(key, "Arn"), "KMS key of both topics")
    return template
