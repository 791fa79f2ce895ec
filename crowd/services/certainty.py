"""Uncertainty first: each open microtask carries how certain its least certain item already is, so the claim can
offer the least certain work first with the same one-index-probe statement (crowd/services/routing.py).

An item's certainty is the Dawid-Skene posterior of its current label once people answered it
(`Item.confidence`), the model's score before that (`Item.prelabel_score`), and 0 when there is neither: an item
nobody has judged is as uncertain as it gets. Only microtasks of campaigns ordered `uncertainty_first` carry it
(`MicroTask.by_certainty`), so the partial index that orders them holds nothing for the other campaigns.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import FloatField, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from crowd.models import Campaign, MicroTask, MicroTaskItem

REFRESH_CHUNK = 2000


def order_flags(campaign: Campaign) -> dict[str, bool]:
    """The campaign's order, copied onto each microtask it packs, so the claim's probe needs no join."""
    return {
        "breadth_first": campaign.order == Campaign.Order.BREADTH_FIRST,
        "by_certainty": campaign.order == Campaign.Order.UNCERTAINTY_FIRST,
    }


def _least_certain_item() -> Subquery:
    return Subquery(
        MicroTaskItem.objects.filter(microtask=OuterRef("pk"))
        .values("microtask")
        .annotate(
            least=Min(
                Coalesce("item__confidence", "item__prelabel_score", Value(0.0), output_field=FloatField()),
            )
        )
        .values("least"),
        output_field=FloatField(),
    )


def microtask_certainty_refresh(*, campaign_id: int, microtask_ids: Iterable[int] | None = None) -> int:
    """Recompute `certainty` of the campaign's open uncertainty-first microtasks (or of `microtask_ids`), in chunks
    of REFRESH_CHUNK rows, each its own short transaction when the caller holds none: a claim skips rows locked
    here (SKIP LOCKED), so a long lock over a whole campaign would make claims walk past them. Returns rows set."""
    if microtask_ids is None:
        open_ids = MicroTask.objects.filter(campaign_id=campaign_id, is_open=True, by_certainty=True)
        ids = list(open_ids.order_by("id").values_list("id", flat=True))
    else:
        ids = list(microtask_ids)
    changed = 0
    for start in range(0, len(ids), REFRESH_CHUNK):
        with transaction.atomic():
            changed += MicroTask.objects.filter(
                id__in=ids[start : start + REFRESH_CHUNK], campaign_id=campaign_id, by_certainty=True
            ).update(certainty=Coalesce(_least_certain_item(), Value(0.0), output_field=FloatField()))
    return changed
