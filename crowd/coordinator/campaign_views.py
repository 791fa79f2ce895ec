"""A campaign from the web: create, edit, see, and move through its life (launch, pause, resume, close, archive).
Validation is the API's serializer and the services' rules (crowd/coordinator/forms.py), so both agree."""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crowd import selectors
from crowd.api.serializers import CampaignSerializer
from crowd.coordinator import forms
from crowd.coordinator.charts import bar_chart, histogram
from crowd.coordinator.selectors import campaign_watch
from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exceptions import DomainError
from crowd.model_loop.panel import models_panel
from crowd.model_loop.report import anchoring_body
from crowd.model_loop.selectors import anchoring_for_campaign
from crowd.models import Campaign, Organization
from crowd.selectors import WRITE_ROLES, Actor, worker_pool_countries
from crowd.services import campaigns as campaign_services
from payments.money import from_minor
from payments.selectors import MissingExchangeRate, highest_floor
from workers import demand
from workers.languages import language_label, language_suggestions
from workers.pseudonyms import pseudonym

MOVES = {
    "launch": (campaign_services.campaign_launch, gettext_lazy("Launched: workers can start on it now.")),
    "pause": (campaign_services.campaign_pause, gettext_lazy("Paused: no new work goes out.")),
    "resume": (campaign_services.campaign_resume, gettext_lazy("Resumed: workers can get its work again.")),
    "close": (campaign_services.campaign_close, gettext_lazy("Closed: no new work goes out, and its results stay.")),
    "archive": (campaign_services.campaign_archive, gettext_lazy("Archived.")),
}
# Which moves each status offers, in the order the page shows them.
MOVES_BY_STATUS = {
    Campaign.Status.DRAFT: ("launch", "archive"),
    Campaign.Status.ACTIVE: ("pause", "close"),
    Campaign.Status.PAUSED: ("resume", "close"),
    Campaign.Status.COMPLETED: ("archive",),
    Campaign.Status.ARCHIVED: (),
}


def _floor(campaign: Campaign) -> dict[str, Any] | None:
    """The highest pay floor of the campaign's worker pool, for the form's live check (None: no floor applies)."""
    try:
        floor = highest_floor(countries=worker_pool_countries(campaign), currency=campaign.currency)
    except MissingExchangeRate:
        return None
    if floor is None:
        return None
    return {"hourly": from_minor(floor.hourly_minor, campaign.currency), "currency": campaign.currency}


def _form_context(
    request: HttpRequest,
    form: forms.CampaignForm,
    campaign: Campaign,
    *,
    labels: list[dict[str, str]],
    languages: list[str],
    skills: dict[str, int],
    translations: dict[str, Any] | list[tuple[str, Any]],
    problems: dict[str, str],
    organizations: list[Organization] | None = None,
) -> dict[str, Any]:
    interface = get_language() or "en"
    return {
        "form": form,
        "campaign": campaign,
        "organizations": organizations,
        "label_rows": forms.label_rows(labels),
        "language_rows": forms.language_rows(languages, interface),
        "skill_rows": forms.skill_rows(skills),
        "translation_blocks": forms.translation_blocks(translations, labels),
        "language_suggestions": language_suggestions(interface, tuple(demand.wanted("languages"))),
        "skill_suggestions": sorted(set(demand.wanted("skills"))),
        "problems": problems,
        "fixed": campaign.pk is not None and campaign.status != Campaign.Status.DRAFT,
        "pay_check": {"floor": _floor(campaign), "words": _pay_words()},
    }


def _pay_words() -> dict[str, str]:
    # The script fills in the numbers; "%(rate)s" and "%(floor)s" stay as they are in every language.
    return {
        "rate": _("About %(rate)s per hour at the expected time."),
        "below": _("Below the pay floor of %(floor)s per hour: launch will refuse it."),
        "ok": _("At or above the pay floor of %(floor)s per hour."),
    }


def _errors(exc_or_errors: Any) -> dict[str, str]:
    """Field errors from the serializer ({field: [messages]}) or a domain error's fields, as one line each."""
    if isinstance(exc_or_errors, DomainError):
        fields = exc_or_errors.fields or {}
        found = {name: str(value) for name, value in fields.items()}
        return found or {"__all__": exc_or_errors.message}
    return {
        name: " ".join(str(m) for m in (messages_ if isinstance(messages_, list) else [messages_]))
        for name, messages_ in exc_or_errors.items()
    }


