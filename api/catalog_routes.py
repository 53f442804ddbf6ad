"""Catalog routes: read the request, call one service function, answer."""

from __future__ import annotations

from chalice.app import Response

from api.http import ADMIN, CURSOR, LIMIT, Ctx, Routes, header, json_response, query
from catalog_lambda.catalog import etag_for
from catalog_lambda.services import catalog_service
from catalog_lambda.settings import get_settings

routes = Routes()

_OPTIONAL_SLUG = r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*)?$"


@routes.route("/health", "GET", summary="Liveness and version", response="Health")
def health(ctx: Ctx) -> Response:
    return json_response({"status": "ok", "version": get_settings().version})


@routes.route("/products", "GET", summary="List or search products, ordered by name", response="ProductPage",
              errors=(400, 503), parameters=(
                  query("category", "a category slug (empty: every category)", type="string", maxLength=64,
                        pattern=_OPTIONAL_SLUG),
                  query("q", "words; each must prefix-match a word of the name (case-insensitive)", type="string",
                        maxLength=200),
                  LIMIT, CURSOR))
def list_products(ctx: Ctx) -> Response:
    page = catalog_service().list_products(
        category=ctx.query("category"), q=ctx.query("q"), limit=ctx.query("limit"), cursor=ctx.query("cursor")
    )
    return json_response(page)


@routes.route("/products/{product_id}", "GET", summary="Get a product", response="Product", errors=(404, 503),
              parameters=(header("If-None-Match", "an ETag from an earlier answer: 304 when unchanged"),),
              response_headers={"ETag": "changes whenever the representation changes"},
              extra_responses={304: "Not modified: the If-None-Match ETag is current"})
def get_product(ctx: Ctx) -> Response:
    product = catalog_service().get_product(ctx.params["product_id"])
    etag = etag_for(product)
    if_none_match = ctx.header("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or etag in [t.strip().removeprefix("W/")
                                                                    for t in if_none_match.split(",")]):
        return Response(body="", status_code=304, headers={"ETag": etag})
    return json_response(product, headers={"ETag": etag})


@routes.route("/products", "POST", ADMIN, summary="Create a product (admin)", ok=201, response="Product",
              body="ProductCreate", errors=(400, 409, 413, 415, 503),
              response_headers={"ETag": "the new representation's ETag", "Location": "the product's URL"})
def create_product(ctx: Ctx) -> Response:
    product = catalog_service().create_product(ctx.json())
    return json_response(
        product, 201, {"ETag": etag_for(product), "Location": f"products/{product['id']}"}
    )


@routes.route("/products/{product_id}", "PUT", ADMIN, summary="Replace a product's editable fields (admin)",
              response="Product", body="ProductReplace", errors=(400, 404, 409, 412, 413, 415, 503),
              parameters=(header("If-Match", "the ETag the edit is based on: 412 if another edit happened since"),),
              response_headers={"ETag": "the new representation's ETag"})
def replace_product(ctx: Ctx) -> Response:
    product = catalog_service().replace_product(ctx.params["product_id"], ctx.json(), ctx.header("if-match"))
    return json_response(product, headers={"ETag": etag_for(product)})


@routes.route("/products/{product_id}", "DELETE", ADMIN, summary="Delete a product (admin)", ok=204,
              errors=(404, 409, 503))
def delete_product(ctx: Ctx) -> Response:
    catalog_service().delete_product(ctx.params["product_id"])
    return Response(body="", status_code=204)


@routes.route("/products/{product_id}/stock", "POST", ADMIN,
              summary="Change a product's stock by a delta or to a value (admin)", response="StockLevel",
              body="StockChange", errors=(400, 404, 409, 413, 415, 503))
def change_stock(ctx: Ctx) -> Response:
    return json_response(catalog_service().change_stock(ctx.params["product_id"], ctx.json()))


@routes.route("/categories", "GET", summary="List categories with exact product counts", response="CategoryList",
              errors=(503,))
def list_categories(ctx: Ctx) -> Response:
    return json_response(catalog_service().list_categories())
