"""Redis unreachable: submits are stored (200), aggregate answers 503, sign-in works, /healthz/ says what is down;
when Redis returns, the beat safety net brings aggregation up to date."""

import logging
import re
import socket
import threading

import pytest
from django.test import override_settings
from kombu.exceptions import OperationalError as BrokerError

from config import cache as config_cache
from crowd import tasks
from crowd.models import AggregationRun, Answer, Assignment, Item
from crowd.services.answers import answer_submit
from crowd.services.organizations import api_key_create, organization_ensure
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories
from tests.faults.servers import Http, free_port, kill, service_env, start_gunicorn
from workers.models import User

PASSWORD = "a-long-Correct-horse-7"


def _submit_all(client: Http, lease: dict, label: str = "pos") -> tuple[int, dict]:
    answers = [{"item": item["id"], "label": label} for item in lease["items"]]
    return client.json("POST", f"/api/v1/assignments/{lease['id']}/submit/", {"answers": answers})


def _sign_in(base: str) -> int:
    """Sign in through allauth's form (rate limits and their lock live in the cache); the status it answers."""
    browser = Http(base)
    status, page = browser.request("GET", "/accounts/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, _ = browser.request(
        "POST",
        "/accounts/login/",
        form={"csrfmiddlewaretoken": token, "login": "signin", "password": PASSWORD},
        headers={"Referer": base + "/accounts/login/"},
    )
    return status


def test_redis_down_submits_are_stored_and_aggregation_catches_up(redis_server, database_url, tmp_path):
    organization, owner = organization_ensure(name="Outage NGO", owner_email="owner@outage.example")
    owner_key = api_key_create(organization_id=organization.id, created_by_id=owner.id)
    campaign = factories.campaign(organization=organization, launch=True, items=4, redundancy=1, items_per_task=2)
    worker, worker_token = factories.worker()
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        User.objects.create_user(username="signin", password=PASSWORD)  # hashed as the server checks it
    port = free_port()
    web = start_gunicorn(
        service_env(database_url=database_url, redis_url=redis_server.url), tmp_path / "web.log", port=port
    )
    try:
        base = f"http://127.0.0.1:{port}"
        client = Http(base, token=worker_token)
        status, first = client.json("POST", "/api/v1/assignments/next/", {"campaign": campaign.id})
        assert status == 201

        redis_server.stop()

        status, body = _submit_all(client, first)
        assert status == 200, body
        status, body = _submit_all(client, first)  # the idempotent replay too
        assert status == 200, body
        status, second = client.json("POST", "/api/v1/assignments/next/", {"campaign": campaign.id})
        assert status == 201
        status, body = _submit_all(client, second)
        assert status == 200, body
        status, body = Http(base, token=owner_key).json("POST", f"/api/v1/campaigns/{campaign.id}/aggregate/")
        assert status == 503
        assert body["error"]["code"] == "unavailable" and body["error"]["fields"] == {}
        # The web keeps serving without Redis, so by default it stays in rotation: 200, degraded, each part named.
        status, health = Http(base).json("GET", "/healthz/")
        assert (status, health["status"]) == (200, "degraded")
        assert (health["database"], health["cache"], health["broker"]) == ("ok", "unavailable", "unavailable")
        assert _sign_in(base) == 302  # signed in and redirected, rate limits kept in process memory
        assert _sign_in(base) == 302

        # Everything the 200s promised is stored, and nothing was aggregated (the queue was down).
        assert Answer.objects.filter(campaign=campaign).count() == 4
        assert Assignment.objects.filter(campaign=campaign, status="submitted").count() == 2
        assert LedgerEntry.objects.filter(worker=worker, kind="reward").count() == 2
        assert not AggregationRun.objects.filter(campaign=campaign).exists()

        redis_server.start()  # same port, empty: whatever was queued before the outage is gone
        status, health = Http(base).json("GET", "/healthz/")
        assert (status, health["status"]) == (200, "ok")
    finally:
        kill(web)

    # The beat safety net (here in process, tasks eager) finds the campaign behind and aggregates it once.
    assert tasks.campaigns_aggregate_stale.run() == [campaign.id]
    run = AggregationRun.objects.get(campaign=campaign)
    assert (run.status, run.answer_rows) == ("finished", 4)
    assert Item.objects.filter(campaign=campaign, result_label="pos").count() == 4
    assert tasks.campaigns_aggregate_stale.run() == []


@pytest.mark.django_db
def test_submit_with_cache_and_broker_unreachable_stores_answers_and_logs(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """In process: the Redis cache at a closed port and a broker that refuses the message."""

    def refuse(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1. Connection refused.")

    monkeypatch.setattr(tasks.campaign_aggregate, "apply_async", refuse)
    closed = f"redis://127.0.0.1:{free_port()}/0"
    cache = {"BACKEND": "config.cache.FallbackRedisCache", "LOCATION": closed}
    campaign = factories.campaign(launch=True, items=2, redundancy=1, items_per_task=2)
    worker, _ = factories.worker()
    claim = assignment_claim_next(worker=worker, campaign_id=campaign.id)
    items = claim.assignment.entries.values_list("item_id", flat=True)
    with (
        override_settings(CACHES={"default": cache}, CELERY_TASK_ALWAYS_EAGER=False),
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING),
    ):
        result = answer_submit(
            worker=worker, assignment_id=claim.assignment.id, raw_answers=[{"item": i, "label": "pos"} for i in items]
        )
    assert result.replayed is False
    assert Answer.objects.filter(assignment=claim.assignment).count() == 2
    assert "left to the safety net" in caplog.text
    assert "Redis cache unreachable" in caplog.text


@pytest.fixture
def hung_redis():
    """A port that accepts connections and never answers, like a Redis that hangs (SIGSTOP, a full disk)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()
    for conn in accepted:
        conn.close()


@pytest.mark.django_db
def test_submit_with_redis_hanging_does_not_wait_on_the_broker(
    hung_redis, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """The cache's short timeout finds Redis hanging; the broker (same Redis) is then not tried at all."""
    published: list[tuple] = []
    monkeypatch.setattr(tasks.campaign_aggregate, "apply_async", lambda *a, **k: published.append(a))
    monkeypatch.setattr(config_cache, "_down_until", {})
    cache = {
        "BACKEND": "config.cache.FallbackRedisCache",
        "LOCATION": hung_redis,
        "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
    }
    campaign = factories.campaign(launch=True, items=2, redundancy=1, items_per_task=2)
    worker, _ = factories.worker()
    claim = assignment_claim_next(worker=worker, campaign_id=campaign.id)
    items = claim.assignment.entries.values_list("item_id", flat=True)
    with (
        override_settings(CACHES={"default": cache}, CELERY_TASK_ALWAYS_EAGER=False),
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING),
    ):
        answer_submit(
            worker=worker, assignment_id=claim.assignment.id, raw_answers=[{"item": i, "label": "pos"} for i in items]
        )
    assert Answer.objects.filter(assignment=claim.assignment).count() == 2
    assert published == []
    assert "left to the safety net: Redis is unreachable" in caplog.text
