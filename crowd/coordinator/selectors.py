"""Reads for the coordinator's HTML pages that the shared selectors do not offer; scoped to the actor."""

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import Greatest, TruncHour
from django.utils import timezone

from crowd.aggregation.agreement import krippendorff_alpha_nominal
from crowd.models import Answer, Appeal, Campaign, Item, Organization
from crowd.selectors import Actor, appeals_for_actor


def organizations_for_actor(*, actor: Actor) -> QuerySet[Organization]:
    return Organization.objects.filter(id__in=list(actor.roles)).order_by("name")


def appeal_queue_for_actor(*, actor: Actor) -> QuerySet[Appeal]:
    """Open appeals first, with what the page shows of each: the campaign and the decider (the worker is shown by
    pseudonym, from the assignment's worker id)."""
    return appeals_for_actor(actor=actor).select_related("assignment__campaign", "decided_by")


def campaign_watch(*, campaign: Campaign, now: datetime | None = None, hours: int = 48) -> dict[str, Any]:
    """What a coordinator watches on the campaign page: items by status, answers per hour over the last `hours`,
    the confidence of labelled items, answers still to collect with an estimate of when they will be in, and the
    agreement between annotators (Krippendorff's alpha over the latest AGREEMENT_ITEMS items with two answers)."""
    now = now or timezone.now()
    first_hour = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    per_hour = [0] * hours
    rows = (
        Answer.objects.filter(campaign=campaign, is_gold=False, created_at__gte=first_hour)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
    )
    for row in rows:
        slot = int((row["hour"] - first_hour).total_seconds() // 3600)
        if 0 <= slot < hours:
            per_hour[slot] += row["n"]
    items = Item.objects.filter(campaign=campaign, gold__isnull=True)
    by_status = {row["status"]: row["n"] for row in items.values("status").annotate(n=Count("id"))}
    confidences = list(items.filter(confidence__isnull=False).values_list("confidence", flat=True)[:200_000])
    still_to_collect = (
        items.filter(status=Item.Status.OPEN).aggregate(n=Sum(Greatest(F("redundancy") - F("answer_count"), Value(0))))[
            "n"
        ]
        or 0
    )
    recent_rate = sum(per_hour[-6:]) / 6  # answers per hour over the last six hours
    eta_hours = still_to_collect / recent_rate if recent_rate and still_to_collect else None
    return {
        "first_hour": first_hour,
        "per_hour": per_hour,
        "by_status": by_status,
        "confidences": confidences,
        "still_to_collect": still_to_collect,
        "recent_rate": recent_rate,
        "eta_hours": eta_hours,
        "alpha": krippendorff_alpha_nominal(_agreement_units(campaign)),
    }


AGREEMENT_ITEMS = 5000


def _agreement_units(campaign: Campaign) -> list[list[str]]:
    """The labels each recent item got, as text (multi-choice labels are lists: compared as a whole)."""
    recent = list(
        Item.objects.filter(campaign=campaign, gold__isnull=True, answer_count__gte=2)
        .order_by("-id")
        .values_list("id", flat=True)[:AGREEMENT_ITEMS]
    )
    units: dict[int, list[str]] = defaultdict(list)
    for item_id, label in Answer.objects.filter(item_id__in=recent, is_gold=False).values_list("item_id", "label"):
        units[item_id].append(json.dumps(label, sort_keys=True))
    return list(units.values())
