"""Webhook delivery: the outbox is written in the change's transaction, delivered signed to a real receiver on
127.0.0.1, retried on a schedule (clock frozen with time_machine), and a subscription that keeps failing is turned
off and its owners told. Only the clock and, where a test needs a name to resolve somewhere, DNS are stood in for."""

import datetime as dt
import json
import time

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client

from config import outbound
from crowd.exceptions import ValidationFailed
from crowd.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from crowd.services.campaigns import campaign_pause
from crowd.webhooks import signing
from crowd.webhooks.events import CAMPAIGN_PAUSED, WEBHOOK_TEST
from crowd.webhooks.services import (
    MAX_ATTEMPTS,
    RETRY_DELAYS_SECONDS,
    webhook_create,
    webhook_deliveries_send,
    webhook_test_send,
    webhook_update,
)
from tests import factories
from tests.crowd.webhook_receiver import receiver_fixture, verify_signature  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _subscribe(organization, url: str, events=(CAMPAIGN_PAUSED,), **extra) -> WebhookSubscription:
    return webhook_create(organization_id=organization.id, created_by_id=None, url=url, events=list(events), **extra)


@pytest.fixture
def org(org_key):
    return org_key[0]


def _paused_campaign(org):
    campaign = factories.campaign(organization=org, items=2, launch=True)
    campaign_pause(campaign_id=campaign.id)
    return campaign


# ------------------------------------------------------------------------------------------------ signing, pure


def test_signature_verify_accepts_its_own_header_and_refuses_tampering_and_old_ones():
    body = b'{"id":"x"}'
    header = signing.signature_header("s3cret-s3cret-s3cret", 1_700_000_000, body)
    assert signing.signature_verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_100)
    assert verify_signature("s3cret-s3cret-s3cret", header, body, now=1_700_000_100)  # the independent check agrees
    assert not signing.signature_verify("s3cret-s3cret-s3cret", header, body + b" ", now=1_700_000_100)
    assert not signing.signature_verify("other-secret-value", header, body, now=1_700_000_100)
    assert not signing.signature_verify("s3cret-s3cret-s3cret", header, body, now=1_700_000_000 + 301)
    assert not signing.signature_verify("s3cret-s3cret-s3cret", "v1=abc", body, now=1_700_000_000)


def test_generated_secrets_are_long_and_different():
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first != second and len(first) > 40 and first.startswith("whsec_")


# -------------------------------------------------------------------------------------------------- the outbox


def test_an_event_is_written_in_the_change_transaction_and_a_rolled_back_change_sends_nothing(
    org, receiver, django_capture_on_commit_callbacks
):
    _subscribe(org, receiver.url())
    campaign = factories.campaign(organization=org, items=2, launch=True)

    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        campaign_pause(campaign_id=campaign.id)
        assert WebhookEvent.objects.count() == 1  # written with the change...
        raise RuntimeError("the change fails after the pause")
    assert WebhookEvent.objects.count() == WebhookDelivery.objects.count() == 0  # ...and gone with it
    assert callbacks == []  # no delivery job was queued for it
    assert receiver.requests == []


def test_a_committed_change_queues_the_delivery_job_which_sends_it(org, receiver, django_capture_on_commit_callbacks):
    _subscribe(org, receiver.url())
    campaign = factories.campaign(organization=org, items=2, launch=True)

    with django_capture_on_commit_callbacks(execute=True):
        campaign_pause(campaign_id=campaign.id)

    assert len(receiver.requests) == 1
    body = receiver.requests[0].json()
    assert body["type"] == "campaign.paused"
    assert body["data"] == {
        "campaign": {"id": campaign.id, "name": campaign.name, "status": "paused"},
        "reason": "paused",
    }
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_nothing_is_written_for_an_organization_without_a_subscription_to_the_event(org, receiver):
    _subscribe(org, receiver.url(), events=["item.completed"])
    _subscribe(org, receiver.url("/off"), active=False)
    _paused_campaign(org)
    assert not WebhookEvent.objects.exists()


# ------------------------------------------------------------------------------------------ delivery, signature


