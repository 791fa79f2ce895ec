"""Browsing a campaign's results from the web: each item with its current label, confidence and answers, filtered
by status and by confidence (the items the crowd is least sure of first, when asked), with every export format."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exports import FORMATS, decided_by
from crowd.models import Item
from crowd.query_params import whole_number
from crowd.selectors import Actor

PAGE_SIZE = 100


@member_required
def campaign_results(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    items = Item.objects.filter(campaign=campaign, gold__isnull=True).select_related("expert_by")
    status = request.GET.get("status", "")
    if status in Item.Status.values:
        items = items.filter(status=status)
    below = request.GET.get("below", "")
    try:
        threshold = float(below) if below else None
    except ValueError:
        threshold = None
    if threshold is not None and 0 <= threshold <= 1:
        # The least sure first: where a second look (or more answers) helps most.
        items = items.filter(confidence__lt=threshold).order_by("confidence", "id")
    else:
        threshold = None
        items = items.order_by("id")
    after = (whole_number(request.GET.get("after")) or 0) if threshold is None else 0
    page = list(items.filter(id__gt=after)[:PAGE_SIZE] if threshold is None else items[:PAGE_SIZE])
    following = None
    if threshold is None and len(page) == PAGE_SIZE:
        query = request.GET.copy()
        query["after"] = str(page[-1].id)
        following = f"?{query.urlencode()}"
    return render(
        request,
        "coordinator/results.html",
        {
            "campaign": campaign,
            "items": [
                {
                    "item": item,
                    "text": item.data.get("text", "") if isinstance(item.data, dict) else "",
                    "decided_by": decided_by(item),
                }
                for item in page
            ],
            "status": status,
            "below": "" if threshold is None else below,
            "formats": list(FORMATS),
            "following": following,
        },
    )
