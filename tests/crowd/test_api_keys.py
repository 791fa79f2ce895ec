"""API keys through the API: owners only; a key is shown once and only its digest is kept; it stops working when
revoked, when it expires and when its creator leaves or loses its role, unless it was handed to another owner."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from crowd.models import ApiKey, Membership
from crowd.services.members import member_remove, member_set_role
from crowd.services.organizations import api_key_create, membership_set, organization_ensure
from tests.factories import assert_error
from workers.models import User
from workers.services import user_email_verify
from workers.tokens import token_digest

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _member(organization, username: str, role: str) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@ngo.example")
    membership_set(organization_id=organization.id, user_id=user.id, role=role)
    return user


def _works(key: str) -> bool:
    return _client(key).get("/api/v1/campaigns/").status_code == 200


def test_api_key_create_shows_the_key_once_and_stores_its_digest(org_api, org_key):
    organization, owner, _ = org_key
    expires_at = timezone.now() + timedelta(days=30)

    response = org_api.post(
        "/api/v1/keys/", {"name": "nightly export", "role": "viewer", "expires_at": expires_at.isoformat()}
    )

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    key = body["key"]
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.digest == token_digest(key) and key not in (stored.digest, stored.prefix, stored.name)
    assert key.startswith(body["prefix"]) and len(body["prefix"]) < len(key) // 3
    assert body["role"] == "viewer" and body["name"] == "nightly export" and body["active"] is True
    assert body["created_by"] == {"id": owner.id, "username": owner.username}
    assert body["organization"] == organization.id
    assert _client(key).get("/api/v1/campaigns/").status_code == 200
    assert _client(key).post("/api/v1/campaigns/", {"name": "x"}).status_code == 403  # a viewer key

    listed = org_api.get("/api/v1/keys/").json()["results"]
    assert [k["id"] for k in listed] == [body["id"], ApiKey.objects.order_by("id").first().id]
    assert all("key" not in k for k in listed)
    assert key not in org_api.get("/api/v1/keys/").content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "admin"}, "role"),
        ({"role": "viewer", "expires_at": "yesterday"}, "expires_at"),
        ({"role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_api_key_create_refuses_bad_input_and_writes_nothing(org_api, body, field):
    error = assert_error(org_api.post("/api/v1/keys/", body, format="json"), 400, "validation_error")
    assert field in error["fields"]
    assert ApiKey.objects.count() == 1  # only the fixture's


def test_api_keys_are_for_owners_only(org_key, make_worker):
    organization, _owner, _ = org_key
    coordinator = _member(organization, "coord", "coordinator")
    coordinator_key = api_key_create(organization_id=organization.id, created_by_id=coordinator.id, role="coordinator")
    key_id = ApiKey.objects.order_by("id").first().id
    _worker, worker_client = make_worker()

    for client in (_client(coordinator_key), worker_client):
        assert_error(client.get("/api/v1/keys/"), 403)
        assert_error(client.post("/api/v1/keys/", {"role": "viewer"}), 403)
        assert client.delete(f"/api/v1/keys/{key_id}/").status_code in (403, 404)
        assert client.post(f"/api/v1/keys/{key_id}/reassign/", {"user": coordinator.id}).status_code in (403, 404)
    assert_error(_client(coordinator_key).delete(f"/api/v1/keys/{key_id}/"), 403)
    assert_error(APIClient().get("/api/v1/keys/"), 401)
    assert ApiKey.objects.count() == 2 and not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_api_keys_of_another_organization_do_not_exist(org_key, other_org_api):
    key_id = ApiKey.objects.get(organization=org_key[0]).id
    assert_error(other_org_api.delete(f"/api/v1/keys/{key_id}/"), 404, "not_found")
    assert other_org_api.get("/api/v1/keys/").json()["results"][0]["id"] != key_id
    assert ApiKey.objects.get(pk=key_id).revoked_at is None


def test_api_key_revoke_stops_it_at_once(org_api, org_key):
    organization, owner, _ = org_key
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id, role="viewer")
    key_id = ApiKey.objects.get(digest=token_digest(key)).id
    assert _works(key)

    assert org_api.delete(f"/api/v1/keys/{key_id}/").status_code == 204
    assert org_api.delete(f"/api/v1/keys/{key_id}/").status_code == 204  # idempotent

    assert not _works(key)
    assert "revoked" in _client(key).get("/api/v1/campaigns/").json()["error"]["message"]
    listed = {k["id"]: k for k in org_api.get("/api/v1/keys/").json()["results"]}
    assert listed[key_id]["active"] is False and listed[key_id]["revoked_at"]


def test_api_key_expires(org_api):
    now = timezone.now()
    body = org_api.post("/api/v1/keys/", {"role": "viewer", "expires_at": (now + timedelta(hours=1)).isoformat()})
    key = body.json()["key"]
    assert _works(key)
    with time_machine.travel(now + timedelta(hours=1, seconds=1)):
        assert not _works(key)
        assert org_api.get("/api/v1/keys/?active=false").json()["results"][0]["id"] == body.json()["id"]


def test_api_key_stops_when_its_creator_leaves_or_is_demoted(org_key):
    organization, owner, _ = org_key
    amina = _member(organization, "amina", "owner")
    leaving = api_key_create(organization_id=organization.id, created_by_id=amina.id, role="coordinator")
    demoted = api_key_create(organization_id=organization.id, created_by_id=owner.id, role="owner")
    assert _works(leaving) and _works(demoted)

    member_remove(organization_id=organization.id, user_id=amina.id)
    assert not _works(leaving)

    member_set_role(organization_id=organization.id, user_id=amina.id, role="owner")  # back, then owner demoted
    member_set_role(organization_id=organization.id, user_id=owner.id, role="coordinator")
    assert not _works(demoted)  # an owner key of a creator who is now only a coordinator
    assert "no longer holds its role" in _client(demoted).get("/api/v1/campaigns/").json()["error"]["message"]


def test_api_key_reassigned_to_an_owner_survives_its_creator_leaving(org_key):
    organization, owner, owner_key = org_key
    amina = _member(organization, "amina", "owner")
    key = api_key_create(organization_id=organization.id, created_by_id=amina.id, role="coordinator")
    key_id = ApiKey.objects.get(digest=token_digest(key)).id
    coordinator = _member(organization, "coord", "coordinator")
    client = _client(owner_key)

    error = assert_error(client.post(f"/api/v1/keys/{key_id}/reassign/", {"user": coordinator.id}), 400)
    assert "user" in error["fields"]
    outsider, _ = organization_ensure(name="Other NGO", owner_email="owner@other.example")
    outsider_owner = outsider.memberships.get().user
    assert_error(client.post(f"/api/v1/keys/{key_id}/reassign/", {"user": outsider_owner.id}), 400)
    assert_error(client.post(f"/api/v1/keys/{key_id}/reassign/", {}), 400, "validation_error")
    assert ApiKey.objects.get(pk=key_id).created_by_id == amina.id

    response = client.post(f"/api/v1/keys/{key_id}/reassign/", {"user": owner.id})
    assert response.status_code == 200, response.content
    assert response.json()["created_by"]["id"] == owner.id

    member_remove(organization_id=organization.id, user_id=amina.id)
    assert _works(key)


def test_member_remove_can_hand_the_keys_to_an_owner(org_key):
    organization, owner, _ = org_key
    amina = _member(organization, "amina", "coordinator")
    kept = api_key_create(organization_id=organization.id, created_by_id=amina.id, role="coordinator")
    coordinator = _member(organization, "coord", "coordinator")

    with pytest.raises(Exception, match="another owner"):
        member_remove(organization_id=organization.id, user_id=amina.id, keys_to=coordinator.id)
    assert Membership.objects.filter(organization=organization, user=amina).exists()  # nothing half-done

    member_remove(organization_id=organization.id, user_id=amina.id, keys_to=owner.id)
    assert _works(kept)
    assert ApiKey.objects.get(digest=token_digest(kept)).created_by_id == owner.id


def test_revoked_key_cannot_be_reassigned(org_api, org_key):
    organization, owner, _ = org_key
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id, role="viewer")
    key_id = ApiKey.objects.get(digest=token_digest(key)).id
    org_api.delete(f"/api/v1/keys/{key_id}/")
    assert_error(org_api.post(f"/api/v1/keys/{key_id}/reassign/", {"user": owner.id}), 409)


def test_api_keys_list_filters_and_cursor_pages(org_api, org_key):
    organization, owner, _ = org_key
    for number in range(5):
        api_key_create(organization_id=organization.id, created_by_id=owner.id, role="viewer", name=f"export {number}")
    revoked = ApiKey.objects.filter(name="export 0").get()
    revoked.revoked_at = timezone.now()
    revoked.save()

    first = org_api.get("/api/v1/keys/?role=viewer&limit=2").json()
    assert [k["name"] for k in first["results"]] == ["export 4", "export 3"]
    second = org_api.get(first["next"]).json()
    assert [k["name"] for k in second["results"]] == ["export 2", "export 1"]
    third = org_api.get(f"/api/v1/keys/?role=viewer&limit=2&cursor={second['next_cursor']}").json()
    assert [k["name"] for k in third["results"]] == ["export 0"] and third["next"] is None

    assert len(org_api.get("/api/v1/keys/?active=true").json()["results"]) == 5  # 4 viewers + the fixture's
    assert [k["name"] for k in org_api.get("/api/v1/keys/?active=false").json()["results"]] == ["export 0"]
    assert [k["name"] for k in org_api.get("/api/v1/keys/?name=PORT 3").json()["results"]] == ["export 3"]
    assert "role" in assert_error(org_api.get("/api/v1/keys/?role=admin"), 400)["fields"]
    assert "cursor" in assert_error(org_api.get("/api/v1/keys/?cursor=x"), 400)["fields"]


def test_people_page_removing_a_member_can_hand_their_keys_to_an_owner(org_key):
    from tests.crowd.pages import logged_in

    organization, owner, _ = org_key
    user_email_verify(user=owner)
    amina = _member(organization, "amina", "coordinator")
    kept = api_key_create(organization_id=organization.id, created_by_id=amina.id, role="viewer")
    viewer = _member(organization, "viewer", "viewer")
    url = f"/manage/organizations/{organization.id}/people/"
    page = logged_in(owner).get(url).content.decode()
    assert f'id="keys-to-{amina.id}"' in page and f'id="keys-to-{viewer.id}"' not in page
    assert ApiKey.objects.get(digest=token_digest(kept)).prefix in page

    logged_in(owner).post(url, {"action": "remove", "user": amina.id, "keys_to": viewer.id})  # not an owner
    assert Membership.objects.filter(organization=organization, user=amina).exists()

    logged_in(owner).post(url, {"action": "remove", "user": amina.id, "keys_to": owner.id})
    assert not Membership.objects.filter(organization=organization, user=amina).exists()
    assert _works(kept)
