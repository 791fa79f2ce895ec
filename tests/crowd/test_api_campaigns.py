"""Campaigns through the REST API: create, read with progress, edit rules, launch, tenancy, roles, bad input."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from crowd.models import Campaign, Item, Membership, MicroTask
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.routing import assignment_claim_next
from payments.services import funds_deposit
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Malaria slides",
        "instructions": "Is the parasite visible?",
        "task_type": "single_choice",
        "labels": ["yes", "no"],
        "redundancy": 3,
        "max_redundancy": 5,
        "target_confidence": 0.9,
        "items_per_task": 2,
        "reward": "0.25",
        "currency": "USD",
        "estimated_seconds": 30,
        "languages": ["sw-KE", "en"],
        "required_skills": {"microscopy": 2},
        "lease_seconds": 300,
        "gold_ratio": 0.1,
        "visibility": "private",
    }
    body.update(overrides)
    return body


def _create(org_api: APIClient, **overrides: Any) -> dict[str, Any]:
    response = org_api.post(URL, _payload(**overrides), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    # Funds for launching (tests of launching without funds make their own campaigns).
    funds_deposit(
        organization_id=body["organization"],
        amount="10000",
        currency=body["currency"],
        reference=f"test-{body['id']}",
        created_by_id=None,
    )
    return body


def _items(org_api: APIClient, campaign_id: int, count: int, language: str = "en") -> None:
    rows = [{"external_id": f"x{i}", "data": {"text": f"t{i}"}, "language": language} for i in range(count)]
    response = org_api.post(f"{URL}{campaign_id}/items/", rows, format="json")
    assert response.status_code == 201, response.content


def test_campaign_create_returns_draft_with_normalized_fields(org_api, org_key):
    body = _create(org_api)

    assert body["status"] == "draft"
    assert body["organization"] == org_key[0].id
    assert body["reward"] == "0.25"
    assert body["currency"] == "USD"
    assert body["labels"] == [{"value": "yes", "text": "yes"}, {"value": "no", "text": "no"}]
    assert body["languages"] == ["en", "sw"]  # base tags, sorted
    assert body["required_skills"] == {"microscopy": 2}
    assert body["items"] == 0 and body["microtasks"] == 0 and body["answers"] == 0 and body["complete_items"] == 0
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.reward_minor == 25
    assert campaign.organization_id == org_key[0].id
    assert campaign.created_by_id == org_key[1].id


def test_campaign_create_ignores_status_in_body(org_api):
    body = _create(org_api, status="active")

    assert body["status"] == "draft"
    assert Campaign.objects.get(pk=body["id"]).status == Campaign.Status.DRAFT


def test_campaign_create_reward_in_zero_decimal_currency(org_api):
    body = _create(org_api, reward="150", currency="jpy")

    assert body["reward"] == "150"
    assert body["currency"] == "JPY"
    assert Campaign.objects.get(pk=body["id"]).reward_minor == 150


def test_campaign_get_shows_progress_counts(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=3, redundancy=1, max_redundancy=1, launch=True)
    worker, _ = factories.worker()
    claim = assignment_claim_next(worker=worker, campaign_id=campaign.id)
    item_id = claim.assignment.entries.get().item_id
    answer_submit(worker=worker, assignment_id=claim.assignment.id, raw_answers=[{"item": item_id, "label": "pos"}])
    campaign_aggregate(campaign_id=campaign.id)  # at max_redundancy 1 the answered item is complete

    response = org_api.get(f"{URL}{campaign.id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == campaign.id
    assert body["status"] == "active"
    assert (body["items"], body["microtasks"], body["answers"], body["complete_items"]) == (3, 3, 1, 1)


def test_campaign_list_shows_only_own_organization(org_api, other_org_api, org_key):
    mine = factories.campaign(organization=org_key[0])
    _create(other_org_api, name="Theirs")

    response = org_api.get(URL)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [mine.id]


def test_campaign_patch_any_field_while_draft(org_api):
    campaign_id = _create(org_api)["id"]

    response = org_api.patch(
        f"{URL}{campaign_id}/",
        {
            "labels": ["a", "b", "c"],
            "currency": "KES",
            "reward": "12.50",
            "items_per_task": 1,
            "languages": ["luo"],
            "visibility": "public",
            "lease_seconds": 900,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert [label["value"] for label in body["labels"]] == ["a", "b", "c"]
    assert (body["currency"], body["reward"], body["languages"]) == ("KES", "12.50", ["luo"])
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.reward_minor, campaign.items_per_task, campaign.visibility) == (1250, 1, "public")
    assert campaign.lease_seconds == 900


def test_campaign_patch_currency_keeps_the_reward_amount(org_api):
    campaign_id = _create(org_api, reward="0.25", currency="USD")["id"]

    response = org_api.patch(f"{URL}{campaign_id}/", {"currency": "EUR"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["reward"], response.json()["currency"]) == ("0.25", "EUR")
    assert Campaign.objects.get(pk=campaign_id).reward_minor == 25


def test_campaign_patch_currency_without_a_representable_reward_is_refused(org_api):
    campaign_id = _create(org_api, reward="0.25", currency="USD")["id"]

    response = org_api.patch(f"{URL}{campaign_id}/", {"currency": "JPY"}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert "reward" in error["fields"]
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.currency, campaign.reward_minor) == ("USD", 25)  # not silently 25 yen


def test_campaign_patch_currency_with_new_reward(org_api):
    campaign_id = _create(org_api, reward="0.25", currency="USD")["id"]

    response = org_api.patch(f"{URL}{campaign_id}/", {"currency": "JPY", "reward": "40"}, format="json")

    assert response.status_code == 200, response.content
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.currency, campaign.reward_minor) == ("JPY", 40)


def test_campaign_patch_allowed_fields_while_active(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=2, launch=True)

    response = org_api.patch(
        f"{URL}{campaign.id}/",
        {
            "name": "Renamed",
            "instructions": "Look closer.",
            "reward": "0.20",
            "redundancy": 4,
            "max_redundancy": 6,
            "priority": 5,
            "target_confidence": 0.8,
            "lease_seconds": 1200,  # applies to new leases
            "gold_ratio": 0.2,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    campaign.refresh_from_db()
    assert (campaign.lease_seconds, campaign.gold_ratio) == (1200, 0.2)
    assert (campaign.name, campaign.instructions, campaign.reward_minor) == ("Renamed", "Look closer.", 20)
    assert (campaign.redundancy, campaign.max_redundancy, campaign.priority) == (4, 6, 5)
    assert campaign.target_confidence == 0.8
    # A higher redundancy reaches the microtasks that are still collecting answers at once.
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {4}
    assert set(Item.objects.filter(campaign=campaign).values_list("redundancy", flat=True)) == {4}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("labels", ["x", "y"]),
        ("task_type", "free_text"),
        ("items_per_task", 3),
        ("languages", ["fr"]),
        ("required_skills", {"medical": 2}),
        ("visibility", "private"),
        ("mode", "review"),
        ("blind_share", 0.25),
        ("currency", "EUR"),
    ],
)
def test_campaign_patch_locked_field_while_active_conflicts(org_api, org_key, field, value):
    campaign = factories.campaign(organization=org_key[0], items=2, launch=True)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()

    response = org_api.patch(f"{URL}{campaign.id}/", {field: value, "name": "Should not stick"}, format="json")

    error = assert_error(response, 409, "invalid_state")
    assert field in error["message"]
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before


def test_campaign_patch_redundancy_cannot_drop_while_active(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=2, launch=True)

    response = org_api.patch(f"{URL}{campaign.id}/", {"redundancy": 2}, format="json")

    error = assert_error(response, 409, "invalid_state")
    assert "redundancy" in error["fields"]
    campaign.refresh_from_db()
    assert campaign.redundancy == 3
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {3}


@pytest.mark.parametrize("status", ["active", "draft", "completed"])
def test_campaign_patch_status_is_read_only(org_api, status):
    campaign_id = _create(org_api)["id"]

    response = org_api.patch(f"{URL}{campaign_id}/", {"status": status, "name": "New"}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert "status" in error["fields"]
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.status, campaign.name) == ("draft", "Malaria slides")


def test_campaign_patch_max_redundancy_below_redundancy_is_refused(org_api):
    campaign_id = _create(org_api)["id"]

    response = org_api.patch(f"{URL}{campaign_id}/", {"max_redundancy": 2}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert "max_redundancy" in error["fields"]
    assert Campaign.objects.get(pk=campaign_id).max_redundancy == 5


def test_campaign_launch_splits_items_into_microtasks(org_api):
    campaign_id = _create(org_api, languages=[], required_skills={}, gold_ratio=0)["id"]
    _items(org_api, campaign_id, 5)

    response = org_api.post(f"{URL}{campaign_id}/launch/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active"
    assert body["launched_at"]
    assert (body["items"], body["microtasks"]) == (5, 3)  # items_per_task = 2
    assert set(MicroTask.objects.filter(campaign_id=campaign_id).values_list("target", flat=True)) == {3}


def test_campaign_launch_without_items_is_refused(org_api):
    campaign_id = _create(org_api)["id"]

    response = org_api.post(f"{URL}{campaign_id}/launch/")

    error = assert_error(response, 400, "no_items")
    assert "items" in error["fields"]
    campaign = Campaign.objects.get(pk=campaign_id)
    assert (campaign.status, campaign.launched_at) == ("draft", None)
    assert not MicroTask.objects.filter(campaign_id=campaign_id).exists()


def test_campaign_launch_with_only_gold_items_is_refused(org_api):
    campaign_id = _create(org_api)["id"]
    rows = [{"external_id": "g1", "data": {"text": "known"}, "gold": "yes"}]
    assert org_api.post(f"{URL}{campaign_id}/items/", rows, format="json").status_code == 201

    assert_error(org_api.post(f"{URL}{campaign_id}/launch/"), 400, "no_items")
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_campaign_launch_without_reward_or_labels_is_refused(org_api):
    campaign_id = _create(org_api, reward="0", labels=["only"])["id"]
    _items(org_api, campaign_id, 2)

    error = assert_error(org_api.post(f"{URL}{campaign_id}/launch/"), 400, "validation_error")

    assert set(error["fields"]) == {"reward", "labels"}
    assert Campaign.objects.get(pk=campaign_id).status == "draft"
    assert not MicroTask.objects.filter(campaign_id=campaign_id).exists()


def test_campaign_launch_twice_conflicts(org_api):
    campaign_id = _create(org_api)["id"]
    _items(org_api, campaign_id, 4)
    assert org_api.post(f"{URL}{campaign_id}/launch/").status_code == 200
    microtasks = MicroTask.objects.filter(campaign_id=campaign_id).count()

    response = org_api.post(f"{URL}{campaign_id}/launch/")

    assert_error(response, 409, "invalid_state")
    assert MicroTask.objects.filter(campaign_id=campaign_id).count() == microtasks == 2


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "Hijacked"}),
        ("post", "launch/", None),
        ("post", "items/", [{"external_id": "evil", "data": {"text": "x"}}]),
        ("post", "aggregate/", None),
        ("get", "results/", None),
        ("get", "export/?format=csv", None),
    ],
)
def test_campaign_of_another_organization_is_not_found(other_org_api, org_key, method, suffix, body):
    campaign = factories.campaign(organization=org_key[0], items=2)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()

    response = getattr(other_org_api, method)(f"{URL}{campaign.id}/{suffix}", body, format="json")

    assert_error(response, 404, "not_found")
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before
    assert Item.objects.filter(campaign=campaign).count() == 2
    assert not MicroTask.objects.filter(campaign=campaign).exists()


def test_campaign_unknown_id_is_not_found(org_api):
    assert_error(org_api.get(f"{URL}999999/"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "", {"name": "Viewer edit"}),
        ("post", "launch/", None),
        ("post", "items/", [{"external_id": "v1", "data": {"text": "x"}}]),
        ("post", "aggregate/", None),
    ],
)
def test_campaign_viewer_cannot_write(org_key, method, suffix, body):
    campaign = factories.campaign(organization=org_key[0], items=2)
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)

    response = getattr(viewer, method)(f"{URL}{campaign.id}/{suffix}", body, format="json")

    assert_error(response, 403, "permission_denied")
    campaign.refresh_from_db()
    assert campaign.name != "Viewer edit" and campaign.status == "draft"
    assert Item.objects.filter(campaign=campaign).count() == 2


def test_campaign_viewer_can_read_but_not_create(org_key):
    campaign = factories.campaign(organization=org_key[0])
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    before = Campaign.objects.count()

    assert viewer.get(f"{URL}{campaign.id}/").status_code == 200
    assert_error(viewer.post(URL, _payload(), format="json"), 403, "permission_denied")
    assert Campaign.objects.count() == before


def test_campaign_coordinator_can_create_and_launch(org_key):
    coordinator = factories.membership_client(organization=org_key[0], role=Membership.Role.COORDINATOR)

    campaign_id = _create(coordinator)["id"]
    _items(coordinator, campaign_id, 2)

    assert coordinator.post(f"{URL}{campaign_id}/launch/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"task_type": "bounding_box"}, "task_type"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "dollars"}, "currency"),
        ({"reward": "0.125"}, "reward"),
        ({"reward": "1.5", "currency": "JPY"}, "reward"),
        ({"reward": "-1"}, "reward"),
        ({"reward": "lots"}, "reward"),
        ({"redundancy": 4, "max_redundancy": 3}, "max_redundancy"),
        ({"languages": ["not a language"]}, "languages"),
        ({"languages": ["xx-INVALID-tag-9"]}, "languages"),
        ({"target_confidence": 1.5}, "target_confidence"),
        ({"gold_ratio": -0.1}, "gold_ratio"),
        ({"redundancy": 0}, "redundancy"),
        ({"lease_seconds": 5}, "lease_seconds"),
        ({"items_per_task": 0}, "items_per_task"),
        ({"labels": ["a", "a"]}, "labels"),
        ({"labels": [{"text": "no value"}]}, "labels"),
        ({"labels": "yes,no"}, "labels"),
        ({"required_skills": {"microscopy": 9}}, "required_skills"),
        ({"visibility": "secret"}, "visibility"),
        ({"name": ""}, "name"),
    ],
)
def test_campaign_create_bad_input_names_the_field(org_api, overrides, field):
    before = Campaign.objects.count()

    response = org_api.post(URL, _payload(**overrides), format="json")

    error = assert_error(response, 400, "validation_error")
    assert field in error["fields"], error
    assert Campaign.objects.count() == before


def test_campaign_create_without_name_is_refused(org_api):
    body = _payload()
    del body["name"]

    error = assert_error(org_api.post(URL, body, format="json"), 400, "validation_error")

    assert "name" in error["fields"]
    assert not Campaign.objects.exists()


def test_campaign_create_for_another_organization_is_refused(org_api, other_org_api):
    other_org_id = other_org_api.post(URL, _payload(), format="json").json()["organization"]
    before = Campaign.objects.count()

    response = org_api.post(URL, _payload(organization=other_org_id), format="json")

    assert_error(response, 404, "not_found")
    assert Campaign.objects.count() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", f"{URL}1/"),
        ("patch", f"{URL}1/"),
        ("post", f"{URL}1/launch/"),
        ("post", f"{URL}1/items/"),
        ("get", f"{URL}1/results/"),
    ],
)
def test_campaign_unauthenticated_is_refused(api, method, path):
    response = getattr(api, method)(path, {}, format="json")

    assert response.status_code in (401, 403)
    assert_error(response, response.status_code, "not_authenticated")
    assert not Campaign.objects.exists()


def test_campaign_bad_token_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Token clo_not-a-real-key")

    assert_error(api.post(URL, _payload(), format="json"), 401, "authentication_failed")
    assert not Campaign.objects.exists()


def test_campaign_worker_token_cannot_create(make_worker):
    _, worker_api = make_worker()

    assert_error(worker_api.post(URL, _payload(), format="json"), 403, "permission_denied")
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/campaigns/1/nothing-here/", "/api/v1/"])
def test_api_unknown_path_is_a_json_404(org_api, path):
    assert_error(org_api.get(path), 404, "not_found")


def test_api_malformed_json_body_is_refused(org_api):
    response = org_api.post(URL, data='{"name": ', content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert not Campaign.objects.exists()


def test_api_method_not_allowed_has_the_error_shape(org_api):
    assert_error(org_api.delete(URL), 405, "method_not_allowed")


def test_api_path_without_trailing_slash_still_redirects(org_api):
    response = org_api.get("/api/v1/campaigns")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/campaigns/"
