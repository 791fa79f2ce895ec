"""Auto-acceptance applied: only on enough evidence, only confident labels of accepted classes, never the audit
share; results and exports say which labels a model decided; people who disagree take the mark away."""

import pytest
from django.utils import timezone

from crowd.model_loop.auto_accept import campaign_auto_accept
from crowd.models import AggregationRun, Annotator, Campaign, Item, MicroTask
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.campaigns import campaign_launch, campaign_pause
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db

MODEL = "triage-bert@3"


def _row(external_id: str, label: str, score: float, gold: str | None = None) -> dict:
    row = {
        "external_id": external_id,
        "data": {"text": external_id},
        "language": "en",
        "prelabel": {"model": MODEL, "label": label, "score": score},
    }
    if gold is not None:
        row["gold"] = gold
    return row


def _campaign(organization=None, **policy) -> Campaign:
    fields = {
        "auto_accept": True,
        "accept_threshold": 0.6,
        "accept_min_evidence": 8,
        "accept_min_score": 0.8,
        "accept_confirmations": 0,
        "accept_audit_share": 0.0,
        **policy,
    }
    campaign = factories.campaign(organization=organization, redundancy=3, **fields)
    rows = [_row(f"gold{i}", "pos", 0.9, gold="pos") for i in range(10)]  # the model right 10 times of 10
    rows += [_row(f"sure{i}", "pos", 0.9) for i in range(6)]
    rows += [_row(f"unsure{i}", "pos", 0.5) for i in range(2)]  # below the score floor
    rows += [_row(f"neg{i}", "neg", 0.95) for i in range(2)]  # a class without evidence
    items_import(campaign_id=campaign.id, rows=rows)
    campaign_launch(campaign_id=campaign.id)
    _estimated(campaign, right=0.98)
    return campaign


def _estimated(campaign: Campaign, *, right: float) -> None:
    """What an aggregation run leaves behind: the class prior and the model's confusion matrix [true, answered]."""
    AggregationRun.objects.create(
        campaign=campaign, status=AggregationRun.Status.FINISHED, prior=[0.5, 0.5], started_at=timezone.now()
    )
    confusion = [[right, 1 - right], [1 - right, right]]
    Annotator.objects.create(campaign=campaign, kind=Annotator.Kind.MODEL, model_name=MODEL, confusion=confusion)


def _accepted(campaign: Campaign) -> set[str]:
    return set(Item.objects.filter(campaign=campaign).exclude(accepted_model="").values_list("external_id", flat=True))


def test_confident_labels_of_a_proven_class_are_accepted_without_people(org_key, org_api):
    campaign = _campaign(org_key[0])

    summary = campaign_auto_accept(campaign_id=campaign.id)

    sure = {f"sure{i}" for i in range(6)}
    assert summary.accepted_classes == {MODEL: ["pos"]} and summary.completed == 6
    assert _accepted(campaign) == sure
    for item in Item.objects.filter(campaign=campaign, external_id__in=sure):
        assert (item.status, item.result_label, item.confidence, item.answer_count) == ("complete", "pos", 0.9, 0)
        microtask = MicroTask.objects.get(items=item)
        assert (microtask.target, microtask.is_open) == (0, False)  # nobody is offered it any more
    others = MicroTask.objects.filter(campaign=campaign).exclude(items__external_id__in=sure)
    assert set(others.values_list("target", "is_open")) == {(3, True)}
    results = {
        row["external_id"]: row for row in org_api.get(f"/api/v1/campaigns/{campaign.id}/results/").json()["results"]
    }
    assert results["sure0"]["accepted_on_model"] == MODEL and results["neg0"]["accepted_on_model"] is None
    exported = b"".join(org_api.get(f"/api/v1/campaigns/{campaign.id}/export/?format=csv").streaming_content)
    assert "accepted_on_model" in exported.decode().splitlines()[0] and MODEL in exported.decode()


