"""Aggregation: a campaign's answers become item labels with confidences, annotator quality, and more or
fewer answers where they are needed (dynamic redundancy).

Single choice runs Dawid-Skene (crowd/aggregation/dawid_skene.py) with model pre-labels as annotators
(one per model name) and gold items clamped; multi choice runs one binary model per label; free text
runs a normalized exact-match vote. Each run is recorded as an AggregationRun.
"""

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crowd.aggregation.dawid_skene import AggregationResult, dawid_skene
from crowd.aggregation.free_text import free_text_vote
from crowd.aggregation.multilabel import label_sets_to_matrix, multilabel
from crowd.aggregation.redundancy import redundancy_decisions
from crowd.labels import label_key
from crowd.model_loop.auto_accept import campaign_auto_accept, model_annotator_name
from crowd.models import AggregationRun, Annotator, Campaign, CampaignWorker, Item, MicroTask, MicroTaskItem
from crowd.services.aggregation_runs import aggregation_run_begin, aggregation_run_fail, aggregation_run_summary
from crowd.services.bulk import bulk_update_by_id
from crowd.services.certainty import microtask_certainty_refresh, order_flags
from crowd.webhooks.events import CAMPAIGN_COMPLETED, campaign_event, items_completed_emit
from workers.languages import language_base

DS_OPTIONS = {"max_iter": 100, "tol": 1e-6}  # the engine's defaults otherwise (docs/aggregation.md)
UPDATE_BATCH = 5000


@dataclass
class Data:
    """A campaign's answers as integer codes. Annotators: workers first, then models; known ones first."""

    item_ids: list[int]  # model index -> Item id (items with worker answers, plus gold items)
    annotators: list[tuple[str, Any]]  # index -> ("worker", user id) or ("model", name)
    items: np.ndarray  # (n,) item index of each answer
    annotator_codes: np.ndarray  # (n,) annotator index of each answer
    labels: list[Any]  # (n,) raw labels
    from_worker: np.ndarray  # (n,) bool: a worker's answer (False: a model's pre-label)
    gold: dict[int, Any] = field(default_factory=dict)  # item index -> gold label


@dataclass
class Inference:
    label: list[Any]  # per item index: the result label (JSON value) or None
    confidence: np.ndarray  # (I,)
    votes: list[dict[str, int]]  # per item index: workers' votes
    accuracy: np.ndarray  # (W,) per annotator, nan when not estimated
    confusion: list[Any]  # per annotator: K x K list (or per-label dict) for the API
    answers: np.ndarray  # (W,)
    iterations: int = 0
    converged: bool = True
    log_likelihood: float | None = None
    prior: list[float] = field(default_factory=list)
    method: str = "dawid_skene"


def _answer_rows(campaign: Campaign) -> list[tuple[int, int, Any]]:
    """(item, worker, label) in a stable order (the first spelling of a free-text answer names its class).

    Read with one raw query: at a million answers the ORM's per-row JSON decoding is most of the cost, and
    scalar labels come back as text straight from PostgreSQL.
    """
    scalar = campaign.task_type != Campaign.TaskType.MULTI_CHOICE
    column = "label #>> '{}'" if scalar and connection.vendor == "postgresql" else "label"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, worker_id, {column} FROM crowd_answer WHERE campaign_id = %s ORDER BY item_id, id",
            [campaign.id],
        )
        rows = cursor.fetchall()
    if column == "label":  # SQLite, or lists: decode the JSON text
        rows = [(item, worker, json.loads(label) if isinstance(label, str) else label) for item, worker, label in rows]
    return rows


