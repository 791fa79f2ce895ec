"""A campaign's ML backends and baseline runs over the API come in cursor pages and narrow by their filters: no row
twice, none skipped, a filter value that does not parse is a 400 naming it, another organization's campaign a 404."""

import pytest

from crowd.models import BaselineRun, MLBackend
from tests import factories

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_backends_come_in_cursor_pages_and_filter_by_active_and_status(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0])
    states = [(True, "ok"), (False, "ok"), (True, "failing"), (True, "ok"), (False, "failing")]
    ids = [
        MLBackend.objects.create(
            campaign=campaign, name=f"m{n}", url=f"https://ml.example.org/{n}", active=active, status=status
        ).id
        for n, (active, status) in enumerate(states)
    ]
    MLBackend.objects.create(campaign=factories.campaign(organization=org_key[0]), name="elsewhere", url="https://x/")
    listing = f"/api/v1/campaigns/{campaign.id}/backends/"

    first = org_api.get(listing, {"limit": 3}).json()
    assert [row["id"] for row in first["results"]] == ids[:3] and first["next_cursor"] == ids[2]
    second = org_api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == ids[3:]
    assert second["next_cursor"] is None and second["next"] is None

    assert _ids(org_api.get(listing, {"active": "false"})) == [ids[1], ids[4]]
    assert _ids(org_api.get(listing, {"status": "failing"})) == [ids[2], ids[4]]
    assert _ids(org_api.get(listing, {"status": "ok", "active": "true"})) == [ids[0], ids[3]]
    assert "status" in factories.assert_error(org_api.get(listing, {"status": "broken"}), 400)["fields"]
    assert "limit" in factories.assert_error(org_api.get(listing, {"limit": 0}), 400)["fields"]
    factories.assert_error(other_org_api.get(listing), 404)


def test_baseline_runs_come_newest_first_in_pages_next_to_the_switch(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0], baseline=True)
    accuracies = [0.6, None, 0.8, 0.9, 0.7]
    runs = {
        version: BaselineRun.objects.create(
            campaign=campaign, version=version, trained_on=100, held_out=25, accuracy=accuracy, items_labelled=10
        )
        for version, accuracy in enumerate(accuracies, start=1)
    }
    BaselineRun.objects.create(
        campaign=factories.campaign(organization=org_key[0]), version=9, trained_on=1, held_out=1, accuracy=0.99
    )
    url = f"/api/v1/campaigns/{campaign.id}/baseline/"

    def versions(query: dict) -> list[int]:
        response = org_api.get(url, query)
        assert response.status_code == 200, response.content
        return [run["version"] for run in response.json()["results"]]

    first = org_api.get(url, {"limit": 2}).json()
    assert first["enabled"] is True
    assert [run["version"] for run in first["results"]] == [5, 4] and first["next_cursor"] == runs[4].id
    second = org_api.get(first["next"]).json()
    assert second["enabled"] is True and [run["version"] for run in second["results"]] == [3, 2]
    third = org_api.get(url, {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [run["version"] for run in third["results"]] == [1] and third["next_cursor"] is None
    assert third["next"] is None

    assert versions({"accuracy_at_least": "0.75"}) == [4, 3]
    assert versions({"accuracy_below": "0.75"}) == [5, 1]
    assert versions({"created_after": "2999-01-01T00:00:00Z"}) == []
    assert versions({"created_before": "2999-01-01T00:00:00Z"}) == [5, 4, 3, 2, 1]
    error = factories.assert_error(org_api.get(url, {"accuracy_at_least": "high"}), 400)
    assert "accuracy_at_least" in error["fields"]
    assert "created_after" in factories.assert_error(org_api.get(url, {"created_after": "soon"}), 400)["fields"]
    factories.assert_error(other_org_api.get(url), 404)
