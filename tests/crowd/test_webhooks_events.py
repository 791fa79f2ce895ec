"""Each service that makes a change writes its webhook event in the change's transaction: items completed by
aggregation or by a coordinator's decision, campaigns completed and paused (by a member, by aggregation, by the
fair-pay check), imports finished and failed, assignments submitted (opt-in) and appeals created. Workers appear
only by their pseudonym."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from crowd.models import ImportJob, Item, WebhookDelivery, WebhookEvent
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_reject
from crowd.services.campaigns import campaign_close, campaign_launch, campaign_pause
from crowd.services.expert import item_decide
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.import_jobs import import_job_run
from crowd.services.routing import assignment_claim_next
from crowd.webhooks.events import EVENT_TYPES
from crowd.webhooks.services import webhook_create
from tests import factories
from tests.crowd.test_fair_pay import work
from tests.crowd.test_funds import deposit, unfunded_campaign
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db


def _subscribe_all(organization) -> None:
    webhook_create(
        organization_id=organization.id, created_by_id=None, url="https://partner.example/h", events=list(EVENT_TYPES)
    )


def _events(event_type: str) -> list[dict]:
    return [e.data for e in WebhookEvent.objects.filter(type=event_type).order_by("id")]


def _submit_all(campaign, worker) -> list[int]:
    done = []
    while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
        entries = list(claim.assignment.entries.values_list("item_id", flat=True))
        answer_submit(
            worker=worker, assignment_id=claim.assignment.id, raw_answers=[{"item": i, "label": "pos"} for i in entries]
        )
        done.append(claim.assignment.id)
    return done


@pytest.fixture
def organization():
    organization = factories.OrganizationFactory()
    _subscribe_all(organization)
    return organization


def test_a_member_pausing_or_closing_a_campaign(organization):
    campaign = factories.campaign(organization=organization, items=2, launch=True)
    campaign_pause(campaign_id=campaign.id)
    campaign_pause(campaign_id=campaign.id)  # already paused: no second event
    campaign_close(campaign_id=campaign.id)
    assert [e["reason"] for e in _events("campaign.paused")] == ["paused"]
    assert _events("campaign.completed") == [
        {"campaign": {"id": campaign.id, "name": campaign.name, "status": "completed"}, "reason": "closed"}
    ]
    assert WebhookDelivery.objects.count() == 2


def test_aggregation_completing_items_and_the_campaign(organization):
    campaign = factories.campaign(organization=organization, items=3, launch=True, redundancy=1, max_redundancy=1)
    worker, _ = factories.worker(organization=organization)
    _submit_all(campaign, worker)

    campaign_aggregate(campaign_id=campaign.id)
    campaign_aggregate(campaign_id=campaign.id)  # nothing newly completed the second time

    completed = _events("item.completed")
    items = {item.id: item for item in Item.objects.filter(campaign=campaign)}
    assert sorted(e["item"] for e in completed) == sorted(items)
    first = completed[0]
    assert first["external_id"] == items[first["item"]].external_id and first["label"] == "pos"
    assert first["answers"] == 1 and first["decided"] is False and first["campaign"] == campaign.id
    assert [e["reason"] for e in _events("campaign.completed")] == ["all_items_complete"]


def test_a_coordinators_decision_completes_an_item(organization, org_key):
    campaign = factories.campaign(organization=organization, items=2, launch=True)
    item = Item.objects.filter(campaign=campaign).first()
    item_decide(item_id=item.id, label="neg", decided_by_id=org_key[1].id)
    item_decide(item_id=item.id, label="pos", decided_by_id=org_key[1].id)  # already complete: no second event
    (event,) = _events("item.completed")
    assert (event["item"], event["label"], event["decided"], event["confidence"]) == (item.id, "neg", True, 1.0)


def test_the_fair_pay_check_pausing_for_funds():
    campaign = unfunded_campaign(items=30, redundancy=1, max_redundancy=1)
    _subscribe_all(campaign.organization)
    deposit(campaign.organization_id, "3.00", "a")
    campaign_launch(campaign_id=campaign.id)
    work(campaign, 20, seconds=90)
    campaign_fair_pay_check(campaign_id=campaign.id)
    assert [e["reason"] for e in _events("campaign.paused")] == ["paused_for_funds"]


def test_an_import_job_finishing_and_failing(organization):
    campaign = factories.campaign(organization=organization)
    path = default_storage.save("imports/hooks.csv", ContentFile(b"external_id,text\nh1,hello\nh2,habari\n"))
    finished = ImportJob.objects.create(campaign=campaign, path=path, filename="hooks.csv")
    failed = ImportJob.objects.create(campaign=campaign, path="imports/gone.csv", filename="gone.csv")

    assert import_job_run(job_id=finished.id) == "finished"
    assert import_job_run(job_id=failed.id) == "failed"
    assert import_job_run(job_id=finished.id) == "finished"  # a redelivered job: no second event

    assert _events("import.finished") == [
        {"import": finished.id, "campaign": campaign.id, "filename": "hooks.csv", "rows_read": 2, "created": 2,
         "skipped": 0}
    ]  # fmt: skip
    (event,) = _events("import.failed")
    assert (event["import"], event["error_code"], event["error_count"]) == (failed.id, "unreadable", 0)
    default_storage.delete(path)


def test_an_assignment_submitted_names_the_worker_by_pseudonym_only(organization):
    campaign = factories.campaign(organization=organization, items=2, launch=True, redundancy=1)
    worker, _ = factories.worker(organization=organization, username="amina-kisumu")
    (assignment_id, *_rest) = _submit_all(campaign, worker)
    events = _events("assignment.submitted")
    assert len(events) == 2
    assert events[0]["assignment"] == assignment_id
    assert events[0]["worker"] == pseudonym(organization.id, worker.id)
    assert events[0]["answers"][0]["label"] == "pos"
    assert "amina" not in json.dumps(events)


def test_submits_write_nothing_for_organizations_not_subscribed_to_them():
    organization = factories.OrganizationFactory()
    webhook_create(
        organization_id=organization.id, created_by_id=None, url="https://p.example/h", events=["item.completed"]
    )
    campaign = factories.campaign(organization=organization, items=2, launch=True)
    worker, _ = factories.worker(organization=organization)
    _submit_all(campaign, worker)
    assert not WebhookEvent.objects.exists()


def test_an_appeal_created_names_the_worker_by_pseudonym_only(organization, org_key):
    campaign = factories.campaign(organization=organization, items=1, launch=True, redundancy=1)
    worker, _ = factories.worker(organization=organization, username="baraka-mombasa")
    (assignment_id,) = _submit_all(campaign, worker)
    assignment_reject(
        assignment_id=assignment_id, decided_by_id=org_key[1].id, organization_ids=[organization.id], reason="Fast"
    )
    appeal = appeal_create(worker=worker, assignment_id=assignment_id, message="I read it twice.")
    (event,) = _events("appeal.created")
    assert (event["appeal"], event["assignment"], event["campaign"]) == (appeal.id, assignment_id, campaign.id)
    assert event["worker"] == pseudonym(organization.id, worker.id)
    assert (event["reject_reason"], event["message"]) == ("Fast", "I read it twice.")
    assert "baraka" not in json.dumps(event)
