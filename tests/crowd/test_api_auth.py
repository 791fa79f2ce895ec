"""Token authentication: organization keys and worker tokens, revoked, expired and orphaned keys; the command that
issues an organization's first key."""

import io
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crowd.api.auth import TokenAuthentication
from crowd.exceptions import PermissionDenied
from crowd.models import ApiKey, Membership, Organization
from crowd.services.organizations import api_key_create, membership_set, organization_ensure
from tests import factories
from tests.factories import assert_error
from workers.models import User, WorkerToken

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


def refusal(response) -> str:
    assert response.status_code == 401, response.content
    return assert_error(response, 401, "authentication_failed")["message"]


def test_key_stops_working_when_its_creator_is_deactivated(org_key):
    _, owner, key = org_key
    assert client_with(key).get("/api/v1/campaigns/").status_code == 200
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert "no longer holds its role" in refusal(client_with(key).get("/api/v1/campaigns/"))


def test_key_stops_working_when_its_creator_leaves_the_organization(org_key):
    organization, owner, key = org_key
    factories.campaign(organization=organization)
    Membership.objects.filter(organization=organization, user=owner).delete()
    for path in ("/api/v1/campaigns/", "/api/v1/funds/"):
        assert "no longer holds its role" in refusal(client_with(key).get(path))
    response = client_with(key).post("/api/v1/workers/", {"username": "w1", "languages": [{"code": "en", "level": 5}]})
    refusal(response)
    assert not User.objects.filter(username="w1").exists()


@pytest.mark.parametrize(
    ("creator_role", "key_role", "works"),
    [
        ("owner", "owner", True),
        ("owner", "coordinator", True),
        ("owner", "viewer", True),
        ("coordinator", "owner", False),
        ("coordinator", "coordinator", True),
        ("coordinator", "viewer", True),
        ("viewer", "owner", False),
        ("viewer", "coordinator", False),
        ("viewer", "viewer", True),
    ],
)
def test_key_works_only_while_its_creator_holds_at_least_the_keys_role(org_key, creator_role, key_role, works):
    """Issued while the creator was an owner; what counts is the creator's role now (owner > coordinator > viewer)."""
    organization, owner, _ = org_key
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id, role=key_role)
    membership_set(organization_id=organization.id, user_id=owner.id, role=creator_role)
    response = client_with(key).get("/api/v1/campaigns/")
    if works:
        assert response.status_code == 200
    else:
        assert "no longer holds its role" in refusal(response)


def test_key_of_a_creator_in_another_organization_only_does_not_work(org_key):
    """Membership must be in the key's own organization: owning some other organization is not enough."""
    organization, owner, _ = org_key
    other, _ = organization_ensure(name="Other NGO", owner_email="owner@other.example")
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id)
    membership_set(organization_id=other.id, user_id=owner.id, role=Membership.Role.OWNER)
    Membership.objects.filter(organization=organization, user=owner).delete()
    refusal(client_with(key).get("/api/v1/campaigns/"))


def test_key_expires(org_key):
    organization, owner, _ = org_key
    now = timezone.now()
    later = api_key_create(organization_id=organization.id, created_by_id=owner.id, expires_at=now + timedelta(hours=1))
    assert client_with(later).get("/api/v1/campaigns/").status_code == 200
    with time_machine.travel(now + timedelta(hours=1, seconds=1)):
        assert "expired" in refusal(client_with(later).get("/api/v1/campaigns/"))
    with time_machine.travel(now - timedelta(days=2)):  # a key's expiry is in the future when it is issued
        earlier = api_key_create(
            organization_id=organization.id, created_by_id=owner.id, expires_at=now - timedelta(days=1)
        )
    assert "expired" in refusal(client_with(earlier).get("/api/v1/campaigns/"))


def test_revoked_key_says_so(org_key):
    ApiKey.objects.update(revoked_at=timezone.now())
    assert refusal(client_with(org_key[2]).get("/api/v1/campaigns/")) == "This API key was revoked."


def test_key_authentication_is_one_query(org_key, django_assert_num_queries):
    organization, _, key = org_key
    TokenAuthentication().authenticate_credentials(key)  # the first use of the minute also records it
    with django_assert_num_queries(1):
        user, api_key = TokenAuthentication().authenticate_credentials(key)
        assert (user.email, api_key.organization_id, api_key.role) == ("owner@ngo.example", organization.id, "owner")
        assert api_key.created_by is user


