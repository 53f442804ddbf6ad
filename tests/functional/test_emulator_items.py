"""The emulator builds items in linear time (infra/local/moto_items.py) and still
refuses an item over DynamoDB's size limit, as moto does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_items


@pytest.fixture
def table() -> Iterator[Any]:
    from moto.dynamodb.models.dynamo_type import Item

    original = Item.__init__
    moto_items.install()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            yield client
    finally:
        Item.__init__ = original  # type: ignore[method-assign]


def test_items_are_stored_as_moto_stores_them(table: Any) -> None:
    item = {"pk": {"S": "a"}, "n": {"N": "12"}, "words": {"L": [{"S": "x"}, {"S": "y"}]},
            "m": {"M": {"k": {"BOOL": True}}}, "missing": {"NULL": True}}
    table.put_item(TableName="t", Item=item)
    assert table.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == item


def test_an_item_over_the_size_limit_is_refused(table: Any) -> None:
    chunk = "x" * 100_000
    table.put_item(TableName="t", Item={"pk": {"S": "ok"}, **{f"a{i}": {"S": chunk} for i in range(3)}})
    with pytest.raises(ClientError) as refused:
        table.put_item(TableName="t", Item={"pk": {"S": "big"}, **{f"a{i}": {"S": chunk} for i in range(5)}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in table.get_item(TableName="t", Key={"pk": {"S": "big"}})
