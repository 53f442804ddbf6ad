"""Product image routes: sign an upload into the images bucket."""

from __future__ import annotations

from chalice.app import Response

from api.http import ADMIN, Ctx, json_response, route
from catalog_lambda.services import image_service


@route("/products/{product_id}/image", "POST", ADMIN)
def presign_image_upload(ctx: Ctx) -> Response:
    return json_response(image_service().presign_upload(ctx.params["product_id"], ctx.json()))
