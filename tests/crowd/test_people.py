"""An organization's people and keys from the web: owners only; never without an owner, even when two owners
remove each other at the same moment; a new key is shown once and works, a revoked or orphaned key does not."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from crowd.exceptions import DomainError
from crowd.models import ApiKey, Membership
from crowd.services.members import LastOwner, member_remove
from crowd.services.organizations import membership_set, organization_ensure
from tests.crowd.pages import logged_in
from workers.models import User
from workers.services import user_email_verify


def _person(username: str, email: str) -> User:
    user = User.objects.create_user(username=username, email=email)
    user_email_verify(user=user)
    return user


@pytest.mark.django_db
def test_only_owners_manage_people_and_keys(org):
    organization, owner = org
    coordinator = _person("coord", "coord@ngo.example")
    membership_set(organization_id=organization.id, user_id=coordinator.id, role="coordinator")
    url = f"/manage/organizations/{organization.id}/people/"
    assert logged_in(owner).get(url).status_code == 200
    assert logged_in(coordinator).get(url).status_code == 403
    assert logged_in(coordinator).post(url, {"action": "key_create", "role": "owner"}).status_code == 403
    outsider, _ = organization_ensure(name="Other", owner_email="other@ngo.example")
    assert logged_in(outsider.memberships.get().user).get(url).status_code == 404
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_members_are_added_by_confirmed_address_and_roles_change(org):
    organization, owner = org
    amina = _person("amina", "amina@ngo.example")
    User.objects.create_user(username="unconfirmed", email="unconfirmed@ngo.example")
    client = logged_in(owner)
    url = f"/manage/organizations/{organization.id}/people/"

    client.post(url, {"action": "add", "email": "Amina@NGO.example", "role": "viewer"})
    assert Membership.objects.get(organization=organization, user=amina).role == "viewer"
    page = client.post(url, {"action": "add", "email": "unconfirmed@ngo.example", "role": "viewer"}, follow=True)
    assert "ask them to sign up first" in page.content.decode()
    assert Membership.objects.filter(organization=organization).count() == 2

    client.post(url, {"action": "role", "user": amina.id, "role": "coordinator"})
    assert Membership.objects.get(organization=organization, user=amina).role == "coordinator"


@pytest.mark.django_db
def test_the_last_owner_can_neither_leave_nor_be_demoted(org):
    organization, owner = org
    client = logged_in(owner)
    url = f"/manage/organizations/{organization.id}/people/"
    page = client.post(url, {"action": "role", "user": owner.id, "role": "viewer"}, follow=True).content.decode()
    assert "keeps at least one owner" in page
    client.post(url, {"action": "remove", "user": owner.id})
    assert Membership.objects.get(organization=organization, user=owner).role == "owner"

    second = _person("second", "second@ngo.example")
    client.post(url, {"action": "add", "email": "second@ngo.example", "role": "owner"})
    client.post(url, {"action": "remove", "user": owner.id})
    assert list(Membership.objects.filter(organization=organization).values_list("user_id", flat=True)) == [second.id]


@pytest.mark.django_db
def test_a_key_is_shown_once_works_with_its_role_and_stops_when_revoked_or_orphaned(org):
    organization, owner = org
    coordinator = _person("coord", "coord@ngo.example")
    membership_set(organization_id=organization.id, user_id=coordinator.id, role="owner")
    url = f"/manage/organizations/{organization.id}/people/"

    made = logged_in(coordinator).post(url, {"action": "key_create", "name": "DHIS2", "role": "viewer", "days": "30"})
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    key = made.context["new_key"]
    assert key in made.content.decode()
    assert key not in logged_in(coordinator).get(url).content.decode()  # once only
    stored = ApiKey.objects.get()
    assert (stored.name, stored.role, stored.expires_at is not None) == ("DHIS2", "viewer", True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/campaigns/").status_code == 200
    assert api.post("/api/v1/campaigns/", {"name": "x"}, format="json").status_code == 403  # a viewer key

    logged_in(owner).post(url, {"action": "remove", "user": coordinator.id})  # its issuer leaves
    assert api.get("/api/v1/campaigns/").status_code == 401

    second = logged_in(owner).post(url, {"action": "key_create", "name": "App", "role": "owner"}).context["new_key"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api.get("/api/v1/campaigns/").status_code == 200
    logged_in(owner).post(url, {"action": "key_revoke", "key": ApiKey.objects.get(name="App").id})
    assert api.get("/api/v1/campaigns/").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "99999", "soon"])
def test_a_key_lifetime_out_of_range_is_refused(org, days):
    organization, owner = org
    url = f"/manage/organizations/{organization.id}/people/"
    page = logged_in(owner).post(url, {"action": "key_create", "role": "viewer", "days": days}, follow=True)
    assert "from 1 to 3650 days" in page.content.decode()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_owners_removing_each_other_at_once_leave_one_owner():
    organization, first = organization_ensure(name="Pair", owner_email="first@ngo.example")
    second = _person("second", "second@ngo.example")
    membership_set(organization_id=organization.id, user_id=second.id, role="owner")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def remove(user_id: int) -> None:
        try:
            barrier.wait()
            member_remove(organization_id=organization.id, user_id=user_id)
            outcomes.append("removed")
        except LastOwner:
            outcomes.append("refused")
        except DomainError as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=remove, args=(u.id,)) for u in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "removed"]
    assert Membership.objects.filter(organization=organization, role="owner").count() == 1
