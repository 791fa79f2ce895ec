"""Launch refuses a campaign whose reward, over its estimated time, pays below the floor of its worker pool."""

import datetime as dt
from decimal import Decimal

import pytest

from crowd.exceptions import ValidationFailed
from crowd.models import Campaign, MicroTask
from crowd.services.campaigns import campaign_launch
from payments.models import ExchangeRate, PayFloor
from tests import factories

pytestmark = pytest.mark.django_db


def test_launch_below_the_global_floor_says_the_rate_and_the_floor():
    campaign = factories.campaign(items=2, reward="0.10", estimated_seconds=60)  # 6.00 USD/hour
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=campaign.id)
    message = error.value.fields["reward"]
    assert "6.00 USD/hour" in message and "8.00 USD/hour" in message and "0.14 USD" in message
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not MicroTask.objects.filter(campaign=campaign).exists()


def test_launch_at_the_floor_is_allowed():
    campaign = factories.campaign(items=2, reward="0.10", estimated_seconds=45)  # exactly 8.00 USD/hour
    assert campaign_launch(campaign_id=campaign.id).status == Campaign.Status.ACTIVE


def test_launch_uses_the_highest_floor_of_the_worker_pool():
    PayFloor.objects.create(
        country="GB", hourly_minor=1200, currency="USD", source="UK living wage", effective_from=dt.date(2025, 1, 1)
    )
    campaign = factories.campaign(items=2, reward="0.10", estimated_seconds=40)  # 9.00 USD/hour
    assert campaign_launch(campaign_id=campaign.id).status == Campaign.Status.ACTIVE  # no GB worker yet
    other = factories.campaign(items=2, reward="0.10", estimated_seconds=40)
    worker, _ = factories.worker()
    worker.worker_profile.country = "GB"
    worker.worker_profile.save()
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=other.id)
    assert "in GB" in error.value.fields["reward"] and "12.00 USD/hour" in error.value.fields["reward"]


def test_launch_in_another_currency_needs_an_exchange_rate():
    campaign = factories.campaign(items=2, reward="20", currency="KES", estimated_seconds=60)
    with pytest.raises(ValidationFailed) as error:
        campaign_launch(campaign_id=campaign.id)
    assert "No exchange rate from USD to KES" in error.value.fields["reward"]
    ExchangeRate.objects.create(base="USD", quote="KES", rate=Decimal("129"), as_of=dt.date(2026, 1, 1))
    assert campaign_launch(campaign_id=campaign.id).status == Campaign.Status.ACTIVE  # 1,200 KES/h >= 1,032


def test_launch_api_reports_the_floor_in_the_error_shape(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=1, reward="0.05", estimated_seconds=60)
    response = org_api.post(f"/api/v1/campaigns/{campaign.id}/launch/")
    assert response.status_code == 400
    assert "below the global floor" in response.json()["error"]["fields"]["reward"]


@pytest.mark.parametrize("pause", [False, True])
def test_lowering_the_reward_of_a_launched_campaign_below_the_floor_is_refused(org_api, org_key, pause):
    campaign = factories.campaign(organization=org_key[0], items=2, reward="0.20", estimated_seconds=45, launch=True)
    if pause:
        assert org_api.post(f"/api/v1/campaigns/{campaign.id}/pause/").status_code == 200
    response = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"reward": "0.05"}, format="json")
    assert response.status_code == 400
    assert "below the global floor" in response.json()["error"]["fields"]["reward"]
    campaign.refresh_from_db()
    assert campaign.reward_minor == 20  # nothing changed
    # Lowering to a reward that still pays the floor is fine.
    assert org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"reward": "0.10"}, format="json").status_code == 200
    campaign.refresh_from_db()
    assert campaign.reward_minor == 10
