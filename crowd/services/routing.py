"""Routing: lease the next microtask a worker is eligible for; heartbeat, release, expire.

Lock order everywhere: assignment rows, then microtask rows (in id order). A claim locks only the one
microtask it takes (`FOR NO KEY UPDATE SKIP LOCKED`), so concurrent workers do not queue behind each
other; the CHECK constraints on MicroTask and the unique (worker, item) constraint are the last line of
defence. The candidate probe reads a partial index of open microtasks, one (campaign, language) at a
time, so its cost does not grow with the campaign (why it is written this way: docs/performance.md, Routing).
"""

import json
import random
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd import rows
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
from crowd.services.queued import queued_lease_id, queued_promote
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
    items: list[dict[str, Any]] | None = None  # the lease's items when the claim already read them (PostgreSQL)


_CLOSED = ClaimResult(None, reason=NoWork.CAMPAIGN_NOT_ACTIVE)  # the campaign was paused or finished meanwhile


def _active_campaigns(campaign_id: int | None) -> list[Campaign]:
    # Plain SQL on the hot path (every request for work): building the ORM query cost more than running it.
    if campaign_id is None:
        return rows.fetch(
            Campaign,
            "SELECT {columns} FROM crowd_campaign t WHERE t.status = 'active' ORDER BY t.priority DESC, t.id",
            [],
        )
    named = rows.fetch(Campaign, "SELECT {columns} FROM crowd_campaign t WHERE t.id = %s", [campaign_id])
    if not named or named[0].status in (Campaign.Status.DRAFT, Campaign.Status.ARCHIVED):
        raise NotFound(_("No such campaign."))
    return [c for c in named if c.status == Campaign.Status.ACTIVE]


def _campaign_order(campaigns: list[Campaign], eligible: dict[int, list[str]]) -> list[Campaign]:
    """Higher priority first; among equal priority a random order, so work spreads across campaigns."""
    ordered: list[Campaign] = []
    candidates = [c for c in campaigns if c.id in eligible]
    for _priority, group in groupby(candidates, key=lambda c: c.priority):
        same = list(group)
        random.shuffle(same)
        ordered.extend(same)
    return ordered


def _lease(lease_id: int | None) -> Assignment | None:
    if lease_id is None:
        return None
    return Assignment.objects.select_related("campaign").filter(pk=lease_id, status=Assignment.Status.ACTIVE).first()


def _held(context: WorkerContext, campaign_id: int | None) -> Assignment | None:
    return _lease(
        context.held.get(campaign_id) if campaign_id is not None else min(context.held.values(), default=None)
    )


def _promoted(context: WorkerContext, campaigns: list[Campaign], campaign_id: int | None, now: datetime):
    """With no current lease, a lease fetched ahead becomes the current one (instead of a new claim)."""
    for campaign in campaigns:
        lease_id = context.queued.get(campaign.id)
        if lease_id is None or (campaign_id is not None and campaign.id != campaign_id):
            continue
        if not queued_promote(lease_id=lease_id, lease_seconds=campaign.lease_seconds, now=now):
            # A current lease that ran out but was not swept yet still holds the place: expire it, then again.
            assignment_expire_due(campaign_ids=[campaign.id], limit=LAZY_EXPIRY_BATCH)
            if not queued_promote(lease_id=lease_id, lease_seconds=campaign.lease_seconds, now=now):
                continue
        return _lease(lease_id)
    return None


