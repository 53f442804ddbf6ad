"""Catalog routes: read the request, call one service function, answer."""

from __future__ import annotations

from chalice.app import Response

from api.http import ADMIN, Ctx, json_response, route
from catalog_lambda.catalog import etag_for
from catalog_lambda.services import catalog_service
from catalog_lambda.settings import get_settings


@route("/health", "GET")
def health(ctx: Ctx) -> Response:
    return json_response({"status": "ok", "version": get_settings().version})


@route("/products", "GET")
def list_products(ctx: Ctx) -> Response:
    page = catalog_service().list_products(
        category=ctx.query("category"), q=ctx.query("q"), limit=ctx.query("limit"), cursor=ctx.query("cursor")
    )
    return json_response(page)


@route("/products/{product_id}", "GET")
def get_product(ctx: Ctx) -> Response:
    product = catalog_service().get_product(ctx.params["product_id"])
    etag = etag_for(product)
    if_none_match = ctx.header("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or etag in [t.strip().removeprefix("W/")
                                                                    for t in if_none_match.split(",")]):
        return Response(body="", status_code=304, headers={"ETag": etag})
    return json_response(product, headers={"ETag": etag})


@route("/products", "POST", ADMIN)
def create_product(ctx: Ctx) -> Response:
    product = catalog_service().create_product(ctx.json())
    return json_response(
        product, 201, {"ETag": etag_for(product), "Location": f"products/{product['id']}"}
    )


@route("/products/{product_id}", "PUT", ADMIN)
def replace_product(ctx: Ctx) -> Response:
    product = catalog_service().replace_product(ctx.params["product_id"], ctx.json(), ctx.header("if-match"))
    return json_response(product, headers={"ETag": etag_for(product)})


@route("/products/{product_id}", "DELETE", ADMIN)
def delete_product(ctx: Ctx) -> Response:
    catalog_service().delete_product(ctx.params["product_id"])
    return Response(body="", status_code=204)


@route("/products/{product_id}/stock", "POST", ADMIN)
def change_stock(ctx: Ctx) -> Response:
    return json_response(catalog_service().change_stock(ctx.params["product_id"], ctx.json()))


@route("/categories", "GET")
def list_categories(ctx: Ctx) -> Response:
    return json_response(catalog_service().list_categories())
