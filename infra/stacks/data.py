"""Data stack: the DynamoDB tables and the buckets that hold the store's state.

Table key schemas, attribute definitions and global secondary indexes are derived
from the PynamoDB models (``catalog_lambda.models.TABLE_SHAPES``) and Powertools'
idempotency layout, so the deployed tables cannot drift from what the code queries.
No table has a stream: nothing in the app consumes one.

Buckets:
- the Chalice deployment-state bucket (``.chalice/deployed/`` is kept there by the
  delivery workflows), private and versioned;
- the access-log bucket, where S3 server access logs, the ALB and CloudFront write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model
from troposphere import GetAtt, Ref, Sub, Template, dynamodb

from catalog_lambda.models import IDEMPOTENCY_KEY_ATTR, IDEMPOTENCY_TTL_ATTR, TABLE_SHAPES
from infra.config import StageConfig, logs_bucket_name, state_bucket_name, table_name
from infra.stacks.common import (
    ACCOUNT,
    PARTITION,
    REGION,
    bucket_policy,
    checkov_skip,
    export,
    new_template,
    private_bucket,
    tags,
)

KeyElement = tuple[str, str]  # (attribute name, HASH | RANGE)

# Regions that predate the log-delivery service principal deliver ALB logs from a
# regional Elastic Load Balancing account (AWS docs, "Enable access logs for your ALB").
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "sa-east-1": "507241528517",
}


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[KeyElement, ...]
    projection: str


@dataclass(frozen=True)
class TableShape:
    """A table's key design, independent of PynamoDB and CloudFormation spellings."""

    keys: tuple[KeyElement, ...]
    attributes: tuple[tuple[str, str], ...]  # (name, S | N | B), sorted by name
    indexes: tuple[IndexShape, ...] = ()
    ttl_attribute: str = ""


def _ordered_keys(elements: list[dict[str, str]]) -> tuple[KeyElement, ...]:
    # DynamoDB requires the HASH element first; PynamoDB lists them in attribute order.
    pairs = [(e["AttributeName"], e["KeyType"]) for e in elements]
    return tuple(sorted(pairs, key=lambda pair: pair[1] != "HASH"))


def shape_from_model(model: type[Model]) -> TableShape:
    schema: dict[str, Any] = dict(model._get_schema())
    attributes = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    indexes = []
    for index in schema.get("global_secondary_indexes", []):
        for attr in index.get("attribute_definitions", []):
            attributes[attr["AttributeName"]] = attr["AttributeType"]
        indexes.append(IndexShape(
            name=index["index_name"],
            keys=_ordered_keys(index["key_schema"]),
            projection=index["projection"]["ProjectionType"],
        ))
    if schema.get("local_secondary_indexes"):
        raise NotImplementedError("local secondary indexes are not used by the store")
    return TableShape(
        keys=_ordered_keys(schema["key_schema"]),
        attributes=tuple(sorted(attributes.items())),
        indexes=tuple(sorted(indexes, key=lambda i: i.name)),
    )


def idempotency_shape() -> TableShape:
    """Powertools' DynamoDBPersistenceLayer default: string key ``id``, TTL ``expiration``."""
    return TableShape(
        keys=((IDEMPOTENCY_KEY_ATTR, "HASH"),),
        attributes=((IDEMPOTENCY_KEY_ATTR, "S"),),
        ttl_attribute=IDEMPOTENCY_TTL_ATTR,
    )


def table_shapes() -> dict[str, TableShape]:
    shapes = {name: shape_from_model(model) for name, model in sorted(TABLE_SHAPES.items())}
    shapes["idempotency"] = idempotency_shape()
    return shapes


def _key_schema(keys: tuple[KeyElement, ...]) -> list[dynamodb.KeySchema]:
    return [dynamodb.KeySchema(AttributeName=name, KeyType=kind) for name, kind in keys]


