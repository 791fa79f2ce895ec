"""Rotating a worker's API token: the old one stops at once, only for workers in the organization's pool."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from crowd.models import Membership
from tests import factories
from tests.factories import assert_error
from workers.models import User, WorkerToken

pytestmark = pytest.mark.django_db


def _as_worker(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _enroll(org_api, username: str = "halima") -> tuple[int, str]:
    body = org_api.post(
        "/api/v1/workers/", {"username": username, "languages": [{"code": "ha", "level": 5}]}, format="json"
    ).json()
    return body["id"], body["token"]


def test_rotation_issues_a_working_token_and_the_old_one_stops_at_once(org_api):
    worker_id, old = _enroll(org_api)
    assert _as_worker(old).get("/api/v1/me/earnings/").status_code == 200

    response = org_api.post(f"/api/v1/workers/{worker_id}/token/")

    assert response.status_code == 201
    new = response.json()["token"]
    assert response.json()["id"] == worker_id and new != old
    assert_error(_as_worker(old).get("/api/v1/me/earnings/"), 401)
    assert _as_worker(new).get("/api/v1/me/earnings/").status_code == 200
    assert WorkerToken.objects.filter(user_id=worker_id, revoked_at__isnull=True).count() == 1


def test_rotating_again_revokes_the_previous_rotation(org_api):
    worker_id, _ = _enroll(org_api)
    first = org_api.post(f"/api/v1/workers/{worker_id}/token/").json()["token"]
    second = org_api.post(f"/api/v1/workers/{worker_id}/token/").json()["token"]
    assert_error(_as_worker(first).get("/api/v1/me/earnings/"), 401)
    assert _as_worker(second).get("/api/v1/me/earnings/").status_code == 200


def test_another_organizations_worker_is_not_found(org_api):
    stranger, stranger_token = factories.worker()  # enrolled by another organization
    assert_error(org_api.post(f"/api/v1/workers/{stranger.id}/token/"), 404, "not_found")
    assert _as_worker(stranger_token).get("/api/v1/me/earnings/").status_code == 200


@pytest.mark.parametrize("worker_id", ["0", "999999999", "99999999999999999999999"])
def test_unknown_worker_is_not_found(org_api, worker_id):
    response = org_api.post(f"/api/v1/workers/{worker_id}/token/")
    assert response.status_code == 404


def test_a_deactivated_worker_gets_no_new_token(org_api):
    worker_id, _ = _enroll(org_api)
    User.objects.filter(pk=worker_id).update(is_active=False)
    assert_error(org_api.post(f"/api/v1/workers/{worker_id}/token/"), 404, "not_found")


def test_workers_and_viewers_cannot_rotate(org_api, org_key):
    worker_id, token = _enroll(org_api)
    assert_error(_as_worker(token).post(f"/api/v1/workers/{worker_id}/token/"), 403, "permission_denied")
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    assert_error(viewer.post(f"/api/v1/workers/{worker_id}/token/"), 403, "permission_denied")
    assert _as_worker(token).get("/api/v1/me/earnings/").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_simultaneous_rotations_leave_exactly_one_live_token(org_api):
    worker_id, _ = _enroll(org_api)
    barrier = threading.Barrier(4)
    tokens: list[str] = []

    def rotate() -> None:
        try:
            barrier.wait()
            response = org_api.post(f"/api/v1/workers/{worker_id}/token/")
            assert response.status_code == 201
            tokens.append(response.json()["token"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 4
    live = [token for token in tokens if _as_worker(token).get("/api/v1/me/earnings/").status_code == 200]
    assert len(live) == 1
    assert WorkerToken.objects.filter(user_id=worker_id, revoked_at__isnull=True).count() == 1
