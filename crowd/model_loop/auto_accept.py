"""Auto-acceptance on evidence, applied: after each aggregation run, items whose model label may stand in for
people need fewer answers (crowd/model_loop/acceptance.py decides; this module counts and writes).

The evidence for a model's class c is the items it labelled c with a score of at least the policy's `min_score`
whose truth is known or being learned: gold items and items people answered. Its precision there comes from
Dawid-Skene, where, with acceptance on, the model's confident labels are an annotator of their own (its less sure
ones another, `model_annotator_name`), so the estimate is about exactly the labels acceptance would take, and
EM separates the model's errors from people's (counting plain agreement with people's labels would understate a
model that is better than them). That precision must reach the threshold (its 95% lower bound or the estimate
itself, by the campaign's `accept_rule`) on at least `min_evidence` items. Then its open, unanswered, confident
items in accepted classes need `confirmations` answers: 0 completes them at once with the model's label, 1 leaves
one slot whose answer aggregation weighs with the model's. An item whose people then disagree, or that needed
more answers after all, loses its mark. A stable random `audit_share` of such items is never accepted, so the model
keeps being measured against people.

Only single-choice campaigns, and only microtasks whose every item qualifies (so a shared page is never cut
short for the items still needing people).
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F, Q

from crowd.model_loop.acceptance import (
    AcceptancePolicy,
    ClassEvidence,
    accepted_classes,
    answers_needed,
    estimated_precision,
    in_audit,
)
from crowd.models import AggregationRun, Annotator, Campaign, Item, MicroTask, MicroTaskItem
from crowd.webhooks.events import CAMPAIGN_COMPLETED, campaign_event, items_completed_emit


@dataclass(frozen=True)
class AcceptSummary:
    accepted_classes: dict[str, list[Any]]  # model -> classes
    completed: int  # accepted with no human answer
    confirming: int  # accepted pending one confirmation
    unmarked: int  # marks removed because people disagreed or more answers were needed


def policy_for(campaign: Campaign) -> AcceptancePolicy:
    return AcceptancePolicy(
        threshold=campaign.accept_threshold,
        min_evidence=campaign.accept_min_evidence,
        min_score=campaign.accept_min_score,
        confirmations=campaign.accept_confirmations,
        audit_share=campaign.accept_audit_share,
        rule=campaign.accept_rule,
    )


def _label_key(label: Any) -> Any:
    return tuple(label) if isinstance(label, list) else label


UNSURE_SUFFIX = " (score < "


def model_of_annotator(annotator_name: str) -> str:
    """The model key an annotator name stands for (its unsure labels' annotator carries a suffix)."""
    return annotator_name.split(UNSURE_SUFFIX, 1)[0]


def model_annotator_name(campaign: Campaign, model: str, score: float | None) -> str:
    """The annotator a pre-label counts as in Dawid-Skene: its model, and with acceptance on, its less sure labels
    (score below the policy's floor) as a second annotator, so the model's own confusion matrix describes exactly
    the labels acceptance would take."""
    name = model or "model"
    if campaign.auto_accept and (score is None or score < campaign.accept_min_score):
        return f"{name}{UNSURE_SUFFIX}{campaign.accept_min_score:g})"
    return name


def _precision(campaign: Campaign, policy: AcceptancePolicy) -> dict[str, dict[Any, ClassEvidence]]:
    """Per model: its precision per class from its Dawid-Skene confusion matrix and the run's prior, over the
    evidence items (its confident labels on gold items and on items people answered)."""
    values = campaign.label_values()
    index = {_label_key(value): k for k, value in enumerate(values)}
    run = AggregationRun.objects.filter(campaign=campaign, status=AggregationRun.Status.FINISHED).order_by("-id")
    prior = run.values_list("prior", flat=True).first()
    if not prior or len(prior) != len(values):
        return {}
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Item.objects.filter(campaign=campaign, prelabel__isnull=False, prelabel_score__gte=policy.min_score)
        .filter(Q(gold__isnull=False) | Q(answer_count__gt=0))
        .values_list("prelabel_model", "prelabel")
    )
    for model, prelabel in rows.iterator(chunk_size=5000):
        k = index.get(_label_key(prelabel))
        if k is not None:
            counts[model or "model"][k] += 1
    confusions = dict(
        Annotator.objects.filter(campaign=campaign, kind=Annotator.Kind.MODEL, model_name__in=list(counts)).values_list(
            "model_name", "confusion"
        )
    )
    out: dict[str, dict[Any, ClassEvidence]] = {}
    for model, per_class in counts.items():
        confusion = np.asarray(confusions.get(model) or [], dtype=float)
        if confusion.shape != (len(values), len(values)):
            continue
        estimated = estimated_precision(confusion, np.asarray(prior, dtype=float), per_class)
        out[model] = {_label_key(values[k]): proportion for k, proportion in estimated.items()}
    return out


