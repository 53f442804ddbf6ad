"""Browser fixtures: Debian's headless Chromium driven by Playwright, against the local stack.

One browser for the whole session, a fresh context (cookies, localStorage) per test.
The browser may reach only the stack on 127.0.0.1: every other request (the demo
catalog's image URLs, say) is aborted, so nothing leaves the machine. Uncaught page
errors fail the test. Each test writes screenshots under ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_client import ApiClient, ProductFactory
from tests.conftest import LocalStack

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium "
                    "(apt-get install -y chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _local_only(route: Any) -> None:
    host = re.match(r"^[a-z]+://([^/:]+)", route.request.url)
    if host and host.group(1) in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


class Shots:
    """Numbered screenshots of one test: ``<test>-01-home.png``, ..."""

    def __init__(self, page: Any, test_name: str) -> None:
        self.page = page
        self.prefix = re.sub(r"[^A-Za-z0-9_]+", "_", test_name).strip("_")
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{self.prefix}-*.png"):
            old.unlink()

    def __call__(self, name: str, full_page: bool = True) -> Path:
        # Whatever is on screen, no value leaked through unrendered.
        shown = self.page.locator("body").inner_text()
        leaked = re.search(r"\b(null|undefined|NaN)\b|\[object Object\]", shown)
        assert leaked is None, f"the page shows {leaked.group(0)!r}: {shown[:500]}"
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _local_only)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The local origin sends the production Content-Security-Policy: a violation fails the test.
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors or CSP violations in the page: {errors}"


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name)


@pytest.fixture
def site(local_stack: LocalStack) -> str:
    return local_stack.site_url


@pytest.fixture(scope="session")
def admin_api(local_stack: LocalStack) -> ApiClient:
    return ApiClient(local_stack.api_url, local_stack.token("admin"))


@pytest.fixture
def products(admin_api: ApiClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Products made for one test (through the API, as an admin), deleted afterwards."""
    make = ProductFactory(admin_api, description="Made by a browser test.", price_cents=1250, stock=5)
    yield make
    make.cleanup()


def wait_ready(page: Any, view: str) -> None:
    """Wait until the storefront has finished rendering ``view`` (main[data-view])."""
    page.wait_for_selector(f'main[data-ready="1"][data-view="{view}"]')


def sign_in(page: Any, site: str, email: str, password: str, next_hash: str = "#/") -> None:
    page.goto(f"{site}/#/signin?next={next_hash.replace('#', '%23').replace('/', '%2F')}")
    wait_ready(page, "signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#sign-out", state="visible")
