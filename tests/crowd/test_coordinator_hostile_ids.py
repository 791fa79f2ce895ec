"""Ids, positions and day counts typed by hand into the coordinator's pages (and the API's queries): digits other
than 0-9 ("²" passes str.isdigit() but not int()) get the page's own answer or a 400, never a server error, and
change nothing."""

import pytest

from crowd.models import ApiKey, Assignment, Invitation, Item, Membership, WebhookSubscription
from crowd.webhooks.events import EVENT_TYPES
from crowd.webhooks.services import webhook_create
from tests import factories
from tests.crowd.pages import logged_in, member
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "²"


def _state() -> tuple:
    return (
        sorted(Membership.objects.values_list("user_id", "role")),
        sorted(ApiKey.objects.values_list("id", "revoked_at")),
        sorted(Invitation.objects.values_list("id", "revoked_at")),
        sorted(Assignment.objects.values_list("id", "status")),
        sorted(Item.objects.values_list("id", "expert_label")),
    )


@pytest.mark.parametrize(
    ("page", "body"),
    [
        ("people", {"action": "role", "user": SUPERSCRIPT_TWO, "role": "viewer"}),
        ("people", {"action": "remove", "user": SUPERSCRIPT_TWO}),
        ("people", {"action": "remove", "user": "{coordinator}", "keys_to": SUPERSCRIPT_TWO}),
        ("people", {"action": "key_revoke", "key": SUPERSCRIPT_TWO}),
        ("people", {"action": "invitation_revoke", "invitation": SUPERSCRIPT_TWO}),
        ("people", {"action": "key_create", "role": "viewer", "days": SUPERSCRIPT_TWO}),
        ("workers", {"action": "block", "worker": SUPERSCRIPT_TWO, "reason": "Spam"}),
        ("workers", {"action": "link", "worker": SUPERSCRIPT_TWO}),
        ("review", {"decision": "approve", "ids": [SUPERSCRIPT_TWO]}),
        ("unsure", {"item": SUPERSCRIPT_TWO, "label": "pos"}),
    ],
)
def test_a_unicode_digit_in_a_posted_id_gets_a_page_and_changes_nothing(org, page, body):
    organization, owner = org
    coordinator = member(organization, "coordinator")
    campaign = factories.campaign(organization=organization, items=2)
    body = {
        key: value.format(coordinator=coordinator.id) if isinstance(value, str) else value
        for key, value in body.items()
    }
    url = {
        "people": f"/manage/organizations/{organization.id}/people/",
        "workers": f"/manage/organizations/{organization.id}/workers/",
        "review": f"/manage/campaigns/{campaign.id}/review/",
        "unsure": f"/manage/campaigns/{campaign.id}/unsure/",
    }[page]
    before = _state()

    response = logged_in(owner).post(url, body)

    assert response.status_code in (302, 400, 404)
    if body.get("action") == "remove" and "keys_to" in body:
        # An owner to hand keys to that is no number at all: the member leaves and their keys stop working.
        assert not Membership.objects.filter(user=coordinator).exists()
    else:
        assert _state() == before


def test_a_unicode_digit_in_a_page_position_reads_the_first_page(org):
    organization, owner = org
    campaign = factories.campaign(organization=organization, items=2)
    subscription = webhook_create(
        organization_id=organization.id, created_by_id=owner.id, url="https://hooks.example/in", events=[EVENT_TYPES[0]]
    )
    client = logged_in(owner)

    results = client.get(f"/manage/campaigns/{campaign.id}/results/", {"after": SUPERSCRIPT_TWO})
    log = client.get(f"/manage/webhooks/{subscription.id}/", {"before": SUPERSCRIPT_TWO})

    assert results.status_code == 200 and len(results.context["items"]) == 2
    assert log.status_code == 200 and WebhookSubscription.objects.filter(pk=subscription.pk).exists()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/keys/", {"organization": SUPERSCRIPT_TWO}, "organization"),
        ("/api/v1/campaigns/{campaign}/unsure/", {"cursor": f"0.5:{SUPERSCRIPT_TWO}"}, "cursor"),
        ("/api/v1/campaigns/{campaign}/submissions/", {"worker": SUPERSCRIPT_TWO}, "worker"),
    ],
)
def test_a_unicode_digit_in_an_api_query_is_a_400_naming_it(org_key, org_api, path, params, field):
    campaign = factories.campaign(organization=org_key[0], items=1)

    response = org_api.get(path.format(campaign=campaign.id), params)

    assert field in assert_error(response, 400)["fields"]
