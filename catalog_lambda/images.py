"""Product images: a presigned POST into the private images bucket, and the site path
the product then shows.

The browser uploads straight to S3 with the form fields we sign; S3 checks the POST
policy's conditions (type, size, key, expiry), so no image bytes pass through the
function. Objects live under ``img/`` and the site serves that prefix at ``/img/*``
(CloudFront with origin access control in AWS, the storefront origin locally), so a
product's ``image_url`` is the object's key as a site path: ``/img/products/<id>/<n>.png``.

The product's ``image_url`` is set when the upload is signed, with a fresh key each time
(cached copies never go stale, as the key changes). That is the simplest correct
order: no S3 event wiring (which ``chalice package`` cannot express), and the upload
follows at once from the same page; an upload that fails puts the previous image back
(the admin form does so), and the storefront hides an image that does not load.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from catalog_lambda.repositories.products import ProductRepository
from catalog_lambda.schemas import ImageUploadRequest, parse
from catalog_lambda.settings import Settings, default_images_bucket_name

# Content type -> file extension: the only types a product image may have. SVG is left
# out on purpose: it is a document that can run script, served from the site's origin.
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
KEY_PREFIX = "img/"
# Where the browser posts the form: the site's own origin (CloudFront forwards it to
# the bucket in AWS; the storefront origin checks and stores it locally).
UPLOAD_PATH = "/img-upload"
UPLOAD_EXPIRES_SECONDS = 600
# Every key is new, so the image never changes under its URL.
IMAGE_CACHE_CONTROL = "public, max-age=31536000, immutable"

S3Client = Any


def image_key(product_id: str, content_type: str) -> str:
    return f"{KEY_PREFIX}products/{product_id}/{uuid.uuid4().hex}.{IMAGE_TYPES[content_type]}"


def site_path(key: str) -> str:
    """``img/products/p/x.png`` -> ``/img/products/p/x.png``."""
    return "/" + key


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    """The POST policy the form carries (base64 JSON): its expiration and conditions."""
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


class ImageService:
    def __init__(self, settings: Settings, products: ProductRepository, s3: Callable[[], S3Client],
                 bucket: Callable[[], str]) -> None:
        self._settings = settings
        self._products = products
        self._s3 = s3
        self._bucket = bucket

    def presign_upload(self, product_id: str, body: Any) -> dict[str, Any]:
        """A presigned POST for one image of the product; the product shows it from now on."""
        content_type = parse(ImageUploadRequest, body).content_type
        self._products.get(product_id)  # 404 before signing anything
        key = image_key(product_id, content_type)
        post = self._s3().generate_presigned_post(
            Bucket=self._bucket(), Key=key,
            Fields={"Content-Type": content_type, "Cache-Control": IMAGE_CACHE_CONTROL},
            Conditions=[
                {"Content-Type": content_type},
                {"Cache-Control": IMAGE_CACHE_CONTROL},
                ["content-length-range", 1, MAX_IMAGE_BYTES],
            ],
            ExpiresIn=UPLOAD_EXPIRES_SECONDS,
        )
        image_url = site_path(key)
        self._products.set_image_url(product_id, image_url)
        return {"upload": {"url": UPLOAD_PATH, "fields": dict(post["fields"])}, "image_url": image_url}


@lru_cache(maxsize=4)
def s3_client(settings: Settings) -> S3Client:
    import boto3
    from botocore.config import Config

    # SigV4 POST policies (x-amz-signature): the only kind newer regions accept.
    return boto3.client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url,
                        config=Config(signature_version="s3v4"))


@lru_cache(maxsize=4)
def images_bucket(settings: Settings) -> str:
    """IMAGES_BUCKET, or the stage's bucket name from this account (one STS call per process)."""
    if settings.images_bucket:
        return settings.images_bucket
    import boto3

    account = boto3.client("sts", region_name=settings.region,
                           endpoint_url=settings.endpoint_url).get_caller_identity()["Account"]
    return default_images_bucket_name(settings.stage, str(account), settings.region)
