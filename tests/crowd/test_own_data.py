"""A worker's own data: the export holds everything about them; deleting the account erases personal data and
keeps answers and money records under a pseudonym."""

import json

import pytest
from django.contrib.auth import authenticate
from rest_framework.test import APIClient

from crowd.models import Annotator, Answer, Appeal, Assignment, Item
from crowd.services.accounts import worker_delete_account
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_reject
from crowd.services.blocks import worker_block
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories
from workers.grants import signin_grant_issue
from workers.models import SignInGrant, User, WorkerLanguage, WorkerToken
from workers.pseudonyms import pseudonym as organization_pseudonym

pytestmark = pytest.mark.django_db


def _export(client: APIClient) -> dict:
    response = client.get("/api/v1/me/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def worked():
    """A worker with two answers in a campaign (one rejected and appealed) and one lease still active."""
    organization = factories.OrganizationFactory()
    campaign = factories.campaign(organization=organization, items=3, launch=True, redundancy=1, max_redundancy=1)
    user, key = factories.worker(username="amina", languages=(("en", 5), ("sw", 4)), skills=(("medical", 3),))
    user.email = "amina@example.org"
    user.set_password("a-long-pass-phrase-9")
    user.save()
    for _ in range(2):
        assignment = assignment_claim_next(worker=user, campaign_id=campaign.id).assignment
        item = assignment.entries.get().item
        answer_submit(worker=user, assignment_id=assignment.id, raw_answers=[{"item": item.id, "label": "pos"}])
    assignment_reject(
        assignment_id=assignment.id, decided_by_id=None, reason="Looks random", organization_ids=[organization.id]
    )
    appeal_create(worker=user, assignment_id=assignment.id, message="I read it carefully")
    active = assignment_claim_next(worker=user, campaign_id=campaign.id).assignment
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return user, campaign, client, active


def test_worker_data_export_holds_everything_about_the_worker(worked):
    user, campaign, client, _ = worked
    worker_block(organization_id=campaign.organization_id, worker_id=user.id, reason="Too fast", created_by_id=None)
    body = _export(client)
    assert body["profile"]["username"] == "amina" and body["profile"]["email"] == "amina@example.org"
    assert body["profile"]["country"] == "KE"
    assert sorted((x["code"], x["level"]) for x in body["profile"]["languages"]) == [("en", 5), ("sw", 4)]
    assert body["profile"]["skills"] == [{"slug": "medical", "level": 3}]
    assert len(body["answers"]) == 2
    assert {a["campaign"] for a in body["answers"]} == {campaign.name}
    assert {a["item"] for a in body["answers"]} <= set(Item.objects.values_list("external_id", flat=True))
    assert [a["label"] for a in body["answers"]] == ["pos", "pos"]
    assert len(body["ledger"]) == LedgerEntry.objects.filter(worker=user).count() >= 2
    assert body["appeals"][0]["message"] == "I read it carefully"
    assert body["blocks"] == [
        {
            "organization": campaign.organization.name,
            "campaign": None,
            "reason": "Too fast",
            "created_at": body["blocks"][0]["created_at"],
        }
    ]
    assert body["quality"][0]["campaign"] == campaign.name
    assert "USD" in body["earnings"]


def test_worker_data_export_is_only_for_workers_and_their_own(worked, client):
    _, campaign, _, _ = worked
    _, key = factories.worker(username="baraka")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = _export(api)
    assert body["profile"]["username"] == "baraka" and body["answers"] == [] and body["ledger"] == []
    organization_api = factories.membership_client(organization=campaign.organization, role="owner")
    factories.assert_error(organization_api.get("/api/v1/me/export/"), 403)
    assert client.get("/api/v1/me/export/").status_code in (401, 403)


def test_worker_delete_account_pseudonymizes_and_keeps_work_and_money(worked):
    user, campaign, client, active = worked
    campaign_aggregate(campaign_id=campaign.id)
    results_before = list(Item.objects.order_by("id").values_list("id", "result_label", "answer_count"))
    ledger_before = list(
        LedgerEntry.objects.filter(worker=user).order_by("id").values_list("id", "amount_minor", "status")
    )
    answers_before = list(Answer.objects.filter(worker=user).values_list("id", "label"))

    response = client.delete("/api/v1/me/")
    assert response.status_code == 200
    pseudonym = response.json()["pseudonym"]
    assert pseudonym.startswith("deleted-") and response.json()["still_owed"]["USD"]

    user.refresh_from_db()
    assert user.username == pseudonym and user.email == "" and not user.is_active and not user.has_usable_password()
    assert user.worker_profile.country == ""
    assert not WorkerLanguage.objects.filter(profile__user=user).exists()
    assert not user.worker_profile.skills.exists()
    assert not WorkerToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert authenticate(username="amina", password="a-long-pass-phrase-9") is None
    assert authenticate(username=pseudonym, password="a-long-pass-phrase-9") is None
    assert client.get("/api/v1/me/export/").status_code == 401  # the token stopped working
    active.refresh_from_db()
    assert active.status == Assignment.Status.RELEASED

    assert list(Item.objects.order_by("id").values_list("id", "result_label", "answer_count")) == results_before
    assert (
        list(LedgerEntry.objects.filter(worker=user).order_by("id").values_list("id", "amount_minor", "status"))
        == ledger_before
    )
    assert list(Answer.objects.filter(worker=user).values_list("id", "label")) == answers_before
    assert Appeal.objects.filter(assignment__worker=user).count() == 1

    organization_api = factories.membership_client(organization=campaign.organization, role="viewer")
    annotators = organization_api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json()
    # The organization keeps seeing the worker under its own pseudonym for them, as before the deletion.
    shown = json.dumps(annotators)
    assert organization_pseudonym(campaign.organization_id, user.id) in shown
    assert "amina" not in shown and pseudonym not in shown
    assert Annotator.objects.filter(campaign=campaign, worker=user).exists()

    again = worker_delete_account(worker_id=user.id)
    assert again.already and again.pseudonym == pseudonym
    assert User.objects.get(pk=user.id).username == pseudonym


def test_work_delete_account_page_shows_what_is_owed_and_needs_confirmation(worked, client):
    user, _, _, _ = worked
    client.force_login(user)
    page = client.get("/work/profile/delete/").content.decode()
    assert "0.10" in page and "pending" in page
    refused = client.post("/work/profile/delete/", {})
    assert refused.status_code == 400 and User.objects.get(pk=user.id).username == "amina"
    done = client.post("/work/profile/delete/", {"confirm": "yes"})
    assert done.status_code == 302
    assert User.objects.get(pk=user.id).username.startswith("deleted-")
    assert client.get("/work/").status_code == 302  # signed out


def test_work_my_data_downloads_the_export(worked, client):
    user, _, _, _ = worked
    client.force_login(user)
    assert 'href="/work/profile/data/"' in client.get("/work/profile/").content.decode()
    response = client.get("/work/profile/data/")
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(b"".join(response.streaming_content))["profile"]["username"] == "amina"


def test_admin_delete_of_a_worker_goes_through_the_service(worked, admin_client):
    user, _, _, _ = worked
    response = admin_client.post(f"/admin/workers/user/{user.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert User.objects.get(pk=user.id).username.startswith("deleted-")


def test_deleting_an_account_stops_its_unused_sign_in_codes(org_api):
    worker_id = org_api.post(
        "/api/v1/workers/", {"username": "salma", "languages": [{"code": "ha", "level": 5}]}, format="json"
    ).json()["id"]
    organization_id = User.objects.get(pk=worker_id).worker_profile.enrolled_by_id
    signin_grant_issue(organization_id=organization_id, worker_id=worker_id)
    worker_delete_account(worker_id=worker_id)
    assert SignInGrant.objects.get(user_id=worker_id).revoked_at is not None
