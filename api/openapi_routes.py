"""``GET /openapi.json``: the OpenAPI 3.1 document, built once per process on first use."""

from __future__ import annotations

from functools import lru_cache

from chalice.app import Response

from api.http import Ctx, route
from catalog_lambda.settings import get_settings


@lru_cache(maxsize=1)
def _document_json() -> str:
    import json

    from api.openapi import build_document  # pydantic: only when the document is asked for

    return json.dumps(build_document(version=get_settings().version))


@route("/openapi.json", "GET")
def openapi_document(ctx: Ctx) -> Response:
    return Response(body=_document_json(), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"})
