"""The fair-pay check: measured time on task against the pay floor, with automatic top-ups.

Time on task per submission is the active time the worker page measured with heartbeats when there is
some, else the server-side time from lease to submit. When the campaign's median effective hourly wage is
below the floor that applies to its worker pool, every approved assignment is topped up to what the floor
pays for the median time (Prolific's rule: the median, so speed is not punished nor slowness rewarded), and
the reward for new work rises to that amount when the organization's funds cover the dearer campaign; when
they do not, the campaign is paused instead, so no new work is taken at a wage below the floor. Top-ups are paid
within the available funds; what is owed beyond them is paid by the next check after a deposit. Paused and
completed campaigns are checked too while they have approved work not yet checked or top-ups still owed.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from crowd.models import Assignment, Campaign, FairPayCheck
from crowd.selectors import DONE, campaign_commitment_minor, worker_pool_countries
from crowd.services.funds import InsufficientFunds, funds_available_minor, funds_require
from crowd.webhooks.events import CAMPAIGN_PAUSED, campaign_event
from payments.fairpay import hourly_rate_minor, measured_seconds, median, pay_needed_minor, topups_within_budget
from payments.models import LedgerEntry
from payments.selectors import MissingExchangeRate, highest_floor
from payments.services import funds_account_lock, ledger_record

MIN_SUBMISSIONS = 20  # fewer measurements say too little about the time a microtask takes


def campaign_fair_pay_check(*, campaign_id: int, min_submissions: int = MIN_SUBMISSIONS) -> FairPayCheck | None:
    """Measure, compare with the floor, top up approved work and raise the reward when below it.

    Idempotent: each top-up entry's key names the assignment and the total it brings the pay to, so a second
    run (or a concurrent one) pays nothing twice. Locks the campaign row, then the organization's funds. None
    when there is too little data.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        rows = list(
            Assignment.objects.filter(campaign=campaign, status__in=DONE).values_list(
                "reward_minor", "active_seconds", "seconds_on_task"
            )
        )
        if len(rows) < min_submissions:
            return None
        seconds = median([measured_seconds(active, total) for _, active, total in rows])
        # Each submission at the reward it was leased for (before any top-up): what the campaign itself pays.
        rates = [hourly_rate_minor(pay_minor=r, seconds=measured_seconds(a, t)) for r, a, t in rows]
        try:
            floor = highest_floor(countries=worker_pool_countries(campaign), currency=campaign.currency)
        except MissingExchangeRate:
            return None
        floor_minor = floor.hourly_minor if floor else 0
        check = FairPayCheck(
            campaign=campaign,
            checked_at=timezone.now(),
            submissions=len(rows),
            median_seconds=seconds,
            median_hourly_minor=median(rates),
            floor_hourly_minor=floor_minor,
            currency=campaign.currency,
            below_floor=median(rates) < floor_minor,
        )
        # What the floor pays for the median time. Approved work below it is topped up, including work
        # approved after the campaign was first found below the floor (it was leased at the old reward).
        target = pay_needed_minor(hourly_minor=floor_minor, seconds=seconds)
        # Top-ups spend beyond the reserve and a raise grows it: both decided under the organization's funds lock.
        funds_account_lock(organization_id=campaign.organization_id)
        budget = funds_available_minor(organization_id=campaign.organization_id, currency=campaign.currency)
        check.topups, check.topup_total_minor, check.topup_owed_minor = _top_up(campaign, target, budget)
        unaffordable = False
        if check.below_floor and target > campaign.reward_minor:
            if _raise_reward(campaign, target):
                check.new_reward_minor = target
            else:
                unaffordable = True
        if (unaffordable or check.topup_owed_minor > 0) and campaign.status == Campaign.Status.ACTIVE:
            # Fair pay comes first: the work already done is topped up; new work waits for a deposit.
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
            check.paused_for_funds = True
            campaign.status = Campaign.Status.PAUSED
            campaign_event(campaign=campaign, event_type=CAMPAIGN_PAUSED, reason="paused_for_funds")
        check.save()
    return check


