"""Why a worker cannot get work in a campaign, in their language: the routing rules, explained."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from langcodes import Language

from crowd import selectors


def _language_names(codes: list[str]) -> str:
    reader = get_language() or "en"
    return ", ".join(Language.get(code).display_name(reader) for code in codes)


@login_required
def work_why(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "barrier": barrier,
            "campaign": barrier.campaign,
            "languages": _language_names(barrier.campaign.languages),
            "skills": ", ".join(f"{slug} ({level}/5)" for slug, level in barrier.missing_skills.items()),
        }
        for barrier in selectors.campaigns_unavailable_for_worker(worker=request.user)
    ]
    return render(request, "crowd/work_why.html", {"rows": rows})
