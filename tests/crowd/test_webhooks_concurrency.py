"""Parallel delivery jobs (several Celery workers, or beat and an on-commit run at once) take different deliveries:
each is sent once. Real threads on PostgreSQL, where the claim uses SKIP LOCKED."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from crowd.models import WebhookDelivery
from crowd.services.campaigns import campaign_pause
from crowd.webhooks import services
from crowd.webhooks.services import webhook_create, webhook_deliveries_send
from tests import factories
from tests.crowd.webhook_receiver import receiver_fixture  # noqa: F401 (the fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED need PostgreSQL"),
]


def test_parallel_jobs_send_each_delivery_once(receiver, monkeypatch):
    monkeypatch.setattr(services, "CLAIM_BATCH", 2)  # small claims, so the jobs interleave
    organization = factories.OrganizationFactory()
    for path in ("/a", "/b", "/c"):
        webhook_create(
            organization_id=organization.id, created_by_id=None, url=receiver.url(path), events=["campaign.paused"]
        )
    for _ in range(4):
        campaign = factories.campaign(organization=organization, items=1, launch=True)
        campaign_pause(campaign_id=campaign.id)  # committed: its on-commit run sends at once (in process)
    # Send them all again, at once.
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now())
    receiver.requests.clear()
    receiver.delay_seconds = 0.05
    sent: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def job() -> None:
        try:
            barrier.wait()
            sent.append(webhook_deliveries_send())
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(sent) == 12
    pairs = [(r.path, r.headers["x-crowdloop-event-id"]) for r in receiver.requests]
    assert len(pairs) == len(set(pairs)) == 12
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
