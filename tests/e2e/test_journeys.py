"""The shopper's and the admin's journeys through the storefront, in headless Chromium."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from infra.local import bootstrap
from tests.api_client import ApiClient
from tests.conftest import LocalStack
from tests.e2e.conftest import Shots, sign_in, wait_ready

SHOPPER = (bootstrap.SHOPPER_EMAIL, bootstrap.DEFAULT_SHOPPER_PASSWORD)
ADMIN = (bootstrap.ADMIN_EMAIL, bootstrap.DEFAULT_ADMIN_PASSWORD)


def _word() -> str:
    # A made-up word no seeded product has, so a search finds exactly this test's products.
    return "zq" + uuid.uuid4().hex[:8]


def _card(page: Any, name: str) -> Any:
    return page.locator(".product-card").filter(has=page.get_by_role("link", name=name, exact=True))


def test_shopper_can_browse_search_order_and_cancel(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]], admin_api: ApiClient
) -> None:
    word = _word()
    first = products(name=f"Kettle {word} Copper", category="kitchen", price_cents=4500, stock=6)
    second = products(name=f"Mug {word} Blue", category="kitchen", price_cents=1200, stock=4)

    # Browse: the home page lists products; the category filter narrows them.
    page.goto(f"{site}/")
    wait_ready(page, "home")
    expect(page.locator(".product-card").first).to_be_visible()
    shot("home")
    page.get_by_label("Category").select_option("kitchen")
    expect(_card(page, first["name"])).to_be_visible()
    expect(_card(page, second["name"])).to_be_visible()
    expect(_card(page, "Earl Grey Supreme")).to_have_count(0)  # a seeded tea
    shot("category-kitchen")

    # "Load more" follows next_cursor.
    page.get_by_label("Category").select_option("")
    expect(page.locator(".product-card")).to_have_count(12)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator(".product-card")).to_have_count(24)

    # Search as you type.
    page.get_by_label("Search products").press_sequentially(word, delay=20)
    expect(page.locator(".product-card")).to_have_count(2)
    expect(page.locator("#result-count")).to_contain_text(f'matching "{word}"')
    shot("search")

    # Add two products: one from the listing, one (two of it) from its product page.
    _card(page, second["name"]).get_by_role("button", name=f"Add {second['name']} to cart").click()
    expect(page.locator("#cart-count")).to_have_text("1")
    page.get_by_role("link", name=first["name"], exact=True).click()
    wait_ready(page, "product")
    expect(page.get_by_role("heading", level=1)).to_have_text(first["name"])
    expect(page.locator("#stock")).to_have_text("In stock: 6")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-count")).to_have_text("3")
    shot("product")

    # The cart asks to sign in before checking out, and comes back after.
    page.get_by_role("link", name=re.compile(r"^Cart")).click()
    wait_ready(page, "cart")
    expect(page.locator("#cart-total")).to_have_text("$102.00")
    shot("cart-signed-out")
    page.get_by_role("link", name="Sign in to check out").click()
    wait_ready(page, "signin")
    shot("sign-in")
    page.get_by_label("Email").fill(SHOPPER[0])
    page.get_by_label("Password").fill(SHOPPER[1])
    page.get_by_role("button", name="Sign in").click()
    wait_ready(page, "checkout")
    expect(page.locator("#user-email")).to_have_text(SHOPPER[0])

    # Check out with an address: the request carries an Idempotency-Key; the review with
    # the API's totals, then the payment page follow.
    fill_address(page)
    with page.expect_request(lambda r: r.url.endswith("/api/orders") and r.method == "POST") as placed:
        page.get_by_role("button", name="Place order").click()
    key = placed.value.headers.get("idempotency-key", "")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", key), key
    expect(page.locator("#order-total")).to_have_text("$102.00")
    page.get_by_role("button", name="Pay $102.00").click()
    page.wait_for_url(re.compile(r"/pay/local\?"))
    expect(page.locator("#payment-amount")).to_have_text("102.00 USD")
    shot("payment-page")
    page.get_by_role("button", name="Pay", exact=True).click()
    wait_ready(page, "orders")
    expect(page.locator("#order-status")).to_have_text("Paid")
    expect(page.locator("#order-total")).to_have_text("$102.00")
    expect(page.locator("#cart-count")).to_have_text("0")
    order_id = page.url.split("#/orders/")[1].split("?")[0]
    shot("order-placed")

    # See the order in "my orders".
    page.get_by_role("link", name="My orders", exact=True).click()
    wait_ready(page, "orders")
    mine = page.locator(f'.order-card[data-order-id="{order_id}"]')
    expect(mine).to_contain_text("Paid")
    expect(mine).to_contain_text(f"2 \u00d7 {first['name']}")
    shot("my-orders")

    # Stock is shown lower, in the storefront and on the server-rendered page.
    page.goto(f"{site}/#/product/{first['id']}")
    wait_ready(page, "product")
    expect(page.locator("#stock")).to_have_text("In stock: 4")
    shot("stock-lower")
    page.goto(f"{site}/p/{first['id']}")
    expect(page.locator(".stock")).to_have_text("In stock: 4")

    # Cancel: the order says so, and the stock comes back.
    page.goto(f"{site}/#/orders")
    wait_ready(page, "orders")
    mine.get_by_role("link", name=f"Order {order_id[:8]}").click()
    wait_ready(page, "orders")
    page.get_by_role("button", name="Cancel and refund").click()
    expect(page.locator(".confirm-text")).to_contain_text("$102.00 will be refunded")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    expect(page.locator("#status")).to_contain_text("has been cancelled")
    expect(page.locator("#order-refunded")).to_have_text("$102.00")
    expect(page.get_by_role("button", name=re.compile("^Cancel"))).to_have_count(0)
    shot("cancelled-order")
    page.get_by_role("link", name="All my orders").click()
    wait_ready(page, "orders")
    expect(mine).to_contain_text("Cancelled")
    shot("cancelled")
    assert admin_api.get(f"/products/{first['id']}").json()["stock"] == 6
    assert admin_api.get(f"/products/{second['id']}").json()["stock"] == 4


def fill_address(page: Any) -> None:
    page.get_by_label("Full name").fill("Sam Shopper")
    page.get_by_label("Address line 1").fill("1 Demo Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("62701")
    page.get_by_label("Country").select_option("US")


def test_checkout_names_the_lines_that_are_short_of_stock(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]], admin_api: ApiClient
) -> None:
    plenty = products(name=f"Plenty {_word()}", stock=9)
    scarce = products(name=f"Scarce {_word()}", stock=3)
    sign_in(page, site, *SHOPPER)
    for product, quantity in ((plenty, 1), (scarce, 3)):
        page.goto(f"{site}/#/product/{product['id']}")
        wait_ready(page, "product")
        page.get_by_label("Quantity").fill(str(quantity))
        page.get_by_role("button", name="Add to cart").click()
    # Someone else buys the scarce product meanwhile.
    assert admin_api.post(f"/products/{scarce['id']}/stock", {"set": 1}).status_code == 200

    page.goto(f"{site}/#/checkout")
    wait_ready(page, "checkout")
    fill_address(page)
    page.get_by_role("button", name="Place order").click()
    alert = page.locator(".checkout-form .form-error")
    expect(alert).to_contain_text(f"{scarce['name']}: Only 1 left")
    line = page.locator(f'li[data-product-id="{scarce["id"]}"]')
    expect(line.locator(".line-problem")).to_have_text(" Only 1 left: lower the quantity in your cart.")
    expect(page.locator(f'li[data-product-id="{plenty["id"]}"] .line-problem')).to_have_text("")
    shot("out-of-stock")
    # Nothing was reserved.
    assert admin_api.get(f"/products/{plenty['id']}").json()["stock"] == 9


def test_admin_can_create_a_product_and_see_it_in_the_store(
    page: Any, shot: Shots, site: str, admin_api: ApiClient
) -> None:
    word = _word()
    name = f"Teapot {word} Cast Iron"
    sign_in(page, site, *ADMIN, next_hash="#/admin")
    wait_ready(page, "admin")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    shot("admin")

    page.get_by_role("link", name="New product").click()
    wait_ready(page, "admin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("SKU").fill(f"E2E-{word}")
    page.get_by_label("Category").select_option("kitchen")
    page.get_by_label("Price").fill("49.90")
    page.get_by_label("Description").fill('Heavy & warm: keeps tea hot. <b>"Not bold"</b>')
    page.get_by_label("Initial stock").fill("7")
    shot("new-product-form")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".notice")).to_have_text("Product created.")
    product_id = page.url.split("#/admin/product/")[1].split("?")[0]
    try:
        expect(page.locator("#current-stock")).to_have_text("7")
        shot("created")

        # Adjust stock, then edit the price.
        page.get_by_label("Amount").fill("3")
        page.get_by_role("button", name="Update stock").click()
        expect(page.locator("#current-stock")).to_have_text("10")
        page.get_by_label("Price").fill("45")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#status")).to_contain_text(f"Saved {name}")
        # An API refusal is shown in words next to the form.
        page.get_by_label("Amount").fill("-50")
        page.get_by_role("button", name="Update stock").click()
        expect(page.locator(".stock-form .form-error")).not_to_be_empty()
        expect(page.locator("#current-stock")).to_have_text("10")
        shot("edited")

        # The storefront lists it...
        page.goto(f"{site}/#/")
        wait_ready(page, "home")
        page.get_by_label("Search products").fill(word)
        card = _card(page, name)
        expect(card).to_be_visible()
        expect(card).to_contain_text("$45.00")
        expect(card).to_contain_text("In stock: 10")
        shot("in-storefront")

        # ...and the container service renders its page, with Open Graph and JSON-LD.
        page.goto(f"{site}/p/{product_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert page.locator('meta[property="og:title"]').get_attribute("content") == name
        data = json.loads(page.locator('script[type="application/ld+json"]').text_content() or "")
        assert data["name"] == name and data["offers"]["price"] == "45.00"
        expect(page.locator(".description")).to_have_text('Heavy & warm: keeps tea hot. <b>"Not bold"</b>')
        shot("server-page")
    finally:
        admin_api.delete(f"/products/{product_id}")


def test_visitor_can_sign_up_confirm_and_is_signed_in(page: Any, shot: Shots, site: str,
                                                      local_stack: LocalStack) -> None:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    page.goto(f"{site}/#/signup")
    wait_ready(page, "signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".form-error")).not_to_be_empty()  # the pool's password policy, in words
    shot("weak-password")
    page.get_by_label("Password").fill("Sign-Up-Passw0rd")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your account")
    shot("confirm")
    try:
        page.get_by_label("Confirmation code").fill("123456")
        page.get_by_role("button", name="Confirm account").click()
        expect(page.locator("#user-email")).to_have_text(email)
        wait_ready(page, "home")
        shot("signed-up")
    finally:
        cognito = bootstrap.client("cognito-idp", local_stack.emulator_url)
        cognito.admin_delete_user(UserPoolId=local_stack.user_pool_id, Username=email)


def test_wrong_password_is_explained_and_tokens_refresh_silently(page: Any, shot: Shots, site: str) -> None:
    page.goto(f"{site}/#/signin")
    wait_ready(page, "signin")
    page.get_by_label("Email").fill(SHOPPER[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="Incorrect email or password.")).to_be_visible()
    shot("wrong-password")

    sign_in(page, site, *SHOPPER, next_hash="#/orders")
    wait_ready(page, "orders")
    # Make the stored ID token stale and expired: the next API call must refresh it first.
    before = page.evaluate("""() => {
        const s = JSON.parse(localStorage.getItem('store.session.v1'));
        const old = s.idToken;
        s.idToken = 'expired.' + old.split('.')[1] + '.x';
        s.expiresAt = Date.now() - 1000;
        localStorage.setItem('store.session.v1', JSON.stringify(s));
        return old;
    }""")
    with page.expect_request(lambda r: r.url.endswith("/cognito/")
                             and "REFRESH_TOKEN_AUTH" in (r.post_data or "")):
        page.reload()
        wait_ready(page, "orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("My orders")
    after = page.evaluate("() => JSON.parse(localStorage.getItem('store.session.v1')).idToken")
    assert after.count(".") == 2 and not after.startswith("expired.")
    assert after.split(".")[1] != "" and before
    assert page.locator("#error").is_hidden()


def test_storefront_works_by_keyboard_and_on_a_phone(
    page: Any, shot: Shots, site: str, products: Callable[..., dict[str, Any]]
) -> None:
    word = _word()
    product = products(name=f"Tumbler {word} Steel")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site}/")
    wait_ready(page, "home")

    # The first Tab reaches the skip link; the search box, results and buttons follow by keyboard.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.locator("main").get_attribute("data-view") == "home"
    page.get_by_label("Search products").focus()
    page.keyboard.type(word, delay=20)
    expect(page.locator(".product-card")).to_have_count(1)
    target = f"Add {product['name']} to cart"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == target:
            break
    else:
        raise AssertionError(f"Tab never reached the {target!r} button")
    page.keyboard.press("Enter")
    expect(page.locator("#cart-count")).to_have_text("1")
    expect(page.locator("#status")).to_have_text(f"Added {product['name']} to your cart.")

    # Nothing is wider than the phone's screen.
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    shot("phone-search")
    page.goto(f"{site}/#/cart")
    wait_ready(page, "cart")
    shot("phone-cart")
    assert page.evaluate(overflow) <= 0
