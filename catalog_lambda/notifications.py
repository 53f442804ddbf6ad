"""Order emails through SES (v2 API): the confirmation when an order is paid and the
shipping notice, with carrier and tracking number, when it ships.

:class:`SesNotifier` implements the order service's notifier port. The service calls it
only after its own conditional transition write has won, so a replayed webhook or a
repeated ship request never sends a second email: one email per transition.

Each message has a plain-text and an HTML part, rendered from the templates in
``catalog_lambda/email_templates/`` (``string.Template``); every value put into the
HTML part is escaped. Messages go out as raw MIME (``multipart/alternative``), which
is also what the local emulator keeps whole, so ``make outbox`` can show the text part.

A failed send is logged and swallowed: the order has already changed state, and
failing the webhook would make the provider retry an event that now changes nothing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from catalog_lambda.money import display_price
from catalog_lambda.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "email_templates"
STORE_NAME = "Serverless Store"
logger = logging.getLogger(__name__)

SesClient = Any


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def short_id(order_id: str) -> str:
    return order_id[:8]


def _joined(separator: str, *parts: str) -> str:
    return separator.join(p for p in parts if p)


def _address_lines(address: Mapping[str, Any] | None) -> list[str]:
    """In the order the country writes them (the same rule as the storefront's ui.js)."""
    if not address:
        return []
    name, line1, line2, city, region, postal, country = (
        str(address.get(k) or "") for k in ("name", "line1", "line2", "city", "region", "postal_code", "country"))
    if country in ("US", "CA", "AU"):
        place = [_joined(", ", city, _joined(" ", region, postal))]
    elif country in ("GB", "IE"):
        place = [city, region, postal]
    else:
        place = [_joined(" ", postal, city), region]
    return [p for p in (name, line1, line2, *place, country) if p]


def _values(order: Mapping[str, Any], escape: Callable[[str], str]) -> dict[str, str]:
    currency = str(order["currency"])
    shipment = order.get("shipment") or {}
    return {
        "order_id": escape(str(order["id"])),
        "subtotal": escape(display_price(int(order.get("subtotal_cents") or 0), currency)),
        "shipping": escape(display_price(int(order.get("shipping_cents") or 0), currency)),
        "total": escape(display_price(int(order["total_cents"]), currency)),
        "carrier": escape(str(shipment.get("carrier") or "")),
        "tracking_number": escape(str(shipment.get("tracking_number") or "")),
        "store_name": escape(STORE_NAME),
    }


def _lines(order: Mapping[str, Any], kind: str, escape: Callable[[str], str]) -> str:
    line = _template(f"line.{kind}")
    currency = str(order["currency"])
    return "".join(line.substitute(
        name=escape(str(item["name"])), quantity=escape(str(item["quantity"])),
        price=escape(display_price(int(item["unit_price_cents"]) * int(item["quantity"]), currency)),
    ) for item in order["lines"])


def render(kind: str, order: Mapping[str, Any]) -> tuple[str, str]:
    """(text, html) of the ``order_paid`` or ``order_shipped`` message for this order."""
    plain = _values(order, str)
    text = _template(f"{kind}.txt").substitute(
        plain, lines=_lines(order, "txt", str), address="\n".join(_address_lines(order.get("shipping_address"))))
    escaped = _values(order, html.escape)
    body = _template(f"{kind}.html").substitute(
        escaped, lines=_lines(order, "html", html.escape),
        address="<br>".join(html.escape(line) for line in _address_lines(order.get("shipping_address"))))
    return text, body


def order_confirmation(order: Mapping[str, Any]) -> Email:
    text, body = render("order_paid", order)
    return Email(str(order["email"]), f"Order {short_id(str(order['id']))} is confirmed", text, body)


def shipping_notice(order: Mapping[str, Any]) -> Email:
    text, body = render("order_shipped", order)
    return Email(str(order["email"]), f"Order {short_id(str(order['id']))} has shipped", text, body)


def mime(email: Email, sender: str) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr((STORE_NAME, sender))
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message.as_bytes()


class SesNotifier:
    """The order service's notifier: one email per paid or shipped transition."""

    def __init__(self, settings: Settings, ses: Callable[[], SesClient]) -> None:
        self._sender = settings.email_sender
        self._configuration_set = settings.ses_configuration_set
        self._ses = ses

    def order_paid(self, order: dict[str, Any]) -> None:
        self._send(order_confirmation(order), order)

    def order_shipped(self, order: dict[str, Any]) -> None:
        self._send(shipping_notice(order), order)

    def _send(self, email: Email, order: Mapping[str, Any]) -> None:
        if not email.to:
            logger.warning("order %s has no email address: nothing sent", order.get("id"))
            return
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {"Raw": {"Data": mime(email, self._sender)}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ses().send_email(**request)
        except (BotoCoreError, ClientError):  # the transition stands; the lost email is logged
            logger.exception("could not send %r for order %s", email.subject, order.get("id"))


class NoEmail:
    """When the stage has no sender address: nothing is sent (and that is logged)."""

    def order_paid(self, order: dict[str, Any]) -> None:
        logger.info("no EMAIL_SENDER: no confirmation for order %s", order.get("id"))

    def order_shipped(self, order: dict[str, Any]) -> None:
        logger.info("no EMAIL_SENDER: no shipping notice for order %s", order.get("id"))


@cache
def ses_client(settings: Settings) -> SesClient:
    import boto3

    return boto3.client("sesv2", region_name=settings.region, endpoint_url=settings.endpoint_url)


def notifier_for(settings: Settings) -> SesNotifier | NoEmail:
    if not settings.email_sender:
        return NoEmail()
    return SesNotifier(settings, lambda: ses_client(settings))
