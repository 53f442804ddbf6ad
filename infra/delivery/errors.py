"""Errors of the delivery: all derive from :class:`infra.aws.InfraError`, the toolkit's one error root."""

from __future__ import annotations

from infra.aws import InfraError, MissingInfrastructureError

__all__ = ["DeliveryError", "MissingInfrastructureError"]


class DeliveryError(InfraError):
    """A deploy cannot go on: something it needs is missing or a step failed."""
