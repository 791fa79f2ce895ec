"""Worker pages: server-rendered, tiny, usable with JavaScript off. They call the same services as the API."""

from functools import wraps
from typing import Any

from allauth.account.views import LoginView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.limits import FREE_TEXT_ANSWER_MAX
from crowd import selectors
from crowd.campaign_texts import localized_texts
from crowd.exceptions import DomainError, LeaseExpired
from crowd.model_loop.review import suggestion_for
from crowd.models import Assignment, Campaign, CampaignWorker, Membership
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create
from crowd.services.routing import assignment_claim_next, assignment_release
from payments.money import from_minor
from payments.selectors import earnings_for_worker, earnings_summary, history_for_worker
from workers.locale import account_language_activate
from workers.models import WorkerProfile
from workers.terms import terms_accepted

LEASE_EXPIRED_MESSAGE = gettext_lazy(
    "Time ran out on that task before your answers arrived. Since then it has gone to someone else or the "
    "campaign has stopped, so these answers could not be kept. Nothing was taken from your earnings."
)
LATE_KEPT_MESSAGE = gettext_lazy(
    "Time ran out on that task before your answers arrived, but nobody else had taken it, so they were kept. "
    "You earned %(amount)s %(currency)s."
)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("work-home")
    return render(request, "crowd/home.html")


def terms_required(view):
    """Work pages wait until a worker has accepted the current terms (workers/terms.py); their data, earnings and
    account pages do not, so nobody is kept from their own records."""

    @wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not terms_accepted(user)
            and WorkerProfile.objects.filter(user_id=user.id).exists()
        ):
            return redirect("signin-welcome")
        return view(request, *args, **kwargs)

    return gated


@login_required
@terms_required
def work_home(request: HttpRequest) -> HttpResponse:
    profile = WorkerProfile.objects.filter(user=request.user).first()
    if profile is None and Membership.objects.filter(user=request.user).exists():
        # A coordinator who does no labeling lands on their own pages, not on an empty worker page.
        return redirect("manage-home")
    has_languages = profile is not None and profile.languages.exists()
    if not has_languages and not Membership.objects.filter(user=request.user).exists():
        # A new worker first says which languages they know; that decides every task they see.
        return redirect("worker-profile")
    held = (
        Assignment.objects.select_related("campaign")
        .filter(worker=request.user, status=Assignment.Status.ACTIVE)
        .order_by("leased_at")
        .first()
    )
    campaigns = selectors.campaigns_available_for_worker(worker=request.user)
    estimates = selectors.pay_estimates(campaigns=campaigns)
    earnings = {
        currency: {name: from_minor(amount, currency) for name, amount in sums.items()}
        for currency, sums in earnings_for_worker(worker_id=request.user.id).items()
    }
    return render(
        request,
        "crowd/work_home.html",
        {
            "held": held,
            "campaigns": [
                {
                    "campaign": c,
                    "reward": from_minor(c.reward_minor, c.currency),
                    "hourly": from_minor(estimates[c.id]["hourly_minor"], c.currency),
                    "seconds": estimates[c.id]["seconds"],
                    "measured": estimates[c.id]["measured"],
                }
                for c in campaigns
            ],
            "effective": {
                currency: from_minor(rate, currency)
                for currency, rate in selectors.effective_rate_for_worker(worker_id=request.user.id).items()
            },
            "earnings": earnings,
            "quality": [
                row for row in selectors.quality_for_worker(worker_id=request.user.id) if row["quality"] is not None
            ],
            "needs_profile": not has_languages,
            # Shown as the answer to the sign-in POST too (SignInView): the page then puts /work/ in the address bar.
            "canonical_path": reverse("work-home"),
        },
    )


@login_required
@terms_required
@require_http_methods(["GET", "POST"])
def work_next(request: HttpRequest) -> HttpResponse:
    """GET only shows a button (a GET must not lease anything: link prefetchers and crawlers follow links);
    the plain form's POST claims the next microtask."""
    if request.method == "GET":
        return render(request, "crowd/work_next.html", {"campaign": request.GET.get("campaign", "")[:20]})
    # The task page comes in this answer, not after a redirect: one round trip less between a tap on Start and
    # the first task, which is 400 ms on a slow link. Sent again (a reload), the POST finds the same lease.
    return _claim_and_show(request, request.POST.get("campaign"), inline=True)