def test_one_confirmation_leaves_one_slot_and_disagreement_removes_the_mark(org_key):
    campaign = _campaign(org_key[0], accept_confirmations=1)

    summary = campaign_auto_accept(campaign_id=campaign.id)

    assert summary.confirming == 6 and summary.completed == 0
    item = Item.objects.get(campaign=campaign, external_id="sure0")
    assert (item.accepted_model, item.redundancy, item.status) == (MODEL, 1, "open")
    assert MicroTask.objects.get(items=item).target == 1
    # The one person disagreed (what aggregation would write): the label is people's now, not the model's.
    Item.objects.filter(pk=item.pk).update(answer_count=1, result_label="neg")
    Item.objects.filter(campaign=campaign, external_id="sure1").update(answer_count=1, result_label="pos")

    again = campaign_auto_accept(campaign_id=campaign.id)

    assert again.unmarked == 1
    assert "sure0" not in _accepted(campaign) and "sure1" in _accepted(campaign)


@pytest.mark.parametrize("after", [{"auto_accept": False}, {"status": "paused"}, {"status": "completed"}])
def test_people_overruling_a_confirmation_remove_the_mark_after_acceptance_stopped_running(org_key, after):
    campaign = _campaign(org_key[0], accept_confirmations=1)
    campaign_auto_accept(campaign_id=campaign.id)
    assert "sure0" in _accepted(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(**after)
    # The confirming person disagreed (what aggregation writes), after acceptance was switched off or stopped.
    Item.objects.filter(campaign=campaign, external_id="sure0").update(answer_count=1, result_label="neg")
    Item.objects.filter(campaign=campaign, external_id="sure1").update(answer_count=1, result_label="pos")

    assert campaign_auto_accept(campaign_id=campaign.id) is None  # nothing new is accepted

    assert "sure0" not in _accepted(campaign) and "sure1" in _accepted(campaign)


@pytest.mark.parametrize(
    "policy",
    [
        {"accept_min_evidence": 50},  # ten gold items are not enough evidence
        {"accept_threshold": 0.99, "accept_rule": "estimate"},  # the model's estimated precision is 0.98
        {"accept_threshold": 0.8},  # 0.98 of 10 rounds to 10 of 10: Wilson's lower bound is 0.72 (the default rule)
        {"accept_audit_share": 1.0},  # every item kept for people
        {"auto_accept": False},
    ],
)
def test_nothing_is_accepted_without_the_evidence_or_with_acceptance_off(org_key, policy):
    campaign = _campaign(org_key[0], **policy)

    campaign_auto_accept(campaign_id=campaign.id)

    assert _accepted(campaign) == set()
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {3}


@pytest.mark.parametrize(("rule", "accepted"), [("lower_bound", False), ("estimate", True)])
def test_the_rule_decides_how_sure_the_evidence_must_be(org_key, rule, accepted):
    # Ten gold items and an estimated precision of 0.98: above a threshold of 0.8, but its lower bound (0.72) is not.
    campaign = _campaign(org_key[0], accept_threshold=0.8, accept_rule=rule)

    summary = campaign_auto_accept(campaign_id=campaign.id)

    assert (summary.accepted_classes == {MODEL: ["pos"]}) is accepted
    assert (_accepted(campaign) == {f"sure{i}" for i in range(6)}) is accepted


def test_a_model_dawid_skene_finds_unreliable_is_not_accepted(org_key):
    campaign = factories.campaign(organization=org_key[0], auto_accept=True, accept_min_evidence=8)
    rows = [_row(f"gold{i}", "pos", 0.9, gold="pos") for i in range(30)] + [_row("sure", "pos", 0.99)]
    items_import(campaign_id=campaign.id, rows=rows)
    campaign_launch(campaign_id=campaign.id)
    _estimated(campaign, right=0.7)  # precision 0.7: far below the default threshold of 0.95

    summary = campaign_auto_accept(campaign_id=campaign.id)

    assert summary.accepted_classes == {} and _accepted(campaign) == set()


def test_after_people_answer_aggregation_accepts_the_rest_on_the_models_word(org_key):
    campaign = factories.campaign(
        organization=org_key[0],
        redundancy=1,
        max_redundancy=1,
        target_confidence=0.5,
        auto_accept=True,
        accept_threshold=0.6,
        accept_min_evidence=8,
        accept_confirmations=0,
        accept_audit_share=0.0,
    )
    # Both classes, alternating: with one class only, Dawid-Skene could not tell a perfect model from one that
    # always says it.
    truth = ["pos", "neg"] * 12
    items_import(campaign_id=campaign.id, rows=[_row(f"i{n:02}", label, 0.9) for n, label in enumerate(truth)])
    campaign_launch(campaign_id=campaign.id)
    for _ in range(18):  # eighteen people agree with the model on eighteen items, nine of each class
        worker = factories.worker()[0]
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        item = lease.microtask.items.get()
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": item.id, "label": item.prelabel}])

    campaign_aggregate(campaign_id=campaign.id)

    model = Annotator.objects.get(campaign=campaign, kind="model")
    assert model.model_name == MODEL and model.answers == 18  # its confident labels, where people answered
    assert model.confusion[0][0] > 0.9 and model.confusion[1][1] > 0.9
    assert len(_accepted(campaign)) == 6  # the six nobody answered
    assert not Item.objects.filter(campaign=campaign).exclude(status="complete").exists()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_a_models_unsure_labels_are_an_annotator_of_their_own_when_acceptance_is_on(org_key):
    campaign = factories.campaign(
        organization=org_key[0], redundancy=1, max_redundancy=1, auto_accept=True, accept_min_score=0.8
    )
    items_import(campaign_id=campaign.id, rows=[_row("a", "pos", 0.9), _row("b", "pos", 0.3)])
    campaign_launch(campaign_id=campaign.id)
    for _ in range(2):
        worker = factories.worker()[0]
        lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
        answer_submit(
            worker=worker,
            assignment_id=lease.id,
            raw_answers=[{"item": lease.microtask.items.get().id, "label": "pos"}],
        )

    campaign_aggregate(campaign_id=campaign.id)

    names = set(Annotator.objects.filter(campaign=campaign, kind="model").values_list("model_name", flat=True))
    assert names == {MODEL, f"{MODEL} (score < 0.8)"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accept_confirmations", 2),
        ("accept_threshold", 1.5),
        ("accept_min_evidence", 0),
        ("accept_audit_share", -1),
        ("accept_rule", "vibes"),
    ],
)
def test_a_bad_policy_is_refused(org_api, org_key, field, value):
    campaign = factories.campaign(organization=org_key[0])

    response = org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {field: value}, format="json")

    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert getattr(Campaign.objects.get(pk=campaign.pk), field) == getattr(campaign, field)


