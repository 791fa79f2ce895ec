"""Invitations: an owner invites someone (by email, or a link to send themselves); the link works once, for seven
days, until revoked; whoever accepts it signed in joins with its role, unless they are a member already. Two people
accepting one link at the same moment cannot both join."""

import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from crowd.exceptions import DomainError, NotFound, PermissionDenied, ValidationFailed
from crowd.models import Invitation, Membership
from crowd.services.invitations import (
    INVITATION_DAYS,
    AlreadyMember,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
    invitation_accept,
    invitation_create,
    invitation_revoke,
)
from crowd.services.organizations import organization_ensure
from tests.crowd.pages import logged_in, member
from workers.models import User
from workers.services import user_email_verify

BASE = "http://testserver/"


def _invite(org, role: str = "coordinator", email: str = ""):
    organization, owner = org
    return invitation_create(
        organization_id=organization.id, created_by_id=owner.id, role=role, email=email, base_url=BASE
    )


def _person(username: str) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@elsewhere.example", password="pw-long-1")
    user_email_verify(user=user)
    return user


# ------------------------------------------------------------------------------------------------------ services


@pytest.mark.django_db
def test_create_keeps_only_a_digest_and_expires_in_seven_days(org):
    before = timezone.now()
    issued = _invite(org, role="viewer")
    stored = Invitation.objects.get()
    assert issued.url == f"http://testserver/invitations/{issued.token}/"
    assert issued.token not in {stored.digest, stored.email} and len(stored.digest) == 64
    assert (stored.role, stored.email, stored.created_by_id) == ("viewer", "", org[1].id)
    assert before + timedelta(days=INVITATION_DAYS) <= stored.expires_at <= timezone.now() + timedelta(days=7)
    assert (stored.accepted_at, stored.revoked_at) == (None, None)
    assert mail.outbox == []  # a link-only invitation sends nothing


