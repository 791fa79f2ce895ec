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
    page.wait_for_url(lambda url: TASK_URL.search(url) is not None and str(first.id) not in url)
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
