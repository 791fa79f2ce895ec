"""Review mode in a real browser at phone size, in Kiswahili and in Arabic (right to left): the model's suggestion
shown, marked in the worker's language and pre-selected so one tap confirms it; changed when it is wrong; absent
from the page (not hidden) on blind items and in label mode."""

from typing import Any

import pytest
from django.utils import translation

from crowd.models import Answer, AssignmentItem
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARKER_MSGID = "A model suggests the answer marked below. Check it: keep it if it is right, change it if it is wrong."
LABELS = [{"value": "pos", "text": "+"}, {"value": "neg", "text": "-"}]
VIEWPORT_WIDTH = 360


def _campaign(language: str, name: str, **fields: Any):
    """Two pre-labelled items (the model says "neg") on one page, not yet launched."""
    campaign = factories.campaign(name=name, languages=[language], labels=LABELS, items_per_task=2, **fields)
    suggested = {"model": "triage-bert", "label": "neg", "score": 0.8}
    rows = [
        {"external_id": f"{name}-{i}", "data": {"text": f"{name} {i}"}, "language": language, "prelabel": suggested}
        for i in range(2)
    ]
    items_import(campaign_id=campaign.id, rows=rows)
    return campaign


def _start(page: Any, live_server: Any, campaign: Any) -> None:
    """Launch `campaign` and start it from its card on the work home."""
    campaign_launch(campaign_id=campaign.id)
    page.goto(f"{live_server.url}/work/")
    card = page.locator("form.card", has=page.get_by_role("heading", name=campaign.name, exact=True))
    with page.expect_navigation():
        card.locator("button").tap()
    assert page.locator("fieldset").count() == 2, page.locator("main").inner_text()


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.locator("button[name=then][value=stop]").tap()


def _answers(worker: Any, campaign: Any) -> dict[str, str]:
    return {
        answer.item.data["text"]: answer.label
        for answer in Answer.objects.filter(worker=worker, campaign=campaign).select_related("item")
    }


def _assert_no_suggestion(page: Any) -> None:
    # In the DOM, not merely hidden: no marker element and no option checked or carrying `checked`.
    assert page.locator(".suggestion").count() == 0
    assert page.locator("fieldset input[checked]").count() == 0
    assert page.locator("fieldset input:checked").count() == 0


@pytest.mark.parametrize("language", ["sw", "ar"])
def test_review_mode_on_a_phone(live_server, browser, sign_in, language):
    worker, _ = factories.worker(username=f"review{language}", languages=((language, 5),))
    worker.set_password(PASSWORD)
    worker.save(update_fields=["password"])
    shown = _campaign(language, "shown", mode="review", blind_share=0)  # random() < 0: never blind
    blind = _campaign(language, "blind", mode="review", blind_share=1)  # random() in [0, 1) < 1: always blind
    labelled = _campaign(language, "label", mode="label")
    with translation.override(language):
        marker_text = translation.gettext(MARKER_MSGID)
    assert marker_text != MARKER_MSGID, f"no {language} translation of the suggestion marker"

    context = browser.new_context(
        viewport={"width": VIEWPORT_WIDTH, "height": 640}, is_mobile=True, has_touch=True, locale=language
    )
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        sign_in(page, worker.username)

        # Shown: marked in the worker's language, the suggested option checked; one tap on submit confirms the
        # first item, the second is changed first.
        _start(page, live_server, shown)
        html = page.locator("html")
        assert html.get_attribute("lang") == language
        fieldsets = page.locator("fieldset")
        for index in range(2):
            fieldset = fieldsets.nth(index)
            marker = fieldset.locator(".suggestion")
            assert marker.inner_text().strip() == marker_text
            assert marker.is_visible()
            assert fieldset.locator("input[value=neg]").is_checked()
            assert not fieldset.locator("input[value=pos]").is_checked()
        if language == "ar":
            assert html.get_attribute("dir") == "rtl"
            assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT_WIDTH
            for index in range(2):
                box = fieldsets.nth(index).locator(".suggestion").bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT_WIDTH, box
            # The marker's stripe sits where the line starts: on the right when reading right to left.
            stripe = fieldsets.first.locator(".suggestion").evaluate(
                "element => [getComputedStyle(element).borderRightWidth, getComputedStyle(element).borderLeftWidth]"
            )
            assert stripe == ["4px", "0px"], stripe
        confirmed = fieldsets.nth(0).locator(".item-text").inner_text().strip()
        changed = fieldsets.nth(1).locator(".item-text").inner_text().strip()
        fieldsets.nth(1).locator("label.choice", has=page.locator("input[value=pos]")).tap()
        assert fieldsets.nth(1).locator("input[value=pos]").is_checked()
        _submit(page)
        assert _answers(worker, shown) == {confirmed: "neg", changed: "pos"}
        assert set(AssignmentItem.objects.filter(item__campaign=shown).values_list("blind", flat=True)) == {False}

        # Blind: no marker and nothing pre-selected; the worker chooses.
        _start(page, live_server, blind)
        _assert_no_suggestion(page)
        assert page.get_by_text(marker_text).count() == 0
        for index in range(2):
            page.locator("fieldset").nth(index).locator("label.choice", has=page.locator("input[value=pos]")).tap()
        _submit(page)
        assert set(_answers(worker, blind).values()) == {"pos"}
        assert set(AssignmentItem.objects.filter(item__campaign=blind).values_list("blind", flat=True)) == {True}

        # Label mode: the same pre-labelled items, never a suggestion.
        _start(page, live_server, labelled)
        _assert_no_suggestion(page)
        assert page.get_by_text(marker_text).count() == 0
        assert set(AssignmentItem.objects.filter(item__campaign=labelled).values_list("blind", flat=True)) == {None}
    finally:
        context.close()
