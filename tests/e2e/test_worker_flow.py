"""The worker flow in a real browser at phone size: sign in, see pay, start, label, submit, run out of work."""

import gzip
import http.client
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from crowd.models import Answer, Assignment
from payments.models import LedgerEntry
from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LABELS = [{"value": "pos", "text": "Positive"}, {"value": "neg", "text": "Negative"}]
TASK_URL = re.compile(r"/work/assignments/\d+/$")
SCREENSHOT = "/tmp/e2e-task.png"
PAGE_BUDGET_BYTES = 30 * 1024
INLINE_SCRIPT_BUDGET_BYTES = 8 * 1024  # raw; under 3 KB gzipped (the whole page's gzip budget is 8 KB)


def _worker(username: str):
    user, _key = factories.worker(username=username)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def _campaign(**fields: Any):
    defaults: dict[str, Any] = {
        "name": "Clinic feedback",
        "instructions": "Is the patient's comment positive or negative?",
        "labels": LABELS,
        "items": 4,
        "items_per_task": 2,
        "reward": "0.25",
        "currency": "USD",
        "estimated_seconds": 40,
    }
    return factories.campaign(launch=True, **{**defaults, **fields})


def _item_texts(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("fieldset .item-text").all_inner_texts()]


def _tap_and_load(page: Any, target: Any) -> None:
    """Tap a submit button or link and wait until the page it leads to has loaded."""
    with page.expect_navigation():
        target.tap()


def _answer_shown_items(page: Any, label_text: str) -> list[str]:
    """Choose `label_text` for every item on the task page; returns the item texts that were shown."""
    fieldsets = page.locator("fieldset")
    assert fieldsets.count() == 2
    for index in range(fieldsets.count()):
        fieldset = fieldsets.nth(index)
        assert fieldset.get_by_text("Positive", exact=True).is_visible()
        assert fieldset.get_by_text("Negative", exact=True).is_visible()
        fieldset.get_by_text(label_text, exact=True).tap()
        assert fieldset.get_by_label(label_text).is_checked()
    return _item_texts(page)


def test_worker_flow_sign_in_label_and_next(live_server, phone, sign_in):
    worker = _worker("amina")
    campaign = _campaign()
    page = phone.new_page()

    sign_in(page, "amina")
    assert page.get_by_role("heading", name="Available work").is_visible()
    card = page.locator("form.card", has=page.get_by_role("heading", name="Clinic feedback"))
    assert "0.25 USD per task" in card.inner_text()
    assert "about 40 seconds" in card.inner_text()

    _tap_and_load(page, card.get_by_role("button", name="Start"))
    assert TASK_URL.search(page.url)
    first = Assignment.objects.get(worker=worker, status=Assignment.Status.ACTIVE)
    assert page.get_by_role("heading", name="Clinic feedback").is_visible()
    assert "Pays 0.25 USD" in page.content()
    page.screenshot(path=SCREENSHOT, full_page=True)
    first_texts = _answer_shown_items(page, "Positive")
    assert all(re.fullmatch(r"text \d", text) for text in first_texts), first_texts

    _tap_and_load(page, page.get_by_role("button", name="Submit and next"))
    assert TASK_URL.search(page.url)
    assert f"/work/assignments/{first.id}/" not in page.url
    # The next task was fetched ahead and shown at once; the answers went behind it, and the page says so.
    page.get_by_role("status").filter(has_text="Saved. You earned 0.25 USD.").wait_for()
    second_texts = _answer_shown_items(page, "Negative")
    assert not set(first_texts) & set(second_texts)
    assert sorted(first_texts + second_texts) == [f"text {i}" for i in range(4)]

    _tap_and_load(page, page.get_by_role("button", name="Submit and next"))
    assert page.get_by_role("heading", name="No task for you right now").is_visible()
    assert page.locator("[data-reason=done_everything]").is_visible()
    assert page.get_by_text("You have done every task you can. Thank you!").is_visible()

    answers = Answer.objects.filter(worker=worker, campaign=campaign)
    assert {(a.item.data["text"], a.label) for a in answers.select_related("item")} == {
        *((text, "pos") for text in first_texts),
        *((text, "neg") for text in second_texts),
    }
    assert list(Assignment.objects.filter(worker=worker).values_list("status", flat=True).distinct()) == [
        Assignment.Status.SUBMITTED
    ]
    rewards = LedgerEntry.objects.filter(worker=worker, kind=LedgerEntry.Kind.REWARD)
    assert sorted(rewards.values_list("status", "amount_minor", "currency")) == [("pending", 25, "USD")] * 2

    _tap_and_load(page, page.get_by_role("link", name="Back"))
    assert page.url == f"{live_server.url}/work/"
    assert "waiting for approval 0.50" in page.locator(".card", has_text="Earnings").inner_text()


def test_worker_flow_works_with_javascript_disabled(live_server, phone_no_js, sign_in):
    worker = _worker("baraka")
    campaign = _campaign(items=2)
    page = phone_no_js.new_page()

    sign_in(page, "baraka")
    _tap_and_load(page, page.get_by_role("button", name="Start"))
    # Without the script the address stays /work/next/ (the task came in Start's answer); the form names the task.
    assert page.url.endswith("/work/next/")
    assert TASK_URL.search(page.locator("form#answer-form").get_attribute("action"))
    assert sorted(_answer_shown_items(page, "Negative")) == ["text 0", "text 1"]
    _tap_and_load(page, page.get_by_role("button", name="Submit and stop"))
    assert page.url == f"{live_server.url}/work/"
    assert page.get_by_text("Saved. You earned 0.25 USD.").is_visible()

    assert sorted(Answer.objects.filter(worker=worker, campaign=campaign).values_list("label", flat=True)) == [
        "neg",
        "neg",
    ]
    reward = LedgerEntry.objects.get(worker=worker, kind=LedgerEntry.Kind.REWARD)
    assert (reward.status, reward.amount_minor) == (LedgerEntry.Status.PENDING, 25)