def assignment_claim_next(*, worker: User, campaign_id: int | None = None, ahead: bool = False) -> ClaimResult:
    """Lease the next eligible microtask to `worker`, or say why there is none.

    Returns the worker's current unexpired lease if they hold one (one per campaign), or makes the lease fetched
    ahead the current one. `ahead` (with a campaign): a lease queued behind the current one, fetched while the
    worker answers it; with no current lease it is the current one. Locks one MicroTask row; raises NotFound for a
    named campaign that does not exist or is not launched. On PostgreSQL the common case is three statements:
    the worker's facts, the active campaigns, the claim.
    """
    if ahead and campaign_id is None:
        raise ValidationFailed(
            _("A lease fetched ahead needs its campaign."), fields={"campaign": _("Required with ahead.")}
        )
    now = timezone.now()
    campaigns = _active_campaigns(campaign_id)
    context = worker_context(worker_id=worker.id, now=now, sensitive=any(c.sensitive for c in campaigns))
    ahead = ahead and campaign_id in context.held
    if ahead and campaign_id in context.queued:
        queued = _lease(context.queued[campaign_id])
        if queued:
            return ClaimResult(queued, created=False)
    if not ahead:
        held = _held(context, campaign_id) or _promoted(context, campaigns, campaign_id, now)
        if held:
            return ClaimResult(held, created=False)
    if not campaigns:
        return ClaimResult(None, reason=NoWork.CAMPAIGN_NOT_ACTIVE if campaign_id else NoWork.NO_CAMPAIGNS)
    eligibility = worker_eligibility(worker=context, campaigns=campaigns)
    if eligibility.reason:
        return ClaimResult(None, reason=eligibility.reason)
    eligible = dict(eligibility.languages_by_campaign)
    for campaign in _campaign_order(campaigns, eligible):
        claimed = _claim_in_campaign(worker, campaign, eligible[campaign.id], context, now, ahead)
        if claimed is None and assignment_expire_due(campaign_ids=[campaign.id], limit=LAZY_EXPIRY_BATCH):
            # Expired leases free their slots lazily, at the next claim that needs them.
            claimed = _claim_in_campaign(worker, campaign, eligible[campaign.id], context, now, ahead)
        if claimed is _CLOSED:
            del eligible[campaign.id]  # paused or finished since we read it
        elif claimed is not None:
            return claimed
    if not eligible:
        return ClaimResult(None, reason=NoWork.CAMPAIGN_NOT_ACTIVE if campaign_id else NoWork.NO_CAMPAIGNS)
    return ClaimResult(None, reason=_why_nothing(worker, eligible))


def _claim_in_campaign(
    worker: User, campaign: Campaign, languages: list[str], context: WorkerContext, now: datetime, queued: bool
) -> ClaimResult | None:
    """A lease in `campaign` (queued: fetched ahead), None when nothing fits, or _CLOSED when the campaign is no
    longer active."""
    stats = context.stats.get(campaign.id)
    previous = stats.assignments if stats is not None else 0
    claim = _claim_statement if connection.vendor == "postgresql" else _claim_steps
    for _attempt in range(3):
        gold = random.random() < gold_ratio_for(campaign_ratio=campaign.gold_ratio, previous_assignments=previous)
        try:
            with _statement_scope():
                return claim(worker, campaign, languages, context, now, gold, queued)
        except IntegrityError:
            # A concurrent request by the same worker won: either it leased in this campaign (the unique
            # active lease per campaign) and that lease is the answer, or it took an overlapping item.
            won = (
                Assignment.objects.select_related("campaign")
                .filter(worker=worker, campaign=campaign, status=Assignment.Status.ACTIVE, queued=queued)
                .first()
            )
            if won is not None:
                return ClaimResult(won, created=False)
    return None


