"""Items the crowd left unsure, from the web: the least sure first, with their answers' votes, the current label
and confidence; a coordinator sets the final label (crowd/services/expert.py), which Dawid-Skene then treats as
a known label. The latest decisions are listed with who took them."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crowd import selectors
from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exceptions import DomainError
from crowd.exports import decided_by
from crowd.models import Campaign, Item
from crowd.query_params import whole_number
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.expert import item_decide

PAGE_SIZE = 30


@member_required
def campaign_unsure(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    can_decide = actor.roles.get(campaign.organization_id) in WRITE_ROLES
    if request.method == "POST":
        if not can_decide:
            return render(request, "coordinator/read_only.html", status=403)
        return _decide(request, campaign)
    unsure, count = selectors.items_unsure(campaign=campaign, limit=PAGE_SIZE)
    decided = selectors.items_decided(campaign=campaign)
    return render(
        request,
        "coordinator/unsure.html",
        {
            "campaign": campaign,
            "items": [_shown(item) for item in unsure],
            "count": count,
            "decided": [{**_shown(item), "by": decided_by(item)} for item in decided],
            "labels": campaign.labels,
            "free_text": campaign.task_type == Campaign.TaskType.FREE_TEXT,
            "multi": campaign.task_type == Campaign.TaskType.MULTI_CHOICE,
            "can_decide": can_decide,
        },
    )


def _shown(item: Item) -> dict:
    data = item.data if isinstance(item.data, dict) else {}
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    votes = sorted((item.votes or {}).items(), key=lambda pair: -pair[1]) if isinstance(item.votes, dict) else []
    return {"item": item, "text": text, "votes": votes}


def _decide(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    item_id = whole_number(request.POST.get("item"))
    if item_id is None or not Item.objects.filter(pk=item_id, campaign=campaign).exists():
        raise Http404(_("No such item."))
    if campaign.task_type == Campaign.TaskType.MULTI_CHOICE:
        label: object = request.POST.getlist("label")
    else:
        label = request.POST.get("label", "")
    try:
        item_decide(item_id=item_id, label=label, decided_by_id=request.user.id)
    except DomainError as exc:
        messages.error(request, _("The label was not saved: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Final label saved. Workers who answered this item are scored against it."))
    return redirect("manage-unsure", campaign_id=campaign.id)
