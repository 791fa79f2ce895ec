"""/api/v1/webhooks/ and the coordinator's webhooks pages: create (the secret shown once), read without secrets,
edit, delete, the delivery log in cursor pages, test sends; bad input is a 400 in the error shape and writes
nothing; viewers read, only owners and coordinators change."""

import pytest

from crowd.models import Membership, WebhookDelivery, WebhookEvent, WebhookSubscription
from crowd.services.campaigns import campaign_pause
from crowd.webhooks.services import webhook_deliveries_send
from tests import factories
from tests.crowd.pages import logged_in, member
from tests.crowd.webhook_receiver import receiver_fixture  # noqa: F401 (the fixture)
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhooks/"
GOOD = {"url": "https://partner.example/crowdloop", "events": ["item.completed", "campaign.completed"]}


def _create(org_api, body=None) -> dict:
    response = org_api.post(HOOKS, body or GOOD, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_shows_the_generated_secret_once(org_api, org_key):
    created = _create(org_api)
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["url"] == GOOD["url"] and created["events"] == GOOD["events"] and created["active"] is True
    assert created["organization"] == org_key[0].id
    assert WebhookSubscription.objects.get().secret == created["secret"]

    listed = org_api.get(HOOKS).json()["results"]
    detail = org_api.get(f"{HOOKS}{created['id']}/").json()
    assert [row["id"] for row in listed] == [created["id"]]
    assert "secret" not in listed[0] and "secret" not in detail


def test_a_given_secret_is_kept(org_api):
    created = _create(org_api, {**GOOD, "secret": "partner-secret-0123456789"})
    assert created["secret"] == "partner-secret-0123456789"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "events": ["item.completed", "item.deleted"]}, "events"),
        ({**GOOD, "events": []}, "events"),
        ({**GOOD, "events": "item.completed"}, "events"),
        ({"events": ["item.completed"]}, "url"),
        ({**GOOD, "url": "ftp://partner.example/x"}, "url"),
        ({**GOOD, "url": "http://127.0.0.1:8000/hook"}, "url"),
        ({**GOOD, "url": "http://10.0.0.5/hook"}, "url"),
        ({**GOOD, "url": "http://[::1]/hook"}, "url"),
        ({**GOOD, "secret": "short"}, "secret"),
        ({**GOOD, "url": "https://" + "a" * 2000 + ".example/"}, "url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(org_api, body, field):
    error = assert_error(org_api.post(HOOKS, body, format="json"), 400)
    assert field in error["fields"], error
    assert not WebhookSubscription.objects.exists()


def test_unknown_event_names_are_named_in_the_message(org_api):
    error = assert_error(org_api.post(HOOKS, {**GOOD, "events": ["item.deleted"]}, format="json"), 400)
    assert "item.deleted" in str(error)


def test_patch_changes_events_and_url_and_refuses_bad_ones(org_api):
    created = _create(org_api)
    url = f"{HOOKS}{created['id']}/"
    changed = org_api.patch(url, {"events": ["campaign.paused"], "url": "https://other.example/h"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["campaign.paused"] and "secret" not in changed.json()
    assert_error(org_api.patch(url, {"events": ["nope"]}, format="json"), 400)
    assert_error(org_api.patch(url, {"url": "http://169.254.169.254/"}, format="json"), 400)
    assert_error(org_api.patch(url, {"organization": 5}, format="json"), 400)
    subscription = WebhookSubscription.objects.get()
    assert (subscription.events, subscription.url) == (["campaign.paused"], "https://other.example/h")
    off = org_api.patch(url, {"active": False}, format="json").json()
    assert off["active"] is False


def test_delete_removes_the_subscription(org_api):
    created = _create(org_api)
    assert org_api.delete(f"{HOOKS}{created['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert_error(org_api.get(f"{HOOKS}{created['id']}/"), 404)


def test_other_organizations_see_nothing(org_api, other_org_api):
    created = _create(org_api)
    assert other_org_api.get(HOOKS).json()["results"] == []
    for method in ("get", "patch", "delete"):
        assert_error(getattr(other_org_api, method)(f"{HOOKS}{created['id']}/", {}, format="json"), 404)
    assert_error(other_org_api.post(f"{HOOKS}{created['id']}/test/"), 404)
    assert WebhookSubscription.objects.count() == 1


def test_viewers_read_without_secrets_and_cannot_change(org_api, org_key):
    created = _create(org_api)
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    assert viewer.get(f"{HOOKS}{created['id']}/").status_code == 200
    assert "secret" not in viewer.get(HOOKS).json()["results"][0]
    assert_error(viewer.post(HOOKS, GOOD, format="json"), 403)
    assert_error(viewer.patch(f"{HOOKS}{created['id']}/", {"active": False}, format="json"), 403)
    assert_error(viewer.post(f"{HOOKS}{created['id']}/test/"), 403)
    assert WebhookSubscription.objects.get().active


def test_the_list_comes_in_cursor_pages_and_filters(org_api, org_key, other_org_api):
    organization = org_key[0]
    hooks = [
        WebhookSubscription.objects.create(
            organization=organization, url=f"https://partner.example/{n}", events=events, secret="s" * 32, active=on
        )
        for n, (events, on) in enumerate(
            [
                (["item.completed"], True),
                (["campaign.completed", "item.completed"], False),
                (["import.failed"], True),
                (["campaign.paused"], True),
                (["item.completed", "appeal.created"], True),
            ]
        )
    ]
    ids = [hook.id for hook in hooks]

    first = org_api.get(HOOKS, {"limit": 2}).json()
    assert [row["id"] for row in first["results"]] == ids[:2] and first["next_cursor"] == ids[1]
    second = org_api.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == ids[2:4]
    last = org_api.get(HOOKS, {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [row["id"] for row in last["results"]] == ids[4:] and last["next_cursor"] is None and last["next"] is None

    def listed(query: dict) -> list[int]:
        return [row["id"] for row in org_api.get(HOOKS, query).json()["results"]]

    assert listed({"event": "item.completed"}) == [ids[0], ids[1], ids[4]]
    assert listed({"event": "item.completed", "active": "false"}) == [ids[1]]
    assert listed({"active": "true"}) == [ids[0], ids[2], ids[3], ids[4]]
    paged = org_api.get(HOOKS, {"event": "item.completed", "limit": 1, "cursor": ids[0]}).json()
    assert [row["id"] for row in paged["results"]] == [ids[1]] and "event=item.completed" in paged["next"]
    assert "event" in assert_error(org_api.get(HOOKS, {"event": "item.deleted"}), 400)["fields"]
    assert "cursor" in assert_error(org_api.get(HOOKS, {"cursor": "x"}), 400)["fields"]
    assert other_org_api.get(HOOKS, {"event": "item.completed"}).json()["results"] == []


def test_workers_cannot_use_webhooks(make_worker):
    _, worker_api = make_worker()
    assert_error(worker_api.get(HOOKS), 403)
    assert_error(worker_api.post(HOOKS, GOOD, format="json"), 403)


def test_the_delivery_log_comes_in_cursor_pages_newest_first(org_api, org_key, receiver):
    created = _create(org_api, {"url": receiver.url(), "events": ["campaign.paused"]})
    for _ in range(3):
        campaign = factories.campaign(organization=org_key[0], items=1, launch=True)
        campaign_pause(campaign_id=campaign.id)
    receiver.statuses = [500]
    webhook_deliveries_send()

    url = f"{HOOKS}{created['id']}/deliveries/"
    first = org_api.get(url, {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next_cursor"] is not None
    second = org_api.get(url, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["results"]) == 1 and second["next_cursor"] is None and second["next"] is None
    rows = first["results"] + second["results"]
    assert [row["id"] for row in rows] == sorted(WebhookDelivery.objects.values_list("id", flat=True), reverse=True)
    failed = [row for row in rows if row["status"] == "pending"]
    assert len(failed) == 1 and failed[0]["response_code"] == 500 and failed[0]["next_attempt_at"]
    assert failed[0]["attempts"] == 1 and "500" in failed[0]["last_error"]
    assert {row["type"] for row in rows} == {"campaign.paused"}
    assert {row["event"] for row in rows} == {str(uid) for uid in WebhookEvent.objects.values_list("uid", flat=True)}
    assert_error(org_api.get(url, {"limit": 0}), 400)
    assert_error(org_api.get(url, {"cursor": "x"}), 400)
    pending = org_api.get(url, {"status": "pending"}).json()["results"]
    assert [row["id"] for row in pending] == [failed[0]["id"]]
    succeeded = [row["id"] for row in rows if row["status"] == "succeeded"]
    assert len(succeeded) == 2
    page = org_api.get(url, {"status": "succeeded", "limit": 1}).json()
    assert [row["id"] for row in page["results"]] == succeeded[:1] and "status=succeeded" in page["next"]
    assert [row["id"] for row in org_api.get(page["next"]).json()["results"]] == succeeded[1:]
    assert "status" in assert_error(org_api.get(url, {"status": "lost"}), 400)["fields"]


def test_the_test_endpoint_sends_once_and_reports(org_api, receiver):
    created = _create(org_api, {"url": receiver.url(), "events": ["item.completed"]})
    sent = org_api.post(f"{HOOKS}{created['id']}/test/")
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "succeeded" and sent.json()["type"] == "webhook.test"
    assert receiver.requests[0].json()["type"] == "webhook.test"
    receiver.statuses = [502]
    failed = org_api.post(f"{HOOKS}{created['id']}/test/").json()
    assert (failed["status"], failed["response_code"], failed["is_test"]) == ("failed", 502, True)
    assert WebhookSubscription.objects.get().active


# ------------------------------------------------------------------------------------------------------- pages


def _pages(org_key, role=Membership.Role.OWNER):
    organization, owner, _key = org_key
    user = owner if role == Membership.Role.OWNER else member(organization, role)
    return organization, logged_in(user)


def test_the_webhooks_page_creates_one_and_shows_its_secret_once(org_key, settings):
    organization, client = _pages(org_key)
    page = client.get(f"/manage/organizations/{organization.id}/webhooks/")
    assert page.status_code == 200 and b"webhook-create" in page.content

    created = client.post(
        f"/manage/organizations/{organization.id}/webhooks/",
        {"url": "https://partner.example/h", "events": ["item.completed", "appeal.created"], "active": "on"},
    )
    assert created.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["item.completed", "appeal.created"] and subscription.active
    assert subscription.secret in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    assert subscription.secret not in client.get(f"/manage/organizations/{organization.id}/webhooks/").content.decode()


def test_the_webhooks_page_refuses_a_private_target_with_a_message(org_key, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    organization, client = _pages(org_key)
    refused = client.post(
        f"/manage/organizations/{organization.id}/webhooks/",
        {"url": "http://192.168.0.9/h", "events": ["item.completed"]},
    )
    assert refused.status_code == 400 and b"private" in refused.content
    assert not WebhookSubscription.objects.exists()


def test_the_webhook_page_edits_tests_shows_the_log_and_deletes(org_key, receiver):
    organization, client = _pages(org_key, Membership.Role.COORDINATOR)
    client.post(
        f"/manage/organizations/{organization.id}/webhooks/",
        {"url": receiver.url(), "events": ["campaign.paused"], "active": "on"},
    )
    subscription = WebhookSubscription.objects.get()
    page = f"/manage/webhooks/{subscription.id}/"

    saved = client.post(page, {"action": "save", "url": receiver.url("/v2"), "events": ["campaign.completed"]})
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.url, subscription.events, subscription.active) == (
        receiver.url("/v2"),
        ["campaign.completed"],
        False,
    )
    bad = client.post(page, {"action": "save", "url": receiver.url(), "events": ["nope"]})
    assert bad.status_code == 400 and b"nope" in bad.content

    tested = client.post(page, {"action": "test"}, follow=True)
    assert b"Test event delivered" in tested.content
    assert [r.path for r in receiver.requests] == ["/v2"]
    log = client.get(page).content.decode()
    assert "webhook.test" in log and f"delivery-{WebhookDelivery.objects.get().id}" in log

    gone = client.post(page, {"action": "delete"})
    assert gone.status_code == 302 and not WebhookSubscription.objects.exists()


def test_viewers_see_the_pages_but_cannot_post(org_key, org_api):
    created = _create(org_api)
    organization, client = _pages(org_key, Membership.Role.VIEWER)
    listing = client.get(f"/manage/organizations/{organization.id}/webhooks/")
    assert listing.status_code == 200 and b"webhook-create" not in listing.content
    assert client.get(f"/manage/webhooks/{created['id']}/").status_code == 200
    assert client.post(f"/manage/webhooks/{created['id']}/", {"action": "delete"}).status_code == 403
    assert client.post(f"/manage/organizations/{organization.id}/webhooks/", GOOD).status_code == 403
    assert WebhookSubscription.objects.count() == 1