def _load(campaign: Campaign) -> Data | None:
    rows = _answer_rows(campaign)
    if not rows:
        return None
    answer_items = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    answer_workers = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    gold = dict(Item.objects.filter(campaign=campaign, gold__isnull=False).values_list("id", "gold"))
    # A coordinator's final label is a known label too: workers are scored against it (crowd/services/expert.py).
    gold.update(Item.objects.filter(campaign=campaign, expert_label__isnull=False).values_list("id", "expert_label"))
    item_ids = np.union1d(answer_items, np.fromiter(gold, dtype=np.int64, count=len(gold)))
    prelabels = [
        (item_id, model_annotator_name(campaign, model, score), label)
        for item_id, model, score, label in Item.objects.filter(campaign=campaign, prelabel__isnull=False)
        .order_by("id")
        .values_list("id", "prelabel_model", "prelabel_score", "prelabel")
    ]
    in_model = set(item_ids.tolist())  # pre-labels count only where workers answered or gold is known
    prelabels = [row for row in prelabels if row[0] in in_model]
    known = list(
        Annotator.objects.filter(campaign=campaign).order_by("id").values_list("kind", "worker_id", "model_name")
    )
    present = {("worker", int(w)) for w in np.unique(answer_workers)} | {
        ("model", m or "model") for _, m, _ in prelabels
    }
    order = [key for key in ((k, w if k == "worker" else m) for k, w, m in known) if key in present]
    order += sorted(present - set(order), key=lambda key: (key[0] != "worker", str(key[1])))
    annotator_index = {key: i for i, key in enumerate(order)}
    # Workers' codes through a lookup table over their (few thousand) ids: no Python loop over answers.
    worker_ids = np.array([ident for kind, ident in order if kind == "worker"], dtype=np.int64)
    worker_codes = np.array([annotator_index[("worker", int(w))] for w in worker_ids], dtype=np.int64)
    sorter = np.argsort(worker_ids)
    codes = worker_codes[sorter][np.searchsorted(worker_ids[sorter], answer_workers)]
    model_items = np.array([row[0] for row in prelabels], dtype=np.int64)
    model_codes = np.array([annotator_index[("model", m or "model")] for _, m, _ in prelabels], dtype=np.int64)
    items = np.searchsorted(item_ids, np.concatenate([answer_items, model_items]))
    return Data(
        item_ids=item_ids.tolist(),
        annotators=order,
        items=items,
        annotator_codes=np.concatenate([codes, model_codes]),
        labels=[r[2] for r in rows] + [label for _, _, label in prelabels],
        from_worker=np.concatenate([np.ones(len(rows), dtype=bool), np.zeros(len(prelabels), dtype=bool)]),
        gold={int(np.searchsorted(item_ids, item_id)): label for item_id, label in gold.items()},
    )


def _warm_start(campaign: Campaign, data: Data, n_classes: int) -> dict[str, Any]:
    """Start from the previous run's matrices: an incremental run converges in a few iterations."""
    stored = {
        (a.kind, a.worker_id if a.kind == "worker" else a.model_name): a.confusion
        for a in Annotator.objects.filter(campaign=campaign).only("kind", "worker_id", "model_name", "confusion")
    }
    matrices = []
    for key in data.annotators:
        matrix = stored.get(key)
        if not isinstance(matrix, list) or np.shape(matrix) != (n_classes, n_classes):
            break  # known annotators come first; the rest start from the crowd's average
        matrices.append(matrix)
    last = (
        AggregationRun.objects.filter(campaign=campaign, method="dawid_skene", status=AggregationRun.Status.FINISHED)
        .order_by("-started_at")
        .first()
    )
    prior = last.prior if last and len(last.prior) == n_classes else None
    if not matrices:
        return {}
    return {"init_confusion": np.array(matrices, dtype=np.float64), "init_prior": prior}


def _infer_single(campaign: Campaign, data: Data) -> Inference:
    values = campaign.label_values()
    class_of = {value: k for k, value in enumerate(values)}
    codes = np.fromiter((class_of.get(label, -1) for label in data.labels), dtype=np.int64, count=len(data.labels))
    keep = codes >= 0  # labels outside the set cannot occur (validated at submit); drop them defensively
    n_items, n_annotators, n_classes = len(data.item_ids), len(data.annotators), len(values)
    gold = np.full(n_items, -1, dtype=np.int64)
    for index, label in data.gold.items():
        gold[index] = class_of.get(label, -1)
    result: AggregationResult = dawid_skene(
        data.items[keep],
        data.annotator_codes[keep],
        codes[keep],
        n_items,
        n_annotators,
        n_classes,
        gold=gold,
        **DS_OPTIONS,
        **_warm_start(campaign, data, n_classes),
    )
    counted = keep & data.from_worker  # the crowd's votes; a model's pre-label is not a vote
    tally = np.bincount(data.items[counted] * n_classes + codes[counted], minlength=n_items * n_classes)
    votes = [
        {values[k]: count for k, count in enumerate(row) if count} for row in tally.reshape(n_items, n_classes).tolist()
    ]
    return Inference(
        label=[values[k] if k >= 0 else None for k in result.label.tolist()],
        confidence=np.asarray(result.confidence),
        votes=votes,
        accuracy=np.asarray(result.accuracy),
        confusion=[np.round(m, 4).tolist() for m in result.confusion],
        answers=np.asarray(result.answers),
        iterations=result.iterations,
        converged=result.converged,
        log_likelihood=float(result.log_likelihood),
        prior=np.round(result.prior, 6).tolist(),
    )


