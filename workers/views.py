"""Worker profile page: languages and skills decide which microtasks a worker gets."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from config.errors import DomainError
from workers.forms import LANGUAGE_ROWS, SKILL_ROWS, WorkerProfileForm, language_initial
from workers.services import (
    LanguageLevel,
    SkillLevel,
    worker_payout_set,
    worker_profile_ensure,
    worker_profile_set_qualifications,
)


def _initial(profile) -> dict:
    initial: dict = {
        "country": profile.country.code if profile.country else "",
        "sensitive_opt_in": profile.sensitive_opt_in,
    }
    for row, language in enumerate(profile.languages.order_by("-level", "code")[:LANGUAGE_ROWS], start=1):
        initial[f"language_{row}"] = language_initial(language.code, get_language() or "en")
        initial[f"language_level_{row}"] = language.level
    for row, skill in enumerate(profile.skills.order_by("slug")[:SKILL_ROWS], start=1):
        initial[f"skill_{row}"] = skill.slug
        initial[f"skill_level_{row}"] = skill.level
    return initial


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    worker_profile = worker_profile_ensure(user=request.user)
    form = WorkerProfileForm(request.POST or None, initial=_initial(worker_profile))
    if request.method == "POST" and form.is_valid():
        try:
            worker_profile_set_qualifications(
                profile=worker_profile,
                languages=[LanguageLevel(code, level) for code, level in form.languages()],
                skills=[SkillLevel(slug, level) for slug, level in form.skills()],
                country=form.cleaned_data.get("country") or "",
                sensitive_opt_in=form.cleaned_data["sensitive_opt_in"],
            )
            worker_payout_set(
                profile=worker_profile,
                method=form.cleaned_data["payout_method"],
                account=form.cleaned_data["payout_account"],
                currency=form.cleaned_data["payout_currency"] or "",
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("work-home")
    status = 400 if request.method == "POST" else 200
    return render(request, "workers/profile.html", {"form": form}, status=status)
