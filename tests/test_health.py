import pytest
from django.db import OperationalError, connection
from django.test import override_settings

from config.health import probe, probe_host
from tests.faults.servers import free_port


def refuse_every_query(execute, sql, params, many, context):
    raise OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused')


def redis_settings(url: str, **extra):
    """The production wiring (config/settings/base.py) pointed at `url`: Redis cache, a real broker."""
    cache = {"BACKEND": "config.cache.FallbackRedisCache", "LOCATION": url, "OPTIONS": {"socket_connect_timeout": 1}}
    return override_settings(CACHES={"default": cache}, CELERY_BROKER_URL=url, CELERY_TASK_ALWAYS_EAGER=False, **extra)


@pytest.mark.django_db
def test_healthz_reports_each_part_and_what_runs_in_process(client):
    response = client.get("/healthz/")

    assert response.status_code == 200
    # Test settings: local-memory cache, Celery tasks in process.
    assert response.json() == {"status": "ok", "database": "ok", "cache": "not_used", "broker": "not_used"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_reports_ok_with_redis_cache_and_broker(client, settings):
    with redis_settings(settings.REDIS_URL or "redis://127.0.0.1:6379/4"):
        response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_redis_is_down_and_required(client):
    with redis_settings(f"redis://127.0.0.1:{free_port()}/0", HEALTH_REQUIRED=["database", "cache", "broker"]):
        response = client.get("/healthz/")

    assert response.status_code == 503
    report = {"database": "ok", "cache": "unavailable", "broker": "unavailable"}
    assert response.json() == {
        "status": "unhealthy",
        **report,
        "error": {"code": "unhealthy", "message": "Cache, Broker unavailable.", "fields": report},
    }


@pytest.mark.django_db
def test_healthz_is_degraded_not_down_when_only_optional_parts_fail(client):
    with redis_settings(f"redis://127.0.0.1:{free_port()}/0", HEALTH_REQUIRED=["database"]):
        response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable", "broker": "unavailable"}


@pytest.mark.django_db
def test_healthz_answers_503_in_error_shape_when_database_is_down(client):
    with connection.execute_wrapper(refuse_every_query):
        response = client.get("/healthz/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["database"] == "unavailable"
    assert body["error"]["code"] == "unhealthy" and body["error"]["message"] == "Database unavailable."
    assert b"10.0.0.5" not in response.content  # the public answer does not say where the database lives


@pytest.mark.django_db
def test_healthz_rejects_writes(client):
    assert client.post("/healthz/").status_code == 405


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("crowdloop.example.org,localhost", "crowdloop.example.org"),
        (" .example.org , other.example", "example.org"),
        ("*", "localhost"),
        ("", "localhost"),
        (" , ", "localhost"),
    ],
)
def test_probe_host_picks_a_host_that_allowed_hosts_accepts(allowed_hosts, host):
    assert probe_host(allowed_hosts) == host


@pytest.mark.django_db(transaction=True)
def test_probe_passes_against_a_live_server_and_fails_when_nothing_listens(live_server):
    assert probe(f"{live_server.url}/healthz/", allowed_hosts="localhost") == 0
    assert probe("http://127.0.0.1:9/healthz/", allowed_hosts="localhost", timeout=2) == 1
