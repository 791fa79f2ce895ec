"""Helpers for the coordinator page tests: a browser session for a user, and a member of an organization."""

from django.test import Client

from crowd.services.organizations import membership_set
from workers.models import User
from workers.services import user_email_verify


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def member(organization, role: str, verified: bool = True) -> User:
    """A member with `role`, whose email address is confirmed unless `verified` is False."""
    user = User.objects.create_user(username=f"{role}-{organization.id}", email=f"{role}@org{organization.id}.example")
    if verified:
        user_email_verify(user=user)
    membership_set(organization_id=organization.id, user_id=user.id, role=role)
    return user
