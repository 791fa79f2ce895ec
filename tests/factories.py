"""Factories for tests: build real rows through the same services the product uses."""

import itertools
from typing import Any

import factory

from crowd.models import Campaign, Organization
from crowd.services.campaigns import campaign_create, campaign_launch
from crowd.services.imports import items_import
from workers.models import User
from workers.services import LanguageLevel, SkillLevel, worker_enroll

_counter = itertools.count(1)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


def worker(
    *, username: str = "", languages=(("en", 5),), skills=(), organization: Organization | None = None
) -> tuple[User, str]:
    organization = organization or OrganizationFactory()
    profile, key = worker_enroll(
        organization_id=organization.id,
        username=username or f"worker{next(_counter)}",
        country="KE",
        languages=[LanguageLevel(code, level) for code, level in languages],
        skills=[SkillLevel(slug, level) for slug, level in skills],
    )
    return profile.user, key


def campaign(
    *, organization: Organization | None = None, launch: bool = False, items: int = 0, **fields: Any
) -> Campaign:
    """A campaign with `items` English texts (item i is 'text i'); launched when asked."""
    organization = organization or OrganizationFactory()
    defaults: dict[str, Any] = {
        "name": f"Campaign {next(_counter)}",
        "labels": ["pos", "neg"],
        "redundancy": 3,
        "max_redundancy": 5,
        "items_per_task": 1,
        "reward": "0.10",
        "currency": "USD",
        "lease_seconds": 600,
    }
    defaults.update(fields)
    created = campaign_create(organization_id=organization.id, created_by_id=None, fields=defaults)
    if items:
        items_import(
            campaign_id=created.id,
            rows=[{"external_id": f"t{i}", "data": {"text": f"text {i}"}, "language": "en"} for i in range(items)],
        )
    if launch:
        created = campaign_launch(campaign_id=created.id)
    return created
