"""Submitting answers: validated, stored once, reward credited as pending in the same transaction."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F, FloatField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd import rows
from crowd.exceptions import Conflict, InvalidState, LeaseExpired, NotFound, ValidationFailed
from crowd.labels import LabelChecker, RowError, label_key
from crowd.models import Answer, Assignment, Campaign, CampaignWorker, Item, MicroTask
from crowd.services.approvals import reject_locked
from crowd.services.queued import queued_promote
from crowd.services.slots import slots_move
from crowd.tasks import campaign_aggregate_soon
from crowd.webhooks.events import ASSIGNMENT_SUBMITTED, event_emit, subscribed_sql
from payments.services import ledger_credit_reward
from workers.models import User
from workers.pseudonyms import pseudonym

FINISHED = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED, Assignment.Status.REJECTED)


@dataclass(frozen=True)
class SubmitResult:
    assignment: Assignment
    replayed: bool
    late: bool = False  # the lease had run out, but its slot was still free, so the answers were kept


def _digest(answers: dict[int, Any]) -> str:
    canonical = json.dumps(sorted(answers.items()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parse(raw_answers: Any) -> dict[int, Any]:
    if not isinstance(raw_answers, list) or not raw_answers:
        raise ValidationFailed(
            _("`answers` must be a non-empty list."), fields={"answers": _("Must be a non-empty list.")}
        )
    answers: dict[int, Any] = {}
    for index, entry in enumerate(raw_answers):
        if not isinstance(entry, dict) or "item" not in entry or "label" not in entry:
            raise ValidationFailed(
                _("Answer %(index)s needs 'item' and 'label'.") % {"index": index},
                fields={"answers": {str(index): _("Needs item and label.")}},
            )
        item = entry["item"]
        if not isinstance(item, int) or isinstance(item, bool):
            raise ValidationFailed(
                _("Answer %(index)s: 'item' must be an id.") % {"index": index},
                fields={"answers": {str(index): _("Bad item.")}},
            )
        if item in answers:
            raise ValidationFailed(
                _("Item %(item)s is answered twice.") % {"item": item},
                fields={"answers": {str(index): _("Duplicate item.")}},
            )
        answers[item] = entry["label"]
    return answers


def answer_submit(*, worker: User, assignment_id: int, raw_answers: Any) -> SubmitResult:
    """Store one answer per item of an active lease, mark it submitted and credit the reward as pending.

    Locks the assignment row, then its microtask. Idempotent: the same body again returns the stored
    submission; a different body raises Conflict; an expired or released lease raises LeaseExpired/InvalidState.
    On PostgreSQL the common case is three statements in one transaction: the locked lease read with its
    campaign and items, the writes, the reward.
    """
    answers = _parse(raw_answers)
    digest = _digest(answers)
    now = timezone.now()
    with transaction.atomic():
        assignment, entries, queued_behind, webhook_wanted = _locked_lease(assignment_id, worker.id)
        if assignment.status in FINISHED:
            if assignment.submission_digest == digest:
                return SubmitResult(assignment, replayed=True)
            raise Conflict(_("This assignment was already submitted with different answers."), code="already_submitted")
        late = assignment.status == Assignment.Status.EXPIRED or (
            assignment.status == Assignment.Status.ACTIVE and assignment.expires_at <= now
        )
        if assignment.status not in (Assignment.Status.ACTIVE, Assignment.Status.EXPIRED):
            raise InvalidState(
                _("This assignment was %(status)s and cannot be submitted.") % {"status": assignment.status}
            )
        labels = _validate(assignment.campaign, entries, answers)
        if late:
            _retake_slot(assignment)
        assignment.status = Assignment.Status.SUBMITTED
        assignment.submitted_at = now
        # Time on task ends when the lease ended: answers that waited on the phone for a connection did not work.
        # A lease fetched ahead that never became current starts at its last sign of life, not at its claim.
        started = (assignment.last_activity_at or assignment.leased_at) if assignment.queued else assignment.leased_at
        assignment.seconds_on_task = max((min(now, assignment.expires_at) - started).total_seconds(), 0.0)
        assignment.submission_digest = digest
        store = _store_statement if connection.vendor == "postgresql" else _store_steps
        store(assignment, entries, labels)
        failed_gold = _score_gold(assignment, entries, labels)
        ledger_credit_reward(
            assignment_id=assignment.id,
            worker_id=worker.id,
            campaign_id=assignment.campaign_id,
            amount_minor=assignment.reward_minor,
            currency=assignment.currency,
        )
        _maybe_reject_on_gold(assignment, failed_gold)
        if queued_behind is not None and not assignment.queued:
            # The lease fetched ahead becomes the current one as this one ends (the phone already shows it).
            queued_promote(lease_id=queued_behind, lease_seconds=assignment.campaign.lease_seconds, now=now)
        # Only registers an on-commit hook: no cache or broker call can fail (or roll back) the stored answers.
        campaign_aggregate_soon(campaign_id=assignment.campaign_id)
        if webhook_wanted:
            _submitted_event(assignment, labels, late)
    return SubmitResult(assignment, replayed=False, late=late)


def _submitted_event(assignment: Assignment, labels: dict[int, Any], late: bool) -> None:
    """assignment.submitted (opt-in), in the submit's transaction; the worker appears only by their pseudonym."""
    organization_id = assignment.campaign.organization_id
    event_emit(
        organization_id=organization_id,
        event_type=ASSIGNMENT_SUBMITTED,
        data={
            "assignment": assignment.id,
            "campaign": assignment.campaign_id,
            "worker": pseudonym(organization_id, assignment.worker_id),
            "submitted_at": assignment.submitted_at.isoformat(),
            "seconds_on_task": assignment.seconds_on_task,
            "late": late,
            "answers": [{"item": item_id, "label": labels[item_id]} for item_id in sorted(labels)],
        },
    )


