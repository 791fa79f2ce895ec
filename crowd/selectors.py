"""Reads, always scoped to who is asking, so a permission check cannot be forgotten."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.eligibility import WorkerContext, campaign_barrier, worker_eligibility
from crowd.exceptions import NotFound, PermissionDenied, ValidationFailed
from crowd.models import (
    AggregationRun,
    Annotator,
    Answer,
    ApiKey,
    Appeal,
    Assignment,
    Campaign,
    CampaignWorker,
    FairPayCheck,
    ImportJob,
    Invitation,
    Item,
    Membership,
    MicroTask,
    WorkerBlock,
)
from payments.fairpay import hourly_rate_minor, measured_seconds, wage_report
from payments.models import LedgerEntry
from payments.selectors import MissingExchangeRate, funds_for_organization, highest_floor
from workers.models import User, WorkerProfile
from workers.terms import TERMS_VERSION
from workers.tokens import token_digest

WRITE_ROLES = (Membership.Role.OWNER, Membership.Role.COORDINATOR)
# Each role may do everything the roles after it may do.
ROLE_ORDER = (Membership.Role.OWNER, Membership.Role.COORDINATOR, Membership.Role.VIEWER)


def roles_at_least(role: str) -> tuple[str, ...]:
    """The roles that include `role`: ("owner", "coordinator") for "coordinator"; none for an unknown role."""
    return ROLE_ORDER[: ROLE_ORDER.index(role) + 1] if role in ROLE_ORDER else ()


@dataclass(frozen=True)
class Actor:
    """Who is asking: a user with organization roles (an API key carries exactly one)."""

    user_id: int | None
    roles: dict[int, str] = field(default_factory=dict)
    # The user is a member somewhere but has no verified email address yet, so those roles are held back.
    awaiting_email_verification: bool = False

    @classmethod
    def for_request(cls, request: Any) -> "Actor":
        if isinstance(request.auth, ApiKey):
            return cls(request.user.id, {request.auth.organization_id: request.auth.role})
        if request.auth is not None or not request.user.is_authenticated:
            return cls(getattr(request.user, "id", None), {})  # worker tokens carry no organization role
        return cls.for_user(user_id=request.user.id)

    @classmethod
    def for_user(cls, *, user_id: int) -> "Actor":
        """A browser session's actor: the active user with every organization role they hold, once they have
        verified an email address (anyone can sign up with someone else's address). One query."""
        verified = Exists(EmailAddress.objects.filter(user_id=OuterRef("user_id"), verified=True))
        rows = list(
            Membership.objects.filter(user_id=user_id, user__is_active=True)
            .annotate(verified=verified)
            .values_list("organization_id", "role", "verified")
        )
        if rows and not rows[0][2]:
            return cls(user_id, {}, awaiting_email_verification=True)
        return cls(user_id, {organization_id: role for organization_id, role, _ in rows})

    def writable_organizations(self) -> list[int]:
        """Organizations where the actor may change things (owner or coordinator)."""
        return [org for org, role in self.roles.items() if role in WRITE_ROLES]

    def require_role(self, organization_id: int, roles: tuple[str, ...]) -> None:
        role = self.roles.get(organization_id)
        if role is None:
            raise NotFound(_("Not found."))
        if role not in roles:
            raise PermissionDenied(_("Your role (%(role)s) does not allow this.") % {"role": role})

    def organization_for_write(self, requested: int | None) -> int:
        """The organization a new object belongs to: the one named, or the actor's only one."""
        writable = self.writable_organizations()
        if requested is not None:
            self.require_role(requested, WRITE_ROLES)
            return requested
        if len(writable) == 1:
            return writable[0]
        if not self.roles:
            raise PermissionDenied(_("Only organization members can do this."))
        if not writable:
            raise PermissionDenied(_("Your role does not allow this."))
        raise ValidationFailed(
            _("You belong to several organizations: name one."), fields={"organization": _("This field is required.")}
        )


def campaigns_for_actor(*, actor: Actor) -> QuerySet[Campaign]:
    return Campaign.objects.filter(organization_id__in=list(actor.roles)).order_by("-created_at", "-id")


def campaign_for_actor(*, actor: Actor, campaign_id: int, write: bool = False) -> Campaign:
    """The campaign if the actor's organization owns it; NotFound otherwise (no leak of existence)."""
    campaign = campaigns_for_actor(actor=actor).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    if write:
        actor.require_role(campaign.organization_id, WRITE_ROLES)
    return campaign


REVIEWABLE = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED, Assignment.Status.REJECTED)


