"""The ML backend prediction job through a real Celery worker and the Redis broker, not in process.

Every other test runs Celery tasks eagerly (config/settings/test.py), where a task cannot be retried later. Here the
project's Celery app is pointed at Redis for the length of one test, with a queue of the test's own, and an
in-process worker thread (`celery.contrib.testing.worker.start_worker`) consumes it: the job's retries are published
again with their countdown, held by the worker and run again, as in production. The data is committed
(`transactional_db`) because the worker thread has its own database connection. Redis is required, as it is in CI
(.ci/run): an unreachable Redis fails the test with the reason.
"""

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import kombu.asynchronous.hub
import kombu.pools
import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import connection, connections

from config.celery import app as celery_app
from crowd import tasks
from crowd.models import Item, LabelModel, MLBackend
from tests import factories
from tests.model_loop.backend_server import FakeBackend, default_predict, fake_backend_server

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BROKER_DB = 11  # a Redis database of these tests' own (the queue name is unique per test as well)
RETRY_SECONDS = 0.1  # BACKEND_RETRY_SECONDS here: retries after 0.1 s, 0.2 s, 0.4 s, 0.8 s instead of 30 s, 60 s, …
WAIT_SECONDS = 15  # the most a job may take to finish through the worker before the test fails


def _broker_url() -> str:
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    url = urlunsplit(urlsplit(base)._replace(path=f"/{BROKER_DB}"))
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis at {url} is unreachable ({exc}): this test runs the backend job through the real broker. "
            "Start redis-server on 127.0.0.1:6379 or set REDIS_URL.",
            pytrace=False,
        )
    return url


@contextmanager
def real_worker() -> Iterator[str]:
    """The project's Celery app on Redis with a worker thread consuming a queue of its own (yielded); afterwards the
    queue is deleted and the app back to running tasks in process, with the configuration it had."""
    app = celery_app
    queue = f"test-backend-retries-{uuid.uuid4().hex[:12]}"
    # Under the Django settings' names: a plain `broker_url` would lose to the CELERY_BROKER_URL those settings hold.
    overrides = {
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_BROKER_URL": _broker_url(),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    changes = app.conf.changes
    saved_conf = {key: changes[key] for key in overrides if key in changes}
    # The app caches its queues, router and producer pool (on `app.amqp`) and its connection pool: fresh ones read
    # the new broker and queue; the old queues and router come back afterwards.
    saved_amqp = app.__dict__.pop("amqp", None)
    app._pool = None
    app.conf.update(overrides)
    try:
        # start_worker would set Celery's logging up for the whole pytest process (the root logger's level and
        # handlers); the worker logs through the handlers pytest already has. Each worker gets an event loop of its
        # own: kombu keeps the loop in a module global and a worker reuses one it finds there, whose timer is the
        # previous worker's, so the next worker would receive retries and never run them at their countdown.
        # The worker also swaps the app clock's lock for a dummy one.
        with (
            mock.patch.object(app.log, "setup"),
            mock.patch.object(type(app.log), "_setup", type(app.log)._setup),
            mock.patch.object(kombu.asynchronous.hub, "_current_loop", None),
            mock.patch.object(app.clock, "mutex", app.clock.mutex),
            start_worker(app, perform_ping_check=False, shutdown_timeout=WAIT_SECONDS),
        ):
            yield queue
    finally:
        try:
            with app.connection_for_write() as conn:
                declared = app.amqp.queues[queue](conn.default_channel)
                declared.declare()  # a new connection deletes only the bindings it knows of
                declared.delete()
        finally:
            # The pools on Redis are closed and forgotten (kombu keeps a registry of its own, per connection), as
            # Celery does after a fork: the app makes new ones from its configuration when it next needs them.
            kombu.pools.reset()
            app.__dict__.pop("amqp", None)
            if saved_amqp is not None:
                saved_amqp._producer_pool = None
                app.__dict__["amqp"] = saved_amqp
            app._pool = None
            for key in overrides:
                changes.pop(key, None)
            changes.update(saved_conf)


@dataclass
class Job:
    """What happened to `backend_predict` messages, recorded by Celery's signals in the worker and the sender."""

    published: list[dict] = field(default_factory=list)  # each message sent to the broker: its retry count, its ETA
    runs: list[dict] = field(default_factory=list)  # each run the worker started: retry count, eager?, queue
    countdowns: list[float] = field(default_factory=list)  # the countdown of each retry the task asked for
    result: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self) -> None:
        if not self.done.wait(WAIT_SECONDS):
            pytest.fail(
                f"backend_predict did not finish through the worker within {WAIT_SECONDS} s; "
                f"published {self.published}, runs {self.runs}, retry countdowns {self.countdowns}",
                pytrace=False,
            )


