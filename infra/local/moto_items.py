"""Item construction for the emulator in linear time.

moto checks DynamoDB's 400 KB item limit on every attribute it sets while building an
item, by re-adding the sizes of every attribute already set: building an item of n
attributes costs n^2/2 size computations (a product has ~17, some of them lists), about
a fifth of the emulator's time in a bulk import, which no DynamoDB spends.

This builds the item's attributes once and checks the same limit once, on the total:
sizes are never negative, so the total exceeds the limit exactly when some prefix
moto would have checked does, and the same ``ItemSizeTooLarge`` is raised. Later
changes to an item (UpdateItem) keep moto's own check.
"""

from __future__ import annotations

from typing import Any

# moto's limit (dynamo_type.LimitedSizeDict): DynamoDB's 400 KB, as measured by moto.
MAX_ITEM_BYTES = 405_000


def install() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    Item.__init__ = _item_init  # type: ignore[method-assign]


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    values = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        total += bytesize(key) + typed.size()
        dict.__setitem__(values, key, typed)
    if total > MAX_ITEM_BYTES:
        raise ItemSizeTooLarge
    self.attrs = values
