"""Write plans are pure functions of what was read: what each write will send, checked
without any I/O (no moto, no sockets)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from catalog_lambda.dynamo import MAX_TRANSACTION_ITEMS
from catalog_lambda.models import ProductModel
from catalog_lambda.repositories.plans import WritePlan, net_category_deltas, pack, transaction_size
from catalog_lambda.repositories.products import (
    create_plan,
    delete_plan,
    replace_plan,
    reserve_stock_plan,
    return_stock_plan,
    unchanged,
)

FIELDS: dict[str, Any] = {"sku": "TEA-1", "name": "Green Tea Leaves", "description": "", "category": "tea",
                          "price_cents": 1200, "currency": "USD", "image_url": None}


def _stored(**overrides: Any) -> ProductModel:
    product, _plan = create_plan({**FIELDS, **overrides}, "p1", 7)
    return product


def _labels(plan: WritePlan) -> list[tuple[str, str]]:
    return [(step.kind, step.label) for step in plan.steps]


def test_a_create_plan_guards_the_sku_counts_the_category_and_indexes_every_word() -> None:
    product, plan = create_plan(dict(FIELDS), "p1", 7)
    assert _labels(plan) == [("put", "product"), ("put", "sku")]
    assert plan.category_deltas == {"tea": 1}
    assert sorted(t.sk for t in plan.token_puts) == sorted(f"{w}#p1" for w in product.words)
    assert product.version == 1 and product.stock == 7


def test_a_replace_plan_that_keeps_sku_and_category_writes_only_the_product_and_token_changes() -> None:
    current = _stored()
    updated, plan = replace_plan(current, {**FIELDS, "name": "Green Tea Bags"})
    assert _labels(plan) == [("update", "product")]
    assert plan.category_deltas == {}
    assert [t.sk for t in plan.token_puts] == ["bags#p1"]
    assert [t.sk for t in plan.token_deletes] == ["leaves#p1"]
    assert updated.version == 2 and updated.stock == 7 and updated.name == "Green Tea Bags"


def test_a_replace_plan_moves_the_sku_guard_and_the_category_count() -> None:
    _updated, plan = replace_plan(_stored(), {**FIELDS, "sku": "TEA-2", "category": "kitchen"})
    assert _labels(plan) == [("update", "product"), ("put", "sku"), ("delete", "old_sku")]
    assert plan.category_deltas == {"kitchen": 1, "tea": -1}


def test_a_replace_plan_writes_the_sku_field_as_the_api_does() -> None:
    _updated, plan = replace_plan(_stored(), {**FIELDS, "sku": "TEA-2"})
    written = plan.steps[0].actions
    assert any("sku" in str(action) for action in written)


def test_a_delete_plan_releases_the_sku_the_count_and_every_token() -> None:
    current = _stored()
    plan = delete_plan(current)
    assert _labels(plan) == [("delete", "product"), ("delete", "sku")]
    assert plan.category_deltas == {"tea": -1}
    assert len(plan.token_deletes) == len(current.words)


def test_unchanged_compares_every_editable_field_with_the_request_defaults() -> None:
    current = _stored()
    assert unchanged(current, dict(FIELDS))
    assert unchanged(current, {k: v for k, v in FIELDS.items() if k not in ("description", "image_url")})
    for name, value in [("sku", "TEA-9"), ("name", "Other"), ("description", "x"), ("category", "kitchen"),
                        ("price_cents", 1), ("currency", "EUR"), ("image_url", "https://img.example/x.png")]:
        assert not unchanged(current, {**FIELDS, name: value}), name


def test_stock_plans_label_each_line_for_an_orders_transaction() -> None:
    product = _stored()
    reserve = reserve_stock_plan([(product, 2)])
    assert _labels(reserve) == [("update", "line:p1")]
    assert "stock" in str(reserve.steps[0].condition) and "price_cents" in str(reserve.steps[0].condition)
    assert _labels(return_stock_plan([("p1", 2), ("p2", 1)])) == [("update", "line:p1"), ("update", "line:p2")]


def test_categories_move_once_per_transaction_by_the_net_delta() -> None:
    a = _stored()
    _, moved_out = replace_plan(a, {**FIELDS, "category": "kitchen"})
    b = _stored(sku="TEA-B", category="kitchen")
    _, moved_back = replace_plan(b, {**FIELDS, "sku": "TEA-B", "category": "tea"})
    _, new = create_plan({**FIELDS, "sku": "TEA-C"}, "p3", 0)
    assert net_category_deltas([moved_out, moved_back]) == {}
    assert net_category_deltas([moved_out, moved_back, new]) == {"tea": 1}


def test_packing_fills_transactions_to_the_limit_tokens_included() -> None:
    plans = [create_plan({**FIELDS, "sku": f"S-{i}"}, f"p{i}", 0)[1] for i in range(60)]
    groups = pack(plans)
    assert [plan for group in groups for plan in group] == plans
    assert all(transaction_size(group) <= MAX_TRANSACTION_ITEMS for group in groups)
    # Every group but the last is full: one more plan would not have fitted.
    for group, following in pairwise(groups):
        assert transaction_size([*group, following[0]]) > MAX_TRANSACTION_ITEMS


def test_a_plan_larger_than_a_transaction_gets_one_of_its_own() -> None:
    name = " ".join(f"word{i:03d}" for i in range(120))
    big = create_plan({**FIELDS, "sku": "BIG", "name": name[:200]}, "big", 0)[1]
    big.token_puts = big.token_puts * 5  # more tokens than any transaction holds
    small = create_plan({**FIELDS, "sku": "SMALL"}, "small", 0)[1]
    assert pack([small, big, small]) == [[small], [big], [small]]
