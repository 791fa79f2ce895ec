"""The aggregation service: Dawid-Skene results, pre-labels and gold in the model, dynamic redundancy, runs."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from crowd import tasks
from crowd.aggregation.redundancy import redundancy_decisions
from crowd.models import AggregationRun, Annotator, Assignment, Campaign, CampaignWorker, Item, MicroTask
from crowd.services import aggregation as aggregation_service
from crowd.services.aggregation import campaign_aggregate
from crowd.services.aggregation_runs import aggregation_run_begin
from crowd.services.answers import answer_submit
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db


def label_everything(campaign, answers_by_worker):
    """Each worker takes every microtask they can and answers by their rule: external_id -> label."""
    workers = []
    for rule in answers_by_worker:
        worker, _ = factories.worker()
        workers.append(worker)
        while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
            items = Item.objects.filter(id__in=claim.assignment.entries.values("item_id"))
            answer_submit(
                worker=worker,
                assignment_id=claim.assignment.id,
                raw_answers=[{"item": item.id, "label": rule(item)} for item in items],
            )
    return workers


def truth(item) -> str:
    return "pos" if int(item.external_id[1:]) % 3 else "neg"


def test_redundancy_decisions_complete_raise_or_wait():
    decision = redundancy_decisions(
        answers={1: 3, 2: 3, 3: 1, 4: 5},
        redundancy={1: 3, 2: 3, 3: 3, 4: 5},
        confidence={1: 0.95, 2: 0.6, 3: 0.99, 4: 0.55},
        target=0.9,
        maximum=5,
    )
    assert decision.complete == [1, 4]  # confident; at the maximum (best effort)
    assert decision.raise_redundancy == [2]  # all promised answers in, still unsure
    assert decision.reopen == [3]  # still waiting for answers it was promised


def test_campaign_aggregate_labels_items_and_rates_workers():
    campaign = factories.campaign(launch=True, items=12, redundancy=3, target_confidence=0.6)
    good = lambda item: truth(item)  # noqa: E731
    spammer = lambda item: "pos"  # noqa: E731
    workers = label_everything(campaign, [good, good, spammer])
    summary = campaign_aggregate(campaign_id=campaign.id)
    assert summary["items"] == 12
    for item in Item.objects.filter(campaign=campaign):
        assert item.result_label == truth(item)
        assert 0.5 < item.confidence <= 1
    accuracy = {a.worker_id: a.accuracy for a in Annotator.objects.filter(campaign=campaign)}
    assert accuracy[workers[0].id] > accuracy[workers[2].id]
    stats = CampaignWorker.objects.get(campaign=campaign, worker=workers[2])
    assert stats.quality == pytest.approx(accuracy[workers[2].id]) and stats.quality_answers == 12
    run = AggregationRun.objects.get(campaign=campaign)
    assert (run.method, run.answers, run.items, run.annotators) == ("dawid_skene", 36, 12, 3)
    assert run.converged and run.iterations > 0 and len(run.prior) == 2


def test_campaign_aggregate_takes_prelabels_as_a_model_annotator():
    campaign = factories.campaign(items=0, redundancy=2, target_confidence=0.6)
    items_import(
        campaign_id=campaign.id,
        rows=[
            {
                "external_id": f"t{i}",
                "data": {"text": str(i)},
                "language": "en",
                "prelabel": {"model": "bert-v1", "label": "neg", "score": 0.7},  # a model that always says neg
            }
            for i in range(9)
        ],
    )
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    label_everything(campaign, [truth, truth])
    campaign_aggregate(campaign_id=campaign.id)
    model = Annotator.objects.get(campaign=campaign, kind="model")
    assert (model.model_name, model.answers) == ("bert-v1", 9)
    workers = Annotator.objects.filter(campaign=campaign, kind="worker")
    assert all(model.accuracy < worker.accuracy for worker in workers)
    assert len(model.confusion) == 2 and len(model.confusion[0]) == 2


def test_campaign_aggregate_gold_teaches_the_model():
    """Two workers disagree on everything; gold items decide which one to believe."""
    campaign = factories.campaign(items=6, redundancy=2, max_redundancy=2, target_confidence=0.6, gold_ratio=1.0)
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": f"g{i}", "data": {"text": "gold"}, "language": "en", "gold": "pos"} for i in range(6)],
    )
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    honest = lambda item: item.gold if item.gold else truth(item)  # noqa: E731
    liar = lambda item: "neg" if honest(item) == "pos" else "pos"  # noqa: E731
    label_everything(campaign, [liar, honest])
    campaign_aggregate(campaign_id=campaign.id)
    for item in Item.objects.filter(campaign=campaign, gold__isnull=True):
        assert item.result_label == truth(item)
    gold = Item.objects.filter(campaign=campaign, gold__isnull=False).exclude(answer_count=0)
    assert not gold.exclude(result_label=None).exists()  # gold items are not results


def test_campaign_aggregate_raises_redundancy_where_unsure_and_routes_it_to_new_workers():
    campaign = factories.campaign(launch=True, items=4, redundancy=2, max_redundancy=3, target_confidence=0.95)
    first, _ = label_everything(campaign, [truth, lambda item: "pos"])
    summary = campaign_aggregate(campaign_id=campaign.id)
    raised = Item.objects.filter(campaign=campaign, redundancy=3)
    assert summary["raised"] == raised.count() > 0
    new_microtasks = MicroTask.objects.filter(campaign=campaign, target=1)
    assert new_microtasks.count() == raised.count()  # items_per_task = 1
    # the first two workers saw every item: the new slots go to someone else
    assert assignment_claim_next(worker=first, campaign_id=campaign.id).assignment is None
    third, _ = factories.worker()
    lease = assignment_claim_next(worker=third, campaign_id=campaign.id).assignment
    assert lease.microtask_id in set(new_microtasks.values_list("id", flat=True))
    # running again without new answers raises nothing more (idempotent)
    assert campaign_aggregate(campaign_id=campaign.id)["raised"] == 0
    assert Item.objects.filter(campaign=campaign, redundancy__gt=3).count() == 0


def test_campaign_aggregate_completes_confident_items_and_the_campaign():
    campaign = factories.campaign(launch=True, items=3, redundancy=3, max_redundancy=5, target_confidence=0.6)
    label_everything(campaign, [truth, truth, truth])
    summary = campaign_aggregate(campaign_id=campaign.id)
    assert summary["completed"] == 3 and summary["raised"] == 0
    assert set(Item.objects.filter(campaign=campaign).values_list("status", flat=True)) == {"complete"}
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_campaign_aggregate_is_idempotent():
    campaign = factories.campaign(launch=True, items=6, redundancy=3, target_confidence=0.6)
    label_everything(campaign, [truth, truth, lambda item: "pos"])
    campaign_aggregate(campaign_id=campaign.id)
    first = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("result_label", "status", "votes"))
    confidence = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("confidence", flat=True))
    campaign_aggregate(campaign_id=campaign.id)  # warm start from the first run's matrices
    again = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("result_label", "status", "votes"))
    assert again == first
    assert list(Item.objects.filter(campaign=campaign).order_by("id").values_list("confidence", flat=True)) == (
        pytest.approx(confidence, abs=1e-3)
    )
    assert Annotator.objects.filter(campaign=campaign).count() == 3
    assert AggregationRun.objects.filter(campaign=campaign).count() == 2


def test_campaign_aggregate_multi_choice_one_model_per_label():
    campaign = factories.campaign(
        launch=True, items=4, redundancy=3, task_type="multi_choice", labels=["a", "b", "c"], target_confidence=0.5
    )
    label_everything(campaign, [lambda item: ["a", "b"], lambda item: ["a", "b"], lambda item: ["a"]])
    campaign_aggregate(campaign_id=campaign.id)
    for item in Item.objects.filter(campaign=campaign):
        assert item.result_label == ["a", "b"]
        assert item.votes == {"a": 3, "b": 2}
        assert 0 < item.confidence <= 1
    assert AggregationRun.objects.get(campaign=campaign).method == "multilabel_dawid_skene"


def test_campaign_aggregate_free_text_normalized_vote():
    campaign = factories.campaign(launch=True, items=1, redundancy=3, task_type="free_text", labels=[])
    label_everything(campaign, [lambda item: "Nairobi", lambda item: " nairobi ", lambda item: "Kisumu"])
    campaign_aggregate(campaign_id=campaign.id)
    item = Item.objects.get(campaign=campaign)
    assert item.result_label in ("Nairobi", "nairobi")  # one of the agreeing spellings, whitespace tidied
    assert item.confidence == pytest.approx(2 / 3, abs=1e-6)
    accuracy = sorted(Annotator.objects.filter(campaign=campaign).values_list("accuracy", flat=True))
    assert accuracy == [0.0, 1.0, 1.0]


def test_campaign_aggregate_without_answers_is_a_no_op():
    campaign = factories.campaign(launch=True, items=2)
    assert campaign_aggregate(campaign_id=campaign.id)["answers"] == 0
    assert not AggregationRun.objects.exists()


def test_submits_queue_one_coalesced_aggregation(monkeypatch, django_capture_on_commit_callbacks):
    """With a real broker, a burst of submits queues one delayed run, not one per submit."""
    queued = []
    monkeypatch.setattr(tasks.campaign_aggregate, "apply_async", lambda *a, **k: queued.append((a, k)))
    campaign = factories.campaign(launch=True, items=5, redundancy=1)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False), django_capture_on_commit_callbacks(execute=True):
        label_everything(campaign, [truth])
    assert Assignment.objects.filter(status="submitted").count() == 5
    assert len(queued) == 1
    assert queued[0][0] == ((campaign.id,),) and queued[0][1]["countdown"] == tasks.AGGREGATE_DELAY_SECONDS
    tasks.campaign_aggregate.run(campaign.id)  # the queued run clears the flag, so the next burst queues again
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False), django_capture_on_commit_callbacks(execute=True):
        label_everything(factories.campaign(launch=True, items=1, redundancy=1), [truth])
    assert len(queued) == 2


def test_annotators_api_lists_workers_and_models(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=3, redundancy=2)
    label_everything(campaign, [truth, truth])
    campaign_aggregate(campaign_id=campaign.id)
    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json()["results"]
    assert {row["kind"] for row in body} == {"worker"}
    assert all(0 <= row["accuracy"] <= 1 and row["answers"] == 3 and len(row["confusion"]) == 2 for row in body)
    other = factories.campaign(launch=True, items=1)
    assert org_api.get(f"/api/v1/campaigns/{other.id}/annotators/").status_code == 404


def test_my_quality_api_shows_the_workers_own_score(make_worker):
    campaign = factories.campaign(launch=True, items=3, redundancy=1)
    user, client = make_worker()
    while (claim := assignment_claim_next(worker=user, campaign_id=campaign.id)).assignment:
        items = claim.assignment.entries.values_list("item_id", flat=True)
        answer_submit(
            worker=user, assignment_id=claim.assignment.id, raw_answers=[{"item": i, "label": "pos"} for i in items]
        )
    campaign_aggregate(campaign_id=campaign.id)
    [row] = client.get("/api/v1/me/quality/").json()["campaigns"]
    assert row["campaign"] == campaign.id and row["based_on_answers"] == 3 and 0 <= row["quality"] <= 1


def test_beat_queues_only_campaigns_with_new_answers():
    fresh = factories.campaign(launch=True, items=2, redundancy=1)
    done = factories.campaign(launch=True, items=2, redundancy=1)
    untouched = factories.campaign(launch=True, items=2)
    label_everything(fresh, [truth])
    label_everything(done, [truth])
    campaign_aggregate(campaign_id=done.id)
    assert tasks.campaigns_aggregate_stale.run() == [fresh.id]  # eager: the queued run happens here
    assert AggregationRun.objects.filter(campaign=fresh).count() == 1
    assert not AggregationRun.objects.filter(campaign=untouched).exists()
    assert tasks.campaigns_aggregate_stale.run() == []


def test_campaign_aggregate_same_task_id_twice_applies_once():
    """A redelivered message (same task id) finds its run finished and changes nothing."""
    campaign = factories.campaign(launch=True, items=6, redundancy=2, max_redundancy=4, target_confidence=0.99)
    label_everything(campaign, [truth, lambda item: "pos"])
    first = campaign_aggregate(campaign_id=campaign.id, task_id="task-1")
    assert first["raised"] > 0 and first["replayed"] is False
    state = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("redundancy", "status", "votes"))
    microtasks = MicroTask.objects.filter(campaign=campaign).count()

    again = campaign_aggregate(campaign_id=campaign.id, task_id="task-1")

    assert again["replayed"] is True and again["run"] == first["run"]
    assert list(Item.objects.filter(campaign=campaign).order_by("id").values_list("redundancy", "status", "votes")) == (
        state
    )
    assert MicroTask.objects.filter(campaign=campaign).count() == microtasks  # no second re-pack
    run = AggregationRun.objects.get(campaign=campaign)
    assert (run.status, run.task_id, run.answer_rows) == ("finished", "task-1", 12)


def test_campaign_aggregate_that_raises_leaves_a_failed_run_and_no_results(monkeypatch):
    campaign = factories.campaign(launch=True, items=2, redundancy=1)
    label_everything(campaign, [truth])

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(aggregation_service, "_write_annotators", broken)
    with pytest.raises(RuntimeError):
        campaign_aggregate(campaign_id=campaign.id, task_id="task-2")

    assert AggregationRun.objects.get(task_id="task-2").status == "failed"
    assert not Item.objects.filter(campaign=campaign, result_label__isnull=False).exists()  # rolled back
    monkeypatch.undo()
    # The retried message (same id) runs it again, and this time it finishes.
    assert campaign_aggregate(campaign_id=campaign.id, task_id="task-2")["replayed"] is False
    assert AggregationRun.objects.get(task_id="task-2").status == "finished"


def test_safety_net_retries_a_run_left_running_by_a_dead_worker():
    campaign = factories.campaign(launch=True, items=2, redundancy=1)
    label_everything(campaign, [truth])
    # The worker committed the run's start and died: the row says running, no result was written.
    orphan = aggregation_run_begin(campaign_id=campaign.id, task_id="lost-task")
    assert tasks.campaigns_aggregate_stale.run() == []  # running, not yet stale: left alone

    later = timezone.now() + dt.timedelta(seconds=settings.AGGREGATION_STALE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert tasks.campaigns_aggregate_stale.run() == [campaign.id]  # eager: the queued run happens here

    orphan.refresh_from_db()
    assert orphan.status == "failed"
    finished = AggregationRun.objects.get(campaign=campaign, status="finished")
    assert finished.answer_rows == 2
    assert all(item.result_label == truth(item) for item in Item.objects.filter(campaign=campaign))


def test_safety_net_counts_answers_not_timestamps():
    """An answer can commit after a run read the table yet carry an earlier created_at: the counts tell."""
    campaign = factories.campaign(launch=True, items=3, redundancy=1)
    label_everything(campaign, [truth])
    campaign_aggregate(campaign_id=campaign.id)
    run = AggregationRun.objects.get(campaign=campaign)
    AggregationRun.objects.filter(pk=run.pk).update(answer_rows=2, started_at=timezone.now() + dt.timedelta(hours=1))
    assert tasks.campaigns_aggregate_stale.run() == [campaign.id]
    assert AggregationRun.objects.filter(campaign=campaign, status="finished", answer_rows=3).exists()
