"""Uncertainty first: the claim offers the least certain open work first, by the model's score before any answer
and by the Dawid-Skene posterior after, and other campaigns keep their order."""

import pytest

from crowd.models import Item, MicroTask
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.campaigns import campaign_launch
from crowd.services.certainty import microtask_certainty_refresh
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db


def _campaign(scores: dict[str, float | None], **fields):
    campaign = factories.campaign(**{"order": "uncertainty_first", "redundancy": 1, "max_redundancy": 1, **fields})
    rows = []
    for external_id, score in scores.items():
        row = {"external_id": external_id, "data": {"text": external_id}, "language": "en"}
        if score is not None:
            row["prelabel"] = {"model": "triage-bert", "label": "pos", "score": score}
        rows.append(row)
    items_import(campaign_id=campaign.id, rows=rows)
    campaign_launch(campaign_id=campaign.id)
    return campaign


def _claimed_item(campaign) -> str | None:
    result = assignment_claim_next(worker=factories.worker()[0], campaign_id=campaign.id)
    if result.assignment is None:
        return None
    return result.assignment.microtask.items.get().external_id


def test_the_least_certain_model_score_comes_first_and_unscored_items_before_all():
    campaign = _campaign({"sure": 0.95, "unsure": 0.2, "middling": 0.6, "unscored": None})

    assert [_claimed_item(campaign) for _ in range(5)] == ["unscored", "unsure", "middling", "sure", None]


def test_the_posterior_replaces_the_model_score_once_people_answered():
    campaign = _campaign({"a": 0.3, "b": 0.5}, redundancy=2, max_redundancy=2)
    Item.objects.filter(campaign=campaign, external_id="a").update(confidence=0.99)  # people settled it, nearly

    microtask_certainty_refresh(campaign_id=campaign.id)

    assert _claimed_item(campaign) == "b"
    certainty = dict(MicroTask.objects.filter(campaign=campaign).values_list("items__external_id", "certainty"))
    assert certainty == {"a": pytest.approx(0.99), "b": pytest.approx(0.5)}


def test_aggregation_reorders_the_open_work():
    campaign = _campaign({"a": 0.1, "b": 0.4}, redundancy=3, max_redundancy=3, target_confidence=0.999)
    worker = factories.worker()[0]
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    item_a = Item.objects.get(campaign=campaign, external_id="a")
    assert lease.microtask.items.get() == item_a  # the least certain first
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": item_a.id, "label": "pos"}])

    campaign_aggregate(campaign_id=campaign.id)

    item_a.refresh_from_db()
    microtask = MicroTask.objects.get(campaign=campaign, items=item_a)
    assert microtask.certainty == pytest.approx(item_a.confidence)


def test_a_microtask_is_as_certain_as_its_least_certain_item():
    campaign = _campaign({"x": 0.9, "y": 0.3, "z": 0.8, "w": 0.7}, items_per_task=2)

    certainties = sorted(MicroTask.objects.filter(campaign=campaign).values_list("certainty", flat=True))

    assert certainties == [pytest.approx(0.3), pytest.approx(0.7)]


def test_other_orders_keep_their_microtasks_out_of_the_certainty_index():
    campaign = _campaign({"sure": 0.95, "unsure": 0.2}, order="depth_first")

    assert set(MicroTask.objects.filter(campaign=campaign).values_list("by_certainty", "certainty")) == {(False, 0.0)}
    assert [_claimed_item(campaign) for _ in range(2)] == ["sure", "unsure"]  # item order, as before
