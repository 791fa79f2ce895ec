"""Payout batches: a worker's available balance with an organization is paid once, held while the organization
executes the CSV, paid when an owner confirms, returned when the batch is cancelled."""

import csv
import io

import pytest
import yaml
from django.db.models import Sum

from config.errors import InvalidState
from crowd.models import Membership
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry, PayoutBatch
from payments.payouts import payout_batch_cancel, payout_batch_confirm, payout_batch_create
from payments.selectors import balances_owed_by, earnings_for_worker
from tests import factories
from tests.factories import assert_error
from workers.models import WorkerProfile
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db

PAYOUTS = "/api/v1/payouts/"


def approved_work(campaign, worker, times: int) -> None:
    for _ in range(times):
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        items = lease.entries.values_list("item_id", flat=True)
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
        assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])


def csv_rows(api, batch_id: int, method: str = "") -> list[dict[str, str]]:
    response = api.get(f"{PAYOUTS}{batch_id}/export/" + (f"?method={method}" if method else ""))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def usd(worker) -> dict[str, int]:
    return earnings_for_worker(worker_id=worker.id)["USD"]


def batch(organization, reference: str, threshold: str = "0.01") -> PayoutBatch:
    return payout_batch_create(
        organization_id=organization.id, created_by_id=None, currency="USD", threshold=threshold, reference=reference
    )[0]


def test_payout_holds_balances_above_the_threshold_until_an_owner_confirms(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    rich, _ = factories.worker()
    poor, _ = factories.worker()
    WorkerProfile.objects.filter(user=rich).update(payout_method="mobile_money", payout_details={"account": "+254700"})
    approved_work(campaign, rich, 3)  # 0.30 available
    approved_work(campaign, poor, 1)  # 0.10 available
    body = {"currency": "USD", "threshold": "0.20", "reference": "2026-11"}

    response = org_api.post(PAYOUTS, body, format="json")

    assert response.status_code == 201
    created = response.json()
    assert (created["status"], created["workers"], created["total"]) == ("exported", 1, "0.30")
    assert usd(rich) == {"pending": 0, "available": 0, "payout_pending": 30, "paid": 0}
    assert usd(poor)["available"] == 10  # below the threshold: kept
    again = org_api.post(PAYOUTS, body, format="json")
    assert (again.status_code, again.json()["id"]) == (200, created["id"])
    assert PayoutBatch.objects.count() == 1 and LedgerEntry.objects.filter(kind="payout").count() == 2
    rows = csv_rows(org_api, created["id"], "mobile_money")
    # The organization's pseudonym for the worker and the account they gave, never their username.
    assert [(r["worker"], r["payout_details"], r["amount"]) for r in rows] == [
        (pseudonym(org_key[0].id, rich.id), "account=+254700", "0.30")
    ]
    assert "username" not in rows[0]
    assert csv_rows(org_api, created["id"], "bank") == []

    confirmed = org_api.post(f"{PAYOUTS}{created['id']}/confirm/")

    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "paid")
    assert usd(rich) == {"pending": 0, "available": 0, "payout_pending": 0, "paid": 30}
    assert org_api.post(f"{PAYOUTS}{created['id']}/confirm/").json()["status"] == "paid"  # idempotent
    assert LedgerEntry.objects.filter(kind="payout").count() == 4
    assert [r["amount"] for r in csv_rows(org_api, created["id"])] == ["0.30"]  # still one row per worker
    assert_error(org_api.post(f"{PAYOUTS}{created['id']}/cancel/"), 409, "invalid_state")


def test_payout_batches_with_new_references_never_pay_the_same_balance_again(org_api, org_key):
    # The review's case: a worker owed 0.20 was paid 0.60 by three batches and shown -0.40 available.
    campaign = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    worker, _ = factories.worker()
    approved_work(campaign, worker, 2)
    bodies = [{"currency": "USD", "threshold": "0.01", "reference": f"run-{n}"} for n in range(3)]

    batches = [org_api.post(PAYOUTS, body, format="json").json() for body in bodies]

    assert [(b["workers"], b["total"]) for b in batches] == [(1, "0.20"), (0, "0.00"), (0, "0.00")]
    assert [len(csv_rows(org_api, b["id"])) for b in batches] == [1, 0, 0]
    for b in batches:
        org_api.post(f"{PAYOUTS}{b['id']}/confirm/")
    assert usd(worker) == {"pending": 0, "available": 0, "payout_pending": 0, "paid": 20}
    approved_work(campaign, worker, 1)  # new earnings after the payout: only they are paid next
    assert org_api.post(PAYOUTS, {**bodies[0], "reference": "run-3"}, format="json").json()["total"] == "0.10"


