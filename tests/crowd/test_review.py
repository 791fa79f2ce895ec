"""Reviewing work: the submissions API (filters, cursor pages), batch decisions all or nothing, and the page."""

import pytest
from django.test import Client

from crowd.models import Assignment, Item
from crowd.services.answers import answer_submit
from crowd.services.organizations import membership_set
from crowd.services.routing import assignment_claim_next
from payments.selectors import earnings_for_worker
from tests import factories
from tests.factories import assert_error
from workers.models import User
from workers.pseudonyms import pseudonym
from workers.services import user_email_verify

pytestmark = pytest.mark.django_db


def _work(campaign, *, label: str = "pos", worker=None) -> Assignment:
    worker = worker or factories.worker()[0]
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answers = [{"item": entry.item_id, "label": label} for entry in lease.entries.all()]
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers)
    return Assignment.objects.get(pk=lease.pk)


@pytest.fixture
def campaign(org_key):
    return factories.campaign(organization=org_key[0], launch=True, items=6, redundancy=1, max_redundancy=1)


def test_submissions_list_the_work_with_answers_and_follow_a_cursor(org_api, campaign):
    done = [_work(campaign) for _ in range(3)]
    url = f"/api/v1/campaigns/{campaign.id}/submissions/"

    first = org_api.get(url, {"limit": 2}).json()
    second = org_api.get(first["next"]).json()

    assert [row["id"] for row in first["results"] + second["results"]] == [a.id for a in done]
    assert first["next_cursor"] == done[1].id and "cursor=" in first["next"]
    assert second["next"] is None and second["next_cursor"] is None
    # `after`, the older name of the cursor, still reads the same page; `cursor` wins when both are given.
    assert org_api.get(url, {"after": done[1].id}).json()["results"] == second["results"]
    assert org_api.get(url, {"after": done[1].id, "cursor": done[0].id}).json()["results"][0]["id"] == done[1].id
    row = first["results"][0]
    assert row["status"] == "submitted" and row["worker"] == pseudonym(campaign.organization_id, done[0].worker_id)
    assert row["answers"][0]["label"] == "pos" and row["answers"][0]["external_id"]
    assert org_api.get(url, {"status": "approved"}).json()["results"] == []
    assert len(org_api.get(url, {"worker": done[1].worker_id}).json()["results"]) == 1
    by_pseudonym = org_api.get(url, {"worker": pseudonym(campaign.organization_id, done[1].worker_id)}).json()
    assert [row["id"] for row in by_pseudonym["results"]] == [done[1].id]
    assert (
        org_api.get(url, {"worker": pseudonym(campaign.organization_id + 1, done[1].worker_id)}).json()["results"] == []
    )  # another organization's pseudonym names nobody here
    assert "worker" in assert_error(org_api.get(url, {"worker": "alice"}), 400)["fields"]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "lost"},
        {"limit": "0"},
        {"limit": "201"},
        {"after": "x"},
        {"cursor": "x"},
        {"submitted_after": "yesterday"},
        {"worker": "a"},
        {"failed_gold": "maybe"},
    ],
)
def test_a_bad_filter_is_a_400(org_api, campaign, query):
    assert_error(org_api.get(f"/api/v1/campaigns/{campaign.id}/submissions/", query), 400, "validation_error")


def test_work_that_got_a_check_item_wrong_can_be_found(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=4, redundancy=1, max_redundancy=1, gold_ratio=1.0)
    Item.objects.create(campaign=campaign, external_id="g1", data={"text": "gold"}, gold="neg")
    org_api.post(f"/api/v1/campaigns/{campaign.id}/launch/")
    wrong = _work(campaign, label="pos")  # the first microtasks carry a check item, answered "pos" (wrong)
    found = org_api.get(f"/api/v1/campaigns/{campaign.id}/submissions/", {"failed_gold": "1"}).json()["results"]
    assert [row["id"] for row in found] == [wrong.id]
    assert any(answer["gold"] == "neg" for answer in found[0]["answers"])


