"""Celery tasks: named after the service they call, taking ids; services imported inside."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, transaction

AGGREGATE_DELAY_SECONDS = 5


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def campaign_aggregate(campaign_id: int) -> dict:
    from crowd.services.aggregation import campaign_aggregate as run

    cache.delete(f"aggregate-queued:{campaign_id}")
    return run(campaign_id=campaign_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def assignment_expire_due() -> int:
    from crowd.services.routing import assignment_expire_due as run

    return run()


def campaign_aggregate_soon(*, campaign_id: int) -> None:
    """Queue one aggregation on commit; submits arriving while it is queued share that run (coalesced)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: campaign_aggregate.delay(campaign_id))
        return
    if cache.add(f"aggregate-queued:{campaign_id}", 1, timeout=AGGREGATE_DELAY_SECONDS * 20):
        transaction.on_commit(lambda: campaign_aggregate.apply_async((campaign_id,), countdown=AGGREGATE_DELAY_SECONDS))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def campaigns_aggregate_stale() -> list[int]:
    """Beat: queue aggregation for every active campaign with answers newer than its last run (a safety net
    for runs lost to a broker outage; the on-commit trigger does the everyday work)."""
    from crowd.selectors import campaigns_with_unaggregated_answers

    stale = list(campaigns_with_unaggregated_answers())
    for campaign_id in stale:
        campaign_aggregate.delay(campaign_id)
    return stale


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def assignments_auto_approve() -> int:
    from crowd.services.approvals import assignments_auto_approve as run

    return run()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def campaigns_fair_pay_check() -> list[int]:
    from crowd.services.fairpay import campaigns_fair_pay_check as run

    return run()
