"""The local payment page's pure parts: escaping, return-URL checks, the event it sends
and its signature (verified with the Stripe SDK's own verifier)."""

from __future__ import annotations

import json

import pytest
import stripe

from infra.local import payment_page

HOST = "127.0.0.1:8080"
VALID = {"session": "cs_local_abc", "order": "order123", "amount": "1234", "currency": "usd",
         "success": "/#/orders/order123?paid=1", "cancel": "/#/orders/order123?payment=cancelled",
         "expires": "1900000000"}


def test_the_page_shows_the_amount_and_escapes_what_the_link_carries() -> None:
    status, body = payment_page.render({**VALID, "order": "<script>alert(1)</script>"}, HOST)
    text = body.decode()
    assert status == 200
    assert "12.34 USD" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'id="pay"' in text and 'id="decline"' in text


@pytest.mark.parametrize("change", [
    {"success": "https://evil.example/"}, {"cancel": "//evil.example/x"}, {"success": "javascript:alert(1)"},
    {"amount": "12.5"}, {"amount": "-1"}, {"expires": "soon"}, {"session": ""},
])
def test_a_link_off_this_origin_or_malformed_is_refused(change: dict[str, str]) -> None:
    status, _ = payment_page.render({**VALID, **change}, HOST)
    assert status == 400


def test_return_urls_on_this_origin_are_accepted() -> None:
    assert payment_page.render({**VALID, "success": f"http://{HOST}/#/orders/order123?paid=1"}, HOST)[0] == 200


def test_decline_sends_nothing_and_returns_to_the_order() -> None:
    form = "&".join(f"{k}={v}" for k, v in {**VALID, "decision": "decline"}.items()).encode()
    status, headers, _ = payment_page.complete(form, HOST, "http://127.0.0.1:1")
    assert (status, headers["Location"]) == (303, VALID["cancel"])


def test_the_event_is_stripes_and_its_signature_verifies_with_the_sdk() -> None:
    event = payment_page.completed_event(VALID)
    session = event["data"]["object"]
    assert event["type"] == "checkout.session.completed" and event["id"].startswith("evt_local_")
    assert (session["client_reference_id"], session["amount_total"], session["currency"],
            session["payment_status"]) == ("order123", 1234, "usd", "paid")
    payload = json.dumps(event)
    header = payment_page.sign(payload, "whsec_unit")
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_unit", 300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload, header, "whsec_other", 300)
