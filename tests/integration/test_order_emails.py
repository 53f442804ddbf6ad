"""Order emails over HTTP against the local stack: one per transition, whatever is
replayed or raced, read from the emulator's SES as `make outbox` reads it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.local.outbox import fetch, outbox
from tests.api_client import ApiClient
from tests.conftest import LocalStack
from tests.integration.sell import completed_event, new_customer, place, send_webhook

pytestmark = pytest.mark.integration


def _sent(stack: LocalStack, subject: str) -> list[dict[str, str]]:
    return [m for m in outbox(fetch(stack.emulator_url)) if m["subject"] == subject]


def test_replayed_and_racing_events_send_one_confirmation_and_one_shipping_notice(
    local_stack: LocalStack, make_product: Callable[..., dict[str, Any]], admin: ApiClient, anon: ApiClient,
) -> None:
    secret = local_stack.info["payment_webhook_secret"]
    buyer = ApiClient(local_stack.api_url, new_customer(local_stack))
    product = make_product(name="Oolong <Milk> & Honey", price_cents=1100, stock=5)
    order = place(buyer, [(product["id"], 2)]).json()
    session = buyer.post(f"/orders/{order['id']}/pay").json()
    event = completed_event(order, session["session_id"])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send_webhook(anon, event, secret), range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    send_webhook(anon, event, secret)  # and once more, later

    short = order["id"][:8]
    (confirmation,) = _sent(local_stack, f"Order {short} is confirmed")
    email = buyer.get(f"/orders/{order['id']}").json()["email"]
    assert confirmation["to"] == email
    assert order["id"] in confirmation["text"] and "2 x Oolong <Milk> & Honey" in confirmation["text"]
    assert "$27.00" in confirmation["text"]  # 2 x 11.00 + 5.00 shipping

    shipment = {"carrier": "DHL", "tracking_number": "JD014600006541"}
    with ThreadPoolExecutor(4) as pool:
        shipped = list(pool.map(lambda _: admin.post(f"/orders/{order['id']}/ship", shipment), range(4)))
    assert sorted(r.status_code for r in shipped) == [200, 409, 409, 409]
    (notice,) = _sent(local_stack, f"Order {short} has shipped")
    assert "Carrier:         DHL" in notice["text"] and "Tracking number: JD014600006541" in notice["text"]


def test_make_outbox_prints_one_json_object_per_message(
    local_stack: LocalStack, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from infra.local.outbox import main

    state = tmp_path / "stack.json"
    state.write_text(json.dumps(local_stack.info))
    assert main(["--state-file", str(state)]) == 0
    lines = capsys.readouterr().out.splitlines()
    messages = [json.loads(line) for line in lines]
    assert messages == outbox(fetch(local_stack.emulator_url))
    assert all(set(m) == {"to", "subject", "text"} for m in messages)
