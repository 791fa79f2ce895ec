"""Routing and submitting through the REST API: next, submit, release, leases, idempotency, ownership."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from crowd.models import Answer, Assignment, AssignmentItem, Campaign, Item, MicroTask
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from crowd.services.routing import assignment_expire_due
from payments.models import ExchangeRate, LedgerEntry
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/assignments/next/"
NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _submit_url(assignment_id: int) -> str:
    return f"/api/v1/assignments/{assignment_id}/submit/"


def _release_url(assignment_id: int) -> str:
    return f"/api/v1/assignments/{assignment_id}/release/"


def _answers(body: dict, label: str = "pos") -> dict:
    return {"answers": [{"item": item["id"], "label": label} for item in body["items"]]}


def _counts() -> tuple[int, int, int]:
    return (
        Answer.objects.count(),
        LedgerEntry.objects.filter(worker__isnull=False).count(),
        Assignment.objects.filter(status="submitted").count(),
    )


@pytest.fixture
def campaign() -> Campaign:
    """Two English items, one per microtask, three answers each, 0.10 USD per microtask."""
    return factories.campaign(items=2, launch=True)


def test_next_leases_a_microtask(campaign, make_worker):
    _, worker_api = make_worker()

    with time_machine.travel(NOON, tick=False):
        response = worker_api.post(NEXT, {}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["campaign"] == campaign.id
    assert body["status"] == "active"
    assert parse_datetime(body["expires_at"]) == NOON + timedelta(seconds=campaign.lease_seconds)
    assert (body["reward"], body["currency"]) == ("0.10", "USD")
    assert [label["value"] for label in body["labels"]] == ["pos", "neg"]
    assert len(body["items"]) == 1
    item = Item.objects.get(pk=body["items"][0]["id"])
    assert body["items"][0]["data"] == item.data
    assert "prelabel" not in body["items"][0]
    microtask = Assignment.objects.get(pk=body["id"]).microtask
    assert (microtask.active_count, microtask.done_count) == (1, 0)


def test_next_again_while_holding_returns_the_same_lease(campaign, make_worker):
    _, worker_api = make_worker()
    first = worker_api.post(NEXT, {}, format="json")

    again = worker_api.post(NEXT, {}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["items"] == first.json()["items"]
    assert Assignment.objects.count() == 1
    assert MicroTask.objects.get(pk=Assignment.objects.get().microtask_id).active_count == 1


def test_next_for_a_named_campaign(make_worker):
    factories.campaign(items=1, launch=True, priority=9)
    wanted = factories.campaign(items=1, launch=True)
    _, worker_api = make_worker()

    response = worker_api.post(NEXT, {"campaign": wanted.id}, format="json")

    assert response.status_code == 201
    assert response.json()["campaign"] == wanted.id


def test_next_for_a_draft_campaign_is_not_found(make_worker):
    draft = factories.campaign(items=1)
    _, worker_api = make_worker()

    assert_error(worker_api.post(NEXT, {"campaign": draft.id}, format="json"), 404, "not_found")
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("value", ["1", 1.5, True, [1]])
def test_next_with_a_bad_campaign_value_is_refused(campaign, make_worker, value):
    _, worker_api = make_worker()

    error = assert_error(worker_api.post(NEXT, {"campaign": value}, format="json"), 400, "validation_error")

    assert "campaign" in error["fields"]
    assert not Assignment.objects.exists()


def test_next_without_work_in_the_worker_language(make_worker):
    factories.campaign(items=2, launch=True, languages=["fr"])
    _, worker_api = make_worker(languages=(("sw", 5), ("en", 3)))

    response = worker_api.post(NEXT, {}, format="json")

    assert response.status_code == 204
    assert response["Crowdloop-Reason"] == "no_language_match"
    assert response["Crowdloop-Reason-Message"]
    assert not response.content
    assert not Assignment.objects.exists()


def test_next_matches_language_by_base_tag(make_worker):
    campaign = factories.campaign(items=0, languages=["sw"])
    items_import(campaign_id=campaign.id, rows=[{"external_id": "s", "data": {"t": "Habari"}, "language": "sw-KE"}])
    campaign_launch(campaign_id=campaign.id)
    _, english = make_worker(languages=(("en", 5),))
    _, swahili = make_worker(languages=(("swa", 2),))

    assert english.post(NEXT, {}, format="json").status_code == 204
    assert swahili.post(NEXT, {}, format="json").status_code == 201


def test_next_without_running_campaigns(make_worker):
    factories.campaign(items=2)  # a draft is not offered
    _, worker_api = make_worker()

    response = worker_api.post(NEXT, {}, format="json")

    assert response.status_code == 204
    assert response["Crowdloop-Reason"] == "no_campaigns"


def test_next_missing_skill(make_worker):
    factories.campaign(items=1, launch=True, required_skills={"medical": 3})
    _, novice = make_worker(skills=(("medical", 2),))
    _, expert = make_worker(skills=(("medical", 4),))

    response = novice.post(NEXT, {}, format="json")

    assert response.status_code == 204
    assert response["Crowdloop-Reason"] == "missing_skills"
    assert expert.post(NEXT, {}, format="json").status_code == 201


def test_next_private_campaign_only_for_the_organization_workers(make_worker):
    organization = factories.OrganizationFactory()
    factories.campaign(organization=organization, items=1, launch=True, visibility="private")
    _, outsider = make_worker()
    _, insider = make_worker(organization=organization)

    assert outsider.post(NEXT, {}, format="json").status_code == 204
    assert insider.post(NEXT, {}, format="json").status_code == 201


def test_next_never_offers_an_item_twice(make_worker):
    factories.campaign(items=3, launch=True)
    _, worker_api = make_worker()
    seen: list[int] = []

    for _ in range(3):
        body = worker_api.post(NEXT, {}, format="json").json()
        seen += [item["id"] for item in body["items"]]
        assert worker_api.post(_submit_url(body["id"]), _answers(body), format="json").status_code == 200
    last = worker_api.post(NEXT, {}, format="json")

    assert len(seen) == len(set(seen)) == 3
    assert last.status_code == 204
    assert last["Crowdloop-Reason"] == "done_everything"


def test_next_respects_redundancy(make_worker):
    factories.campaign(items=1, redundancy=2, launch=True)
    workers = [make_worker()[1] for _ in range(3)]

    first, second = (w.post(NEXT, {}, format="json") for w in workers[:2])
    third = workers[2].post(NEXT, {}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["items"] == second.json()["items"]
    assert third.status_code == 204
    assert third["Crowdloop-Reason"] == "all_leased"
    microtask = MicroTask.objects.get()
    assert (microtask.active_count, microtask.is_open) == (2, False)

    for response, client in ((first, workers[0]), (second, workers[1])):
        body = response.json()
        assert client.post(_submit_url(body["id"]), _answers(body), format="json").status_code == 200
    assert workers[2].post(NEXT, {}, format="json").status_code == 204
    microtask.refresh_from_db()
    assert (microtask.active_count, microtask.done_count, microtask.is_open) == (0, 2, False)


def test_next_by_an_organization_key_is_forbidden(campaign, org_api):
    assert_error(org_api.post(NEXT, {}, format="json"), 403, "permission_denied")
    assert not Assignment.objects.exists()


def test_next_unauthenticated_is_refused(campaign, api):
    assert_error(api.post(NEXT, {}, format="json"), 401, "not_authenticated")
    assert not Assignment.objects.exists()


def test_submit_stores_answers_and_a_pending_reward(campaign, make_worker):
    worker, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    item_id = body["items"][0]["id"]

    response = worker_api.post(_submit_url(body["id"]), _answers(body, "neg"), format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"id": body["id"], "status": "submitted", "replayed": False, "late": False}
    answer = Answer.objects.get()
    assert (answer.item_id, answer.worker_id, answer.label, answer.is_gold) == (item_id, worker.id, "neg", False)
    assert Item.objects.get(pk=item_id).answer_count == 1
    reward = LedgerEntry.objects.get(worker__isnull=False)
    assert (reward.worker_id, reward.kind, reward.status) == (worker.id, "reward", "pending")
    assert (reward.amount_minor, reward.currency, reward.assignment_id) == (10, "USD", body["id"])
    microtask = Assignment.objects.get(pk=body["id"]).microtask
    assert (microtask.active_count, microtask.done_count) == (0, 1)
    earnings = worker_api.get("/api/v1/me/earnings/").json()
    assert (earnings["currency"], earnings["pending"], earnings["available"]) == ("USD", "0.10", "0.00")


def test_submit_measures_time_on_task(campaign, make_worker):
    _, worker_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = worker_api.post(NEXT, {}, format="json").json()
    with time_machine.travel(NOON + timedelta(seconds=42), tick=False):
        assert worker_api.post(_submit_url(body["id"]), _answers(body), format="json").status_code == 200

    assert Assignment.objects.get().seconds_on_task == 42
    assert Answer.objects.get().seconds_on_task == 42


def test_submit_same_body_twice_is_stored_once(make_worker):
    factories.campaign(items=3, items_per_task=3, launch=True)
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    answers = _answers(body)
    first = worker_api.post(_submit_url(body["id"]), answers, format="json")

    reordered = {"answers": list(reversed(answers["answers"]))}
    again = worker_api.post(_submit_url(body["id"]), reordered, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"id": body["id"], "status": "submitted", "replayed": True, "late": False}
    assert Answer.objects.count() == 3
    assert LedgerEntry.objects.filter(worker__isnull=False).count() == 1
    assert set(Item.objects.values_list("answer_count", flat=True)) == {1}
    assert MicroTask.objects.get().done_count == 1


def test_submit_different_body_after_submitting_conflicts(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    worker_api.post(_submit_url(body["id"]), _answers(body, "pos"), format="json")
    before = _counts()

    response = worker_api.post(_submit_url(body["id"]), _answers(body, "neg"), format="json")

    assert_error(response, 409, "already_submitted")
    assert _counts() == before
    assert Answer.objects.get().label == "pos"


def test_submit_unknown_label_stores_nothing(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()

    response = worker_api.post(_submit_url(body["id"]), _answers(body, "maybe"), format="json")

    error = assert_error(response, 400, "invalid_label")
    assert str(body["items"][0]["id"]) in error["fields"]["answers"]
    assert _counts() == (0, 0, 0)
    assignment = Assignment.objects.get()
    assert assignment.status == "active"
    assert (assignment.microtask.active_count, assignment.microtask.done_count) == (1, 0)
    # The worker can still fix the answer and submit.
    assert worker_api.post(_submit_url(body["id"]), _answers(body, "pos"), format="json").status_code == 200


def test_submit_item_not_in_the_assignment_stores_nothing(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    other_item = Item.objects.exclude(pk=body["items"][0]["id"]).get()
    answers = _answers(body)
    answers["answers"].append({"item": other_item.id, "label": "pos"})

    error = assert_error(worker_api.post(_submit_url(body["id"]), answers, format="json"), 400, "unknown_item")

    assert str(other_item.id) in error["fields"]["answers"]
    assert _counts() == (0, 0, 0)


@pytest.mark.parametrize("payload", [{}, {"answers": []}, {"answers": "pos"}, {"answers": [{"label": "pos"}]}])
def test_submit_without_answers_is_refused(campaign, make_worker, payload):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()

    error = assert_error(worker_api.post(_submit_url(body["id"]), payload, format="json"), 400, "validation_error")

    assert "answers" in error["fields"]
    assert _counts() == (0, 0, 0)
    assert Assignment.objects.get().status == "active"


def test_submit_missing_one_item_is_refused(make_worker):
    factories.campaign(items=2, items_per_task=2, launch=True)
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    answers = {"answers": [{"item": body["items"][0]["id"], "label": "pos"}]}

    error = assert_error(worker_api.post(_submit_url(body["id"]), answers, format="json"), 400, "missing_answers")

    assert str(body["items"][1]["id"]) in error["fields"]["answers"]
    assert _counts() == (0, 0, 0)


def test_submit_the_same_item_twice_in_one_body_is_refused(make_worker):
    factories.campaign(items=1, launch=True)
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    item_id = body["items"][0]["id"]
    answers = {"answers": [{"item": item_id, "label": "pos"}, {"item": item_id, "label": "neg"}]}

    assert_error(worker_api.post(_submit_url(body["id"]), answers, format="json"), 400, "validation_error")
    assert _counts() == (0, 0, 0)


def test_submit_someone_elses_assignment_is_not_found(campaign, make_worker):
    _, owner_api = make_worker()
    _, intruder_api = make_worker()
    body = owner_api.post(NEXT, {}, format="json").json()

    assert_error(intruder_api.post(_submit_url(body["id"]), _answers(body), format="json"), 404, "not_found")
    assert_error(intruder_api.post(_release_url(body["id"]), {}, format="json"), 404, "not_found")
    assert _counts() == (0, 0, 0)
    assert Assignment.objects.get().status == "active"


def test_submit_unknown_assignment_is_not_found(campaign, make_worker):
    _, worker_api = make_worker()

    answers = {"answers": [{"item": 1, "label": "pos"}]}

    assert_error(worker_api.post(_submit_url(999999), answers, format="json"), 404, "not_found")


def test_answers_after_the_lease_ran_out_are_kept_while_its_slot_is_free(campaign, make_worker):
    _, worker_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = worker_api.post(NEXT, {}, format="json").json()
    expires_at = parse_datetime(body["expires_at"])

    with time_machine.travel(expires_at + timedelta(minutes=30), tick=False):
        response = worker_api.post(_submit_url(body["id"]), _answers(body), format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["late"]) == ("submitted", True)
    assert _counts() == (len(body["items"]), 1, 1)
    assignment = Assignment.objects.get(pk=body["id"])
    # Half an hour on the phone waiting for a connection is not time on task: it ends with the lease.
    assert assignment.seconds_on_task == (expires_at - assignment.leased_at).total_seconds()
    microtask = assignment.microtask
    assert (microtask.active_count, microtask.done_count) == (0, 1)


def test_answers_exactly_at_expiry_are_kept_as_late(campaign, make_worker):
    _, worker_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = worker_api.post(NEXT, {}, format="json").json()

    with time_machine.travel(parse_datetime(body["expires_at"]), tick=False):
        response = worker_api.post(_submit_url(body["id"]), _answers(body), format="json")

    assert response.status_code == 200, response.content
    assert response.json()["late"] is True


def test_answers_after_the_expiry_job_are_kept_and_close_the_slot_when_nobody_took_it(make_worker):
    factories.campaign(items=1, redundancy=1, max_redundancy=1, launch=True)
    _, late_api = make_worker()
    _, next_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = late_api.post(NEXT, {}, format="json").json()

    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        assert assignment_expire_due() == 1
        response = late_api.post(_submit_url(body["id"]), _answers(body), format="json")
        again = late_api.post(_submit_url(body["id"]), _answers(body), format="json")
        other = next_api.post(NEXT, {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["late"] is True
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert _counts() == (1, 1, 1)  # one answer, one reward, however often the phone retries
    microtask = Assignment.objects.get(pk=body["id"]).microtask
    assert (microtask.active_count, microtask.done_count, microtask.is_open) == (0, 1, False)
    assert other.status_code == 204  # the only slot is done


def test_answers_after_the_expiry_job_conflict_when_someone_else_took_the_slot(make_worker):
    factories.campaign(items=1, redundancy=1, max_redundancy=1, launch=True)
    _, late_api = make_worker()
    _, next_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = late_api.post(NEXT, {}, format="json").json()
        assert next_api.post(NEXT, {}, format="json").status_code == 204

    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        assert assignment_expire_due() == 1
        replacement = next_api.post(NEXT, {}, format="json")
        response = late_api.post(_submit_url(body["id"]), _answers(body), format="json")

    assert replacement.status_code == 201
    assert replacement.json()["items"] == body["items"]
    assert_error(response, 409, "lease_expired")
    assert Assignment.objects.get(pk=body["id"]).status == "expired"
    assert _counts() == (0, 0, 0)
    microtask = Assignment.objects.get(pk=body["id"]).microtask
    assert (microtask.active_count, microtask.done_count) == (1, 0)


def test_answers_after_the_lease_ran_out_conflict_when_the_campaign_stopped(campaign, make_worker):
    _, worker_api = make_worker()
    with time_machine.travel(NOON, tick=False):
        body = worker_api.post(NEXT, {}, format="json").json()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)

    with time_machine.travel(parse_datetime(body["expires_at"]) + timedelta(seconds=1), tick=False):
        response = worker_api.post(_submit_url(body["id"]), _answers(body), format="json")

    assert_error(response, 409, "lease_expired")
    assert _counts() == (0, 0, 0)


def test_release_frees_the_slot_and_the_worker_never_gets_it_again(make_worker):
    factories.campaign(items=1, redundancy=1, max_redundancy=1, launch=True)
    _, leaver_api = make_worker()
    _, other_api = make_worker()
    body = leaver_api.post(NEXT, {}, format="json").json()
    assert other_api.post(NEXT, {}, format="json").status_code == 204

    response = leaver_api.post(_release_url(body["id"]), {"reason": "unclear"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {"id": body["id"], "status": "released"}
    assignment = Assignment.objects.get(pk=body["id"])
    assert (assignment.status, assignment.release_reason) == ("released", "unclear")
    microtask = assignment.microtask
    assert (microtask.active_count, microtask.done_count, microtask.is_open) == (0, 0, True)
    assert leaver_api.post(NEXT, {}, format="json").status_code == 204
    taken = other_api.post(NEXT, {}, format="json")
    assert taken.status_code == 201
    assert taken.json()["items"] == body["items"]
    assert AssignmentItem.objects.filter(item_id=body["items"][0]["id"]).count() == 2


def test_release_twice_is_harmless(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    worker_api.post(_release_url(body["id"]), {}, format="json")

    again = worker_api.post(_release_url(body["id"]), {}, format="json")

    assert again.status_code == 200
    assert again.json()["status"] == "released"
    assert Assignment.objects.get().microtask.active_count == 0


def test_release_after_submit_conflicts(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    worker_api.post(_submit_url(body["id"]), _answers(body), format="json")

    assert_error(worker_api.post(_release_url(body["id"]), {}, format="json"), 409, "invalid_state")
    assert Assignment.objects.get().status == "submitted"
    assert MicroTask.objects.get(pk=Assignment.objects.get().microtask_id).done_count == 1


def test_release_with_an_unknown_reason_is_refused(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()

    error = assert_error(worker_api.post(_release_url(body["id"]), {"reason": "bored"}, format="json"), 400)

    assert "reason" in error["fields"]
    assert Assignment.objects.get().status == "active"


def test_submit_after_release_is_refused(campaign, make_worker):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()
    worker_api.post(_release_url(body["id"]), {}, format="json")

    assert_error(worker_api.post(_submit_url(body["id"]), _answers(body), format="json"), 409, "invalid_state")
    assert _counts() == (0, 0, 0)


def test_submit_and_release_by_an_organization_key_are_forbidden(campaign, make_worker, org_api):
    _, worker_api = make_worker()
    body = worker_api.post(NEXT, {}, format="json").json()

    assert_error(org_api.post(_submit_url(body["id"]), _answers(body), format="json"), 403, "permission_denied")
    assert_error(org_api.post(_release_url(body["id"]), {}, format="json"), 403, "permission_denied")
    assert _counts() == (0, 0, 0)


def test_gold_items_are_mixed_in_and_do_not_count_as_answers(org_api, org_key, make_worker):
    campaign = factories.campaign(organization=org_key[0], items=1, gold_ratio=1.0)
    rows = [{"external_id": "gold", "data": {"text": "known"}, "gold": "neg"}]
    assert org_api.post(f"/api/v1/campaigns/{campaign.id}/items/", rows, format="json").status_code == 201
    assert org_api.post(f"/api/v1/campaigns/{campaign.id}/launch/").status_code == 200
    _, worker_api = make_worker()

    body = worker_api.post(NEXT, {}, format="json").json()

    gold = Item.objects.get(external_id="gold")
    assert sorted(item["id"] for item in body["items"]) == sorted([gold.id, Item.objects.get(external_id="t0").id])
    assert all(set(item) == {"id", "data", "image"} for item in body["items"])  # gold looks like any other item
    assert worker_api.post(_submit_url(body["id"]), _answers(body), format="json").status_code == 200
    assert Answer.objects.get(item=gold).is_gold
    assert Item.objects.get(pk=gold.pk).answer_count == 0
    assert Item.objects.get(external_id="t0").answer_count == 1


def test_earnings_sum_per_currency_with_the_most_used_one_on_top(make_worker):
    # The default floor is in USD: a EUR campaign is checked against it through a dated rate.
    ExchangeRate.objects.create(base="USD", quote="EUR", rate="0.92", as_of=date(2026, 1, 1))
    euro = factories.campaign(items=1, currency="EUR", reward="0.30", priority=5, launch=True)
    factories.campaign(items=2, currency="USD", reward="0.10", launch=True)
    _, worker_api = make_worker()
    for _ in range(3):
        body = worker_api.post(NEXT, {}, format="json").json()
        assert worker_api.post(_submit_url(body["id"]), _answers(body), format="json").status_code == 200
    assert worker_api.post(NEXT, {}, format="json").status_code == 204

    earnings = worker_api.get("/api/v1/me/earnings/").json()

    assert earnings["by_currency"]["EUR"] == {
        "pending": "0.30",
        "available": "0.00",
        "payout_pending": "0.00",
        "paid": "0.00",
    }
    assert earnings["by_currency"]["USD"] == {
        "pending": "0.20",
        "available": "0.00",
        "payout_pending": "0.00",
        "paid": "0.00",
    }
    # Two USD rewards against one EUR reward: USD is the worker's main currency.
    assert (earnings["currency"], earnings["pending"]) == ("USD", "0.20")
    assert len(earnings["entries"]) == 3
    assert {entry["campaign"] for entry in earnings["entries"] if entry["currency"] == "EUR"} == {euro.id}
