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
# Set only by the deploy / package tooling: attaches API Gateway's Cognito authorizer.
ENV_AUTHORIZER_POOL_ARNS = "API_COGNITO_POOL_ARNS"
# Selling: how long an unpaid order holds its stock, the sweep, limits, shipping, payments.
ENV_ORDER_HOLD_SECONDS = "ORDER_HOLD_SECONDS"
ENV_EXPIRY_SWEEP_SECONDS = "EXPIRY_SWEEP_SECONDS"
ENV_MAX_PENDING_ORDERS = "MAX_PENDING_ORDERS"
ENV_SHIPPING_FLAT_CENTS = "SHIPPING_FLAT_CENTS"
ENV_FREE_SHIPPING_OVER_CENTS = "FREE_SHIPPING_OVER_CENTS"
ENV_PAYMENT_PROVIDER = "PAYMENT_PROVIDER"
ENV_PAYMENT_SECRET_NAME = "PAYMENT_SECRET_NAME"
ENV_PAYMENT_WEBHOOK_SECRET = "PAYMENT_WEBHOOK_SECRET"
ENV_STRIPE_API_KEY = "STRIPE_API_KEY"
ENV_STRIPE_API_BASE = "STRIPE_API_BASE"
ENV_SITE_URL = "SITE_URL"
# The settings `make dev` passes through to every process it starts.
SELL_ENV_NAMES = (ENV_ORDER_HOLD_SECONDS, ENV_EXPIRY_SWEEP_SECONDS, ENV_MAX_PENDING_ORDERS,
                  ENV_SHIPPING_FLAT_CENTS, ENV_FREE_SHIPPING_OVER_CENTS, ENV_PAYMENT_PROVIDER)
ENV_IMAGES_BUCKET = "IMAGES_BUCKET"
ENV_EMAIL_SENDER = "EMAIL_SENDER"
ENV_SES_CONFIGURATION_SET = "SES_CONFIGURATION_SET"
# Set by the Chalice CLI (chalice local / package / deploy) while it loads app.py; never in Lambda.
ENV_CHALICE_CLI_MODE = "AWS_CHALICE_CLI_MODE"

AUTH_MODE_GATEWAY = "gateway"
AUTH_MODE_LOCAL = "local"

PAYMENT_PROVIDER_STRIPE = "stripe"
PAYMENT_PROVIDER_LOCAL = "local"
PAYMENT_PROVIDERS = (PAYMENT_PROVIDER_STRIPE, PAYMENT_PROVIDER_LOCAL)

# The storefront's https origin in a deployed stage: an SSM String parameter the edge
# stack writes (infra/stacks/edge.py), read by the stripe provider on its first payment
# when SITE_URL is not set (catalog_lambda/services.py), cached this many seconds.
SITE_URL_PARAMETER = "/store/{stage}/site-url"
SITE_URL_PARAMETER_MAX_AGE = 300

DEFAULT_ORDER_HOLD_SECONDS = 900
DEFAULT_EXPIRY_SWEEP_SECONDS = 30
DEFAULT_MAX_PENDING_ORDERS = 3
DEFAULT_SHIPPING_FLAT_CENTS = 500
DEFAULT_FREE_SHIPPING_OVER_CENTS = 5000

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class SettingsError(RuntimeError):
    """The environment describes an unsafe or incomplete configuration."""


def default_table_name(stage: str, table: str) -> str:
    """Deterministic per-stage table names, shared by infra/ and the local stack."""
    return f"store-{stage}-{table}"