def test_a_delivery_is_signed_and_carries_the_event_id(org, receiver):
    subscription = _subscribe(org, receiver.url(), secret="partner-chosen-secret-1234")
    _paused_campaign(org)

    assert webhook_deliveries_send() == 1

    (request,) = receiver.requests
    event = WebhookEvent.objects.get()
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-crowdloop-event-id"] == str(event.uid)
    assert verify_signature(subscription.secret, request.headers["x-crowdloop-signature"], request.body, time.time())
    assert not verify_signature("another-secret-entirely", request.headers["x-crowdloop-signature"], request.body, 0)
    body = json.loads(request.body)
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["id"] == str(event.uid) and body["type"] == "campaign.paused"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.duration_ms is not None and delivery.last_error == ""
    assert webhook_deliveries_send() == 0  # delivered once


def test_each_subscription_gets_its_own_delivery_of_the_same_event(org, receiver):
    _subscribe(org, receiver.url("/a"))
    _subscribe(org, receiver.url("/b"))
    _paused_campaign(org)
    webhook_deliveries_send()
    assert sorted(r.path for r in receiver.requests) == ["/a", "/b"]
    assert len({r.headers["x-crowdloop-event-id"] for r in receiver.requests}) == 1


# ------------------------------------------------------------------------------------------- retries and giving up


def test_failures_are_retried_on_the_schedule_with_the_same_event_id_until_the_subscription_is_turned_off(
    org, org_key, receiver, django_capture_on_commit_callbacks
):
    owner = org_key[1]
    receiver.statuses = [500] * MAX_ATTEMPTS
    with time_machine.travel(START, tick=False) as clock:
        subscription = _subscribe(org, receiver.url())
        _paused_campaign(org)
        delivery = WebhookDelivery.objects.get()

        assert webhook_deliveries_send() == 1
        for attempt, delay in enumerate(RETRY_DELAYS_SECONDS, start=1):
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", attempt, 500)
            assert delivery.next_attempt_at == START + dt.timedelta(seconds=sum(RETRY_DELAYS_SECONDS[:attempt]))
            clock.shift(dt.timedelta(seconds=delay - 1))
            assert webhook_deliveries_send() == 0  # not due yet
            clock.shift(dt.timedelta(seconds=1))
            with django_capture_on_commit_callbacks(execute=True):
                assert webhook_deliveries_send() == 1

    delivery.refresh_from_db()
    subscription.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert "HTTP 500" in delivery.last_error
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert len({r.headers["x-crowdloop-event-id"] for r in receiver.requests}) == 1  # the replay id is stable
    assert len({r.headers["x-crowdloop-signature"] for r in receiver.requests}) == MAX_ATTEMPTS  # signed anew
    assert not subscription.active and subscription.disabled_at is not None
    assert "HTTP 500" in subscription.disabled_reason
    (message,) = mail.outbox
    assert message.to == [owner.email] and receiver.url() in message.body
    # The notice on the coordinator pages, for the owner.
    client = Client()
    client.force_login(owner)
    home = client.get("/manage/").content.decode()
    assert f"webhook-off-{subscription.id}" in home and receiver.url() in home


def test_a_success_after_failures_stops_the_retries(org, receiver):
    receiver.statuses = [503]
    with time_machine.travel(START, tick=False) as clock:
        _subscribe(org, receiver.url())
        _paused_campaign(org)
        webhook_deliveries_send()
        clock.shift(dt.timedelta(seconds=RETRY_DELAYS_SECONDS[0]))
        webhook_deliveries_send()
        clock.shift(dt.timedelta(days=2))
        assert webhook_deliveries_send() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 2, 200)
    assert WebhookSubscription.objects.get().active


def test_gone_turns_the_subscription_off_at_once_and_the_rest_waits_for_it(org, receiver):
    receiver.statuses = [410]
    subscription = _subscribe(org, receiver.url())
    _paused_campaign(org)
    _paused_campaign(org)
    assert webhook_deliveries_send() == 1  # the second is not sent once the first turned the subscription off
    subscription.refresh_from_db()
    assert not subscription.active and "HTTP 410" in subscription.disabled_reason
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["failed", "pending"]
    assert len(mail.outbox) == 0  # mailed on commit, which this test's transaction never reaches

    webhook_update(organization_id=org.id, subscription_id=subscription.id, fields={"active": True})
    assert webhook_deliveries_send() == 1  # turned back on: what waited goes out
    subscription.refresh_from_db()
    assert subscription.active and subscription.disabled_reason == ""


