"""Domain errors. The HTTP layer maps each to the contract's error JSON in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[Any] = details or []


class ValidationError(DomainError):
    code = "validation_error"


class NotFoundError(DomainError):
    code = "not_found"


class ProductNotFoundError(NotFoundError):
    pass


class OrderNotFoundError(NotFoundError):
    pass


class ConflictError(DomainError):
    code = "conflict"


class DuplicateSkuError(ConflictError):
    pass


class OutOfStockError(ConflictError):
    code = "out_of_stock"


class PreconditionFailedError(DomainError):
    code = "precondition_failed"


class IdempotencyConflictError(DomainError):
    """The same Idempotency-Key was used with a different request body."""

    code = "idempotency_key_reused"


class RequestInProgressError(ConflictError):
    """A request with the same Idempotency-Key is still being processed."""


class UnavailableError(DomainError):
    """A dependency is throttling or failing; the client may retry later."""

    code = "unavailable"

    def __init__(self, message: str, retry_after: int = 1, details: list[Any] | None = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after
