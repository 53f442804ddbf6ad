"""Secrets stack: a KMS key and the Secrets Manager secrets the app and the edge read.

- ``store/<stage>/cursor-signing-key``: signs pagination cursors. The app reads it
  through Powertools' parameters utility (cached five minutes); locally the emulator
  holds it (``infra.local.bootstrap``).
- ``store/<stage>/payment``: JSON ``{"webhook_secret", "api_key"}``, the payment
  provider's webhook signing secret and API key. Created with a random placeholder
  webhook secret and an empty key: the operator puts Stripe's values in once
  (docs/payments.md); the app reads it through Powertools' parameters utility.
- ``store/<stage>/origin-verify``: CloudFront sends it to the ALB as a header and the
  ALB refuses requests without it, so the container is reachable only through
  CloudFront. Both stacks read it with a ``{{resolve:secretsmanager:...}}`` reference.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, kms, secretsmanager

from infra.config import StageConfig, cursor_secret_name, origin_secret_name, payment_secret_name
from infra.stacks.common import ACCOUNT, PARTITION, export, new_template, policy_document, tags


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "secrets", "KMS key and Secrets Manager secrets")

    key = template.add_resource(kms.Key(
        "SecretsKey",
        Description=f"{cfg.prefix}: encrypts the store's secrets",
        EnableKeyRotation=True,
        PendingWindowInDays=30,
        # Key administration and use are delegated to IAM policies in this account;
        # the app's policies allow kms:Decrypt only through Secrets Manager.
        KeyPolicy=policy_document({
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": Sub(f"arn:{PARTITION}:iam::{ACCOUNT}:root")},
            "Action": "kms:*",
            "Resource": "*",
        }),
        Tags=tags(cfg),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))
    template.add_resource(kms.Alias(
        "SecretsKeyAlias", AliasName=f"alias/{cfg.prefix}-secrets", TargetKeyId=Ref(key),
    ))

    cursor = template.add_resource(secretsmanager.Secret(
        "CursorSigningKey",
        Name=cursor_secret_name(cfg.stage),
        Description="HMAC key that signs the API's pagination cursors",
        KmsKeyId=Ref(key),
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=64, ExcludePunctuation=True),
        Tags=tags(cfg),
    ))
    payment = template.add_resource(secretsmanager.Secret(
        "PaymentSecret",
        Name=payment_secret_name(cfg.stage),
        Description="Payment provider: webhook signing secret and API key (JSON), set by the operator",
        KmsKeyId=Ref(key),
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate='{"api_key": ""}', GenerateStringKey="webhook_secret", PasswordLength=48,
            ExcludePunctuation=True),
        Tags=tags(cfg),
    ))
    origin = template.add_resource(secretsmanager.Secret(
        "OriginVerifySecret",
        Name=origin_secret_name(cfg.stage),
        Description="Header value CloudFront sends to the ALB; the ALB refuses requests without it",
        KmsKeyId=Ref(key),
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=48, ExcludePunctuation=True),
        Tags=tags(cfg),
    ))

    export(template, cfg, "SecretsKeyArn", "secrets-key-arn", GetAtt(key, "Arn"), "KMS key for the secrets")
    export(template, cfg, "CursorSecretArn", "cursor-secret-arn", Ref(cursor), "Cursor-signing secret")
    export(template, cfg, "PaymentSecretArn", "payment-secret-arn", Ref(payment), "Payment provider secret")
    export(template, cfg, "OriginVerifySecretArn", "origin-secret-arn", Ref(origin), "Origin-verify secret")
    return template