def test_worker_task_page_is_small(live_server):
    worker = _worker("chausiku")
    _campaign(instructions="Read the comment. " * 40)
    client = Client()
    client.force_login(worker)
    claimed = client.post("/work/next/")
    assert claimed.status_code == 200
    path = claimed["Crowdloop-Location"]
    assert re.fullmatch(r"/work/assignments/\d+/", path)

    # Measured over the wire from the live server, the way a phone receives it.
    server = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
    connection.request(
        "GET",
        path,
        headers={"Accept-Encoding": "gzip", "Cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )
    response = connection.getresponse()
    wire = response.read()
    connection.close()

    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert len(wire) <= PAGE_BUDGET_BYTES, f"task page is {len(wire)} bytes gzipped"
    html = gzip.decompress(wire).decode()
    assert len(re.findall(r'class="item-text"[^>]*>text \d<', html)) == 2
    # No framework and nothing fetched: one small inline enhancement (heartbeats, countdown, offline submits) and
    # its data; the page works without it (test_worker_flow_works_with_javascript_disabled).
    assert "<script src" not in html.lower()
    # The inline script carries the Content-Security-Policy nonce of this response; nothing else may run.
    nonce = re.search(r"'nonce-([^']+)'", response.getheader("Content-Security-Policy")).group(1)
    inline = re.findall(rf'<script nonce="{re.escape(nonce)}">(.*?)</script>', html, flags=re.DOTALL | re.IGNORECASE)
    data = re.findall(r'<script id="task-config" type="application/json">', html)
    assert html.lower().count("<script") == len(inline) + len(data) == 2
    assert sum(len(script) for script in inline) <= INLINE_SCRIPT_BUDGET_BYTES


def test_worker_task_page_heartbeat_keeps_the_lease(live_server, phone, sign_in):
    worker = _worker("eliud")
    _campaign(items=2, lease_seconds=600)
    page = phone.new_page()
    page.clock.install()  # the page's 60 s heartbeat timer runs on a fake clock we can fast-forward
    sign_in(page, "eliud")
    _tap_and_load(page, page.get_by_role("button", name="Start"))
    assignment = Assignment.objects.get(worker=worker)
    leased_until = assignment.expires_at

    page.locator("fieldset").first.get_by_text("Positive", exact=True).tap()  # a sign of life, so the heartbeat is due
    with page.expect_response(re.compile(r"/heartbeat/$")) as beat:
        page.clock.run_for(61_000)
    assert beat.value.status == 200, beat.value.text()
    assignment.refresh_from_db()
    assert assignment.expires_at > leased_until
    assert assignment.last_activity_at is not None


def test_worker_form_shows_error_without_answer(live_server, phone_no_js, sign_in):
    worker = _worker("dalia")
    _campaign(items=2)
    page = phone_no_js.new_page()
    sign_in(page, "dalia")
    _tap_and_load(page, page.get_by_role("button", name="Start"))
    assert TASK_URL.search(page.locator("form#answer-form").get_attribute("action"))
    assignment = Assignment.objects.get(worker=worker)
    first_item, second_item = assignment.entries.order_by("item_id").values_list("item_id", flat=True)
    token = page.locator(f"form[action$='/work/assignments/{assignment.id}/'] input[name=csrfmiddlewaretoken]")
    task_url = f"{live_server.url}/work/assignments/{assignment.id}/"

    # The browser's `required` attribute stops this in the page; a form post without it must still be refused.
    posted = page.request.post(
        task_url,
        form={"csrfmiddlewaretoken": token.input_value(), "then": "next"},
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert posted.status == 400
    page.set_content(posted.text())
    assert page.locator(f"#item-{first_item} .error").inner_text() == "Please answer this one."
    assert page.locator(f"#item-{second_item} .error").inner_text() == "Please answer this one."

    # One answer of two: only the missing one is flagged, and the given one is kept checked.
    posted = page.request.post(
        task_url,
        form={"csrfmiddlewaretoken": token.input_value(), "then": "next", f"item-{first_item}": "pos"},
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert posted.status == 400
    page.set_content(posted.text())
    assert page.locator(f"#item-{first_item} .error").count() == 0
    assert page.locator(f"#item-{first_item} input[value=pos]").is_checked()
    assert page.locator(f"#item-{second_item} .error").inner_text() == "Please answer this one."

    # A label that is not in the label set is refused by the service, in words meant for the worker.
    posted = page.request.post(
        task_url,
        form={
            "csrfmiddlewaretoken": token.input_value(),
            "then": "next",
            f"item-{first_item}": "pos",
            f"item-{second_item}": "maybe",
        },
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert posted.status == 400
    page.set_content(posted.text())
    assert page.locator(f"#item-{second_item} .error").inner_text() == "Please choose one of the options shown."
    assert page.locator(f"#item-{first_item} .error").count() == 0
    assert page.locator(f"#item-{first_item} input[value=pos]").is_checked()

    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    assert not Answer.objects.filter(worker=worker).exists()
    assert not LedgerEntry.objects.filter(worker=worker).exists()
