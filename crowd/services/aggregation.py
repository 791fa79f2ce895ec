"""Turn a campaign's answers into item results (majority vote; Dawid-Skene arrives in its own module)."""

import time
from typing import Any

import numpy as np
from django.db import transaction

from crowd.aggregation.majority import majority_vote
from crowd.labels import label_key
from crowd.models import Answer, Campaign, Item

UPDATE_BATCH = 2000


def campaign_aggregate(*, campaign_id: int) -> dict[str, Any]:
    """Recompute every answered item's label, confidence and votes; complete items that reached their target.

    Idempotent (a pure function of the stored answers). Locks the campaign row so runs never overlap.
    """
    started = time.perf_counter()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        rows = list(
            Answer.objects.filter(campaign=campaign, is_gold=False)
            .order_by("item_id", "id")  # stable: the first spelling of a free-text answer names its class
            .values_list("item_id", "label")
        )
        if not rows:
            return {"items": 0, "answers": 0, "seconds": time.perf_counter() - started}
        # Class order: the campaign's label order first (it decides ties), then free-text keys as seen.
        classes: dict[str, Any] = {}
        if campaign.task_type == Campaign.TaskType.SINGLE_CHOICE:
            classes = {value: value for value in campaign.label_values()}
        item_ids = sorted({item_id for item_id, _ in rows})
        item_index = {item_id: index for index, item_id in enumerate(item_ids)}
        label_codes = np.empty(len(rows), dtype=np.int64)
        class_index: dict[str, int] = {key: i for i, key in enumerate(classes)}
        for position, (_, label) in enumerate(rows):
            key = label_key(label, campaign.task_type)
            if key not in class_index:
                class_index[key] = len(class_index)
                classes[key] = label
            label_codes[position] = class_index[key]
        items = np.fromiter((item_index[item_id] for item_id, _ in rows), dtype=np.int64, count=len(rows))
        result = majority_vote(items, label_codes, len(item_ids), len(class_index))
        class_keys = list(class_index)
        targets = dict(Item.objects.filter(id__in=item_ids).values_list("id", "redundancy"))
        updates: list[Item] = []
        for index, item_id in enumerate(item_ids):
            counts = result.votes[index]
            votes = {class_keys[c]: int(n) for c, n in enumerate(counts) if n}
            answers = int(counts.sum())
            updates.append(
                Item(
                    id=item_id,
                    result_label=classes[class_keys[int(result.label[index])]],
                    confidence=float(result.confidence[index]),
                    votes=votes,
                    status=Item.Status.COMPLETE if answers >= targets.get(item_id, 0) > 0 else Item.Status.OPEN,
                )
            )
        Item.objects.bulk_update(updates, ["result_label", "confidence", "votes", "status"], batch_size=UPDATE_BATCH)
        remaining = Item.objects.filter(campaign=campaign, gold__isnull=True).exclude(status=Item.Status.COMPLETE)
        if campaign.status == Campaign.Status.ACTIVE and not remaining.exists():
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.COMPLETED)
    return {"items": len(item_ids), "answers": len(rows), "seconds": time.perf_counter() - started}