def _retake_slot(assignment: Assignment) -> None:
    """Answers that arrive after the lease ran out (a phone that was offline) are kept when nobody else has
    taken the slot since and the campaign still runs: the organization pays for the answer it asked for, once,
    and the worker's work is not thrown away. Otherwise LeaseExpired, and the worker is told plainly.

    The lease and its microtask are already locked (`_locked_lease`), so the check and the move are one step."""
    if assignment.campaign.status != Campaign.Status.ACTIVE:
        raise LeaseExpired(_("The lease on this assignment has expired and the campaign is no longer running."))
    if assignment.status == Assignment.Status.ACTIVE:
        return  # not swept yet: the slot is still counted as this lease's
    microtask = MicroTask.objects.only("target", "active_count", "done_count").get(pk=assignment.microtask_id)
    if microtask.target <= microtask.active_count + microtask.done_count:
        raise LeaseExpired(_("The lease on this assignment has expired and its place went to someone else."))
    slots_move(microtask_id=assignment.microtask_id, active_delta=1)
    assignment.status = Assignment.Status.ACTIVE  # the store below moves the slot from active to done


def _locked_lease(assignment_id: int, worker_id: int) -> tuple[Assignment, dict[int, bool], int | None, bool]:
    """The worker's lease, locked, with its campaign, its items ({item id: is gold}), the id of a live lease
    fetched ahead behind it and whether the organization subscribed to assignment.submitted, in one read; NotFound
    otherwise. Plain SQL on the hot path: building the ORM's queries cost more than running them."""
    postgres = connection.vendor == "postgresql"
    aggregate = "string_agg" if postgres else "group_concat"
    # The lease and its microtask, in that order (as release and expiry lock them), before any item row: the
    # writes then lock items in id order, so submits and a coordinator's redundancy raise (microtasks, then
    # items) never wait on each other in a cycle.
    lock = " FOR NO KEY UPDATE OF a, m" if postgres else ""
    item_text = "CAST(e.item_id AS TEXT)" if postgres else "e.item_id"
    wanted_sql, wanted_params = subscribed_sql("c.organization_id", ASSIGNMENT_SUBMITTED)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(Assignment, 'a')}, {rows.columns(Campaign, 'c')},"
            " (SELECT q.id FROM crowd_assignment q WHERE q.worker_id = a.worker_id AND q.campaign_id = a.campaign_id"
            " AND q.status = 'active' AND q.queued AND q.id <> a.id AND q.expires_at > %s LIMIT 1),"
            f" (SELECT {aggregate}({item_text} || CASE WHEN e.is_gold THEN ':1' ELSE ':0' END, ',')"
            " FROM crowd_assignmentitem e WHERE e.assignment_id = a.id)"
            f", {wanted_sql}"
            " FROM crowd_assignment a JOIN crowd_campaign c ON c.id = a.campaign_id"
            " JOIN crowd_microtask m ON m.id = a.microtask_id"
            f" WHERE a.id = %s AND a.worker_id = %s{lock}",
            [connection.ops.adapt_datetimefield_value(timezone.now()), *wanted_params, assignment_id, worker_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("No such assignment."))
    split = rows.width(Assignment)
    assignment = rows.instance(Assignment, "a", row[:split])
    assignment.campaign = rows.instance(Campaign, "c", row[split:-3])
    entries = {}
    for entry in (row[-2] or "").split(","):
        if entry:
            item_id, gold = entry.split(":")
            entries[int(item_id)] = gold == "1"
    return assignment, entries, row[-3], bool(row[-1])


