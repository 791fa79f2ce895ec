"""Concurrency claims are proven on PostgreSQL with real threads (row locks, SKIP LOCKED, constraints)."""

import threading
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection, connections
from django.db.models import Count

from crowd.models import Answer, Assignment, AssignmentItem, Item, MicroTask
from crowd.services.answers import answer_submit
from crowd.services.campaigns import campaign_update
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and SKIP LOCKED need PostgreSQL"),
]


def _run_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def wrapped(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.parametrize("order", ["depth_first", "uncertainty_first"])
def test_assignment_claim_next_twenty_workers_at_once_never_over_assign(order):
    campaign = factories.campaign(launch=True, items=6, redundancy=3, items_per_task=1, order=order)
    workers = [factories.worker()[0] for _ in range(20)]

    def claim(index: int) -> None:
        assignment_claim_next(worker=workers[index])

    assert _run_threads(claim, 20) == []
    active = Assignment.objects.filter(campaign=campaign, status=Assignment.Status.ACTIVE)
    # 6 items x redundancy 3 = 18 slots for 20 workers: exactly 18 leases, two workers get nothing.
    assert active.count() == 18
    per_microtask = Counter(active.values_list("microtask_id", flat=True))
    assert set(per_microtask.values()) == {3}
    for microtask in MicroTask.objects.filter(campaign=campaign):
        assert microtask.active_count == per_microtask[microtask.id]
        assert microtask.is_open is False
    assert not AssignmentItem.objects.values("item", "worker").annotate(n=Count("id")).filter(n__gt=1).exists()


@pytest.mark.parametrize("order", ["depth_first", "uncertainty_first"])
def test_assignment_claim_and_submit_loop_under_contention_never_duplicates(order):
    campaign = factories.campaign(launch=True, items=12, redundancy=3, max_redundancy=3, items_per_task=2, order=order)
    workers = [factories.worker()[0] for _ in range(20)]

    def work(index: int) -> None:
        worker = workers[index]
        for _ in range(20):
            result = assignment_claim_next(worker=worker, campaign_id=campaign.id)
            if result.assignment is None:
                return
            items = AssignmentItem.objects.filter(assignment=result.assignment).values_list("item_id", flat=True)
            answer_submit(
                worker=worker,
                assignment_id=result.assignment.id,
                raw_answers=[{"item": item_id, "label": "pos"} for item_id in items],
            )

    assert _run_threads(work, 20) == []
    # Every item got exactly its redundancy in answers, never more, never twice from one worker.
    answers = Counter(Answer.objects.filter(campaign=campaign).values_list("item_id", flat=True))
    assert set(answers.values()) == {3}
    assert len(answers) == 12
    assert not Answer.objects.values("item", "worker").annotate(n=Count("id")).filter(n__gt=1).exists()
    for microtask in MicroTask.objects.filter(campaign=campaign):
        assert (microtask.active_count, microtask.done_count, microtask.is_open) == (0, 3, False)
    assert set(Item.objects.filter(campaign=campaign).values_list("answer_count", flat=True)) == {3}


def test_answer_submit_twice_at_once_stores_and_pays_once():
    campaign = factories.campaign(launch=True, items=1, redundancy=1)
    worker = factories.worker()[0]
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    item_id = AssignmentItem.objects.get(assignment=lease).item_id

    def submit(_: int) -> None:
        answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": item_id, "label": "pos"}])

    assert _run_threads(submit, 8) == []
    assert Answer.objects.filter(assignment=lease).count() == 1
    assert LedgerEntry.objects.filter(assignment=lease).count() == 1
    assert MicroTask.objects.get(pk=lease.microtask_id).done_count == 1


def _holding(sql: str, row_id: int) -> psycopg.Connection:
    """A second session holding one row lock until its commit: it lines concurrent requests up in a set order."""
    settings = connection.settings_dict
    holder = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"]
    )
    holder.execute(sql, [row_id])
    return holder


def _queue_behind(holder: psycopg.Connection, *calls) -> list[str]:
    """Start `calls` one after another in threads (each gets time to reach its lock wait), then let the holder
    commit; returns the errors the calls raised."""
    errors: list[str] = []

    def run(fn) -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced by the assertion in the test
            errors.append(repr(exc)[:300])
        finally:
            connections.close_all()

    threads = []
    for fn in calls:
        threads.append(threading.Thread(target=run, args=(fn,)))
        threads[-1].start()
        time.sleep(0.5)
    holder.commit()
    holder.close()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_submits_answering_shared_items_in_opposite_orders_do_not_deadlock():
    campaign = factories.campaign(launch=True, items=2, redundancy=2, items_per_task=2)
    (first_worker, _), (second_worker, _) = factories.worker(), factories.worker()
    first = assignment_claim_next(worker=first_worker, campaign_id=campaign.id).assignment
    second = assignment_claim_next(worker=second_worker, campaign_id=campaign.id).assignment
    low, high = sorted(AssignmentItem.objects.filter(assignment=first).values_list("item_id", flat=True))
    # Someone else (an aggregation run, say) holds the lower item, so both submits queue at the same moment.
    holder = _holding("SELECT id FROM crowd_item WHERE id = %s FOR UPDATE", low)

    def submit(worker, lease, order):
        return lambda: answer_submit(
            worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in order]
        )

    errors = _queue_behind(holder, submit(first_worker, first, [low, high]), submit(second_worker, second, [high, low]))

    assert errors == []
    assert Answer.objects.filter(campaign=campaign).count() == 4
    assert set(Item.objects.filter(campaign=campaign).values_list("answer_count", flat=True)) == {2}


