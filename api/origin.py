"""In AWS the API answers only requests that came through CloudFront, and so through its web ACL.

API Gateway's regional endpoint is public: without this check anyone could call it
directly and skip the WAF's managed rules and rate limit. CloudFront adds the header
``X-Origin-Verify`` with the stage's origin-verify secret to every request it sends to
the API (``infra/stacks/edge.py``); the ALB checks the same header for the container.

The check runs only in AWS Lambda, and there when ``ORIGIN_SECRET_NAME`` names the
secret (set for every deployed stage in ``.chalice/config.json``). Locally (``chalice
local``, ``make dev``, the tests) there is no CloudFront: the storefront origin talks
to the API directly and nothing is checked.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from chalice.app import Request, Response

from api.errors import error_response
from catalog_lambda.settings import Settings

ORIGIN_HEADER = "X-Origin-Verify"
# The secret is read once per five minutes per execution environment, so a rotation
# (which needs the edge stack redeployed to change CloudFront's header) settles quickly.
SECRET_MAX_AGE_SECONDS = 300


def came_through_cloudfront(headers: Mapping[str, str], expected: str) -> bool:
    """Whether the request carries the origin secret (constant-time compare; header names are case-insensitive)."""
    sent = next((value for name, value in headers.items() if name.lower() == ORIGIN_HEADER.lower()), "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def origin_secret(settings: Settings) -> str:
    from catalog_lambda.services import secret_string

    return secret_string(settings.origin_secret_name, max_age=SECRET_MAX_AGE_SECONDS)


def refuse_direct_requests(settings: Settings, secret: Callable[[Settings], str] = origin_secret,
                           ) -> Callable[[Request, Callable[[Request], Response]], Response]:
    """Chalice HTTP middleware: in Lambda, 403 for a request without CloudFront's header."""
    enforced = settings.in_lambda and bool(settings.origin_secret_name)

    def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
        if enforced and not came_through_cloudfront(request.headers, secret(settings)):
            return error_response(403, "forbidden", "requests must come through the storefront's CloudFront origin")
        return get_response(request)

    return middleware
