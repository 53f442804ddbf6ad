"""Count DynamoDB API calls with botocore event hooks (``before-call.dynamodb.*``) on
every client the process creates, whoever creates it (PynamoDB, Powertools, boto3)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class DynamoDBCalls:
    def __init__(self) -> None:
        self.by_operation: Counter[str] = Counter()

    def __call__(self, model: Any = None, **_kwargs: Any) -> None:
        self.by_operation[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def reset(self) -> None:
        self.by_operation.clear()

    def install(self) -> DynamoDBCalls:
        import botocore.session

        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call.dynamodb.*", counter)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
        return self
