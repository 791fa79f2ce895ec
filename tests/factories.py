"""Factories for tests: build real rows through the same services the product uses."""

import itertools
from typing import Any

import factory
from rest_framework.test import APIClient

from crowd.models import Campaign, Membership, Organization
from crowd.services.campaigns import campaign_create, campaign_launch
from crowd.services.imports import items_import
from crowd.services.organizations import api_key_create, membership_set
from payments.services import funds_deposit
from workers.models import User
from workers.services import LanguageLevel, SkillLevel, worker_enroll
from workers.terms import terms_accept

_counter = itertools.count(1)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


def worker(
    *,
    username: str = "",
    languages=(("en", 5),),
    skills=(),
    organization: Organization | None = None,
    accept_terms: bool = True,
) -> tuple[User, str]:
    organization = organization or OrganizationFactory()
    profile, key = worker_enroll(
        organization_id=organization.id,
        username=username or f"worker{next(_counter)}",
        country="KE",
        languages=[LanguageLevel(code, level) for code, level in languages],
        skills=[SkillLevel(slug, level) for slug, level in skills],
    )
    if accept_terms:
        terms_accept(user=profile.user)
    return profile.user, key


def campaign(
    *, organization: Organization | None = None, launch: bool = False, items: int = 0, **fields: Any
) -> Campaign:
    """A campaign with `items` texts (item i is 'text i') in its first language, else English; launched when asked."""
    organization = organization or OrganizationFactory()
    defaults: dict[str, Any] = {
        "name": f"Campaign {next(_counter)}",
        "labels": ["pos", "neg"],
        "redundancy": 3,
        "max_redundancy": 5,
        "items_per_task": 1,
        "reward": "0.10",
        "estimated_seconds": 30,  # 0.10 USD per 30 s = 12 USD/hour, above the default 8 USD floor
        "currency": "USD",
        "lease_seconds": 600,
    }
    defaults.update(fields)
    created = campaign_create(organization_id=organization.id, created_by_id=None, fields=defaults)
    # Launching needs funds: every factory campaign comes with a generous deposit in its currency.
    funds_deposit(
        organization_id=organization.id,
        amount="100000",
        currency=created.currency,
        reference=f"factory-{created.id}",
        created_by_id=None,
    )
    language = (defaults.get("languages") or ["en"])[0]  # items in a language the campaign routes
    if items:
        items_import(
            campaign_id=created.id,
            rows=[{"external_id": f"t{i}", "data": {"text": f"text {i}"}, "language": language} for i in range(items)],
        )
    if launch:
        created = campaign_launch(campaign_id=created.id)
    return created


def membership_client(*, organization: Organization, role: str) -> APIClient:
    """An APIClient holding a fresh API key of `organization` issued with `role` (owner/coordinator/viewer)."""
    owner = organization.memberships.filter(role=Membership.Role.OWNER).select_related("user").first()
    if owner:
        created_by = owner.user
    else:  # a key works only while its creator holds at least the key's role
        created_by = User.objects.create_user(username=f"staff{next(_counter)}")
        membership_set(organization_id=organization.id, user_id=created_by.id, role=role)
    key = api_key_create(organization_id=organization.id, created_by_id=created_by.id, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def assert_error(response, status: int, code: str | None = None) -> dict[str, Any]:
    """Check the status and the one JSON error shape {"error": {"code", "message", "fields"}}; return the error."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error
