"""Order emails: rendered from the repository's templates (escaped), sent through SES v2
as text + HTML, and read back as `make outbox` reads them (moto's model data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.moto_api._internal.responses import MotoAPIResponse

from catalog_lambda.notifications import NoEmail, SesNotifier, notifier_for, render
from catalog_lambda.settings import Settings
from infra.local.bootstrap import client
from infra.local.outbox import outbox

SENDER = "orders@store.example.com"
SETTINGS = Settings(stage="mail", cursor_signing_key="x" * 32, endpoint_url=None, region="us-east-1",
                    email_sender=SENDER)


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "0f3c9a1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f", "email": "shopper@example.com", "status": "paid",
        "lines": [{"product_id": "p1", "name": "Earl Grey <Supreme> & Co", "quantity": 2, "unit_price_cents": 890},
                  {"product_id": "p2", "name": "Mug", "quantity": 1, "unit_price_cents": 1200}],
        "subtotal_cents": 2980, "shipping_cents": 500, "total_cents": 3480, "currency": "USD",
        "shipping_address": {"name": "Ada <b>Lovelace</b>", "line1": "1 Analytical Way", "line2": None,
                             "city": "London", "region": None, "postal_code": "N1 9GU", "country": "GB"},
        "shipment": None,
    }
    order.update(overrides)
    return order


def _sent() -> list[dict[str, str]]:
    _status, _headers, body = MotoAPIResponse().model_data(None, "", {})
    return outbox(json.loads(body))


@pytest.fixture
def ses() -> Iterator[Any]:
    with mock_aws():
        ses = client("sesv2", None)
        ses.create_email_identity(EmailIdentity=SENDER)
        yield ses


def test_confirmation_has_order_id_lines_totals_and_address_in_both_parts() -> None:
    text, body = render("order_paid", _order())
    for part in (text, body):
        assert "0f3c9a1e-5b7d-4c2a-9e8f-1a2b3c4d5e6f" in part
        assert "$17.80" in part and "$12.00" in part  # line totals
        assert "$29.80" in part and "$5.00" in part and "$34.80" in part
        assert "London" in part and "GB" in part
    assert "2 x Earl Grey <Supreme> & Co" in text
    # Every value in the HTML part is escaped: a product name cannot inject markup.
    assert "Earl Grey &lt;Supreme&gt; &amp; Co" in body and "<Supreme>" not in body
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in body and "<b>Lovelace" not in body


def test_shipping_notice_carries_carrier_and_tracking_number() -> None:
    order = _order(status="shipped", shipment={"carrier": "UPS", "tracking_number": "1Z<999>"})
    text, body = render("order_shipped", order)
    assert "Carrier:         UPS" in text and "Tracking number: 1Z<999>" in text
    assert "1Z&lt;999&gt;" in body


def test_notifier_sends_one_text_and_html_message_per_call(ses: Any) -> None:
    notifier = notifier_for(SETTINGS)
    assert isinstance(notifier, SesNotifier)
    notifier.order_paid(_order())
    notifier.order_shipped(_order(status="shipped", shipment={"carrier": "DHL", "tracking_number": "JD0142"}))
    sent = _sent()
    assert [m["subject"] for m in sent] == ["Order 0f3c9a1e is confirmed", "Order 0f3c9a1e has shipped"]
    assert all(m["to"] == "shopper@example.com" for m in sent)
    assert "2 x Earl Grey <Supreme> & Co" in sent[0]["text"]
    assert "Tracking number: JD0142" in sent[1]["text"]


def test_a_failed_send_does_not_undo_the_transition(ses: Any) -> None:
    # An unverified sender is refused by SES: logged, not raised.
    notifier = SesNotifier(Settings(stage="mail", cursor_signing_key="x" * 32, email_sender="nobody@else.example"),
                           lambda: ses)
    notifier.order_paid(_order())
    assert _sent() == []


def test_no_sender_means_no_email() -> None:
    assert isinstance(notifier_for(Settings(stage="mail", cursor_signing_key="x" * 32)), NoEmail)


def test_the_address_is_written_the_way_its_country_writes_it() -> None:
    us = {"name": "Sam", "line1": "1 Demo St", "city": "Springfield", "region": "IL", "postal_code": "62701",
          "country": "US"}
    fr = {"name": "Léa", "line1": "3 rue Carnot", "city": "Lyon", "postal_code": "69002", "country": "FR"}
    assert "Springfield, IL 62701\nUS" in render("order_paid", _order(shipping_address=us))[0]
    assert "69002 Lyon\nFR" in render("order_paid", _order(shipping_address=fr))[0]
