"""A worker's own data: download everything held about them; delete the account, keeping work and money under a
pseudonym."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from crowd.models import Answer, Assignment, Membership
from crowd.services.accounts import worker_account_delete
from crowd.services.aggregation import campaign_aggregate
from crowd.services.approvals import appeal_create, assignment_reject
from crowd.services.blocks import worker_block
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories
from tests.crowd.test_approvals import submitted
from tests.e2e.conftest import PASSWORD
from workers.models import User, WorkerLanguage, WorkerToken

pytestmark = pytest.mark.django_db


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_export_holds_profile_answers_ledger_quality_appeals_and_blocks(org_key):
    organization, owner, _ = org_key
    campaign = factories.campaign(items=4, items_per_task=2, launch=True, organization=organization)
    user, token = factories.worker(username="zainab", languages=(("ha", 5), ("en", 4)))
    _, lease = submitted(campaign, user)
    assignment_reject(
        assignment_id=lease.id, decided_by_id=owner.id, organization_ids=[organization.id], reason="Too fast"
    )
    appeal_create(worker=user, assignment_id=lease.id, message="I read each one.")
    worker_block(organization_id=organization.id, worker_id=user.id, reason="Copied answers", created_by_id=owner.id)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    data = api.get("/api/v1/me/export/").json()

    assert data["account"]["username"] == "zainab"
    assert data["profile"]["languages"] == [{"code": "en", "level": 4}, {"code": "ha", "level": 5}]
    assert {(a["campaign"], a["label"]) for a in data["answers"]} == {(campaign.name, "pos")}
    assert len(data["answers"]) == 2 and all(a["item"] for a in data["answers"])
    assert {entry["kind"] for entry in data["ledger"]} >= {"reward"}
    assert "USD" in data["earnings"]
    assert data["quality"][0]["campaign_name"] == campaign.name
    assert data["appeals"][0]["message"] == "I read each one."
    assert data["blocks"][0]["reason"] == "Copied answers"

    # The profile page's download is the same document, as a file.
    page = _signed_in(user).get("/work/profile/data/")
    assert page.status_code == 200
    assert page["Content-Disposition"] == 'attachment; filename="crowdloop-my-data.json"'
    downloaded = json.loads(page.content)
    assert [(a["id"], a["item"], a["label"]) for a in downloaded["answers"]] == [
        (a["id"], a["item"], a["label"]) for a in data["answers"]
    ]
    assert downloaded["blocks"][0]["reason"] == "Copied answers"


def test_export_needs_a_worker():
    assert Client().get("/work/profile/data/").status_code == 302  # to sign in
    assert APIClient().get("/api/v1/me/export/").status_code == 401


def test_deleting_erases_personal_data_and_keeps_work_and_money_under_a_pseudonym(org_api, org_key):
    organization = org_key[0]
    campaign = factories.campaign(items=2, items_per_task=2, redundancy=1, launch=True, organization=organization)
    user, token = factories.worker(username="musa", languages=(("ha", 5), ("en", 5)))
    User.objects.filter(pk=user.pk).update(email="musa@example.org")
    submitted(campaign, user)
    campaign_aggregate(campaign_id=campaign.id)
    results_before = org_api.get(f"/api/v1/campaigns/{campaign.id}/results/").json()
    ledger_before = list(LedgerEntry.objects.filter(worker=user).values_list("id", "amount_minor", "status"))

    outcome = worker_account_delete(user_id=user.id)

    user.refresh_from_db()
    assert user.username == outcome.pseudonym and outcome.pseudonym.startswith("deleted-")
    assert (user.email, user.is_active, user.has_usable_password()) == ("", False, False)
    assert not WorkerLanguage.objects.filter(profile__user=user).exists()
    assert user.worker_profile.country == "" and user.worker_profile.payout_details == {}
    assert not WorkerToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert outcome.unpaid_minor == {"USD": 10}
    # Work and money stay, pointing at the pseudonym.
    assert Answer.objects.filter(worker=user).count() == 2
    assert list(LedgerEntry.objects.filter(worker=user).values_list("id", "amount_minor", "status")) == ledger_before
    assert org_api.get(f"/api/v1/campaigns/{campaign.id}/results/").json() == results_before
    names = {row["name"] for row in org_api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json()}
    assert outcome.pseudonym in names and "musa" not in names
    # The old token and the old name no longer sign in.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/me/earnings/").status_code == 401
    assert not Client().login(username="musa", password=PASSWORD)

    # A second deletion is harmless and keeps the same pseudonym.
    assert worker_account_delete(user_id=user.id).pseudonym == outcome.pseudonym


def test_deleting_gives_back_a_held_lease():
    campaign = factories.campaign(items=2, items_per_task=2, launch=True)
    user, _ = factories.worker()
    lease = assignment_claim_next(worker=user, campaign_id=campaign.id).assignment
    worker_account_delete(user_id=user.id)
    assert Assignment.objects.get(pk=lease.id).status == Assignment.Status.RELEASED


def test_members_must_leave_their_organization_first(org_key):
    _, owner, _ = org_key
    assert Membership.objects.filter(user=owner).exists()
    response = _signed_in(owner).post("/work/profile/delete/", {"confirm": "yes"})
    assert response.status_code == 400
    owner.refresh_from_db()
    assert owner.is_active and not owner.username.startswith("deleted-")


def test_the_page_shows_what_is_owed_and_needs_the_box_ticked():
    campaign = factories.campaign(items=2, items_per_task=2, launch=True)
    user, _ = factories.worker(username="asha")
    submitted(campaign, user)
    client = _signed_in(user)

    page = client.get("/work/profile/delete/").content.decode()
    assert "0.10 USD" in page

    refused = client.post("/work/profile/delete/", {})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.content.decode()
    user.refresh_from_db()
    assert user.username == "asha"

    done = client.post("/work/profile/delete/", {"confirm": "yes"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.username.startswith("deleted-")
    assert client.get("/work/").status_code == 302  # signed out


def test_deleting_in_the_admin_pseudonymizes_instead_of_failing(admin_client):
    campaign = factories.campaign(items=2, items_per_task=2, launch=True)
    user, _ = factories.worker(username="kofi")
    submitted(campaign, user)
    response = admin_client.post(f"/admin/workers/user/{user.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.username.startswith("deleted-") and Answer.objects.filter(worker=user).count() == 2
