"""Token authentication: organization keys and worker tokens, revoked and unknown keys."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crowd.models import ApiKey
from workers.models import WorkerToken

pytestmark = pytest.mark.django_db


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize("key", ["clo_not-a-real-key", "clw_not-a-real-key", "something-else"])
def test_unknown_token_is_401_with_the_error_shape(key):
    response = client_with(key).get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revoked_organization_key_is_refused(org_key):
    ApiKey.objects.update(revoked_at=timezone.now())
    assert client_with(org_key[2]).get("/api/v1/campaigns/").status_code == 401


def test_revoked_worker_token_is_refused(make_worker):
    _, client = make_worker()
    assert client.get("/api/v1/me/earnings/").status_code == 200
    WorkerToken.objects.update(revoked_at=timezone.now())
    assert client.get("/api/v1/me/earnings/").status_code == 401


def test_worker_token_cannot_use_organization_endpoints(make_worker):
    _, client = make_worker()
    response = client.post("/api/v1/campaigns/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