def test_submit_during_a_redundancy_raise_does_not_deadlock():
    campaign = factories.campaign(launch=True, items=2, redundancy=2, items_per_task=1)
    first_microtask, last_microtask = MicroTask.objects.filter(campaign=campaign).order_by("id")
    worker, _ = factories.worker()
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    assert lease.microtask_id == first_microtask.id
    item_id = AssignmentItem.objects.get(assignment=lease).item_id
    # The raise locks every microtask, then every item; held up on the last microtask, it holds the first.
    holder = _holding("SELECT id FROM crowd_microtask WHERE id = %s FOR NO KEY UPDATE", last_microtask.id)

    answers = [{"item": item_id, "label": "pos"}]
    errors = _queue_behind(
        holder,
        lambda: campaign_update(campaign_id=campaign.id, fields={"redundancy": 3}),
        lambda: answer_submit(worker=worker, assignment_id=lease.id, raw_answers=answers),
    )

    assert errors == []
    assert Assignment.objects.get(pk=lease.id).status == Assignment.Status.SUBMITTED
    assert set(MicroTask.objects.filter(campaign=campaign).values_list("target", flat=True)) == {3}
    assert Item.objects.get(pk=item_id).answer_count == 1


@pytest.mark.parametrize("named", [True, False])
def test_one_worker_claiming_in_parallel_holds_one_lease_per_campaign(named):
    campaign = factories.campaign(launch=True, items=20, redundancy=3, items_per_task=1)
    worker = factories.worker()[0]
    leases: list[int] = []

    def claim(_index: int) -> None:
        result = assignment_claim_next(worker=worker, campaign_id=campaign.id if named else None)
        leases.append(result.assignment.id)

    assert _run_threads(claim, 8) == []
    active = Assignment.objects.filter(campaign=campaign, worker=worker, status=Assignment.Status.ACTIVE)
    assert active.count() == 1
    # Every racing request was answered with the one lease that won, and the slot counters agree.
    assert set(leases) == {active.get().id}
    assert sum(MicroTask.objects.filter(campaign=campaign).values_list("active_count", flat=True)) == 1


def test_fetching_ahead_from_many_requests_at_once_queues_one_lease_and_over_assigns_nothing():
    campaign = factories.campaign(launch=True, items=10, redundancy=1, max_redundancy=1, items_per_task=1)
    worker, _ = factories.worker()
    current = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    answered: list[int] = []

    def ahead(index: int) -> None:
        answered.append(assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment.id)

    assert _run_threads(ahead, 6) == []
    queued = Assignment.objects.get(worker=worker, status=Assignment.Status.ACTIVE, queued=True)
    assert set(answered) == {queued.id}  # every request got the one lease that won
    assert Assignment.objects.filter(worker=worker, status=Assignment.Status.ACTIVE).count() == 2
    counted = {m.id: m.active_count for m in MicroTask.objects.filter(campaign=campaign) if m.active_count}
    assert counted == {current.microtask_id: 1, queued.microtask_id: 1}


def test_a_heartbeat_on_the_lease_ahead_while_the_current_one_is_submitted_does_not_deadlock(monkeypatch):
    """The phone beats on the lease it fetched ahead while the current one's submit is mid-way: the submit has
    written the current lease and goes on to promote the one ahead. The heartbeat must queue behind the current
    lease, as submit does, rather than hold the one ahead and wait for the submit (which then waits for it)."""
    import crowd.services.answers as answers
    from crowd.services.routing import assignment_heartbeat

    campaign = factories.campaign(launch=True, items=4, redundancy=1, items_per_task=1)
    worker, _ = factories.worker()
    current = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    ahead = assignment_claim_next(worker=worker, campaign_id=campaign.id, ahead=True).assignment
    assert ahead.queued
    written, go_on = threading.Event(), threading.Event()
    credit = answers.ledger_credit_reward

    def credit_then_pause(**kwargs):
        credit(**kwargs)
        written.set()  # the current lease is written as submitted, not yet committed
        go_on.wait(10)

    monkeypatch.setattr(answers, "ledger_credit_reward", credit_then_pause)
    errors: list[str] = []

    def run(fn) -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(repr(exc)[:300])
        finally:
            connections.close_all()

    items = list(AssignmentItem.objects.filter(assignment=current).values_list("item_id", flat=True))
    submit = threading.Thread(
        target=run,
        args=(
            lambda: answer_submit(
                worker=worker, assignment_id=current.id, raw_answers=[{"item": i, "label": "pos"} for i in items]
            ),
        ),
    )
    submit.start()
    assert written.wait(10)
    beat = threading.Thread(target=run, args=(lambda: assignment_heartbeat(worker=worker, assignment_id=ahead.id),))
    beat.start()
    time.sleep(0.5)  # the heartbeat reaches its lock wait
    go_on.set()
    submit.join(30)
    beat.join(30)

    assert errors == []
    current.refresh_from_db()
    ahead.refresh_from_db()
    assert current.status == "submitted"
    assert (ahead.status, ahead.queued) == ("active", False)  # the one ahead is now the current lease
