"""Routing: lease the next microtask a worker is eligible for, release, expire.

Lock order everywhere: assignment rows, then microtask rows (in id order). A claim locks only the one
microtask it takes (`FOR UPDATE SKIP LOCKED`), so concurrent workers never wait on each other; the
CHECK constraints on MicroTask and the unique (worker, item) constraint are the last line of defence.
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crowd.eligibility import Eligibility, NoWork, worker_eligibility
from crowd.exceptions import InvalidState, NotFound, ValidationFailed
from crowd.models import Assignment, AssignmentItem, Campaign, Item, MicroTask, MicroTaskItem
from crowd.services.slots import slot_update
from workers.models import User, WorkerProfile

EARLY_GOLD_ASSIGNMENTS = 10  # a worker's first microtasks in a campaign carry more gold
EARLY_GOLD_RATIO = 0.4
RELEASE_REASONS = ("", "skip", "unclear", "offensive")
CLAIM_WAIT_ROUNDS = 5


@dataclass(frozen=True)
class ClaimResult:
    assignment: Assignment | None
    created: bool = False
    reason: tuple[str, str] | None = None


def _profile_for(worker: User) -> WorkerProfile | None:
    return WorkerProfile.objects.filter(user=worker).prefetch_related("languages", "skills").first()


def _active_campaigns(campaign_id: int | None) -> list[Campaign]:
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE)
    if campaign_id is not None:
        campaigns = campaigns.filter(pk=campaign_id)
    return list(campaigns.order_by("-priority", "id"))


def assignment_claim_next(*, worker: User, campaign_id: int | None = None) -> ClaimResult:
    """Lease the next eligible microtask to `worker`, or say why there is none.

    Returns the worker's current unexpired lease if they hold one (one per campaign). Locks one
    MicroTask row with SKIP LOCKED; raises NotFound for a named campaign the worker cannot see.
    """
    now = timezone.now()
    if campaign_id is not None:
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status in (Campaign.Status.DRAFT, Campaign.Status.ARCHIVED):
            raise NotFound("No such campaign.")
    held = (
        Assignment.objects.filter(worker=worker, status=Assignment.Status.ACTIVE, expires_at__gt=now)
        .filter(**({"campaign_id": campaign_id} if campaign_id else {}))
        .order_by("leased_at")
        .first()
    )
    if held:
        return ClaimResult(held, created=False)
    campaigns = _active_campaigns(campaign_id)
    if not campaigns:
        return ClaimResult(None, reason=NoWork.CAMPAIGN_NOT_ACTIVE if campaign_id else NoWork.NO_CAMPAIGNS)
    eligibility = worker_eligibility(profile=_profile_for(worker), campaigns=campaigns)
    if eligibility.reason:
        return ClaimResult(None, reason=eligibility.reason)
    by_id = {c.id: c for c in campaigns}
    for _attempt in range(3):
        try:
            assignment = _claim(worker, eligibility, by_id, now)
        except IntegrityError:
            continue  # a concurrent request by the same worker took an overlapping item; look again
        if assignment:
            return ClaimResult(assignment, created=True)
        break
    return ClaimResult(None, reason=_why_nothing(worker, eligibility))


def _eligible_filter(eligibility: Eligibility) -> Q:
    query = Q(pk__in=[])
    for campaign_id, languages in eligibility.languages_by_campaign.items():
        query |= Q(campaign_id=campaign_id, language__in=sorted(languages))
    return query


def _unseen(worker: User):
    seen = AssignmentItem.objects.filter(worker_id=worker.id, item_id=OuterRef("item_id"))
    return ~Exists(MicroTaskItem.objects.filter(microtask_id=OuterRef("pk")).filter(Exists(seen)))


def _lock_candidate(worker: User, eligibility: Eligibility) -> MicroTask | None:
    """Lock the first open, unseen microtask. SKIP LOCKED first, so workers never queue behind each other;
    when every candidate is momentarily locked (the tail of a small campaign) wait for one instead of
    answering "nothing", and re-check, because the one we waited for may have closed meanwhile.
    """
    candidates = (
        MicroTask.objects.filter(_eligible_filter(eligibility), is_open=True)
        .filter(_unseen(worker))
        .order_by("-campaign__priority", "id")
    )
    microtask = candidates.select_for_update(skip_locked=True, of=("self",), no_key=True).first()
    for _ in range(CLAIM_WAIT_ROUNDS):
        if microtask is not None:
            return microtask
        waiting = candidates.select_for_update(of=("self",), no_key=True).first()
        if waiting is None:
            return None
        microtask = candidates.filter(pk=waiting.pk).first()  # still open after the holder committed?
    return microtask


def _claim(worker: User, eligibility: Eligibility, campaigns: dict[int, Campaign], now: datetime) -> Assignment | None:
    with transaction.atomic():
        microtask = _lock_candidate(worker, eligibility)
        if microtask is None:
            return None
        MicroTask.objects.filter(pk=microtask.pk).update(**slot_update(active_delta=1))
        campaign = campaigns[microtask.campaign_id]
        assignment = Assignment.objects.create(
            campaign=campaign,
            microtask=microtask,
            worker=worker,
            leased_at=now,
            expires_at=now + timedelta(seconds=campaign.lease_seconds),
            reward_minor=campaign.reward_minor,
            currency=campaign.currency,
        )
        item_ids = list(
            MicroTaskItem.objects.filter(microtask=microtask).order_by("position").values_list("item_id", flat=True)
        )
        entries = [(item_id, False) for item_id in item_ids]
        gold_id = _pick_gold(worker, campaign)
        if gold_id is not None:
            entries.insert(random.randint(0, len(entries)), (gold_id, True))
        AssignmentItem.objects.bulk_create(
            AssignmentItem(assignment=assignment, item_id=item_id, worker=worker, position=position, is_gold=gold)
            for position, (item_id, gold) in enumerate(entries)
        )
    return assignment


def _pick_gold(worker: User, campaign: Campaign) -> int | None:
    """One unseen gold item at the campaign's gold ratio, more often in a worker's first microtasks."""
    if campaign.gold_ratio <= 0:
        return None
    previous = Assignment.objects.filter(worker=worker, campaign=campaign).count()
    ratio = max(campaign.gold_ratio, EARLY_GOLD_RATIO) if previous <= EARLY_GOLD_ASSIGNMENTS else campaign.gold_ratio
    if random.random() >= ratio:
        return None
    seen = AssignmentItem.objects.filter(worker_id=worker.id, item_id=OuterRef("pk"))
    return (
        Item.objects.filter(campaign=campaign, gold__isnull=False)
        .exclude(Exists(seen))
        .order_by("answer_count", "id")
        .values_list("id", flat=True)
        .first()
    )


def _why_nothing(worker: User, eligibility: Eligibility) -> tuple[str, str]:
    scope = MicroTask.objects.filter(_eligible_filter(eligibility))
    if scope.filter(is_open=True).exists():
        return NoWork.ALL_DONE  # open work exists, but the worker has seen all of it
    if scope.filter(active_count__gt=0).filter(_unseen(worker)).exists():
        return NoWork.ALL_LEASED
    return NoWork.ALL_DONE


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
        MicroTask.objects.filter(pk=assignment.microtask_id).update(**slot_update(active_delta=-1))
    return assignment


def assignment_expire_due(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Expire active leases past `expires_at` and free their slots. Safe to run concurrently.

    Locks due assignments with SKIP LOCKED (a submit in flight keeps its row), then their microtasks
    in id order.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Assignment.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(status=Assignment.Status.ACTIVE, expires_at__lte=now)
            .order_by("expires_at")
            .values_list("id", "microtask_id")[:limit]
        )
        if not due:
            return 0
        Assignment.objects.filter(id__in=[row[0] for row in due]).update(status=Assignment.Status.EXPIRED, ended_at=now)
        for microtask_id, count in sorted(Counter(row[1] for row in due).items()):
            MicroTask.objects.filter(pk=microtask_id).update(**slot_update(active_delta=-count))
    return len(due)
