"""Opaque, tamper-evident pagination cursors.

A cursor is ``base64url(json payload) "." base64url(HMAC-SHA256)``. The payload holds
DynamoDB's start key and a fingerprint of the query it belongs to, so a garbled,
forged or re-targeted cursor is refused (``ValidationError``) instead of reaching the
database. The payload is UTF-8 JSON and the query is kept as a digest, so that every
cursor the API issues stays under the length it accepts back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from catalog_lambda.errors import ValidationError

_MAX_CURSOR_LEN = 2048


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode("utf-8")).hexdigest()[:32]


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor signing key must be at least 16 bytes")
        self._key = key

    def _sign(self, body: str) -> str:
        return _b64e(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()[:18])

    def encode(self, start_key: dict[str, Any], scope: str) -> str:
        payload = json.dumps({"k": start_key, "s": _fingerprint(scope)}, separators=(",", ":"), sort_keys=True,
                             ensure_ascii=False)
        body = _b64e(payload.encode("utf-8"))
        return f"{body}.{self._sign(body)}"

    def decode(self, cursor: str, scope: str) -> dict[str, Any]:
        invalid = ValidationError(
            "cursor is invalid", [{"field": "cursor", "issue": "not a cursor this API issued"}]
        )
        if not cursor or len(cursor) > _MAX_CURSOR_LEN or cursor.count(".") != 1:
            raise invalid
        body, signature = cursor.split(".")
        try:
            expected = self._sign(body)
        except UnicodeEncodeError:
            raise invalid from None
        if not hmac.compare_digest(expected, signature):
            raise invalid
        try:
            payload = json.loads(_b64d(body))
        except (ValueError, binascii.Error):
            raise invalid from None
        if (not isinstance(payload, dict) or payload.get("s") != _fingerprint(scope)
                or not isinstance(payload.get("k"), dict)):
            raise ValidationError(
                "cursor does not belong to this query",
                [{"field": "cursor", "issue": "issued for different query parameters"}],
            )
        start_key: dict[str, Any] = payload["k"]
        return start_key