@pytest.mark.django_db
def test_an_email_invitation_is_mailed_with_its_link_after_the_commit(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        issued = _invite(org, role="viewer", email=" Grace@Partner.EXAMPLE ")
    assert mail.outbox == [] and len(callbacks) == 1  # nothing leaves before the commit
    callbacks[0]()
    (sent,) = mail.outbox
    assert sent.to == ["Grace@partner.example"]
    assert "Health NGO" in sent.subject
    assert issued.url in sent.body and "works once" in sent.body and "Viewer" in sent.body
    assert Invitation.objects.get().email == "Grace@partner.example"


@pytest.mark.django_db
def test_create_refuses_a_bad_role_a_bad_address_and_anyone_but_an_owner(org):
    organization, _owner = org
    with pytest.raises(ValidationFailed):
        _invite(org, role="admin")
    with pytest.raises(ValidationFailed) as bad:
        _invite(org, email="not-an-address")
    assert "email" in bad.value.fields
    coordinator = member(organization, "coordinator")
    with pytest.raises(PermissionDenied):
        invitation_create(organization_id=organization.id, created_by_id=coordinator.id, role="viewer", base_url=BASE)
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_accept_makes_a_member_with_the_role_once(org):
    organization, _owner = org
    issued = _invite(org, role="coordinator")
    grace, amina = _person("grace"), _person("amina")
    membership = invitation_accept(token=issued.token, user_id=grace.id)
    assert (membership.organization_id, membership.user_id, membership.role) == (
        organization.id,
        grace.id,
        "coordinator",
    )
    stored = Invitation.objects.get()
    assert stored.accepted_by_id == grace.id and stored.accepted_at is not None
    for user in (grace, amina):  # used: neither the same person nor anyone else can use it again
        with pytest.raises(InvitationUsed):
            invitation_accept(token=issued.token, user_id=user.id)
    assert not Membership.objects.filter(user=amina).exists()


@pytest.mark.django_db
def test_an_expired_a_revoked_or_an_unknown_link_is_refused(org):
    grace = _person("grace")
    expired = _invite(org)
    Invitation.objects.filter(pk=expired.invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvitationExpired):
        invitation_accept(token=expired.token, user_id=grace.id)
    revoked = _invite(org)
    invitation_revoke(organization_id=org[0].id, invitation_id=revoked.invitation.id)
    with pytest.raises(InvitationRevoked):
        invitation_accept(token=revoked.token, user_id=grace.id)
    with pytest.raises(NotFound):
        invitation_accept(token=revoked.token + "x", user_id=grace.id)
    assert not Membership.objects.filter(user=grace).exists()


@pytest.mark.django_db
def test_a_member_already_is_refused_and_keeps_their_role(org):
    organization, owner = org
    viewer = member(organization, "viewer")
    issued = _invite(org, role="owner")
    with pytest.raises(AlreadyMember):
        invitation_accept(token=issued.token, user_id=viewer.id)
    with pytest.raises(AlreadyMember):
        invitation_accept(token=issued.token, user_id=owner.id)
    assert Membership.objects.get(user=viewer).role == "viewer"
    assert Invitation.objects.get().accepted_at is None  # still there for the person it was meant for


@pytest.mark.django_db
def test_revoke_is_idempotent_for_the_own_organization_only(org):
    issued = _invite(org)
    invitation_revoke(organization_id=org[0].id, invitation_id=issued.invitation.id)
    first = Invitation.objects.get().revoked_at
    invitation_revoke(organization_id=org[0].id, invitation_id=issued.invitation.id)
    assert Invitation.objects.get().revoked_at == first is not None
    other, _ = organization_ensure(name="Other", owner_email="other@ngo.example")
    with pytest.raises(NotFound):
        invitation_revoke(organization_id=other.id, invitation_id=issued.invitation.id)
    accepted = _invite(org)
    invitation_accept(token=accepted.token, user_id=_person("grace").id)
    with pytest.raises(InvitationUsed):
        invitation_revoke(organization_id=org[0].id, invitation_id=accepted.invitation.id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_people_accepting_one_link_at_once_make_one_member():
    organization, owner = organization_ensure(name="Pair", owner_email="first@ngo.example")
    issued = invitation_create(organization_id=organization.id, created_by_id=owner.id, role="viewer", base_url=BASE)
    people = [_person("grace"), _person("amina")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(user_id: int) -> None:
        try:
            barrier.wait()
            invitation_accept(token=issued.token, user_id=user_id)
            outcomes.append("joined")
        except InvitationUsed:
            outcomes.append("used")
        except DomainError as exc:  # surfaced by the assertion below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(person.id,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["joined", "used"]
    assert Membership.objects.filter(organization=organization, role="viewer").count() == 1
    assert Invitation.objects.get().accepted_by_id in {p.id for p in people}


# --------------------------------------------------------------------------------------------- the people page


def _people(organization) -> str:
    return f"/manage/organizations/{organization.id}/people/"


@pytest.mark.django_db
def test_an_owner_invites_from_the_people_page_and_sees_the_link_once(org, django_capture_on_commit_callbacks):
    organization, owner = org
    client = logged_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(
            _people(organization), {"action": "invite", "email": "grace@partner.example", "role": "viewer"}
        )
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    url = made.context["new_invitation"]["url"]
    page = made.content.decode()
    assert url in page and "works once and expires in 7 days" in page
    assert [m.to for m in mail.outbox] == [["grace@partner.example"]] and url in mail.outbox[0].body

    later = client.get(_people(organization)).content.decode()
    assert url not in later  # shown once
    assert "grace@partner.example" in later and 'value="invitation_revoke"' in later

    link_only = client.post(_people(organization), {"action": "invite", "email": "", "role": "coordinator"})
    assert link_only.status_code == 201 and link_only.context["new_invitation"]["email"] == ""
    assert len(mail.outbox) == 1 and "Link only" in link_only.content.decode()


@pytest.mark.django_db
def test_the_people_page_refuses_a_bad_address_and_revokes(org):
    organization, owner = org
    client = logged_in(owner)
    refused = client.post(_people(organization), {"action": "invite", "email": "nope", "role": "viewer"}, follow=True)
    assert "does not look right" in refused.content.decode() and not Invitation.objects.exists()

    invitation = _invite(org).invitation
    client.post(_people(organization), {"action": "invitation_revoke", "invitation": invitation.id})
    assert Invitation.objects.get().revoked_at is not None
    assert f'id="invitation-{invitation.id}"' not in client.get(_people(organization)).content.decode()


@pytest.mark.django_db
def test_only_owners_invite(org):
    organization, _owner = org
    for role in ("coordinator", "viewer"):
        client = logged_in(member(organization, role))
        assert client.post(_people(organization), {"action": "invite", "role": "owner"}).status_code == 403
    invitation = _invite(org).invitation
    coordinator = User.objects.get(username=f"coordinator-{organization.id}")
    logged_in(coordinator).post(_people(organization), {"action": "invitation_revoke", "invitation": invitation.id})
    assert Invitation.objects.filter(revoked_at__isnull=True).count() == 1
    _other, other_owner = organization_ensure(name="Other", owner_email="other@ngo.example")
    assert logged_in(other_owner).post(_people(organization), {"action": "invite", "role": "owner"}).status_code == 404
    assert Invitation.objects.count() == 1


# ------------------------------------------------------------------------------------------- the accept page


@pytest.mark.django_db
def test_a_signed_in_person_sees_the_organization_and_role_and_joins(org):
    organization, _owner = org
    issued = _invite(org, role="coordinator")
    grace = _person("grace")
    client = logged_in(grace)
    shown = client.get(issued.url)
    page = shown.content.decode()
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert "Health NGO" in page and "Coordinator" in page and 'method="post"' in page
    assert not Membership.objects.filter(user=grace).exists()  # opening the link changes nothing

    joined = client.post(issued.url)
    assert joined.status_code == 302 and joined["Location"] == "/manage/"
    assert Membership.objects.get(user=grace, organization=organization).role == "coordinator"
    home = client.get("/manage/").content.decode()
    assert "You joined Health NGO as Coordinator." in home

    again = client.get(issued.url)
    assert again.status_code == 409 and "already used" in again.content.decode()
    assert logged_in(_person("amina")).post(issued.url).status_code == 409


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_or_sign_up_and_back(org):
    issued = _invite(org)
    path = f"/invitations/{issued.token}/"
    page = Client().get(path)
    text = page.content.decode()
    assert page.status_code == 200 and "Health NGO" in text
    assert f"/accounts/login/?next={quote(path)}" in text and f"/accounts/signup/?next={quote(path)}" in text
    posted = Client().post(path)
    assert posted.status_code == 302 and posted["Location"] == f"/accounts/login/?next={quote(path)}"
    assert not Membership.objects.exclude(user=org[1]).exists()


@pytest.mark.django_db
def test_signing_in_or_up_from_the_invitation_comes_back_to_it(org):
    path = f"/invitations/{_invite(org).token}/"
    _person("grace")
    signed_in = Client().post(
        f"/accounts/login/?next={path}", {"login": "grace", "password": "pw-long-1", "next": path}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == path
    signed_up = Client().post(
        f"/accounts/signup/?next={path}",
        {
            "username": "newcomer",
            "email": "newcomer@partner.example",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "next": path,
        },
    )
    assert signed_up.status_code == 302 and signed_up["Location"] == path


@pytest.mark.django_db
def test_the_accept_page_says_why_a_link_does_not_work(org):
    organization, _owner = org
    viewer = member(organization, "viewer")
    client = logged_in(_person("grace"))
    assert client.get("/invitations/inv_nothing-like-it/").status_code == 404
    assert client.post("/invitations/inv_nothing-like-it/").status_code == 404

    expired = _invite(org)
    Invitation.objects.filter(pk=expired.invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(expired.url)
    assert response.status_code == 409 and "has expired" in response.content.decode()

    revoked = _invite(org)
    invitation_revoke(organization_id=organization.id, invitation_id=revoked.invitation.id)
    response = client.post(revoked.url)
    assert response.status_code == 409 and "withdrawn" in response.content.decode()

    mine = _invite(org, role="owner")
    response = logged_in(viewer).post(mine.url)
    assert response.status_code == 409 and "already a member of Health NGO" in response.content.decode()
    assert Membership.objects.get(user=viewer).role == "viewer"
    assert not Membership.objects.filter(user__username="grace").exists()


@pytest.mark.django_db
def test_a_joined_member_with_an_unconfirmed_address_is_asked_to_confirm_it(org):
    """The link is enough to join; acting for the organization still waits for a confirmed address, as for anyone."""
    issued = _invite(org)
    newcomer = User.objects.create_user(username="newcomer", email="newcomer@partner.example")
    client = logged_in(newcomer)
    assert client.post(issued.url)["Location"] == "/manage/"
    home = client.get("/manage/")
    assert home.status_code == 403 and "confirm your email address" in home.content.decode()