# The submit's writes in one statement (PostgreSQL): the answers, the lease marked submitted, the microtask's
# slot moved from active to done, and each non-gold item's answer count (gold answers score the worker; they
# do not count toward an item's redundancy).
_STORE_SQL = """
WITH given AS (
    SELECT * FROM unnest(%(items)s::bigint[], %(labels)s::text[], %(gold)s::boolean[]) AS g(item_id, label, is_gold)
), answers AS (
    INSERT INTO crowd_answer (assignment_id, item_id, worker_id, campaign_id, label, is_gold, seconds_on_task,
        created_at)
    SELECT %(assignment)s, item_id, %(worker)s, %(campaign)s, label::jsonb, is_gold, %(per_item)s, %(now)s
    FROM given
), lease AS (
    UPDATE crowd_assignment SET status = 'submitted', submitted_at = %(now)s, seconds_on_task = %(seconds)s,
        submission_digest = %(digest)s
    WHERE id = %(assignment)s
), slot AS (  -- active + done stays the same, and so does is_open
    UPDATE crowd_microtask SET active_count = active_count - 1, done_count = done_count + 1
    WHERE id = %(microtask)s
)
UPDATE crowd_item SET answer_count = answer_count + 1 WHERE id = ANY(%(counted)s::bigint[])
"""


def _store_statement(assignment: Assignment, entries: dict[int, bool], labels: dict[int, Any]) -> None:
    items = sorted(labels)
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            {
                "items": items,
                "labels": [json.dumps(labels[i]) for i in items],
                "gold": [entries[i] for i in items],
                # Sorted: an index scan over `= ANY` takes the rows in id order (lock order, see _locked_lease).
                "counted": [i for i in items if not entries[i]],
                "assignment": assignment.id,
                "worker": assignment.worker_id,
                "campaign": assignment.campaign_id,
                "microtask": assignment.microtask_id,
                "per_item": assignment.seconds_on_task / len(items),
                "seconds": assignment.seconds_on_task,
                "digest": assignment.submission_digest,
                "now": assignment.submitted_at,
            },
        )


