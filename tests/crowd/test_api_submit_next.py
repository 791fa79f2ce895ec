"""`POST /assignments/{id}/submit/` with `"next": true`: the answers and the next lease in one round trip."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crowd.models import Answer, Assignment
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"


def _submit_url(lease: dict) -> str:
    return f"/api/v1/assignments/{lease['id']}/submit/"


def _answers(lease: dict, label: str = "pos") -> list[dict]:
    return [{"item": item["id"], "label": label} for item in lease["items"]]


def test_submit_with_next_stores_the_answers_and_returns_the_next_lease(make_worker):
    campaign = factories.campaign(items=4, items_per_task=2, launch=True)
    user, api = make_worker()
    first = api.post(NEXT, {}, format="json").json()

    response = api.post(_submit_url(first), {"answers": _answers(first), "next": True}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["replayed"], body["reason"]) == (first["id"], "submitted", False, None)
    second = body["next"]
    assert second["id"] != first["id"] and second["campaign"] == campaign.id
    assert not {item["id"] for item in first["items"]} & {item["id"] for item in second["items"]}
    assert Answer.objects.filter(worker=user).count() == 2
    assert Assignment.objects.get(pk=second["id"]).status == Assignment.Status.ACTIVE
    # The lease is the one `next` would give: asking again returns it, no second lease.
    again = api.post(NEXT, {"campaign": campaign.id}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, second["id"])


def test_the_last_microtask_says_why_there_is_no_next(make_worker):
    factories.campaign(items=2, items_per_task=2, launch=True)
    _, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()

    body = api.post(_submit_url(lease), {"answers": _answers(lease), "next": True}, format="json").json()

    assert body["status"] == "submitted"
    assert body["next"] is None
    assert body["reason"] == {"code": "done_everything", "message": "You have done every task you can. Thank you!"}


def test_a_replayed_submit_with_next_counts_once_and_returns_the_same_lease(make_worker):
    factories.campaign(items=4, items_per_task=2, launch=True)
    user, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()
    payload = {"answers": _answers(lease), "next": True}

    first = api.post(_submit_url(lease), payload, format="json").json()
    retry = api.post(_submit_url(lease), payload, format="json").json()

    assert (first["replayed"], retry["replayed"]) == (False, True)
    assert retry["next"]["id"] == first["next"]["id"]
    assert Answer.objects.filter(worker=user).count() == 2
    assert Assignment.objects.filter(worker=user).count() == 2


def test_without_next_the_body_is_unchanged(make_worker):
    factories.campaign(items=4, items_per_task=2, launch=True)
    _, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()
    body = api.post(_submit_url(lease), {"answers": _answers(lease)}, format="json").json()
    assert set(body) == {"id", "status", "replayed", "late"}


@pytest.mark.parametrize("bad", ["yes", 1, None, [], {"x": 1}])
def test_next_must_be_a_boolean_and_nothing_is_stored_otherwise(make_worker, bad):
    factories.campaign(items=4, items_per_task=2, launch=True)
    user, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()

    response = api.post(_submit_url(lease), {"answers": _answers(lease), "next": bad}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert "next" in error["fields"]
    assert not Answer.objects.filter(worker=user).exists()
    assert Assignment.objects.get(pk=lease["id"]).status == Assignment.Status.ACTIVE


def test_bad_answers_with_next_lease_nothing_new(make_worker):
    factories.campaign(items=4, items_per_task=2, launch=True)
    user, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()

    response = api.post(_submit_url(lease), {"answers": _answers(lease, "nope"), "next": True}, format="json")

    assert response.status_code == 400
    assert Assignment.objects.filter(worker=user).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement claim is PostgreSQL's")
def test_submit_with_next_adds_no_statement_beyond_a_submit_and_a_claim(make_worker):
    factories.campaign(items=6, items_per_task=2, launch=True)
    _, api = make_worker()
    lease = api.post(NEXT, {}, format="json").json()

    with CaptureQueriesContext(connection) as combined:
        body = api.post(_submit_url(lease), {"answers": _answers(lease), "next": True}, format="json").json()

    statements = [q["sql"] for q in combined.captured_queries if "SAVEPOINT" not in q["sql"]]
    # token; the submit's locked read, writes and reward; the claim's facts, active campaigns and claim
    # (submit alone takes 4 and next alone 4, each with its own token check: together one fewer).
    assert len(statements) == 7, statements
    assert body["next"] is not None
