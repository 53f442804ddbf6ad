"""The Chalice function's IAM policy, per stage: exactly what the code calls, on the stage's resources.

``.chalice/config.json`` sets ``autogen_policy: false`` and points each stage at
``.chalice/policy-<stage>.json``. Those files are generated from here
(``python -m infra policies --write``) and a test fails if the committed files differ.

The function calls (and nothing more):
- DynamoDB item reads/writes, queries, batches and transaction parts on the stage's
  three tables and their indexes (PynamoDB also calls DescribeTable). Transactions are
  authorized per item action, so there is no separate transact permission.
- ``secretsmanager:GetSecretValue`` on the cursor-signing, origin-verify (``api/origin.py``)
  and payment secrets, and ``kms:Decrypt`` of the secrets key only when Secrets Manager
  asks for it on one of those secrets' behalf.
- ``s3:PutObject`` under ``img/products/`` of the stage's images bucket, which the
  presigned image uploads it signs need.
- ``ses:SendEmail`` from the stage's sender address (its ``ses:FromAddress``), with
  the stage's configuration set.
- CloudWatch Logs for its own log groups (metrics go out as EMF log lines, so no
  ``cloudwatch:PutMetricData``), and X-Ray segments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog_lambda.settings import default_images_bucket_name
from infra.config import (
    STAGES,
    TABLES,
    cursor_secret_name,
    lambda_function_prefix,
    origin_secret_name,
    payment_secret_name,
    ses_configuration_set_name,
    stage_config,
    table_name,
)

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHALICE_DIR = PROJECT_DIR / ".chalice"

DYNAMODB_ACTIONS = (
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
    "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
)
# X-Ray's write APIs have no resource-level permissions: "*" is the only valid resource.
XRAY_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
WILDCARD_RESOURCE_ACTIONS = frozenset(XRAY_ACTIONS)
TABLES_WITH_INDEXES = ("products", "orders")


def policy_path(stage: str) -> Path:
    return CHALICE_DIR / f"policy-{stage}.json"


def _secret_statements(sid: str, secret: str) -> list[dict[str, Any]]:
    return [
        {"Sid": sid, "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": secret},
        {
            "Sid": f"{sid}Decrypt",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            # The secrets key's id is random; the conditions pin its use to this one
            # secret, through Secrets Manager only.
            "Resource": "arn:aws:kms:*:*:key/*",
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "secretsmanager.*.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret,
                }
            },
        },
    ]


def lambda_policy(stage: str) -> dict[str, Any]:
    fn = lambda_function_prefix(stage)
    tables = []
    for table in TABLES:
        arn = f"arn:aws:dynamodb:*:*:table/{table_name(stage, table)}"
        tables.append(arn)
        if table in TABLES_WITH_INDEXES:
            tables.append(f"{arn}/index/*")
    secret = f"arn:aws:secretsmanager:*:*:secret:{cursor_secret_name(stage)}-*"
    payment = f"arn:aws:secretsmanager:*:*:secret:{payment_secret_name(stage)}-*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                # The API function is "<app>-<stage>", others "<app>-<stage>-<name>".
                "Resource": [
                    f"arn:aws:logs:*:*:log-group:/aws/lambda/{fn}",
                    f"arn:aws:logs:*:*:log-group:/aws/lambda/{fn}:*",
                    f"arn:aws:logs:*:*:log-group:/aws/lambda/{fn}-*",
                ],
            },
            {"Sid": "Tables", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": tables},
            *_secret_statements("CursorKey", secret),
            *_secret_statements(
                "OriginVerifyKey", f"arn:aws:secretsmanager:*:*:secret:{origin_secret_name(stage)}-*"),
            *_secret_statements("PaymentKey", payment),
            {"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
            # Signing an image upload's POST policy: S3 accepts the form only if the
            # signer may put that key (catalog_lambda/images.py).
            # Order emails (catalog_lambda/notifications.py): SendEmail is authorized on
            # the sending identity and on the configuration set; the From address is pinned.
            {"Sid": "OrderEmails", "Effect": "Allow", "Action": ["ses:SendEmail"],
             "Resource": ["arn:aws:ses:*:*:identity/*",
                          f"arn:aws:ses:*:*:configuration-set/{ses_configuration_set_name(stage)}"],
             "Condition": {"StringEquals": {"ses:FromAddress": stage_config(stage).sender or "none@invalid"}}},
            {"Sid": "ProductImageUploads", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": f"arn:aws:s3:::{default_images_bucket_name(stage, '*', '*')}/img/products/*"},
        ],
    }


def render(stage: str) -> str:
    return json.dumps(lambda_policy(stage), indent=2) + "\n"


def write_all() -> list[Path]:
    written = []
    for stage in sorted(STAGES):
        path = policy_path(stage)
        path.write_text(render(stage), encoding="utf-8")
        written.append(path)
    return written
