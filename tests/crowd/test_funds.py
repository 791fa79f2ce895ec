"""Organization funds: every change that can make a campaign cost more (launch, import into a live campaign,
reopening, a higher redundancy, max_redundancy or reward) reserves it or is refused with nothing changed;
held leases stay reserved whatever the campaign's status; a fair-pay raise the funds cannot cover pauses the
campaign instead; pause and resume."""

import pytest

from crowd.exceptions import InvalidState, ValidationFailed
from crowd.models import Appeal, Campaign, FairPayCheck, Item, MicroTask
from crowd.selectors import funds_summary
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, appeal_decide, assignment_approve, assignment_reject
from crowd.services.campaigns import campaign_create, campaign_launch, campaign_pause, campaign_resume, campaign_update
from crowd.services.fairpay import campaign_fair_pay_check, campaigns_fair_pay_check, campaigns_to_check
from crowd.services.funds import InsufficientFunds
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.services import funds_deposit
from tests import factories
from tests.crowd.test_fair_pay import work
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


def unfunded_campaign(items: int = 4, organization=None, **fields):
    organization = organization or factories.OrganizationFactory()
    defaults = {"name": "Unfunded", "labels": ["pos", "neg"], "redundancy": 2, "max_redundancy": 3}
    campaign = campaign_create(
        organization_id=organization.id,
        created_by_id=None,
        fields={**defaults, "reward": "0.10", "currency": "USD", "estimated_seconds": 30, **fields},
    )
    if items:
        items_import(campaign_id=campaign.id, rows=rows(items))
    return campaign


def rows(count: int, prefix: str = "t") -> list[dict]:
    return [{"external_id": f"{prefix}{i}", "data": {"text": "x"}, "language": "en"} for i in range(count)]


def deposit(organization_id: int, amount: str, reference: str) -> None:
    funds_deposit(
        organization_id=organization_id, amount=amount, currency="USD", reference=reference, created_by_id=None
    )


def usd(campaign) -> dict[str, int]:
    return funds_summary(organization_id=campaign.organization_id)["USD"]


def test_launch_without_enough_funds_is_refused_and_nothing_is_split():
    campaign = unfunded_campaign()  # 4 microtasks x 2 answers + 4 items x 1 possible extra = 12 x 0.10
    deposit(campaign.organization_id, "1.19", "a")
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=campaign.id)
    assert error.value.code == "insufficient_funds" and "needs up to 1.20 USD" in error.value.message
    assert "1.19 USD available" in error.value.message
    assert not MicroTask.objects.filter(campaign=campaign).exists()
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    deposit(campaign.organization_id, "0.01", "b")
    assert campaign_launch(campaign_id=campaign.id).status == "active"
    funds = usd(campaign)
    assert (funds["deposited"], funds["reserved"], funds["available"]) == (120, 120, 0)


def test_reserve_follows_the_work_and_returns_when_the_campaign_completes():
    campaign = factories.campaign(launch=True, items=2, redundancy=1, max_redundancy=1)
    before = usd(campaign)
    assert before["reserved"] == 20
    work(campaign, 2, seconds=20)
    after = usd(campaign)
    assert (after["spent"], after["reserved"]) == (20, 0)
    assert after["available"] == before["available"]  # what was reserved was spent, nothing more


def test_a_deposit_in_another_currency_does_not_fund_a_campaign():
    campaign = unfunded_campaign()
    funds_deposit(
        organization_id=campaign.organization_id, amount="1000", currency="EUR", reference="e", created_by_id=None
    )
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=campaign.id)
    assert error.value.code == "insufficient_funds" and "0.00 USD available" in error.value.message


def test_raising_the_reward_of_a_live_campaign_needs_funds():
    campaign = unfunded_campaign(items=2, redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "0.30", "a")
    campaign_launch(campaign_id=campaign.id)  # 2 slots x 0.10 reserved, 0.10 left
    with pytest.raises(ValidationFailed) as error:
        campaign_update(campaign_id=campaign.id, fields={"reward": "0.20"})  # would need 0.40
    assert error.value.code == "insufficient_funds"
    assert Campaign.objects.get(pk=campaign.pk).reward_minor == 10
    assert campaign_update(campaign_id=campaign.id, fields={"reward": "0.15"}).reward_minor == 15
    assert usd(campaign)["available"] == 0


@pytest.mark.parametrize("fields", [{"redundancy": 2, "max_redundancy": 2}, {"max_redundancy": 2}])
def test_raising_redundancy_or_its_maximum_needs_funds(fields):
    campaign = unfunded_campaign(items=2, redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "0.20", "a")
    campaign_launch(campaign_id=campaign.id)
    with pytest.raises(InsufficientFunds):
        campaign_update(campaign_id=campaign.id, fields=fields)
    unchanged = Campaign.objects.get(pk=campaign.pk)
    assert (unchanged.redundancy, unchanged.max_redundancy) == (1, 1)
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {1}
    deposit(campaign.organization_id, "0.20", "b")
    campaign_update(campaign_id=campaign.id, fields=fields)
    assert usd(campaign)["available"] == 0


