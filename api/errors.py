"""The one place where errors become the contract's JSON: ``{"error": {code, message, details}}``."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Response

from catalog_lambda import errors as domain

JSON_HEADERS = {"Content-Type": "application/json"}


class ApiError(Exception):
    """An HTTP-level refusal (auth, body framing, routing) raised by the API layer itself."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


_STATUS_BY_DOMAIN_ERROR: list[tuple[type[domain.DomainError], int]] = [
    (domain.ValidationError, 400),
    (domain.NotFoundError, 404),
    (domain.RequestInProgressError, 409),
    (domain.ConflictError, 409),
    (domain.PreconditionFailedError, 412),
    (domain.PaymentDeclinedError, 402),
    (domain.IdempotencyConflictError, 422),
    (domain.UnavailableError, 503),
]

# Chalice's own error answers (405, 415, ...) carry {"Code", "Message"}: renamed here.
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "validation_error",
    "BadRequestError": "validation_error",
    "NotFoundError": "not_found",
    "UnauthorizedError": "unauthorized",
    "ForbiddenError": "forbidden",
    "ConflictError": "conflict",
    "TooManyRequestsError": "throttled",
    "RequestTooLargeError": "payload_too_large",
    "InternalServerError": "internal_error",
}


def error_response(status: int, code: str, message: str, details: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, "details": details or []}})
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def response_for(error: Exception) -> Response | None:
    """The contract's response for an error we raise on purpose, or None for a bug."""
    if isinstance(error, ApiError):
        return error_response(error.status, error.code, error.message, error.details, error.headers)
    if isinstance(error, domain.DomainError):
        for cls, status in _STATUS_BY_DOMAIN_ERROR:
            if isinstance(error, cls):
                headers = {}
                if isinstance(error, domain.UnavailableError):
                    headers["Retry-After"] = str(error.retry_after)
                return error_response(status, error.code, error.message, error.details, headers)
    return None


def internal_error() -> Response:
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def normalize_chalice_error(response: Response) -> Response:
    """Rewrite Chalice's built-in error bodies (405, 415, 500) into the contract's shape."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or "Code" not in body:
        return response
    code = _CHALICE_CODES.get(str(body["Code"]), "error")
    if response.status_code >= 500:
        return internal_error()
    headers = {k: str(v) for k, v in response.headers.items() if k.lower() != "content-type"}
    return error_response(response.status_code, code, str(body.get("Message", "")), [], headers)