def _store_steps(assignment: Assignment, entries: dict[int, bool], labels: dict[int, Any]) -> None:
    """Other databases (SQLite for `make run`): the same writes as separate statements."""
    Answer.objects.bulk_create(
        Answer(
            assignment=assignment,
            item_id=item_id,
            worker_id=assignment.worker_id,
            campaign_id=assignment.campaign_id,
            label=label,
            is_gold=entries[item_id],
            seconds_on_task=assignment.seconds_on_task / len(labels),
        )
        for item_id, label in labels.items()
    )
    assignment.save(update_fields=["status", "submitted_at", "seconds_on_task", "submission_digest"])
    slots_move(microtask_id=assignment.microtask_id, active_delta=-1, done_delta=1)
    Item.objects.filter(id__in=[i for i, gold in entries.items() if not gold]).update(
        answer_count=F("answer_count") + 1
    )


def _score_gold(assignment: Assignment, entries: dict[int, bool], labels: dict[int, Any]) -> int:
    """Gold answers are scored at once: the worker's gold accuracy in this campaign moves in SQL. The next
    aggregation replaces it with Dawid-Skene's estimate, which learns from the same gold and everything else.
    """
    gold_ids = [item_id for item_id, gold in entries.items() if gold]
    if not gold_ids:
        return 0
    task_type = assignment.campaign.task_type
    truths = dict(Item.objects.filter(id__in=gold_ids).values_list("id", "gold"))
    correct = sum(label_key(labels[i], task_type) == label_key(truths[i], task_type) for i in gold_ids)
    answered = len(gold_ids)
    CampaignWorker.objects.filter(campaign_id=assignment.campaign_id, worker_id=assignment.worker_id).update(
        gold_answers=F("gold_answers") + answered,
        gold_correct=F("gold_correct") + correct,
        quality=Cast(F("gold_correct") + correct, FloatField()) / (F("gold_answers") + answered),
        quality_answers=F("gold_answers") + answered,
    )
    return answered - correct


def _maybe_reject_on_gold(assignment: Assignment, failed_now: int) -> None:
    """Campaigns that opted in reject a submission with a failed gold item, but only on clear evidence:
    the worker has failed at least `auto_reject_min_gold_failed` gold items in this campaign."""
    campaign = assignment.campaign
    if not campaign.auto_reject_on_gold or failed_now == 0:
        return
    stats = CampaignWorker.objects.filter(campaign=campaign, worker_id=assignment.worker_id).values_list(
        "gold_answers", "gold_correct"
    )
    answered, correct = stats.first() or (0, 0)
    failed = answered - correct
    if failed >= campaign.auto_reject_min_gold_failed:
        reject_locked(
            assignment,
            decided_by_id=None,
            reason=f"{failed} of {answered} check questions answered differently from their known answer.",
        )


def _validate(campaign: Campaign, entries: dict[int, bool], answers: dict[int, Any]) -> dict[int, Any]:
    """Every item of the lease answered exactly once, each label valid for the campaign."""
    unknown = sorted(set(answers) - set(entries))
    if unknown:
        raise ValidationFailed(
            _("Item %(item)s is not part of this assignment.") % {"item": unknown[0]},
            fields={"answers": {str(item): _("Not in this assignment.") for item in unknown}},
            code="unknown_item",
        )
    missing = sorted(set(entries) - set(answers))
    if missing:
        raise ValidationFailed(
            _("Every item needs an answer; missing %(count)s.") % {"count": len(missing)},
            fields={"answers": {str(item): _("Missing.") for item in missing}},
            code="missing_answers",
        )
    checker = LabelChecker(campaign)
    labels: dict[int, Any] = {}
    errors: dict[str, str] = {}
    for item_id, label in answers.items():
        try:
            labels[item_id] = checker.check(label, "label")
        except RowError as exc:
            errors[str(item_id)] = exc.message
    if errors:
        first = next(iter(errors.items()))
        raise ValidationFailed(
            _("Item %(item)s: %(problem)s") % {"item": first[0], "problem": first[1]},
            fields={"answers": errors},
            code="invalid_label",
        )
    return labels