def submissions_query(
    *,
    campaign: Campaign,
    status: str | None = None,
    worker_id: int | None = None,
    submitted_after: datetime | None = None,
    submitted_before: datetime | None = None,
    failed_gold: bool | None = None,
) -> QuerySet[Assignment]:
    """Submitted work of a campaign in id order, with its answers, their items and the worker's quality in the
    campaign (`worker_quality`). `failed_gold`: only work that got a check item wrong."""
    wrong_gold = Answer.objects.filter(assignment=OuterRef("pk"), is_gold=True).exclude(label=F("item__gold"))
    quality = CampaignWorker.objects.filter(campaign=campaign, worker=OuterRef("worker_id")).values("quality")[:1]
    query = (
        Assignment.objects.filter(campaign=campaign, status__in=REVIEWABLE)
        .select_related("campaign")  # its organization names the worker's pseudonym
        .annotate(failed_gold=Exists(wrong_gold), worker_quality=Subquery(quality))
        .prefetch_related(Prefetch("answers", queryset=Answer.objects.select_related("item").order_by("item_id")))
        .order_by("id")
    )
    if status:
        query = query.filter(status=status)
    if worker_id is not None:
        query = query.filter(worker_id=worker_id)
    if submitted_after is not None:
        query = query.filter(submitted_at__gte=submitted_after)
    if submitted_before is not None:
        query = query.filter(submitted_at__lt=submitted_before)
    if failed_gold is not None:
        query = query.filter(failed_gold=failed_gold)
    return query


def submissions_for_campaign(*, after_id: int = 0, limit: int = 50, **filters: Any) -> list[Assignment]:
    """A page of `submissions_query` after the id `after_id` (the review page's cursor)."""
    return list(submissions_query(**filters).filter(id__gt=after_id)[:limit])


def import_jobs_for_campaign(*, campaign: Campaign) -> QuerySet[ImportJob]:
    """The campaign's background imports, newest first."""
    return ImportJob.objects.filter(campaign=campaign).order_by("-id")


def import_job_for_actor(*, actor: Actor, job_id: int) -> ImportJob:
    """A background import of one of the actor's organizations; NotFound otherwise (no leak of existence)."""
    job = ImportJob.objects.filter(pk=job_id, campaign__organization_id__in=list(actor.roles)).first()
    if job is None:
        raise NotFound(_("No such import."))
    return job


