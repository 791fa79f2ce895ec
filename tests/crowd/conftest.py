import pytest

from crowd.services.organizations import organization_ensure


@pytest.fixture
def org(db):
    """(organization, owner) of "Health NGO", whose owner has confirmed their address."""
    return organization_ensure(name="Health NGO", owner_email="owner@ngo.example")
