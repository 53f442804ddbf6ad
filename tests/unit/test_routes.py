"""The one route table: every route declared once with its OpenAPI entry, the document
built from it in process, and the query checks the declarations drive (no I/O: the
refusals come before any handler runs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from api import route_table
from api.http import PUBLIC
from api.openapi import build_document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(route_table())


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)


def test_each_route_is_declared_once_and_documented_as_declared(document: dict[str, Any]) -> None:
    routes = route_table()
    keys = [(spec.method, spec.path) for spec in routes]
    assert len(keys) == len(set(keys)), "a route is declared twice"
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert documented == set(keys)
    for spec in routes:
        operation = document["paths"][spec.path][spec.method.lower()]
        assert operation["summary"] == spec.doc.summary and spec.doc.summary
        assert str(spec.doc.ok) in operation["responses"]
        assert (operation["security"] == []) == (spec.access == PUBLIC)


def test_models_are_named_that_exist(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for spec in route_table():
        for name in (spec.doc.response, spec.doc.body):
            assert name is None or name in schemas, f"{spec.method} {spec.path}: no model {name!r}"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    import app

    with Client(app.app, stage_name="unit") as test_client:
        yield test_client


@pytest.mark.parametrize("query", ["unknown=1", "limit=", "limit=5&Limit=5", "category=tea&page=2"])
def test_undeclared_or_empty_integer_query_parameters_are_400(client: Client, query: str) -> None:
    response = client.http.get(f"/products?{query}")
    assert response.status_code == 400
    error = json.loads(response.body)["error"]
    assert error["code"] == "validation_error" and error["details"]


def test_a_route_without_query_parameters_refuses_any(client: Client) -> None:
    response = client.http.get("/health?verbose=1")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["details"] == [{"field": "verbose",
                                                              "issue": "not a parameter of this route"}]
