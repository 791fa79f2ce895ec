"""Review mode end to end: suggestions shown pre-selected, blind items without them in the API and the page, the
arms recorded on the lease, and the anchoring check counted from real answers."""

import pytest
from django.db import connection
from django.test import Client

from crowd.model_loop.anchoring import Proportion, SuggestionCounts, anchoring_report
from crowd.model_loop.report import anchoring_body
from crowd.model_loop.selectors import anchoring_for_campaign
from crowd.models import Answer, AssignmentItem, Campaign, Item
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


def _swayed_campaign(organization):
    """Every lease: one item and one gold item, both suggested "neg" (gold says "pos"). Five shown leases follow the
    suggestion and are wrong on gold; four blind ones answer "pos" and are right."""
    campaign = _campaign(organization, mode="review", items=2, gold=3, redundancy=5, gold_ratio=1)
    for _ in range(5):
        _answer(campaign, blind=False, label="neg")
    for _ in range(4):
        _answer(campaign, blind=True, label="pos")
    return campaign


def test_the_anchoring_counts_come_from_the_answers_and_the_recorded_arms(org_key, org_api):
    campaign = _swayed_campaign(org_key[0])

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


def test_gold_accuracy_is_counted_per_suggestion_and_shown_on_the_page(org_key, org_api):
    campaign = _swayed_campaign(org_key[0])
    # One gold item's suggestion becomes "pos" (its gold): its answers now count under that suggestion.
    changed = Item.objects.filter(campaign=campaign, gold__isnull=False).order_by("id").first()
    Item.objects.filter(pk=changed.pk).update(prelabel="pos")
    expected: dict[tuple[str, bool], list[int]] = {}
    suggestion_right: dict[str, list[int]] = {}  # on the shown arm's answers
    for answer in Answer.objects.filter(campaign=campaign, item__gold__isnull=False).select_related("item"):
        arm = AssignmentItem.objects.get(assignment_id=answer.assignment_id, item_id=answer.item_id).blind
        counted = expected.setdefault((answer.item.prelabel, arm), [0, 0])
        counted[0] += answer.label == answer.item.gold
        counted[1] += 1
        if not arm:
            right = suggestion_right.setdefault(answer.item.prelabel, [0, 0])
            right[0] += answer.item.prelabel == answer.item.gold
            right[1] += 1

    report = anchoring_for_campaign(campaign=campaign)

    got = {
        (arms.suggestion, blind): [proportion.hits, proportion.total]
        for arms in report.by_suggestion
        for blind, proportion in ((False, arms.gold_accuracy_shown), (True, arms.gold_accuracy_blind))
        if proportion.total
    }
    assert got == expected
    assert {
        arms.suggestion: [arms.suggestion_accuracy.hits, arms.suggestion_accuracy.total]
        for arms in report.by_suggestion
        if arms.suggestion_accuracy.total
    } == suggestion_right
    assert suggestion_right.get("pos", [0, 0])[0] > 0  # the changed item's suggestion is right on its gold
    assert sum(arms.gold_accuracy_shown.total for arms in report.by_suggestion) == report.gold_accuracy_shown.total
    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/anchoring/").json()
    assert [row["suggestion"] for row in body["gold_accuracy_by_suggestion"]] == [
        arms.suggestion for arms in report.by_suggestion
    ]
    client = Client()
    client.force_login(org_key[1])
    page = client.get(f"/manage/campaigns/{campaign.id}/").content.decode()
    compared = ("neg", False) in expected and ("neg", True) in expected
    assert ("Where it suggests neg" in page) == compared
    both_arms = [label for label, blind in expected if blind and (label, False) in expected]
    assert page.count("The suggestion itself was right on") == len(both_arms)


def test_a_misleading_suggestion_is_named_in_the_verdict():
    # More accurate overall, but on the gold items suggested "spam" the shown arm is far less accurate.
    report = anchoring_report(
        agreement_shown=Proportion(700, 1000),
        agreement_blind=Proportion(400, 1000),
        gold_accuracy_shown=Proportion(800, 1000),
        gold_accuracy_blind=Proportion(600, 1000),
        gold_accuracy_by_suggestion={
            "ham": SuggestionCounts(Proportion(590, 600), Proportion(300, 600), suggestion=Proportion(600, 600)),
            "spam": SuggestionCounts(Proportion(210, 400), Proportion(300, 400), suggestion=Proportion(0, 400)),
        },
    )

    body = anchoring_body(Campaign(mode=Campaign.Mode.REVIEW, blind_share=0.5), report)

    assert body["warning"] is True
    assert [row["misleading"] for row in body["gold_accuracy_by_suggestion"]] == [False, True]
    assert "where it suggests spam following it costs accuracy" in body["message"]
    spam = body["gold_accuracy_by_suggestion"][1]
    assert spam["suggestion_right"] == {"correct": 0, "answers": 400, "rate": 0.0}
    assert spam["suggestion_difference"]["high"] < 0
