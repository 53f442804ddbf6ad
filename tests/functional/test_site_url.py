"""Stripe Checkout's return URLs in a deployed stage: SITE_URL wins, else the edge stack's
SSM parameter (moto's SSM), read on the first payment and cached; neither: 503, nothing written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest

from api.errors import response_for
from catalog_lambda import services
from catalog_lambda.catalog import CatalogService
from catalog_lambda.cursor import CursorCodec
from catalog_lambda.errors import UnavailableError
from catalog_lambda.orders import OrderService
from catalog_lambda.payments.local import LocalProvider
from catalog_lambda.payments.port import CheckoutSession, PaymentSecrets, SessionRequest
from catalog_lambda.repositories.orders import OrderRepository
from catalog_lambda.repositories.products import ProductRepository
from catalog_lambda.settings import PAYMENT_PROVIDER_STRIPE, Settings, site_url_parameter_name
from infra.config import stage_config
from infra.stacks.edge import build

ADDRESS = {"name": "Alice Example", "line1": "1 Main St", "city": "Lyon", "postal_code": "69001", "country": "FR"}


@pytest.fixture
def stripe_settings(catalog: CatalogService, settings: Settings) -> Iterator[Settings]:
    """The functional stage as a deployed one: the stripe provider, no SITE_URL; the SSM
    reader forgotten before and after, and the parameter deleted after."""
    services._ssm.cache_clear()
    chosen = replace(settings, payment_provider=PAYMENT_PROVIDER_STRIPE, site_url="", stripe_api_key="sk_test_x")
    yield chosen
    services._ssm.cache_clear()
    services.order_service.cache_clear()
    try:
        _ssm().delete_parameter(Name=site_url_parameter_name(chosen.stage))
    except _ssm().exceptions.ParameterNotFound:
        pass


def _ssm() -> Any:
    return boto3.client("ssm", region_name="us-east-1")


def _put(stage: str, value: str) -> None:
    _ssm().put_parameter(Name=site_url_parameter_name(stage), Value=value, Type="String", Overwrite=True)


def test_the_edge_stacks_parameter_name_is_the_one_the_function_reads() -> None:
    resources = build(stage_config("prod")).to_dict()["Resources"]
    assert resources["SiteUrlParameter"]["Properties"]["Name"] == site_url_parameter_name("prod") == \
        "/store/prod/site-url"


def test_the_stripe_provider_reads_the_parameter_once_and_caches_it(stripe_settings: Settings) -> None:
    _put(stripe_settings.stage, "https://d111111abcdef8.cloudfront.net/")
    assert services.site_url(stripe_settings) == "https://d111111abcdef8.cloudfront.net"
    _put(stripe_settings.stage, "https://shop.example.com")
    # Cached for SITE_URL_PARAMETER_MAX_AGE: the process does not read SSM on every payment.
    assert services.site_url(stripe_settings) == "https://d111111abcdef8.cloudfront.net"
    services._ssm.cache_clear()  # a new process
    assert services.site_url(stripe_settings) == "https://shop.example.com"


def test_site_url_from_the_environment_wins_over_the_parameter(stripe_settings: Settings) -> None:
    _put(stripe_settings.stage, "https://d111111abcdef8.cloudfront.net")
    from_env = replace(stripe_settings, site_url="https://local.example:8080")
    assert services.site_url(from_env) == "https://local.example:8080"
    assert services._ssm.cache_info().currsize == 0  # SSM never consulted


def test_the_local_provider_needs_no_parameter(settings: Settings) -> None:
    assert settings.payment_provider == "local"
    assert services.site_url(settings) == ""


class RecordingStripe(LocalProvider):
    """Stands in for Stripe (whose requests tests/functional/test_stripe_provider.py checks):
    keeps the session requests the service makes."""

    name = PAYMENT_PROVIDER_STRIPE

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[SessionRequest] = []

    def create_session(self, request: SessionRequest) -> CheckoutSession:
        self.sessions.append(request)
        return CheckoutSession("cs_test_1", "https://checkout.stripe.com/c/pay/cs_test_1", request.expires_at)


def test_paying_sends_return_urls_on_the_parameters_origin(stripe_settings: Settings, catalog: CatalogService) -> None:
    _put(stripe_settings.stage, "https://shop.example.com")
    stripe = RecordingStripe()
    service = OrderService(stripe_settings, OrderRepository(stripe_settings, ProductRepository(stripe_settings)),
                           CursorCodec(b"k" * 32), provider=lambda: stripe,
                           secrets=lambda: PaymentSecrets("whsec_x"), notifier=services.order_notifier(stripe_settings),
                           site_url=lambda: services.site_url(stripe_settings))
    order = _place(service, catalog)
    service.pay(order["id"], "alice")
    (request,) = stripe.sessions
    assert request.success_url == f"https://shop.example.com/#/orders/{order['id']}?paid=1"
    assert request.cancel_url == f"https://shop.example.com/#/orders/{order['id']}?payment=cancelled"


@pytest.mark.parametrize("stored", [None, "", "http://shop.example.com", "https://", "https://shop.example.com/x"])
def test_no_usable_parameter_is_a_logged_503_and_nothing_is_written(
    stripe_settings: Settings, catalog: CatalogService, caplog: pytest.LogCaptureFixture, stored: str | None,
) -> None:
    if stored is not None:
        _put(stripe_settings.stage, stored or " ")  # SSM refuses an empty value
    service = services.order_service(stripe_settings)
    order = _place(service, catalog)
    with caplog.at_level(logging.ERROR, logger="catalog_lambda.services"), pytest.raises(UnavailableError) as raised:
        service.pay(order["id"], "alice")
    response = response_for(raised.value)
    assert response is not None and response.status_code == 503 and response.headers["Retry-After"]
    body = json.loads(response.body)["error"]
    assert body["code"] == "unavailable" and "storefront's address is unknown" in body["message"]
    assert site_url_parameter_name(stripe_settings.stage) in caplog.text
    stored_order = service.get_order(order["id"], "alice", False)
    assert stored_order == order  # no session, no write


def _place(service: Any, catalog: CatalogService) -> dict[str, Any]:
    product = catalog.create_product({"sku": "SKU-SITE-URL", "name": "Plain Test Product",
                                      "description": "A product made by a test.", "category": "tea",
                                      "price_cents": 1200, "currency": "USD", "stock": 5})
    body = {"lines": [{"product_id": product["id"], "quantity": 1}], "shipping_address": dict(ADDRESS)}
    return dict(service.place_order("alice", "alice@example.com", "key-1", body).order)
