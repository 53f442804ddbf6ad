"""Time and id helpers (RFC 3339 UTC timestamps, opaque ids)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id() -> str:
    return uuid.uuid4().hex
