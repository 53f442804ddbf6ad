"""Around the paid order, in headless Chromium: product images, checkout with an
address and the local payment page, order emails, and the admin's Orders view."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from infra.local import bootstrap
from infra.local.demo_images import product_image
from infra.local.outbox import fetch, outbox
from tests.api_client import ApiClient
from tests.conftest import LocalStack
from tests.e2e.conftest import Shots, sign_in, wait_ready

SHOPPER = (bootstrap.SHOPPER_EMAIL, bootstrap.DEFAULT_SHOPPER_PASSWORD)
ADMIN = (bootstrap.ADMIN_EMAIL, bootstrap.DEFAULT_ADMIN_PASSWORD)


def _word() -> str:
    return "zq" + uuid.uuid4().hex[:8]


def expect_images_loaded(page: Any) -> int:
    """Every <img> on the page loads (all of ours are 480 x 360) and has its size
    set, so nothing shows a broken image or shifts the layout. Returns how many."""
    images = page.locator("img").all()
    for img in images:
        img.scroll_into_view_if_needed()
        expect(img).to_have_js_property("naturalWidth", 480)
        assert img.get_attribute("width") == "480" and img.get_attribute("height") == "360"
    return len(images)


def test_demo_catalog_shows_real_images(page: Any, shot: Shots, site: str) -> None:
    page.goto(f"{site}/")
    wait_ready(page, "home")
    cards = page.locator(".product-card img")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 12
    assert expect_images_loaded(page) == cards.count()
    shot("home-with-images")


def test_admin_uploads_an_image_and_the_store_shows_it(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]], tmp_path: Path,
    admin_api: ApiClient,
) -> None:
    product = products(name=f"Kettle {_word()} Pictured", category="kitchen")
    picture = tmp_path / "kettle.png"
    picture.write_bytes(product_image("kitchen", 7))
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("not an image")

    sign_in(page, site, *ADMIN, next_hash=f"#/admin/product/{product['id']}")
    wait_ready(page, "admin")
    image_input = page.get_by_label("Image", exact=True)
    # A file of another type is refused in words, before anything is signed.
    image_input.set_input_files(str(not_an_image))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".image-form .form-error")).to_contain_text("JPEG, PNG or WebP")
    # An upload the bucket refuses leaves the product as it was (no image pointing at nothing).
    refusal = "<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>"
    page.route("**/img-upload", lambda route: route.fulfill(status=403, body=refusal,
                                                            content_type="application/xml"))
    image_input.set_input_files(str(picture))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".image-form .form-error")).to_contain_text("HTTP 403: Policy expired")
    assert admin_api.get(f"/products/{product['id']}").json()["image_url"] is None
    page.get_by_role("button", name="Save changes").click()  # the form's copy is current again
    expect(page.locator("#status")).to_contain_text("Saved")
    page.unroute("**/img-upload")
    image_input.set_input_files(str(picture))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#status")).to_contain_text("Image uploaded.")
    expect(page.locator(".image-preview img")).to_be_visible()
    image_url = admin_api.get(f"/products/{product['id']}").json()["image_url"]
    assert re.fullmatch(rf"/img/products/{product['id']}/[0-9a-f]+\.png", image_url)
    # Saving the form afterwards keeps the uploaded image (its path is a valid image_url).
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#status")).to_contain_text("Saved")
    assert admin_api.get(f"/products/{product['id']}").json()["image_url"] == image_url
    shot("admin-uploaded")

    # The product page shows it...
    page.goto(f"{site}/#/product/{product['id']}")
    wait_ready(page, "product")
    img = page.locator(f'.product-detail img[src="{image_url}"]')
    expect(img).to_be_visible()
    expect_images_loaded(page)
    shot("product-page")

    # ...served with its image type...
    response = page.request.get(f"{site}{image_url}")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body() == picture.read_bytes()

    # ...and so does the server-rendered page, with absolute og:image and JSON-LD image.
    page.goto(f"{site}/p/{product['id']}")
    expect(page.locator(f'.product-detail img[src="{image_url}"]')).to_be_visible()
    expect_images_loaded(page)
    assert page.locator('meta[property="og:image"]').get_attribute("content") == f"{site}{image_url}"
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content() or "")
    assert data["image"] == f"{site}{image_url}"
    shot("server-page")


# -- checkout, payment, emails, back office ---------------------------------------------

ADDRESS = {"Full name": "Ada Lovelace", "Address line 1": "12 Analytical Way", "City": "London",
           "Postal code": "N1 9GU"}


def _emails(local_stack: LocalStack, to: str, subject: str) -> list[dict[str, str]]:
    return [m for m in outbox(fetch(local_stack.emulator_url)) if m["to"] == to and m["subject"] == subject]


def _add_to_cart(page: Any, site: str, product: dict[str, Any], quantity: int) -> None:
    page.goto(f"{site}/#/product/{product['id']}")
    wait_ready(page, "product")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()


def _check_out(page: Any, shot: Shots, fill_address: bool = True) -> str:
    """From the cart to the review with the API's totals; returns the order id."""
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    wait_ready(page, "cart")
    page.get_by_role("link", name="Check out").click()
    wait_ready(page, "checkout")
    if fill_address:
        for label, value in ADDRESS.items():
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_label("Country", exact=True).select_option("GB")
    shot("checkout-address")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("review and pay")
    return str(page.locator("a", has_text="Pay later").get_attribute("href")).split("#/orders/")[1]