def _infer_multi(campaign: Campaign, data: Data) -> Inference:
    values = campaign.label_values()
    chosen = label_sets_to_matrix((label if isinstance(label, list) else [] for label in data.labels), values)
    n_items, n_annotators = len(data.item_ids), len(data.annotators)
    gold = np.full((n_items, len(values)), -1, dtype=np.int64)
    for index, label in data.gold.items():
        gold[index] = [int(value in label) for value in values]
    result = multilabel(
        data.items, data.annotator_codes, chosen, n_items, n_annotators, gold=gold, method="ds", **DS_OPTIONS
    )
    # Confidence in the whole set: the labels are modelled independently, so their certainties multiply.
    certainty = np.where(result.probability >= 0.5, result.probability, 1 - result.probability).prod(axis=1)
    votes: list[dict[str, int]] = [defaultdict(int) for _ in range(n_items)]
    for index in np.flatnonzero(data.from_worker):
        for value in data.labels[index]:
            votes[data.items[index]][value] += 1
    accuracy = np.mean([run.accuracy for run in result.per_label], axis=0)
    confusion = [
        {value: np.round(run.confusion[w], 4).tolist() for value, run in zip(values, result.per_label, strict=True)}
        for w in range(n_annotators)
    ]
    return Inference(
        label=[[v for v, on in zip(values, row, strict=True) if on] for row in result.selected.tolist()],
        confidence=certainty,
        votes=[dict(v) for v in votes],
        accuracy=accuracy,
        confusion=confusion,
        answers=np.bincount(data.annotator_codes, minlength=n_annotators),
        iterations=max(run.iterations for run in result.per_label),
        converged=all(run.converged for run in result.per_label),
        method="multilabel_dawid_skene",
    )


def _infer_free_text(data: Data) -> Inference:
    workers = data.from_worker
    texts = [str(label) for label, ok in zip(data.labels, workers, strict=True) if ok]
    n_items, n_annotators = len(data.item_ids), len(data.annotators)
    result = free_text_vote(data.items[workers], texts, n_items)
    # Quality for free text: how often an annotator's normalized answer matches the item's winner.
    winners = [label_key(text, Campaign.TaskType.FREE_TEXT) if text is not None else None for text in result.label]
    agree = np.array(
        [
            label_key(text, Campaign.TaskType.FREE_TEXT) == winners[item]
            for text, item in zip(texts, data.items[workers], strict=True)
        ],
        dtype=bool,
    )
    codes = data.annotator_codes[workers]
    answers = np.bincount(codes, minlength=n_annotators)
    matches = np.bincount(codes, weights=agree, minlength=n_annotators)
    accuracy = np.divide(matches, answers, out=np.full(n_annotators, np.nan), where=answers > 0)
    return Inference(
        # The winner's most frequent spelling, with stray outer and inner whitespace tidied for display.
        label=[" ".join(text.split()) if isinstance(text, str) else text for text in result.display],
        confidence=np.asarray(result.confidence),
        votes=list(result.votes),
        accuracy=accuracy,
        confusion=[[] for _ in range(n_annotators)],
        answers=answers,
        method="free_text_vote",
    )


def _infer(campaign: Campaign, data: Data) -> Inference:
    if campaign.task_type == Campaign.TaskType.MULTI_CHOICE:
        return _infer_multi(campaign, data)
    if campaign.task_type == Campaign.TaskType.FREE_TEXT:
        return _infer_free_text(data)
    return _infer_single(campaign, data)


