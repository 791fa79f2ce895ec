"""Reads for models in the loop: the counts the anchoring check judges."""

from django.db.models import Count, F, OuterRef, Q, Subquery

from crowd.model_loop.anchoring import AnchoringReport, Proportion, anchoring_report
from crowd.models import Answer, AssignmentItem, Campaign


def anchoring_for_campaign(*, campaign: Campaign) -> AnchoringReport:
    """Agreement with the model's suggestion and gold accuracy, shown arm against blind arm, over the answers
    given in review mode to items that had a pre-label (answers given in label mode carry no arm and are left
    out). One grouped query over the campaign's answers."""
    arm = AssignmentItem.objects.filter(assignment=OuterRef("assignment"), item=OuterRef("item")).values("blind")[:1]
    on_gold = Q(item__gold__isnull=False)
    rows = (
        Answer.objects.filter(campaign=campaign, item__prelabel__isnull=False)
        .annotate(blind=Subquery(arm))
        .filter(blind__isnull=False)
        .values("blind")
        .annotate(
            total=Count("id"),
            agree=Count("id", filter=Q(label=F("item__prelabel"))),
            gold_total=Count("id", filter=on_gold),
            gold_correct=Count("id", filter=on_gold & Q(label=F("item__gold"))),
        )
    )
    counts = {row["blind"]: row for row in rows}
    empty = {"total": 0, "agree": 0, "gold_total": 0, "gold_correct": 0}
    shown, blind = counts.get(False, empty), counts.get(True, empty)
    return anchoring_report(
        agreement_shown=Proportion(shown["agree"], shown["total"]),
        agreement_blind=Proportion(blind["agree"], blind["total"]),
        gold_accuracy_shown=Proportion(shown["gold_correct"], shown["gold_total"]),
        gold_accuracy_blind=Proportion(blind["gold_correct"], blind["gold_total"]),
    )