def table_resource(logical_id: str, cfg: StageConfig, table: str, shape: TableShape) -> dynamodb.Table:
    resource = dynamodb.Table(
        logical_id,
        TableName=table_name(cfg.stage, table),
        BillingMode="PAY_PER_REQUEST",
        KeySchema=_key_schema(shape.keys),
        AttributeDefinitions=[
            dynamodb.AttributeDefinition(AttributeName=name, AttributeType=kind) for name, kind in shape.attributes
        ],
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True
        ),
        DeletionProtectionEnabled=True,
        # KMS with the AWS-managed key (aws/dynamodb); see .checkov.yaml (CKV_AWS_119).
        SSESpecification=dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS"),
        Tags=tags(cfg, table=table),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )
    if shape.indexes:
        resource.GlobalSecondaryIndexes = [
            dynamodb.GlobalSecondaryIndex(
                IndexName=index.name,
                KeySchema=_key_schema(index.keys),
                Projection=dynamodb.Projection(ProjectionType=index.projection),
            )
            for index in shape.indexes
        ]
    if shape.ttl_attribute:
        resource.TimeToLiveSpecification = dynamodb.TimeToLiveSpecification(
            AttributeName=shape.ttl_attribute, Enabled=True
        )
    return resource


def _legacy_elb_statement(cfg: StageConfig) -> list[dict[str, Any]]:
    """Regions older than the log-delivery principal also need their ELB account (none for newer ones)."""
    account = ELB_LOG_ACCOUNTS.get(cfg.region)
    if account is None:
        return []
    return [{
        "Sid": "AlbAccessLogsLegacyRegion",
        "Effect": "Allow",
        "Principal": {"AWS": Sub(f"arn:{PARTITION}:iam::{account}:root")},
        "Action": "s3:PutObject",
        "Resource": Sub(f"${{AccessLogsBucket.Arn}}/alb/AWSLogs/{ACCOUNT}/*"),
    }]


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "data", "DynamoDB tables, Chalice state bucket, access-log bucket")

    for table, shape in table_shapes().items():
        logical = f"{table.capitalize()}Table"
        resource = template.add_resource(table_resource(logical, cfg, table, shape))
        export(template, cfg, f"{logical}Name", f"{table}-table-name", Ref(resource), f"{table} table name")
        export(template, cfg, f"{logical}Arn", f"{table}-table-arn", GetAtt(resource, "Arn"), f"{table} table ARN")

    logs_bucket = template.add_resource(checkov_skip(
        private_bucket(
            "AccessLogsBucket", cfg, Sub(logs_bucket_name(cfg.stage, ACCOUNT, REGION)),
            # CloudFront's standard logs are delivered through bucket ACLs.
            object_ownership="BucketOwnerPreferred", noncurrent_days=30,
            expire_days=max(cfg.log_retention_days, 90),
        ),
        ("CKV_AWS_18", "this is the access-log bucket itself; logging it into itself would loop"),
    ))
    template.add_resource(bucket_policy(
        "AccessLogsBucketPolicy", logs_bucket,
        {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": Sub("${AccessLogsBucket.Arn}/s3/*"),
            "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}},
        },
        *_legacy_elb_statement(cfg),
        {
            "Sid": "AlbAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": Sub(f"${{AccessLogsBucket.Arn}}/alb/AWSLogs/{ACCOUNT}/*"),
        },
    ))

    state = template.add_resource(private_bucket(
        "ChaliceStateBucket", cfg, Sub(state_bucket_name(cfg.stage, ACCOUNT, REGION)),
        log_bucket=Ref(logs_bucket), log_prefix="s3/chalice-state/",
    ))
    template.add_resource(bucket_policy("ChaliceStateBucketPolicy", state))

    export(template, cfg, "ChaliceStateBucketName", "chalice-state-bucket", Ref(state),
           "Bucket that keeps .chalice/deployed/ between deploys")
    export(template, cfg, "AccessLogsBucketName", "access-logs-bucket", Ref(logs_bucket), "Access-log bucket")
    export(template, cfg, "AccessLogsBucketDomain", "access-logs-bucket-domain",
           GetAtt(logs_bucket, "DomainName"), "Access-log bucket domain (CloudFront logging)")
    return template
