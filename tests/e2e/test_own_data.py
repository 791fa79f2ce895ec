"""A worker's own data in a real browser at phone size: work, download one's data, delete the account, and the
campaign's annotators show the organization's pseudonym for the worker."""

import json
import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from crowd.models import Answer
from crowd.services.aggregation import campaign_aggregate
from tests import factories
from tests.e2e.conftest import PASSWORD
from workers.models import User
from workers.pseudonyms import pseudonym

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LABELS = [{"value": "pos", "text": "Positive"}, {"value": "neg", "text": "Negative"}]


def test_worker_downloads_their_data_then_deletes_the_account(phone, sign_in, live_server, tmp_path: Path):
    organization = factories.OrganizationFactory()
    campaign = factories.campaign(
        organization=organization, name="Clinic feedback", labels=LABELS, items=2, launch=True, redundancy=1
    )
    user, _ = factories.worker(username="zainab")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    page = sign_in(phone.new_page(), "zainab")

    # One microtask, by touch.
    with page.expect_navigation():
        page.locator("form button").filter(has_text="Start").first.tap()
    assert re.search(r"/work/assignments/\d+/$", page.url)
    page.get_by_label("Positive").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit and stop").tap()
    assert Answer.objects.filter(worker=user).count() == 1

    # Download my data, from the profile page.
    page.goto(f"{live_server.url}/work/profile/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").tap()
    saved = tmp_path / "mine.json"
    download_info.value.save_as(saved)
    mine = json.loads(saved.read_text(encoding="utf-8"))
    assert mine["profile"]["username"] == "zainab"
    assert [(a["campaign"], a["label"]) for a in mine["answers"]] == [("Clinic feedback", "pos")]
    assert mine["ledger"] and mine["ledger"][0]["status"] == "pending"

    # Delete my account: the unpaid money is shown first, and nothing happens without the confirmation.
    with page.expect_navigation():
        page.get_by_role("link", name="Delete my account").tap()
    assert "0.10" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account").tap()
    assert "Please tick the box to confirm." in page.locator("main").inner_text()
    assert User.objects.get(pk=user.pk).username == "zainab"
    page.get_by_label("I understand that this cannot be undone.").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account").tap()
    assert "Your account has been deleted." in page.content()

    assert User.objects.get(pk=user.pk).username.startswith("deleted-")
    # Signed out, and the old password no longer signs in.
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill("zainab")
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.tap()
    assert "/accounts/login/" in page.url

    # The answer stays, under the organization's pseudonym for the worker, in the campaign's annotators.
    campaign_aggregate(campaign_id=campaign.id)
    api: APIClient = factories.membership_client(organization=organization, role="viewer")
    annotators = json.dumps(api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json())
    assert pseudonym(organization.id, user.pk) in annotators and "zainab" not in annotators
    assert Answer.objects.filter(worker_id=user.pk).count() == 1