def _changed(campaign: Campaign, data: dict[str, Any]) -> dict[str, Any]:
    """Only what the coordinator changed: a launched campaign refuses edits to the fields it locks, even unchanged."""
    current = CampaignSerializer(campaign).data
    return {name: value for name, value in data.items() if current.get(name) != value}


@member_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    organizations = list(Organization.objects.filter(id__in=actor.writable_organizations()).order_by("name"))
    if not organizations:
        return render(request, "coordinator/read_only.html", status=403)
    blank = Campaign(organization=organizations[0])
    if request.method == "GET":
        form = forms.CampaignForm(initial=forms.initial_for(blank))
        context = _form_context(
            request,
            form,
            blank,
            labels=[],
            languages=[],
            skills={},
            translations={},
            problems={},
            organizations=organizations,
        )
        return render(request, "coordinator/campaign_form.html", context)
    # The organization the form names, or the one it offers when there is no choice; never another in its place (a
    # form loaded before the member's role there was lowered would put the campaign, and its costs, elsewhere).
    posted = request.POST.get("organization")
    chosen = next((o for o in organizations if str(o.id) == posted), None if posted else organizations[0])
    if chosen is None:
        return render(request, "coordinator/read_only.html", status=403)
    blank.organization = chosen
    return _save(request, actor, blank, organizations=organizations)


@member_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    if actor.roles.get(campaign.organization_id) not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    if request.method == "GET":
        form = _locked(forms.CampaignForm(initial=forms.initial_for(campaign)), campaign)
        context = _form_context(
            request,
            form,
            campaign,
            labels=campaign.labels,
            languages=campaign.languages,
            skills=campaign.required_skills,
            translations=campaign.translations,
            problems={},
        )
        return render(request, "coordinator/campaign_form.html", context)
    return _save(request, actor, campaign)


def _locked(form: forms.CampaignForm, campaign: Campaign) -> forms.CampaignForm:
    """After launch only some fields may change: the others are shown, not editable."""
    if campaign.status != Campaign.Status.DRAFT:
        for name, field in form.fields.items():
            if name not in campaign_services.EDITABLE_WHILE_ACTIVE:
                field.disabled = True
    return form


def _save(
    request: HttpRequest, actor: Actor, campaign: Campaign, organizations: list[Organization] | None = None
) -> HttpResponse:
    creating = campaign.pk is None
    launched = not creating and campaign.status != Campaign.Status.DRAFT
    form = forms.CampaignForm(request.POST, initial=None if creating else forms.initial_for(campaign))
    if not creating:
        _locked(form, campaign)
    problems: dict[str, str] = {}
    data: dict[str, Any] = {}
    if form.is_valid():
        data, problems = forms.campaign_payload(form, request.POST, campaign.labels if launched else None)
        if not creating:
            if launched:
                data = {k: v for k, v in data.items() if k in campaign_services.EDITABLE_WHILE_ACTIVE}
            data = _changed(campaign, data)
        serializer = CampaignSerializer(data=data, partial=not creating)
        if not problems and serializer.is_valid():
            fields = dict(serializer.validated_data)
            try:
                if creating:
                    saved = campaign_services.campaign_create(
                        organization_id=campaign.organization_id, created_by_id=request.user.id, fields=fields
                    )
                else:
                    saved = campaign_services.campaign_update(campaign_id=campaign.id, fields=fields)
            except DomainError as exc:
                problems.update(_errors(exc))
            else:
                messages.success(request, _("Saved."))
                floor_problem = campaign_services.campaign_pay_floor_problem(saved)
                if floor_problem:
                    messages.warning(request, floor_problem)
                return redirect("manage-campaign", campaign_id=saved.id)
        elif not problems:
            problems.update(_errors(serializer.errors))
    labels = campaign.labels if launched else forms.labels_from_post(request.POST)
    languages, _problem = forms.languages_from_post(request.POST)
    skills, _problem = forms.skills_from_post(request.POST)
    context = _form_context(
        request,
        form,
        campaign,
        labels=labels,
        languages=campaign.languages if launched else languages,
        skills=campaign.required_skills if launched else skills,
        translations=forms.posted_translations(request.POST, labels),
        problems=problems,
        organizations=organizations,
    )
    return render(request, "coordinator/campaign_form.html", context, status=400)


