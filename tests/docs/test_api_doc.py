"""docs/api.md and the OpenAPI document describe the same API.

Both sides are read as data: every ``### METHOD /path`` section of api.md's Endpoints
lists its statuses, query and header parameters, request body and response object;
every ``### Name`` section of its Objects has a table of fields. The OpenAPI document
is the one ``GET /openapi.json`` serves. A route, a status code, a parameter, a body, a
response object or a field that only one side has fails here, with the difference
named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
API_DOC = PROJECT_DIR / "docs" / "api.md"
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")
COMPONENT_PREFIX = "#/components/schemas/"


@dataclass
class DocEndpoint:
    statuses: set[int] = field(default_factory=set)
    query: set[str] = field(default_factory=set)
    headers: set[str] = field(default_factory=set)
    body: str | None = None
    response: str | None = None


def _sections(text: str, level: str) -> Iterator[tuple[str, str]]:
    """(heading, body) for every heading of exactly ``level`` ('##' or '###') in ``text``."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
    for index in range(1, len(parts), 2):
        yield parts[index].strip(), parts[index + 1]


def _chapter(text: str, title: str) -> str:
    chapters = dict(_sections(text, "##"))
    assert title in chapters, f"docs/api.md has no '## {title}'"
    return chapters[title]


def _names(value: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", value))


def parse_endpoints(text: str) -> dict[tuple[str, str], DocEndpoint]:
    found: dict[tuple[str, str], DocEndpoint] = {}
    for heading, body in _sections(_chapter(text, "Endpoints"), "###"):
        method, _, path = heading.partition(" ")
        assert method in HTTP_METHODS and path.startswith("/"), f"not an endpoint heading: {heading!r}"
        assert (method, path) not in found, f"{heading} is documented twice"
        endpoint = DocEndpoint()
        for key, value in re.findall(r"^- \*\*(\w+)\*\*: (.+)$", body, flags=re.MULTILINE):
            if key == "Statuses":
                endpoint.statuses = {int(status) for status in re.findall(r"\d{3}", value)}
            elif key == "Query":
                endpoint.query = _names(value)
            elif key == "Headers":
                endpoint.headers = _names(value)
            elif key in ("Body", "Response"):
                (name,) = _names(value)
                setattr(endpoint, key.lower(), name)
            else:
                raise AssertionError(f"{heading}: unknown entry **{key}**")
        assert endpoint.statuses, f"{heading} lists no statuses"
        found[(method, path)] = endpoint
    return found


def parse_objects(text: str) -> dict[str, set[str]]:
    objects: dict[str, set[str]] = {}
    for name, body in _sections(_chapter(text, "Objects"), "###"):
        rows = re.findall(r"^\| `([^`]+)` \|", body, flags=re.MULTILINE)
        assert rows, f"object {name} has no field table"
        assert len(rows) == len(set(rows)), f"object {name} lists a field twice"
        objects[name] = set(rows)
    return objects


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    ref = (schema or {}).get("$ref")
    return ref.removeprefix(COMPONENT_PREFIX) if isinstance(ref, str) else None


def openapi_endpoints(document: dict[str, Any]) -> dict[tuple[str, str], DocEndpoint]:
    found: dict[tuple[str, str], DocEndpoint] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method.upper() not in HTTP_METHODS:
                continue
            parameters = operation.get("parameters", [])
            statuses = {int(status) for status in operation["responses"]}
            ok = min(status for status in statuses if 200 <= status < 300)
            content = operation["responses"][str(ok)].get("content", {})
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            found[(method.upper(), path)] = DocEndpoint(
                statuses=statuses,
                query={p["name"] for p in parameters if p["in"] == "query"},
                headers={p["name"] for p in parameters if p["in"] == "header"},
                body=_ref_name(body.get("schema")),
                response=_ref_name(content.get("application/json", {}).get("schema")),
            )
    return found


def openapi_objects(document: dict[str, Any]) -> dict[str, set[str]]:
    return {name: set(schema.get("properties", {}))
            for name, schema in document["components"]["schemas"].items()}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document `GET /openapi.json` serves (the app in process, through Chalice's test client)."""
    import json

    from chalice.test import Client

    from api import create_app

    with Client(create_app()) as client:
        response = client.http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.body)
    return document


@pytest.fixture(scope="module")
def api_doc() -> str:
    return API_DOC.read_text()


def test_every_route_is_documented_and_every_documented_route_exists(document: dict[str, Any],
                                                                     api_doc: str) -> None:
    documented, served = set(parse_endpoints(api_doc)), set(openapi_endpoints(document))
    missing, extra = sorted(served - documented), sorted(documented - served)
    assert not missing, f"routes missing from docs/api.md: {missing}"
    assert not extra, f"routes in docs/api.md that the API does not serve: {extra}"


def test_each_route_has_the_same_statuses_parameters_body_and_response(document: dict[str, Any],
                                                                        api_doc: str) -> None:
    documented, served = parse_endpoints(api_doc), openapi_endpoints(document)
    differences = []
    for key in sorted(documented.keys() & served.keys()):
        doc, api = documented[key], served[key]
        for name in ("statuses", "query", "headers", "body", "response"):
            if getattr(doc, name) != getattr(api, name):
                differences.append(f"{key[0]} {key[1]} {name}: docs/api.md {getattr(doc, name)!r}, "
                                   f"OpenAPI {getattr(api, name)!r}")
    assert not differences, "\n".join(differences)


def test_every_object_has_the_same_fields_in_both(document: dict[str, Any], api_doc: str) -> None:
    documented, served = parse_objects(api_doc), openapi_objects(document)
    missing, extra = sorted(served.keys() - documented.keys()), sorted(documented.keys() - served.keys())
    assert not missing, f"objects missing from docs/api.md: {missing}"
    assert not extra, f"objects in docs/api.md that the OpenAPI document lacks: {extra}"
    differences = {name: {"only in docs/api.md": sorted(documented[name] - served[name]),
                          "only in OpenAPI": sorted(served[name] - documented[name])}
                   for name in sorted(documented.keys() & served.keys()) if documented[name] != served[name]}
    assert not differences, differences


# The parsers are checked on their own, so a parser that finds nothing cannot pass the
# comparisons above by comparing two empty sets.

SAMPLE = """# t
## Endpoints
### GET /things/{thing_id}
- **Statuses**: 200, 304, 404
- **Query**: `a`, `b`
- **Headers**: `If-None-Match`
- **Response**: `Thing`
### POST /things
- **Statuses**: 201, 400
- **Body**: `ThingIn`
## Objects
### Thing
| field | type |
| --- | --- |
| `id` | string |
| `name` | string |
## Other
"""


def test_the_parsers_read_every_entry() -> None:
    endpoints = parse_endpoints(SAMPLE)
    assert endpoints == {
        ("GET", "/things/{thing_id}"): DocEndpoint({200, 304, 404}, {"a", "b"}, {"If-None-Match"}, None, "Thing"),
        ("POST", "/things"): DocEndpoint({201, 400}, set(), set(), "ThingIn", None),
    }
    assert parse_objects(SAMPLE) == {"Thing": {"id", "name"}}


def test_the_real_document_and_page_are_not_empty(document: dict[str, Any], api_doc: str) -> None:
    assert len(openapi_endpoints(document)) >= 10 and len(parse_endpoints(api_doc)) >= 10
    assert len(openapi_objects(document)) >= 8 and len(parse_objects(api_doc)) >= 8


def test_a_difference_is_found() -> None:
    document = {"paths": {"/things/{thing_id}": {"get": {"parameters": [], "responses": {"200": {}, "404": {}}}}},
                "components": {"schemas": {"Thing": {"properties": {"id": {}}}}}}
    key = ("GET", "/things/{thing_id}")
    assert openapi_endpoints(document)[key].statuses != parse_endpoints(SAMPLE)[key].statuses
    assert openapi_objects(document) != parse_objects(SAMPLE)
