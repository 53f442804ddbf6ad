"""Every environment variable the container app reads (the catalog's own settings are
read by ``catalog_lambda.settings``). An explicit argument always wins."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from catalog_lambda.settings import (
    ENV_CURSOR_KEY,
    ENV_CURSOR_SECRET_NAME,
    ENV_DEFAULT_REGION,
    ENV_PRODUCTS_TABLE,
    ENV_REGION,
)

ENV_PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
ENV_STORE_NAME = "STORE_NAME"
ENV_SITEMAP_MAX_URLS = "SITEMAP_MAX_URLS"

SITEMAP_PROTOCOL_MAX_URLS = 50_000  # the sitemaps.org limit for one file

# What the container cannot serve a page without; each entry is met by any one of its
# names. Without them it would answer /healthz while every page fails, so an ALB would
# send it traffic: it refuses to start instead (``require_settings``).
REQUIRED_SETTINGS: tuple[tuple[str, ...], ...] = (
    (ENV_PUBLIC_BASE_URL,),  # canonical and sitemap URLs; never the ALB's host name
    (ENV_PRODUCTS_TABLE,),
    (ENV_REGION, ENV_DEFAULT_REGION),
    (ENV_CURSOR_SECRET_NAME, ENV_CURSOR_KEY),  # the sitemap pages through the catalog
)


class MissingSettingsError(RuntimeError):
    """The process environment lacks settings the container needs; the message names them."""


def missing_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [" or ".join(names) for names in REQUIRED_SETTINGS if not any(env.get(n, "").strip() for n in names)]


def require_settings(environ: Mapping[str, str] | None = None) -> None:
    missing = missing_settings(environ)
    if missing:
        raise MissingSettingsError(
            f"the container cannot start: missing setting(s) {'; '.join(missing)} "
            f"(set them in the task definition's environment; see docs/operations.md)"
        )


@dataclass(frozen=True)
class ServerSettings:
    # The storefront's public origin (``https://shop.example.com``). Empty: the request's own.
    public_base_url: str = ""
    store_name: str = "Serverless Store"
    sitemap_max_urls: int = SITEMAP_PROTOCOL_MAX_URLS

    def __post_init__(self) -> None:
        if not 1 <= self.sitemap_max_urls <= SITEMAP_PROTOCOL_MAX_URLS:
            raise ValueError(f"sitemap_max_urls must be 1..{SITEMAP_PROTOCOL_MAX_URLS}")
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if environ is None else environ
        return cls(
            public_base_url=env.get(ENV_PUBLIC_BASE_URL, ""),
            store_name=env.get(ENV_STORE_NAME, "") or "Serverless Store",
            sitemap_max_urls=int(env.get(ENV_SITEMAP_MAX_URLS, "") or SITEMAP_PROTOCOL_MAX_URLS),
        )
