"""Routing: lease the next microtask a worker is eligible for; heartbeat, release, expire.

Lock order everywhere: assignment rows, then microtask rows (in id order). A claim locks only the one
microtask it takes (`FOR NO KEY UPDATE SKIP LOCKED`), so concurrent workers do not queue behind each
other; the CHECK constraints on MicroTask and the unique (worker, item) constraint are the last line of
defence. The candidate probe reads a partial index of open microtasks, one (campaign, language) at a
time, so its cost does not grow with the campaign (see ../shared/notes/routing-sql.md).
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from crowd.eligibility import NoWork, WorkerContext, worker_eligibility
from crowd.exceptions import InvalidState, LeaseExpired, NotFound, ValidationFailed
from crowd.models import (
    Assignment,
    AssignmentItem,
    Campaign,
    CampaignWorker,
    Item,
    MicroTask,
    MicroTaskItem,
)
from crowd.selectors import worker_context
from crowd.services.slots import slots_move
from workers.models import User

EARLY_GOLD_ASSIGNMENTS = 10  # a worker's first microtasks in a campaign carry more gold...
EARLY_GOLD_RATIO = 0.4  # ...so their quality is known early
RELEASE_REASONS = ("", "skip", "unclear", "offensive")
CLAIM_WAIT_ROUNDS = 5
LAZY_EXPIRY_BATCH = 500
IDLE_GAP_SECONDS = 120  # heartbeats further apart than this are idle time, not work
MAX_LEASE_FACTOR = 4  # heartbeats extend a lease up to this many lease lengths in total
BREADTH_WINDOW = 256  # breadth-first spreads answers over this many of the oldest open microtasks at a time


@dataclass(frozen=True)
class ClaimResult:
    assignment: Assignment | None
    created: bool = False
    reason: tuple[str, str] | None = None


def _active_campaigns(campaign_id: int | None) -> list[Campaign]:
    # Raw SQL on the hot path (every request for work): the ORM's query compilation cost more than the query.
    if campaign_id is None:
        return list(
            Campaign.objects.raw("SELECT * FROM crowd_campaign WHERE status = 'active' ORDER BY priority DESC, id")
        )
    return list(Campaign.objects.raw("SELECT * FROM crowd_campaign WHERE status = 'active' AND id = %s", [campaign_id]))


def _campaign_order(campaigns: list[Campaign], eligible: dict[int, list[str]]) -> list[Campaign]:
    """Higher priority first; among equal priority a random order, so work spreads across campaigns."""
    ordered: list[Campaign] = []
    candidates = [c for c in campaigns if c.id in eligible]
    for _, group in groupby(candidates, key=lambda c: c.priority):
        same = list(group)
        random.shuffle(same)
        ordered.extend(same)
    return ordered


def assignment_claim_next(*, worker: User, campaign_id: int | None = None) -> ClaimResult:
    """Lease the next eligible microtask to `worker`, or say why there is none.

    Returns the worker's current unexpired lease if they hold one (one per campaign). Locks one
    MicroTask row; raises NotFound for a named campaign that does not exist or is not launched.
    """
    now = timezone.now()
    if campaign_id is not None:
        named = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        if named is None or named in (Campaign.Status.DRAFT, Campaign.Status.ARCHIVED):
            raise NotFound("No such campaign.")
    held_sql = "SELECT * FROM crowd_assignment WHERE worker_id = %s AND status = 'active' AND expires_at > %s"
    held_params: list = [worker.id, now]
    if campaign_id is not None:
        held_sql += " AND campaign_id = %s"
        held_params.append(campaign_id)
    held = next(iter(Assignment.objects.raw(held_sql + " ORDER BY leased_at LIMIT 1", held_params)), None)
    if held:
        return ClaimResult(held, created=False)
    campaigns = _active_campaigns(campaign_id)
    if not campaigns:
        return ClaimResult(None, reason=NoWork.CAMPAIGN_NOT_ACTIVE if campaign_id else NoWork.NO_CAMPAIGNS)
    context = worker_context(worker=worker, campaigns=campaigns)
    eligibility = worker_eligibility(worker=context, campaigns=campaigns)
    if eligibility.reason:
        return ClaimResult(None, reason=eligibility.reason)
    eligible = eligibility.languages_by_campaign
    for campaign in _campaign_order(campaigns, eligible):
        assignment = _claim_in_campaign(worker, campaign, eligible[campaign.id], context, now)
        if assignment is None and assignment_expire_due(campaign_ids=[campaign.id], limit=LAZY_EXPIRY_BATCH):
            # Expired leases free their slots lazily, at the next claim that needs them.
            assignment = _claim_in_campaign(worker, campaign, eligible[campaign.id], context, now)
        if assignment is not None:
            return ClaimResult(assignment, created=True)
    return ClaimResult(None, reason=_why_nothing(worker, eligible))


def _claim_in_campaign(
    worker: User, campaign: Campaign, languages: list[str], context: WorkerContext, now: datetime
) -> Assignment | None:
    for _attempt in range(3):
        try:
            return _claim(worker, campaign, languages, context, now)
        except IntegrityError:
            continue  # a concurrent request by the same worker took an overlapping item; look again
    return None


def _candidate_sql(*, breadth_first: bool, skip_locked: bool) -> str:
    """One index probe: the first open microtask of (campaign, language) holding nothing the worker has seen.

    The history check is a correlated NOT EXISTS fenced with OFFSET 0, so the planner cannot turn it
    into an anti-join over the worker's whole history (70x slower, notes/routing-sql.md). Breadth-first
    takes the least-answered among the BREADTH_WINDOW oldest open microtasks: an index on the counters
    would make every counter update non-HOT, and an unbounded sort would grow with the campaign.
    """
    postgres = connection.vendor == "postgresql"
    fence = "OFFSET 0" if postgres else "LIMIT -1 OFFSET 0"
    lock = ""
    if postgres:
        lock = " FOR NO KEY UPDATE OF m SKIP LOCKED" if skip_locked else " FOR NO KEY UPDATE OF m"
    scope = "m.campaign_id = %s AND m.language = %s AND m.is_open AND m.breadth_first = %s"
    order = "m.id"
    if breadth_first:
        scope = (
            "m.id IN (SELECT w.id FROM crowd_microtask w WHERE w.campaign_id = %s AND w.language = %s"
            f" AND w.is_open AND w.breadth_first = %s ORDER BY w.id LIMIT {BREADTH_WINDOW}) AND m.is_open"
        )
        order = "(m.active_count + m.done_count), m.id"
    return (
        f"SELECT m.id FROM crowd_microtask m WHERE {scope}"
        " AND NOT EXISTS (SELECT 1 FROM crowd_microtaskitem mi"
        " JOIN crowd_assignmentitem ai ON ai.item_id = mi.item_id AND ai.worker_id = %s"
        f" WHERE mi.microtask_id = m.id {fence})"
        f" ORDER BY {order} LIMIT 1{lock}"
    )


def _probe(campaign: Campaign, language: str, worker: User, *, skip_locked: bool) -> int | None:
    breadth_first = campaign.order == Campaign.Order.BREADTH_FIRST
    with connection.cursor() as cursor:
        cursor.execute(
            _candidate_sql(breadth_first=breadth_first, skip_locked=skip_locked),
            [campaign.id, language, breadth_first, worker.id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _lock_candidate(worker: User, campaign: Campaign, languages: list[str]) -> int | None:
    """SKIP LOCKED first, so workers never queue behind each other. When every candidate is locked at
    that instant (the tail of a small campaign), wait for one instead of answering "nothing", and look
    again, because the one we waited for may have closed meanwhile.
    """
    for language in languages:
        microtask_id = _probe(campaign, language, worker, skip_locked=True)
        for _ in range(CLAIM_WAIT_ROUNDS):
            if microtask_id is not None or connection.vendor != "postgresql":
                break
            if _probe(campaign, language, worker, skip_locked=False) is None:
                break
            microtask_id = _probe(campaign, language, worker, skip_locked=True)
        if microtask_id is not None:
            return microtask_id
    return None


def _claim(
    worker: User, campaign: Campaign, languages: list[str], context: WorkerContext, now: datetime
) -> Assignment | None:
    with transaction.atomic():
        microtask_id = _lock_candidate(worker, campaign, languages)
        if microtask_id is None:
            return None
        slots_move(microtask_id=microtask_id, active_delta=1)
        assignment = Assignment.objects.create(
            campaign=campaign,
            microtask_id=microtask_id,
            worker=worker,
            leased_at=now,
            expires_at=now + timedelta(seconds=campaign.lease_seconds),
            last_activity_at=now,
            reward_minor=campaign.reward_minor,
            currency=campaign.currency,
        )
        previous = _count_lease(worker, campaign, context)
        gold_id = _pick_gold(worker, campaign, previous, languages)
        # A gold item takes a random place among the microtask's items (positions only order the page).
        gold_position = random.randint(0, campaign.items_per_task) if gold_id is not None else 1 << 15
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO crowd_assignmentitem (assignment_id, item_id, worker_id, position, is_gold)"
                " SELECT %s, item_id, %s, position + CASE WHEN position >= %s THEN 1 ELSE 0 END, false"
                " FROM crowd_microtaskitem WHERE microtask_id = %s",
                [assignment.id, worker.id, gold_position, microtask_id],
            )
        if gold_id is not None:
            AssignmentItem.objects.create(
                assignment=assignment, item_id=gold_id, worker=worker, position=gold_position, is_gold=True
            )
    return assignment


def _count_lease(worker: User, campaign: Campaign, context: WorkerContext) -> int:
    """Bump the worker's lease count in this campaign; returns the count before this lease."""
    stats = context.stats.get(campaign.id)
    if stats is not None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE crowd_campaignworker SET assignments = assignments + 1 WHERE id = %s", [stats.pk])
        return stats.assignments
    with transaction.atomic():
        created = CampaignWorker.objects.filter(campaign=campaign, worker=worker).update(
            assignments=F("assignments") + 1
        )
        if not created:
            CampaignWorker.objects.create(campaign=campaign, worker=worker, assignments=1)
    return 0


