"""An automated accessibility check (axe-core, vendored) finds no serious or critical violation on the worker's
home, task, earnings and profile pages, in English and in Arabic (right to left), at phone size."""

from pathlib import Path

import pytest

from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


def _violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_worker_pages_have_no_serious_accessibility_violations(live_server, browser, sign_in, language):
    user, _ = factories.worker(username=f"rahma{language}")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    factories.campaign(launch=True, items=4, items_per_task=2)
    # bypass_csp: the test injects axe-core itself; the pages' own policy is tested in test_content_security_policy.
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, bypass_csp=True
    )
    # Arabic through the language cookie (what the picker sets), the path any worker takes.
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        sign_in(page, user.username)
        assert page.locator("html").get_attribute("lang") == language
        found = {"home": _violations(page)}
        with page.expect_navigation():
            page.locator("form[action$='/work/next/'] button").first.tap()
        found["task"] = _violations(page)
        page.goto(f"{live_server.url}/work/earnings/")
        found["earnings"] = _violations(page)
        page.goto(f"{live_server.url}/work/profile/")
        found["profile"] = _violations(page)
    finally:
        context.close()
    assert not any(found.values()), found