def _raise_reward(campaign: Campaign, target_minor: int) -> bool:
    """Raise the reward for new work to `target_minor` if the funds cover the dearer campaign; False (and nothing
    changed) if they do not. Caller holds the campaign and funds locks."""
    before, old = campaign_commitment_minor(campaign=campaign), campaign.reward_minor
    try:
        with transaction.atomic():  # a savepoint: a refusal takes the raise back, not the top-ups
            Campaign.objects.filter(pk=campaign.pk).update(reward_minor=target_minor)
            campaign.reward_minor = target_minor
            funds_require(
                organization_id=campaign.organization_id,
                currency=campaign.currency,
                needed_minor=campaign_commitment_minor(campaign=campaign) - before,
                action="Raising the reward to the pay floor",
            )
    except InsufficientFunds:
        campaign.reward_minor = old
        return False
    return True


def _top_up(campaign: Campaign, target_minor: int, budget_minor: int) -> tuple[int, int, int]:
    """Bring every approved assignment's pay (reward + earlier top-ups) up to `target_minor`, oldest first,
    within the organization's available funds: nothing is paid beyond them. Returns (top-ups, paid, owed);
    what is owed is paid by the next check after a deposit (the per-assignment sums say what is missing)."""
    approved = list(
        Assignment.objects.filter(campaign=campaign, status=Assignment.Status.APPROVED)
        .order_by("decided_at", "id")
        .values_list("id", "worker_id", "reward_minor", "currency")
    )
    earlier: dict[int, int] = defaultdict(int)
    for assignment_id, total in (
        LedgerEntry.objects.filter(campaign=campaign, kind=LedgerEntry.Kind.FAIR_PAY_TOPUP)
        .values("assignment_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("assignment_id", "total")
    ):
        earlier[assignment_id] = total
    owed = [(assignment_id, target_minor - reward - earlier[assignment_id]) for assignment_id, _, reward, _ in approved]
    plan = topups_within_budget(owed=owed, budget_minor=budget_minor)
    who = {assignment_id: (worker_id, currency) for assignment_id, worker_id, _, currency in approved}
    for assignment_id, amount in plan.paid:
        worker_id, currency = who[assignment_id]
        ledger_record(
            worker_id=worker_id,
            amount_minor=amount,
            currency=currency,
            status=LedgerEntry.Status.AVAILABLE,
            kind=LedgerEntry.Kind.FAIR_PAY_TOPUP,
            key=f"topup:{assignment_id}:{target_minor}",
            campaign_id=campaign.id,
            assignment_id=assignment_id,
            reason=f"Fair-pay top-up to {target_minor} for the measured median time",
        )
    return len(plan.paid), plan.paid_minor, plan.owed_minor


def campaigns_to_check() -> list[int]:
    """Ids of the campaigns the beat checks: every active one, and every paused or completed one that still owes
    top-ups or has approved work decided since its latest check (or was never checked)."""
    latest = FairPayCheck.objects.filter(campaign=OuterRef("pk")).order_by("-checked_at", "-id")
    approved = Assignment.objects.filter(campaign=OuterRef("pk"), status=Assignment.Status.APPROVED)
    waiting = (
        Campaign.objects.filter(status__in=[Campaign.Status.PAUSED, Campaign.Status.COMPLETED])
        .annotate(
            last_checked_at=Subquery(latest.values("checked_at")[:1]),
            last_owed=Subquery(latest.values("topup_owed_minor")[:1]),
        )
        .filter(
            Q(last_owed__gt=0)
            | Q(Exists(approved), last_checked_at__isnull=True)
            | Exists(approved.filter(decided_at__gt=OuterRef("last_checked_at")))
        )
    )
    active = Campaign.objects.filter(status=Campaign.Status.ACTIVE)
    return sorted({*active.values_list("id", flat=True), *waiting.values_list("id", flat=True)})


def campaigns_fair_pay_check() -> list[int]:
    """Beat: check every campaign that may owe fair pay (campaigns_to_check); returns the ids found below the floor."""
    below = []
    for campaign_id in campaigns_to_check():
        check = campaign_fair_pay_check(campaign_id=campaign_id)
        if check is not None and check.below_floor:
            below.append(campaign_id)
    return below
