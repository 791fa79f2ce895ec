"""An organization's own workers (those it enrolled): enroll one, or many from a CSV file (all or nothing: every bad
row is listed), send a sign-in link and code (for people without email, by SMS or a chat app), block and unblock with
a reason, and see each one's quality and earnings here. A new link is shown once, in the answer page itself
(no-store), never kept in the session."""

from collections import defaultdict

from django.contrib import messages
from django.db.models import Avg, Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from crowd.coordinator.views import member_required
from crowd.exceptions import DomainError
from crowd.models import Answer, CampaignWorker, Organization, WorkerBlock
from crowd.query_params import whole_number
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.blocks import worker_block, worker_unblock
from crowd.services.pool_enrolment import (
    ENROLL_LANGUAGE_LEVEL,
    POOL_CSV_COLUMNS,
    POOL_CSV_MAX_BYTES,
    POOL_CSV_MAX_ROWS,
    POOL_CSV_TEMPLATE,
    PoolCsvRejected,
    PoolCsvUnreadable,
    pool_enroll_csv,
)
from payments.models import LedgerEntry
from payments.money import from_minor
from workers.grants import signin_grant_issue
from workers.languages import InvalidLanguage, language_from_input
from workers.models import WorkerProfile
from workers.pseudonyms import pseudonym
from workers.services import LanguageLevel, worker_enroll

POOL_SHOWN = 500


def _rows(organization: Organization) -> list[dict]:
    """The pool with what the organization knows of each worker: quality, answers and earnings in its campaigns."""
    profiles = list(
        WorkerProfile.objects.filter(enrolled_by=organization)
        .select_related("user")
        .order_by("user__username")[:POOL_SHOWN]
    )
    ids = [p.user_id for p in profiles]
    in_org = {"campaign__organization": organization}
    quality = dict(
        CampaignWorker.objects.filter(worker_id__in=ids, quality__isnull=False, **in_org)
        .values("worker_id")
        .annotate(q=Avg("quality"))
        .values_list("worker_id", "q")
    )
    answers = dict(
        Answer.objects.filter(worker_id__in=ids, **in_org)
        .values("worker_id")
        .annotate(n=Count("id"))
        .values_list("worker_id", "n")
    )
    earned: dict[int, list[str]] = defaultdict(list)
    # Status changes are pairs of entries, so the sum over every entry is what the worker earned, whatever its state.
    totals = (
        LedgerEntry.objects.filter(worker_id__in=ids, **in_org)
        .values("worker_id", "currency")
        .annotate(total=Sum("amount_minor"))
        .order_by("currency")
    )
    for row in totals:
        earned[row["worker_id"]].append(f"{from_minor(row['total'], row['currency'])} {row['currency']}")
    blocks = dict(
        WorkerBlock.objects.filter(organization=organization, campaign__isnull=True, worker_id__in=ids).values_list(
            "worker_id", "reason"
        )
    )
    return [
        {
            "profile": p,
            "pseudonym": pseudonym(organization.id, p.user_id),  # how every other page and export names them
            "quality": quality.get(p.user_id),
            "answers": answers.get(p.user_id, 0),
            "earned": earned.get(p.user_id, []),
            "blocked": blocks.get(p.user_id),
        }
        for p in profiles
    ]


def _page(request: HttpRequest, organization: Organization, can_write: bool, status: int = 200, **extra):
    context = {
        "organization": organization,
        "rows": _rows(organization),
        "can_write": can_write,
        "csv_header": ",".join(POOL_CSV_COLUMNS),
        "csv_max_rows": formats.number_format(POOL_CSV_MAX_ROWS, force_grouping=True),
        **extra,
    }
    response = render(request, "coordinator/pool.html", context, status=status)
    if "grant" in extra:
        response["Cache-Control"] = "no-store"
    return response


