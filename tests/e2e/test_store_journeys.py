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
from tests.api_client import ApiClient
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