def test_a_batch_is_approved_or_rejected_all_at_once_or_not_at_all(org_api, campaign):
    first, second, third = (_work(campaign) for _ in range(3))
    decide = f"/api/v1/campaigns/{campaign.id}/submissions/decide/"

    assert_error(org_api.post(decide, {"ids": [first.id], "decision": "reject"}, format="json"), 400)
    approved = org_api.post(decide, {"ids": [first.id, second.id], "decision": "approve"}, format="json")
    assert approved.status_code == 200, approved.content
    # The third is still submitted, the first approved: rejecting both is refused and changes nothing.
    mixed = org_api.post(
        decide, {"ids": [first.id, third.id], "decision": "reject", "reason": "Guessing"}, format="json"
    )
    assert_error(mixed, 409, "invalid_state")
    assert Assignment.objects.get(pk=third.pk).status == "submitted"
    rejected = org_api.post(decide, {"ids": [third.id], "decision": "reject", "reason": "Guessing"}, format="json")
    assert rejected.json()["decided"] == [{"id": third.id, "status": "rejected"}]
    assert Assignment.objects.get(pk=third.pk).reject_reason == "Guessing"
    assert earnings_for_worker(worker_id=third.worker_id)["USD"]["pending"] == 0  # the reward was taken back


def test_ids_of_another_campaign_are_not_found_and_nothing_changes(org_api, campaign, org_key):
    other = factories.campaign(organization=org_key[0], launch=True, items=2, redundancy=1, max_redundancy=1)
    mine, theirs = _work(campaign), _work(other)
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/submissions/decide/",
        {"ids": [mine.id, theirs.id], "decision": "approve"},
        format="json",
    )
    assert_error(response, 404, "not_found")
    assert {a.status for a in Assignment.objects.filter(pk__in=[mine.pk, theirs.pk])} == {"submitted"}


def test_the_review_page_lists_work_and_decides_the_ticked_ones(org_key, campaign):
    _, owner, _ = org_key
    first, second = _work(campaign), _work(campaign, label="neg")
    client = Client()
    client.force_login(owner)
    page = client.get(f"/manage/campaigns/{campaign.id}/review/").content.decode()
    assert f'id="submission-{first.id}"' in page and f'value="{second.id}"' in page

    refused = client.post(
        f"/manage/campaigns/{campaign.id}/review/", {"ids": [second.id], "decision": "reject"}, follow=True
    )
    assert "needs a reason" in refused.content.decode()
    assert Assignment.objects.get(pk=second.pk).status == "submitted"
    client.post(
        f"/manage/campaigns/{campaign.id}/review/",
        {"ids": [second.id], "decision": "reject", "reason": "Every answer was the same."},
    )
    done = client.post(
        f"/manage/campaigns/{campaign.id}/review/", {"ids": [first.id], "decision": "approve"}, follow=True
    )
    assert "1 submission approved." in done.content.decode()
    assert Assignment.objects.get(pk=first.pk).status == "approved"
    assert Assignment.objects.get(pk=second.pk).reject_reason == "Every answer was the same."


def test_a_viewer_reads_the_review_page_but_cannot_decide(org_key, campaign):
    organization = org_key[0]
    viewer = User.objects.create_user(username="viewer", email="viewer@ngo.example")
    user_email_verify(user=viewer)
    membership_set(organization_id=organization.id, user_id=viewer.id, role="viewer")
    work = _work(campaign)
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/manage/campaigns/{campaign.id}/review/").content.decode()
    assert f'id="submission-{work.id}"' in page and 'name="ids"' not in page
    assert (
        client.post(f"/manage/campaigns/{campaign.id}/review/", {"ids": [work.id], "decision": "approve"}).status_code
        == 403
    )
    assert Assignment.objects.get(pk=work.pk).status == "submitted"
