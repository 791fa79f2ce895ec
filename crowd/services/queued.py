"""Leases fetched ahead: while a worker answers their current lease in a campaign, the next one can be claimed
and sent to the phone, so a slow link waits for nothing between microtasks. A queued lease holds its slot like
any lease (never over-assigned) and expires like any lease; it becomes the current one when the current one
ends (submitted, given back) or when the worker asks for work with none current, and its clock starts then.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from crowd.models import Assignment


def queued_promote(*, lease_id: int, lease_seconds: int, now: datetime) -> bool:
    """Make a queued lease the current one: its time on task and its lease length count from now. False when it
    is no longer a live queued lease, or another lease is current in the campaign (the unique constraint says
    so: the caller keeps that one). Touches only this row; safe inside the caller's transaction."""
    try:
        with transaction.atomic():
            moved = Assignment.objects.filter(
                pk=lease_id, status=Assignment.Status.ACTIVE, queued=True, expires_at__gt=now
            ).update(
                queued=False,
                leased_at=now,
                last_activity_at=now,
                active_seconds=0,
                expires_at=Greatest(F("expires_at"), Value(now + timedelta(seconds=lease_seconds))),
            )
    except IntegrityError:
        return False
    return moved == 1


def queued_lease_id(*, worker_id: int, campaign_id: int, now: datetime) -> int | None:
    """The worker's live queued lease in the campaign, if any (off the hot path: submit carries it in its read)."""
    return (
        Assignment.objects.filter(worker_id=worker_id, campaign_id=campaign_id, queued=True, expires_at__gt=now)
        .filter(status=Assignment.Status.ACTIVE)
        .values_list("id", flat=True)
        .first()
    )