def invitations_pending(*, actor: Actor, organization_id: int) -> QuerySet[Invitation]:
    """The organization's invitations that can still be accepted, newest first: its owners' business only."""
    actor.require_role(organization_id, (Membership.Role.OWNER,))
    return (
        Invitation.objects.filter(
            organization_id=organization_id,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def invitation_for_token(*, token: str) -> Invitation:
    """The invitation whose link this is, with its organization and who sent it, in whatever state: holding the
    secret is what allows reading it. NotFound otherwise."""
    invitation = (
        Invitation.objects.filter(digest=token_digest(token or "")).select_related("organization", "created_by").first()
    )
    if invitation is None:
        raise NotFound(_("No such invitation."))
    return invitation


def campaign_progress(*, campaign: Campaign) -> dict[str, int]:
    items = Item.objects.filter(campaign=campaign).aggregate(
        items=Count("id"),
        gold_items=Count("id", filter=Q(gold__isnull=False)),
        complete_items=Count("id", filter=Q(status=Item.Status.COMPLETE, gold__isnull=True)),
    )
    return {
        **items,
        "microtasks": MicroTask.objects.filter(campaign=campaign).count(),
        "answers": Answer.objects.filter(campaign=campaign).count(),
        "active_assignments": Assignment.objects.filter(campaign=campaign, status=Assignment.Status.ACTIVE).count(),
    }


def assignment_items(*, assignment: Assignment) -> list[Item]:
    """The items of a lease in display order (gold items included, indistinguishable), each with `blind` (served
    without the model's suggestion) and `small_image`:
    its phone-friendly copy ({url, width, height, bytes}) when one is ready, else None (the original is shown)."""
    items = list(
        Item.objects.raw(
            "SELECT i.*, e.blind, m.path AS small_path, m.byte_size AS small_bytes, m.width AS small_width,"
            " m.height AS small_height FROM crowd_item i JOIN crowd_assignmentitem e ON e.item_id = i.id"
            " LEFT JOIN crowd_itemimage m ON m.item_id = i.id AND m.status = 'ready'"
            " WHERE e.assignment_id = %s ORDER BY e.position",
            [assignment.id],
        )
    )
    for item in items:
        item.small_image = (
            {
                "url": default_storage.url(item.small_path),
                "width": item.small_width,
                "height": item.small_height,
                "bytes": item.small_bytes,
            }
            if item.small_path
            else None
        )
    return items


def assignment_items_payload(*, assignment_id: int) -> list[dict[str, Any]]:
    """The items of a lease in display order, as the claim statement returns them (id, data, pre-label)."""
    return [
        {
            "id": item.id,
            "data": item.data,
            "prelabel": item.prelabel,
            "prelabel_model": item.prelabel_model,
            "prelabel_score": item.prelabel_score,
            "blind": item.blind,
            "image": item.small_image and {**item.small_image, "path": item.small_path},
        }
        for item in assignment_items(assignment=Assignment(id=assignment_id))
    ]


def assignment_for_worker(*, worker_id: int, assignment_id: int) -> Assignment:
    assignment = Assignment.objects.select_related("campaign").filter(pk=assignment_id, worker_id=worker_id).first()
    if assignment is None:
        raise NotFound(_("No such assignment."))
    return assignment


def results_for_campaign(*, campaign: Campaign, after_id: int = 0) -> QuerySet[Item]:
    """Non-gold items in id order from `after_id` (cursor pagination by primary key), with who decided any."""
    return (
        Item.objects.filter(campaign=campaign, gold__isnull=True, id__gt=after_id)
        .select_related("expert_by")
        .order_by("id")
    )


def results_iter(*, campaign: Campaign, chunk_size: int = 2000) -> Iterator[Item]:
    yield from results_for_campaign(campaign=campaign).iterator(chunk_size=chunk_size)


# One round trip for everything routing needs about a worker (it runs on every request for work): the profile,
# languages, skills, blocks, per-campaign stats and the lease they hold, as tagged rows of one UNION ALL.
_WORKER_FACTS_SQL = (
    "SELECT 'p', '', p.id, p.enrolled_by_id, CASE WHEN p.sensitive_opt_in THEN 1 ELSE 0 END,"
    " CASE WHEN EXISTS (SELECT 1 FROM workers_termsacceptance t WHERE t.user_id = %(worker)s"
    " AND t.version = %(terms)s) THEN 1 ELSE 0 END, 0, 0, CAST(NULL AS FLOAT)"
    " FROM workers_workerprofile p WHERE p.user_id = %(worker)s"
    " UNION ALL SELECT 'l', l.code, l.level, 0, 0, 0, 0, 0, CAST(NULL AS FLOAT) FROM workers_workerlanguage l"
    " JOIN workers_workerprofile p ON p.id = l.profile_id WHERE p.user_id = %(worker)s"
    " UNION ALL SELECT 's', s.slug, s.level, 0, 0, 0, 0, 0, CAST(NULL AS FLOAT) FROM workers_workerskill s"
    " JOIN workers_workerprofile p ON p.id = s.profile_id WHERE p.user_id = %(worker)s"
    " UNION ALL SELECT 'b', '', b.organization_id, b.campaign_id, 0, 0, 0, 0, CAST(NULL AS FLOAT)"
    " FROM crowd_workerblock b WHERE b.worker_id = %(worker)s"
    " UNION ALL SELECT 'w', '', w.id, w.campaign_id, w.assignments, w.quality_answers, w.gold_answers,"
    " w.gold_correct, w.quality"
    " FROM crowd_campaignworker w WHERE w.worker_id = %(worker)s"
    " UNION ALL SELECT 'h', '', a.id, a.campaign_id, CASE WHEN a.queued THEN 1 ELSE 0 END, 0, 0, 0,"
    " CAST(NULL AS FLOAT) FROM crowd_assignment a"
    " WHERE a.worker_id = %(worker)s AND a.status = 'active' AND a.expires_at > %(now)s"
)


def worker_context(*, worker_id: int, now: datetime | None = None, sensitive: bool = False) -> WorkerContext:
    """Load what eligibility and the claim need about one worker. `sensitive`: also count today's leases in
    sensitive campaigns (one more read, only when a sensitive campaign is running)."""
    now = now or timezone.now()
    languages: dict[str, int] = {}
    skills: dict[str, int] = {}
    blocks: list[tuple[int, int | None]] = []
    stats: dict[int, CampaignWorker] = {}
    held: dict[int, int] = {}
    queued: dict[int, int] = {}
    profile: tuple[int, bool, bool] | None = None
    with connection.cursor() as cursor:
        now_value = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(_WORKER_FACTS_SQL, {"worker": worker_id, "now": now_value, "terms": TERMS_VERSION})
        rows = cursor.fetchall()
    for kind, name, first, second, third, fourth, fifth, sixth, quality in rows:
        if kind == "p":
            profile = (second, bool(third), bool(fourth))
        elif kind == "l":
            languages[name] = first
        elif kind == "s":
            skills[name] = first
        elif kind == "b":
            blocks.append((first, second))
        elif kind == "w":
            stats[second] = CampaignWorker(
                id=first,
                campaign_id=second,
                worker_id=worker_id,
                assignments=third,
                quality_answers=fourth,
                gold_answers=fifth,
                gold_correct=sixth,
                quality=quality,
            )
        elif kind == "h" and third:
            queued[second] = first
        elif kind == "h":
            held[second] = min(first, held.get(second, first))
    if profile is None:
        return WorkerContext(has_profile=False, held=held, queued=queued)
    sensitive_today = 0
    if sensitive:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        sensitive_today = Assignment.objects.filter(
            worker_id=worker_id, campaign__sensitive=True, leased_at__gte=midnight
        ).count()
    return WorkerContext(
        has_profile=True,
        enrolled_by_id=profile[0],
        languages=languages,
        skills=skills,
        sensitive_opt_in=profile[1],
        terms_accepted=profile[2],
        sensitive_today=sensitive_today,
        blocked_campaigns=frozenset(campaign for _, campaign in blocks if campaign),
        blocked_organizations=frozenset(org for org, campaign in blocks if not campaign),
        stats=stats,
        held=held,
        queued=queued,
    )


def campaigns_available_for_worker(*, worker: User) -> list[Campaign]:
    """Active campaigns this worker is eligible for right now, by priority."""
    campaigns = list(Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by("-priority", "name"))
    context = worker_context(worker_id=worker.id, sensitive=any(c.sensitive for c in campaigns))
    eligible = worker_eligibility(worker=context, campaigns=campaigns).languages_by_campaign
    return [campaign for campaign in campaigns if campaign.id in eligible]


def blocks_for_campaign(*, campaign: Campaign) -> QuerySet[WorkerBlock]:
    """Blocks that keep workers from this campaign: its own and its organization's."""
    return WorkerBlock.objects.filter(
        Q(campaign=campaign) | Q(organization_id=campaign.organization_id, campaign__isnull=True)
    ).order_by("-created_at")


def annotators_for_campaign(*, campaign: Campaign) -> QuerySet[Annotator]:
    return Annotator.objects.filter(campaign=campaign).select_related("worker").order_by("kind", "-answers", "id")


def quality_for_worker(*, worker_id: int) -> list[dict[str, Any]]:
    """A worker's own score per campaign: what routing's quality floor sees."""
    return [
        {
            "campaign": row.campaign_id,
            "campaign_name": row.campaign.name,
            "quality": row.quality,
            "based_on_answers": row.quality_answers,
            "gold_answers": row.gold_answers,
            "gold_correct": row.gold_correct,
        }
        for row in CampaignWorker.objects.filter(worker_id=worker_id).select_related("campaign").order_by("-id")
    ]


def campaigns_needing_aggregation(*, running_since: datetime) -> QuerySet[Campaign]:
    """Ids of campaigns (active, paused or completed) holding answers their last finished aggregation run did
    not read, and with no run started since `running_since` still running.

    Compares counts, not timestamps: answers are never deleted, and an answer whose transaction committed after
    a run had read the table can carry an earlier `created_at` than that run's start.
    """
    answers = Answer.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign").annotate(n=Count("id"))
    finished = AggregationRun.objects.filter(campaign=OuterRef("pk"), status=AggregationRun.Status.FINISHED)
    running = AggregationRun.objects.filter(
        campaign=OuterRef("pk"), status=AggregationRun.Status.RUNNING, started_at__gte=running_since
    )
    return (
        Campaign.objects.filter(status__in=[Campaign.Status.ACTIVE, Campaign.Status.PAUSED, Campaign.Status.COMPLETED])
        .annotate(
            answers_now=Subquery(answers.values("n")),
            answers_read=Subquery(finished.order_by("-started_at").values("answer_rows")[:1]),
        )
        .filter(answers_now__gt=0)
        .filter(Q(answers_read__isnull=True) | ~Q(answers_read=F("answers_now")))
        .exclude(Exists(running))
        .order_by("id")
        .values_list("id", flat=True)
    )


def appeals_for_actor(*, actor: Actor) -> QuerySet[Appeal]:
    return (
        Appeal.objects.filter(assignment__campaign__organization_id__in=list(actor.roles))
        .select_related("assignment__campaign")
        .order_by(Case(When(status=Appeal.Status.OPEN, then=0), default=1), "-created_at")
    )


def rejection_rates(*, actor: Actor) -> list[dict[str, Any]]:
    """Per reviewer: decisions made by hand, rejections, and the share rejected (automatic approvals excluded)."""
    rows = (
        Assignment.objects.filter(campaign__organization_id__in=list(actor.roles), decided_by__isnull=False)
        .values("decided_by", "decided_by__username")
        .annotate(decided=Count("id"), rejected=Count("id", filter=Q(status=Assignment.Status.REJECTED)))
        .order_by("decided_by__username")
    )
    return [
        {
            "reviewer": row["decided_by"],
            "username": row["decided_by__username"],
            "decided": row["decided"],
            "rejected": row["rejected"],
            "rejection_rate": round(row["rejected"] / row["decided"], 4),
        }
        for row in rows
    ]


def worker_pool_countries(campaign: Campaign) -> set[str]:
    """Countries of the workers a campaign can reach: the organization's own for private campaigns."""
    profiles = WorkerProfile.objects.exclude(country="")
    if campaign.visibility == Campaign.Visibility.PRIVATE:
        profiles = profiles.filter(enrolled_by_id=campaign.organization_id)
    return set(profiles.values_list("country", flat=True).distinct())


DONE = (Assignment.Status.SUBMITTED, Assignment.Status.APPROVED)  # work that is (or will be) paid


def fairness_report(*, campaign: Campaign) -> dict[str, Any]:
    """Effective hourly wages (median, p10, p25, share below the floor, by country), unpaid time, cost to
    date and the forecast to completion, in the campaign's currency (minor units)."""
    done = list(
        Assignment.objects.filter(campaign=campaign, status__in=DONE).values_list(
            "id", "reward_minor", "active_seconds", "seconds_on_task", "worker__worker_profile__country"
        )
    )
    topups = dict(
        LedgerEntry.objects.filter(campaign=campaign, kind=LedgerEntry.Kind.FAIR_PAY_TOPUP)
        .values("assignment_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("assignment_id", "total")
    )
    try:
        floor = highest_floor(countries=worker_pool_countries(campaign), currency=campaign.currency)
    except MissingExchangeRate:
        floor = None
    floor_minor = floor.hourly_minor if floor else 0
    pay = [reward + topups.get(pk, 0) for pk, reward, *_ in done]
    seconds = [measured_seconds(active, total) for _, _, active, total, _ in done]
    overall = wage_report(pay_minor=pay, seconds=seconds, floor_hourly_minor=floor_minor)
    by_country: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for (*_columns, country), p, s in zip(done, pay, seconds, strict=True):  # not `_`: that name is gettext here
        by_country[country or "unknown"][0].append(p)
        by_country[country or "unknown"][1].append(s)
    unpaid = Assignment.objects.filter(
        campaign=campaign,
        status__in=[Assignment.Status.EXPIRED, Assignment.Status.RELEASED, Assignment.Status.REJECTED],
    ).values_list("leased_at", "ended_at", "submitted_at")
    unpaid_seconds = sum(((end or submitted or leased) - leased).total_seconds() for leased, end, submitted in unpaid)
    paid_seconds = sum(seconds)
    # Net cost: rewards credited (pending or moved on), top-ups, bonuses, minus reversals. Pairs that only move
    # money between statuses add up to zero, so summing every worker entry of the campaign is exact.
    cost_minor = (
        LedgerEntry.objects.filter(campaign=campaign, worker__isnull=False).aggregate(t=Sum("amount_minor"))["t"] or 0
    )
    remaining_slots = (
        MicroTask.objects.filter(campaign=campaign).aggregate(left=Sum(F("target") - F("done_count")))["left"] or 0
    )
    latest = campaign.fair_pay_checks.order_by("-checked_at").first()
    return {
        "currency": campaign.currency,
        "floor_hourly": floor_minor,
        "floor_source": floor.source if floor else "",
        "submissions": overall.submissions,
        "median_hourly": round(overall.median_hourly_minor),
        "p10_hourly": round(overall.p10_hourly_minor),
        "p25_hourly": round(overall.p25_hourly_minor),
        "share_below_floor": round(overall.share_below_floor, 4),
        "unpaid_time_share": round(unpaid_seconds / (unpaid_seconds + paid_seconds), 4)
        if unpaid_seconds + paid_seconds
        else 0.0,
        "by_country": {
            country: {
                "submissions": report.submissions,
                "median_hourly": round(report.median_hourly_minor),
                "share_below_floor": round(report.share_below_floor, 4),
            }
            for country, (p, s) in sorted(by_country.items())
            for report in [wage_report(pay_minor=p, seconds=s, floor_hourly_minor=floor_minor)]
        },
        "cost_to_date": cost_minor,
        "reserve": campaign_commitment_minor(campaign=campaign),
        "remaining_slots": remaining_slots,
        "forecast_to_completion": cost_minor + remaining_slots * campaign.reward_minor,
        "latest_check": None
        if latest is None
        else {
            "checked_at": latest.checked_at,
            "below_floor": latest.below_floor,
            "median_hourly": round(latest.median_hourly_minor),
            "topups": latest.topups,
            "topup_total": latest.topup_total_minor,
            "new_reward": latest.new_reward_minor,
            "topup_owed": latest.topup_owed_minor,
            "paused_for_funds": latest.paused_for_funds,
        },
    }


def pay_estimates(*, campaigns: list[Campaign]) -> dict[int, dict[str, Any]]:
    """What each campaign pays per hour, shown before a worker accepts: from the measured median time once the
    fair-pay check has data, else from the coordinator's estimate."""
    latest: dict[int, float] = {}
    for campaign_id, seconds in (
        FairPayCheck.objects.filter(campaign__in=campaigns)
        .order_by("campaign_id", "-checked_at")
        .distinct("campaign_id")
        .values_list("campaign_id", "median_seconds")
        if connection.vendor == "postgresql"
        else FairPayCheck.objects.filter(campaign__in=campaigns)
        .order_by("checked_at")
        .values_list("campaign_id", "median_seconds")
    ):
        latest[campaign_id] = seconds
    estimates = {}
    for campaign in campaigns:
        seconds = latest.get(campaign.id, campaign.estimated_seconds)
        estimates[campaign.id] = {
            "hourly_minor": round(hourly_rate_minor(pay_minor=campaign.reward_minor, seconds=seconds)),
            "seconds": round(seconds),
            "measured": campaign.id in latest,
        }
    return estimates


def effective_rate_for_worker(*, worker_id: int) -> dict[str, int]:
    """{currency: hourly minor units} the worker actually earned: rewards and top-ups over measured time."""
    done = Assignment.objects.filter(worker_id=worker_id, status__in=[*DONE]).values_list(
        "id", "currency", "reward_minor", "active_seconds", "seconds_on_task"
    )
    topups = dict(
        LedgerEntry.objects.filter(worker_id=worker_id, kind=LedgerEntry.Kind.FAIR_PAY_TOPUP)
        .values("assignment_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("assignment_id", "total")
    )
    pay: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for pk, currency, reward, active, total in done:
        pay[currency] += reward + topups.get(pk, 0)
        seconds[currency] += measured_seconds(active, total)
    return {c: round(hourly_rate_minor(pay_minor=pay[c], seconds=seconds[c])) for c in pay if seconds[c] > 0}


def rejected_for_worker(*, worker_id: int) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(worker_id=worker_id, status=Assignment.Status.REJECTED)
        .select_related("campaign", "appeal")
        .order_by("-decided_at")
    )


LIVE = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED)


def campaign_commitment_minor(*, campaign: Campaign) -> int:
    """The most a campaign can still cost, which the organization's funds hold in reserve. Every held lease at
    the reward it was leased for (it can still be submitted, whatever the campaign's status); while the campaign
    is live, also every free slot at the current reward, plus every unfinished item's possible extra answers
    (dynamic redundancy), each of which may need a microtask of its own."""
    leased = Assignment.objects.filter(campaign=campaign, status=Assignment.Status.ACTIVE).aggregate(
        total=Sum("reward_minor")
    )["total"]
    if campaign.status not in LIVE:
        return leased or 0
    free = MicroTask.objects.filter(campaign=campaign).aggregate(
        free=Sum(F("target") - F("done_count") - F("active_count"))
    )["free"]
    extra = (
        Item.objects.filter(campaign=campaign, gold__isnull=True)
        .exclude(status=Item.Status.COMPLETE)
        # Per item, never below zero: an item raised before max_redundancy was lowered needs no fewer slots.
        .aggregate(extra=Sum(Greatest(Value(campaign.max_redundancy) - F("redundancy"), Value(0))))["extra"]
    )
    return (leased or 0) + campaign.reward_minor * ((free or 0) + (extra or 0))


def funds_summary(*, organization_id: int) -> dict[str, dict[str, int]]:
    """{currency: {deposited, spent, reserved, balance, available}} in minor units. `reserved` is what the
    campaigns can still cost (live ones, and held leases of any); it returns to `available` as they finish
    (nothing to release by hand)."""
    funds = funds_for_organization(organization_id=organization_id)
    holding = Q(status__in=LIVE) | Q(assignments__status=Assignment.Status.ACTIVE)
    for campaign in Campaign.objects.filter(holding, organization_id=organization_id).distinct():
        row = funds.setdefault(campaign.currency, {"deposited": 0, "spent": 0})
        row["reserved"] = row.get("reserved", 0) + campaign_commitment_minor(campaign=campaign)
    for row in funds.values():
        row.setdefault("reserved", 0)
        row["balance"] = row["deposited"] - row["spent"]
        row["available"] = row["balance"] - row["reserved"]
    return funds


def skills_in_demand() -> list[str]:
    """Skill slugs that active campaigns require, for the profile's suggestions."""
    slugs: set[str] = set()
    for required in Campaign.objects.filter(status=Campaign.Status.ACTIVE).values_list("required_skills", flat=True):
        slugs.update(required or {})
    return sorted(slugs)


def languages_in_demand() -> list[str]:
    """Language tags of active campaigns, suggested in the profile next to the common ones."""
    tags: set[str] = set()
    for languages in Campaign.objects.filter(status=Campaign.Status.ACTIVE).values_list("languages", flat=True):
        tags.update(languages or [])
    return sorted(tags)


@dataclass
class CampaignBarrier:
    campaign: Campaign
    code: str  # a NoWork reason code, or "campaign_paused"
    block_reason: str = ""
    missing_skills: dict[str, int] = field(default_factory=dict)  # slug -> level needed


def campaigns_unavailable_for_worker(*, worker: User) -> list[CampaignBarrier]:
    """Running (or paused) campaigns the worker can see but not work on, each with the rule that stops them — the
    same rules routing applies (crowd/eligibility.py), so the explanation never disagrees with the claim."""
    latest_check = FairPayCheck.objects.filter(campaign=OuterRef("pk")).order_by("-checked_at")
    campaigns = list(
        Campaign.objects.filter(status__in=[Campaign.Status.ACTIVE, Campaign.Status.PAUSED])
        .select_related("organization")
        # The fair-pay check pauses a campaign whose funds cannot pay the floor; resuming runs a new check.
        .annotate(paused_for_funds=Subquery(latest_check.values("paused_for_funds")[:1]))
        .order_by("-priority", "name")
    )
    context = worker_context(worker_id=worker.id, sensitive=any(c.sensitive for c in campaigns))
    if not context.has_profile:
        return []
    blocks = {
        (block.organization_id, block.campaign_id): block.reason for block in WorkerBlock.objects.filter(worker=worker)
    }
    found = []
    for campaign in campaigns:
        reason = campaign_barrier(campaign=campaign, worker=context)
        if reason is None and campaign.status == Campaign.Status.PAUSED:
            reason = ("campaign_paused_funds" if campaign.paused_for_funds else "campaign_paused", "")
        if reason is None:
            continue
        barrier = CampaignBarrier(campaign=campaign, code=reason[0])
        if barrier.code == "blocked":
            barrier.block_reason = blocks.get((campaign.organization_id, campaign.id)) or blocks.get(
                (campaign.organization_id, None), ""
            )
        elif barrier.code == "missing_skills":
            barrier.missing_skills = {
                slug: level for slug, level in campaign.required_skills.items() if context.skills.get(slug, 0) < level
            }
        found.append(barrier)
    return found


def unsure_items_for_campaign(*, campaign: Campaign) -> QuerySet[Item]:
    """Answered items the crowd left below the campaign's target confidence (never null, then) and nobody has
    decided yet, the least sure first. Gold items are known already and never listed."""
    return Item.objects.filter(
        campaign=campaign,
        gold__isnull=True,
        expert_label__isnull=True,
        answer_count__gt=0,
        confidence__lt=campaign.target_confidence,
    ).order_by("confidence", "id")


def items_unsure(*, campaign: Campaign, limit: int = 50) -> tuple[list[Item], int]:
    """(the first `limit`, how many in all) unsure items (`unsure_items_for_campaign`): the list shrinks as they are
    decided."""
    unsure = unsure_items_for_campaign(campaign=campaign)
    return list(unsure[:limit]), unsure.count()


def items_decided(*, campaign: Campaign, limit: int = 20) -> list[Item]:
    """The latest final labels set by coordinators, with who set them."""
    return list(
        Item.objects.filter(campaign=campaign, expert_label__isnull=False)
        .select_related("expert_by")
        .order_by("-expert_at", "-id")[:limit]
    )


def api_keys_for_owner(*, actor: Actor, organization_id: int) -> QuerySet[ApiKey]:
    """The organization's API keys, newest first, for one of its owners (NotFound outside it, PermissionDenied for
    other roles)."""
    actor.require_role(organization_id, (Membership.Role.OWNER,))
    return ApiKey.objects.filter(organization_id=organization_id).select_related("created_by").order_by("-id")


def api_key_for_owner(*, actor: Actor, key_id: int) -> ApiKey:
    """One key, for an owner of its organization: NotFound when the actor is not a member there (no leak of its
    existence), PermissionDenied for other roles."""
    key = ApiKey.objects.filter(pk=key_id, organization_id__in=list(actor.roles)).select_related("created_by").first()
    if key is None:
        raise NotFound(_("No such key."))
    actor.require_role(key.organization_id, (Membership.Role.OWNER,))
    return key


def api_keys_active(keys: list[ApiKey]) -> dict[int, bool]:
    """Whether each key works now: the same rule as crowd/api/auth.py (not revoked, not expired, its creator active
    and holding at least its role), in one query for the creators' roles."""
    pairs = {(key.organization_id, key.created_by_id) for key in keys}
    roles = {
        (organization_id, user_id): role
        for organization_id, user_id, role in Membership.objects.filter(
            organization_id__in={o for o, _u in pairs}, user_id__in={u for _o, u in pairs}, user__is_active=True
        ).values_list("organization_id", "user_id", "role")
    }
    now = timezone.now()
    return {
        key.id: key.revoked_at is None
        and (key.expires_at is None or key.expires_at > now)
        and roles.get((key.organization_id, key.created_by_id)) in roles_at_least(key.role)
        for key in keys
    }
