"""In AWS the API refuses requests that skipped CloudFront (and its WAF); locally it checks nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from chalice.app import Response

from api.origin import ORIGIN_HEADER, came_through_cloudfront, refuse_direct_requests
from catalog_lambda.settings import PAYMENT_PROVIDER_STRIPE, Settings

SECRET = "s3cr3t-value-from-secrets-manager"
IN_AWS = Settings(in_lambda=True, origin_secret_name="store/prod/origin-verify",
                  payment_provider=PAYMENT_PROVIDER_STRIPE)


def _call(settings: Settings, headers: dict[str, str]) -> Response:
    asked: list[str] = []

    def secret(s: Settings) -> str:
        asked.append(s.origin_secret_name)
        return SECRET

    middleware = refuse_direct_requests(settings, secret=secret)
    request: Any = SimpleNamespace(headers=headers)
    return middleware(request, lambda _: Response(body="served", status_code=200))


def test_a_request_from_cloudfront_is_served() -> None:
    assert _call(IN_AWS, {ORIGIN_HEADER: SECRET}).body == "served"


def test_header_names_are_case_insensitive_as_in_http() -> None:
    assert _call(IN_AWS, {"x-origin-verify": SECRET}).body == "served"


def test_a_direct_request_to_the_regional_endpoint_is_forbidden_in_the_contract_shape() -> None:
    for headers in ({}, {ORIGIN_HEADER: "guess"}, {ORIGIN_HEADER: ""}):
        response = _call(IN_AWS, headers)
        assert response.status_code == 403
        assert json.loads(response.body)["error"]["code"] == "forbidden"


def test_locally_nothing_is_checked() -> None:
    assert _call(Settings(origin_secret_name="store/dev/origin-verify"), {}).body == "served"
    assert _call(Settings(), {}).body == "served"


def test_an_empty_secret_never_matches() -> None:
    assert not came_through_cloudfront({ORIGIN_HEADER: ""}, "")
