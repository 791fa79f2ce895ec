"""Interface languages in a real browser at phone size: the picker, three microtasks by touch in Kiswahili,
the choice following the worker to another phone, and Arabic laid out right to left."""

import re
from typing import Any

import pytest

from crowd.models import Answer
from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TASK_URL = re.compile(r"/work/assignments/\d+/$")


def _choose(page: Any, code: str) -> None:
    picker = page.locator("form.language-picker")
    picker.locator("select").select_option(code)
    with page.expect_navigation():
        picker.locator("button").tap()


def _tap_and_load(page: Any, target: Any) -> None:
    with page.expect_navigation():
        target.tap()


def test_three_microtasks_by_touch_in_kiswahili_then_arabic(live_server, phone, browser, sign_in):
    user, _ = factories.worker(username="neema", languages=(("sw", 5),))
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    campaign = factories.campaign(
        launch=True, name="Maoni ya kliniki", languages=["sw"], labels=["chanya", "hasi"], items=3, items_per_task=1
    )
    page = phone.new_page()
    sign_in(page, "neema")  # the phone asks for English
    assert page.locator("html").get_attribute("lang") == "en"

    _choose(page, "sw")
    assert page.locator("html").get_attribute("lang") == "sw"
    assert page.get_by_role("heading", name="Kazi zinazopatikana").is_visible()
    _tap_and_load(page, page.get_by_role("button", name="Anza"))
    for done in range(3):
        assert TASK_URL.search(page.url), page.url
        page.locator("fieldset").get_by_text("chanya", exact=True).tap()
        _tap_and_load(page, page.get_by_role("button", name="Tuma na uendelee"))
        if done < 2:
            page.get_by_role("status").filter(has_text="Imehifadhiwa").wait_for()
    assert page.get_by_role("heading", name="Hakuna kazi kwako kwa sasa").is_visible()
    assert Answer.objects.filter(worker=user, campaign=campaign).count() == 3
    assert set(Answer.objects.filter(worker=user).values_list("label", flat=True)) == {"chanya"}

    # Another phone, still asking for English: the account remembers Kiswahili.
    other = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, locale="en")
    try:
        second = other.new_page()
        sign_in(second, "neema")
        assert second.locator("html").get_attribute("lang") == "sw"
        assert second.get_by_role("button", name="Toka").is_visible()
    finally:
        other.close()

    _choose(page, "ar")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    # Mirrored: the name of the service now sits at the right edge of the header, the account at the left.
    brand = page.locator("header > a").bounding_box()
    nav = page.locator("header nav").bounding_box()
    assert brand["x"] > nav["x"]
    assert brand["x"] + brand["width"] > 360 - 40
