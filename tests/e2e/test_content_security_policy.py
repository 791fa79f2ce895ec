"""Pages that run scripts still work in a real browser under the Content-Security-Policy, and the browser
reports no violation: the API docs (Swagger UI) and the admin sign-in."""

import re
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _violations(page: Any) -> list[str]:
    """Collect the console messages Chromium writes when the policy blocks something."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else 0)
    return seen


def test_api_docs_render_under_the_policy(live_server, phone):
    page = phone.new_page()
    violations = _violations(page)
    response = page.goto(f"{live_server.url}/api/v1/docs/")
    assert "script-src" in response.headers["content-security-policy"]
    # Swagger UI builds the page from the schema with its scripts: the title only shows if they ran.
    page.get_by_text("Crowdloop API").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert violations == []


def test_admin_sign_in_page_works_under_the_policy(live_server, phone):
    page = phone.new_page()
    violations = _violations(page)
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("input[name=username]").is_visible()
    assert violations == []


def test_an_injected_inline_script_does_not_run(live_server, phone):
    page = phone.new_page()
    violations = _violations(page)
    page.goto(f"{live_server.url}/")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
        " document.body.appendChild(s); }"
    )
    assert page.evaluate("() => window.pwned") is None
    assert any(re.search(r"script-src", text) for text in violations)