def gold_ratio_for(*, campaign_ratio: float, previous_assignments: int) -> float:
    """More gold in a worker's first microtasks, falling to the campaign's share afterwards."""
    if campaign_ratio <= 0:
        return 0.0
    if previous_assignments < EARLY_GOLD_ASSIGNMENTS:
        return max(campaign_ratio, EARLY_GOLD_RATIO)
    return campaign_ratio


def _pick_gold(worker: User, campaign: Campaign, previous: int, languages: list[str]) -> int | None:
    """One unseen gold item at the campaign's gold ratio, in a language the worker was matched on (a
    worker must never fail a check written in a language they do not read); the least used first.
    """
    if random.random() >= gold_ratio_for(campaign_ratio=campaign.gold_ratio, previous_assignments=previous):
        return None
    in_languages = Q(language="")
    for language in languages:
        if language:
            in_languages |= Q(language=language) | Q(language__startswith=f"{language}-")
    seen = AssignmentItem.objects.filter(worker_id=worker.id, item_id=OuterRef("pk"))
    return (
        Item.objects.filter(in_languages, campaign=campaign, gold__isnull=False)
        .exclude(Exists(seen))
        .order_by("answer_count", "id")
        .values_list("id", flat=True)
        .first()
    )


def _why_nothing(worker: User, eligible: dict[int, list[str]]) -> tuple[str, str]:
    """Only runs when a claim found nothing, so these extra reads stay off the hot path."""
    any_in_languages = False
    for campaign_id, languages in eligible.items():
        scope = MicroTask.objects.filter(campaign_id=campaign_id, language__in=languages)
        if not scope.exists():
            continue
        any_in_languages = True
        unseen = ~Exists(
            MicroTaskItem.objects.filter(microtask_id=OuterRef("pk")).filter(
                Exists(AssignmentItem.objects.filter(worker_id=worker.id, item_id=OuterRef("item_id")))
            )
        )
        if scope.filter(active_count__gt=0, done_count__lt=F("target")).filter(unseen).exists():
            return NoWork.ALL_LEASED
    return NoWork.ALL_DONE if any_in_languages else NoWork.NO_LANGUAGE