def _statement_scope() -> Any:
    """A savepoint when the caller holds a transaction (so a failed claim does not spoil it); otherwise the
    claim's one statement is its own transaction and needs no BEGIN/COMMIT round trips."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        return transaction.atomic()
    return nullcontext()


def _candidate_sql(*, breadth_first: bool, skip_locked: bool, by_certainty: bool = False) -> str:
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
    scope = "m.campaign_id = %(campaign)s AND m.language = %(language)s AND m.is_open AND m.breadth_first = %(breadth)s"
    order = "m.id"
    if breadth_first:
        scope = (
            "m.id IN (SELECT w.id FROM crowd_microtask w WHERE w.campaign_id = %(campaign)s"
            " AND w.language = %(language)s AND w.is_open AND w.breadth_first = %(breadth)s"
            f" ORDER BY w.id LIMIT {BREADTH_WINDOW}) AND m.is_open"
        )
        order = "(m.active_count + m.done_count), m.id"
    elif by_certainty:
        # The same single probe, along the partial index (campaign, language, certainty, id) WHERE is_open AND
        # by_certainty: the least certain open microtask first, whatever the campaign's size.
        scope = "m.campaign_id = %(campaign)s AND m.language = %(language)s AND m.is_open AND m.by_certainty"
        order = "m.certainty, m.id"
    return (
        f"SELECT m.id FROM crowd_microtask m WHERE {scope}"
        " AND NOT EXISTS (SELECT 1 FROM crowd_microtaskitem mi"
        " JOIN crowd_assignmentitem ai ON ai.item_id = mi.item_id AND ai.worker_id = %(worker)s"
        f" WHERE mi.microtask_id = m.id {fence})"
        f" ORDER BY {order} LIMIT 1{lock}"
    )


# The whole claim in one statement (PostgreSQL): lock the first fitting open microtask (SKIP LOCKED), move its
# slot counters, write the lease with the campaign's current reward and lease length, its items (and a gold
# item at a random place when one is due), the worker's lease count, and return the lease with its items'
# payload, so the response needs no further read. The campaign must still be active at this instant.
_CLAIM_SQL = """
WITH pick AS ({candidate}), bump AS (
    UPDATE crowd_microtask m SET active_count = m.active_count + 1,
        is_open = m.target > m.active_count + m.done_count + 1
    FROM pick WHERE m.id = pick.id
      AND EXISTS (SELECT 1 FROM crowd_campaign c WHERE c.id = %(campaign)s AND c.status = 'active')
    RETURNING m.id
), lease AS (
    INSERT INTO crowd_assignment (campaign_id, microtask_id, worker_id, status, leased_at, expires_at,
        release_reason, reward_minor, currency, active_seconds, last_activity_at, submission_digest, reject_reason,
        queued)
    SELECT c.id, bump.id, %(worker)s, 'active', %(now)s, %(now)s + make_interval(secs => c.lease_seconds),
        '', c.reward_minor, c.currency, 0, %(now)s, '', '', %(queued)s
    FROM bump JOIN crowd_campaign c ON c.id = %(campaign)s
    RETURNING id, microtask_id, expires_at, reward_minor, currency
), gold AS (
    SELECT i.id FROM crowd_item i
    WHERE %(gold)s AND i.campaign_id = %(campaign)s AND i.gold IS NOT NULL
      AND (i.language = '' OR i.language = ANY(%(gold_languages)s) OR i.language LIKE ANY(%(gold_prefixes)s))
      AND NOT EXISTS (SELECT 1 FROM crowd_assignmentitem s WHERE s.item_id = i.id AND s.worker_id = %(worker)s)
    ORDER BY i.answer_count, i.id LIMIT 1
), entries AS (
    INSERT INTO crowd_assignmentitem (assignment_id, item_id, worker_id, position, is_gold, blind)
    SELECT lease.id, mi.item_id, %(worker)s,
        mi.position + CASE WHEN mi.position >= %(gold_position)s::int AND EXISTS (SELECT 1 FROM gold)
            THEN 1 ELSE 0 END, false, random() < %(blind_share)s::float8
    FROM lease JOIN crowd_microtaskitem mi ON mi.microtask_id = lease.microtask_id
    UNION ALL SELECT lease.id, gold.id, %(worker)s, %(gold_position)s::int, true, random() < %(blind_share)s::float8
    FROM lease CROSS JOIN gold
    RETURNING item_id, position, blind
), counted AS (
    INSERT INTO crowd_campaignworker (campaign_id, worker_id, assignments, gold_answers, gold_correct,
        quality_answers)
    SELECT %(campaign)s, %(worker)s, 1, 0, 0, 0 FROM lease
    ON CONFLICT (campaign_id, worker_id) DO UPDATE SET assignments = crowd_campaignworker.assignments + 1
)
SELECT lease.id, lease.microtask_id, lease.expires_at, lease.reward_minor, lease.currency,
    (SELECT json_agg(json_build_object('id', i.id, 'data', i.data, 'prelabel', i.prelabel, 'blind', e.blind,
        'prelabel_model', i.prelabel_model, 'prelabel_score', i.prelabel_score,
        'image', CASE WHEN m.path IS NOT NULL THEN json_build_object('path', m.path, 'width', m.width,
            'height', m.height, 'bytes', m.byte_size) END) ORDER BY e.position)
     FROM entries e JOIN crowd_item i ON i.id = e.item_id
     LEFT JOIN crowd_itemimage m ON m.item_id = i.id AND m.status = 'ready'),
    EXISTS (SELECT 1 FROM pick)  -- a candidate but no lease: the campaign is no longer active
