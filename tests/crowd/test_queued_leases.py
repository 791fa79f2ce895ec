"""Leases fetched ahead: the next microtask is claimed while the worker answers the current one, holds its slot like
any lease, and becomes the current one (its clock starting then) when the current one ends."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from crowd.models import Answer, Assignment, AssignmentItem, MicroTask
from crowd.services.answers import answer_submit
from crowd.services.routing import assignment_claim_next, assignment_heartbeat, assignment_release
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"


def _answers(assignment: Assignment) -> list[dict]:
    return [{"item": entry.item_id, "label": "pos"} for entry in assignment.entries.all()]


def _started(**campaign_fields):
    campaign = factories.campaign(launch=True, **({"items": 6} | campaign_fields))
    worker, _ = factories.worker()
    current = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    return campaign, worker, current


def test_a_lease_fetched_ahead_is_another_microtask_holding_its_slot_and_asked_again_is_the_same():
    campaign, worker, current = _started()

    first = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True)
    again = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True)
    plain = assignment_claim_next(worker=worker, campaign_id=campaign.id)

    assert first.created and first.assignment.queued
    assert first.assignment.microtask_id != current.microtask_id
    assert (again.created, again.assignment.id) == (False, first.assignment.id)
    assert (plain.created, plain.assignment.id) == (False, current.id)  # the current one stays the answer
    assert MicroTask.objects.get(pk=first.assignment.microtask_id).active_count == 1
    items_current = set(current.entries.values_list("item_id", flat=True))
    items_ahead = set(first.assignment.entries.values_list("item_id", flat=True))
    assert not items_current & items_ahead


def test_submitting_the_current_lease_makes_the_one_ahead_current_with_its_clock_starting_then():
    campaign, worker, current = _started()
    start = timezone.now()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment

    with time_machine.travel(start + dt.timedelta(seconds=50), tick=False):
        answer_submit(worker=worker, assignment_id=current.id, raw_answers=_answers(current))
        after = assignment_claim_next(worker=worker, campaign_id=campaign.id)

    queued.refresh_from_db()
    assert (queued.queued, queued.status) == (False, "active")
    assert queued.leased_at == start + dt.timedelta(seconds=50)  # the time spent on the first is not counted twice
    assert queued.active_seconds == 0
    assert (after.created, after.assignment.id) == (False, queued.id)


def test_giving_the_current_lease_back_makes_the_one_ahead_current():
    campaign, worker, current = _started()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment

    assignment_release(worker=worker, assignment_id=current.id, reason="skip")

    queued.refresh_from_db()
    assert not queued.queued


def test_with_no_current_lease_a_request_for_work_takes_the_one_ahead_instead_of_a_new_claim():
    campaign, worker, current = _started(lease_seconds=60)
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment
    leases = Assignment.objects.count()

    # The current lease ran out and was not swept yet: it is expired on the way, and the queued one takes over.
    with time_machine.travel(current.expires_at + dt.timedelta(seconds=1), tick=False):
        Assignment.objects.filter(pk=queued.pk).update(expires_at=timezone.now() + dt.timedelta(minutes=5))
        result = assignment_claim_next(worker=worker, campaign_id=campaign.id)

    assert (result.created, result.assignment.id) == (False, queued.id)
    assert Assignment.objects.count() == leases
    assert Assignment.objects.get(pk=current.pk).status == "expired"
    assert not Assignment.objects.get(pk=queued.pk).queued


def test_ahead_without_a_current_lease_is_simply_the_current_one():
    campaign = factories.campaign(launch=True, items=3)
    worker, _ = factories.worker()
    result = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True)
    assert result.created and not result.assignment.queued


def test_ahead_never_over_assigns_and_says_why_when_nothing_is_left():
    campaign, worker, _current = _started(items=1, redundancy=1, max_redundancy=1)
    result = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True)
    assert result.assignment is None
    assert result.reason[0] == "done_everything"
    assert Assignment.objects.filter(campaign=campaign, status="active").count() == 1


def test_a_heartbeat_on_the_lease_ahead_counts_no_time_while_the_current_one_is_open():
    campaign, worker, current = _started()
    start = timezone.now()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment

    with time_machine.travel(start + dt.timedelta(seconds=40), tick=False):
        beat = assignment_heartbeat(worker=worker, assignment_id=queued.id)
    assert (beat.queued, beat.active_seconds) == (True, 0)

    with time_machine.travel(start + dt.timedelta(seconds=60), tick=False):
        answer_submit(worker=worker, assignment_id=current.id, raw_answers=_answers(current))
    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        beat = assignment_heartbeat(worker=worker, assignment_id=queued.id)
    assert not beat.queued
    assert beat.active_seconds == 30  # from the moment it became current


def test_heartbeats_on_the_current_lease_keep_the_one_ahead_alive_as_long():
    campaign, worker, current = _started(lease_seconds=120)
    start = timezone.now()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment
    for minute in (1, 2, 3):
        with time_machine.travel(start + dt.timedelta(minutes=minute), tick=False):
            beat = assignment_heartbeat(worker=worker, assignment_id=current.id)
    queued.refresh_from_db()
    assert queued.expires_at == beat.expires_at > start + dt.timedelta(minutes=4)
    assert (queued.queued, queued.active_seconds) == (True, 0)


def test_a_heartbeat_on_the_lease_ahead_makes_it_current_once_none_is():
    campaign, worker, current = _started()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment
    # The phone shows the queued task; the answers to the first were refused, so nothing promoted it.
    Assignment.objects.filter(pk=current.pk).update(status=Assignment.Status.EXPIRED)

    beat = assignment_heartbeat(worker=worker, assignment_id=queued.id)

    assert not beat.queued


def test_a_lease_ahead_submitted_before_it_became_current_counts_from_its_last_sign_of_life():
    campaign, worker, current = _started()
    start = timezone.now()
    queued = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment
    with time_machine.travel(start + dt.timedelta(seconds=100), tick=False):
        assignment_heartbeat(worker=worker, assignment_id=queued.id)  # the current one is still open: stays queued
    with time_machine.travel(start + dt.timedelta(seconds=130), tick=False):
        answer_submit(worker=worker, assignment_id=queued.id, raw_answers=_answers(queued))
    queued.refresh_from_db()
    assert queued.status == "submitted"
    assert queued.seconds_on_task == 30
    assert Assignment.objects.get(pk=current.pk).status == "active"


def test_the_api_fetches_ahead_and_names_it(make_worker):
    campaign = factories.campaign(launch=True, items=4)
    _, api = make_worker()
    current = api.post(NEXT, {"campaign": campaign.id}, format="json").json()

    ahead = api.post(NEXT, {"campaign": campaign.id, "ahead": True}, format="json")

    assert ahead.status_code == 201, ahead.content
    assert ahead.json()["queued"] is True and current["queued"] is False
    answers = {"answers": [{"item": i["id"], "label": "pos"} for i in current["items"]], "next": True}
    submitted = api.post(f"/api/v1/assignments/{current['id']}/submit/", answers, format="json").json()
    assert submitted["next"]["id"] == ahead.json()["id"]
    assert submitted["next"]["queued"] is False


@pytest.mark.parametrize(("body", "field"), [({"ahead": True}, "campaign"), ({"campaign": 1, "ahead": "yes"}, "ahead")])
def test_the_api_refuses_ahead_without_its_campaign_or_as_a_non_boolean(make_worker, body, field):
    factories.campaign(launch=True, items=2)
    _, api = make_worker()
    response = api.post(NEXT, body, format="json")
    assert_error(response, 400, "validation_error")
    assert field in response.json()["error"]["fields"]
    assert not Assignment.objects.exists()


def test_the_task_page_fetches_ahead_and_a_submit_behind_it_answers_204():
    campaign = factories.campaign(launch=True, items=4)
    worker, _ = factories.worker()
    client = Client()
    client.force_login(worker)
    client.post("/work/next/", {"campaign": campaign.id})
    current = Assignment.objects.get(worker=worker)

    page = client.post(f"/work/assignments/{current.id}/ahead/", HTTP_X_CROWDLOOP_INLINE="1")
    queued = Assignment.objects.get(worker=worker, queued=True)
    assert page.status_code == 200
    assert page["Crowdloop-Location"] == f"/work/assignments/{queued.id}/"
    assert f'action="/work/assignments/{queued.id}/"' in page.content.decode()
    assert '"queued": true' in page.content.decode()

    fields = {f"item-{entry.item_id}": "pos" for entry in current.entries.all()} | {"then": "ahead"}
    sent = client.post(f"/work/assignments/{current.id}/", fields, HTTP_X_CROWDLOOP_INLINE="1")
    assert sent.status_code == 204
    assert Answer.objects.filter(assignment=current).count() == current.entries.count()
    queued.refresh_from_db()
    assert not queued.queued
    # The phone said "saved" itself: no message waits in the session for a later page.
    assert 'class="msg success"' not in client.get(f"/work/assignments/{queued.id}/").content.decode()


def test_the_page_asks_ahead_only_from_a_current_lease():
    campaign = factories.campaign(launch=True, items=1, redundancy=1, max_redundancy=1)
    worker, _ = factories.worker()
    client = Client()
    client.force_login(worker)
    client.post("/work/next/", {"campaign": campaign.id})
    current = Assignment.objects.get(worker=worker)
    assert client.post(f"/work/assignments/{current.id}/ahead/").status_code == 204  # nothing left to fetch
    assert client.get(f"/work/assignments/{current.id}/ahead/").status_code == 405
    assert AssignmentItem.objects.filter(worker=worker).count() == current.entries.count()
