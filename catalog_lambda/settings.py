"""Every environment variable the app reads, in one place.

Everything else receives a :class:`Settings`; an explicit argument always wins over
the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlparse

# Environment variable names (the only place they are spelled out).
ENV_STAGE = "STAGE"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_ENDPOINT = "AWS_ENDPOINT_URL"
ENV_PRODUCTS_TABLE = "PRODUCTS_TABLE"
ENV_ORDERS_TABLE = "ORDERS_TABLE"
ENV_IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
ENV_AUTH_MODE = "AUTH_MODE"
ENV_COGNITO_POOL_ID = "COGNITO_USER_POOL_ID"
ENV_COGNITO_CLIENT_ID = "COGNITO_CLIENT_ID"
ENV_COGNITO_ISSUER = "COGNITO_ISSUER"
ENV_COGNITO_JWKS_URL = "COGNITO_JWKS_URL"
ENV_CURSOR_KEY = "CURSOR_SIGNING_KEY"
ENV_CURSOR_SECRET_NAME = "CURSOR_SECRET_NAME"
ENV_ORIGIN_SECRET_NAME = "ORIGIN_SECRET_NAME"
ENV_VERSION = "APP_VERSION"
ENV_LAMBDA_NAME = "AWS_LAMBDA_FUNCTION_NAME"
ENV_IMPORTS_BUCKET = "IMPORTS_BUCKET"
ENV_IMAGES_BUCKET = "IMAGES_BUCKET"
ENV_EMAIL_SENDER = "EMAIL_SENDER"
ENV_SES_CONFIGURATION_SET = "SES_CONFIGURATION_SET"

AUTH_MODE_GATEWAY = "gateway"
AUTH_MODE_LOCAL = "local"

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class SettingsError(RuntimeError):
    """The environment describes an unsafe or incomplete configuration."""


def default_table_name(stage: str, table: str) -> str:
    """Deterministic per-stage table names, shared by infra/ and the local stack."""
    return f"store-{stage}-{table}"


def default_images_bucket_name(stage: str, account_id: str, region: str) -> str:
    """The images bucket's name, shared by infra/ and the function (bucket names are global)."""
    return f"store-{stage}-images-{account_id}-{region}"


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    products_table: str = ""
    orders_table: str = ""
    idempotency_table: str = ""
    auth_mode: str = AUTH_MODE_GATEWAY
    cognito_pool_id: str = ""
    cognito_client_id: str = ""
    cognito_issuer: str = ""
    cognito_jwks_url: str = ""
    cursor_signing_key: str = ""
    cursor_secret_name: str = ""
    # The secret CloudFront sends as X-Origin-Verify (api/origin.py); empty: no check (local).
    origin_secret_name: str = ""
    version: str = "0.1.0"
    in_lambda: bool = False
    # The bucket whose imports/ prefix triggers the bulk import; empty: no trigger.
    imports_bucket: str = ""
    # The private bucket of product images (its img/ prefix is served at /img/*); empty:
    # derived from stage, account and region (infra.config.images_bucket_name).
    images_bucket: str = ""
    # The From address of order emails (an SES-verified identity), and the SES
    # configuration set that routes bounces and complaints; empty sender: no emails.
    email_sender: str = ""
    ses_configuration_set: str = ""

    def __post_init__(self) -> None:
        for name in ("products_table", "orders_table", "idempotency_table"):
            if not getattr(self, name):
                object.__setattr__(
                    self, name, default_table_name(self.stage, name.removesuffix("_table"))
                )
        if self.auth_mode not in (AUTH_MODE_GATEWAY, AUTH_MODE_LOCAL):
            raise SettingsError(f"{ENV_AUTH_MODE} must be 'gateway' or 'local', not {self.auth_mode!r}")
        if self.auth_mode == AUTH_MODE_LOCAL:
            self._check_local_auth_is_safe()

    def _check_local_auth_is_safe(self) -> None:
        # The emulator's signing key is public (bundled with moto), so tokens it
        # accepts are forgeable by anyone: a deployed function must never trust it.
        if self.in_lambda:
            raise SettingsError("AUTH_MODE=local is refused inside AWS Lambda")
        host = urlparse(self.cognito_jwks_url).hostname or ""
        if host not in _LOOPBACK_HOSTS:
            raise SettingsError(
                f"AUTH_MODE=local needs {ENV_COGNITO_JWKS_URL} on a loopback host, got {host!r}"
            )
        if not (self.cognito_client_id and self.cognito_issuer):
            raise SettingsError(
                f"AUTH_MODE=local needs {ENV_COGNITO_CLIENT_ID} and {ENV_COGNITO_ISSUER}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        region = env.get(ENV_REGION) or env.get(ENV_DEFAULT_REGION) or "us-east-1"
        pool = env.get(ENV_COGNITO_POOL_ID, "")
        issuer = env.get(ENV_COGNITO_ISSUER, "")
        if not issuer and pool:
            issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool}"
        return cls(
            stage=env.get(ENV_STAGE, "dev"),
            region=region,
            endpoint_url=env.get(ENV_ENDPOINT) or None,
            products_table=env.get(ENV_PRODUCTS_TABLE, ""),
            orders_table=env.get(ENV_ORDERS_TABLE, ""),
            idempotency_table=env.get(ENV_IDEMPOTENCY_TABLE, ""),
            auth_mode=env.get(ENV_AUTH_MODE, AUTH_MODE_GATEWAY),
            cognito_pool_id=pool,
            cognito_client_id=env.get(ENV_COGNITO_CLIENT_ID, ""),
            cognito_issuer=issuer,
            cognito_jwks_url=env.get(ENV_COGNITO_JWKS_URL, ""),
            cursor_signing_key=env.get(ENV_CURSOR_KEY, ""),
            cursor_secret_name=env.get(ENV_CURSOR_SECRET_NAME, ""),
            origin_secret_name=env.get(ENV_ORIGIN_SECRET_NAME, ""),
            version=env.get(ENV_VERSION, "0.1.0"),
            in_lambda=bool(env.get(ENV_LAMBDA_NAME)) and not env.get("AWS_CHALICE_CLI_MODE"),
            imports_bucket=env.get(ENV_IMPORTS_BUCKET, ""),
            images_bucket=env.get(ENV_IMAGES_BUCKET, ""),
            email_sender=env.get(ENV_EMAIL_SENDER, ""),
            ses_configuration_set=env.get(ENV_SES_CONFIGURATION_SET, ""),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
