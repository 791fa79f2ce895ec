"""Celery tasks: named after the service they call, taking ids; services imported inside.

Every task is `acks_late` and the worker rejects (requeues) a task whose process died
(`task_reject_on_worker_lost`), so a killed worker's job runs again; every service behind a task is idempotent.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from config.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

AGGREGATE_DELAY_SECONDS = 5
# What a broker outage looks like to a sender: kombu wraps connection errors; a socket error can slip through.
BROKER_ERRORS = (KombuError, OSError)

RETRYING = {"acks_late": True, "autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


def _queued_key(campaign_id: int) -> str:
    return f"aggregate-queued:{campaign_id}"


@shared_task(bind=True, **RETRYING)
def campaign_aggregate(self, campaign_id: int) -> dict:
    from crowd.services.aggregation import campaign_aggregate as run

    cache.delete(_queued_key(campaign_id))
    # The task id survives redelivery and retries: the service applies one id's run once.
    return run(campaign_id=campaign_id, task_id=self.request.id)


@shared_task(**RETRYING)
def assignment_expire_due() -> int:
    from crowd.services.routing import assignment_expire_due as run

    return run()


def campaign_aggregate_queue(*, campaign_id: int) -> None:
    """Queue one aggregation now (a coordinator asked for it); ServiceUnavailable when the broker is down."""
    try:
        campaign_aggregate.delay(campaign_id)
    except BROKER_ERRORS as exc:
        logger.warning("Could not queue aggregation of campaign %s: %s", campaign_id, exc)
        raise ServiceUnavailable("The task queue is unavailable; try again shortly.") from exc


def campaign_aggregate_soon(*, campaign_id: int) -> None:
    """After the caller's transaction commits, queue one aggregation; submits arriving while it is queued share
    that run (coalesced). Nothing here can fail the caller: the queueing runs only after the commit, and a
    cache or broker failure is logged and left to the beat safety net (`campaigns_aggregate_stale`)."""
    transaction.on_commit(lambda: _queue_coalesced(campaign_id), robust=True)


def _queue_coalesced(campaign_id: int) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        campaign_aggregate.delay(campaign_id)
        return
    # With Redis down, the cache falls back to this process's memory (config/cache.py): coalescing still works
    # per process, and the send below fails fast.
    if not cache.add(_queued_key(campaign_id), 1, timeout=AGGREGATE_DELAY_SECONDS * 20):
        return
    if getattr(cache, "degraded", lambda: False)():
        # The broker is the same Redis (one REDIS_URL), which has just failed the cache: publishing would wait out
        # the broker's socket timeout and retries (seconds, on a Redis that hangs) for a message the safety net
        # sends anyway. The answers are stored; skip the broker.
        cache.delete(_queued_key(campaign_id))
        logger.warning("Aggregation of campaign %s left to the safety net: Redis is unreachable", campaign_id)
        return
    try:
        campaign_aggregate.apply_async((campaign_id,), countdown=AGGREGATE_DELAY_SECONDS)
    except BROKER_ERRORS as exc:
        cache.delete(_queued_key(campaign_id))  # the next submit may try again
        logger.warning("Aggregation of campaign %s left to the safety net: %s", campaign_id, exc)


@shared_task(**RETRYING)
def campaigns_aggregate_stale() -> list[int]:
    """Beat, every minute or so: the safety net for runs lost to a broker or cache outage or a dead worker.

    Marks runs left running past AGGREGATION_STALE_SECONDS as failed, then queues aggregation for every campaign
    whose answers are not all in its last finished run and which has no live run. Returns those campaigns' ids.
    """
    from crowd.selectors import campaigns_needing_aggregation
    from crowd.services.aggregation_runs import aggregation_runs_abandon_stale

    limit = settings.AGGREGATION_STALE_SECONDS
    aggregation_runs_abandon_stale(older_than_seconds=limit)
    stale = list(campaigns_needing_aggregation(running_since=timezone.now() - timedelta(seconds=limit)))
    for campaign_id in stale:
        try:
            campaign_aggregate.delay(campaign_id)
        except BROKER_ERRORS as exc:  # the next beat tries again
            logger.warning("Safety net could not queue aggregation of campaign %s: %s", campaign_id, exc)
            break
    return stale


@shared_task(**RETRYING)
def assignments_auto_approve() -> int:
    from crowd.services.approvals import assignments_auto_approve as run

    return run()


@shared_task(**RETRYING)
def campaigns_fair_pay_check() -> list[int]:
    from crowd.services.fairpay import campaigns_fair_pay_check as run

    return run()


@shared_task(bind=True, acks_late=True, max_retries=4)
def item_image_resize(self, item_id: int) -> str:
    from crowd.services.images import ImageTransient, item_image_fail
    from crowd.services.images import item_image_resize as run

    try:
        return run(item_id=item_id)
    except (ImageTransient, OperationalError) as exc:
        if self.request.retries >= self.max_retries or self.request.is_eager:
            # Out of retries (or run in process, where Celery cannot retry later): recorded as failed, and the
            # page keeps showing the original.
            item_image_fail(item_id=item_id, error=str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(**RETRYING)
def import_job_run(job_id: int) -> str:
    """Run a background import (idempotent: see crowd/services/import_jobs.py)."""
    from crowd.services.import_jobs import import_job_run as run

    return run(job_id=job_id)


@shared_task(**RETRYING)
def import_jobs_clean() -> int:
    """Delete stored uploads nobody needs any more (see crowd/services/import_jobs.py)."""
    from crowd.services.import_jobs import import_jobs_clean as clean

    return clean()


@shared_task(**RETRYING)
def archive_job_run(job_id: int) -> str:
    """Build an organization archive (see crowd/services/archives.py)."""
    from crowd.services.archives import archive_job_run as run

    return run(job_id=job_id)


@shared_task(**RETRYING)
def archive_jobs_clean() -> int:
    """Beat: remove archives older than ARCHIVE_KEEP_DAYS (see crowd/services/archives.py)."""
    from crowd.services.archives import archive_jobs_clean as clean

    return clean()


# --- Webhooks (crowd/webhooks/): the outbox's delivery job, beat-scheduled and queued after each commit ---
WEBHOOKS_QUEUED_KEY = "webhooks-send-queued"


@shared_task(**RETRYING)
def webhook_deliveries_send() -> int:
    from crowd.webhooks.services import webhook_deliveries_send as run

    cache.delete(WEBHOOKS_QUEUED_KEY)
    return run()


def webhook_deliveries_send_soon() -> None:
    """After the caller's transaction commits, queue the delivery job once for a burst of events. Nothing here can
    fail the caller: a cache or broker failure is logged, and beat runs the job every few seconds anyway."""
    transaction.on_commit(_queue_webhooks, robust=True)


def _queue_webhooks() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        webhook_deliveries_send.delay()
        return
    if not cache.add(WEBHOOKS_QUEUED_KEY, 1, timeout=10) or getattr(cache, "degraded", lambda: False)():
        return
    try:
        webhook_deliveries_send.delay()
    except BROKER_ERRORS as exc:
        cache.delete(WEBHOOKS_QUEUED_KEY)
        logger.warning("Webhook deliveries left to beat: %s", exc)


# --- Models in the loop: ML backends and the built-in baseline (crowd/model_loop/) ---


@shared_task(bind=True, acks_late=True, max_retries=4)
def backend_predict(self, backend_id: int) -> dict:
    """Pre-label a campaign's items with one ML backend; transient failures retried with backoff
    (BACKEND_RETRY_SECONDS, then twice as long each time: 30 s, 60 s, 120 s, 240 s)."""
    from crowd.model_loop.backends import BackendError
    from crowd.model_loop.backends import backend_predict as run

    try:
        return run(backend_id=backend_id)
    except BackendError as exc:
        # Already recorded on the backend (status failing, last error). Permanent errors, the last retry, and runs
        # in process (where Celery cannot retry later) stop here; the beat check queues the backend again.
        if not exc.transient or self.request.retries >= self.max_retries or self.request.is_eager:
            return {"status": "failing", "error": exc.message}
        raise self.retry(exc=exc, countdown=settings.BACKEND_RETRY_SECONDS * 2**self.request.retries) from exc


@shared_task(**RETRYING)
def backends_check() -> dict:
    """Beat: each active backend's health, new model versions, work left over, training when due."""
    from crowd.model_loop.backends import backends_check as run

    return run()


@shared_task(**RETRYING)
def baseline_train(campaign_id: int) -> dict:
    from crowd.model_loop.baseline_jobs import baseline_train as run

    return run(campaign_id=campaign_id)


@shared_task(**RETRYING)
def campaigns_baseline_due() -> list[int]:
    """Beat: queue the baseline's training for every campaign where it is due."""
    from crowd.model_loop.baseline_jobs import campaigns_baseline_due as due

    campaign_ids = due()
    for campaign_id in campaign_ids:
        try:
            baseline_train.delay(campaign_id)
        except BROKER_ERRORS as exc:  # the next beat tries again
            logger.warning("Could not queue the baseline of campaign %s: %s", campaign_id, exc)
            break
    return campaign_ids
