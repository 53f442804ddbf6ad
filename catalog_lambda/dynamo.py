"""Shared DynamoDB plumbing: connections for transactions and error translation."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from botocore.session import Session as BotocoreSession
from pynamodb.connection import Connection
from pynamodb.connection._botocore_private import BotocoreBaseClientPrivate
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from catalog_lambda.aws import CLIENT_CREATION, botocore_session
from catalog_lambda.errors import UnavailableError
from catalog_lambda.settings import Settings

# DynamoDB answers that mean "try again later", not "your request is wrong".
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)
# botocore's adaptive mode: exponential backoff with jitter on throttling and transient
# errors, plus client-side rate limiting while DynamoDB throttles. Three attempts keep the
# worst case well inside the function's timeout; then the caller gets UnavailableError (503).
DYNAMODB_RETRIES = {"mode": "adaptive", "total_max_attempts": 3}
# One transaction may hold at most this many actions.
MAX_TRANSACTION_ITEMS = 100


class _SharedSessionConnection(Connection):
    """A PynamoDB connection whose botocore client comes from the process's one session."""

    @property
    def session(self) -> BotocoreSession:
        return botocore_session()

    @property
    def client(self) -> BotocoreBaseClientPrivate:
        with CLIENT_CREATION:
            return super().client


@lru_cache(maxsize=4)
def shared_connection(settings: Settings) -> Connection:
    """The process's one PynamoDB connection (one botocore client) for the stage.

    Every model is bound to it (:func:`catalog_lambda.models.bind_models`) and every
    transaction and batch write uses it: PynamoDB otherwise builds a botocore session and
    client per model, each loading botocore's data again (tens of ms on a cold start).
    Its session is :func:`catalog_lambda.aws.botocore_session`, shared with boto3 clients.
    """
    return _SharedSessionConnection(region=settings.region, host=settings.endpoint_url,
                                    retry_configuration=DYNAMODB_RETRIES)


def use_shared_connection(model: type[Model], settings: Settings) -> None:
    """Bind ``model`` (already pointed at its table) to :func:`shared_connection`."""
    shared = shared_connection(settings)
    model._connection = None
    table_connection = model._get_connection()
    meta_table = table_connection.get_meta_table()
    # The first model of a table declares its indexes (models.TABLE_SHAPES): it is bound first.
    if meta_table.table_name not in shared._tables:
        shared.add_meta_table(meta_table)
    table_connection.connection = shared



def is_retryable(error: PynamoDBException) -> bool:
    if isinstance(error.cause, (BotoConnectionError, HTTPClientError)):
        return True  # connection refused or reset, timeouts: transient, after botocore's retries
    if error.cause_response_code in RETRYABLE_CODES:
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in {"ThrottlingError", "TransactionConflict"} for r in reasons)


@contextmanager
def unavailable_on_throttle() -> Iterator[None]:
    """Turn DynamoDB throttling (after botocore's own retries) into UnavailableError."""
    try:
        yield
    except PynamoDBException as error:
        if is_retryable(error):
            raise UnavailableError("the database is busy; retry shortly", retry_after=1) from error
        raise


class LabeledTransaction:
    """A PynamoDB TransactWrite whose items carry labels, so a cancellation says which
    of *our* conditions failed. (PynamoDB sends condition checks, deletes, puts and
    updates in that order, whatever order they were added in; the reasons follow it.)"""

    _ORDER = ("check", "delete", "put", "update")

    def __init__(self, settings: Settings) -> None:
        self._tx = TransactWrite(connection=shared_connection(settings))
        self._labels: dict[str, list[str]] = {kind: [] for kind in self._ORDER}

    def add(self, kind: str, label: str, model: Model, condition: Condition | None = None,
            actions: list[Action] | None = None) -> None:
        """Add one labelled action: ``check``, ``delete``, ``put`` or ``update``."""
        if kind == "check":
            model_cls = type(model)
            assert condition is not None and model_cls._hash_keyname and model_cls._range_keyname
            self.check(label, model_cls, getattr(model, model_cls._hash_keyname),
                       getattr(model, model_cls._range_keyname), condition)
        elif kind == "delete":
            self.delete(label, model, condition)
        elif kind == "put":
            self.put(label, model, condition)
        elif kind == "update":
            self.update(label, model, actions or [], condition)
        else:
            raise ValueError(f"unknown transaction action {kind!r}")

    def check(self, label: str, model_cls: type[Model], hash_key: str, range_key: str, condition: Condition) -> None:
        self._tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def delete(self, label: str, model: Model, condition: Condition | None = None) -> None:
        self._tx.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def put(self, label: str, model: Model, condition: Condition | None = None) -> None:
        self._tx.save(model, condition=condition)
        self._labels["put"].append(label)

    def update(self, label: str, model: Model, actions: list[Action], condition: Condition | None = None) -> None:
        self._tx.update(model, actions=actions, condition=condition, add_version_condition=False)
        self._labels["update"].append(label)

    def __len__(self) -> int:
        return sum(len(v) for v in self._labels.values())

    def commit(self) -> None:
        """Commit; raises :class:`TransactionFailed` naming the failed conditions.

        DynamoDB cancels a transaction that collides with another one on the same item
        (``TransactionConflict``); that is retried here a few times with jittered
        backoff before it becomes a 503.
        """
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                self._commit_once()
                return
            except TransactWriteError as error:
                if attempt < _CONFLICT_RETRIES and _is_conflict(error):
                    time.sleep(random.uniform(0, 0.05 * 2**attempt))
                    continue
                with unavailable_on_throttle():
                    raise

    def _commit_once(self) -> None:
        try:
            self._tx._commit()
        except TransactWriteError as error:
            labels = [label for kind in self._ORDER for label in self._labels[kind]]
            reasons = error.cancellation_reasons or []
            failed = {labels[i] for i, r in enumerate(reasons)
                      if r is not None and r.code == "ConditionalCheckFailed" and i < len(labels)}
            if not failed:
                raise
            raise TransactionFailed(failed) from error


_CONFLICT_RETRIES = 3


def _is_conflict(error: TransactWriteError) -> bool:
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "TransactionConflict" for r in reasons)


class TransactionFailed(Exception):
    def __init__(self, failed: set[str]) -> None:
        super().__init__(f"transaction conditions failed: {sorted(failed)}")
        self.failed = failed
