"""The partner-facing endpoints (webhooks, raw answers, the pool listing, the archive) and the models-in-the-loop
reads answer as the schema says: the same checker as tests/test_api_conformance.py, driven through them and their
errors."""

import pytest
from django.test import override_settings

from crowd.services.organizations import api_key_create, organization_ensure
from tests import factories
from tests.test_api_conformance import Driver, _client, conformance  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)  # the archive job stays queued: its 202 and 409 are the subject
def test_partner_endpoints_answer_as_the_schema_says(conformance, django_capture_on_commit_callbacks):  # noqa: F811
    organization, owner = organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
    org = Driver(_client(api_key_create(organization_id=organization.id, created_by_id=owner.id)), conformance)
    campaign = factories.campaign(organization=organization, items=2, launch=True, mode="review")
    factories.worker(organization=organization)  # the pool listing has someone to list
    base = f"/api/v1/campaigns/{campaign.id}/"

    created = org.post("/api/v1/webhooks/", {"url": "https://partner.example/hook", "events": ["item.completed"]})
    assert created.status_code == 201, created.content
    hook = created.json()["id"]
    org.get("/api/v1/webhooks/")
    org.get(f"/api/v1/webhooks/{hook}/")
    org.patch(f"/api/v1/webhooks/{hook}/", {"active": False})
    org.get(f"/api/v1/webhooks/{hook}/deliveries/")
    assert org.post("/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope"]}).status_code == 400
    assert org.delete(f"/api/v1/webhooks/{hook}/").status_code == 204
    assert org.get(f"/api/v1/webhooks/{hook}/").status_code == 404

    assert org.get("/api/v1/workers/").status_code == 200
    assert org.get(base + "answers/").status_code == 200
    assert org.get(base + "answers/?gold=maybe").status_code == 400
    assert org.get(base + "anchoring/").status_code == 200
    assert org.get("/api/v1/models/").status_code == 200
    assert org.get(base + "backends/").status_code == 200
    assert org.get(base + "baseline/").status_code == 200

    with django_capture_on_commit_callbacks(execute=False):
        started = org.post("/api/v1/archive/", {})
    assert started.status_code == 202, started.content
    job = started.json()["id"]
    assert org.get(f"/api/v1/archive/{job}/").status_code == 200
    assert org.post("/api/v1/archive/", {}).status_code == 409  # one build at a time
    expected = {
        ("POST", "/api/v1/webhooks/", "201"),
        ("POST", "/api/v1/webhooks/", "400"),
        ("GET", "/api/v1/webhooks/{webhook_id}/deliveries/", "200"),
        ("GET", "/api/v1/campaigns/{campaign_id}/answers/", "400"),
        ("POST", "/api/v1/archive/", "202"),
        ("POST", "/api/v1/archive/", "409"),
        ("GET", "/api/v1/campaigns/{campaign_id}/anchoring/", "200"),
    }
    assert expected <= conformance.checked
