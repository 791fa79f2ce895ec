import pytest
from django.db import OperationalError, connection

from config.health import probe, probe_host


def refuse_every_query(execute, sql, params, many, context):
    raise OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused')


@pytest.mark.django_db
def test_healthz_reports_ok_when_database_answers(client):
    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_in_error_shape_when_database_is_down(client):
    with connection.execute_wrapper(refuse_every_query):
        response = client.get("/healthz/")

    assert response.status_code == 503
    assert response.json() == {"error": {"code": "unhealthy", "message": "Database unavailable.", "fields": {}}}
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