def _write_items(rows: list[tuple[int, Any, float, dict[str, int], str]]) -> None:
    """Set result_label, confidence, votes, status for many items in few statements."""
    bulk_update_by_id(
        table="crowd_item",
        columns=[("result_label", "jsonb"), ("confidence", "float8"), ("votes", "jsonb"), ("status", "varchar(10)")],
        rows=[
            (item_id, None if label is None else json.dumps(label), confidence, json.dumps(votes), status)
            for item_id, label, confidence, votes, status in rows
        ],
    )


def _repack(campaign: Campaign, item_ids: list[int]) -> None:
    """Items that need one more answer go into new microtasks (one slot each), grouped by language."""
    if not item_ids:
        return
    Item.objects.filter(id__in=item_ids).update(redundancy=F("redundancy") + 1)
    groups: dict[str, list[int]] = defaultdict(list)
    for item_id, language in Item.objects.filter(id__in=item_ids).order_by("id").values_list("id", "language"):
        groups[language_base(language) if language else ""].append(item_id)
    flags = order_flags(campaign)
    size = campaign.items_per_task
    for language, ids in groups.items():
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        microtasks = MicroTask.objects.bulk_create(
            MicroTask(campaign=campaign, language=language, target=1, **flags) for _ in chunks
        )
        MicroTaskItem.objects.bulk_create(
            MicroTaskItem(microtask=microtask, item_id=item_id, position=position)
            for microtask, chunk in zip(microtasks, chunks, strict=True)
            for position, item_id in enumerate(chunk)
        )


def _write_annotators(campaign: Campaign, data: Data, inference: Inference) -> None:
    existing = {
        (a.kind, a.worker_id if a.kind == "worker" else a.model_name): a
        for a in Annotator.objects.filter(campaign=campaign)
    }
    changed, new = [], []
    for index, (kind, ident) in enumerate(data.annotators):
        accuracy = float(inference.accuracy[index])
        fields = {
            "answers": int(inference.answers[index]),
            "accuracy": None if np.isnan(accuracy) else round(accuracy, 6),
            "confusion": inference.confusion[index],
        }
        annotator = existing.get((kind, ident))
        if annotator is None:
            worker_id, model_name = (ident, "") if kind == "worker" else (None, ident)
            new.append(Annotator(campaign=campaign, kind=kind, worker_id=worker_id, model_name=model_name, **fields))
        else:
            for name, value in fields.items():
                setattr(annotator, name, value)
            changed.append(annotator)
    Annotator.objects.bulk_create(new, batch_size=UPDATE_BATCH)
    now = timezone.now()
    bulk_update_by_id(
        table="crowd_annotator",
        columns=[("answers", "integer"), ("accuracy", "float8"), ("confusion", "jsonb"), ("updated_at", "timestamptz")],
        rows=[(a.id, a.answers, a.accuracy, json.dumps(a.confusion), now) for a in changed],
    )
    # Routing's quality floor reads CampaignWorker; the estimate now rests on all of the worker's answers.
    quality = {
        ident: (float(inference.accuracy[i]), int(inference.answers[i]))
        for i, (kind, ident) in enumerate(data.annotators)
        if kind == "worker" and not np.isnan(inference.accuracy[i])
    }
    stats = CampaignWorker.objects.filter(campaign=campaign).values_list("id", "worker_id")
    bulk_update_by_id(
        table="crowd_campaignworker",
        columns=[("quality", "float8"), ("quality_answers", "integer")],
        rows=[(pk, round(quality[w][0], 6), quality[w][1]) for pk, w in stats if w in quality],
    )


def campaign_aggregate(*, campaign_id: int, task_id: str | None = None) -> dict[str, Any]:
    """Recompute every answered item's label, confidence and votes, every annotator's quality, and adjust
    redundancy (complete, keep open, or ask one more answer). Idempotent for the same answers.

    The run is committed as running first and finished in the work's transaction (crowd/services/
    aggregation_runs.py); a redelivered `task_id` whose run finished applies nothing again. Locks that run row,
    then the campaign row (FOR NO KEY UPDATE): runs never overlap, submits are not blocked.
    """
    run = aggregation_run_begin(campaign_id=campaign_id, task_id=task_id)
    if run.status == AggregationRun.Status.FINISHED:
        return aggregation_run_summary(run, replayed=True)
    try:
        summary = _aggregate(campaign_id, run.id)
    except BaseException:  # also a warm shutdown's SystemExit: the run must not look alive
        aggregation_run_fail(run_id=run.id)
        raise
    # The new posteriors and settled items are the evidence: the acceptance policy (when on) looks again.
    campaign_auto_accept(campaign_id=campaign_id)
    return summary


