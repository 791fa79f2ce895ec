"""A worker's own data in a real browser at phone size: download it, then delete the account and find the
pseudonym among the campaign's annotators."""

import json
from pathlib import Path

import pytest

from crowd.services.aggregation import campaign_aggregate
from tests import factories
from tests.crowd.test_approvals import submitted
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_download_then_delete_the_account(live_server, phone, sign_in, org_api, org_key):
    campaign = factories.campaign(items=2, items_per_task=2, redundancy=1, launch=True, organization=org_key[0])
    user, _ = factories.worker(username="aisha")
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    submitted(campaign, user)
    campaign_aggregate(campaign_id=campaign.id)
    page = phone.new_page()
    sign_in(page, "aisha")

    page.goto(f"{live_server.url}/work/profile/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").tap()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["username"] == "aisha" and len(data["answers"]) == 2

    with page.expect_navigation():
        page.get_by_role("link", name="Delete my account").tap()
    assert "0.10 USD" in page.content()
    page.get_by_label("I understand: delete my account").tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account").tap()
    assert page.get_by_text("Your account is deleted. Thank you for your work.").is_visible()

    user.refresh_from_db()
    names = {row["name"] for row in org_api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json()}
    assert user.username.startswith("deleted-") and user.username in names and "aisha" not in names
