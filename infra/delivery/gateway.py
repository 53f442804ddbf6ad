"""API Gateway's own answers in the contract's error shape.

Requests refused before the function runs (authorizer refusals, unknown paths,
throttling, timeouts, oversized bodies) are answered by API Gateway itself, by default
as ``{"message": ...}``. Gateway responses make them ``{"error": {"code", "message",
"details": []}}`` like every answer of the app.

They are part of the REST API's definition, which Chalice overwrites on every deploy
(PutRestApi, mode overwrite). So they travel *in* that definition: :func:`swagger_extension`
is the ``x-amazon-apigateway-gateway-responses`` block that :mod:`infra.chalice_cli` adds
to the document Chalice generates, for ``chalice deploy`` (bare or through ``make
deploy``) and ``chalice package`` alike. :func:`apply_gateway_responses` puts them
through the API instead, for an API deployed some other way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JSON = "application/json"


@dataclass(frozen=True)
class GatewayResponse:
    response_type: str
    status: str | None  # None keeps API Gateway's own status (the DEFAULT_* families)
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()  # extra headers, as the app sends them for the same status

    def body(self) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message, "details": []}})

    def parameters(self) -> dict[str, str]:
        return {
            "gatewayresponse.header.Content-Type": "'application/json'",
            "gatewayresponse.header.Cache-Control": "'no-store'",
            **{f"gatewayresponse.header.{name}": f"'{value}'" for name, value in self.headers},
        }

    def request(self, rest_api_id: str) -> dict[str, Any]:
        """PutGatewayResponse's arguments."""
        params: dict[str, Any] = {
            "restApiId": rest_api_id,
            "responseType": self.response_type,
            "responseTemplates": {JSON: self.body()},
            "responseParameters": self.parameters(),
        }
        if self.status is not None:
            params["statusCode"] = self.status
        return params

    def definition(self) -> dict[str, Any]:
        """This response in an API definition (``x-amazon-apigateway-gateway-responses`` entry)."""
        item: dict[str, Any] = {"responseParameters": self.parameters(), "responseTemplates": {JSON: self.body()}}
        if self.status is not None:
            item["statusCode"] = self.status
        return item


_SIGN_IN = "sign in: a valid Authorization: Bearer token is required"
_BEARER = (("WWW-Authenticate", 'Bearer realm="store"'),)  # as api.auth.unauthorized() answers
_RETRY = (("Retry-After", "1"),)

GATEWAY_RESPONSES: tuple[GatewayResponse, ...] = (
    GatewayResponse("DEFAULT_4XX", None, "bad_request", "the request was refused"),
    GatewayResponse("DEFAULT_5XX", None, "internal_error", "an unexpected error occurred; it has been logged"),
    GatewayResponse("UNAUTHORIZED", "401", "unauthorized", _SIGN_IN, _BEARER),
    GatewayResponse("EXPIRED_TOKEN", "401", "unauthorized", "the token has expired", _BEARER),
    GatewayResponse("ACCESS_DENIED", "403", "forbidden", "you may not do this"),
    GatewayResponse("INVALID_SIGNATURE", "403", "forbidden", "the request signature is not valid"),
    GatewayResponse("INVALID_API_KEY", "403", "forbidden", "the API key is not valid"),
    GatewayResponse("WAF_FILTERED", "403", "forbidden", "the request was blocked"),
    # A REST API answers an unknown path or method with MISSING_AUTHENTICATION_TOKEN (403).
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", "404", "not_found", "no such resource"),
    GatewayResponse("RESOURCE_NOT_FOUND", "404", "not_found", "no such resource"),
    GatewayResponse("BAD_REQUEST_BODY", "400", "validation_error", "the request body is not valid"),
    GatewayResponse("BAD_REQUEST_PARAMETERS", "400", "validation_error", "the request parameters are not valid"),
    GatewayResponse("REQUEST_TOO_LARGE", "413", "payload_too_large", "the request body is too large"),
    GatewayResponse("UNSUPPORTED_MEDIA_TYPE", "415", "unsupported_media_type", "send application/json"),
    GatewayResponse("THROTTLED", "429", "throttled", "too many requests; retry later", _RETRY),
    GatewayResponse("QUOTA_EXCEEDED", "429", "throttled", "request quota exceeded; retry later", _RETRY),
    GatewayResponse("INTEGRATION_TIMEOUT", "503", "unavailable", "the service did not answer in time; retry", _RETRY),
    GatewayResponse("INTEGRATION_FAILURE", "503", "unavailable", "the service is unavailable; retry", _RETRY),
    GatewayResponse("AUTHORIZER_FAILURE", "503", "unavailable", "sign-in checks are unavailable; retry", _RETRY),
    GatewayResponse("AUTHORIZER_CONFIGURATION_ERROR", "500", "internal_error",
                    "an unexpected error occurred; it has been logged"),
    GatewayResponse("API_CONFIGURATION_ERROR", "500", "internal_error",
                    "an unexpected error occurred; it has been logged"),
)


SWAGGER_EXTENSION = "x-amazon-apigateway-gateway-responses"


def swagger_extension() -> dict[str, dict[str, Any]]:
    """Every gateway response, keyed by type, as the API definition carries them."""
    return {response.response_type: response.definition() for response in GATEWAY_RESPONSES}


def apply_gateway_responses(apigateway: Any, rest_api_id: str, stage_name: str) -> str:
    """Put every gateway response, then deploy the stage; returns the new deployment id."""
    for response in GATEWAY_RESPONSES:
        apigateway.put_gateway_response(**response.request(rest_api_id))
    deployment = apigateway.create_deployment(
        restApiId=rest_api_id, stageName=stage_name,
        description="gateway responses in the contract's error shape (infra.delivery)",
    )
    return str(deployment["id"])
