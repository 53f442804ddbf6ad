"""Small helpers shared by the stack builders: templates, exports, tags, policies, buckets.

Everything returns troposphere objects; nothing here reads the environment or calls AWS.
"""

from __future__ import annotations

from typing import Any

from troposphere import (
    AWSObject,
    Export,
    GetAtt,
    ImportValue,
    Join,
    Output,
    Ref,
    Sub,
    Tag,
    Tags,
    Template,
    cloudfront,
    s3,
)

from infra.config import APP, StageConfig, export_name, permissions_boundary_name

ACCOUNT = "${AWS::AccountId}"
REGION = "${AWS::Region}"
PARTITION = "${AWS::Partition}"


def permissions_boundary_arn(cfg: StageConfig) -> Sub:
    """The stage's permissions boundary (ci stack): every role the stacks create carries it."""
    return Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{permissions_boundary_name(cfg.stage)}")

# checkov reads resource-level skips from CloudFormation Metadata. Only a handful of
# resources need one, each for a reason specific to that resource (the account-wide
# skips live in .checkov.yaml); every skip must carry a comment, which a test checks.
CHECKOV_METADATA_KEY = "checkov"


def new_template(cfg: StageConfig, stack: str, description: str) -> Template:
    template = Template(Description=f"{APP} ({cfg.stage}) {stack}: {description}")
    template.set_version("2010-09-09")
    return template


def tags(cfg: StageConfig, **extra: str) -> Tags:
    values: dict[str, str] = {"app": APP, "stage": cfg.stage}
    values.update(dict(cfg.tags))
    values.update(extra)
    return Tags(*(Tag(k, v) for k, v in sorted(values.items())))


def tag_list(cfg: StageConfig) -> list[dict[str, str]]:
    """Tags as plain key/value dicts, for resource types whose Tags are not a Tags list."""
    values: dict[str, str] = {"app": APP, "stage": cfg.stage, **dict(cfg.tags)}
    return [{"Key": k, "Value": v} for k, v in sorted(values.items())]


def export(template: Template, cfg: StageConfig, logical_id: str, name: str, value: Any,
           description: str, condition: str | None = None) -> None:
    """An output exported as ``store-<stage>-<name>`` for the other stacks to import."""
    output = Output(logical_id, Description=description, Value=value,
                    Export=Export(export_name(cfg.stage, name)))
    if condition:
        output.Condition = condition
    template.add_output(output)


def output(template: Template, logical_id: str, value: Any, description: str) -> None:
    template.add_output(Output(logical_id, Description=description, Value=value))


def import_value(cfg: StageConfig, name: str) -> ImportValue:
    return ImportValue(export_name(cfg.stage, name))


def sub_name(name: str) -> Sub:
    """A name with ``${AWS::...}`` pseudo parameters left for CloudFormation to fill."""
    return Sub(name)


def checkov_skip(resource: AWSObject, *skips: tuple[str, str]) -> AWSObject:
    """Attach resource-level checkov skips: ``(check id, why it does not apply here)``."""
    metadata = dict(getattr(resource, "Metadata", {}) or {})
    metadata[CHECKOV_METADATA_KEY] = {
        "skip": [{"id": check, "comment": reason} for check, reason in skips]
    }
    resource.Metadata = metadata
    return resource


# --- IAM policy documents (plain dicts: they are data) --------------------------------


def statement(sid: str, actions: list[str], resources: Any, condition: dict[str, Any] | None = None,
              effect: str = "Allow", principal: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        body["Principal"] = principal
    body["Action"] = sorted(actions)
    body["Resource"] = resources
    if condition:
        body["Condition"] = condition
    return body


def policy_document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role_policy(service: str) -> dict[str, Any]:
    return policy_document({
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sts:AssumeRole"],
    })


# --- buckets ----------------------------------------------------------------------------


def tls_only_statement(bucket: Any) -> dict[str, Any]:
    """Deny any request to the bucket that does not arrive over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [GetAtt(bucket, "Arn"), Join("", [GetAtt(bucket, "Arn"), "/*"])],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def private_bucket(logical_id: str, cfg: StageConfig, name: Any, *, log_bucket: Any = None,
                   log_prefix: str = "", object_ownership: str = "BucketOwnerEnforced",
                   noncurrent_days: int = 90, expire_days: int | None = None,
                   retain: bool = True) -> s3.Bucket:
    """A bucket that is private, versioned, encrypted and (optionally) access-logged."""
    rules = [
        s3.LifecycleRule(
            Id="expire-noncurrent-versions",
            Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=noncurrent_days),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
        )
    ]
    if expire_days is not None:
        rules.append(s3.LifecycleRule(Id="expire-objects", Status="Enabled", ExpirationInDays=expire_days))
    bucket = s3.Bucket(
        logical_id,
        BucketName=name,
        BucketEncryption=s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    BucketKeyEnabled=True,
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
                )
            ]
        ),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True,
        ),
        OwnershipControls=s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership=object_ownership)]
        ),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=rules),
        Tags=tags(cfg),
    )
    if log_bucket is not None:
        bucket.LoggingConfiguration = s3.LoggingConfiguration(
            DestinationBucketName=log_bucket, LogFilePrefix=log_prefix
        )
    if retain:
        bucket.DeletionPolicy = "Retain"
        bucket.UpdateReplacePolicy = "Retain"
    return bucket


def bucket_policy(logical_id: str, bucket: s3.Bucket, *statements: dict[str, Any]) -> s3.BucketPolicy:
    return s3.BucketPolicy(
        logical_id,
        Bucket=Ref(bucket),
        PolicyDocument=policy_document(tls_only_statement(bucket), *statements),
    )


def cloudfront_bucket(template: Template, cfg: StageConfig, kind: str, name: Any, *, keys: str,
                      sid: str) -> tuple[s3.Bucket, cloudfront.OriginAccessControl]:
    """A private bucket that only the stage's distribution reads, through OAC.

    ``kind`` names its resources (``site`` -> ``SiteBucket``, ``SiteOriginAccessControl``,
    ``SiteBucketPolicy``) and its access-log prefix; ``keys`` is the object pattern the
    distribution (``Distribution`` in the same template) may read.
    """
    title = kind.capitalize()
    bucket = template.add_resource(private_bucket(
        f"{title}Bucket", cfg, name,
        log_bucket=import_value(cfg, "access-logs-bucket"), log_prefix=f"s3/{kind}/", noncurrent_days=30,
    ))
    oac = template.add_resource(cloudfront.OriginAccessControl(
        f"{title}OriginAccessControl",
        OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
            Name=f"{cfg.prefix}-{kind}", OriginAccessControlOriginType="s3",
            SigningBehavior="always", SigningProtocol="sigv4",
        ),
    ))
    template.add_resource(bucket_policy(f"{title}BucketPolicy", bucket, {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": Join("", [GetAtt(bucket, "Arn"), f"/{keys}"]),
        "Condition": {"StringEquals": {"AWS:SourceArn": Sub(
            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}")}},
    }))
    return bucket, oac
