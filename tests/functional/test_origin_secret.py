"""The API's origin check reads the real secret (moto's Secrets Manager) through the shared reader."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from chalice.app import Response
from moto import mock_aws

from api.origin import ORIGIN_HEADER, refuse_direct_requests
from catalog_lambda import services
from catalog_lambda.settings import PAYMENT_PROVIDER_STRIPE, Settings
from infra.config import origin_secret_name

SETTINGS = Settings(stage="prod", in_lambda=True, origin_secret_name=origin_secret_name("prod"),
                    payment_provider=PAYMENT_PROVIDER_STRIPE, endpoint_url=None)


@pytest.fixture
def secret_value(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        services._secrets.cache_clear()
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=origin_secret_name("prod"), SecretString="from-secrets-manager-0123456789")
        yield "from-secrets-manager-0123456789"
        services._secrets.cache_clear()


def _answer(headers: dict[str, str]) -> Response:
    request: Any = SimpleNamespace(headers=headers)
    return refuse_direct_requests(SETTINGS)(request, lambda _: Response(body="served", status_code=200))


def test_the_secret_cloudfront_sends_opens_the_api(secret_value: str) -> None:
    assert _answer({ORIGIN_HEADER: secret_value}).body == "served"


def test_without_it_the_api_answers_403(secret_value: str) -> None:
    response = _answer({"Authorization": "Bearer x"})
    assert response.status_code == 403 and json.loads(response.body)["error"]["code"] == "forbidden"


def test_the_app_refuses_direct_requests_and_serves_cloudfront_s(secret_value: str) -> None:
    from chalice.test import Client

    from api import create_app

    with Client(create_app(SETTINGS), stage_name="prod") as client:
        direct = client.http.get("/health")
        assert direct.status_code == 403 and json.loads(direct.body)["error"]["code"] == "forbidden"
        via_cloudfront = client.http.get("/health", headers={ORIGIN_HEADER: secret_value})
        assert via_cloudfront.status_code == 200, via_cloudfront.body
