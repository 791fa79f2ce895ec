"""A coordinator runs a campaign from the web in a real browser (laptop size): creates it, uploads a CSV and watches
the import to the end, launches it, sees a worker's answers arrive on the campaign page, rejects one with a reason,
and downloads the results."""

import csv
import os
from pathlib import Path

import pytest

from crowd.models import Assignment, Campaign, Item
from crowd.services.answers import answer_submit
from crowd.services.organizations import organization_ensure
from crowd.services.routing import assignment_claim_next
from payments.services import funds_deposit
from tests import factories
from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The campaign and review pages are drawn on the way; CROWDLOOP_SCREENSHOTS=docs/screenshots keeps them for the docs.
SCREENSHOTS = os.environ.get("CROWDLOOP_SCREENSHOTS", "")


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_a_coordinator_runs_a_campaign_from_the_web(live_server, laptop, tmp_path, django_capture_on_commit_callbacks):
    organization, owner = organization_ensure(name="Afya Yetu", owner_email="coordinator@afya.example")
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    funds_deposit(
        organization_id=organization.id, amount="100.00", currency="USD", reference="grant", created_by_id=owner.id
    )
    page = laptop.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill("coordinator@afya.example")
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/manage/")  # a coordinator lands on their own pages

    # Create the campaign.
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("Clinic messages")
    page.get_by_label("Instructions for workers").fill("Is the message about a symptom?")
    page.locator("input[name=label_value]").nth(0).fill("symptom")
    page.locator("input[name=label_text]").nth(0).fill("A symptom")
    page.locator("input[name=label_value]").nth(1).fill("other")
    page.locator("input[name=label_text]").nth(1).fill("Something else")
    page.get_by_label("Items per microtask", exact=True).fill("1")
    page.get_by_label("Answers per item", exact=True).fill("1")
    page.get_by_label("Most answers per item when workers disagree").fill("1")
    page.get_by_label("Pay per microtask").fill("0.05")
    page.get_by_label("Expected seconds per microtask").fill("20")
    page.locator("#pay-check").filter(has_text="per hour").wait_for()  # the live check, as the coordinator types
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert Campaign.objects.filter(name="Clinic messages").exists(), page.locator("#form-errors").inner_text()
    campaign = Campaign.objects.get(name="Clinic messages")
    assert page.url.endswith(f"/manage/campaigns/{campaign.id}/")

    # Upload a spreadsheet's CSV; its preview shows the rows and which column is what before anything is stored.
    upload = tmp_path / "messages.csv"
    upload.write_text(
        "id,message,sender\nm1,Homa kali tangu jana,+2547\nm2,Asante kwa msaada,+2547\nm3,Kichwa kinauma,\n"
    )
    page.locator("#upload-file").set_input_files(str(upload))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    page.get_by_text("Homa kali tangu jana").wait_for()
    assert not Item.objects.filter(campaign=campaign).exists()
    assert page.locator("#map-external_id").input_value() == "id"
    page.locator("#map-text").select_option("message")
    page.get_by_label("sender").check()  # kept out of the items
    with page.expect_navigation():
        page.get_by_role("button", name="Check again with these choices").click()
    page.locator("#preview-ok").wait_for()
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.screenshot(path=str(shots / "coordinator-import-preview-en.png"), full_page=True)
    # The import runs as a job and its page shows the end.
    with django_capture_on_commit_callbacks(execute=True), page.expect_navigation():
        page.locator("#start-import").click()
    page.reload()
    page.get_by_text("Done: 3 items added, 0 already there.").wait_for()
    assert Item.objects.filter(campaign=campaign).count() == 3
    assert Item.objects.get(campaign=campaign, external_id="m1").data == {"text": "Homa kali tangu jana"}

    # Launch.
    page.get_by_role("link", name="Back to the campaign").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Launch").click()
    page.get_by_text("Launched: workers can start on it now.").wait_for()

    # A worker answers two microtasks; their answers arrive on the campaign page.
    worker, _ = factories.worker(username="juma")
    for label in ("symptom", "other"):
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        answers = [{"item": entry.item_id, "label": label} for entry in lease.entries.all()]
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers)
    page.reload()
    assert page.locator("#watch svg").first.locator("rect").count() == 48  # one bar per hour
    assert "(2 in the last day)" in page.locator("#watch").inner_text()
    page.screenshot(path=str(shots / "coordinator-campaign-en.png"), full_page=True)

    # Review: reject one with a reason.
    page.get_by_role("link", name="Review work").click()
    rejected = Assignment.objects.filter(worker=worker).order_by("id").last()
    page.locator(f"#submission-{rejected.id} input[name=ids]").check()
    page.get_by_label("Reason for a rejection (the worker reads it)").fill(
        "The message is about thanks, not a symptom."
    )
    page.screenshot(path=str(shots / "coordinator-review-en.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Reject the ticked work").click()
    page.get_by_text("1 submission rejected; the worker sees your reason.").wait_for()
    rejected.refresh_from_db()
    assert (rejected.status, rejected.reject_reason) == ("rejected", "The message is about thanks, not a symptom.")

    # Download the results.
    page.goto(f"{live_server.url}/manage/campaigns/{campaign.id}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Results (CSV)").click()
    saved = tmp_path / "results.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.read_text().splitlines()))
    assert sorted(row["external_id"] for row in rows) == ["m1", "m2", "m3"]
    assert {row["external_id"]: row["label"] for row in rows}["m1"] == "symptom"