def assignment_heartbeat(*, worker: User, assignment_id: int) -> Assignment:
    """The worker is still at it: count the time since the last sign of life as active (unless it was an
    idle gap) and extend the lease, up to MAX_LEASE_FACTOR lease lengths in all. Locks the assignment.
    Raises NotFound (not theirs), LeaseExpired (too late), InvalidState (no longer active).
    """
    now = timezone.now()
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .filter(pk=assignment_id, worker=worker)
            .first()
        )
        if assignment is None:
            raise NotFound("No such assignment.")
        if assignment.status == Assignment.Status.EXPIRED or (
            assignment.status == Assignment.Status.ACTIVE and assignment.expires_at <= now
        ):
            raise LeaseExpired("The lease on this assignment has expired; ask for a new task.")
        if assignment.status != Assignment.Status.ACTIVE:
            raise InvalidState(f"This assignment is {assignment.status}.")
        gap = (now - (assignment.last_activity_at or assignment.leased_at)).total_seconds()
        if 0 < gap <= IDLE_GAP_SECONDS:
            assignment.active_seconds += gap
        lease = timedelta(seconds=assignment.campaign.lease_seconds)
        assignment.expires_at = max(
            assignment.expires_at, min(now + lease, assignment.leased_at + MAX_LEASE_FACTOR * lease)
        )
        assignment.last_activity_at = now
        assignment.save(update_fields=["active_seconds", "expires_at", "last_activity_at"])
    return assignment


