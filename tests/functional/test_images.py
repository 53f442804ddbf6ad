"""Product image uploads: the presigned POST's policy (decoded: the emulator ignores it)
and the product's image_url, over moto's in-process AWS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from catalog_lambda import services
from catalog_lambda.errors import ProductNotFoundError, ValidationError
from catalog_lambda.images import IMAGE_CACHE_CONTROL, MAX_IMAGE_BYTES, UPLOAD_PATH, ImageService, decode_policy
from catalog_lambda.settings import Settings
from infra.local.bootstrap import client, create_tables

SETTINGS = Settings(stage="images", cursor_signing_key="x" * 32, endpoint_url=None, images_bucket="images-test")


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[ImageService, Any]]:
    services.reset()
    with mock_aws():
        create_tables(SETTINGS)
        client("s3", None).create_bucket(Bucket=SETTINGS.images_bucket)
        catalog = services.catalog_service(SETTINGS)
        catalog.create_category("tea", "Tea")
        yield services.image_service(SETTINGS), catalog
    services.reset()


def _product(catalog: Any) -> dict[str, Any]:
    return dict(catalog.create_product({
        "sku": f"IMG-{uuid.uuid4().hex[:8]}", "name": "Pictured Tea", "category": "tea", "price_cents": 900,
        "currency": "USD"}))


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "image/webp"])
def test_upload_policy_limits_type_size_and_key(stack: tuple[ImageService, Any], content_type: str) -> None:
    images, catalog = stack
    product = _product(catalog)
    answer = images.presign_upload(product["id"], {"content_type": content_type})
    assert answer["upload"]["url"] == UPLOAD_PATH
    fields = answer["upload"]["fields"]
    conditions = decode_policy(fields)["conditions"]
    assert ["content-length-range", 1, MAX_IMAGE_BYTES] in conditions
    assert MAX_IMAGE_BYTES == 5 * 1024 * 1024
    assert {"Content-Type": content_type} in conditions  # an exact match: no other type gets in
    assert {"Cache-Control": IMAGE_CACHE_CONTROL} in conditions
    assert {"bucket": SETTINGS.images_bucket} in conditions
    key = fields["key"]
    assert {"key": key} in conditions
    assert key.startswith(f"img/products/{product['id']}/")
    assert key.endswith({"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}[content_type])
    assert fields["Content-Type"] == content_type


def test_product_shows_the_uploaded_image_path_and_its_version_moves(stack: tuple[ImageService, Any]) -> None:
    images, catalog = stack
    product = _product(catalog)
    first = images.presign_upload(product["id"], {"content_type": "image/png"})
    second = images.presign_upload(product["id"], {"content_type": "image/png"})
    assert first["image_url"] != second["image_url"]  # a new key each time: caches never go stale
    current = catalog.get_product(product["id"])
    assert current["image_url"] == second["image_url"] == "/" + second["upload"]["fields"]["key"]
    assert current["version"] == product["version"] + 2
    # The site path is an accepted image_url when the whole product is sent back (PUT).
    body = {k: current[k] for k in ("sku", "name", "description", "category", "price_cents", "currency",
                                    "image_url")}
    assert catalog.replace_product(product["id"], body, None)["image_url"] == second["image_url"]


@pytest.mark.parametrize("body", [{}, {"content_type": "image/svg+xml"}, {"content_type": "image/gif"},
                                  {"content_type": "image/png", "size": 1}, ["image/png"], None])
def test_only_jpeg_png_or_webp_can_be_signed(stack: tuple[ImageService, Any], body: Any) -> None:
    images, catalog = stack
    product = _product(catalog)
    with pytest.raises(ValidationError):
        images.presign_upload(product["id"], body)
    assert catalog.get_product(product["id"])["image_url"] is None


def test_an_unknown_product_gets_no_upload(stack: tuple[ImageService, Any]) -> None:
    images, _catalog = stack
    with pytest.raises(ProductNotFoundError):
        images.presign_upload("no-such-product", {"content_type": "image/png"})
