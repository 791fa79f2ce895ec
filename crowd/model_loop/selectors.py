"""Reads for models in the loop: the counts the anchoring check judges."""

from collections import defaultdict
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery

from crowd.labels import label_key
from crowd.model_loop.anchoring import AnchoringReport, Proportion, SuggestionCounts, anchoring_report
from crowd.models import Answer, AssignmentItem, Campaign


def anchoring_for_campaign(*, campaign: Campaign) -> AnchoringReport:
    """Agreement with the model's suggestion and gold accuracy, shown arm against blind arm, overall and per
    suggested label (with how often the suggestion itself was right on the shown arm's gold answers), over the
    answers given in review mode to items that had a pre-label (answers given in label mode carry no arm and are
    left out). One query over the campaign's answers, grouped by arm and suggestion."""
    arm = AssignmentItem.objects.filter(assignment=OuterRef("assignment"), item=OuterRef("item")).values("blind")[:1]
    on_gold = Q(item__gold__isnull=False)
    rows = (
        Answer.objects.filter(campaign=campaign, item__prelabel__isnull=False)
        .annotate(blind=Subquery(arm))
        .filter(blind__isnull=False)
        .values("blind", "item__prelabel")
        .annotate(
            total=Count("id"),
            agree=Count("id", filter=Q(label=F("item__prelabel"))),
            gold_total=Count("id", filter=on_gold),
            gold_correct=Count("id", filter=on_gold & Q(label=F("item__gold"))),
            suggestion_correct=Count("id", filter=on_gold & Q(item__prelabel=F("item__gold"))),
        )
    )
    fields = ("total", "agree", "gold_total", "gold_correct")
    arms: dict[bool, dict[str, int]] = {flag: dict.fromkeys(fields, 0) for flag in (False, True)}
    # Per suggested label: [correct, answers] for the shown arm (False), the blind arm (True) and the suggestion.
    per_label: dict[Any, dict[Any, list[int]]] = defaultdict(lambda: {False: [0, 0], True: [0, 0], "model": [0, 0]})
    for row in rows:
        for field in fields:
            arms[row["blind"]][field] += row[field]
        if row["gold_total"]:
            # Spellings of one class (free text) or orders of one set (multiple choice) count as one suggestion.
            by_arm = per_label[label_key(row["item__prelabel"], campaign.task_type)]
            by_arm[row["blind"]][0] += row["gold_correct"]
            by_arm[row["blind"]][1] += row["gold_total"]
            if not row["blind"]:
                by_arm["model"][0] += row["suggestion_correct"]
                by_arm["model"][1] += row["gold_total"]
    shown, blind = arms[False], arms[True]
    return anchoring_report(
        agreement_shown=Proportion(shown["agree"], shown["total"]),
        agreement_blind=Proportion(blind["agree"], blind["total"]),
        gold_accuracy_shown=Proportion(shown["gold_correct"], shown["gold_total"]),
        gold_accuracy_blind=Proportion(blind["gold_correct"], blind["gold_total"]),
        gold_accuracy_by_suggestion={
            key: SuggestionCounts(
                shown=Proportion(*by_arm[False]),
                blind=Proportion(*by_arm[True]),
                suggestion=Proportion(*by_arm["model"]),
            )
            for key, by_arm in per_label.items()
        },
    )
