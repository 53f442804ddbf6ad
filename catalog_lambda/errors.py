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


class TooManyPendingOrdersError(ConflictError):
    """The customer already holds MAX_PENDING_ORDERS unpaid orders."""

    code = "too_many_pending_orders"


class OrderStateError(ConflictError):
    """The order's state does not allow this transition."""


class InvalidSignatureError(ValidationError):
    """A payment webhook whose signature (or its timestamp) does not check out."""

    code = "invalid_signature"


class PaymentDeclinedError(DomainError):
    """The payment provider refused the operation for a reason the caller must fix."""

    code = "payment_declined"
