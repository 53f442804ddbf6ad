"""GET /openapi.json: a valid OpenAPI 3.1 document that matches the route table exactly."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from api import route_table
from api.http import PUBLIC
from tests.api_client import ApiClient

ROUTES = route_table()


@pytest.fixture(scope="module")
def document(local_stack: Any) -> dict[str, Any]:
    response = ApiClient(local_stack.api_url).get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented_with_its_method(document: dict[str, Any]) -> None:
    for spec in ROUTES:
        operation = document["paths"].get(spec.path, {}).get(spec.method.lower())
        assert operation is not None, f"{spec.method} {spec.path} is missing from /openapi.json"
        assert operation["summary"] == spec.doc.summary


def test_every_documented_operation_is_a_route(document: dict[str, Any]) -> None:
    served = {(s.method.lower(), s.path) for s in ROUTES}
    for path, item in document["paths"].items():
        for method in item:
            assert (method, path) in served, f"{method.upper()} {path} is documented but not served"


def test_bearer_scheme_is_declared_and_required_exactly_on_protected_routes(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for spec in ROUTES:
        operation = document["paths"][spec.path][spec.method.lower()]
        if spec.access == PUBLIC:
            assert operation["security"] == []
        else:
            assert operation["security"] == [{"bearerAuth": []}]
            assert "401" in operation["responses"]


def test_path_parameters_match_the_route_templates(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, (path, declared)


def test_request_bodies_are_the_strict_models(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    create = schemas["ProductCreate"]
    assert create["additionalProperties"] is False
    assert set(create["required"]) == {"sku", "name", "category", "price_cents", "currency"}
    assert create["properties"]["price_cents"]["type"] == "integer"
    body = document["paths"]["/products"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ProductCreate"}


def test_documented_product_schema_matches_a_real_product(document: dict[str, Any], anon: ApiClient) -> None:
    from jsonschema import Draft202012Validator

    listing = anon.get("/products?limit=1").json()
    assert listing["items"], "the local stack seeds products"
    schema = {"$ref": "#/components/schemas/ProductPage", "components": document["components"]}
    resolver_doc = {**schema}
    Draft202012Validator(_inline(resolver_doc)).validate(listing)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite #/components/schemas refs to #/$defs so plain jsonschema resolves them."""
    import json

    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    data: dict[str, Any] = json.loads(text)
    data["$defs"] = data.pop("components")["schemas"]
    return data