@contextmanager
def watching() -> Iterator[Job]:
    job = Job()
    name = tasks.backend_predict.name

    def published(sender=None, headers=None, routing_key=None, **kwargs):
        if sender == name:
            job.published.append({"retries": headers["retries"], "eta": headers["eta"], "queue": routing_key})

    def started(sender=None, task=None, **kwargs):
        if sender.name == name:
            request = task.request
            queue = (request.delivery_info or {}).get("routing_key")
            job.runs.append({"retries": request.retries, "eager": request.is_eager, "queue": queue})

    def retried(sender=None, reason=None, **kwargs):
        if sender.name == name:
            job.countdowns.append(reason.when)

    def finished(sender=None, retval=None, state=None, **kwargs):
        connections.close_all()  # the worker thread's connection: the test database is dropped at the end
        if sender.name == name and state != "RETRY":
            job.result = retval
            job.done.set()

    handlers = [
        (signals.before_task_publish, published),
        (signals.task_prerun, started),
        (signals.task_retry, retried),
        (signals.task_postrun, finished),
    ]
    for signal, handler in handlers:
        signal.connect(handler, weak=False)
    try:
        yield job
    finally:
        for signal, handler in handlers:
            signal.disconnect(handler)


class Receiver:
    """Answers /predict calls in turn ("503", "timeout" or "ok"; the last one repeats) and records, at each call, the
    backend's state as the organization sees it at that moment."""

    def __init__(self, *outcomes: str):
        self.outcomes = outcomes
        self.seen: list[dict] = []
        self.released = threading.Event()  # a call that times out waits for this, then gives up

    def __call__(self, items: list[dict]) -> tuple[int, Any]:
        try:  # this is a thread of the HTTP server, with a database connection of its own
            self.seen.append(dict(MLBackend.objects.values("status", "last_error").get()))
        finally:
            connections.close_all()
        outcome = self.outcomes[min(len(self.seen), len(self.outcomes)) - 1]
        if outcome == "timeout":
            self.released.wait(WAIT_SECONDS)
        if outcome != "ok":
            return 503, {"error": "model loading"}
        return default_predict(items)


@pytest.fixture
def receiver(settings) -> Iterator[FakeBackend]:
    if connection.vendor != "postgresql":
        pytest.skip("a worker thread with its own connection needs PostgreSQL (set DATABASE_URL)")
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.BACKEND_RETRY_SECONDS = RETRY_SECONDS
    with fake_backend_server() as backend:
        yield backend
        if isinstance(backend.predict, Receiver):
            backend.predict.released.set()


def _register_and_wait(org_api, campaign, receiver: FakeBackend, name: str) -> tuple[Job, str]:
    """Register the backend through the API (its prediction job is queued when the registration commits) with a
    real worker running, and wait until the job has finished: succeeded, or stopped failing."""
    with real_worker() as queue, watching() as job:
        body = {"url": receiver.url, "name": name, "timeout": 1}
        response = org_api.post(f"/api/v1/campaigns/{campaign.id}/backends/", body, format="json")
        assert response.status_code == 201, response.content
        job.wait()
    return job, queue


