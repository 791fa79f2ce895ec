"""Payout batches: available balances above a threshold become paid, once, with CSVs per payout method."""

import csv
import io

import pytest

from crowd.models import Membership
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry, PayoutBatch
from payments.selectors import earnings_for_worker
from tests import factories
from workers.models import WorkerProfile

pytestmark = pytest.mark.django_db


def approved_work(campaign, worker, times: int) -> None:
    for _ in range(times):
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        items = lease.entries.values_list("item_id", flat=True)
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
        assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])


def test_payout_pays_balances_above_the_threshold_once(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    rich, _ = factories.worker()
    poor, _ = factories.worker()
    WorkerProfile.objects.filter(user=rich).update(payout_method="mobile_money", payout_details={"account": "+254700"})
    approved_work(campaign, rich, 3)  # 0.30 available
    approved_work(campaign, poor, 1)  # 0.10 available
    body = {"currency": "USD", "threshold": "0.20", "reference": "2026-11"}
    response = org_api.post("/api/v1/payouts/", body, format="json")
    assert response.status_code == 201
    assert (response.json()["workers"], response.json()["total"]) == (1, "0.30")
    assert earnings_for_worker(worker_id=rich.id)["USD"] == {"pending": 0, "available": 0, "paid": 30}
    assert earnings_for_worker(worker_id=poor.id)["USD"]["available"] == 10  # below the threshold: kept
    again = org_api.post("/api/v1/payouts/", body, format="json")
    assert again.json()["id"] == response.json()["id"] and PayoutBatch.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="payout").count() == 2
    export = org_api.get(f"/api/v1/payouts/{response.json()['id']}/export/?method=mobile_money")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(r["username"], r["payout_details"], r["amount"]) for r in rows] == [
        (rich.username, "account=+254700", "0.30")
    ]
    bank = org_api.get(f"/api/v1/payouts/{response.json()['id']}/export/?method=bank")
    assert len(list(csv.DictReader(io.StringIO(b"".join(bank.streaming_content).decode())))) == 0


def test_payout_bad_input_and_roles(org_api, org_key):
    response = org_api.post("/api/v1/payouts/", {"currency": "ZZZ", "threshold": "1", "reference": "r"}, format="json")
    assert response.status_code == 400
    response = org_api.post(
        "/api/v1/payouts/", {"currency": "USD", "threshold": "0.001", "reference": "r"}, format="json"
    )
    assert response.status_code == 400
    assert not PayoutBatch.objects.exists()
    coordinator = factories.membership_client(organization=org_key[0], role=Membership.Role.COORDINATOR)
    response = coordinator.post(
        "/api/v1/payouts/", {"currency": "USD", "threshold": "1", "reference": "r"}, format="json"
    )
    assert response.status_code == 403
    assert org_api.get("/api/v1/payouts/999/export/").status_code == 404


def test_profile_sets_the_payout_method(client):
    worker, _ = factories.worker()
    client.force_login(worker)
    response = client.post(
        "/work/profile/",
        {"language_1": "en", "language_level_1": "5", "payout_method": "bank", "payout_account": "KE12 34",
         "payout_currency": "kes"},
    )  # fmt: skip
    assert response.status_code == 302
    profile = WorkerProfile.objects.get(user=worker)
    assert (profile.payout_method, profile.payout_details, profile.payout_currency) == (
        "bank",
        {"account": "KE12 34"},
        "KES",
    )
