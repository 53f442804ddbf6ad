"""Structured logging with a correlation id (Powertools Logger)."""

from __future__ import annotations

import re
import uuid

from aws_lambda_powertools import Logger
from chalice.app import Request

logger = Logger(service="store-api")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def correlation_id_for(request: Request) -> str:
    """The caller's X-Correlation-Id when it is a sane token, else the request id, else a new one."""
    given = request.headers.get("x-correlation-id")
    if given and _SAFE_ID.match(given):
        return str(given)
    request_id = (request.context or {}).get("requestId")
    return str(request_id) if request_id else uuid.uuid4().hex
