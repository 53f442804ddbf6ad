"""Write plans, and the one function that commits them.

A :class:`WritePlan` is everything one write will do, built from what was read and
before anything is sent: the labelled transaction steps (puts, updates, deletes and
condition checks, each with its condition), the net change of each touched category's
``product_count``, and the search-token writes. Building a plan does no I/O, so the
rules live in pure functions that unit tests call directly.

:func:`commit` packs one plan (a request) or many (a chunk of a bulk import, or an
order with the stock it reserves) into one TransactWriteItems: every step, one count
update per category (the plans' net delta, since a transaction may touch an item only
once), and as many token writes as the spare slots hold. Tokens are idempotent and
search re-checks names, so any that do not fit go by BatchWriteItem after the commit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from catalog_lambda.dynamo import MAX_TRANSACTION_ITEMS, LabeledTransaction, shared_connection
from catalog_lambda.errors import UnavailableError
from catalog_lambda.models import CATEGORIES_PK, CategoryModel, TokenModel
from catalog_lambda.settings import Settings

BATCH_WRITE_SIZE = 25
UNPROCESSED_RETRIES = 8

StepKind = Literal["check", "delete", "put", "update"]


@dataclass(frozen=True)
class Step:
    """One labelled transaction action; a failed condition is reported by its label."""

    kind: StepKind
    label: str
    model: Model
    condition: Condition | None = None
    actions: tuple[Action, ...] = ()


@dataclass
class WritePlan:
    steps: list[Step] = field(default_factory=list)
    category_deltas: dict[str, int] = field(default_factory=dict)
    token_puts: list[TokenModel] = field(default_factory=list)
    token_deletes: list[TokenModel] = field(default_factory=list)

    def put(self, label: str, model: Model, condition: Condition | None = None) -> None:
        self.steps.append(Step("put", label, model, condition))

    def update(self, label: str, model: Model, actions: Sequence[Action], condition: Condition | None = None) -> None:
        self.steps.append(Step("update", label, model, condition, tuple(actions)))

    def delete(self, label: str, model: Model, condition: Condition | None = None) -> None:
        self.steps.append(Step("delete", label, model, condition))

    def check(self, label: str, model: Model, condition: Condition) -> None:
        self.steps.append(Step("check", label, model, condition))

    def count(self, category: str, delta: int) -> None:
        self.category_deltas[category] = self.category_deltas.get(category, 0) + delta

    @property
    def size(self) -> int:
        """Transaction actions this plan needs at most, tokens included."""
        return (len(self.steps) + sum(1 for d in self.category_deltas.values() if d)
                + len(self.token_puts) + len(self.token_deletes))


def category_label(slug: str) -> str:
    """The label of a category's count update: its condition fails when the category does not exist."""
    return f"category:{slug}"


def net_category_deltas(plans: Iterable[WritePlan]) -> dict[str, int]:
    net: dict[str, int] = {}
    for plan in plans:
        for slug, delta in plan.category_deltas.items():
            net[slug] = net.get(slug, 0) + delta
    return {slug: delta for slug, delta in sorted(net.items()) if delta}


def transaction_size(plans: Sequence[WritePlan]) -> int:
    """Actions one transaction holding ``plans`` needs (categories counted once each)."""
    return (sum(len(p.steps) + len(p.token_puts) + len(p.token_deletes) for p in plans)
            + len(net_category_deltas(plans)))


def pack(plans: Sequence[WritePlan], limit: int = MAX_TRANSACTION_ITEMS) -> list[list[WritePlan]]:
    """Group consecutive plans so each group fits one transaction, tokens included.

    A plan too large on its own gets a group of its own (its extra tokens then go by
    BatchWriteItem after the commit).
    """
    groups: list[list[WritePlan]] = []
    current: list[WritePlan] = []
    for plan in plans:
        if current and transaction_size([*current, plan]) > limit:
            groups.append(current)
            current = []
        current.append(plan)
    if current:
        groups.append(current)
    return groups


TokenWrite = tuple[str, TokenModel]  # ("put" | "delete", token)


def build_transaction(settings: Settings, plans: Sequence[WritePlan]) -> tuple[LabeledTransaction, list[TokenWrite]]:
    """The transaction for ``plans``, and the token writes left over for BatchWriteItem."""
    tx = LabeledTransaction(settings)
    for plan in plans:
        for step in plan.steps:
            tx.add(step.kind, step.label, step.model, step.condition, list(step.actions))
    for slug, delta in net_category_deltas(plans).items():
        # A category must exist to receive a product; taking one away needs no check.
        tx.add("update", category_label(slug), CategoryModel(CATEGORIES_PK, slug),
               actions=[CategoryModel.product_count.add(delta)],
               condition=CategoryModel.pk.exists() if delta > 0 else None)
    tokens: list[TokenWrite] = [("delete", t) for p in plans for t in p.token_deletes]
    tokens += [("put", t) for p in plans for t in p.token_puts]
    spare = max(0, MAX_TRANSACTION_ITEMS - len(tx))
    for kind, token in tokens[:spare]:
        tx.add("put" if kind == "put" else "delete", "token", token)
    return tx, tokens[spare:]


class TokensNotWrittenError(UnavailableError):
    """The transaction committed, but some search tokens after it could not be written."""


def commit(settings: Settings, plans: Sequence[WritePlan]) -> None:
    """Commit ``plans`` in one transaction, then write the tokens that did not fit.

    Raises :class:`~catalog_lambda.dynamo.TransactionFailed` naming the failed
    conditions' labels, or :class:`UnavailableError` (throttled, or colliding with other
    transactions): nothing was written then. :class:`TokensNotWrittenError` means the
    transaction committed and some tokens are missing.
    """
    tx, later = build_transaction(settings, plans)
    if len(tx):
        tx.commit()
    write_tokens(settings, later)


def write_tokens(settings: Settings, tokens: Sequence[TokenWrite]) -> None:
    requests: list[dict[str, Any]] = [
        {"PutRequest": {"Item": token.serialize()}} if kind == "put"
        else {"DeleteRequest": {"Key": {"pk": {"S": token.pk}, "sk": {"S": token.sk}}}}
        for kind, token in tokens
    ]
    for start in range(0, len(requests), BATCH_WRITE_SIZE):
        _batch_write(settings, requests[start:start + BATCH_WRITE_SIZE])


def _batch_write(settings: Settings, requests: list[dict[str, Any]]) -> None:
    """One BatchWriteItem; unprocessed items are sent again with backoff."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = shared_connection(settings).client
    pending = {settings.products_table: requests}
    for attempt in range(UNPROCESSED_RETRIES + 1):
        try:
            answer = client.batch_write_item(RequestItems=pending)
        except (BotoCoreError, ClientError) as error:
            raise TokensNotWrittenError("the database is busy; retry shortly", retry_after=1) from error
        pending = answer.get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise TokensNotWrittenError("the database kept some search-index writes unprocessed; retry", retry_after=1)
