"""The built-in baseline's jobs: which campaigns are due, one training run, its labels on the open items.

A campaign with `baseline` on (single choice, items with a text) trains the baseline (crowd/model_loop/baseline.py)
once it has BASELINE_MIN_ITEMS labelled items — completed non-gold items whose result is at least as confident as
the campaign's target, plus gold items — and again each time that number has grown by a quarter. Each run records
its accuracy on a held-out 20% (BaselineRun), then pre-labels the items still open that have no other model's
pre-label, as `crowdloop-baseline@<run version>`, with the predicted probability as the score. Aggregation then
treats it as one more annotator.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet

from crowd.model_loop import baseline
from crowd.model_loop.registry import label_model_register, model_key
from crowd.models import BaselineRun, Campaign, Item, LabelModel

BASELINE_NAME = "crowdloop-baseline"
GROWTH = 1.25  # retrain when the labelled items grew by a quarter
TRAIN_MAX_ITEMS = 50_000  # the most recent labelled items; more adds little to a linear text model
WRITE_CHUNK = 2000
LIVE = (Campaign.Status.DRAFT, Campaign.Status.ACTIVE, Campaign.Status.PAUSED)


def _labelled(campaign: Campaign):
    """Items the baseline learns from: confident non-gold results, and gold."""
    confident = Q(
        gold__isnull=True,
        status=Item.Status.COMPLETE,
        result_label__isnull=False,
        confidence__gte=campaign.target_confidence,
    )
    return Item.objects.filter(confident | Q(gold__isnull=False), campaign=campaign)


def _last_run(campaign: Campaign) -> BaselineRun | None:
    return BaselineRun.objects.filter(campaign=campaign).order_by("-version").first()


def _due(campaign: Campaign, labelled: int) -> bool:
    if labelled < settings.BASELINE_MIN_ITEMS:
        return False
    last = _last_run(campaign)
    return last is None or labelled >= GROWTH * (last.trained_on + last.held_out)


def campaigns_baseline_due() -> list[int]:
    """Ids of live single-choice campaigns with the baseline on whose labelled items call for a (new) training."""
    campaigns = Campaign.objects.filter(baseline=True, task_type=Campaign.TaskType.SINGLE_CHOICE, status__in=LIVE)
    return [c.id for c in campaigns.order_by("id") if _due(c, _labelled(c).count())]


def _examples(campaign: Campaign) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    values = set(campaign.label_values())
    rows = _labelled(campaign).order_by("-id").values_list("data", "gold", "result_label")[:TRAIN_MAX_ITEMS]
    for data, gold, result in rows:
        label = gold if gold is not None else result
        text = baseline.item_text(data)
        if text is not None and isinstance(label, str) and label in values:
            texts.append(text)
            labels.append(label)
    return texts, labels


def _open_for_baseline(campaign: Campaign):
    """Open items with no pre-label, or with an older baseline's: another model's pre-label is left alone. Not gold:
    the baseline learned from gold, so its answers there would flatter its estimated accuracy."""
    mine = Q(prelabel_model__startswith=f"{BASELINE_NAME}@")
    return Item.objects.filter(
        Q(prelabel__isnull=True) | mine, campaign=campaign, status=Item.Status.OPEN, gold__isnull=True
    )


def baseline_train(*, campaign_id: int) -> dict[str, Any]:
    """Train the campaign's baseline if due, record the run, and pre-label its open items. Idempotent: a run that
    is not due (or already made by a concurrent job: the campaign row is locked while writing, and the due check
    repeated) does nothing. Returns what happened."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if not campaign.baseline or campaign.task_type != Campaign.TaskType.SINGLE_CHOICE or campaign.status not in LIVE:
        return {"status": "off"}
    texts, labels = _examples(campaign)
    if not _due(campaign, len(texts)) or len(set(labels)) < 2:
        return {"status": "waiting", "labelled": len(texts)}
    last = _last_run(campaign)
    version = (last.version + 1) if last else 1
    evaluation = baseline.evaluate(texts, labels, seed=version)
    model = baseline.fit(texts, labels)
    key = model_key(BASELINE_NAME, str(version))
    labelled = 0
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if BaselineRun.objects.filter(campaign=campaign, version=version).exists():
            return {"status": "waiting", "labelled": len(texts)}
        run = BaselineRun.objects.create(
            campaign=campaign,
            version=version,
            trained_on=evaluation.trained_on,
            held_out=evaluation.held_out,
            accuracy=evaluation.accuracy,
        )
        label_model_register(
            organization_id=campaign.organization_id,
            name=BASELINE_NAME,
            version=str(version),
            kind=LabelModel.Kind.BUILTIN,
        )
        after_id = 0
        while True:
            rows = list(
                _open_for_baseline(campaign)
                .filter(id__gt=after_id)
                .order_by("id")
                .select_for_update(no_key=True)
                .only("id", "data")[:WRITE_CHUNK]
            )
            if not rows:
                break
            after_id = rows[-1].id
            rows = [row for row in rows if baseline.item_text(row.data) is not None]
            for row, (label, probability) in zip(
                rows, baseline.predict(model, [baseline.item_text(row.data) for row in rows]), strict=True
            ):
                row.prelabel, row.prelabel_score, row.prelabel_model = label, probability, key
            Item.objects.bulk_update(rows, ["prelabel", "prelabel_score", "prelabel_model"], batch_size=1000)
            labelled += len(rows)
        BaselineRun.objects.filter(pk=run.pk).update(items_labelled=F("items_labelled") + labelled)
    if labelled and campaign.order == Campaign.Order.UNCERTAINTY_FIRST:
        from crowd.services.certainty import microtask_certainty_refresh

        microtask_certainty_refresh(campaign_id=campaign.id)
    return {
        "status": "trained",
        "version": version,
        "accuracy": evaluation.accuracy,
        "trained_on": evaluation.trained_on,
        "held_out": evaluation.held_out,
        "labelled": labelled,
    }


def baseline_runs_for_campaign(*, campaign: Campaign) -> QuerySet[BaselineRun]:
    """The campaign's baseline runs, newest first (the caller has already checked the campaign is the reader's)."""
    return BaselineRun.objects.filter(campaign=campaign).order_by("-version")
