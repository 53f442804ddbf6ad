"""``GET /openapi.json``: the OpenAPI 3.1 document, built once per process on first use."""

from __future__ import annotations

from functools import lru_cache

from chalice.app import Response

from api.http import Ctx, Routes
from catalog_lambda.settings import get_settings

routes = Routes()


@lru_cache(maxsize=1)
def _document_json() -> str:
    import json

    from api import route_table
    from api.openapi import build_document  # pydantic: only when the document is asked for

    return json.dumps(build_document(route_table(), version=get_settings().version))


@routes.route("/openapi.json", "GET", summary="This document")
def openapi_document(ctx: Ctx) -> Response:
    return Response(body=_document_json(), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"})
