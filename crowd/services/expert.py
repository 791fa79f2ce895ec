"""A coordinator's final label for an item the crowd left unsure.

The label becomes the item's result (confidence 1, with who decided and when) and is treated by Dawid-Skene as a
known label, as gold is: the next aggregation scores every worker who answered the item against it. The item is
complete, so no more answers are asked for it; microtasks left with nothing to ask stop being offered.
"""

from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.exceptions import InvalidState, ValidationFailed
from crowd.labels import LabelChecker, RowError
from crowd.models import Campaign, Item, MicroTask, MicroTaskItem
from crowd.webhooks.events import ITEM_COMPLETED, event_emit


def item_decide(*, item_id: int, label: Any, decided_by_id: int) -> Item:
    """Set the final label of one of a campaign's items. Takes the campaign lock first, as aggregation does, so a
    run in progress cannot write its own label over the decision. ValidationFailed for a label outside the
    campaign's labels; InvalidState for a gold item or an archived campaign."""
    campaign_id = Item.objects.filter(pk=item_id).values_list("campaign_id", flat=True).get()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status == Campaign.Status.ARCHIVED:
            raise InvalidState(_("The campaign is archived: its results can no longer change."))
        item = Item.objects.select_for_update().get(pk=item_id)
        if item.gold is not None:
            raise InvalidState(_("This is a gold item: its label is known already."))
        try:
            value = LabelChecker(campaign).check(label, "label")
        except RowError as exc:
            raise ValidationFailed(exc.message, fields={"label": exc.message}) from None
        item.expert_label = value
        item.expert_by_id = decided_by_id
        item.expert_at = timezone.now()
        item.result_label = value
        item.confidence = 1.0
        item.accepted_model = ""  # the label is a person's now, whether or not acceptance runs again to unmark it
        was_complete = item.status == Item.Status.COMPLETE
        item.status = Item.Status.COMPLETE
        item.save(
            update_fields=[
                "expert_label",
                "expert_by",
                "expert_at",
                "result_label",
                "confidence",
                "status",
                "accepted_model",
            ]
        )
        if not was_complete:
            event_emit(
                organization_id=campaign.organization_id,
                event_type=ITEM_COMPLETED,
                data={
                    "campaign": campaign.id,
                    "item": item.id,
                    "external_id": item.external_id,
                    "label": value,
                    "confidence": 1.0,
                    "answers": item.answer_count,
                    "votes": item.votes,
                    "decided": True,
                    "accepted_on_model": None,
                },
            )
        _close_finished_microtasks(item.id)
        from crowd.tasks import campaign_aggregate_soon

        campaign_aggregate_soon(campaign_id=campaign.id)  # rescore the workers against the decision
    return item


def _close_finished_microtasks(item_id: int) -> None:
    """Open microtasks holding this item and no unfinished one stop offering slots: their target drops to the
    slots already taken (held leases can still be submitted and are paid)."""
    microtask, entry, item = MicroTask._meta.db_table, MicroTaskItem._meta.db_table, Item._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {microtask} m SET target = m.active_count + m.done_count, is_open = false
            WHERE m.is_open AND m.id IN (SELECT microtask_id FROM {entry} WHERE item_id = %s)
              AND NOT EXISTS (SELECT 1 FROM {entry} e JOIN {item} i ON i.id = e.item_id
                              WHERE e.microtask_id = m.id AND i.status <> %s)""",
            [item_id, Item.Status.COMPLETE],
        )
