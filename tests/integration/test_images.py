"""Product images over HTTP against the local stack: the API signs, the storefront origin
enforces the upload policy the emulator ignores, and /img/* serves what was stored."""

from __future__ import annotations

from typing import Any

import requests

from infra.local.demo_images import product_image
from tests.api_client import ApiClient, assert_error
from tests.conftest import LocalStack

PNG = product_image("tea", 2)


def _sign(admin: ApiClient, product_id: str, content_type: str = "image/png") -> dict[str, Any]:
    response = admin.post(f"/products/{product_id}/image", {"content_type": content_type})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _upload(site: str, signed: dict[str, Any], data: bytes, file_type: str = "image/png",
            **overrides: str) -> requests.Response:
    fields = {**signed["upload"]["fields"], **overrides}
    return requests.post(site + signed["upload"]["url"], data=fields,
                         files={"file": ("picture", data, file_type)}, timeout=30)


def test_an_admin_uploads_an_image_and_the_site_serves_it(
    local_stack: LocalStack, admin: ApiClient, make_product: Any
) -> None:
    product = make_product()
    signed = _sign(admin, product["id"])
    assert signed["upload"]["url"] == "/img-upload"
    assert admin.get(f"/products/{product['id']}").json()["image_url"] == signed["image_url"]
    response = _upload(local_stack.site_url, signed, PNG)
    assert response.status_code == 204, response.text
    image = requests.get(local_stack.site_url + signed["image_url"], timeout=30)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.content == PNG


def test_the_local_upload_enforces_the_policy(local_stack: LocalStack, admin: ApiClient, make_product: Any) -> None:
    product = make_product()
    signed = _sign(admin, product["id"])
    site = local_stack.site_url
    too_large = _upload(site, signed, b"\x89PNG" + b"\0" * (5 * 1024 * 1024))
    assert too_large.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_large.text
    other_type = _upload(site, signed, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml",
                         **{"Content-Type": "image/svg+xml"})
    assert other_type.status_code == 403
    other_key = _upload(site, signed, PNG, key="img/products/someone-else/x.png")
    assert other_key.status_code == 403
    forged = _upload(site, signed, PNG, **{"x-amz-signature": "0" * 64})
    assert forged.status_code == 403 and "SignatureDoesNotMatch" in forged.text
    # Nothing was stored by the refused uploads.
    assert requests.get(site + signed["image_url"], timeout=30).status_code == 404


def test_only_admins_sign_uploads_and_only_image_types(
    anon: ApiClient, shopper: ApiClient, admin: ApiClient, make_product: Any
) -> None:
    product = make_product()
    assert_error(anon.post(f"/products/{product['id']}/image", {"content_type": "image/png"}), 401, "unauthorized")
    assert_error(shopper.post(f"/products/{product['id']}/image", {"content_type": "image/png"}), 403, "forbidden")
    assert_error(admin.post(f"/products/{product['id']}/image", {"content_type": "image/svg+xml"}), 400,
                 "validation_error")
    assert_error(admin.post("/products/no-such-product/image", {"content_type": "image/png"}), 404, "not_found")


def test_a_demo_product_image_is_served(local_stack: LocalStack, anon: ApiClient) -> None:
    product = anon.get("/products?limit=1").json()["items"][0]
    assert product["image_url"].startswith("/img/demo/")
    image = requests.get(local_stack.site_url + product["image_url"], timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