@member_required
def campaign_detail(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    return render(request, "coordinator/campaign.html", campaign_page_context(request, campaign, actor))


def campaign_page_context(request: HttpRequest, campaign: Campaign, actor: Actor | None = None) -> dict[str, Any]:
    actor = actor or Actor.for_user(user_id=request.user.id)
    progress = selectors.campaign_progress(campaign=campaign)
    interface = get_language() or "en"
    return {
        "campaign": campaign,
        "progress": progress,
        "to_label": progress["items"] - progress["gold_items"],
        "reward": from_minor(campaign.reward_minor, campaign.currency),
        "languages": [language_label(tag, interface) for tag in campaign.languages],
        "can_write": actor.roles.get(campaign.organization_id) in WRITE_ROLES,
        "moves": MOVES_BY_STATUS.get(campaign.status, ()),
        "imports": selectors.import_jobs_for_campaign(campaign=campaign)[:5],
        "annotators": _annotators(campaign),
        "can_import": campaign.status not in (Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED),
        # Review mode only: in label mode nobody sees a suggestion, so there is nothing to measure.
        "anchoring": anchoring_body(campaign, anchoring_for_campaign(campaign=campaign))
        if campaign.mode == Campaign.Mode.REVIEW
        else None,
        **_watch(campaign),
        **models_panel(campaign),
    }


ANNOTATORS_SHOWN = 50


def _annotators(campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's annotators (workers by the organization's pseudonym, never by name or id, and models) with
    Dawid-Skene's estimates; each confusion matrix with the label values on both sides when it has their shape."""
    values = [label["value"] for label in campaign.labels]
    rows = []
    for annotator in selectors.annotators_for_campaign(campaign=campaign)[:ANNOTATORS_SHOWN]:
        matrix = annotator.confusion if isinstance(annotator.confusion, list) else []
        square = len(matrix) == len(values) and all(isinstance(r, list) and len(r) == len(values) for r in matrix)
        rows.append(
            {
                "annotator": annotator,
                "is_model": annotator.kind == "model",
                "pseudonym": pseudonym(campaign.organization_id, annotator.worker_id) if annotator.worker_id else "",
                "matrix": [(values[i], [round(float(p), 2) for p in row]) for i, row in enumerate(matrix)]
                if square
                else [],
                "values": values if square else [],
            }
        )
    return rows


CONFIDENCE_BINS = [f"{n / 10:.1f} to {(n + 1) / 10:.1f}" for n in range(10)]


def _watch(campaign: Campaign) -> dict[str, Any]:
    """The campaign at a glance: charts drawn here as SVG geometry (crowd/coordinator/charts.py)."""
    watch = campaign_watch(campaign=campaign)
    hours = len(watch["per_hour"])
    hour_labels = [(watch["first_hour"] + timedelta(hours=n)).strftime("%d %b %H:00") for n in range(hours)]
    counts = histogram(watch["confidences"], low=0.0, high=1.0, bins=10)
    fairness = selectors.fairness_report(campaign=campaign)
    currency = fairness["currency"]

    def money(minor: int | None) -> str | None:
        return None if minor is None else from_minor(minor, campaign.currency if currency is None else currency)

    return {
        "watch": watch,
        "hourly_bars": bar_chart(watch["per_hour"], hour_labels, width=480, height=100),
        "confidence_bars": bar_chart(counts, CONFIDENCE_BINS, width=480, height=80),
        "answers_last_day": sum(watch["per_hour"][-24:]),
        "eta_hours": None if watch["eta_hours"] is None else round(watch["eta_hours"], 1),
        "alpha": None if watch["alpha"] is None else round(watch["alpha"], 2),
        "spend": {
            "cost": money(fairness["cost_to_date"]),
            "forecast": money(fairness["forecast_to_completion"]),
            "median": money(fairness["median_hourly"]),
            "floor": money(fairness["floor_hourly"]) if fairness["floor_source"] else None,
            "currency": currency or campaign.currency,
        },
    }


@member_required
@require_POST
def campaign_move(request: HttpRequest, actor: Actor, campaign_id: int, move: str) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    if move not in MOVES:
        raise Http404(_("No such action."))
    if actor.roles.get(campaign.organization_id) not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    service, done = MOVES[move]
    try:
        service(campaign_id=campaign.id)
    except DomainError as exc:
        details = [str(v) for v in (exc.fields or {}).values()]
        messages.error(request, " ".join([exc.message, *details]))
    else:
        messages.success(request, done)
    return redirect("manage-campaign", campaign_id=campaign.id)