def _through_the_broker(job: Job, queue: str, countdowns: list[float]) -> None:
    """Every run came from the broker on the test's queue, one per message; each retry was published with an ETA
    after the countdown the task computed, and the countdowns grow."""
    retries = list(range(len(countdowns) + 1))
    assert job.runs == [{"retries": n, "eager": False, "queue": queue} for n in retries]
    assert [(message["retries"], message["queue"]) for message in job.published] == [(n, queue) for n in retries]
    assert job.published[0]["eta"] is None and all(message["eta"] for message in job.published[1:])
    assert job.countdowns == countdowns
    assert all(later > earlier for earlier, later in zip(job.countdowns, job.countdowns[1:], strict=False))


def test_a_backend_failing_then_answering_is_retried_through_the_broker_with_growing_delays(receiver, org_key, org_api):
    campaign = factories.campaign(organization=org_key[0], items=4)
    receiver.predict = script = Receiver("503", "timeout", "503", "ok")  # fails the first 3 calls

    job, queue = _register_and_wait(org_api, campaign, receiver, "flaky")

    assert len(receiver.paths("/predict")) == 4  # 3 failures, then the answer
    _through_the_broker(job, queue, [RETRY_SECONDS, 2 * RETRY_SECONDS, 4 * RETRY_SECONDS])
    # While it failed, the backend said so, with the last call's error; the first call found it fresh.
    assert script.seen[0] == {"status": "ok", "last_error": ""}
    assert [(seen["status"], seen["last_error"].split(": ")[-1]) for seen in script.seen[1:]] == [
        ("failing", f"{receiver.url}/predict answered HTTP 503."),
        ("failing", "timed out"),
        ("failing", f"{receiver.url}/predict answered HTTP 503."),
    ]
    # It succeeded: the failure is cleared from the status and kept as the time it last happened.
    assert job.result == {"status": "ok", "predicted": 4, "rejected": 0}
    backend = MLBackend.objects.get()
    assert (backend.status, backend.last_error, backend.items_predicted) == ("ok", "", 4)
    assert backend.last_error_at is not None and backend.last_success_at > backend.last_error_at
    shown = org_api.get(f"/api/v1/campaigns/{campaign.id}/backends/{backend.id}/").json()
    assert (shown["status"], shown["last_error"], shown["items_predicted"]) == ("ok", "", 4)
    prelabels = set(Item.objects.filter(campaign=campaign).values_list("prelabel", "prelabel_score", "prelabel_model"))
    assert prelabels == {("neg", 0.87, "flaky@v3")}


def test_a_backend_that_always_fails_is_left_failing_after_the_last_retry_with_nothing_written(
    receiver, org_key, org_api
):
    campaign = factories.campaign(organization=org_key[0], items=4)
    receiver.predict = script = Receiver("503")

    job, queue = _register_and_wait(org_api, campaign, receiver, "down")

    retries = tasks.backend_predict.max_retries
    assert len(receiver.paths("/predict")) == retries + 1
    _through_the_broker(job, queue, [RETRY_SECONDS * 2**n for n in range(retries)])
    assert all(seen["status"] == "failing" for seen in script.seen[1:])
    # Out of retries: the job stops, and the failure stays visible (the beat check queues the backend again later).
    error = f"{receiver.url}/predict answered HTTP 503."
    assert job.result == {"status": "failing", "error": error}
    backend = MLBackend.objects.get()
    assert (backend.status, backend.last_error) == ("failing", error)
    assert backend.last_error_at is not None and backend.last_success_at is None
    shown = org_api.get(f"/api/v1/campaigns/{campaign.id}/backends/{backend.id}/").json()
    assert (shown["status"], shown["last_error"]) == ("failing", error)
    # Nothing half-written: no pre-label, no count, no progress mark, no model version registered.
    assert not Item.objects.filter(campaign=campaign, prelabel__isnull=False).exists()
    assert (backend.items_predicted, backend.items_rejected, backend.scanned_through_id) == (0, 0, 0)
    assert not LabelModel.objects.filter(kind=LabelModel.Kind.BACKEND).exists()