def test_a_key_cannot_be_issued_above_its_creators_role(org_key):
    organization, _, _ = org_key
    viewer = User.objects.create_user(username="viewer")
    membership_set(organization_id=organization.id, user_id=viewer.id, role=Membership.Role.VIEWER)
    before = ApiKey.objects.count()
    with pytest.raises(PermissionDenied):
        api_key_create(organization_id=organization.id, created_by_id=viewer.id, role=Membership.Role.COORDINATOR)
    outsider = User.objects.create_user(username="outsider")
    with pytest.raises(PermissionDenied):
        api_key_create(organization_id=organization.id, created_by_id=outsider.id, role=Membership.Role.VIEWER)
    assert ApiKey.objects.count() == before
    assert api_key_create(organization_id=organization.id, created_by_id=viewer.id, role=Membership.Role.VIEWER)


def create_org_token(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_org_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()[-1]


def test_create_org_token_creates_a_verified_owner_whose_key_works():
    key = create_org_token("--org", "Clinic", "--email", "Head@Clinic.example")
    owner = User.objects.get(email__iexact="head@clinic.example")
    assert EmailAddress.objects.filter(user=owner, email="head@clinic.example", verified=True, primary=True).exists()
    assert Membership.objects.get(user=owner).role == Membership.Role.OWNER
    assert client_with(key).get("/api/v1/campaigns/").status_code == 200
    # Again: the same owner, a second key.
    create_org_token("--org", "Clinic", "--email", "head@clinic.example")
    assert User.objects.filter(email__iexact="head@clinic.example").count() == 1
    assert ApiKey.objects.filter(organization__name="Clinic").count() == 2


def test_create_org_token_refuses_an_account_that_has_not_verified_the_address(client):
    """Someone signs up first with the owner's address: the organization must not become theirs."""
    signup = {
        "username": "squatter",
        "email": "head@clinic.example",
        "password1": "pass phrase 42",
        "password2": "pass phrase 42",
    }
    assert client.post(reverse("account_signup"), signup).status_code == 302
    with pytest.raises(CommandError, match="has not verified that address"):
        create_org_token("--org", "Clinic", "--email", " HEAD@clinic.example ")
    assert not Organization.objects.filter(name="Clinic").exists()
    assert not Membership.objects.exists() and not ApiKey.objects.exists()

    # Once the address is verified (the holder opened the link), it is theirs.
    EmailAddress.objects.filter(email="head@clinic.example").update(verified=True)
    create_org_token("--org", "Clinic", "--email", "head@clinic.example")
    assert Membership.objects.get(organization__name="Clinic").user.username == "squatter"


@pytest.mark.parametrize(
    "existing",
    [
        {"username": "head", "email": "head@clinic.example"},  # an account without any EmailAddress row
        {"username": "head@clinic.example", "email": ""},  # the username the command would create
    ],
)
def test_create_org_token_refuses_other_claims_on_the_address(existing):
    User.objects.create_user(**existing)
    with pytest.raises(CommandError):
        create_org_token("--org", "Clinic", "--email", "head@clinic.example")
    assert not Organization.objects.exists() and not ApiKey.objects.exists()


def test_create_org_token_refuses_a_deactivated_owner():
    create_org_token("--org", "Clinic", "--email", "head@clinic.example")
    User.objects.update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        create_org_token("--org", "Clinic", "--email", "head@clinic.example")
    assert ApiKey.objects.count() == 1


def test_a_key_records_when_it_was_last_used_to_the_minute(org_key):
    organization, owner, raw = org_key
    key = ApiKey.objects.get(organization=organization)
    assert key.last_used_at is None
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client_with(raw).get("/api/v1/campaigns/")
    key.refresh_from_db()
    assert key.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client_with(raw).get("/api/v1/campaigns/")
    key.refresh_from_db()
    assert key.last_used_at == start  # within the minute: no write
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client_with(raw).get("/api/v1/campaigns/")
    key.refresh_from_db()
    assert key.last_used_at == start + timedelta(minutes=2)
    page = factories_page(owner, organization)
    assert "last used" in page and "never used" not in page


def factories_page(owner, organization) -> str:
    from tests.crowd.pages import logged_in

    return logged_in(owner).get(f"/manage/organizations/{organization.id}/people/").content.decode()
