"""One cached factory for the services, so the HTTP layer, the container app, the CLI
and the tests all get theirs the same way (tests swap settings without patching)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from catalog_lambda.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from catalog_lambda.catalog import CatalogService
    from catalog_lambda.images import ImageService
    from catalog_lambda.orders import OrderService


def cursor_key(settings: Settings) -> bytes:
    """The cursor-signing key: given directly (local, tests) or read from Secrets Manager
    through Powertools' parameters utility, cached for five minutes."""
    if settings.cursor_signing_key:
        return settings.cursor_signing_key.encode()
    if settings.cursor_secret_name:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(settings.cursor_secret_name, max_age=300)
        return secret.encode() if isinstance(secret, str) else bytes(secret)
    raise SettingsError("set CURSOR_SIGNING_KEY or CURSOR_SECRET_NAME")


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
def order_service(settings: Settings | None = None) -> OrderService:
    from catalog_lambda.cursor import CursorCodec
    from catalog_lambda.models import bind_models
    from catalog_lambda.orders import OrderService
    from catalog_lambda.repositories.products import ProductRepository

    settings = settings or get_settings()
    bind_models(settings)
    return OrderService(settings, ProductRepository(settings), CursorCodec(cursor_key(settings)))


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
    catalog_service.cache_clear()
    order_service.cache_clear()
    image_service.cache_clear()
