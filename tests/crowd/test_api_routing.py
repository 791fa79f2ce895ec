"""API for routing extras: heartbeats, blocks, routing fields on campaigns, and the reasons for 204s."""

import datetime as dt

import pytest
import time_machine

from crowd.models import Assignment, WorkerBlock
from tests import factories
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def test_heartbeat_extends_the_lease(make_worker):
    campaign = factories.campaign(launch=True, items=1, lease_seconds=120)
    _, client = make_worker()
    lease = client.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json").json()
    leased = Assignment.objects.get(pk=lease["id"])
    with time_machine.travel(leased.leased_at + dt.timedelta(seconds=100), tick=False):
        response = client.post(f"/api/v1/assignments/{lease['id']}/heartbeat/")
    assert response.status_code == 200
    leased.refresh_from_db()
    assert leased.expires_at == leased.leased_at + dt.timedelta(seconds=220)
    assert leased.active_seconds == pytest.approx(100)


def test_heartbeat_of_someone_elses_assignment_is_404(make_worker):
    campaign = factories.campaign(launch=True, items=1)
    _, owner = make_worker()
    _, other = make_worker()
    lease = owner.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json").json()
    response = other.post(f"/api/v1/assignments/{lease['id']}/heartbeat/")
    assert response.status_code == 404 and error(response)["code"] == "not_found"


def test_heartbeat_after_expiry_is_409(make_worker):
    campaign = factories.campaign(launch=True, items=1, lease_seconds=60)
    _, client = make_worker()
    lease = client.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json").json()
    leased = Assignment.objects.get(pk=lease["id"])
    with time_machine.travel(leased.expires_at + dt.timedelta(seconds=5), tick=False):
        response = client.post(f"/api/v1/assignments/{lease['id']}/heartbeat/")
    assert response.status_code == 409 and error(response)["code"] == "lease_expired"
    leased.refresh_from_db()
    assert leased.expires_at < leased.leased_at + dt.timedelta(seconds=61)


def test_campaign_block_stops_routing_with_a_reason(org_api, org_key, make_worker):
    organization = org_key[0]
    campaign = factories.campaign(organization=organization, launch=True, items=2)
    user, worker = make_worker()
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/blocks/", {"worker": user.id, "reason": "copy-pasted answers"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["reason"] == "copy-pasted answers"
    nothing = worker.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json")
    assert nothing.status_code == 204 and nothing["Crowdloop-Reason"] == "blocked"
    shown = pseudonym(organization.id, user.id)
    assert org_api.get(f"/api/v1/campaigns/{campaign.id}/blocks/").json()["results"][0]["worker"] == shown
    # The pseudonym the organization sees names the worker in bodies and paths too.
    wide = org_api.post("/api/v1/blocks/", {"worker": shown, "reason": "everywhere"}, format="json")
    assert wide.status_code == 201 and wide.json()["worker"] == shown
    assert org_api.delete(f"/api/v1/blocks/{shown}/").status_code == 204
    assert [b["worker"] for b in org_api.get(f"/api/v1/campaigns/{campaign.id}/blocks/").json()["results"]] == [shown]
    unknown = pseudonym(organization.id + 1, user.id)
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/blocks/", {"worker": unknown, "reason": "x"}, format="json"
    )
    assert response.status_code == 404 and error(response)["code"] == "not_found"
    response = org_api.delete(f"/api/v1/campaigns/{campaign.id}/blocks/not-a-worker/")
    assert response.status_code == 400 and "worker" in error(response)["fields"]
    assert org_api.delete(f"/api/v1/campaigns/{campaign.id}/blocks/{user.id}/").status_code == 204
    assert worker.post("/api/v1/assignments/next/", {"campaign": campaign.id}, format="json").status_code == 201


def test_block_needs_a_reason_and_a_real_worker(org_api, org_key, make_worker):
    campaign = factories.campaign(organization=org_key[0], launch=True, items=1)
    user, _ = make_worker()
    response = org_api.post(f"/api/v1/campaigns/{campaign.id}/blocks/", {"worker": user.id}, format="json")
    assert response.status_code == 400 and "reason" in error(response)["fields"]
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/blocks/", {"worker": 999999, "reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert not WorkerBlock.objects.exists()


def test_block_on_another_organizations_campaign_is_404(org_api, make_worker):
    campaign = factories.campaign(launch=True, items=1)  # a different organization
    user, _ = make_worker()
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/blocks/", {"worker": user.id, "reason": "x"}, format="json"
    )
    assert response.status_code == 404
    assert not WorkerBlock.objects.exists()


def test_organization_block_covers_every_campaign(org_api, org_key, make_worker):
    organization = org_key[0]
    factories.campaign(organization=organization, launch=True, items=2)
    user, worker = make_worker()
    response = org_api.post("/api/v1/blocks/", {"worker": user.id, "reason": "fraud"}, format="json")
    assert response.status_code == 201 and response.json()["campaign"] is None
    assert worker.post("/api/v1/assignments/next/", {}, format="json")["Crowdloop-Reason"] == "blocked"
    assert org_api.delete(f"/api/v1/blocks/{user.id}/").status_code == 204
    assert org_api.delete(f"/api/v1/blocks/{user.id}/").status_code == 404


def test_campaign_routing_fields_are_validated(org_api):
    response = org_api.post("/api/v1/campaigns/", {"name": "x", "labels": ["a", "b"], "order": "random"}, format="json")
    assert response.status_code == 400 and "order" in error(response)["fields"]
    response = org_api.post(
        "/api/v1/campaigns/", {"name": "x", "labels": ["a", "b"], "min_language_level": 9}, format="json"
    )
    assert response.status_code == 400 and "min_language_level" in error(response)["fields"]
    response = org_api.post(
        "/api/v1/campaigns/",
        {"name": "x", "labels": ["a", "b"], "order": "breadth_first", "sensitive": True, "min_quality": 0.8},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["order"], response.json()["sensitive"], response.json()["min_quality"]) == (
        "breadth_first",
        True,
        0.8,
    )


def test_next_names_the_reason_when_languages_do_not_match(make_worker):
    factories.campaign(launch=True, items=1, languages=["sw"])
    _, client = make_worker(languages=(("fr", 5),))
    response = client.post("/api/v1/assignments/next/", {}, format="json")
    assert response.status_code == 204
    assert response["Crowdloop-Reason"] == "no_language_match"
    assert "languages" in response["Crowdloop-Reason-Message"]


def test_gold_rejection_cannot_act_on_a_single_failure(org_api):
    body = {"name": "x", "labels": ["a", "b"], "auto_reject_on_gold": True, "auto_reject_min_gold_failed": 1}
    response = org_api.post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 400 and "auto_reject_min_gold_failed" in error(response)["fields"]
