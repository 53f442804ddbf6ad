"""The local storefront's /cognito/ passthrough: which headers it forwards (no I/O)."""

from __future__ import annotations

import pytest

from infra.local.site_proxy import cognito_headers

PUBLIC = "AWSCognitoIdentityProviderService.InitiateAuth"
JSON = ("Content-Type", "application/x-amz-json-1.1")


def test_forwards_only_the_checked_target_and_the_content_type() -> None:
    forwarded, reason = cognito_headers([
        JSON, ("X-Amz-Target", PUBLIC), ("Authorization", "AWS4-HMAC-SHA256 Credential=x/y/us-east-1/secretsmanager"),
        ("X-Amz-Date", "20260101T000000Z"), ("Cookie", "a=b"), ("Host", "127.0.0.1:8080"),
    ])
    assert forwarded == {"X-Amz-Target": PUBLIC, "Content-Type": "application/x-amz-json-1.1"}
    assert reason == ""


@pytest.mark.parametrize("headers", [
    [JSON, ("X-Amz-Target", PUBLIC), ("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup")],
    [JSON, ("x-amz-target", PUBLIC), ("X-AMZ-TARGET", PUBLIC)],
    [JSON, JSON, ("X-Amz-Target", PUBLIC)],
    [JSON, ("X-Amz-Target", PUBLIC), ("Authorization", "a"), ("authorization", "b")],
])
def test_refuses_any_repeated_header(headers: list[tuple[str, str]]) -> None:
    forwarded, reason = cognito_headers(headers)
    assert forwarded is None and reason.startswith("repeated header")


@pytest.mark.parametrize(("headers", "reason"), [
    ([JSON, ("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup")], "only"),
    ([JSON, ("X-Amz-Target", "secretsmanager.GetSecretValue")], "only"),
    ([JSON], "only"),
    ([("Content-Type", "application/json"), ("X-Amz-Target", PUBLIC)], "Content-Type"),
    ([("X-Amz-Target", PUBLIC)], "Content-Type"),
])
def test_refuses_other_targets_and_content_types(headers: list[tuple[str, str]], reason: str) -> None:
    forwarded, why = cognito_headers(headers)
    assert forwarded is None and why.startswith(reason)
