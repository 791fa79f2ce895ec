"""Every lifecycle move: launch, pause, resume, close, archive; what each does to leases, funds and results, and
what each refuses."""

import pytest

from crowd.eligibility import NoWork
from crowd.exceptions import InvalidState
from crowd.models import Assignment, Campaign
from crowd.selectors import funds_summary
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.campaigns import campaign_archive, campaign_close, campaign_pause, campaign_resume
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.factories import assert_error
from workers.models import User

pytestmark = pytest.mark.django_db


def _answers(assignment: Assignment) -> list[dict]:
    return [{"item": entry.item_id, "label": "pos"} for entry in assignment.entries.all()]


def test_pause_keeps_held_leases_submittable_and_resume_opens_work_again():
    campaign = factories.campaign(launch=True, items=4)
    worker, _ = factories.worker()
    other, _ = factories.worker()
    held = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment

    campaign_pause(campaign_id=campaign.id)
    assert assignment_claim_next(worker=other, campaign_id=campaign.id).reason == NoWork.CAMPAIGN_NOT_ACTIVE
    answer_submit(worker=worker, assignment_id=held.id, raw_answers=_answers(held))  # the held lease still counts
    assert campaign_pause(campaign_id=campaign.id).status == "paused"  # idempotent

    assert campaign_resume(campaign_id=campaign.id).status == "active"
    assert assignment_claim_next(worker=other, campaign_id=campaign.id).assignment is not None


def test_close_stops_new_work_keeps_held_leases_paid_and_frees_the_reserve():
    campaign = factories.campaign(launch=True, items=4)
    organization_id = campaign.organization_id
    worker, _ = factories.worker()
    other, _ = factories.worker()
    held = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    reserved_before = funds_summary(organization_id=organization_id)["USD"]["reserved"]

    closed = campaign_close(campaign_id=campaign.id)

    assert closed.status == Campaign.Status.COMPLETED
    assert assignment_claim_next(worker=other, campaign_id=campaign.id).assignment is None
    reserved_after = funds_summary(organization_id=organization_id)["USD"]["reserved"]
    assert 0 < reserved_after < reserved_before  # only the held lease is still held for
    answer_submit(worker=worker, assignment_id=held.id, raw_answers=_answers(held))
    assert Assignment.objects.get(pk=held.pk).status == "submitted"
    assert campaign_close(campaign_id=campaign.id).status == "completed"  # idempotent


def test_close_from_paused_and_refused_from_draft():
    paused = factories.campaign(launch=True, items=2)
    campaign_pause(campaign_id=paused.id)
    assert campaign_close(campaign_id=paused.id).status == "completed"
    draft = factories.campaign(items=2)
    with pytest.raises(InvalidState):
        campaign_close(campaign_id=draft.id)
    assert Campaign.objects.get(pk=draft.pk).status == "draft"


def test_archive_waits_until_no_answer_waits_for_approval():
    campaign = factories.campaign(launch=True, items=2)
    worker, _ = factories.worker()
    held = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answer_submit(worker=worker, assignment_id=held.id, raw_answers=_answers(held))
    campaign_close(campaign_id=campaign.id)

    with pytest.raises(InvalidState) as refused:
        campaign_archive(campaign_id=campaign.id)
    assert refused.value.code == "work_pending"
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"  # rolled back

    reviewer = User.objects.create_user(username="reviewer")
    assignment_approve(assignment_id=held.id, decided_by_id=reviewer.id, organization_ids=[campaign.organization_id])
    assert campaign_archive(campaign_id=campaign.id).status == "archived"
    assert campaign_archive(campaign_id=campaign.id).status == "archived"  # idempotent


def test_archive_refuses_a_running_campaign_and_takes_a_draft():
    running = factories.campaign(launch=True, items=2)
    with pytest.raises(InvalidState):
        campaign_archive(campaign_id=running.id)
    draft = factories.campaign()
    assert campaign_archive(campaign_id=draft.id).status == "archived"


def test_close_and_archive_through_the_api_by_role(org_api, org_key, other_org_api):
    organization, _owner, _key = org_key
    campaign = factories.campaign(organization=organization, launch=True, items=2)
    close = f"/api/v1/campaigns/{campaign.id}/close/"
    archive = f"/api/v1/campaigns/{campaign.id}/archive/"

    assert other_org_api.post(close).status_code == 404
    assert_error(org_api.post(archive), 409, "invalid_state")
    response = org_api.post(close)
    assert (response.status_code, response.json()["status"]) == (200, "completed")
    response = org_api.post(archive)
    assert (response.status_code, response.json()["status"]) == (200, "archived")
