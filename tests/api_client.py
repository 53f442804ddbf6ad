"""A small HTTP client for tests: JSON in and out, optional bearer token."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def as_token(self, token: str | None) -> ApiClient:
        return ApiClient(self.base_url, token)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw: bytes | str | None = None, **kwargs: Any) -> requests.Response:
        all_headers = {"Content-Type": "application/json"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.session.request(method, self.base_url + path, data=data, headers=all_headers, timeout=30,
                                    **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the contract's error JSON with this status and code."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    error: dict[str, Any] = body["error"]
    return error


class ProductFactory:
    """Creates products through the API as an admin and deletes them in :meth:`cleanup`."""

    def __init__(self, admin: ApiClient, **defaults: Any) -> None:
        self.admin = admin
        self.defaults = defaults
        self.created: list[str] = []

    def __call__(self, **overrides: Any) -> dict[str, Any]:
        body = {"sku": f"sku-{uuid.uuid4().hex[:10]}", "name": f"Test product {uuid.uuid4().hex[:6]}",
                "category": "tea", "price_cents": 1234, "currency": "USD", "stock": 10,
                **self.defaults, **overrides}
        response = self.admin.post("/products", body)
        assert response.status_code == 201, response.text
        product: dict[str, Any] = response.json()
        self.created.append(product["id"])
        return product

    def cleanup(self) -> None:
        for product_id in self.created:
            self.admin.delete(f"/products/{product_id}")
