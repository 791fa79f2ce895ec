"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, at phone size, against `live_server`.

Playwright cannot download browsers here, so it always launches the system binary. A missing binary fails
the tests (a green suite must mean the worker pages were really driven), except under `make test` on a machine
where scripts/ensure-chromium could not install it: then it hands over its one-line reason in
CROWDLOOP_BROWSER_MISSING and the browser tests are reported as skipped with that reason.
"""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.phone import CHROMIUM, CHROMIUM_ARGS, PHONE

# Playwright's sync API runs an asyncio loop in the test thread; Django would otherwise refuse ORM calls there.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

TIMEOUT_MS = 10_000
PASSWORD = "e2e-Pass-word-42"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        reason = os.environ.get("CROWDLOOP_BROWSER_MISSING", "").strip()
        if reason:
            pytest.skip(f"browser tests skipped: {reason}")
        found = shutil.which("chromium") or "nothing on PATH either"
        pytest.fail(
            f"Browser tests need Debian's Chromium at {CHROMIUM} (found: {found}). "
            "Install it with: apt-get install -y chromium",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Browser tests need Playwright for Python: .venv/bin/pip install -e '.[dev]'",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        yield launched
        launched.close()


def _context(browser: Any, **options: Any) -> Iterator[Any]:
    context = browser.new_context(**{**PHONE, **options})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (own cookies) with JavaScript on."""
    yield from _context(browser)


@pytest.fixture
def phone_no_js(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context with JavaScript off, like Opera Mini's server mode or a cautious user."""
    yield from _context(browser, java_script_enabled=False)


@pytest.fixture
def sign_in(live_server):
    """Sign `username` in through the real login form on `page`; returns the page, now on the work home."""

    def do(page: Any, username: str, password: str = PASSWORD) -> Any:
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("input[name=login]").fill(username)
        page.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.tap()
        # The sign-in answers with the work home itself; with JavaScript on, the page has put /work/ in the address
        # by the time it has loaded, and without it the address stays the sign-in page's.
        home = f"{live_server.url}/work/"
        assert page.url in (home, f"{live_server.url}/accounts/login/"), f"sign-in landed on {page.url}"
        assert page.locator("#work-home").count() == 1, f"sign-in did not show the work home: {page.url}"
        return page

    return do