def assignment_release(*, worker: User, assignment_id: int, reason: str = "") -> Assignment:
    """Give an active lease back; its items are never offered to this worker again.

    Locks the assignment, then its microtask. Raises NotFound (not theirs), InvalidState (not active).
    """
    if reason not in RELEASE_REASONS:
        raise ValidationFailed(
            "Unknown release reason.", fields={"reason": f"One of: {', '.join(r for r in RELEASE_REASONS if r)}."}
        )
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update(no_key=True).filter(pk=assignment_id, worker=worker).first()
        if assignment is None:
            raise NotFound("No such assignment.")
        if assignment.status == Assignment.Status.RELEASED:
            return assignment
        if assignment.status != Assignment.Status.ACTIVE:
            raise InvalidState(f"This assignment is {assignment.status} and cannot be released.")
        assignment.status = Assignment.Status.RELEASED
        assignment.release_reason = reason
        assignment.ended_at = timezone.now()
        assignment.save(update_fields=["status", "release_reason", "ended_at"])
        slots_move(microtask_id=assignment.microtask_id, active_delta=-1)
    return assignment


def assignment_expire_due(
    *, now: datetime | None = None, limit: int = 2000, campaign_ids: list[int] | None = None
) -> int:
    """Expire active leases past `expires_at` and free their slots. Safe to run concurrently.

    Locks due assignments with SKIP LOCKED (a submit in flight keeps its row), then their microtasks
    in id order. Returns how many leases expired.
    """
    now = now or timezone.now()
    due_leases = Assignment.objects.filter(status=Assignment.Status.ACTIVE, expires_at__lte=now)
    if campaign_ids is not None:
        due_leases = due_leases.filter(campaign_id__in=campaign_ids)
    with transaction.atomic():
        due = list(
            due_leases.select_for_update(skip_locked=True, no_key=True)
            .order_by("expires_at")
            .values_list("id", "microtask_id")[:limit]
        )
        if not due:
            return 0
        Assignment.objects.filter(id__in=[row[0] for row in due]).update(status=Assignment.Status.EXPIRED, ended_at=now)
        for microtask_id, count in sorted(Counter(row[1] for row in due).items()):
            slots_move(microtask_id=microtask_id, active_delta=-count)
    return len(due)
