"""Approvals: automatic after the window (frozen clock), early approval, rejection with a reason and its
reversal in the ledger, one appeal, reviewers' rejection rates."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections

from crowd.models import Appeal, Assignment
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignments_auto_approve
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.selectors import earnings_for_worker
from tests import factories

pytestmark = pytest.mark.django_db


def submitted(campaign, worker=None):
    worker = worker or factories.worker()[0]
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    items = lease.entries.values_list("item_id", flat=True)
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
    lease.refresh_from_db()
    return worker, lease


def balances(worker) -> dict[str, int]:
    return earnings_for_worker(worker_id=worker.id).get("USD", {})


def test_auto_approval_after_the_window_with_a_frozen_clock():
    campaign = factories.campaign(launch=True, items=2, approval_hours=72)
    worker, lease = submitted(campaign)
    assert balances(worker) == {"pending": 10, "available": 0, "payout_pending": 0, "paid": 0}
    with time_machine.travel(lease.submitted_at + dt.timedelta(hours=71, minutes=59), tick=False):
        assert assignments_auto_approve() == 0
    with time_machine.travel(lease.submitted_at + dt.timedelta(hours=72), tick=False):
        assert assignments_auto_approve() == 1
        assert assignments_auto_approve() == 0  # running it again approves nothing twice
    lease.refresh_from_db()
    assert (lease.status, lease.decided_by_id) == ("approved", None)
    assert balances(worker) == {"pending": 0, "available": 10, "payout_pending": 0, "paid": 0}
    assert LedgerEntry.objects.filter(worker=worker).count() == 3  # credit, then a pair that moves it


def test_coordinator_approves_early_through_the_api(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=1)
    worker, lease = submitted(campaign)
    response = org_api.post(f"/api/v1/assignments/{lease.id}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert org_api.post(f"/api/v1/assignments/{lease.id}/approve/").status_code == 200  # idempotent
    assert balances(worker)["available"] == 10
    assert LedgerEntry.objects.filter(worker=worker).count() == 3


def test_rejection_needs_a_reason_reverses_the_reward_and_the_worker_sees_it(org_api, org_key, make_worker):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=1)
    user, worker_api = make_worker()
    _, lease = submitted(campaign, user)
    response = org_api.post(f"/api/v1/assignments/{lease.id}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400
    assert Assignment.objects.get(pk=lease.id).status == "submitted"
    response = org_api.post(
        f"/api/v1/assignments/{lease.id}/reject/", {"reason": "Answers do not match the text"}, format="json"
    )
    assert response.status_code == 200
    assert balances(user) == {"pending": 0, "available": 0, "payout_pending": 0, "paid": 0}
    earnings = worker_api.get("/api/v1/me/earnings/").json()
    assert any("Answers do not match the text" in entry["reason"] for entry in earnings["entries"])
    # approved work cannot be rejected afterwards, and rejected work cannot be approved
    assert org_api.post(f"/api/v1/assignments/{lease.id}/approve/").status_code == 409


def test_appeal_once_and_overturn_pays_the_worker(org_api, org_key, make_worker):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=1)
    user, worker_api = make_worker()
    _, lease = submitted(campaign, user)
    assert (
        worker_api.post(f"/api/v1/assignments/{lease.id}/appeal/", {"message": "x"}, format="json").status_code == 409
    )
    org_api.post(f"/api/v1/assignments/{lease.id}/reject/", {"reason": "Too fast"}, format="json")
    response = worker_api.post(
        f"/api/v1/assignments/{lease.id}/appeal/", {"message": "I read every message carefully."}, format="json"
    )
    assert response.status_code == 201
    again = worker_api.post(f"/api/v1/assignments/{lease.id}/appeal/", {"message": "Please"}, format="json")
    assert again.status_code == 409 and Appeal.objects.count() == 1
    [queued] = org_api.get("/api/v1/appeals/").json()["results"]
    assert (queued["status"], queued["reject_reason"]) == ("open", "Too fast")
    decided = org_api.post(f"/api/v1/appeals/{queued['id']}/decide/", {"overturn": True}, format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "overturned"
    assert Assignment.objects.get(pk=lease.id).status == "approved"
    assert balances(user)["available"] == 10
    second = org_api.post(f"/api/v1/appeals/{queued['id']}/decide/", {"overturn": False}, format="json")
    assert second.status_code == 409


def test_someone_elses_assignment_cannot_be_reviewed_or_appealed(org_api, make_worker):
    campaign = factories.campaign(launch=True, items=1)  # another organization
    _, lease = submitted(campaign)
    assert org_api.post(f"/api/v1/assignments/{lease.id}/approve/").status_code == 404
    assert org_api.post(f"/api/v1/assignments/{lease.id}/reject/", {"reason": "x"}, format="json").status_code == 404
    _, stranger = make_worker()
    assert stranger.post(f"/api/v1/assignments/{lease.id}/appeal/", {"message": "x"}, format="json").status_code == 404
    assert Assignment.objects.get(pk=lease.id).status == "submitted"


def test_review_stats_show_each_reviewers_rejection_rate(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=3, redundancy=1)
    leases = [submitted(campaign)[1] for _ in range(3)]
    org_api.post(f"/api/v1/assignments/{leases[0].id}/approve/")
    org_api.post(f"/api/v1/assignments/{leases[1].id}/reject/", {"reason": "Spam"}, format="json")
    [reviewer] = org_api.get("/api/v1/reviews/stats/").json()["reviewers"]
    assert (reviewer["decided"], reviewer["rejected"], reviewer["rejection_rate"]) == (2, 1, 0.5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent approval needs PostgreSQL row locks")
def test_concurrent_auto_approval_and_manual_approval_pay_once():
    campaign = factories.campaign(launch=True, items=4, redundancy=1, approval_hours=1)
    leases = [submitted(campaign)[1] for _ in range(4)]
    errors: list[BaseException] = []
    later = leases[-1].submitted_at + dt.timedelta(hours=2)

    def sweep() -> None:
        try:
            with time_machine.travel(later, tick=False):
                assignments_auto_approve()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(Assignment.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"approved"}
    assert LedgerEntry.objects.filter(worker__isnull=False, status="available").count() == 4


def test_gold_rejection_is_off_by_default_and_needs_several_failures_when_on():
    def gold_campaign(**fields):
        campaign = factories.campaign(items=20, redundancy=1, gold_ratio=1.0, **fields)
        items_import(
            campaign_id=campaign.id,
            rows=[{"external_id": f"g{i}", "data": {"text": "g"}, "language": "en", "gold": "pos"} for i in range(10)],
        )
        return campaign_launch(campaign_id=campaign.id)

    def fail_gold(campaign, worker):
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        items = lease.entries.values_list("item_id", "is_gold")
        answer_submit(
            worker=worker,
            assignment_id=lease.id,
            raw_answers=[{"item": i, "label": "neg" if gold else "pos"} for i, gold in items],
        )
        lease.refresh_from_db()
        return lease

    default = gold_campaign()
    worker, _ = factories.worker()
    assert [fail_gold(default, worker).status for _ in range(4)] == ["submitted"] * 4  # off: never rejected

    strict = gold_campaign(auto_reject_on_gold=True, auto_reject_min_gold_failed=3)
    worker, _ = factories.worker()
    statuses = [fail_gold(strict, worker).status for _ in range(4)]
    assert statuses == ["submitted", "submitted", "rejected", "rejected"]  # only from the third failure
    rejected = Assignment.objects.filter(worker=worker, status="rejected").first()
    assert "3 of 3 check questions" in rejected.reject_reason
    assert balances(worker)["pending"] == 2 * 10  # the two rejected rewards were reversed
