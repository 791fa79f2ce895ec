"""A true/false filter that is neither is a 400 naming it: read as "no filter", a mistyped `active=ture` would hand
back every row to a client that believes them filtered."""

import pytest

from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["maybe", "ture", "2", "yes please"])
def test_a_boolean_filter_that_is_neither_true_nor_false_is_a_400(org_key, org_api, value):
    organization = org_key[0]
    campaign = factories.campaign(organization=organization, items=2)
    for url, name in (
        ("/api/v1/keys/", "active"),
        ("/api/v1/webhooks/", "active"),
        (f"/api/v1/campaigns/{campaign.id}/backends/", "active"),
        (f"/api/v1/campaigns/{campaign.id}/results/", "decided"),
    ):
        error = assert_error(org_api.get(url, {name: value}), 400)
        assert name in error["fields"], (url, error)


@pytest.mark.parametrize(("value", "listed"), [("true", 1), ("TRUE", 1), ("1", 1), ("false", 0), ("0", 0), ("", 1)])
def test_true_false_one_zero_and_empty_still_filter(org_key, org_api, value, listed):
    # The fixture's own key is the one active key: `active=false` lists none; empty means no filter.
    assert len(org_api.get("/api/v1/keys/", {"active": value}).json()["results"]) == listed
