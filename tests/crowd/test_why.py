"""Why a worker cannot get work: each campaign they can see but not work on, with the rule that stops them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crowd.models import FairPayCheck
from crowd.selectors import campaigns_unavailable_for_worker
from crowd.services.blocks import worker_block
from crowd.services.campaigns import campaign_pause
from tests import factories

pytestmark = pytest.mark.django_db


def _codes(user) -> dict[str, str]:
    return {barrier.campaign.name: barrier.code for barrier in campaigns_unavailable_for_worker(worker=user)}


def test_campaigns_unavailable_for_worker_names_the_rule_of_each_campaign():
    organization = factories.OrganizationFactory()
    user, _ = factories.worker(languages=(("sw", 5),), skills=(("medical", 2),))
    fits = factories.campaign(organization=organization, name="Fits", languages=["sw"], items=1, launch=True)
    factories.campaign(organization=organization, name="Arabic", languages=["ar"], items=1, launch=True)
    factories.campaign(
        organization=organization,
        name="Doctors",
        languages=["sw"],
        required_skills={"medical": 4},
        items=1,
        launch=True,
    )
    blocked = factories.campaign(organization=organization, name="Blocked", languages=["sw"], items=1, launch=True)
    factories.campaign(
        organization=organization, name="Sensitive", languages=["sw"], sensitive=True, items=1, launch=True
    )
    paused = factories.campaign(organization=organization, name="Paused", languages=["sw"], items=1, launch=True)
    factories.campaign(
        organization=organization, name="Private", languages=["sw"], visibility="private", items=1, launch=True
    )
    factories.campaign(organization=organization, name="Draft", languages=["sw"])
    worker_block(
        organization_id=organization.id,
        worker_id=user.id,
        campaign_id=blocked.id,
        reason="Too fast",
        created_by_id=None,
    )
    campaign_pause(campaign_id=paused.id)

    assert _codes(user) == {
        "Arabic": "no_language_match",
        "Doctors": "missing_skills",
        "Blocked": "blocked",
        "Sensitive": "sensitive_opt_in_required",
        "Paused": "campaign_paused",
    }
    barriers = {b.campaign.name: b for b in campaigns_unavailable_for_worker(worker=user)}
    assert barriers["Blocked"].block_reason == "Too fast"
    assert barriers["Doctors"].missing_skills == {"medical": 4}
    assert fits.name not in _codes(user)


def test_work_why_page_explains_in_the_workers_language(client):
    organization = factories.OrganizationFactory()
    user, _ = factories.worker(languages=(("sw", 5),))
    factories.campaign(organization=organization, name="Arabic texts", languages=["ar"], items=1, launch=True)
    blocked = factories.campaign(organization=organization, name="Blocked one", languages=["sw"], items=1, launch=True)
    worker_block(
        organization_id=organization.id,
        worker_id=user.id,
        campaign_id=blocked.id,
        reason="Answers copied",
        created_by_id=None,
    )
    client.force_login(user)
    page = client.get("/work/why/", HTTP_ACCEPT_LANGUAGE="sw").content.decode()
    assert "Arabic texts" in page and blocked.name in page
    assert "Answers copied" in page
    assert "Kiarabu" in page  # the language's name in the reader's language


def _check(campaign, *, at, paused_for_funds: bool) -> None:
    FairPayCheck.objects.create(
        campaign=campaign,
        checked_at=at,
        submissions=20,
        median_seconds=60,
        median_hourly_minor=300,
        floor_hourly_minor=400,
        currency="USD",
        below_floor=True,
        paused_for_funds=paused_for_funds,
    )


def test_a_campaign_paused_for_lack_of_funds_says_so_and_a_later_manual_pause_does_not(client):
    user, _ = factories.worker()
    campaign = factories.campaign(name="Short of funds", items=1, launch=True)
    noon = timezone.now()
    _check(campaign, at=noon - timedelta(hours=2), paused_for_funds=False)
    _check(campaign, at=noon - timedelta(hours=1), paused_for_funds=True)  # the check paused it
    campaign_pause(campaign_id=campaign.id)
    assert _codes(user) == {"Short of funds": "campaign_paused_funds"}
    client.force_login(user)
    page = client.get("/work/why/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "paused until the organization adds funds" in page
    assert "Work you already did is still paid." in page

    _check(campaign, at=noon, paused_for_funds=False)  # resumed after a deposit (a new check), paused by hand later
    assert _codes(user) == {"Short of funds": "campaign_paused"}
