"""One cached factory for the services, so the HTTP layer, the container app, the CLI
and the tests all get theirs the same way (tests swap settings without patching)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

from catalog_lambda.errors import UnavailableError
from catalog_lambda.settings import (
    ENV_SITE_URL,
    PAYMENT_PROVIDER_STRIPE,
    SITE_URL_PARAMETER_MAX_AGE,
    Settings,
    SettingsError,
    get_settings,
    site_url_parameter_name,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    from catalog_lambda.catalog import CatalogService
    from catalog_lambda.images import ImageService
    from catalog_lambda.orders import OrderNotifier, OrderService
    from catalog_lambda.payments.port import PaymentProvider, PaymentSecrets

logger = logging.getLogger(__name__)


def cursor_key(settings: Settings) -> bytes:
    """The cursor-signing key: given directly (local, tests) or read from Secrets Manager
    through Powertools' parameters utility, cached for five minutes."""
    if settings.cursor_signing_key:
        return settings.cursor_signing_key.encode()
    if settings.cursor_secret_name:
        secret = _secrets().get(settings.cursor_secret_name, max_age=300)
        if isinstance(secret, str):
            return secret.encode()
        if isinstance(secret, bytes):
            return secret
        raise SettingsError(f"the secret {settings.cursor_secret_name!r} holds no key")
    raise SettingsError("set CURSOR_SIGNING_KEY or CURSOR_SECRET_NAME")


def secret_string(name: str, max_age: int = 300) -> str:
    """A Secrets Manager string secret through the shared, caching reader (the origin-verify secret)."""
    value = _secrets().get(name, max_age=max_age)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise SettingsError(f"the secret {name!r} holds no string")


@lru_cache(maxsize=1)
def _secrets() -> SecretsProvider:
    """Powertools' Secrets Manager reader (cached values), on the process's one botocore session."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from catalog_lambda.aws import boto3_session

    return SecretsProvider(boto3_session=boto3_session())


@lru_cache(maxsize=1)
def _ssm() -> SSMProvider:
    """Powertools' SSM parameter reader (cached values), on the process's one botocore session."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from catalog_lambda.aws import boto3_session

    return SSMProvider(boto3_session=boto3_session())


# A missing storefront address is a deploy-time gap, not a blip: clients need not hammer.
SITE_URL_RETRY_AFTER = 60


def site_url(settings: Settings) -> str:
    """The storefront's origin for the payment pages' return URLs.

    ``SITE_URL`` wins (the local stack sets it). Otherwise the stripe provider reads the
    edge stack's SSM parameter, on the first payment (never on a GET or a cold start),
    cached for five minutes. Not found: :class:`UnavailableError` (503), logged, before
    anything is written. The local provider accepts "" (relative URLs).
    """
    if settings.site_url or settings.payment_provider != PAYMENT_PROVIDER_STRIPE:
        return settings.site_url
    from urllib.parse import urlsplit

    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = site_url_parameter_name(settings.stage)
    try:
        value = _ssm().get(name, max_age=SITE_URL_PARAMETER_MAX_AGE)
    except GetParameterError as error:
        return _no_site_url(f"the SSM parameter {name} cannot be read ({error})")
    url = value.strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
        return _no_site_url(f"the SSM parameter {name} holds no https origin: {value!r}")
    return url


def _no_site_url(reason: str) -> str:
    logger.error("cannot open a payment page: the storefront's address is unknown: %s", reason)
    raise UnavailableError(f"payments are not configured on this stage yet: the storefront's address is unknown "
                           f"(set {ENV_SITE_URL} or deploy the edge stack)", retry_after=SITE_URL_RETRY_AFTER)


@lru_cache(maxsize=4)
def catalog_service(settings: Settings | None = None) -> CatalogService:
    from catalog_lambda.catalog import CatalogService
    from catalog_lambda.cursor import CursorCodec
    from catalog_lambda.models import bind_models
    from catalog_lambda.repositories.products import ProductRepository

    settings = settings or get_settings()
    bind_models(settings)
    return CatalogService(settings, ProductRepository(settings), CursorCodec(cursor_key(settings)))


@lru_cache(maxsize=4)
def order_service(settings: Settings | None = None, notifier: OrderNotifier | None = None) -> OrderService:
    from catalog_lambda.cursor import CursorCodec
    from catalog_lambda.models import bind_models
    from catalog_lambda.orders import OrderService
    from catalog_lambda.repositories.orders import OrderRepository
    from catalog_lambda.repositories.products import ProductRepository

    settings = settings or get_settings()
    bind_models(settings)
    repository = OrderRepository(settings, ProductRepository(settings))
    return OrderService(settings, repository, CursorCodec(cursor_key(settings)),
                        provider=lambda: payment_provider(settings), secrets=lambda: payment_secrets(settings),
                        notifier=notifier or order_notifier(settings), site_url=lambda: site_url(settings))


def order_notifier(settings: Settings) -> OrderNotifier:
    """Who hears of paid and shipped orders: the emails (SES), or a log line when the
    stage has no sender address."""
    from catalog_lambda.notifications import notifier_for

    return notifier_for(settings)


def payment_secrets(settings: Settings) -> PaymentSecrets:
    """The webhook secret (and Stripe's API key): given directly (local stack, tests) or
    read from Secrets Manager (a JSON object), cached for five minutes."""
    from catalog_lambda.payments.port import PaymentSecrets

    if settings.payment_webhook_secret:
        return PaymentSecrets(settings.payment_webhook_secret, settings.stripe_api_key)
    if settings.payment_secret_name:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(settings.payment_secret_name, transform="json", max_age=300)
        if not isinstance(value, dict) or not value.get("webhook_secret"):
            raise SettingsError(f"the secret {settings.payment_secret_name!r} must be JSON with a webhook_secret")
        return PaymentSecrets(str(value["webhook_secret"]), str(value.get("api_key", "")))
    raise SettingsError("set PAYMENT_WEBHOOK_SECRET or PAYMENT_SECRET_NAME")


@lru_cache(maxsize=4)
def payment_provider(settings: Settings) -> PaymentProvider:
    """The stage's provider; the Stripe SDK is imported here, on first payment use only.
    (The return URLs' origin is :func:`site_url`'s: refunds and webhooks need none.)"""
    if settings.payment_provider == PAYMENT_PROVIDER_STRIPE:
        from catalog_lambda.payments.stripe_provider import StripeProvider

        api_key = settings.stripe_api_key or payment_secrets(settings).api_key
        if not api_key:
            raise SettingsError("the stripe provider needs an API key (api_key in the payment secret)")
        return StripeProvider(api_key, api_base=settings.stripe_api_base)
    from catalog_lambda.payments.local import LocalProvider

    return LocalProvider(settings.site_url)


@lru_cache(maxsize=4)
def image_service(settings: Settings | None = None) -> ImageService:
    from catalog_lambda.images import ImageService, images_bucket, s3_client
    from catalog_lambda.models import bind_models
    from catalog_lambda.repositories.products import ProductRepository

    settings = settings or get_settings()
    bind_models(settings)
    chosen = settings
    return ImageService(settings, ProductRepository(settings), lambda: s3_client(chosen),
                        lambda: images_bucket(chosen))


def reset() -> None:
    """Forget cached settings and services (tests that change the environment)."""
    get_settings.cache_clear()
    _secrets.cache_clear()
    _ssm.cache_clear()
    catalog_service.cache_clear()
    order_service.cache_clear()
    payment_provider.cache_clear()
    image_service.cache_clear()