@member_required
@require_http_methods(["GET", "POST"])
def organization_pool(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    role = actor.roles.get(organization_id)
    if role is None:
        raise Http404(_("No such organization."))
    organization = Organization.objects.get(pk=organization_id)
    can_write = role in WRITE_ROLES
    if request.method == "GET":
        if request.GET.get("template") == "csv":
            return _csv_template()
        return _page(request, organization, can_write)
    if not can_write:
        return render(request, "coordinator/read_only.html", status=403)
    action = request.POST.get("action", "")
    worker_id = whole_number(request.POST.get("worker")) or 0
    try:
        if action == "enroll":
            return _enroll(request, organization)
        if action == "enroll_csv":
            return _enroll_csv(request, organization)
        if action == "link":
            return _link(request, organization, worker_id, None)
        if action == "block":
            worker_block(
                organization_id=organization.id,
                worker_id=_in_pool(organization, worker_id),
                reason=request.POST.get("reason", ""),
                created_by_id=request.user.id,
            )
            messages.success(request, _("Worker blocked in this organization's campaigns."))
        elif action == "unblock":
            worker_unblock(organization_id=organization.id, worker_id=_in_pool(organization, worker_id))
            messages.success(request, _("Worker unblocked."))
        else:
            raise DomainError(_("Unknown action."))
    except DomainError as exc:
        if exc.fields.get("reason"):
            messages.error(request, _("A block needs a reason: the worker can read it."))
        else:
            messages.error(request, _("That did not work: the worker is not in this organization's pool."))
    return redirect("manage-pool", organization_id=organization.id)


def _in_pool(organization: Organization, worker_id: int) -> int:
    if not WorkerProfile.objects.filter(user_id=worker_id, enrolled_by=organization).exists():
        raise DomainError(_("Not in the pool."))
    return worker_id


def _enroll(request: HttpRequest, organization: Organization) -> HttpResponse:
    username = request.POST.get("username", "").strip()
    languages = []
    try:
        for typed in request.POST.get("languages", "").split(","):
            if typed.strip():
                languages.append(LanguageLevel(language_from_input(typed), ENROLL_LANGUAGE_LEVEL))
    except InvalidLanguage:
        error = _("One of the languages is not one we know. Type its name or its code.")
        return _page(request, organization, True, status=400, enroll_error=error, posted=request.POST)
    if not username or not languages:
        error = _("A worker needs a username and at least one language.")
        return _page(request, organization, True, status=400, enroll_error=error, posted=request.POST)
    try:
        profile, _token = worker_enroll(
            organization_id=organization.id,
            username=username,
            country=request.POST.get("country", "").strip().upper()[:2],
            languages=languages,
            skills=[],
        )
    except DomainError:
        error = _("That username is taken, or the country is not a two-letter code. Try another.")
        return _page(request, organization, True, status=400, enroll_error=error, posted=request.POST)
    return _link(request, organization, profile.user_id, _("Worker enrolled."))


def _csv_template() -> HttpResponse:
    response = HttpResponse(POOL_CSV_TEMPLATE, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="workers.csv"'
    return response


def _numbers(params: dict) -> dict:
    """Numbers in messages as the reader writes them (5,000 or 5 000)."""
    return {
        key: formats.number_format(value, force_grouping=True) if isinstance(value, int) else value
        for key, value in params.items()
    }


def _enroll_csv(request: HttpRequest, organization: Organization) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        error = _("Choose a CSV file to upload.")
        return _page(request, organization, True, status=400, csv_error=error)
    if upload.size > POOL_CSV_MAX_BYTES:
        error = _("The file is larger than %(megabytes)s MB: split it into smaller files.") % {
            "megabytes": POOL_CSV_MAX_BYTES // (1024 * 1024)
        }
        return _page(request, organization, True, status=400, csv_error=error)
    try:
        result = pool_enroll_csv(organization_id=organization.id, data=upload.read(POOL_CSV_MAX_BYTES + 1))
    except PoolCsvUnreadable as exc:
        return _page(request, organization, True, status=400, csv_error=_(exc.text) % _numbers(exc.params))
    except PoolCsvRejected as exc:
        problems = [{"row": p.row, "message": _(p.message) % _numbers(p.params)} for p in exc.problems]
        error = ngettext(
            "Nobody was enrolled: %(count)s problem to fix in the file.",
            "Nobody was enrolled: %(count)s problems to fix in the file.",
            len(problems),
        ) % {"count": len(problems)}
        return _page(request, organization, True, status=400, csv_error=error, csv_problems=problems)
    done = ngettext("%(count)s worker enrolled.", "%(count)s workers enrolled.", len(result.enrolled)) % {
        "count": len(result.enrolled)
    }
    if result.skipped:
        done += " " + ngettext(
            "%(count)s row skipped: already in your pool.",
            "%(count)s rows skipped: already in your pool.",
            len(result.skipped),
        ) % {"count": len(result.skipped)}
    if result.enrolled:
        done += " " + _("Make each one a sign-in link from the list below.")
    messages.success(request, done)
    return redirect("manage-pool", organization_id=organization.id)


def _link(request: HttpRequest, organization: Organization, worker_id: int, done: str | None) -> HttpResponse:
    grant = signin_grant_issue(organization_id=organization.id, worker_id=worker_id)
    url = request.build_absolute_uri(reverse("signin-link", args=[grant.link_token]))
    profile = WorkerProfile.objects.select_related("user").get(user_id=worker_id)
    return _page(
        request,
        organization,
        True,
        status=201,
        grant={"url": url, "code": grant.code, "expires_at": grant.expires_at, "username": profile.user.username},
        done=done,
    )