def test_a_coordinators_decision_takes_the_mark_away_even_where_acceptance_no_longer_runs(org_key, org_api):
    """The label is a person's once decided: results and exports must not say a model decided it, also when the
    campaign is paused (acceptance, which would unmark it after the next aggregation, runs only while active)."""
    campaign = _campaign(org_key[0])
    campaign_auto_accept(campaign_id=campaign.id)
    campaign_pause(campaign_id=campaign.id)
    item = Item.objects.get(campaign=campaign, external_id="sure0")

    decided = org_api.post(f"/api/v1/campaigns/{campaign.id}/items/{item.id}/decide/", {"label": "neg"}, format="json")

    assert decided.status_code == 200, decided.content
    item.refresh_from_db()
    assert (item.result_label, item.accepted_model) == ("neg", "")
    results = {
        row["external_id"]: row for row in org_api.get(f"/api/v1/campaigns/{campaign.id}/results/").json()["results"]
    }
    assert results["sure0"]["accepted_on_model"] is None and results["sure1"]["accepted_on_model"] == MODEL


@pytest.mark.parametrize(
    "field", ["accept_threshold", "accept_min_score", "accept_audit_share", "blind_share", "target_confidence"]
)
def test_a_policy_number_that_is_not_a_number_is_refused(org_api, org_key, field):
    """The string "nan" reads as a float that passes every bound; stored, it broke every read of the campaign."""
    campaign = _campaign(org_key[0])
    before = Campaign.objects.values_list(field, flat=True).get(pk=campaign.pk)

    error = factories.assert_error(
        org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {field: "nan"}, format="json"), 400
    )

    assert field in error["fields"]
    assert Campaign.objects.values_list(field, flat=True).get(pk=campaign.pk) == before
    assert org_api.get(f"/api/v1/campaigns/{campaign.id}/").status_code == 200