FROM (SELECT 1) AS one LEFT JOIN lease ON true
"""


def blind_share(campaign: Campaign) -> float | None:
    """The chance that a leased item is served without the model's suggestion (review mode's control arm); None
    in label mode, which the claim stores as NULL (no suggestion in play)."""
    return campaign.blind_share if campaign.mode == Campaign.Mode.REVIEW else None


def _gold_languages(languages: list[str]) -> tuple[list[str], list[str]]:
    """A gold item must be in a language the worker was matched on (never a check they cannot read)."""
    codes = [code for code in languages if code]
    return codes, [f"{code}-%" for code in codes]


def _claim_statement(
    worker: User,
    campaign: Campaign,
    languages: list[str],
    context: WorkerContext,
    now: datetime,
    gold: bool,
    queued: bool,
) -> ClaimResult | None:
    """PostgreSQL: one statement per (campaign, language) probe. SKIP LOCKED first, so workers never queue
    behind each other; when every candidate is locked at that instant (the tail of a small campaign), wait
    for one instead of answering "nothing", and look again, because the one we waited for may have closed.
    """
    breadth_first = campaign.order == Campaign.Order.BREADTH_FIRST
    gold_languages, gold_prefixes = _gold_languages(languages)
    params: dict[str, Any] = {
        "campaign": campaign.id,
        "worker": worker.id,
        "breadth": breadth_first,
        "now": now,
        "gold": gold,
        "queued": queued,
        "gold_languages": gold_languages,
        "gold_prefixes": gold_prefixes,
        # A gold item takes a random place among the microtask's items (positions only order the page).
        "gold_position": random.randint(0, campaign.items_per_task) if gold else 1 << 15,
        "blind_share": blind_share(campaign),
    }
    by_certainty = campaign.order == Campaign.Order.UNCERTAINTY_FIRST
    claim_sql = _CLAIM_SQL.format(
        candidate=_candidate_sql(breadth_first=breadth_first, skip_locked=True, by_certainty=by_certainty)
    )
    wait_sql = _candidate_sql(breadth_first=breadth_first, skip_locked=False, by_certainty=by_certainty)
    with connection.cursor() as cursor:
        for language in languages:
            params["language"] = language
            cursor.execute(claim_sql, params)
            row = cursor.fetchone()
            for _round in range(CLAIM_WAIT_ROUNDS):
                if row[0] is not None or row[-1]:
                    break
                with transaction.atomic():
                    cursor.execute(wait_sql, params)  # blocks until the locked candidate is free (or none)
                    if cursor.fetchone() is None:
                        break
                    cursor.execute(claim_sql, params)
                    row = cursor.fetchone()
            if row[0] is not None:
                return _claimed(worker, campaign, row, now, queued)
            if row[-1]:
                return _CLOSED
    return None


def _claimed(worker: User, campaign: Campaign, row: tuple, now: datetime, queued: bool) -> ClaimResult:
    lease_id, microtask_id, expires_at, reward_minor, currency, items, _picked = row
    assignment = Assignment(
        id=lease_id,
        campaign=campaign,
        microtask_id=microtask_id,
        worker=worker,
        status=Assignment.Status.ACTIVE,
        leased_at=now,
        expires_at=expires_at,
        last_activity_at=now,
        reward_minor=reward_minor,
        currency=currency,
        queued=queued,
    )
    assignment._state.adding = False  # a stored row, as if loaded
    payload = json.loads(items) if isinstance(items, str) else items
    return ClaimResult(assignment, created=True, items=payload)


def _probe(campaign: Campaign, language: str, worker: User) -> int | None:
    """The candidate alone, for `_claim_steps` (databases without row locks: nothing to skip or wait for)."""
    breadth_first = campaign.order == Campaign.Order.BREADTH_FIRST
    params = {"campaign": campaign.id, "language": language, "breadth": breadth_first, "worker": worker.id}
    by_certainty = campaign.order == Campaign.Order.UNCERTAINTY_FIRST
    with connection.cursor() as cursor:
        cursor.execute(
            _candidate_sql(breadth_first=breadth_first, skip_locked=False, by_certainty=by_certainty), params
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _claim_steps(
    worker: User,
    campaign: Campaign,
    languages: list[str],
    context: WorkerContext,
    now: datetime,
    gold: bool,
    queued: bool,
) -> ClaimResult | None:
    """Other databases (SQLite for `make run`): the same claim as separate statements in one transaction."""
    live = (
        Campaign.objects.filter(pk=campaign.id, status=Campaign.Status.ACTIVE)
        .values("reward_minor", "currency", "lease_seconds")
        .first()
    )
    microtask_id = next(filter(None, (_probe(campaign, lang, worker) for lang in languages)), None)
    if live is None:
        return _CLOSED
    if microtask_id is None:
        return None
    slots_move(microtask_id=microtask_id, active_delta=1)
    assignment = Assignment.objects.create(
        campaign=campaign,
        microtask_id=microtask_id,
        worker=worker,
        leased_at=now,
        expires_at=now + timedelta(seconds=live["lease_seconds"]),
        last_activity_at=now,
        reward_minor=live["reward_minor"],
        currency=live["currency"],
        queued=queued,
    )
    _count_lease(worker, campaign, context)
    gold_id = _pick_gold(worker, campaign, languages) if gold else None
    gold_position = random.randint(0, campaign.items_per_task) if gold_id is not None else 1 << 15
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crowd_assignmentitem (assignment_id, item_id, worker_id, position, is_gold, blind)"
            " SELECT %s, item_id, %s, position + CASE WHEN position >= %s THEN 1 ELSE 0 END, false, false"
            " FROM crowd_microtaskitem WHERE microtask_id = %s",
            [assignment.id, worker.id, gold_position, microtask_id],
        )
    if gold_id is not None:
        AssignmentItem.objects.create(
            assignment=assignment, item_id=gold_id, worker=worker, position=gold_position, is_gold=True
        )
    share = blind_share(campaign)
    if share is not None:  # the same coin per item as the one statement above, drawn here
        for entry in AssignmentItem.objects.filter(assignment=assignment):
            AssignmentItem.objects.filter(pk=entry.pk).update(blind=random.random() < share)
    return ClaimResult(assignment, created=True)


def _count_lease(worker: User, campaign: Campaign, context: WorkerContext) -> None:
    """Bump the worker's lease count in this campaign."""
    stats = context.stats.get(campaign.id)
    if stats is not None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE crowd_campaignworker SET assignments = assignments + 1 WHERE id = %s", [stats.pk])
        return
    with transaction.atomic():
        created = CampaignWorker.objects.filter(campaign=campaign, worker=worker).update(
            assignments=F("assignments") + 1
        )
        if not created:
            CampaignWorker.objects.create(campaign=campaign, worker=worker, assignments=1)


