"""The request-for-work path stays lean and exact: how many statements it takes, what one claim statement
writes, and what it refuses when the world changed between reading and claiming."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import crowd.services.routing as routing
from crowd import rows
from crowd.eligibility import NoWork
from crowd.models import Assignment, AssignmentItem, Campaign, CampaignWorker, Item, MicroTask
from crowd.services.answers import answer_submit
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories
from workers.models import User

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"
PREDICTED = {"model": "triage-bert", "label": "pos", "score": 0.8}


def _statements(context: CaptureQueriesContext) -> list[str]:
    """The statements a request ran, without the savepoints of the test's own transaction."""
    return [q["sql"] for q in context.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement claim is PostgreSQL's")
def test_next_and_submit_take_few_statements(make_worker):
    factories.campaign(items=5, launch=True)
    _, api = make_worker()

    with CaptureQueriesContext(connection) as next_queries:
        leased = api.post(NEXT, {}, format="json")
    body = leased.json()
    answers = {"answers": [{"item": item["id"], "label": "pos"} for item in body["items"]]}
    with CaptureQueriesContext(connection) as submit_queries:
        submitted = api.post(f"/api/v1/assignments/{body['id']}/submit/", answers, format="json")

    assert (leased.status_code, submitted.status_code) == (201, 200)
    # token; the worker's facts; the active campaigns; the claim (which returns the items' payload)
    assert len(_statements(next_queries)) == 4, _statements(next_queries)
    # token; the locked lease with its campaign and items; the writes; the reward
    assert len(_statements(submit_queries)) == 4, _statements(submit_queries)


def test_claim_writes_lease_items_count_and_returns_the_payload(make_worker):
    campaign = factories.campaign(items_per_task=3, mode="review", blind_share=0)
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": f"p{i}", "data": {"text": f"t{i}"}, "language": "en", "prelabel": PREDICTED}
            for i in range(3)
        ],
    )
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    user, api = make_worker()

    response = api.post(NEXT, {}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    lease = Assignment.objects.get(pk=body["id"])
    entries = list(AssignmentItem.objects.filter(assignment=lease).order_by("position"))
    assert [item["id"] for item in body["items"]] == [entry.item_id for entry in entries]
    assert [entry.position for entry in entries] == [0, 1, 2]
    assert body["items"][0]["prelabel"] == PREDICTED
    assert body["items"][0]["data"] == Item.objects.get(pk=entries[0].item_id).data
    assert (lease.reward_minor, lease.currency, lease.worker_id) == (10, "USD", user.id)
    assert (lease.expires_at - lease.leased_at).total_seconds() == campaign.lease_seconds
    assert MicroTask.objects.get(pk=lease.microtask_id).active_count == 1
    assert CampaignWorker.objects.get(campaign=campaign, worker=user).assignments == 1


def test_gold_takes_a_place_among_the_items_and_the_rest_shift(make_worker, monkeypatch):
    campaign = factories.campaign(items=3, items_per_task=3, gold_ratio=0.5)
    items_import(
        campaign_id=campaign.id,
        rows=[{"external_id": "g", "data": {"text": "gold"}, "language": "en", "gold": "neg"}],
    )
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    monkeypatch.setattr(routing.random, "random", lambda: 0.0)  # gold is due on this claim
    monkeypatch.setattr(routing.random, "randint", lambda low, high: 1)  # ...at position 1
    user, _ = factories.worker()

    result = assignment_claim_next(worker=user)

    entries = list(AssignmentItem.objects.filter(assignment=result.assignment).order_by("position"))
    assert [(entry.position, entry.is_gold) for entry in entries] == [(0, False), (1, True), (2, False), (3, False)]
    assert entries[1].item.gold == "neg"
    if result.items is not None:  # PostgreSQL: the claim returned the page's items in order, gold included
        assert [item["id"] for item in result.items] == [entry.item_id for entry in entries]


@pytest.mark.parametrize(("named", "reason"), [(False, NoWork.NO_CAMPAIGNS), (True, NoWork.CAMPAIGN_NOT_ACTIVE)])
def test_campaign_paused_between_reading_and_claiming_leases_nothing_and_says_so(monkeypatch, named, reason):
    campaign = factories.campaign(items=2, launch=True)
    user, _ = factories.worker()
    eligibility = routing.worker_eligibility

    def pause_meanwhile(**kwargs):
        # A coordinator pauses the campaign after the claim read it as active, before the claim statement.
        Campaign.objects.filter(pk=campaign.id).update(status=Campaign.Status.PAUSED)
        return eligibility(**kwargs)

    monkeypatch.setattr(routing, "worker_eligibility", pause_meanwhile)

    with CaptureQueriesContext(connection) as queries:
        result = assignment_claim_next(worker=user, campaign_id=campaign.id if named else None)

    assert result.assignment is None
    assert result.reason == reason
    assert not Assignment.objects.exists()
    # The slot counters did not move for a lease that was never written.
    assert list(MicroTask.objects.values_list("active_count", "done_count", "is_open")) == [(0, 0, True)] * 2
    # No waiting for locks that will never yield a lease (the facts, the campaigns, the claim, lazy expiry).
    assert len(_statements(queries)) <= 6, _statements(queries)


def test_gold_due_but_none_left_leaves_no_gap(monkeypatch):
    campaign = factories.campaign(items=3, items_per_task=3, gold_ratio=0.5, launch=True)  # no gold items at all
    monkeypatch.setattr(routing.random, "random", lambda: 0.0)  # gold is due on this claim
    monkeypatch.setattr(routing.random, "randint", lambda low, high: 1)
    user, _ = factories.worker()

    result = assignment_claim_next(worker=user, campaign_id=campaign.id)

    entries = AssignmentItem.objects.filter(assignment=result.assignment).order_by("position")
    assert [(entry.position, entry.is_gold) for entry in entries] == [(0, False), (1, False), (2, False)]


def test_reward_entry_time_is_stored_as_the_orm_stores_it():
    campaign = factories.campaign(items=1, launch=True)
    user, _ = factories.worker()
    lease = assignment_claim_next(worker=user).assignment
    item_id = AssignmentItem.objects.get(assignment=lease).item_id
    moment = timezone.now().replace(microsecond=250000)

    with time_machine.travel(moment, tick=False):
        answer_submit(worker=user, assignment_id=lease.id, raw_answers=[{"item": item_id, "label": "pos"}])

    reward = LedgerEntry.objects.filter(assignment_id=lease.id, kind=LedgerEntry.Kind.REWARD)
    assert reward.get().created_at == moment
    # Range filters compare stored values: an exact bound must find the entry on every database.
    assert reward.filter(created_at__lte=moment, created_at__gte=moment).count() == 1
    assert campaign.id == reward.get().campaign_id


def test_reward_is_credited_once_even_if_the_credit_runs_twice():
    campaign = factories.campaign(items=1, launch=True)
    user, _ = factories.worker()
    lease = assignment_claim_next(worker=user).assignment
    item_id = AssignmentItem.objects.get(assignment=lease).item_id
    answer_submit(worker=user, assignment_id=lease.id, raw_answers=[{"item": item_id, "label": "pos"}])

    from payments.services import ledger_credit_reward

    ledger_credit_reward(
        assignment_id=lease.id, worker_id=user.id, campaign_id=campaign.id, amount_minor=10, currency="USD"
    )

    rewards = LedgerEntry.objects.filter(assignment_id=lease.id, kind=LedgerEntry.Kind.REWARD)
    assert list(rewards.values_list("amount_minor", "status")) == [(10, LedgerEntry.Status.PENDING)]
    assert Item.objects.get(pk=item_id).answer_count == 1
    assert MicroTask.objects.get(pk=lease.microtask_id).done_count == 1


@pytest.mark.parametrize("model", [Campaign, Assignment, User])
def test_rows_loads_every_field_as_the_orm_does(model):
    campaign = factories.campaign(items=1, languages=["en", "sw"], required_skills={"triage": 2}, launch=True)
    user, _ = factories.worker(languages=(("en", 5),), skills=(("triage", 3),))
    assignment_claim_next(worker=user)
    expected = model.objects.order_by("pk").last()

    [loaded] = rows.fetch(model, "SELECT {columns} FROM " + model._meta.db_table + " t WHERE t.id = %s", [expected.pk])

    assert campaign.languages == ["en", "sw"]
    assert not loaded._state.adding
    assert {f.attname: getattr(loaded, f.attname) for f in model._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in model._meta.concrete_fields
    }
