"""The local payment provider's hosted page, served on the storefront origin at ``/pay/local``.

``GET /pay/local?session=&order=&amount=&currency=&success=&cancel=&expires=`` (the
URL ``POST /orders/{id}/pay`` returns) shows the amount with two buttons:

- **Pay** (``POST /pay/local/complete``) sends ``checkout.session.completed`` to the
  API's ``POST /payments/webhook`` in Stripe's format, signed with the stack's webhook
  secret exactly as Stripe signs (``Stripe-Signature: t=..,v1=..``), then returns the
  shopper to the order page. The amount sent is the one on the page: a tampered URL
  pays a different amount, which the API refuses to count as payment (and refunds).
- **Decline** sends nothing and returns to the order page: the order stays
  ``pending_payment`` until it is paid or expires.

Return URLs must be on this origin (a path, or this origin's own URL): no open redirect.
The secret is read once from the emulator's Secrets Manager (``PAYMENT_SECRET_NAME``).
"""

from __future__ import annotations

import html
import http.client
import json
import os
import secrets
import time
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE_PATH = "/pay/local"  # catalog_lambda.payments.local.PAGE_PATH (not imported: no app code here)
COMPLETE_PATH = "/pay/local/complete"
_FIELDS = ("session", "order", "amount", "currency", "success", "cancel", "expires")
_TIMEOUT = 30.0


@lru_cache(maxsize=1)
def webhook_secret() -> str:
    """The webhook secret of this stack (from the emulator's Secrets Manager)."""
    import boto3

    name = os.environ["PAYMENT_SECRET_NAME"]
    secretsmanager = boto3.client("secretsmanager")
    return str(json.loads(secretsmanager.get_secret_value(SecretId=name)["SecretString"])["webhook_secret"])


def _same_origin(url: str, host: str) -> bool:
    if url.startswith("/") and not url.startswith("//"):
        return True
    parts = urlsplit(url)
    origins = {host, urlsplit(os.environ.get("SITE_URL", "")).netloc} - {""}
    return parts.scheme in ("http", "https") and parts.netloc in origins


def _session(values: dict[str, str], host: str) -> dict[str, str] | None:
    """The session the page's query describes, or None when it is malformed."""
    if any(not values.get(name) for name in _FIELDS):
        return None
    if not values["amount"].isdigit() or not values["expires"].isdigit():
        return None
    if not (_same_origin(values["success"], host) and _same_origin(values["cancel"], host)):
        return None
    return {name: values[name] for name in _FIELDS}


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><link rel=\"stylesheet\" href=\"/css/store.css\"></head>"
        f"<body><main id=\"main\" class=\"payment-page\"><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    ).encode()


def render(values: dict[str, str], host: str) -> tuple[int, bytes]:
    session = _session(values, host)
    if session is None:
        return 400, _page("Payment link not valid", "<p>This payment link is incomplete or not for this store.</p>")
    amount = int(session["amount"])
    money = f"{amount // 100}.{amount % 100:02d} {session['currency'].upper()}"
    deadline = time.strftime("%H:%M:%S UTC", time.gmtime(int(session["expires"])))
    hidden = "".join(f"<input type=\"hidden\" name=\"{name}\" value=\"{html.escape(session[name])}\">"
                     for name in _FIELDS)
    body = (
        "<p class=\"payment-notice\">Local test payment page: no money moves.</p>"
        f"<p>Order <code>{html.escape(session['order'][:8])}</code></p>"
        f"<p class=\"payment-amount\">Amount: <strong id=\"payment-amount\">{html.escape(money)}</strong></p>"
        f"<p>Pay before {html.escape(deadline)}.</p>"
        f"<form method=\"post\" action=\"{COMPLETE_PATH}\">{hidden}"
        "<button type=\"submit\" class=\"button\" name=\"decision\" value=\"pay\" id=\"pay\">Pay</button> "
        "<button type=\"submit\" class=\"button secondary\" name=\"decision\" value=\"decline\" id=\"decline\">"
        "Decline</button></form>"
    )
    return 200, _page("Pay for your order", body)


def completed_event(session: dict[str, str]) -> dict[str, Any]:
    """``checkout.session.completed`` as Stripe sends it (the fields the API reads)."""
    session_id = session["session"]
    return {
        "id": f"evt_local_{secrets.token_hex(12)}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {
            "id": session_id, "object": "checkout.session", "client_reference_id": session["order"],
            "amount_total": int(session["amount"]), "currency": session["currency"].lower(),
            "payment_status": "paid", "status": "complete",
            "payment_intent": "pi_local_" + session_id.removeprefix("cs_local_"),
        }},
    }


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's signature header: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``."""
    import hashlib
    import hmac

    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def send_webhook(api_url: str, event: dict[str, Any], secret: str) -> int:
    payload = json.dumps(event)
    parts = urlsplit(api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=_TIMEOUT)
    try:
        connection.request("POST", "/payments/webhook", body=payload.encode(),
                           headers={"Content-Type": "application/json; charset=utf-8",
                                    "Stripe-Signature": sign(payload, secret)})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def complete(form: bytes, host: str, api_url: str) -> tuple[int, dict[str, str], bytes]:
    """Handle the page's form: (status, headers, body)."""
    values = {k: v[0] for k, v in parse_qs(form.decode("utf-8", "replace")).items() if v}
    session = _session(values, host)
    if session is None:
        status, body = render(values, host)
        return status, {"Content-Type": "text/html; charset=utf-8"}, body
    if values.get("decision") != "pay":
        return 303, {"Location": session["cancel"]}, b""
    try:
        status = send_webhook(api_url, completed_event(session), webhook_secret())
    except OSError:
        status = 502
    if status != 200:
        page = _page("Payment not completed", f"<p>The store did not accept the payment (HTTP {status}). "
                     f"<a href=\"{html.escape(session['cancel'])}\">Back to your order</a></p>")
        return 502, {"Content-Type": "text/html; charset=utf-8"}, page
    return 303, {"Location": session["success"]}, b""
