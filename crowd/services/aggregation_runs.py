"""The life of an aggregation run: recorded as running before the work, finished in the work's transaction.

A Celery worker can die at any instruction (SIGKILL, out of memory, a lost host). Because the run row is
committed before the work starts and marked finished only in the work's own transaction, a dead worker leaves
a `running` row and no half-applied results; the redelivered message (same task id) finds that row and does
the work again, and a message delivered twice finds the run finished and applies nothing.
"""

import logging
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from crowd.models import AggregationRun

logger = logging.getLogger(__name__)


def aggregation_run_begin(*, campaign_id: int, task_id: str | None) -> AggregationRun:
    """Record a run as running and commit at once; with a task id, reuse the run that id already has (a
    redelivered or retried message), restarted unless it finished. Locks that run row briefly, so a duplicate
    delivery waits for the first one's work transaction and then sees it finished. Call outside a transaction.
    """
    now = timezone.now()
    with transaction.atomic():
        if task_id is None:
            return AggregationRun.objects.create(
                campaign_id=campaign_id, status=AggregationRun.Status.RUNNING, started_at=now
            )
        run, created = AggregationRun.objects.select_for_update().get_or_create(
            task_id=task_id,
            defaults={"campaign_id": campaign_id, "status": AggregationRun.Status.RUNNING, "started_at": now},
        )
        if not created and run.status != AggregationRun.Status.FINISHED:
            run.status = AggregationRun.Status.RUNNING
            run.started_at = now
            run.save(update_fields=["status", "started_at"])
    return run


def aggregation_run_summary(run: AggregationRun, *, replayed: bool = False, items: int | None = None) -> dict[str, Any]:
    """What a run did, as the task returns it; `replayed` when this call found the run already finished."""
    return {
        "run": run.id,
        "items": run.items if items is None else items,
        "answers": run.answers,
        "completed": run.items_completed,
        "raised": run.items_raised,
        "seconds": run.duration_seconds,
        "replayed": replayed,
    }


def aggregation_run_fail(*, run_id: int) -> None:
    """Mark a run whose work raised as failed (best effort: the database may be what failed; a run left
    running is picked up by `aggregation_runs_abandon_stale` instead)."""
    try:
        AggregationRun.objects.filter(pk=run_id, status=AggregationRun.Status.RUNNING).update(
            status=AggregationRun.Status.FAILED, finished_at=timezone.now()
        )
    except DatabaseError:
        logger.warning("Could not mark aggregation run %s as failed", run_id, exc_info=True)


def aggregation_runs_abandon_stale(*, older_than_seconds: float) -> list[int]:
    """Mark runs left running longer than `older_than_seconds` whose row no transaction holds (their worker is
    gone: a live run keeps its row locked until it commits) as failed; returns their campaigns' ids.

    Locks those run rows (FOR UPDATE SKIP LOCKED), so a slow but live run is never abandoned.
    """
    now = timezone.now()
    with transaction.atomic():
        stale = list(
            AggregationRun.objects.select_for_update(skip_locked=True)
            .filter(status=AggregationRun.Status.RUNNING, started_at__lt=now - timedelta(seconds=older_than_seconds))
            .values_list("id", "campaign_id")
        )
        AggregationRun.objects.filter(id__in=[run_id for run_id, _ in stale]).update(
            status=AggregationRun.Status.FAILED, finished_at=now
        )
    for run_id, campaign_id in stale:
        logger.warning("Aggregation run %s of campaign %s was left running; marked failed", run_id, campaign_id)
    return sorted({campaign_id for _, campaign_id in stale})
