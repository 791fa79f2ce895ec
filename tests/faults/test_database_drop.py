"""PostgreSQL drops the request's connection mid-request: a clean 503 in the error shape, nothing half-written."""

import psycopg
import pytest
from django.db import OperationalError, connection

from crowd.models import Answer, Assignment
from payments.models import LedgerEntry
from tests import factories


def _terminate_own_backend_before(marker: str):
    """An execute wrapper that, on the first statement containing `marker`, has the server end this connection
    (pg_terminate_backend, as a failover or an administrator would) and then runs the statement on it."""
    done = []

    def wrapper(execute, sql, params, many, context):
        if marker in sql and not done:
            done.append(sql)
            pid = connection.connection.info.backend_pid
            s = connection.settings_dict
            with psycopg.connect(
                host=s["HOST"] or "127.0.0.1",
                port=s["PORT"] or 5432,
                user=s["USER"],
                password=s["PASSWORD"] or None,
                dbname=s["NAME"],
                autocommit=True,
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params, many, context)

    return wrapper, done


@pytest.mark.django_db(transaction=True)
def test_submit_whose_connection_is_killed_mid_transaction_answers_503_and_writes_nothing(make_worker):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    campaign = factories.campaign(launch=True, items=2, redundancy=1, items_per_task=2)
    worker, client = make_worker()
    lease = client.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json").json()
    body = {"answers": [{"item": item["id"], "label": "pos"} for item in lease["items"]]}

    # Killed at the reward's ledger insert: the answers and the lease update already ran in that transaction.
    wrapper, hit = _terminate_own_backend_before("payments_ledgerentry")
    with connection.execute_wrapper(wrapper):
        response = client.post(f"/api/v1/assignments/{lease['id']}/submit/", body, format="json")
    connection.close()  # what the server does after a request whose connection failed

    assert hit and "INSERT" in hit[0].upper()
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "unavailable",
            "message": "The service is briefly unavailable; try again shortly.",
            "fields": {},
        }
    }
    assert response["Retry-After"] == "5"
    assert not Answer.objects.filter(assignment_id=lease["id"]).exists()
    assert Assignment.objects.get(pk=lease["id"]).status == "active"
    assert not LedgerEntry.objects.filter(worker=worker).exists()

    # The worker's retry goes through, once.
    response = client.post(f"/api/v1/assignments/{lease['id']}/submit/", body, format="json")
    assert response.status_code == 200
    assert Answer.objects.filter(assignment_id=lease["id"]).count() == 2
    assert LedgerEntry.objects.filter(worker=worker).count() == 1


@pytest.mark.django_db
def test_pages_answer_503_when_the_database_refuses(client, make_worker):
    user, _ = make_worker()
    client.force_login(user)

    def refuse(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        page = client.get("/work/")
        api = client.get("/api/v1/me/earnings/")

    assert page.status_code == 503 and b"briefly unavailable" in page.content
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"
    assert b"server closed" not in page.content + api.content  # details go to the log only


@pytest.mark.parametrize(("path", "json"), [("/api/v1/me/earnings/", True), ("/work/", False)])
def test_the_handler_of_last_resort_answers_503_for_a_lost_database(rf, path, json):
    """A database lost outside any view (saving the session in its middleware, say) never reaches the
    middleware's process_exception; Django's handler500 runs inside the except block, and ours answers 503."""
    from config.unavailable import server_error

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(rf.get(path))
    assert response.status_code == 503 and response["Retry-After"]
    assert (response["Content-Type"] == "application/json") is json
    assert b"server closed" not in response.content


@pytest.mark.django_db
def test_an_unexpected_error_under_the_api_answers_500_in_the_error_shape(monkeypatch, make_worker):
    from django.test import Client

    from crowd.api import views

    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.MyEarningsView, "get", broken)
    user, _ = make_worker()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/api/v1/me/earnings/")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "Something went wrong on our side; it has been logged.",
            "fields": {},
        }
    }