def site_url_parameter_name(stage: str) -> str:
    """The SSM parameter holding the stage's storefront origin (shared by infra/ and the function)."""
    return SITE_URL_PARAMETER.format(stage=stage)


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
    # The Cognito pools of API Gateway's authorizer (deployed only); empty: no authorizer.
    authorizer_pool_arns: tuple[str, ...] = ()
    order_hold_seconds: int = DEFAULT_ORDER_HOLD_SECONDS
    expiry_sweep_seconds: int = DEFAULT_EXPIRY_SWEEP_SECONDS
    max_pending_orders: int = DEFAULT_MAX_PENDING_ORDERS
    shipping_flat_cents: int = DEFAULT_SHIPPING_FLAT_CENTS
    free_shipping_over_cents: int = DEFAULT_FREE_SHIPPING_OVER_CENTS
    # Empty: stripe inside Lambda, local elsewhere.
    payment_provider: str = ""
    # The payment secret: a JSON object {"webhook_secret", "api_key"} in Secrets Manager,
    # or (local stack, tests) the values themselves.
    payment_secret_name: str = ""
    payment_webhook_secret: str = ""
    stripe_api_key: str = ""
    # Only tests point the Stripe SDK elsewhere (a local stand-in for Stripe's API).
    stripe_api_base: str = ""
    # The storefront's public origin, for the payment page's return URLs ("" = relative
    # for the local provider; the stripe provider then reads SITE_URL_PARAMETER).
    site_url: str = ""
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
        self._check_selling()

    def _check_selling(self) -> None:
        if not self.payment_provider:
            chosen = PAYMENT_PROVIDER_STRIPE if self.in_lambda else PAYMENT_PROVIDER_LOCAL
            object.__setattr__(self, "payment_provider", chosen)
        if self.payment_provider not in PAYMENT_PROVIDERS:
            raise SettingsError(f"{ENV_PAYMENT_PROVIDER} must be one of {PAYMENT_PROVIDERS}, "
                                f"not {self.payment_provider!r}")
        # The local provider's page lives on the local stack's storefront origin only.
        if self.payment_provider == PAYMENT_PROVIDER_LOCAL and self.in_lambda:
            raise SettingsError("PAYMENT_PROVIDER=local is refused inside AWS Lambda")
        limits = {ENV_ORDER_HOLD_SECONDS: (self.order_hold_seconds, 1),
                  ENV_EXPIRY_SWEEP_SECONDS: (self.expiry_sweep_seconds, 1),
                  ENV_MAX_PENDING_ORDERS: (self.max_pending_orders, 1),
                  ENV_SHIPPING_FLAT_CENTS: (self.shipping_flat_cents, 0),
                  ENV_FREE_SHIPPING_OVER_CENTS: (self.free_shipping_over_cents, 0)}
        for name, (value, minimum) in limits.items():
            if value < minimum:
                raise SettingsError(f"{name} must be at least {minimum}, not {value}")

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
        in_lambda = bool(env.get(ENV_LAMBDA_NAME)) and not env.get(ENV_CHALICE_CLI_MODE)
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
            in_lambda=in_lambda,
            imports_bucket=env.get(ENV_IMPORTS_BUCKET, ""),
            authorizer_pool_arns=tuple(arn for arn in env.get(ENV_AUTHORIZER_POOL_ARNS, "").split(",") if arn),
            order_hold_seconds=_int(env, ENV_ORDER_HOLD_SECONDS, DEFAULT_ORDER_HOLD_SECONDS),
            expiry_sweep_seconds=_int(env, ENV_EXPIRY_SWEEP_SECONDS, DEFAULT_EXPIRY_SWEEP_SECONDS),
            max_pending_orders=_int(env, ENV_MAX_PENDING_ORDERS, DEFAULT_MAX_PENDING_ORDERS),
            shipping_flat_cents=_int(env, ENV_SHIPPING_FLAT_CENTS, DEFAULT_SHIPPING_FLAT_CENTS),
            free_shipping_over_cents=_int(env, ENV_FREE_SHIPPING_OVER_CENTS, DEFAULT_FREE_SHIPPING_OVER_CENTS),
            payment_provider=env.get(ENV_PAYMENT_PROVIDER, ""),
            payment_secret_name=env.get(ENV_PAYMENT_SECRET_NAME, ""),
            payment_webhook_secret=env.get(ENV_PAYMENT_WEBHOOK_SECRET, ""),
            stripe_api_key=env.get(ENV_STRIPE_API_KEY, ""),
            stripe_api_base=env.get(ENV_STRIPE_API_BASE, ""),
            site_url=env.get(ENV_SITE_URL, "").rstrip("/"),
            images_bucket=env.get(ENV_IMAGES_BUCKET, ""),
            email_sender=env.get(ENV_EMAIL_SENDER, ""),
            ses_configuration_set=env.get(ENV_SES_CONFIGURATION_SET, ""),
        )


def under_chalice_cli(environ: Mapping[str, str] | None = None) -> bool:
    """True while the Chalice CLI (not Lambda, not a test) is loading the app."""
    env = os.environ if environ is None else environ
    return bool(env.get(ENV_CHALICE_CLI_MODE))


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