def campaign_auto_accept(*, campaign_id: int) -> AcceptSummary | None:
    """Apply the campaign's acceptance policy; None when it is off or the campaign is not single-choice. Takes the
    campaign lock (FOR NO KEY UPDATE, as aggregation), so the two never interleave; the microtasks it changes are
    rows no lease holds (active 0), locked as it writes them. Marks people overruled go whatever the policy's
    state: a campaign paused, closed or with acceptance switched off after some items were accepted still gets
    answers aggregated, and its results must not say a model decided a label people changed."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.task_type != Campaign.TaskType.SINGLE_CHOICE:  # the only kind acceptance marks
            return None
        policy = policy_for(campaign)
        unmarked = _unmark_overruled(campaign, policy)
        if not campaign.auto_accept or campaign.status != Campaign.Status.ACTIVE:
            return None
        accepted = {
            model: accepted_classes(precision, policy) for model, precision in _precision(campaign, policy).items()
        }
        completed = confirming = 0
        if any(accepted.values()):
            completed, confirming = _accept(campaign, policy, accepted)
        if (
            completed
            and not Item.objects.filter(campaign=campaign, gold__isnull=True)
            .exclude(status=Item.Status.COMPLETE)
            .exists()
        ):
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
            campaign.status = Campaign.Status.COMPLETED
            campaign_event(campaign=campaign, event_type=CAMPAIGN_COMPLETED, reason="all_items_complete")
    return AcceptSummary(
        accepted_classes={model: sorted(classes, key=str) for model, classes in accepted.items() if classes},
        completed=completed,
        confirming=confirming,
        unmarked=unmarked,
    )


def _unmark_overruled(campaign: Campaign, policy: AcceptancePolicy) -> int:
    """A provisional acceptance stands only while people agree and no more answers than planned were needed."""
    marked = Item.objects.filter(campaign=campaign).exclude(accepted_model="")
    overruled = [
        item.pk
        for item in marked.only("id", "prelabel", "result_label", "answer_count", "expert_label")
        if item.expert_label is not None
        or item.answer_count > policy.confirmations
        or (item.answer_count and _label_key(item.result_label) != _label_key(item.prelabel))
    ]
    return Item.objects.filter(pk__in=overruled).update(accepted_model="")


def _stored_names(annotators: Any) -> list[str]:
    """Annotator names back to Item.prelabel_model values (an unnamed model is the annotator "model")."""
    names = list(annotators)
    return [*names, ""] if "model" in names else names


def _accept(campaign: Campaign, policy: AcceptancePolicy, accepted: dict[str, set[Any]]) -> tuple[int, int]:
    candidates = {
        item.pk: item
        for item in Item.objects.filter(
            campaign=campaign,
            status=Item.Status.OPEN,
            gold__isnull=True,
            expert_label__isnull=True,
            answer_count=0,
            accepted_model="",
            prelabel__isnull=False,
            prelabel_model__in=_stored_names(model for model, classes in accepted.items() if classes),
        ).only("id", "prelabel", "prelabel_model", "prelabel_score")
        if answers_needed(
            prelabel=_label_key(item.prelabel),
            score=item.prelabel_score,
            accepted=accepted.get(item.prelabel_model or "model", set()),
            policy=policy,
            redundancy=campaign.redundancy,
            audited=in_audit(item.pk, policy.audit_share, f"campaign-{campaign.pk}"),
        )
        < campaign.redundancy
    }
    if not candidates:
        return 0, 0
    members: dict[int, list[int]] = defaultdict(list)
    for microtask_id, item_id in MicroTaskItem.objects.filter(
        microtask__campaign=campaign, microtask__is_open=True, microtask__active_count=0, microtask__done_count=0
    ).values_list("microtask_id", "item_id"):
        members[microtask_id].append(item_id)
    whole = {mt: items for mt, items in members.items() if all(i in candidates for i in items)}
    item_ids = [i for items in whole.values() for i in items]
    if not item_ids:
        return 0, 0
    needed = policy.confirmations
    # Locked as written; a claim that took one meanwhile made active_count > 0 and the filter leaves it alone.
    MicroTask.objects.filter(pk__in=list(whole), active_count=0, done_count=0, is_open=True).update(
        target=needed, is_open=needed > 0
    )
    kept = set(
        MicroTaskItem.objects.filter(microtask_id__in=list(whole), microtask__target=needed).values_list(
            "item_id", flat=True
        )
    )
    accepted_items = Item.objects.filter(pk__in=kept)
    if needed == 0:
        accepted_items.update(
            status=Item.Status.COMPLETE,
            result_label=F("prelabel"),
            confidence=F("prelabel_score"),
            accepted_model=F("prelabel_model"),
            redundancy=0,
        )
        items_completed_emit(campaign=campaign, item_ids=sorted(kept))
        return len(kept), 0
    accepted_items.update(accepted_model=F("prelabel_model"), redundancy=needed)
    return 0, len(kept)
