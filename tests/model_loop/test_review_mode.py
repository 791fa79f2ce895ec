"""Review mode end to end: suggestions shown pre-selected, blind items without them in the API and the page, the
arms recorded on the lease, and the anchoring check counted from real answers."""

import pytest
from django.db import connection
from django.test import Client

from crowd.model_loop.selectors import anchoring_for_campaign
from crowd.models import AssignmentItem
from crowd.services.answers import answer_submit
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"
SUGGESTION_TEXT = "A model suggests the answer marked below"
SUGGESTED = {"model": "triage-bert", "label": "neg", "score": 0.8}


def _campaign(organization=None, *, items: int = 3, gold: int = 0, **fields):
    campaign = factories.campaign(organization=organization, items_per_task=fields.pop("items_per_task", 1), **fields)
    rows = [
        {"external_id": f"p{i}", "data": {"text": f"t{i}"}, "language": "en", "prelabel": SUGGESTED}
        for i in range(items)
    ]
    rows += [
        {"external_id": f"g{i}", "data": {"text": f"g{i}"}, "language": "en", "prelabel": SUGGESTED, "gold": "pos"}
        for i in range(gold)
    ]
    items_import(campaign_id=campaign.id, rows=rows)
    campaign_launch(campaign_id=campaign.id)
    return campaign


def _page(user, assignment_id: int) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/work/assignments/{assignment_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_label_mode_never_shows_a_suggestion(make_worker):
    _campaign(mode="label")
    user, api = make_worker()

    body = api.post(NEXT, {}, format="json").json()

    assert all("prelabel" not in item for item in body["items"])
    assert set(AssignmentItem.objects.filter(assignment_id=body["id"]).values_list("blind", flat=True)) == {None}
    page = _page(user, body["id"])
    assert SUGGESTION_TEXT not in page and "required checked" not in page


def test_review_mode_shows_the_suggestion_preselected_and_marked(make_worker):
    _campaign(mode="review", blind_share=0)
    user, api = make_worker()

    body = api.post(NEXT, {}, format="json").json()

    assert body["items"][0]["prelabel"] == SUGGESTED
    assert set(AssignmentItem.objects.filter(assignment_id=body["id"]).values_list("blind", flat=True)) == {False}
    page = _page(user, body["id"])
    assert SUGGESTION_TEXT in page
    assert 'value="neg" required checked' in page and 'value="pos" required checked' not in page


def test_blind_items_carry_no_suggestion_in_the_api_or_the_page(make_worker):
    _campaign(mode="review", blind_share=1)
    user, api = make_worker()

    body = api.post(NEXT, {}, format="json").json()

    assert "prelabel" not in body["items"][0]
    assert set(AssignmentItem.objects.filter(assignment_id=body["id"]).values_list("blind", flat=True)) == {True}
    page = _page(user, body["id"])
    assert SUGGESTION_TEXT not in page and "required checked" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the claim statement draws the coin on PostgreSQL")
def test_the_blind_coin_is_drawn_per_item_and_what_is_shown_follows_it(make_worker):
    _campaign(mode="review", blind_share=0.5, items=40, items_per_task=40)
    _, api = make_worker()

    body = api.post(NEXT, {}, format="json").json()

    blind = dict(AssignmentItem.objects.filter(assignment_id=body["id"]).values_list("item_id", "blind"))
    assert {item["id"]: "prelabel" not in item for item in body["items"]} == blind
    assert 0 < sum(blind.values()) < 40  # both arms drawn (all alike has a chance of 2 in 10^12)
    refetched = api.post(NEXT, {}, format="json").json()  # the same lease again, from the stored rows
    assert {item["id"]: "prelabel" not in item for item in refetched["items"]} == blind


def _answer(campaign, *, blind: bool, label: str) -> None:
    user, _ = factories.worker()
    result = assignment_claim_next(worker=user, campaign_id=campaign.id)
    AssignmentItem.objects.filter(assignment=result.assignment).update(blind=blind)  # the test sets the arm
    items = AssignmentItem.objects.filter(assignment=result.assignment).values_list("item_id", flat=True)
    answer_submit(
        worker=user, assignment_id=result.assignment.id, raw_answers=[{"item": i, "label": label} for i in items]
    )


def test_the_anchoring_counts_come_from_the_answers_and_the_recorded_arms(org_key, org_api):
    campaign = _campaign(org_key[0], mode="review", items=2, gold=3, redundancy=5, gold_ratio=1)
    # Every lease: one item and one gold item, both suggested "neg" (gold says "pos"). The shown arm follows the
    # suggestion and is wrong on gold; the blind arm answers "pos" and is right.
    for _ in range(5):
        _answer(campaign, blind=False, label="neg")
    for _ in range(4):
        _answer(campaign, blind=True, label="pos")

    report = anchoring_for_campaign(campaign=campaign)

    assert (report.agreement_shown.hits, report.agreement_shown.total) == (10, 10)
    assert (report.agreement_blind.hits, report.agreement_blind.total) == (0, 8)
    assert (report.gold_accuracy_shown.hits, report.gold_accuracy_shown.total) == (0, 5)
    assert (report.gold_accuracy_blind.hits, report.gold_accuracy_blind.total) == (4, 4)
    assert report.warning is True
    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/anchoring/").json()
    assert body["warning"] is True and body["agreement"]["shown"] == {"agree": 10, "answers": 10, "rate": 1.0}
    assert body["gold_accuracy"]["blind"] == {"correct": 4, "answers": 4, "rate": 1.0}


def test_label_mode_answers_are_not_counted_and_the_api_says_why(org_key, org_api):
    campaign = _campaign(org_key[0], mode="label", items=2)
    _answer(campaign, blind=None, label="neg")

    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/anchoring/").json()

    assert body["agreement"]["shown"]["answers"] == 0 and body["agreement"]["difference"]["estimate"] is None
    assert body["warning"] is False and "label mode" in body["message"]


def test_the_campaign_page_shows_the_check_in_review_mode_only(org_key):
    client = Client()
    client.force_login(org_key[1])
    review = _campaign(org_key[0], mode="review", items=1)
    label = _campaign(org_key[0], mode="label", items=1)

    assert 'id="anchoring"' in client.get(f"/manage/campaigns/{review.id}/").content.decode()
    assert 'id="anchoring"' not in client.get(f"/manage/campaigns/{label.id}/").content.decode()


def test_a_bad_blind_share_is_refused(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0])

    response = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"blind_share": 1.5}, format="json")

    assert response.status_code == 400 and "blind_share" in response.json()["error"]["fields"]
    campaign.refresh_from_db()
    assert campaign.blind_share == 0.1
