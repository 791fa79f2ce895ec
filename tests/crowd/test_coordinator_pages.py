"""The coordinator's pages: campaigns and funds, the fairness report, the appeal queue — members only."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from crowd.models import Appeal, Assignment, Membership
from crowd.selectors import funds_summary
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_approve, assignment_reject
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.organizations import membership_set, organization_ensure
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.money import from_minor
from payments.selectors import earnings_for_worker
from payments.services import funds_deposit
from tests import factories
from tests.crowd.pages import logged_in, member
from workers.models import User
from workers.services import user_email_verify

pytestmark = pytest.mark.django_db


def submitted(campaign, seconds: float | None = None, worker=None) -> tuple[User, Assignment]:
    worker = worker or factories.worker()[0]
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    items = lease.entries.values_list("item_id", flat=True)
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
    if seconds is not None:  # as the heartbeats measured it
        Assignment.objects.filter(pk=lease.id).update(active_seconds=seconds)
    lease.refresh_from_db()
    return worker, lease


def appealed(campaign, owner) -> tuple[User, Appeal]:
    worker, lease = submitted(campaign)
    assignment_reject(
        assignment_id=lease.id, decided_by_id=owner.id, organization_ids=[campaign.organization_id], reason="Too fast"
    )
    appeal = appeal_create(worker=worker, assignment_id=lease.id, message="I read every message carefully.")
    return worker, appeal


def test_manage_home_shows_campaigns_progress_funds_and_rejection_rates(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=3, redundancy=1, name="Malaria SMS")
    leases = [submitted(campaign)[1] for _ in range(2)]
    assignment_approve(assignment_id=leases[0].id, decided_by_id=owner.id, organization_ids=[organization.id])
    assignment_reject(
        assignment_id=leases[1].id, decided_by_id=owner.id, organization_ids=[organization.id], reason="Spam"
    )
    funds_deposit(
        organization_id=organization.id, amount="250.00", currency="USD", reference="wire-1", created_by_id=None
    )
    funds_deposit(
        organization_id=organization.id, amount="1500", currency="KES", reference="mpesa-1", created_by_id=None
    )
    factories.campaign(launch=True, items=1, name="Someone else's")

    response = logged_in(owner).get("/manage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Malaria SMS" in html and "Someone else&#x27;s" not in html and "Someone else's" not in html
    assert "0 of 3 items complete" in html and "Answers: 2 ·" in html  # complete once aggregation runs
    assert "0.10 USD per task" in html
    # The factory deposits 100000 for each launch; one approved reward (0.10) is spent, the rejected one reversed.
    # What is left for new work is the balance less what the running campaign may still cost (its reserve).
    reserved = funds_summary(organization_id=organization.id)["USD"]["reserved"]
    assert reserved > 0
    assert (
        f"Deposited 100250.00 USD · spent 0.10 USD · reserved for running campaigns {from_minor(reserved, 'USD')}"
        in html
    )
    assert f"<strong>{from_minor(10024990 - reserved, 'USD')} USD</strong> available for new work" in html
    assert "<strong>1500.00 KES</strong> available for new work" in html
    assert f"/manage/campaigns/{campaign.id}/fairness/" in html
    assert "/manage/appeals/" in html
    assert '<td>owner@ngo.example</td><td style="text-align:end">2</td>' in html and "50.0%" in html


def test_fairness_page_shows_the_median_against_the_floor_and_the_latest_check(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=30, redundancy=1)
    for _ in range(20):  # 0.10 USD for 90 s of work: 4.00 USD an hour, half the 8.00 floor
        _, lease = submitted(campaign, seconds=90)
        assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[organization.id])
    client = logged_in(owner)

    html = client.get(f"/manage/campaigns/{campaign.id}/fairness/").content.decode()
    assert "<strong>4.00 USD</strong>" in html and "<strong>8.00 USD</strong>" in html
    assert "Prolific" in html  # the floor's source
    assert "100.0%" in html  # every submission below the floor
    assert "Below the floor" not in html  # no check yet

    campaign_fair_pay_check(campaign_id=campaign.id)
    response = client.get(f"/manage/campaigns/{campaign.id}/fairness/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>8.00 USD</strong> an hour" in html  # the median after the top-ups
    assert "20 assignments topped up by 2.00 USD" in html and "new work pays 0.20 USD" in html
    assert '<td>KE</td><td style="text-align:end">20</td>' in html
    assert "Cost to date: <strong>4.00 USD</strong>" in html  # 20 x (0.10 + 0.10)
    assert "10 answers still to collect" in html
    assert "Forecast at completion: <strong>6.00 USD</strong>" in html  # 4.00 + 10 x 0.20


def test_another_organizations_campaign_and_appeal_are_404(org):
    _, owner = org
    other, other_owner = organization_ensure(name="Other NGO", owner_email="owner@other.example")
    campaign = factories.campaign(organization=other, launch=True, items=1)
    _, appeal = appealed(campaign, other_owner)
    client = logged_in(owner)
    assert client.get(f"/manage/campaigns/{campaign.id}/fairness/").status_code == 404
    assert client.post(f"/manage/appeals/{appeal.id}/decide/", {"decision": "overturn"}).status_code == 404
    assert "Other NGO" not in client.get("/manage/").content.decode()
    assert "Too fast" not in client.get("/manage/appeals/").content.decode()
    assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN


def test_non_members_are_refused(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=1)
    _, appeal = appealed(campaign, owner)
    worker, _ = factories.worker()
    client = logged_in(worker)
    for url in ("/manage/", f"/manage/campaigns/{campaign.id}/fairness/", "/manage/appeals/"):
        response = client.get(url)
        assert response.status_code == 403 and "not a member of any organization" in response.content.decode()
    assert client.post(f"/manage/appeals/{appeal.id}/decide/", {"decision": "overturn"}).status_code == 403
    assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN
    anonymous = Client().get("/manage/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_appeal_overturned_from_the_page_pays_the_worker(org):
    organization, _ = org
    coordinator = member(organization, Membership.Role.COORDINATOR)
    campaign = factories.campaign(organization=organization, launch=True, items=1)
    worker, appeal = appealed(campaign, coordinator)
    client = logged_in(coordinator)

    html = client.get("/manage/appeals/").content.decode()
    assert "Too fast" in html and "I read every message carefully." in html
    assert f"/manage/appeals/{appeal.id}/decide/" in html

    response = client.post(
        f"/manage/appeals/{appeal.id}/decide/", {"decision": "overturn", "note": "Fair point, sorry."}, follow=True
    )
    assert response.status_code == 200 and "the worker has been paid" in response.content.decode()
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_by_id, appeal.decision_note) == (
        "overturned",
        coordinator.id,
        "Fair point, sorry.",
    )
    assert Assignment.objects.get(pk=appeal.assignment_id).status == Assignment.Status.APPROVED
    assert earnings_for_worker(worker_id=worker.id)["USD"]["available"] == 10
    earnings = logged_in(worker).get("/work/earnings/").content.decode()
    assert (
        '<strong>0.10 USD</strong> (approved, not paid yet)<br><span class="muted">Rejection overturned on appeal'
        in earnings
    )

    # Deciding again is a domain error: the page re-renders with the message and nothing more is paid.
    again = client.post(f"/manage/appeals/{appeal.id}/decide/", {"decision": "uphold"})
    assert again.status_code == 409 and "already decided" in again.content.decode()
    assert LedgerEntry.objects.filter(worker=worker, reason="Rejection overturned on appeal").count() == 1


def test_appeal_needs_a_decision(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, launch=True, items=1)
    _, appeal = appealed(campaign, owner)
    response = logged_in(owner).post(f"/manage/appeals/{appeal.id}/decide/", {"note": "hmm"})
    assert response.status_code == 400 and "Choose to uphold or overturn." in response.content.decode()
    assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN


def test_viewer_reads_appeals_but_cannot_decide(org):
    organization, owner = org
    viewer = member(organization, Membership.Role.VIEWER)
    campaign = factories.campaign(organization=organization, launch=True, items=1)
    worker, appeal = appealed(campaign, owner)
    client = logged_in(viewer)
    assert client.get("/manage/").status_code == 200
    assert client.get(f"/manage/campaigns/{campaign.id}/fairness/").status_code == 200
    html = client.get("/manage/appeals/").content.decode()
    assert "Too fast" in html and f"/manage/appeals/{appeal.id}/decide/" not in html
    response = client.post(f"/manage/appeals/{appeal.id}/decide/", {"decision": "overturn", "note": "ok"})
    assert response.status_code == 403 and "can read appeals but not decide them" in response.content.decode()
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decision_note) == ("open", "")
    assert Assignment.objects.get(pk=appeal.assignment_id).status == Assignment.Status.REJECTED
    assert earnings_for_worker(worker_id=worker.id)["USD"]["available"] == 0


def test_member_without_a_verified_email_is_asked_to_confirm_it_and_acts_for_no_organization(org):
    organization, owner = org
    coordinator = member(organization, Membership.Role.COORDINATOR, verified=False)
    campaign = factories.campaign(organization=organization, launch=True, items=1)
    _, appeal = appealed(campaign, owner)
    client = logged_in(coordinator)
    for url in ("/manage/", f"/manage/campaigns/{campaign.id}/fairness/", "/manage/appeals/"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 403, url
        assert "Confirm your email address" in html and f"We sent a confirmation link to {coordinator.email}" in html
        assert "/accounts/email/" in html and "Too fast" not in html
    assert client.post(f"/manage/appeals/{appeal.id}/decide/", {"decision": "overturn"}).status_code == 403
    assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN
    # The API with the same session: nothing of the organization either.
    assert client.get("/api/v1/campaigns/").json()["results"] == []
    assert client.get(f"/api/v1/campaigns/{campaign.id}/").status_code == 404
    assert client.post(f"/api/v1/assignments/{appeal.assignment_id}/approve/").status_code == 404

    user_email_verify(user=coordinator)
    assert client.get("/manage/").status_code == 200
    assert [c["id"] for c in client.get("/api/v1/campaigns/").json()["results"]] == [campaign.id]


def test_web_sign_up_sends_a_confirmation_mail_and_the_link_unlocks_the_organization(org, client, mailoutbox):
    organization, _ = org
    response = client.post(
        reverse("account_signup"),
        {
            "username": "amani",
            "email": "amani@ngo.example",
            "password1": "a long pass phrase",
            "password2": "a long pass phrase",
        },
    )
    assert response.status_code == 302  # signed in: a worker may work before confirming anything
    user = User.objects.get(username="amani")
    membership_set(organization_id=organization.id, user_id=user.id, role=Membership.Role.COORDINATOR)
    assert "Confirm your email address" in client.get("/manage/").content.decode()

    assert [m.to for m in mailoutbox] == [["amani@ngo.example"]]
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+)", mailoutbox[0].body).group(1)
    assert client.post(link).status_code == 302
    assert client.get("/manage/").status_code == 200


def test_worker_signing_up_without_email_still_works(client):
    response = client.post(
        reverse("account_signup"),
        {"username": "neema", "password1": "a long pass phrase", "password2": "a long pass phrase"},
    )
    assert response.status_code == 302
    assert client.get("/work/profile/").status_code == 200
    response = client.get("/manage/")
    assert response.status_code == 403 and "not a member of any organization" in response.content.decode()
