"""The fair-pay check: measured time against the floor, idempotent top-ups, a raised reward, the report."""

import pytest
from django.db.models import Sum

from crowd.models import Assignment, Campaign, FairPayCheck
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories

pytestmark = pytest.mark.django_db


def work(campaign, n: int, seconds: float, approve: bool = True) -> list[Assignment]:
    """n workers each submit one microtask that (as the heartbeats measured) took `seconds` of active time."""
    done = []
    for _ in range(n):
        worker, _ = factories.worker()
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        items = lease.entries.values_list("item_id", flat=True)
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
        Assignment.objects.filter(pk=lease.id).update(active_seconds=seconds)
        if approve:
            assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])
        done.append(lease)
    return done


def test_fair_pay_check_waits_for_enough_submissions():
    campaign = factories.campaign(launch=True, items=30, redundancy=1)
    work(campaign, 5, seconds=300)
    assert campaign_fair_pay_check(campaign_id=campaign.id) is None
    assert not FairPayCheck.objects.exists()


def test_fair_pay_check_tops_up_to_the_floor_once_and_raises_the_reward():
    # 0.10 USD per microtask; the work really takes 90 s: 4.00 USD/hour, half the 8.00 floor.
    campaign = factories.campaign(launch=True, items=30, redundancy=1)
    leases = work(campaign, 20, seconds=90)
    check = campaign_fair_pay_check(campaign_id=campaign.id)
    assert check.below_floor and check.median_hourly_minor == pytest.approx(400)
    assert (check.topups, check.topup_total_minor, check.new_reward_minor) == (20, 200, 20)
    topups = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FAIR_PAY_TOPUP)
    assert set(topups.values_list("amount_minor", flat=True)) == {10}  # 0.10 + 0.10 = 0.20 = 8.00/h for 90 s
    assert set(topups.values_list("assignment_id", flat=True)) == {lease.id for lease in leases}
    assert Campaign.objects.get(pk=campaign.id).reward_minor == 20  # new work pays the floor

    again = campaign_fair_pay_check(campaign_id=campaign.id)  # twice pays once
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FAIR_PAY_TOPUP).count() == 20
    assert again.topups == 0 and again.new_reward_minor is None


def test_fair_pay_check_leaves_fairly_paid_campaigns_alone():
    campaign = factories.campaign(launch=True, items=30, redundancy=1)
    work(campaign, 20, seconds=20)  # 0.10 per 20 s = 18.00/hour
    check = campaign_fair_pay_check(campaign_id=campaign.id)
    assert not check.below_floor and check.topups == 0
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FAIR_PAY_TOPUP).exists()
    assert Campaign.objects.get(pk=campaign.id).reward_minor == 10


def test_fair_pay_top_up_reaches_work_approved_later():
    campaign = factories.campaign(launch=True, items=30, redundancy=1)
    work(campaign, 20, seconds=90)
    late = work(campaign, 1, seconds=90, approve=False)[0]
    campaign_fair_pay_check(campaign_id=campaign.id)
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FAIR_PAY_TOPUP, assignment=late).exists()
    assignment_approve(assignment_id=late.id, decided_by_id=None, organization_ids=[campaign.organization_id])
    campaign_fair_pay_check(campaign_id=campaign.id)
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.FAIR_PAY_TOPUP, assignment=late).amount_minor == 10


def test_fairness_report_api(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=30, redundancy=1)
    work(campaign, 20, seconds=90)
    campaign_fair_pay_check(campaign_id=campaign.id)
    report = org_api.get(f"/api/v1/campaigns/{campaign.id}/fairness/").json()
    assert report["currency"] == "USD" and report["floor_hourly"] == 800
    assert report["submissions"] == 20 and report["median_hourly"] == 800  # after the top-ups
    assert report["share_below_floor"] == 0.0
    assert report["by_country"]["KE"]["submissions"] == 20
    paid = LedgerEntry.objects.filter(campaign=campaign, worker__isnull=False).aggregate(t=Sum("amount_minor"))["t"]
    assert report["cost_to_date"] == paid == 20 * 20
    assert report["remaining_slots"] == 10
    assert report["forecast_to_completion"] == 400 + 10 * 20
    assert report["latest_check"]["topups"] == 20
    other = factories.campaign(launch=True, items=1)
    assert org_api.get(f"/api/v1/campaigns/{other.id}/fairness/").status_code == 404
