"""Smoke: the stack answers /health and serves the seeded catalog."""

from __future__ import annotations

from tests.api_client import ApiClient


def test_health_answers_ok(anon: ApiClient) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
