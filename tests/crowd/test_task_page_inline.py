"""The task page's script asks for the next task inside the submit's answer (one round trip), and hears a
plain 409 when the lease ran out; without the script the page keeps the usual redirects."""

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from crowd.models import Answer, Assignment, Campaign
from tests import factories

pytestmark = pytest.mark.django_db

INLINE = {"HTTP_X_CROWDLOOP_INLINE": "1"}


def _started(items: int = 4) -> tuple[object, Client, Assignment]:
    user, _ = factories.worker()
    client = Client()
    client.force_login(user)
    campaign = factories.campaign(launch=True, items=items, items_per_task=2)
    client.post("/work/next/", {"campaign": campaign.id})
    return user, client, Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)


def _answers(lease: Assignment) -> dict[str, str]:
    return {f"item-{entry.item_id}": "pos" for entry in lease.entries.all()} | {"then": "next"}


def test_inline_submit_and_next_renders_the_next_task_in_the_same_response():
    user, client, lease = _started()
    response = client.post(f"/work/assignments/{lease.id}/", _answers(lease), **INLINE)
    assert response.status_code == 200
    following = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    assert response["Crowdloop-Location"] == f"/work/assignments/{following.id}/"
    assert f'action="/work/assignments/{following.id}/"' in response.content.decode()
    assert Answer.objects.filter(worker=user).count() == 2


def test_without_the_script_the_submit_redirects_as_before():
    user, client, lease = _started()
    response = client.post(f"/work/assignments/{lease.id}/", _answers(lease))
    following = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    assert (response.status_code, response["Location"]) == (302, f"/work/assignments/{following.id}/")


def test_a_resent_submit_is_stored_once():
    user, client, lease = _started()
    client.post(f"/work/assignments/{lease.id}/", _answers(lease), **INLINE)
    again = client.post(f"/work/assignments/{lease.id}/", _answers(lease), **INLINE)
    assert again.status_code == 302  # "already finished": nothing stored twice
    assert Answer.objects.filter(worker=user).count() == 2


def test_late_answers_with_a_free_slot_are_kept_and_the_next_task_follows():
    user, client, lease = _started()
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=lease.campaign.lease_seconds + 5)):
        inline = client.post(f"/work/assignments/{lease.id}/", _answers(lease), **INLINE)
    assert inline.status_code == 200
    assert "nobody else had taken it, so they were kept" in inline.content.decode()
    assert Answer.objects.filter(worker=user).count() == 2


def test_late_answers_without_a_place_are_a_plain_409_for_the_script_and_a_message_without_it():
    user, client, lease = _started()
    Campaign.objects.filter(pk=lease.campaign_id).update(status=Campaign.Status.PAUSED)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=lease.campaign.lease_seconds + 5)):
        inline = client.post(f"/work/assignments/{lease.id}/", _answers(lease), **INLINE)
        plain = client.post(f"/work/assignments/{lease.id}/", _answers(lease), follow=True)
    assert inline.status_code == 409
    assert "could not be kept" in inline.content.decode()
    assert "could not be kept" in plain.content.decode()
    assert not Answer.objects.filter(worker=user).exists()


def test_a_missing_answer_is_listed_at_the_top_with_a_link_to_its_item():
    _, client, lease = _started()
    entries = list(lease.entries.order_by("position"))
    answered = {f"item-{entries[0].item_id}": "pos", "then": "next"}
    response = client.post(f"/work/assignments/{lease.id}/", answered)
    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert" id="answer-errors"' in page
    assert f'<a href="#item-{entries[1].item_id}">Item 2</a>' in page
    assert f'href="#item-{entries[0].item_id}"' not in page
    assert "Item 1 of 2" in page and "Item 2 of 2" in page
