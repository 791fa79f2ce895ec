import pytest
from django.db import connection
from rest_framework.test import APIClient

from config.catalogs import compile_catalogs
from crowd.services.organizations import api_key_create, organization_ensure
from tests import factories


def pytest_sessionstart(session: pytest.Session) -> None:
    # Pages are tested in the languages they ship in: plain `pytest` on a fresh clone compiles the catalogs too.
    compile_catalogs()


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def org_key(db) -> tuple:
    """(organization, owner, key) for an organization that talks to the API with its key."""
    organization, owner = organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id)
    return organization, owner, key


@pytest.fixture
def org_api(org_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {org_key[2]}")
    return client


@pytest.fixture
def make_worker(db):
    """Enroll a worker and return (user, APIClient authenticated with their token)."""

    def make(username: str = "", languages=(("en", 5),), skills=(), organization=None):
        user, key = factories.worker(username=username, languages=languages, skills=skills, organization=organization)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return user, client

    return make


@pytest.fixture
def other_org_api(db) -> APIClient:
    """An owner key of a second organization, which must see nothing of the first."""
    organization, owner = organization_ensure(name="Other NGO", owner_email="owner@other.example")
    key = api_key_create(organization_id=organization.id, created_by_id=owner.id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client