def test_shopper_checks_out_pays_and_admin_ships_with_emails(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]], local_stack: LocalStack,
) -> None:
    product = products(name=f"Teapot {_word()} Glass", category="kitchen", price_cents=2450, stock=5)
    sign_in(page, site, *SHOPPER)
    _add_to_cart(page, site, product, 2)

    # Missing address fields are named in words before anything is sent.
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    page.get_by_role("link", name="Check out").click()
    wait_ready(page, "checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".checkout-form .form-error")).to_contain_text("Full name: required")
    expect(page.get_by_label("City", exact=True)).to_have_attribute("aria-invalid", "true")
    shot("checkout-missing-address")

    order_id = _check_out(page, shot)
    # The totals are the API's: 2 x $24.50, flat shipping under the free-shipping threshold.
    expect(page.locator("#order-subtotal")).to_have_text("$49.00")
    expect(page.locator("#order-shipping")).to_have_text("$5.00")
    expect(page.locator("#order-total")).to_have_text("$54.00")
    shot("review")

    # The local provider's page, on the storefront origin: Pay.
    page.get_by_role("button", name="Pay $54.00").click()
    page.wait_for_url(re.compile(r"/pay/local"))
    shot("payment-page")
    page.get_by_role("button", name="Pay", exact=True).click()
    # Back on the order page, which shows it paid once the webhook has landed.
    wait_ready(page, "orders")
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator(".address-block")).to_contain_text("12 Analytical Way")
    expect(page.locator(".address-block")).to_contain_text("United Kingdom")
    expect(page.get_by_role("button", name="Cancel and refund")).to_be_visible()
    shot("order-paid")

    short = order_id[:8]
    confirmations = _emails(local_stack, SHOPPER[0], f"Order {short} is confirmed")
    assert len(confirmations) == 1
    assert order_id in confirmations[0]["text"] and "2 x Teapot" in confirmations[0]["text"]

    # The next checkout remembers the address.
    _add_to_cart(page, site, product, 1)
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    page.get_by_role("link", name="Check out").click()
    wait_ready(page, "checkout")
    expect(page.get_by_label("Full name", exact=True)).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Country", exact=True)).to_have_value("GB")

    # The admin finds it in the Orders view (filtered to paid, newest first) and ships it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, *ADMIN, next_hash="#/admin")
    wait_ready(page, "admin")
    page.get_by_role("link", name="Orders", exact=True).click()
    wait_ready(page, "admin-orders")
    page.get_by_label("Status").select_option("paid")
    wait_ready(page, "admin-orders")
    row = page.locator(f'tr[data-order-id="{order_id}"]')
    expect(row).to_contain_text("Paid")
    shot("admin-orders")
    row.get_by_role("link", name=f"Order {short}").click()
    wait_ready(page, "admin-orders")
    page.get_by_role("button", name="Ship").click()
    expect(page.locator(".ship-form .form-error")).to_contain_text("Carrier: required")
    page.get_by_label("Carrier").fill("Royal Mail")
    page.get_by_label("Tracking number").fill("RM123456789GB")
    page.get_by_role("button", name="Ship").click()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#tracking")).to_contain_text("RM123456789GB")
    expect(page.get_by_role("button", name="Cancel with refund")).to_have_count(0)
    shot("admin-shipped")

    notices = _emails(local_stack, SHOPPER[0], f"Order {short} has shipped")
    assert len(notices) == 1
    assert "Tracking number: RM123456789GB" in notices[0]["text"] and "Royal Mail" in notices[0]["text"]

    # The shopper sees the same status word and the tracking number.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, *SHOPPER, next_hash=f"#/orders/{order_id}")
    wait_ready(page, "orders")
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#tracking")).to_contain_text("Royal Mail, tracking number RM123456789GB")
    expect(page.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    shot("shopper-shipped")


def test_declined_payment_stays_pending_then_a_retry_pays(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]], local_stack: LocalStack,
) -> None:
    product = products(name=f"Kettle {_word()} Steel", category="kitchen", price_cents=6000, stock=3)
    sign_in(page, site, *SHOPPER)
    _add_to_cart(page, site, product, 1)
    order_id = _check_out(page, shot)
    expect(page.locator("#order-shipping")).to_have_text("Free")  # over the free-shipping threshold
    page.get_by_role("button", name="Pay $60.00").click()
    page.wait_for_url(re.compile(r"/pay/local"))
    page.get_by_role("button", name="Decline").click()

    wait_ready(page, "orders")
    expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    expect(page.locator(".notice")).to_contain_text("not completed")
    expect(page.locator("#time-left")).to_have_text(re.compile(r"^\d+:\d\d$"))
    shot("declined")
    assert _emails(local_stack, SHOPPER[0], f"Order {order_id[:8]} is confirmed") == []

    page.get_by_role("button", name="Try paying again").click()
    page.wait_for_url(re.compile(r"/pay/local"))
    page.get_by_role("button", name="Pay", exact=True).click()
    wait_ready(page, "orders")
    expect(page.locator("#order-status")).to_have_text("Paid")
    shot("paid-after-retry")


def test_checkout_works_on_a_phone_by_keyboard(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]],
) -> None:
    product = products(name=f"Mug {_word()} Small", category="kitchen", price_cents=1200, stock=3)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site, *SHOPPER)
    _add_to_cart(page, site, product, 1)
    page.goto(f"{site}/#/checkout")
    wait_ready(page, "checkout")
    # Every field in order by Tab; the form submits with Enter.
    page.get_by_label("Full name", exact=True).focus()
    for label in ("Full name", "Address line 1", "Address line 2", "City", "Region", "Postal code", "Country"):
        expect(page.get_by_label(label, exact=True)).to_be_focused()
        if label == "Country":
            break
        if label in ADDRESS:
            page.keyboard.type(ADDRESS[label])
        page.keyboard.press("Tab")
    page.get_by_label("Country", exact=True).select_option("FR")
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    shot("phone-checkout")
    page.get_by_label("Postal code", exact=True).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("review and pay")
    assert page.evaluate(overflow) <= 0
    shot("phone-review")
