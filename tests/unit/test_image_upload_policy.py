"""The local storefront origin enforces a presigned POST's policy as S3 would (the
emulator ignores it): signature, expiry, type, size and key. No I/O: boto3 signs
locally and the checks are pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from catalog_lambda.images import IMAGE_CACHE_CONTROL, MAX_IMAGE_BYTES
from infra.local.image_origin import UploadRefused, check_policy, parse_form

SECRET = "testing"
BUCKET = "images-test"


def _presigned(content_type: str = "image/png", secret: str = SECRET) -> dict[str, str]:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key=secret,
                      config=Config(signature_version="s3v4"))
    post = s3.generate_presigned_post(
        Bucket=BUCKET, Key="img/products/p1/a.png",
        Fields={"Content-Type": content_type, "Cache-Control": IMAGE_CACHE_CONTROL},
        Conditions=[{"Content-Type": content_type}, {"Cache-Control": IMAGE_CACHE_CONTROL},
                    ["content-length-range", 1, MAX_IMAGE_BYTES]], ExpiresIn=600)
    return dict(post["fields"])


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_form_within_its_policy_is_accepted() -> None:
    check_policy(_presigned(), 1000, BUCKET, SECRET, _now())
    check_policy(_presigned(), MAX_IMAGE_BYTES, BUCKET, SECRET, _now())


@pytest.mark.parametrize(("change", "size", "code"), [
    ({}, MAX_IMAGE_BYTES + 1, "EntityTooLarge"),
    ({}, 0, "EntityTooSmall"),
    ({"Content-Type": "image/svg+xml"}, 10, "AccessDenied"),
    ({"key": "img/products/other/a.png"}, 10, "AccessDenied"),
    ({"Cache-Control": "no-store"}, 10, "AccessDenied"),
    ({"x-amz-signature": "0" * 64}, 10, "SignatureDoesNotMatch"),
    ({"policy": ""}, 10, "AccessDenied"),
])
def test_a_form_that_breaks_its_policy_is_refused(change: dict[str, str], size: int, code: str) -> None:
    fields = {**_presigned(), **change}
    with pytest.raises(UploadRefused) as refused:
        check_policy(fields, size, BUCKET, SECRET, _now())
    assert refused.value.code == code


def test_a_form_signed_with_another_key_or_for_another_bucket_is_refused() -> None:
    with pytest.raises(UploadRefused):
        check_policy(_presigned(secret="not-the-emulators"), 10, BUCKET, SECRET, _now())
    with pytest.raises(UploadRefused):
        check_policy(_presigned(), 10, "another-bucket", SECRET, _now())


def test_an_expired_policy_is_refused() -> None:
    with pytest.raises(UploadRefused) as refused:
        check_policy(_presigned(), 10, BUCKET, SECRET, _now() + timedelta(seconds=601))
    assert refused.value.code == "AccessDenied"


def _multipart(fields: dict[str, str], file: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in [*fields.items()]:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + file + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def test_the_form_parser_returns_fields_and_the_exact_file_bytes() -> None:
    fields: dict[str, Any] = _presigned()
    file = bytes(range(256)) * 10 + b"\r\n--not-a-boundary\r\n"
    content_type, body = _multipart(fields, file)
    parsed, data = parse_form(content_type, body)
    assert parsed == fields
    assert data == file


def test_a_form_without_a_file_is_refused() -> None:
    with pytest.raises(UploadRefused):
        parse_form("multipart/form-data; boundary=x",
                   b'--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--x--\r\n')
