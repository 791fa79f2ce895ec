"""Coordinator pages: server-rendered and usable with JavaScript off. Thin: the shared selectors read, the approval
services write; a user sees only the organizations they belong to."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crowd import selectors
from crowd.coordinator.selectors import appeal_queue_for_actor, organizations_for_actor
from crowd.exceptions import DomainError, NotFound
from crowd.models import Appeal, Campaign
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.approvals import appeal_decide
from crowd.webhooks.selectors import webhooks_disabled_for_owner
from payments.money import from_minor
from workers.pseudonyms import pseudonym

CAMPAIGNS_SHOWN = 50  # campaign_progress costs a few queries per campaign


def _percent(share: float) -> float:
    return round(share * 100, 1)


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and acting for at least one organization: the view gets the actor. Anyone else gets a page
    saying why: not a member, or a member whose email address is not verified yet."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = Actor.for_user(user_id=request.user.id)
        if not actor.roles:
            context = {"awaiting_email_verification": actor.awaiting_email_verification, "email": request.user.email}
            return render(request, "coordinator/not_member.html", context, status=403)
        return view(request, actor, *args, **kwargs)

    return wrapped


@member_required
@require_GET
def manage_home(request: HttpRequest, actor: Actor) -> HttpResponse:
    campaigns = list(selectors.campaigns_for_actor(actor=actor).select_related("organization")[: CAMPAIGNS_SHOWN + 1])
    rows = []
    for campaign in campaigns[:CAMPAIGNS_SHOWN]:
        progress = selectors.campaign_progress(campaign=campaign)
        rows.append(
            {
                "campaign": campaign,
                "progress": progress,
                "to_label": progress["items"] - progress["gold_items"],
                "reward": from_minor(campaign.reward_minor, campaign.currency),
            }
        )
    organizations = [
        {
            "organization": organization,
            "role": actor.roles[organization.id],
            "funds": [
                # What can still be committed is the balance less what live campaigns and held leases may cost.
                {
                    "currency": currency,
                    **{
                        name: from_minor(max(sums[name], 0) if name == "available" else sums[name], currency)
                        for name in ("deposited", "spent", "reserved", "available")
                    },
                }
                for currency, sums in sorted(selectors.funds_summary(organization_id=organization.id).items())
            ],
        }
        for organization in organizations_for_actor(actor=actor)
    ]
    reviewers = [
        {**row, "rejection_percent": _percent(row["rejection_rate"])} for row in selectors.rejection_rates(actor=actor)
    ]
    return render(
        request,
        "coordinator/home.html",
        {
            "organizations": organizations,
            "campaigns": rows,
            "more_campaigns": len(campaigns) > CAMPAIGNS_SHOWN,
            "open_appeals": selectors.appeals_for_actor(actor=actor).filter(status=Appeal.Status.OPEN).count(),
            "can_create": bool(actor.writable_organizations()),
            "reviewers": reviewers,
            "webhooks_disabled": webhooks_disabled_for_owner(actor=actor),
        },
    )


def campaign_or_404(actor: Actor, campaign_id: int) -> Campaign:
    """The campaign if one of the actor's organizations owns it; a 404 page otherwise (no leak of existence)."""
    try:
        return selectors.campaign_for_actor(actor=actor, campaign_id=campaign_id)
    except NotFound:
        raise Http404(_("No such campaign.")) from None


@member_required
@require_GET
def campaign_fairness(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    report = selectors.fairness_report(campaign=campaign)
    currency = report["currency"]

    def money(minor: int | None) -> str | None:
        return None if minor is None else from_minor(minor, currency)

    latest = report["latest_check"]
    return render(
        request,
        "coordinator/fairness.html",
        {
            "campaign": campaign,
            "currency": currency,
            "report": report,
            "floor": money(report["floor_hourly"]) if report["floor_source"] else None,
            "floor_source": report["floor_source"],
            "median": money(report["median_hourly"]),
            "p10": money(report["p10_hourly"]),
            "p25": money(report["p25_hourly"]),
            "below_percent": _percent(report["share_below_floor"]),
            "unpaid_percent": _percent(report["unpaid_time_share"]),
            "by_country": [
                {
                    "country": country,
                    "submissions": row["submissions"],
                    "median": money(row["median_hourly"]),
                    "below_percent": _percent(row["share_below_floor"]),
                }
                for country, row in report["by_country"].items()
            ],
            "cost_to_date": money(report["cost_to_date"]),
            "forecast": money(report["forecast_to_completion"]),
            "latest": None
            if latest is None
            else {
                **latest,
                "median": money(latest["median_hourly"]),
                "topup_total_money": money(latest["topup_total"]),
                "new_reward_money": money(latest["new_reward"]),
            },
        },
    )


def _appeals_page(request: HttpRequest, actor: Actor, *, error: str = "", status: int = 200, posted: Any = None):
    appeals = list(appeal_queue_for_actor(actor=actor)[:200])
    for appeal in appeals:  # the organization sees the worker by its pseudonym for them
        appeal.worker_pseudonym = pseudonym(appeal.assignment.campaign.organization_id, appeal.assignment.worker_id)
    return render(
        request,
        "coordinator/appeals.html",
        {
            "appeals": appeals,
            "can_decide": {
                a.id for a in appeals if actor.roles.get(a.assignment.campaign.organization_id) in WRITE_ROLES
            },
            "error": error,
            "posted": posted or {},
        },
        status=status,
    )


@member_required
@require_GET
def appeal_queue(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _appeals_page(request, actor)


@member_required
@require_POST
def appeal_decide_form(request: HttpRequest, actor: Actor, appeal_id: int) -> HttpResponse:
    appeal = appeal_queue_for_actor(actor=actor).filter(pk=appeal_id).first()
    if appeal is None:
        raise Http404(_("No such appeal."))
    organization_id = appeal.assignment.campaign.organization_id
    note = request.POST.get("note", "")
    posted = {"appeal": appeal.id, "note": note}
    if actor.roles[organization_id] not in WRITE_ROLES:
        message = _("Your role (%(role)s) can read appeals but not decide them.") % {
            "role": actor.roles[organization_id]
        }
        return _appeals_page(request, actor, error=message, status=403, posted=posted)
    decision = request.POST.get("decision")
    if decision not in ("overturn", "uphold"):
        return _appeals_page(request, actor, error=_("Choose to uphold or overturn."), status=400, posted=posted)
    try:
        appeal_decide(
            appeal_id=appeal.id,
            decided_by_id=request.user.id,
            organization_ids=[organization_id],
            overturn=decision == "overturn",
            note=note,
        )
    except DomainError as exc:
        return _appeals_page(request, actor, error=exc.message, status=exc.status if exc.status < 500 else 400)
    if decision == "overturn":
        messages.success(request, _("Rejection overturned: the worker has been paid."))
    else:
        messages.success(request, _("Rejection upheld."))
    return redirect("manage-appeals")
