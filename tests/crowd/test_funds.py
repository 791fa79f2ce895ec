"""Organization funds: launch needs them, live campaigns reserve what they can still cost, completion returns
it, and a fair-pay raise the funds cannot cover pauses the campaign."""

import pytest

from crowd.exceptions import ValidationFailed
from crowd.models import Campaign, MicroTask
from crowd.selectors import funds_summary
from crowd.services.campaigns import campaign_create, campaign_launch, campaign_update
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.imports import items_import
from payments.services import funds_deposit
from tests import factories
from tests.crowd.test_fair_pay import work

pytestmark = pytest.mark.django_db


def unfunded_campaign(items: int = 4, **fields):
    organization = factories.OrganizationFactory()
    defaults = {"name": "Unfunded", "labels": ["pos", "neg"], "redundancy": 2, "max_redundancy": 3}
    campaign = campaign_create(
        organization_id=organization.id,
        created_by_id=None,
        fields={**defaults, "reward": "0.10", "currency": "USD", "estimated_seconds": 30, **fields},
    )
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"t{i}", "data": {"text": "x"}, "language": "en"} for i in range(items)],
    )
    return campaign


def test_launch_without_enough_funds_is_refused_and_nothing_is_split():
    campaign = unfunded_campaign()  # 4 microtasks x 2 answers + 4 items x 1 possible extra = 12 x 0.10
    funds_deposit(
        organization_id=campaign.organization_id, amount="1.19", currency="USD", reference="a", created_by_id=None
    )
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=campaign.id)
    assert error.value.code == "insufficient_funds" and "needs 1.20 USD" in error.value.message
    assert not MicroTask.objects.filter(campaign=campaign).exists()
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    funds_deposit(
        organization_id=campaign.organization_id, amount="0.01", currency="USD", reference="b", created_by_id=None
    )
    assert campaign_launch(campaign_id=campaign.id).status == "active"
    funds = funds_summary(organization_id=campaign.organization_id)["USD"]
    assert (funds["deposited"], funds["reserved"], funds["available"]) == (120, 120, 0)


def test_reserve_follows_the_work_and_returns_when_the_campaign_completes():
    campaign = factories.campaign(launch=True, items=2, redundancy=1, max_redundancy=1)
    before = funds_summary(organization_id=campaign.organization_id)["USD"]
    assert before["reserved"] == 20
    work(campaign, 2, seconds=20)
    after = funds_summary(organization_id=campaign.organization_id)["USD"]
    assert (after["spent"], after["reserved"]) == (20, 0)
    assert after["available"] == before["available"]  # what was reserved was spent, nothing more


def test_fair_pay_beyond_the_funds_pays_nothing_more_pauses_and_pays_after_a_deposit():
    campaign = unfunded_campaign(items=30, redundancy=1, max_redundancy=1)
    funds_deposit(
        organization_id=campaign.organization_id, amount="3.00", currency="USD", reference="a", created_by_id=None
    )
    campaign_launch(campaign_id=campaign.id)  # reserves all 3.00: 30 slots x 0.10
    work(campaign, 20, seconds=90)  # 4.00 USD/hour: each needs a 0.10 top-up, and the reward doubles
    check = campaign_fair_pay_check(campaign_id=campaign.id)
    assert (check.topups, check.topup_total_minor, check.topup_owed_minor) == (0, 0, 200)  # nothing beyond funds
    assert check.paused_for_funds and Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    spent = funds_summary(organization_id=campaign.organization_id)["USD"]["spent"]
    assert spent == 200  # the 20 rewards, within the reserve
    funds_deposit(
        organization_id=campaign.organization_id, amount="5.00", currency="USD", reference="b", created_by_id=None
    )
    later = campaign_fair_pay_check(campaign_id=campaign.id)
    assert (later.topups, later.topup_total_minor, later.topup_owed_minor) == (20, 200, 0)  # owed, now paid


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
    funds_deposit(
        organization_id=campaign.organization_id, amount="0.30", currency="USD", reference="a", created_by_id=None
    )
    campaign_launch(campaign_id=campaign.id)  # 2 slots x 0.10 reserved, 0.10 left
    with pytest.raises(ValidationFailed) as error:
        campaign_update(campaign_id=campaign.id, fields={"reward": "0.20"})  # would need 0.40
    assert error.value.code == "insufficient_funds"
    assert Campaign.objects.get(pk=campaign.pk).reward_minor == 10
    assert campaign_update(campaign_id=campaign.id, fields={"reward": "0.15"}).reward_minor == 15