def _claim_and_show(request: HttpRequest, campaign_id: str | None, inline: bool = False) -> HttpResponse:
    """Lease the worker's next microtask (optionally of one campaign) and go to it, or explain why there is none."""
    try:
        result = assignment_claim_next(worker=request.user, campaign_id=int(campaign_id) if campaign_id else None)
    except (DomainError, ValueError):
        messages.error(request, _("That campaign is not available."))
        return redirect("work-home")
    if result.assignment is None:
        code, message = result.reason or ("none", "")
        return render(request, "crowd/work_none.html", {"reason": code, "message": _(message)}, status=200)
    if inline:
        response = render(request, "crowd/work_assignment.html", _assignment_context(result.assignment))
        response["Crowdloop-Location"] = reverse("work-assignment", args=[result.assignment.id])
        return response
    return redirect("work-assignment", assignment_id=result.assignment.id)


def _assignment_context(
    assignment: Assignment, errors: dict[str, str] | None = None, posted: dict | None = None
) -> dict[str, Any]:
    items = selectors.assignment_items(assignment=assignment)
    free_text = assignment.campaign.task_type == Campaign.TaskType.FREE_TEXT
    suggested: dict[str, Any] = {}
    for item in items:
        item.suggestion = suggestion_for(assignment.campaign, item)
        if item.suggestion is not None:  # pre-selected: one tap confirms it
            label = item.suggestion["label"]
            suggested[str(item.id)] = label if isinstance(label, list) or free_text else [label]
    remaining = max(int((assignment.expires_at - timezone.now()).total_seconds() // 60), 0)
    return {
        "assignment": assignment,
        "minutes_left": remaining,
        "first_tasks": CampaignWorker.objects.filter(
            campaign_id=assignment.campaign_id, worker_id=assignment.worker_id, assignments__lte=1
        ).exists(),
        "campaign": assignment.campaign,
        "items": items,
        "reward": from_minor(assignment.reward_minor, assignment.currency),
        "errors": errors or {},
        # The first item with an error gets focus, so the browser scrolls to it on a phone.
        "first_error": str(next(iter(errors))) if errors else None,
        "posted": posted if posted is not None else suggested,
        "multi": assignment.campaign.task_type == Campaign.TaskType.MULTI_CHOICE,
        "free_text": assignment.campaign.task_type == Campaign.TaskType.FREE_TEXT,
        "task_config": _task_config(assignment),
        **_texts(assignment.campaign),
    }


def _texts(campaign: Campaign) -> dict[str, Any]:
    """The campaign's instructions and label texts in the worker's interface language, when it has them."""
    instructions, labels, used = localized_texts(
        instructions=campaign.instructions,
        labels=campaign.labels,
        translations=campaign.translations,
        language=get_language() or "",
    )
    return {"instructions": instructions, "labels": labels, "texts_language": used}


def _task_config(assignment: Assignment) -> dict[str, Any]:
    """What the page's script needs (crowd/static/crowd/task.js), its words in the worker's language."""
    reward = from_minor(assignment.reward_minor, assignment.currency)
    return {
        "assignment": assignment.id,
        "url": reverse("work-assignment", args=[assignment.id]),
        "expires_at": assignment.expires_at.isoformat(),
        "heartbeat_url": reverse("api-assignment-heartbeat", args=[assignment.id]),
        "ahead_url": reverse("work-ahead", args=[assignment.id]),
        "queued": assignment.queued,
        "words": {
            "pays": _("Pays %(reward)s %(currency)s") % {"reward": reward, "currency": assignment.currency},
            # Shown by the next task's page once these answers, sent behind it, are stored.
            "saved": _("Saved. You earned %(amount)s %(currency)s.")
            % {"amount": reward, "currency": assignment.currency},
            # The script puts the number in: "%(n)s" stays as it is in every language.
            "minutes_left": _("about %(n)s min left"),
            "hurry": _("Time is almost up: submit soon."),
            "sending": _("Sending your answers…"),
            "sent": _("Your saved answers were sent."),
            "saved_offline": _(
                "No connection. Your answers are saved on this phone and will be sent when you are back online."
            ),
            "expired": str(LEASE_EXPIRED_MESSAGE),
            "not_saved": _("The answers to your last task could not be saved. Please do it again if it comes back."),
        },
    }


@login_required
@terms_required
@require_http_methods(["GET", "POST"])
def work_assignment(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_for_worker(worker_id=request.user.id, assignment_id=assignment_id)
    if request.method == "GET":
        if assignment.status != Assignment.Status.ACTIVE:
            return redirect("work-home")
        return render(request, "crowd/work_assignment.html", _assignment_context(assignment))
    if assignment.status not in (Assignment.Status.ACTIVE, Assignment.Status.EXPIRED):
        # Already submitted (a back-button resubmit) or given back: nothing to do on this form. An expired lease
        # goes on to the submit, which keeps late answers when the slot is still free.
        messages.info(request, _("That task is already finished."))
        return redirect("work-home")
    context = _assignment_context(assignment)
    multi, free_text = context["multi"], context["free_text"]
    answers = []
    posted: dict[str, Any] = {}
    for item in context["items"]:
        key = f"item-{item.id}"
        if multi:
            value: Any = request.POST.getlist(key)
        else:
            value = request.POST.get(key, "")
        # The template tests membership: a single choice is kept as a one-element list, so "1" never
        # matches inside "10".
        posted[str(item.id)] = value if multi or free_text else [value]
        answers.append({"item": item.id, "label": value})
    missing = {str(a["item"]): _("Please answer this one.") for a in answers if not a["label"] and not multi}
    if free_text:
        missing = {str(a["item"]): _("Please type an answer.") for a in answers if not str(a["label"]).strip()}
        too_long = _("Please keep your answer under %(count)s characters.") % {"count": FREE_TEXT_ANSWER_MAX}
        missing.update({str(a["item"]): too_long for a in answers if len(a["label"]) > FREE_TEXT_ANSWER_MAX})
    if missing:
        return render(
            request, "crowd/work_assignment.html", _assignment_context(assignment, missing, posted), status=400
        )
    try:
        submitted = answer_submit(worker=request.user, assignment_id=assignment.id, raw_answers=answers)
    except LeaseExpired:
        # Said plainly: the answers are not kept, because the slot went to someone else (paying twice for one
        # slot would be unfair to the organization, and keeping unpaid answers unfair to the worker).
        if _inline(request):
            return HttpResponse(str(LEASE_EXPIRED_MESSAGE), status=409, content_type="text/plain; charset=utf-8")
        messages.error(request, LEASE_EXPIRED_MESSAGE)
        return redirect("work-home")
    except DomainError as exc:
        # Worker-facing words: the API's messages name internal ids, which mean nothing here.
        flagged = exc.fields.get("answers", {}) if isinstance(exc.fields.get("answers"), dict) else {}
        field_errors = {item: _("Please choose one of the options shown.") for item in flagged}
        if not field_errors:
            messages.error(request, _("Something went wrong with that task. Please try again."))
        return render(
            request,
            "crowd/work_assignment.html",
            _assignment_context(assignment, field_errors, posted),
            status=exc.status if exc.status < 500 else 400,
        )
    if request.POST.get("then") == "ahead" and _inline(request):
        # The phone already shows the task fetched ahead, which became current as this one ended, and says "saved"
        # itself: nothing to send, and no message left in the session for a later page.
        return HttpResponse(status=204)
    earned = {"amount": context["reward"], "currency": assignment.currency}
    if submitted.late:
        messages.success(request, LATE_KEPT_MESSAGE % earned)
    else:
        messages.success(request, _("Saved. You earned %(amount)s %(currency)s.") % earned)
    if request.POST.get("then") == "stop":
        return redirect("work-home")
    # "Submit and next" is this POST: the next lease is claimed here. The page's script asks for the next task
    # in the answer itself (one round trip); without the script the browser follows a redirect as usual.
    return _claim_and_show(request, str(assignment.campaign_id), inline=_inline(request))


@login_required
@terms_required
@require_POST
def work_ahead(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The page's script fetches the next task while the worker answers this one, so a slow link waits for nothing
    after Submit. Answers with that task's page (Crowdloop-Location names it), or 204 when there is none."""
    assignment = selectors.assignment_for_worker(worker_id=request.user.id, assignment_id=assignment_id)
    if assignment.status != Assignment.Status.ACTIVE or assignment.queued:
        return HttpResponse(status=204)
    try:
        result = assignment_claim_next(worker=request.user, campaign_id=assignment.campaign_id, ahead=True)
    except DomainError:
        return HttpResponse(status=204)
    if result.assignment is None or not result.assignment.queued:
        return HttpResponse(status=204)
    response = render(request, "crowd/work_assignment.html", _assignment_context(result.assignment))
    response["Crowdloop-Location"] = reverse("work-assignment", args=[result.assignment.id])
    return response


def _inline(request: HttpRequest) -> bool:
    return request.headers.get("X-Crowdloop-Inline") == "1"


RELEASE_WORDS = {
    "skip": gettext_lazy("Skip this task?"),
    "unclear": gettext_lazy("Is this task unclear?"),
    "offensive": gettext_lazy("Is this task offensive?"),
}
RELEASED_WORDS = {
    "skip": gettext_lazy("You gave the task back. You will not see it again."),
    "unclear": gettext_lazy("You marked the task unclear and gave it back. You will not see it again."),
    "offensive": gettext_lazy(
        "You marked the task offensive and gave it back. You will not see it again, and the reason is recorded "
        "for the organization."
    ),
}


@login_required
@require_http_methods(["GET", "POST"])
def work_release(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Giving a task back asks once: GET shows what will happen (no change), POST gives it back and says so."""
    reason = (request.POST if request.method == "POST" else request.GET).get("reason", "skip")
    if reason not in RELEASE_WORDS:
        reason = "skip"
    assignment = selectors.assignment_for_worker(worker_id=request.user.id, assignment_id=assignment_id)
    if request.method == "GET":
        if assignment.status != Assignment.Status.ACTIVE:
            return redirect("work-home")
        context = {"assignment": assignment, "reason": reason, "question": RELEASE_WORDS[reason]}
        return render(request, "crowd/work_release_confirm.html", context)
    if assignment.status != Assignment.Status.ACTIVE:
        messages.info(request, _("That task is already finished."))
        return redirect("work-home")
    try:
        assignment_release(worker=request.user, assignment_id=assignment_id, reason=reason)
    except DomainError:
        messages.info(request, _("That task is already finished."))
    else:
        messages.success(request, RELEASED_WORDS[reason])
    return redirect("work-home")


@login_required
def work_earnings(request: HttpRequest) -> HttpResponse:
    """Totals, every ledger entry with its campaign and reason, and rejected work with its appeal."""
    body = earnings_summary(worker_id=request.user.id)
    return render(
        request,
        "crowd/work_earnings.html",
        {
            "earnings": body,
            "rejected": selectors.rejected_for_worker(worker_id=request.user.id)[:50],
            "history": history_for_worker(worker_id=request.user.id),
            "effective": {
                currency: from_minor(rate, currency)
                for currency, rate in selectors.effective_rate_for_worker(worker_id=request.user.id).items()
            },
        },
    )


@login_required
@require_POST
def work_appeal(request: HttpRequest, assignment_id: int) -> HttpResponse:
    try:
        appeal_create(worker=request.user, assignment_id=assignment_id, message=request.POST.get("message", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your appeal was sent to the coordinators."))
    return redirect("work-earnings")


class SignInView(LoginView):
    """allauth's sign-in, answering a successful sign-in with the work home itself rather than a redirect to it:
    one round trip less on a slow link (400 ms on 3G). The page puts its own address back (`canonical_path`), so a
    reload asks for /work/ and never sends the password again. Any other outcome (a `next` page, a required step
    such as the terms or the profile) is allauth's or the home's own answer, unchanged."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        home = reverse("work-home")
        if response.status_code != 302 or response.get("Location") != home or not self.request.user.is_authenticated:
            return response
        account_language_activate(self.request)  # signed in now: the home speaks the account's language
        shown = work_home(self.request)
        if shown.status_code != 200:
            return shown  # the home sends this user elsewhere (terms, profile, coordinator pages): follow that
        shown["Crowdloop-Location"] = home
        return shown