def test_payout_pays_only_what_the_organization_owes(org_key):
    ours = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    theirs = factories.campaign(launch=True, items=5, redundancy=1)
    worker, _ = factories.worker()
    approved_work(ours, worker, 1)
    approved_work(theirs, worker, 3)

    first = batch(org_key[0], "ours")
    payout_batch_confirm(batch_id=first.id, organization_ids=[org_key[0].id], decided_by_id=None)
    second = batch(org_key[0], "ours-again")
    other = batch(theirs.organization, "theirs")

    assert (first.total_minor, second.total_minor, other.total_minor) == (10, 0, 30)
    assert balances_owed_by(organization_id=org_key[0].id, currency="USD", status="available") == {worker.id: 0}
    assert usd(worker) == {"pending": 0, "available": 0, "payout_pending": 30, "paid": 10}


def test_payout_cancelled_returns_the_balance_to_be_paid_once_later(org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    worker, _ = factories.worker()
    approved_work(campaign, worker, 2)
    first = batch(org_key[0], "failed-transfer")

    cancelled = payout_batch_cancel(batch_id=first.id, organization_ids=[org_key[0].id], decided_by_id=None)

    assert cancelled.status == PayoutBatch.Status.CANCELLED
    assert usd(worker) == {"pending": 0, "available": 20, "payout_pending": 0, "paid": 0}
    retry = batch(org_key[0], "retry")
    assert retry.total_minor == 20 and batch(org_key[0], "retry-2").total_minor == 0
    with pytest.raises(InvalidState):
        payout_batch_confirm(batch_id=first.id, organization_ids=[org_key[0].id], decided_by_id=None)
    assert usd(worker)["payout_pending"] == 20


def test_payout_every_ledger_pair_balances(org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=5, redundancy=1)
    worker, _ = factories.worker()
    approved_work(campaign, worker, 3)
    paid = batch(org_key[0], "a")
    payout_batch_confirm(batch_id=paid.id, organization_ids=[org_key[0].id], decided_by_id=None)
    approved_work(campaign, worker, 1)
    payout_batch_cancel(batch_id=batch(org_key[0], "b").id, organization_ids=[org_key[0].id], decided_by_id=None)

    payouts = LedgerEntry.objects.filter(kind="payout")
    assert payouts.aggregate(total=Sum("amount_minor"))["total"] == 0
    for key in payouts.filter(idempotency_key__endswith=":out").values_list("idempotency_key", flat=True):
        twin = payouts.get(idempotency_key=key.removesuffix(":out") + ":in")
        assert twin.amount_minor == -payouts.get(idempotency_key=key).amount_minor


def test_payout_same_reference_with_other_terms_conflicts(org_api):
    body = {"currency": "USD", "threshold": "1.00", "reference": "r-1"}
    assert org_api.post(PAYOUTS, body, format="json").status_code == 201

    assert_error(org_api.post(PAYOUTS, {**body, "threshold": "2.00"}, format="json"), 409, "duplicate")
    assert_error(org_api.post(PAYOUTS, {**body, "currency": "EUR"}, format="json"), 409, "duplicate")
    assert PayoutBatch.objects.count() == 1


def test_payout_bad_input_and_roles(org_api, org_key, other_org_api):
    response = org_api.post(PAYOUTS, {"currency": "ZZZ", "threshold": "1", "reference": "r"}, format="json")
    assert response.status_code == 400
    for threshold in ("0.001", "1e1000000", "-1", "NaN"):
        body = {"currency": "USD", "threshold": threshold, "reference": "r"}
        assert_error(org_api.post(PAYOUTS, body, format="json"), 400, "validation_error")
    assert not PayoutBatch.objects.exists()
    coordinator = factories.membership_client(organization=org_key[0], role=Membership.Role.COORDINATOR)
    response = coordinator.post(PAYOUTS, {"currency": "USD", "threshold": "1", "reference": "r"}, format="json")
    assert response.status_code == 403
    assert org_api.get(f"{PAYOUTS}999/export/").status_code == 404
    made = org_api.post(PAYOUTS, {"currency": "USD", "threshold": "1", "reference": "r"}, format="json").json()
    assert_error(coordinator.post(f"{PAYOUTS}{made['id']}/confirm/"), 403, "permission_denied")
    assert_error(other_org_api.post(f"{PAYOUTS}{made['id']}/confirm/"), 404, "not_found")
    assert_error(org_api.post(f"{PAYOUTS}999/cancel/"), 404, "not_found")
    assert PayoutBatch.objects.get().status == "exported"


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


def test_money_endpoints_are_documented_with_the_bodies_they_answer(api, org_api, org_key):
    schema = yaml.safe_load(api.get("/api/v1/schema/").content)
    for path in ("/payouts/{batch_id}/confirm/", "/payouts/{batch_id}/cancel/", "/campaigns/{campaign_id}/resume/"):
        assert "post" in schema["paths"][f"/api/v1{path}"], path
    components = schema["components"]["schemas"]
    made = org_api.post(PAYOUTS, {"currency": "USD", "threshold": "1", "reference": "doc"}, format="json").json()
    assert set(made) == set(components["PayoutBatch"]["properties"])
    deposit = {"amount": "1.00", "currency": "USD", "reference": "doc"}
    assert set(org_api.post("/api/v1/funds/deposits/", deposit, format="json").json()) == set(
        components["DepositResult"]["properties"]
    )
