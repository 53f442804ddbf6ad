"""``/img/*`` and ``/img-upload`` on the local storefront origin: product images from the
emulator's S3, and the browser's presigned-POST upload into it.

In AWS, CloudFront serves ``/img/*`` from the private images bucket and S3 itself
checks a POST's policy. The emulator stores whatever it is sent and ignores the
policy, so this module does what S3 would: it verifies the form's SigV4 signature over
the policy, the policy's expiry, and every condition (``eq`` / exact match,
``starts-with``, ``content-length-range``) against the form, then stores the file with
the form's ``Content-Type`` and ``Cache-Control``. Images are served only with an image
type the API allows, and ``nosniff``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from catalog_lambda.images import IMAGE_TYPES, KEY_PREFIX, MAX_IMAGE_BYTES, UPLOAD_PATH

# The multipart form around the file adds a few KB at most.
MAX_FORM_BYTES = MAX_IMAGE_BYTES + 64 * 1024
Answer = tuple[int, bytes, dict[str, str]]


class UploadRefused(Exception):
    """The form breaks its own policy (or carries none): S3 would answer 403 or 400."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ImageOrigin:
    bucket: str
    s3: Any  # a boto3 S3 client for the emulator
    secret_key: str  # the emulator's (fake) secret key, to check the form's signature

    def handles(self, path: str) -> bool:
        return path.startswith("/" + KEY_PREFIX) or path == UPLOAD_PATH

    def answer(self, method: str, path: str, content_type: str, body: bytes) -> Answer:
        if path == UPLOAD_PATH:
            if method != "POST":
                return _text(405, "method not allowed", {"Allow": "POST"})
            try:
                self.store(content_type, body)
            except UploadRefused as refused:
                return _xml_error(refused)
            return 204, b"", {}
        if method not in ("GET", "HEAD"):
            return _text(405, "method not allowed", {"Allow": "GET, HEAD"})
        return self.serve(path.lstrip("/"))

    def serve(self, key: str) -> Answer:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return _text(404, "no such image")
        image_type = obj.get("ContentType", "")
        if image_type not in IMAGE_TYPES:
            return _text(404, "no such image")
        headers = {"Content-Type": image_type, "X-Content-Type-Options": "nosniff",
                   "Cache-Control": obj.get("CacheControl") or "public, max-age=60"}
        return 200, obj["Body"].read(), headers

    def store(self, content_type: str, body: bytes, now: datetime | None = None) -> None:
        fields, file = parse_form(content_type, body)
        check_policy(fields, len(file), self.bucket, self.secret_key, now or datetime.now(UTC))
        self.s3.put_object(Bucket=self.bucket, Key=fields["key"], Body=file,
                           ContentType=fields.get("Content-Type", "binary/octet-stream"),
                           CacheControl=fields.get("Cache-Control", ""))


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes]:
    """A multipart/form-data body -> (text fields, the file's bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadRefused(400, "InvalidArgument", "the upload must be multipart/form-data")
    if len(body) > MAX_FORM_BYTES:
        raise UploadRefused(400, "EntityTooLarge", "the upload exceeds the maximum allowed size")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    file: bytes | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == "file":
            file = payload
            break  # S3 ignores fields after the file
        fields[name] = payload.decode("utf-8")
    if file is None:
        raise UploadRefused(400, "InvalidArgument", "the form has no file field")
    return fields, file


def _signature(secret_key: str, date: str, region: str, service: str, policy_b64: str) -> str:
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()


def check_policy(fields: dict[str, str], size: int, bucket: str, secret_key: str, now: datetime) -> None:
    """What S3 checks of a POST upload: signature, expiry, then every condition."""
    policy_b64 = fields.get("policy", "")
    credential = fields.get("x-amz-credential", "").split("/")
    if not policy_b64 or len(credential) != 5 or fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise UploadRefused(403, "AccessDenied", "the form carries no signed policy")
    _access_key, date, region, service, _terminal = credential
    expected = _signature(secret_key, date, region, service, policy_b64)
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise UploadRefused(403, "SignatureDoesNotMatch", "the policy's signature does not match")
    policy = json.loads(base64.b64decode(policy_b64))
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    if now >= expires:
        raise UploadRefused(403, "AccessDenied", "the policy has expired")
    values = {**{k.lower(): v for k, v in fields.items()}, "bucket": bucket}
    for condition in policy["conditions"]:
        _check(condition, values, size)


def _check(condition: Any, values: dict[str, str], size: int) -> None:
    if isinstance(condition, dict):
        for name, want in condition.items():
            if values.get(name.lower()) != want:
                raise UploadRefused(403, "AccessDenied", f"policy condition failed: {name} must be {want!r}")
        return
    op, *args = condition
    if op == "content-length-range":
        low, high = int(args[0]), int(args[1])
        if not low <= size <= high:
            code = "EntityTooLarge" if size > high else "EntityTooSmall"
            raise UploadRefused(400, code, f"the file is {size} bytes; the policy allows {low} to {high}")
        return
    name, want = str(args[0]).lstrip("$").lower(), str(args[1])
    have = values.get(name)
    if have is None or (op == "eq" and have != want) or (op == "starts-with" and not have.startswith(want)):
        raise UploadRefused(403, "AccessDenied", f"policy condition failed: {condition!r}")


def _text(status: int, message: str, extra: dict[str, str] | None = None) -> Answer:
    return status, (message + "\n").encode(), {"Content-Type": "text/plain; charset=utf-8", **(extra or {})}


def _xml_error(refused: UploadRefused) -> Answer:
    # S3's own error shape, so the browser sees what it would see in AWS.
    from xml.sax.saxutils import escape

    body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(refused.code)}</Code>"
            f"<Message>{escape(refused.message)}</Message></Error>\n").encode()
    return refused.status, body, {"Content-Type": "application/xml"}
