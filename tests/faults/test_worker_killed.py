"""A Celery worker SIGKILLed in the middle of an aggregation: the job runs again on another worker within the
broker's visibility timeout, and the run completes once."""

import datetime as dt
import signal

import psycopg
from celery import Celery
from django.db import connection
from django.utils import timezone

from crowd.models import AggregationRun, Answer, Item
from crowd.services import answers
from crowd.services.aggregation_runs import aggregation_run_begin, aggregation_runs_abandon_stale
from crowd.services.answers import answer_submit
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.faults.servers import kill, service_env, start_celery_worker, wait_until

# Seconds: the message is restored as soon as the next worker starts; production waits minutes
# (CELERY_VISIBILITY_TIMEOUT), so a live worker's long job is never handed out twice.
VISIBILITY_TIMEOUT = 1


def _answer_everything(campaign, workers: int) -> None:
    for _ in range(workers):
        worker, _ = factories.worker()
        while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
            items = claim.assignment.entries.values_list("item_id", flat=True)
            answer_submit(
                worker=worker,
                assignment_id=claim.assignment.id,
                raw_answers=[{"item": item_id, "label": "pos"} for item_id in items],
            )


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def test_worker_killed_mid_aggregation_run_completes_once_on_another_worker(
    redis_server, database_url, tmp_path, monkeypatch
):
    campaign = factories.campaign(launch=True, items=6, redundancy=2, items_per_task=3)
    # Setup only: store the answers without the in-process (eager) aggregation the test settings would run.
    monkeypatch.setattr(answers, "campaign_aggregate_soon", lambda **kwargs: None)
    _answer_everything(campaign, workers=2)
    assert not AggregationRun.objects.exists()
    assert Answer.objects.filter(campaign=campaign).count() == 12
    env = service_env(
        database_url=database_url, redis_url=redis_server.url, CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT)
    )
    sender = Celery(broker=redis_server.url)
    sender.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}

    # A coordinator's lock on the campaign row holds the run in the middle: its start is committed, its work
    # transaction has begun (the run row locked) and waits for the campaign row.
    with psycopg.connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT id FROM crowd_campaign WHERE id = %s FOR NO KEY UPDATE", [campaign.id])
        first = start_celery_worker(env, tmp_path / "worker1.log", name="first")
        try:
            task_id = sender.send_task("crowd.tasks.campaign_aggregate", args=[campaign.id]).id
            wait_until(
                lambda: AggregationRun.objects.filter(task_id=task_id, status="running").exists(),
                timeout=60,
                what="the first worker to start the run",
            )
            wait_until(_waiting_on_a_lock, timeout=30, what="the run to wait inside its transaction")
        finally:
            kill(first, signal.SIGKILL)
        holder.rollback()

    # The worker is gone: its run is still marked running and nothing of it was applied.
    assert AggregationRun.objects.get(task_id=task_id).status == "running"
    assert not Item.objects.filter(campaign=campaign, result_label__isnull=False).exists()

    second = start_celery_worker(env, tmp_path / "worker2.log", name="second")
    try:
        wait_until(
            lambda: AggregationRun.objects.filter(task_id=task_id, status="finished").exists(),
            timeout=120,
            what="the redelivered message to finish the run on the second worker",
        )
    finally:
        kill(second)

    run = AggregationRun.objects.get(campaign=campaign)  # one run: the same one, completed once
    assert (run.task_id, run.status, run.answer_rows) == (task_id, "finished", 12)
    assert Item.objects.filter(campaign=campaign, result_label="pos").count() == 6
    assert "campaign_aggregate" in (tmp_path / "worker2.log").read_text()


def test_safety_net_never_abandons_a_slow_run_that_is_still_alive(database_url, monkeypatch):
    """Staleness alone is not death: a run whose transaction still holds its row is left running."""
    campaign = factories.campaign(launch=True, items=2, redundancy=1, items_per_task=2)
    monkeypatch.setattr(answers, "campaign_aggregate_soon", lambda **kwargs: None)
    _answer_everything(campaign, workers=1)
    run = aggregation_run_begin(campaign_id=campaign.id, task_id="slow-task")
    AggregationRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(hours=1))

    with psycopg.connect(database_url, autocommit=False) as live:  # the slow run's work transaction
        live.execute("SELECT id FROM crowd_aggregationrun WHERE id = %s FOR UPDATE", [run.pk])
        assert aggregation_runs_abandon_stale(older_than_seconds=60) == []
        run.refresh_from_db()
        assert run.status == "running"
        live.rollback()  # the process dies: its transaction ends

    assert aggregation_runs_abandon_stale(older_than_seconds=60) == [campaign.id]
    run.refresh_from_db()
    assert run.status == "failed"