def test_a_job_that_died_half_way_leaves_its_claim_due_again(org, receiver):
    with time_machine.travel(START, tick=False) as clock:
        _subscribe(org, receiver.url())
        _paused_campaign(org)
        WebhookDelivery.objects.update(next_attempt_at=START + dt.timedelta(seconds=60))  # as a claim leaves it
        assert webhook_deliveries_send() == 0
        clock.shift(dt.timedelta(seconds=60))
        assert webhook_deliveries_send() == 1
    assert len(receiver.requests) == 1


# -------------------------------------------------------------------------------------------------- test sends


def test_a_test_send_is_tried_once_and_never_retried_or_turns_anything_off(org, receiver):
    receiver.statuses = [500]
    subscription = _subscribe(org, receiver.url())
    delivery = webhook_test_send(organization_id=org.id, subscription_id=subscription.id)
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.is_test) == ("failed", 1, 500, True)
    assert receiver.requests[0].json()["type"] == WEBHOOK_TEST
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1), tick=False):
        assert webhook_deliveries_send() == 0
    subscription.refresh_from_db()
    assert subscription.active and len(receiver.requests) == 1
    assert webhook_test_send(organization_id=org.id, subscription_id=subscription.id).status == "succeeded"


# ------------------------------------------------------------------------------------------------ blocked targets


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8000/hook",
        "http://localhost:8000/hook",
        "http://192.168.1.20/hook",
    ],
)
def test_private_targets_are_refused_when_subscribing(org, settings, url):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed) as refused:
        _subscribe(org, url)
    assert "url" in refused.value.fields
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", ["ftp://partner.example/x", "not a url", "https://user:pw@partner.example/", ""])
def test_malformed_targets_are_refused(org, url):
    with pytest.raises(ValidationFailed):
        _subscribe(org, url)


def test_plain_http_is_refused_where_https_is_required(org, settings):
    settings.WEBHOOKS_HTTPS_ONLY = True
    with pytest.raises(ValidationFailed, match="https"):
        _subscribe(org, "http://partner.example/hook")
    assert _subscribe(org, "https://partner.example/hook").url == "https://partner.example/hook"


def test_a_name_resolving_to_loopback_is_refused_where_the_socket_opens(org, receiver, settings, monkeypatch):
    """A public-looking name accepted at subscription time, whose DNS later says 127.0.0.1 (rebinding): nothing
    connects, the failure is permanent and the subscription is turned off."""
    subscription = _subscribe(org, f"http://hooks.partner.example:{receiver.port}/hook")
    settings.OUTBOUND_ALLOW_PRIVATE = False
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    _paused_campaign(org)
    webhook_deliveries_send()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "private" in delivery.last_error
    subscription.refresh_from_db()
    assert not subscription.active


def test_redirects_are_not_followed(org, receiver):
    receiver.statuses = [302]
    _subscribe(org, receiver.url())
    _paused_campaign(org)
    webhook_deliveries_send()
    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("pending", 302)
    assert "redirect" in delivery.last_error


# ------------------------------------------------------------------------------------- commits, broker outages


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_queues_the_job_that_delivers(receiver):
    """No captured callbacks: the pause commits, its on-commit hook runs the job (in process, as in `make run`)."""
    organization = factories.OrganizationFactory()
    _subscribe(organization, receiver.url())
    campaign = factories.campaign(organization=organization, items=1, launch=True)
    campaign_pause(campaign_id=campaign.id)
    assert [r.json()["type"] for r in receiver.requests] == ["campaign.paused"]
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_with_the_broker_down_the_event_waits_for_beat(org, receiver, settings, monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    from crowd import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False

    def down(*args, **kwargs):
        raise OperationalError("Redis is down")

    monkeypatch.setattr(tasks.webhook_deliveries_send, "delay", down)
    _subscribe(org, receiver.url())
    campaign = factories.campaign(organization=org, items=1, launch=True)
    with caplog.at_level("WARNING"):
        tasks.cache.clear()
        campaign_pause(campaign_id=campaign.id)
        tasks._queue_webhooks()  # what the commit runs: it logs and lets the change stand
    assert "left to beat" in caplog.text
    assert receiver.requests == [] and WebhookDelivery.objects.get().status == "pending"
    assert tasks.webhook_deliveries_send.run() == 1  # beat's run of the job
    assert len(receiver.requests) == 1