def test_import_into_a_live_campaign_reserves_or_is_refused_with_nothing_imported():
    campaign = unfunded_campaign(items=2, redundancy=1, max_redundancy=2)
    deposit(campaign.organization_id, "0.40", "a")
    campaign_launch(campaign_id=campaign.id)  # 2 items x 2 possible answers x 0.10 = 0.40
    with pytest.raises(InsufficientFunds) as error:
        items_import(campaign_id=campaign.id, rows=rows(1, "new"))
    assert "Importing 1 item needs up to 0.20 USD" in error.value.message  # the count chooses the form (ngettext)
    assert Item.objects.filter(campaign=campaign).count() == 2
    assert MicroTask.objects.filter(campaign=campaign).count() == 2
    deposit(campaign.organization_id, "0.20", "b")
    assert items_import(campaign_id=campaign.id, rows=rows(1, "new")).created == 1
    funds = usd(campaign)
    assert (funds["reserved"], funds["available"]) == (60, 0)
    assert MicroTask.objects.filter(campaign=campaign).count() == 3


def test_import_into_a_paused_campaign_reserves_too(org_api, org_key):
    campaign = unfunded_campaign(items=1, organization=org_key[0], redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "0.10", "a")
    campaign_launch(campaign_id=campaign.id)
    campaign_pause(campaign_id=campaign.id)
    response = org_api.post(f"/api/v1/campaigns/{campaign.id}/items/", rows(3, "more"), format="json")
    assert_error(response, 400, "insufficient_funds")
    assert Item.objects.filter(campaign=campaign).count() == 1
    assert usd(campaign)["available"] == 0


def test_reopening_a_completed_campaign_needs_funds():
    campaign = unfunded_campaign(items=2, redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "0.20", "a")
    campaign_launch(campaign_id=campaign.id)
    work(campaign, 2, seconds=20)
    campaign_aggregate(campaign_id=campaign.id)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
    assert usd(campaign)["available"] == 0  # deposited 0.20, spent 0.20, nothing reserved
    with pytest.raises(InsufficientFunds):
        campaign_update(campaign_id=campaign.id, fields={"redundancy": 2, "max_redundancy": 2})
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
    assert set(Item.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"complete"}
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {1}
    deposit(campaign.organization_id, "0.20", "b")
    reopened = campaign_update(campaign_id=campaign.id, fields={"redundancy": 2, "max_redundancy": 2})
    assert reopened.status == Campaign.Status.ACTIVE
    assert usd(campaign) == {"deposited": 40, "spent": 20, "reserved": 20, "balance": 20, "available": 0}


def test_a_held_lease_stays_reserved_at_its_reward_after_a_lower_reward_and_completion():
    campaign = factories.campaign(launch=True, items=2, redundancy=1, max_redundancy=1, reward="0.50")
    worker, _ = factories.worker()
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    campaign_update(campaign_id=campaign.id, fields={"reward": "0.40"})
    # The held lease pays 0.50 when submitted; the free slot costs 0.40 at most.
    assert usd(campaign)["reserved"] == 50 + 40
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    assert usd(campaign)["reserved"] == 50  # no new work, but the lease can still be submitted
    available = usd(campaign)["available"]
    item = lease.entries.get().item_id
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": item, "label": "pos"}])
    after = usd(campaign)
    assert (after["reserved"], after["available"]) == (0, available)


def test_overturning_a_rejection_needs_funds():
    campaign = unfunded_campaign(items=1, redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "0.10", "a")
    campaign_launch(campaign_id=campaign.id)
    worker, _ = factories.worker()
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answer_submit(
        worker=worker, assignment_id=lease.id, raw_answers=[{"item": lease.entries.get().item_id, "label": "pos"}]
    )
    org = [campaign.organization_id]
    assignment_reject(assignment_id=lease.id, decided_by_id=None, organization_ids=org, reason="Wrong")
    # The rejection returned the 0.10 to available; a new campaign takes it.
    other = unfunded_campaign(items=1, organization=campaign.organization, redundancy=1, max_redundancy=1)
    campaign_launch(campaign_id=other.id)
    appeal = appeal_create(worker=worker, assignment_id=lease.id, message="It was right")
    with pytest.raises(InsufficientFunds):
        appeal_decide(appeal_id=appeal.id, decided_by_id=None, organization_ids=org, overturn=True)
    assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN
    assert usd(campaign)["available"] == 0
    deposit(campaign.organization_id, "0.10", "b")
    appeal_decide(appeal_id=appeal.id, decided_by_id=None, organization_ids=org, overturn=True)
    assert usd(campaign)["available"] == 0


