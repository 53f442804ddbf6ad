"""The Flask app factory: ``gunicorn "storefront_server.app:create_app()"``.

Routes read the request, call the catalog service, render. The catalog service comes
from ``catalog_lambda.services.catalog_service()`` unless a test hands one in.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, abort, render_template, request
from werkzeug.wrappers.response import Response as BaseResponse

from catalog_lambda.money import decimal_amount, display_price
from storefront_server import sitemap
from storefront_server.settings import ServerSettings, require_settings

PRODUCT_CACHE = "public, max-age=60, stale-while-revalidate=300"
NOT_FOUND_CACHE = "public, max-age=30"
SITEMAP_CACHE = "public, max-age=3600"
NO_STORE = "no-store"
# /p/sitemap-<category slug>-<page>.xml: one chunk of the sitemap index.
_CHUNK = re.compile(r"^sitemap-([a-z0-9]+(?:-[a-z0-9]+)*)-([1-9][0-9]{0,5})\.xml$")
_MAX_ID_LENGTH = 128


def _default_catalog() -> sitemap.Catalog:
    from catalog_lambda.services import catalog_service

    return catalog_service()


def create_app(catalog: sitemap.Catalog | None = None, settings: ServerSettings | None = None) -> Flask:
    from catalog_lambda.errors import NotFoundError, UnavailableError, ValidationError

    if catalog is None and settings is None:
        # The production path (gunicorn calls ``create_app()``): refuse to boot without
        # the settings every page needs, naming them, so /healthz never answers 200
        # from a process whose pages would all fail.
        require_settings()
    app = Flask(__name__)
    app.config["STORE_SETTINGS"] = settings or ServerSettings.from_env()
    server_settings: ServerSettings = app.config["STORE_SETTINGS"]
    services: dict[str, sitemap.Catalog] = {}
    if catalog is not None:
        services["catalog"] = catalog

    def get_catalog() -> sitemap.Catalog:
        # Built on first use, so a worker boots without touching AWS.
        if "catalog" not in services:
            services["catalog"] = _default_catalog()
        return services["catalog"]

    def base_url() -> str:
        return server_settings.public_base_url or request.url_root.rstrip("/")

    @app.get("/healthz")
    def healthz() -> Response:
        # Shallow on purpose: the ALB must not drain every task when DynamoDB blips.
        response = app.response_class('{"status":"ok"}\n', mimetype="application/json")
        response.headers["Cache-Control"] = NO_STORE
        return response

    @app.get("/p/<product_id>")
    def product_page(product_id: str) -> BaseResponse:
        chunk = _CHUNK.match(product_id)
        if chunk and len(chunk.group(1)) <= 64:
            return sitemap_chunk(chunk.group(1), int(chunk.group(2)))
        if not product_id or len(product_id) > _MAX_ID_LENGTH:
            abort(404)
        try:
            product = get_catalog().get_product(product_id)
        except (NotFoundError, ValidationError):
            abort(404)
        from catalog_lambda.catalog import etag_for

        html = render_template(
            "product.html",
            product=product,
            store_name=server_settings.store_name,
            price=display_price(product["price_cents"], product["currency"]),
            canonical=sitemap.product_url(base_url(), product["id"]),
            image=_absolute(base_url(), product.get("image_url")),
            json_ld=_json_ld(product, sitemap.product_url(base_url(), product["id"]),
                             _absolute(base_url(), product.get("image_url"))),
        )
        response = app.response_class(html, mimetype="text/html")
        response.headers["Cache-Control"] = PRODUCT_CACHE
        response.set_etag(etag_for(product).strip('"'))
        return response.make_conditional(request)

    def xml(body: str) -> Response:
        response = app.response_class(body, mimetype="application/xml")
        response.headers["Cache-Control"] = SITEMAP_CACHE
        return response

    @app.get("/sitemap.xml")
    def sitemap_xml() -> Response:
        return xml(sitemap.root_sitemap(get_catalog(), base_url(), server_settings.sitemap_max_urls))

    def sitemap_chunk(category: str, page: int) -> Response:
        body = sitemap.category_sitemap(get_catalog(), base_url(), category, page, server_settings.sitemap_max_urls)
        if body is None:
            abort(404)
        return xml(body)

    @app.errorhandler(404)
    def not_found(_error: Any) -> tuple[str, int, dict[str, str]]:
        html = render_template("not_found.html", store_name=server_settings.store_name)
        return html, 404, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": NOT_FOUND_CACHE}

    @app.errorhandler(405)
    def method_not_allowed(_error: Any) -> tuple[str, int, dict[str, str]]:
        return "method not allowed\n", 405, {"Content-Type": "text/plain; charset=utf-8", "Allow": "GET, HEAD"}

    @app.errorhandler(UnavailableError)
    def unavailable(error: UnavailableError) -> tuple[str, int, dict[str, str]]:
        html = render_template("error.html", store_name=server_settings.store_name,
                               message="The store is busy right now. Please try again in a moment.")
        return html, 503, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": NO_STORE,
                           "Retry-After": str(error.retry_after)}

    @app.errorhandler(500)
    def internal_error(_error: Any) -> tuple[str, int, dict[str, str]]:
        # Never the stack trace: it is in the log (gunicorn's error log), not the page.
        html = render_template("error.html", store_name=server_settings.store_name,
                               message="Something went wrong on our side. Please try again.")
        return html, 500, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": NO_STORE}

    return app


def _absolute(base: str, image_url: str | None) -> str | None:
    """An uploaded image's site path (``/img/...``) as the absolute URL og:image and
    schema.org want; an https URL as it is."""
    if image_url and image_url.startswith("/"):
        return base.rstrip("/") + image_url
    return image_url


def _json_ld(product: dict[str, Any], url: str, image: str | None) -> dict[str, Any]:
    """schema.org Product; the template serializes it with ``tojson`` (HTML-safe escaping)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "@id": url,
        "name": product["name"],
        "sku": product["sku"],
        "description": product.get("description") or "",
        "category": product["category"],
        "url": url,
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": decimal_amount(product["price_cents"], product["currency"]),
            "priceCurrency": product["currency"],
            "availability": "https://schema.org/InStock" if product["stock"] > 0 else "https://schema.org/OutOfStock",
        },
    }
    if image:
        data["image"] = image
    return data