def gold_ratio_for(*, campaign_ratio: float, previous_assignments: int) -> float:
    """More gold in a worker's first microtasks, falling to the campaign's share afterwards."""
    if campaign_ratio <= 0:
        return 0.0
    if previous_assignments < EARLY_GOLD_ASSIGNMENTS:
        return max(campaign_ratio, EARLY_GOLD_RATIO)
    return campaign_ratio


def _pick_gold(worker: User, campaign: Campaign, languages: list[str]) -> int | None:
    """One unseen gold item in a language the worker was matched on; the least used first."""
    codes, _prefixes = _gold_languages(languages)
    in_languages = Q(language="")
    for language in codes:
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
    idle gap) and extend the lease, up to MAX_LEASE_FACTOR lease lengths in all. Locks the worker's live leases in
    its campaign, the current one first.
    Raises NotFound (not theirs), LeaseExpired (too late), InvalidState (no longer active).
    """
    now = timezone.now()
    with transaction.atomic():
        # The lease and the worker's other live leases in its campaign, locked in one statement in the order
        # submit and release take them: the current lease, then the one fetched ahead. Locking only a lease
        # ahead and then promoting it waited on a submit of the current lease that was itself waiting to promote
        # that very lease: a deadlock, answered 503 to the worker.
        campaign_of = Assignment.objects.filter(pk=assignment_id, worker=worker).values("campaign_id")[:1]
        locked = (
            Assignment.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign")
            .filter(worker=worker, campaign_id=Subquery(campaign_of))
            .filter(Q(pk=assignment_id) | Q(status=Assignment.Status.ACTIVE))
            .order_by("queued", "id")
        )
        assignment = next((lease for lease in locked if lease.pk == assignment_id), None)
        if assignment is None:
            raise NotFound(_("No such assignment."))
        if assignment.status == Assignment.Status.EXPIRED or (
            assignment.status == Assignment.Status.ACTIVE and assignment.expires_at <= now
        ):
            raise LeaseExpired(_("The lease on this assignment has expired; ask for a new task."))
        if assignment.status != Assignment.Status.ACTIVE:
            raise InvalidState(_("This assignment is %(status)s.") % {"status": assignment.status})
        if assignment.queued:
            return _queued_heartbeat(assignment, now)
        gap = (now - (assignment.last_activity_at or assignment.leased_at)).total_seconds()
        if 0 < gap <= IDLE_GAP_SECONDS:
            assignment.active_seconds += gap
        lease = timedelta(seconds=assignment.campaign.lease_seconds)
        assignment.expires_at = max(
            assignment.expires_at, min(now + lease, assignment.leased_at + MAX_LEASE_FACTOR * lease)
        )
        assignment.last_activity_at = now
        assignment.save(update_fields=["active_seconds", "expires_at", "last_activity_at"])
        # The lease fetched ahead waits as long as the worker is busy with this one (it has no page to beat yet).
        Assignment.objects.filter(
            worker=worker, campaign_id=assignment.campaign_id, status=Assignment.Status.ACTIVE, queued=True
        ).update(expires_at=Greatest(F("expires_at"), Value(assignment.expires_at)))
    return assignment


def _queued_heartbeat(assignment: Assignment, now: datetime) -> Assignment:
    """A sign of life on a lease fetched ahead: the worker is looking at it, so it becomes the current one when
    none is (its clock starts now); while the current one is still open, the time is not counted twice."""
    lease_seconds = assignment.campaign.lease_seconds
    if not queued_promote(lease_id=assignment.id, lease_seconds=lease_seconds, now=now):
        Assignment.objects.filter(pk=assignment.id).update(
            last_activity_at=now, expires_at=max(assignment.expires_at, now + timedelta(seconds=lease_seconds))
        )
    assignment.refresh_from_db()
    return assignment


def assignment_release(*, worker: User, assignment_id: int, reason: str = "") -> Assignment:
    """Give an active lease back; its items are never offered to this worker again.

    Locks the assignment, then its microtask. Raises NotFound (not theirs), InvalidState (not active).
    """
    if reason not in RELEASE_REASONS:
        raise ValidationFailed(
            _("Unknown release reason."),
            fields={"reason": _("One of: %(values)s.") % {"values": ", ".join(r for r in RELEASE_REASONS if r)}},
        )
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update(no_key=True).filter(pk=assignment_id, worker=worker).first()
        if assignment is None:
            raise NotFound(_("No such assignment."))
        if assignment.status == Assignment.Status.RELEASED:
            return assignment
        if assignment.status != Assignment.Status.ACTIVE:
            raise InvalidState(
                _("This assignment is %(status)s and cannot be released.") % {"status": assignment.status}
            )
        assignment.status = Assignment.Status.RELEASED
        assignment.release_reason = reason
        assignment.ended_at = timezone.now()
        assignment.save(update_fields=["status", "release_reason", "ended_at"])
        slots_move(microtask_id=assignment.microtask_id, active_delta=-1)
        if not assignment.queued:
            _promote_behind(assignment, assignment.ended_at)
    return assignment


def _promote_behind(assignment: Assignment, now: datetime) -> None:
    """The current lease ended: the one fetched ahead behind it, if any, becomes current."""
    queued_id = queued_lease_id(worker_id=assignment.worker_id, campaign_id=assignment.campaign_id, now=now)
    if queued_id is not None:
        lease_seconds = Campaign.objects.values_list("lease_seconds", flat=True).get(pk=assignment.campaign_id)
        queued_promote(lease_id=queued_id, lease_seconds=lease_seconds, now=now)


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
