"""A submit made while the connection is down is kept on the phone and sent once it returns, exactly once."""

import re

import pytest

from crowd.models import Answer, Assignment
from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TASK_URL = re.compile(r"/work/assignments/(\d+)/$")


def test_offline_submit_is_kept_and_sent_once_when_back_online(live_server, phone, sign_in):
    user, _ = factories.worker(username="juma")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    campaign = factories.campaign(launch=True, items=4, items_per_task=2)
    page = phone.new_page()
    # This test is about a submit with nothing fetched ahead (that fetch failed, say): the one below has one.
    page.route("**/ahead/", lambda route: route.abort())
    sign_in(page, "juma")
    with page.expect_navigation():
        page.get_by_role("button", name="Start").tap()
    first = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    for fieldset in page.locator("fieldset").all():
        fieldset.get_by_text("pos", exact=True).tap()

    phone.set_offline(True)
    page.get_by_role("button", name="Submit and next").tap()
    status = page.locator("#task-status")
    status.filter(has_text="saved on this phone").wait_for()
    assert not Answer.objects.filter(worker=user).exists()
    assert TASK_URL.search(page.url).group(1) == str(first.id)  # still the same task, answers still chosen

    phone.set_offline(False)  # the page hears "online" and sends what it kept
    # The next task is written into this page and the address replaced: no navigation event to wait for.
    page.wait_for_function(f"() => location.pathname !== '/work/assignments/{first.id}/'")
    first.refresh_from_db()
    assert first.status == Assignment.Status.SUBMITTED
    assert Answer.objects.filter(worker=user, campaign=campaign).count() == 2
    second = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    assert page.url.endswith(f"/work/assignments/{second.id}/")
    assert page.locator("fieldset").count() == 2
    # Nothing is left to send: reloading sends nothing twice.
    page.reload()
    assert Answer.objects.filter(worker=user).count() == 2
    assert page.evaluate("localStorage.getItem('crowdloop-pending')") == "[]"


def test_with_the_next_task_fetched_ahead_submit_shows_it_at_once_even_offline(live_server, phone, sign_in):
    user, _ = factories.worker(username="neema")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    campaign = factories.campaign(launch=True, items=6, items_per_task=2)
    page = phone.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security" in message.text else 0)
    sign_in(page, "neema")
    with page.expect_navigation():
        page.get_by_role("button", name="Start").tap()
    first = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    fieldsets = page.locator("fieldset").all()
    with page.expect_response("**/ahead/") as fetched:  # the first answer starts the fetch
        fieldsets[0].get_by_text("pos", exact=True).tap()
    assert fetched.value.status == 200
    ahead = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE, queued=True)
    fieldsets[1].get_by_text("neg", exact=True).tap()

    phone.set_offline(True)
    page.get_by_role("button", name="Submit and next").tap()
    page.wait_for_function(f"() => location.pathname === '/work/assignments/{ahead.id}/'")  # no network needed
    page.locator("#task-status").filter(has_text="saved on this phone").wait_for()
    assert page.locator(f"form[action='/work/assignments/{ahead.id}/']").count() == 1
    assert not Answer.objects.filter(worker=user).exists()

    phone.set_offline(False)
    page.locator("#task-status").filter(has_text="Saved. You earned").wait_for()
    first.refresh_from_db()
    ahead.refresh_from_db()
    assert first.status == Assignment.Status.SUBMITTED
    assert sorted(Answer.objects.filter(assignment=first).values_list("label", flat=True)) == ["neg", "pos"]
    assert (ahead.status, ahead.queued) == (Assignment.Status.ACTIVE, False)  # now the current one
    assert Answer.objects.filter(worker=user, campaign=campaign).count() == 2
    assert page.evaluate("localStorage.getItem('crowdloop-pending')") == "[]"
    assert blocked == []  # the swapped-in page's script ran (it sent the answers) under the page's policy
