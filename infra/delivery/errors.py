"""Errors of the delivery tooling."""

from __future__ import annotations


class DeliveryError(Exception):
    """A deploy cannot go on: something it needs is missing or a step failed."""


class MissingInfrastructureError(DeliveryError):
    """A stack, bucket or service the deploy reads has not been created yet."""
