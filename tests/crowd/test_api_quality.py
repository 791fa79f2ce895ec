"""Unknown API paths answer 404 in the error shape for every method; polled reads carry an ETag and answer 304 while
unchanged."""

import pytest

from crowd.services.campaigns import campaign_update
from crowd.services.imports import items_import
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/nothing-here", "/api/v1/campaigns/1/nope"])
def test_unknown_api_paths_answer_404_in_the_error_shape(org_api, method, path):
    response = getattr(org_api, method)(path, {}, format="json")
    error = assert_error(response, 404, "not_found")
    assert path in error["message"]


@pytest.mark.parametrize("method", METHODS)
def test_unknown_api_paths_answer_404_without_credentials(api, method):
    assert_error(getattr(api, method)("/api/v1/keys/1/nope"), 404, "not_found")


def test_known_endpoints_without_their_slash_still_redirect(org_api):
    response = org_api.get("/api/v1/campaigns?x=1")
    assert response.status_code == 301 and response["Location"] == "/api/v1/campaigns/?x=1"
    assert org_api.get("/api/v1/campaigns/").status_code == 200


def _etag_cycle(client, url: str, change) -> None:
    first = client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    unchanged = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH='"something else"').status_code == 200
    change()
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_results_etag_changes_when_the_results_do(org_key, org_api):
    campaign = factories.campaign(organization=org_key[0])
    items_import(campaign_id=campaign.id, rows=[{"external_id": "a", "data": {"text": "hi"}}])
    url = f"/api/v1/campaigns/{campaign.id}/results/"
    _etag_cycle(
        org_api, url, lambda: items_import(campaign_id=campaign.id, rows=[{"external_id": "b", "data": {"text": "x"}}])
    )


def test_campaign_detail_etag_changes_when_the_campaign_does(org_key, org_api):
    campaign = factories.campaign(organization=org_key[0])
    url = f"/api/v1/campaigns/{campaign.id}/"
    _etag_cycle(org_api, url, lambda: campaign_update(campaign_id=campaign.id, fields={"name": "Renamed"}))


def test_etag_is_not_given_to_errors_or_writes(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0])
    assert "ETag" not in other_org_api.get(f"/api/v1/campaigns/{campaign.id}/results/")
    assert "ETag" not in org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"name": "x"}, format="json")


def test_campaign_list_filters_and_cursor_pages(org_key, org_api, other_org_api):
    organization = org_key[0]
    made = [factories.campaign(organization=organization, name=f"Survey {n}") for n in range(5)]
    factories.campaign(organization=organization, name="Launched", launch=True, items=2)

    first = org_api.get("/api/v1/campaigns/?status=draft&limit=2").json()
    assert [c["name"] for c in first["results"]] == ["Survey 4", "Survey 3"]
    second = org_api.get(first["next"]).json()
    assert [c["name"] for c in second["results"]] == ["Survey 2", "Survey 1"]
    last = org_api.get(second["next"]).json()
    assert [c["name"] for c in last["results"]] == ["Survey 0"] and last["next"] is None and last["next_cursor"] is None
    assert [c["name"] for c in org_api.get("/api/v1/campaigns/?status=active").json()["results"]] == ["Launched"]
    assert [c["id"] for c in org_api.get("/api/v1/campaigns/?name=vey 2").json()["results"]] == [made[2].id]
    assert other_org_api.get("/api/v1/campaigns/").json()["results"] == []
    assert "status" in assert_error(org_api.get("/api/v1/campaigns/?status=flying"), 400)["fields"]
    assert "created_after" in assert_error(org_api.get("/api/v1/campaigns/?created_after=soon"), 400)["fields"]
    assert "limit" in assert_error(org_api.get("/api/v1/campaigns/?limit=0"), 400)["fields"]


def test_results_filters_keep_through_cursor_pages(org_key, org_api):
    from crowd.models import Item

    campaign = factories.campaign(organization=org_key[0])
    items_import(campaign_id=campaign.id, rows=[{"external_id": f"r{n}", "data": {"text": "x"}} for n in range(5)])
    ids = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    Item.objects.filter(id__in=ids[:3]).update(status="complete", confidence=0.95)
    Item.objects.filter(id=ids[3]).update(confidence=0.4)
    url = f"/api/v1/campaigns/{campaign.id}/results/"

    first = org_api.get(url + "?status=complete&limit=2").json()
    assert [r["item"] for r in first["results"]] == ids[:2]
    assert "status=complete" in first["next"]
    assert [r["item"] for r in org_api.get(first["next"]).json()["results"]] == [ids[2]]
    assert [r["item"] for r in org_api.get(url + "?confidence_below=0.5").json()["results"]] == [ids[3]]
    assert len(org_api.get(url + "?confidence_at_least=0.9").json()["results"]) == 3
    assert org_api.get(url + "?decided=true").json()["results"] == []
    assert "confidence_below" in assert_error(org_api.get(url + "?confidence_below=high"), 400)["fields"]
