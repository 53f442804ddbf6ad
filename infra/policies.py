"""The Lambda functions' IAM policy, per stage: exactly what the code calls, on the stage's resources.

The ci stack (:mod:`infra.stacks.ci`) creates the role every function of the stage runs
as, ``store-<stage>-function``, with this policy inline and the stage's permissions
boundary. Chalice never writes IAM: ``.chalice/config.json`` sets
``manage_iam_role: false`` and names that role in each stage's ``iam_role_arn``, so a
code deploy can pass the role to Lambda but cannot change what it may do; only an
infrastructure deploy can. ``python -m infra policies --stage S`` prints the policy.

The function calls (and nothing more):
- DynamoDB item reads/writes, queries, batches and transaction parts on the stage's
  three tables and their indexes (PynamoDB also calls DescribeTable). Transactions are
  authorized per item action, so there is no separate transact permission.
- ``secretsmanager:GetSecretValue`` on the cursor-signing, origin-verify (``api/origin.py``)
  and payment secrets, and ``kms:Decrypt`` of the secrets key only when Secrets Manager
  asks for it on one of those secrets' behalf.
- ``ssm:GetParameter`` on the one parameter holding the storefront's origin (the edge
  stack writes it; Stripe Checkout's return URLs), read on the first payment.
- ``s3:PutObject`` under ``img/products/`` of the stage's images bucket, which the
  presigned image uploads it signs need.
- ``ses:SendEmail`` from the stage's sender address (its ``ses:FromAddress``), with
  the stage's configuration set.
- CloudWatch Logs for its own log groups (metrics go out as EMF log lines, so no
  ``cloudwatch:PutMetricData``), and X-Ray segments.
"""

from __future__ import annotations

import json
from typing import Any

from catalog_lambda.settings import default_images_bucket_name
from infra.config import (
    TABLES,
    cursor_secret_name,
    lambda_function_prefix,
    origin_secret_name,
    payment_secret_name,
    ses_configuration_set_name,
    site_url_parameter,
    stage_config,
    table_name,
)

DYNAMODB_ACTIONS = (
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
)
# X-Ray's write APIs have no resource-level permissions: "*" is the only valid resource.
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
WILDCARD_RESOURCE_ACTIONS = frozenset(XRAY_ACTIONS)
TABLES_WITH_INDEXES = ("products", "orders")


def _secret_statements(sid: str, secret: str, key: str) -> list[dict[str, Any]]:
    return [
        {"Sid": sid, "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret},
        {
            "Sid": f"{sid}Decrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            # The secrets key's id is random; the conditions pin its use to this one
            # secret, through Secrets Manager only.
            "Resource": key,
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "secretsmanager.*.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret,
                }
            },
        },
    ]


def lambda_policy(stage: str, *, partition: str = "aws", region: str = "*", account: str = "*") -> dict[str, Any]:
    """The policy; the template passes CloudFormation's ``${AWS::...}`` pseudo parameters for the ARN parts."""
    fn = lambda_function_prefix(stage)
    tables = []
    for table in TABLES:
        arn = f"arn:{partition}:dynamodb:{region}:{account}:table/{table_name(stage, table)}"
        tables.append(arn)
        if table in TABLES_WITH_INDEXES:
            tables.append(f"{arn}/index/*")
    secrets = f"arn:{partition}:secretsmanager:{region}:{account}:secret"
    secret = f"{secrets}:{cursor_secret_name(stage)}-*"
    payment = f"{secrets}:{payment_secret_name(stage)}-*"
    key = f"arn:{partition}:kms:{region}:{account}:key/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                # The API function is "<app>-<stage>", others "<app>-<stage>-<name>".
                "Resource": [
                    f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{fn}",
                    f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{fn}:*",
                    f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{fn}-*",
                ],
            },
            {"Sid": "Tables", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": tables},
            *_secret_statements("CursorKey", secret, key),
            *_secret_statements("OriginVerifyKey", f"{secrets}:{origin_secret_name(stage)}-*", key),
            *_secret_statements("PaymentKey", payment, key),
            # A hierarchical name's ARN is "parameter" + the name (which starts with "/").
            {"Sid": "SiteUrl", "Effect": "Allow", "Action": ["ssm:GetParameter"],
             "Resource": f"arn:{partition}:ssm:{region}:{account}:parameter{site_url_parameter(stage)}"},
            {"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
            # Signing an image upload's POST policy: S3 accepts the form only if the
            # signer may put that key (catalog_lambda/images.py).
            # Order emails (catalog_lambda/notifications.py): SendEmail is authorized on
            # the sending identity and on the configuration set; the From address is pinned.
            {"Sid": "OrderEmails", "Effect": "Allow", "Action": ["ses:SendEmail"],
             "Resource": [f"arn:{partition}:ses:{region}:{account}:identity/*",
                          f"arn:{partition}:ses:{region}:{account}:configuration-set/"
                          f"{ses_configuration_set_name(stage)}"],
             "Condition": {"StringEquals": {"ses:FromAddress": stage_config(stage).sender or "none@invalid"}}},
            {"Sid": "ProductImageUploads", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": f"arn:{partition}:s3:::{default_images_bucket_name(stage, account, region)}/img/products/*"},
        ],
    }


def render(stage: str) -> str:
    return json.dumps(lambda_policy(stage), indent=2) + "\n"
