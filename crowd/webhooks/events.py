"""Event names and the outbox writer.

`event_emit` is called by the service that makes a change, inside that service's transaction: the event rows commit
with the change or not at all (a rolled-back change sends nothing), and a delivery job is queued only after the
commit (a broker outage loses nothing: beat picks pending deliveries up every few seconds). An organization without
a subscription to the event type gets no rows at all.
"""

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection
from django.utils import timezone

from crowd.models import Item, WebhookDelivery, WebhookEvent, WebhookSubscription

ITEM_COMPLETED = "item.completed"
CAMPAIGN_COMPLETED = "campaign.completed"
CAMPAIGN_PAUSED = "campaign.paused"
IMPORT_FINISHED = "import.finished"
IMPORT_FAILED = "import.failed"
ASSIGNMENT_SUBMITTED = "assignment.submitted"  # opt-in: one per submit, chatty
APPEAL_CREATED = "appeal.created"
EVENT_TYPES = (
    ITEM_COMPLETED,
    CAMPAIGN_COMPLETED,
    CAMPAIGN_PAUSED,
    IMPORT_FINISHED,
    IMPORT_FAILED,
    ASSIGNMENT_SUBMITTED,
    APPEAL_CREATED,
)
# Sent only by the "send test event" action, to one subscription, never retried.
WEBHOOK_TEST = "webhook.test"

BATCH = 1000


def subscribed_sql(organization_column: str, event_type: str) -> tuple[str, list[str]]:
    """An SQL expression (PostgreSQL and SQLite) true when the organization in `organization_column` has an active
    subscription to `event_type`: the submit's hot path folds it into a read it makes anyway, so nobody pays a
    statement for an event nobody asked for."""
    return (
        "EXISTS (SELECT 1 FROM crowd_webhooksubscription ws WHERE ws.organization_id = "
        f"{organization_column} AND ws.active AND CAST(ws.events AS TEXT) LIKE %s)",
        [f'%"{event_type}"%'],
    )


def _subscribers(organization_id: int, event_type: str) -> list[int]:
    """The active subscriptions to `event_type`. On PostgreSQL their rows are held FOR KEY SHARE until the change
    commits: a subscription deleted meanwhile waits, instead of failing the change's commit on the new deliveries'
    foreign keys; concurrent emitters and edits of the subscription are not blocked."""
    table = WebhookSubscription._meta.db_table
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, events FROM {table} WHERE organization_id = %s AND active{lock}", [organization_id])
        rows = cursor.fetchall()
    # Filtered here, not with a JSON lookup: SQLite has no JSON containment, and an organization has few hooks.
    return [pk for pk, events in rows if event_type in (json.loads(events) if isinstance(events, str) else events)]


def events_emit(*, organization_id: int, event_type: str, payloads: Callable[[], Iterable[dict[str, Any]]]) -> int:
    """Write one event per payload for every active subscription to `event_type` (payloads are built only if there
    is one). Call inside the transaction of the change. Returns how many deliveries were written."""
    subscription_ids = _subscribers(organization_id, event_type)
    if not subscription_ids:
        return 0
    now = timezone.now()
    written = 0
    batch: list[WebhookEvent] = []

    def flush() -> int:
        events = WebhookEvent.objects.bulk_create(batch)
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event_id=event.id, subscription_id=sid, next_attempt_at=now, created_at=now)
                for event in events
                for sid in subscription_ids
            ],
            batch_size=BATCH,
        )
        batch.clear()
        return len(events) * len(subscription_ids)

    for data in payloads():
        batch.append(
            WebhookEvent(uid=uuid.uuid4(), organization_id=organization_id, type=event_type, data=data, created_at=now)
        )
        if len(batch) >= BATCH:
            written += flush()
    if batch:
        written += flush()
    if written:
        from crowd.tasks import webhook_deliveries_send_soon

        webhook_deliveries_send_soon()
    return written


def event_emit(*, organization_id: int, event_type: str, data: dict[str, Any]) -> int:
    """One event (see events_emit). Must run inside the caller's transaction."""
    return events_emit(organization_id=organization_id, event_type=event_type, payloads=lambda: [data])


def event_body(event: WebhookEvent) -> dict[str, Any]:
    """What a receiver gets: the same body on every retry."""
    return {
        "id": str(event.uid),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }


def campaign_event(*, campaign: Any, event_type: str, reason: str) -> int:
    """campaign.completed / campaign.paused, with why (`reason`), inside the transaction that moved it."""
    return event_emit(
        organization_id=campaign.organization_id,
        event_type=event_type,
        data={"campaign": {"id": campaign.id, "name": campaign.name, "status": campaign.status}, "reason": reason},
    )


def items_completed_emit(*, campaign: Any, item_ids: list[int]) -> int:
    """item.completed for each of these items, inside the transaction that completed them (an aggregation run, or
    auto-acceptance); the items are read only if someone listens. `accepted_on_model` names the model whose label
    was accepted on evidence, else null."""

    def payloads() -> Iterable[dict[str, Any]]:
        items = Item.objects.filter(pk__in=item_ids).order_by("id")
        fields = ("id", "external_id", "result_label", "confidence", "answer_count", "votes", "accepted_model")
        for item in items.only(*fields).iterator():
            yield {
                "campaign": campaign.id,
                "item": item.id,
                "external_id": item.external_id,
                "label": item.result_label,
                "confidence": item.confidence,
                "answers": item.answer_count,
                "votes": item.votes,
                "decided": False,
                "accepted_on_model": item.accepted_model or None,
            }

    if not item_ids:
        return 0
    return events_emit(organization_id=campaign.organization_id, event_type=ITEM_COMPLETED, payloads=payloads)
