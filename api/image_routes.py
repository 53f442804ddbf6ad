"""Product image routes: sign an upload into the images bucket."""

from __future__ import annotations

from chalice.app import Response

from api.http import ADMIN, Ctx, Routes, json_response
from catalog_lambda.services import image_service

routes = Routes()


@routes.route("/products/{product_id}/image", "POST", ADMIN, response="ImageUpload", body="ImageUploadRequest",
              summary="Sign an image upload (JPEG, PNG or WebP, at most 5 MB) for a product; it shows the image "
                      "from now on (admin)", errors=(400, 404, 413, 415, 503))
def presign_image_upload(ctx: Ctx) -> Response:
    return json_response(image_service().presign_upload(ctx.params["product_id"], ctx.json()))
