"""On the smallest phones still sold (320 px wide) the worker pages fit without sideways scrolling, and every
control a thumb has to hit is at least 44 px tall, in English and in Arabic (right to left)."""

from typing import Any

import pytest

from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TAP_MIN_PX = 44

# Buttons, fields, dropdowns and the rows that hold a choice, plus links that stand alone (styled as buttons or
# in the header). Links inside a sentence are exempt, as WCAG 2.5.8 exempts them.
_MEASURE = """
(minimum) => {
  const small = [];
  const targets = document.querySelectorAll(
    "button, select, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), textarea, " +
    "label.choice, a.btn, header a, header button, .language-picker select, .language-picker button"
  );
  for (const element of targets) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // hidden
    if (box.height < minimum) small.push(`${element.outerHTML.slice(0, 80)} is ${Math.round(box.height)} px`);
  }
  return small;
}
"""


def _check(page: Any) -> dict[str, Any]:
    return {
        "overflow": page.evaluate("document.documentElement.scrollWidth") - 320,
        "small": page.evaluate(_MEASURE, TAP_MIN_PX),
    }


@pytest.mark.parametrize("language", ["en", "ar"])
def test_worker_pages_fit_320_px_with_44_px_tap_targets(live_server, browser, sign_in, language):
    user, _ = factories.worker(username=f"zainab{language}")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    factories.campaign(launch=True, items=4, items_per_task=2, instructions="Read each message. " * 8)
    context = browser.new_context(viewport={"width": 320, "height": 568}, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        sign_in(page, user.username)
        found = {"home": _check(page)}
        with page.expect_navigation():
            page.locator("form[action$='/work/next/'] button").first.tap()
        found["task"] = _check(page)
        for name in ("earnings", "profile", "why"):
            page.goto(f"{live_server.url}/work/{name}/")
            found[name] = _check(page)
    finally:
        context.close()
    problems = {name: result for name, result in found.items() if result["overflow"] > 0 or result["small"]}
    assert not problems, problems