def test_fair_pay_beyond_the_funds_pays_nothing_more_pauses_and_pays_after_a_deposit():
    campaign = unfunded_campaign(items=30, redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "3.00", "a")
    campaign_launch(campaign_id=campaign.id)  # reserves all 3.00: 30 slots x 0.10
    work(campaign, 20, seconds=90)  # 4.00 USD/hour: each needs a 0.10 top-up, and the reward doubles
    check = campaign_fair_pay_check(campaign_id=campaign.id)
    assert (check.topups, check.topup_total_minor, check.topup_owed_minor) == (0, 0, 200)  # nothing beyond funds
    assert check.paused_for_funds and check.new_reward_minor is None
    campaign.refresh_from_db()
    assert (campaign.status, campaign.reward_minor) == (Campaign.Status.PAUSED, 10)  # no raise it cannot pay
    funds = usd(campaign)
    assert (funds["spent"], funds["available"]) == (200, 0)  # the 20 rewards, within the reserve
    deposit(campaign.organization_id, "5.00", "b")
    later = campaign_fair_pay_check(campaign_id=campaign.id)
    assert (later.topups, later.topup_total_minor, later.topup_owed_minor) == (20, 200, 0)  # owed, now paid
    assert later.new_reward_minor == 20 and usd(campaign)["available"] == 500 - 200 - 10 * 10


def test_resume_pays_what_is_owed_raises_the_reward_and_needs_the_floor_met(org_api, org_key):
    campaign = unfunded_campaign(items=30, organization=org_key[0], redundancy=1, max_redundancy=1)
    deposit(campaign.organization_id, "3.00", "a")
    campaign_launch(campaign_id=campaign.id)
    work(campaign, 20, seconds=90)
    campaign_fair_pay_check(campaign_id=campaign.id)  # paused: 2.00 of top-ups owed, the raise unaffordable
    url = f"/api/v1/campaigns/{campaign.id}/resume/"

    refused = assert_error(org_api.post(url), 400, "not_ready")

    assert set(refused["fields"]) == {"reward", "funds"}
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    deposit(campaign.organization_id, "3.00", "b")  # 2.00 for the top-ups, 1.00 for the raise on 10 slots
    resumed = org_api.post(url)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert resumed.json()["reward"] == "0.20"
    assert FairPayCheck.objects.filter(campaign=campaign).latest("checked_at").topup_owed_minor == 0
    assert usd(campaign)["available"] == 0
    assert org_api.post(url).status_code == 200  # resuming an active campaign changes nothing


def test_resume_refuses_a_reward_below_the_floor_for_the_estimated_time(org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=2)
    campaign_pause(campaign_id=campaign.id)
    Campaign.objects.filter(pk=campaign.pk).update(estimated_seconds=600)  # 0.10 for 10 min: 0.60/hour
    with pytest.raises(ValidationFailed) as error:
        campaign_resume(campaign_id=campaign.id)
    assert error.value.code == "not_ready" and "below the global floor" in error.value.fields["reward"]
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED


def test_pause_and_resume_through_the_api_by_role(org_api, org_key, other_org_api):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=2)
    coordinator = factories.membership_client(organization=org_key[0], role="coordinator")
    viewer = factories.membership_client(organization=org_key[0], role="viewer")
    base = f"/api/v1/campaigns/{campaign.id}"

    assert_error(viewer.post(f"{base}/pause/"), 403, "permission_denied")
    assert_error(other_org_api.post(f"{base}/pause/"), 404, "not_found")
    assert coordinator.post(f"{base}/pause/").json()["status"] == "paused"
    assert org_api.post(f"{base}/pause/").json()["status"] == "paused"
    assert_error(viewer.post(f"{base}/resume/"), 403, "permission_denied")
    assert coordinator.post(f"{base}/resume/").json()["status"] == "active"
    draft = factories.campaign(organization=org_key[0], items=1)
    assert_error(org_api.post(f"/api/v1/campaigns/{draft.id}/resume/"), 409, "invalid_state")
    assert_error(org_api.post(f"/api/v1/campaigns/{draft.id}/pause/"), 409, "invalid_state")
    with pytest.raises(InvalidState):
        campaign_resume(campaign_id=draft.id)
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.DRAFT


def test_fair_pay_beat_checks_paused_and_completed_campaigns_while_they_may_owe():
    active = factories.campaign(launch=True, items=1)
    quiet = factories.campaign(launch=True, items=1)
    Campaign.objects.filter(pk=quiet.pk).update(status=Campaign.Status.COMPLETED)  # nothing approved: skipped
    owing = factories.campaign(launch=True, items=30, redundancy=1, max_redundancy=1)
    work(owing, 20, seconds=90)
    late = work(owing, 1, seconds=90, approve=False)[0]
    campaign_pause(campaign_id=owing.id)
    assert campaigns_to_check() == sorted([active.id, owing.id])
    assert campaign_fair_pay_check(campaign_id=owing.id).topups == 20
    Campaign.objects.filter(pk=owing.pk).update(status=Campaign.Status.COMPLETED)
    assert campaigns_to_check() == [active.id]  # checked, nothing owed, nothing approved since

    assignment_approve(assignment_id=late.id, decided_by_id=None, organization_ids=[owing.organization_id])

    assert campaigns_to_check() == sorted([active.id, owing.id])
    assert campaigns_fair_pay_check() == [owing.id]  # the active one has too few submissions to judge
    assert LedgerEntry.objects.filter(kind="fair_pay_topup", assignment=late).exists()