def _aggregate(campaign_id: int, run_id: int) -> dict[str, Any]:
    started_at = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        run = AggregationRun.objects.select_for_update().get(pk=run_id)
        if run.status == AggregationRun.Status.FINISHED:  # a duplicate delivery that waited for the first
            return aggregation_run_summary(run, replayed=True)
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        data = _load(campaign)
        if data is None:
            run.delete()  # nothing to aggregate leaves no record
            return {"items": 0, "answers": 0, "seconds": time.perf_counter() - started}
        inference = _infer(campaign, data)
        gold_indexes = set(data.gold)
        index_of = {item_id: i for i, item_id in enumerate(data.item_ids)}
        # Count answers from what was loaded, not Item.answer_count: a submit committing meanwhile is left
        # to the next run (it queues one), so every decision here rests on the same snapshot.
        loaded = np.bincount(data.items[data.from_worker], minlength=len(data.item_ids))
        was_complete: set[int] = set()
        state = {}
        for item_id, redundancy, status in Item.objects.filter(
            campaign=campaign, gold__isnull=True, expert_label__isnull=True
        ).values_list("id", "redundancy", "status"):
            if item_id in index_of and loaded[index_of[item_id]] > 0:
                state[item_id] = (int(loaded[index_of[item_id]]), redundancy)
                if status == Item.Status.COMPLETE:
                    was_complete.add(item_id)
        decision = redundancy_decisions(
            answers={item_id: answers for item_id, (answers, _) in state.items()},
            redundancy={item_id: redundancy for item_id, (_, redundancy) in state.items()},
            confidence={item_id: float(inference.confidence[index_of[item_id]]) for item_id in state},
            target=campaign.target_confidence,
            maximum=campaign.max_redundancy,
        )
        complete = set(decision.complete)
        rows = [
            (
                item_id,
                inference.label[index_of[item_id]],
                round(float(inference.confidence[index_of[item_id]]), 6),
                inference.votes[index_of[item_id]],
                Item.Status.COMPLETE if item_id in complete else Item.Status.OPEN,
            )
            for item_id in state
            if index_of[item_id] not in gold_indexes
        ]
        _write_items(rows)
        _repack(campaign, decision.raise_redundancy)
        _write_annotators(campaign, data, inference)
        unfinished = Item.objects.filter(campaign=campaign, gold__isnull=True).exclude(status=Item.Status.COMPLETE)
        items_completed_emit(campaign=campaign, item_ids=[i for i in decision.complete if i not in was_complete])
        if campaign.status == Campaign.Status.ACTIVE and not unfinished.exists():
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
            campaign.status = Campaign.Status.COMPLETED
            campaign_event(campaign=campaign, event_type=CAMPAIGN_COMPLETED, reason="all_items_complete")
        run.status = AggregationRun.Status.FINISHED
        run.method = inference.method
        run.parameters = DS_OPTIONS if "dawid_skene" in inference.method else {}
        run.started_at = started_at
        run.finished_at = timezone.now()
        run.duration_seconds = time.perf_counter() - started
        run.answers = len(data.labels)
        run.answer_rows = int(data.from_worker.sum())
        run.items = len(data.item_ids)
        run.annotators = len(data.annotators)
        run.iterations = inference.iterations
        run.converged = inference.converged
        run.log_likelihood = inference.log_likelihood
        run.prior = inference.prior
        run.items_completed = len(decision.complete)
        run.items_raised = len(decision.raise_redundancy)
        run.save()
    if campaign.order == Campaign.Order.UNCERTAINTY_FIRST:
        # After the commit, in short chunks: the new posteriors reorder the open work, least certain first.
        microtask_certainty_refresh(campaign_id=campaign.id)
    return aggregation_run_summary(run, items=len(rows))
