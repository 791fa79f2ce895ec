"""Reviewing work from the web: submitted work with its answers, the items' current labels and confidences and
each worker's quality; approve or reject what is ticked, with one reason for a rejected batch."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crowd import selectors
from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exceptions import DomainError
from crowd.query_params import whole_number
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.approvals import assignments_decide
from crowd.submissions import submission_body, submission_filters, submission_worker

PAGE_SIZE = 50


@member_required
def campaign_review(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    can_decide = actor.roles.get(campaign.organization_id) in WRITE_ROLES
    if request.method == "POST":
        if not can_decide:
            return render(request, "coordinator/read_only.html", status=403)
        return _decide(request, actor, campaign)
    query = request.GET.copy()
    query.setdefault("status", "submitted")
    try:
        filters = submission_filters(query)
        worker = submission_worker(campaign, filters.pop("worker", None))
        after = int(query.get("after") or 0)
    except (DomainError, ValueError):  # a hand-edited address: show what waits for a decision
        query = QueryDict("status=submitted", mutable=True)
        filters, worker, after = {"status": "submitted"}, None, 0
    page = selectors.submissions_for_campaign(
        campaign=campaign, worker_id=worker, after_id=after, limit=PAGE_SIZE, **filters
    )
    following = None
    if len(page) == PAGE_SIZE:
        onward = query.copy()
        onward["after"] = str(page[-1].id)
        following = f"?{onward.urlencode()}"
    return render(
        request,
        "coordinator/review.html",
        {
            "campaign": campaign,
            "submissions": [_shown(submission_body(a), a) for a in page],
            "status": query.get("status"),
            "failed_gold": filters.get("failed_gold") is True,
            "can_decide": can_decide,
            "following": following,
        },
    )


def _shown(body: dict, assignment) -> dict:
    """The API's view of the work plus each item's text, so the reviewer reads what the worker read."""
    texts = {}
    for answer in assignment.answers.all():
        data = answer.item.data if isinstance(answer.item.data, dict) else {}
        texts[answer.item_id] = data.get("text") if isinstance(data.get("text"), str) else ""
    for answer in body["answers"]:
        answer["text"] = texts.get(answer["item"], "")
    return body


def _decide(request: HttpRequest, actor: Actor, campaign) -> HttpResponse:
    decision = request.POST.get("decision", "")
    ids = [number for number in map(whole_number, request.POST.getlist("ids")) if number is not None]
    back = f"?{urlencode({'status': request.POST.get('status', 'submitted')})}"
    if not ids:
        messages.error(request, _("Tick the work to approve or reject first."))
        return redirect(f"{request.path}{back}")
    try:
        decided = assignments_decide(
            campaign_id=campaign.id,
            assignment_ids=ids,
            decision=decision,
            reason=request.POST.get("reason", ""),
            decided_by_id=request.user.id,
            organization_ids=actor.writable_organizations(),
        )
    except DomainError as exc:
        if exc.fields.get("reason"):
            messages.error(request, _("A rejection needs a reason the worker can read. Nothing was changed."))
        else:
            messages.error(request, _("Nothing was changed: %(problem)s") % {"problem": exc.message})
        return redirect(f"{request.path}{back}")
    if decision == "approve":
        text = ngettext("%(n)s submission approved.", "%(n)s submissions approved.", len(decided))
    else:
        text = ngettext(
            "%(n)s submission rejected; the worker sees your reason.",
            "%(n)s submissions rejected; the workers see your reason.",
            len(decided),
        )
    messages.success(request, text % {"n": len(decided)})
    return redirect(f"{request.path}{back}")
