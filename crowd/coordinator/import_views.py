"""Uploading items from the web: the file is stored as an import waiting for its preview (crowd/services/
import_jobs.py); its page shows the first rows as they will be stored, the column mapping and the row errors, and
starts the background job when the coordinator says so; then it shows the progress, refreshing itself while the
job runs (no script needed)."""

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crowd import selectors
from crowd.coordinator.campaign_views import campaign_page_context
from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exceptions import DomainError, NotFound
from crowd.import_formats import ROLES, ImportOptions
from crowd.models import ImportJob
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.import_jobs import import_job_create, import_job_preview, import_job_progress, import_job_start

REFRESH_SECONDS = 2


@member_required
@require_POST
def import_start(request: HttpRequest, actor: Actor, campaign_id: int) -> HttpResponse:
    campaign = campaign_or_404(actor, campaign_id)
    if actor.roles.get(campaign.organization_id) not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    upload = request.FILES.get("file")
    if upload is None:
        return _campaign_page_error(request, campaign, _("Choose a file to upload."))
    try:
        job = import_job_create(campaign_id=campaign.id, created_by_id=request.user.id, upload=upload, preview=True)
    except DomainError:
        return _campaign_page_error(
            request,
            campaign,
            _("This file cannot be imported here: upload a .csv, .json or .jsonl file, or a Label Studio export."),
        )
    return redirect("manage-import", job_id=job.id)


def _campaign_page_error(request: HttpRequest, campaign, message: str) -> HttpResponse:
    context = campaign_page_context(request, campaign) | {"upload_error": message}
    return render(request, "coordinator/campaign.html", context, status=400)


ROLE_LABELS = {
    "external_id": gettext_lazy("Identifies each row (external id)"),
    "text": gettext_lazy("Text to label"),
    "image": gettext_lazy("Image URL"),
    "language": gettext_lazy("Language"),
    "gold": gettext_lazy("Gold label (known answer)"),
    "prelabel": gettext_lazy("Pre-label (a model's guess)"),
    "prelabel_score": gettext_lazy("Pre-label score (0 to 1)"),
    "prelabel_model": gettext_lazy("Pre-label model name"),
}


def _posted_options(request: HttpRequest, job: ImportJob) -> ImportOptions:
    """The choices of the preview form: the mapping (flat files), ignored columns, Label Studio's settings."""
    mapping = None
    if "map_external_id" in request.POST:
        mapping = {role: request.POST.get(f"map_{role}", "") for role in ROLES}
    return ImportOptions(
        mapping=mapping,
        ignore=tuple(request.POST.getlist("ignore")),
        trusted=request.POST.get("trusted") == "on",
        from_name=request.POST.get("from_name") or None,
    )


def _job_or_404(actor: Actor, job_id: int) -> ImportJob:
    try:
        return selectors.import_job_for_actor(actor=actor, job_id=job_id)
    except NotFound:
        raise Http404(_("No such import.")) from None


@member_required
def import_detail(request: HttpRequest, actor: Actor, job_id: int) -> HttpResponse:
    job = _job_or_404(actor, job_id)
    if job.status == ImportJob.Status.PREVIEW:
        return _preview_page(request, actor, job, ImportOptions.from_dict(job.options))
    return _progress_page(request, job)


@member_required
@require_POST
def import_confirm(request: HttpRequest, actor: Actor, job_id: int) -> HttpResponse:
    """The preview form: look again with other choices, or start the import with them."""
    job = _job_or_404(actor, job_id)
    if actor.roles.get(job.campaign.organization_id) not in WRITE_ROLES:
        return render(request, "coordinator/read_only.html", status=403)
    if job.status != ImportJob.Status.PREVIEW:
        return redirect("manage-import", job_id=job.id)
    options = _posted_options(request, job)
    if request.POST.get("action") != "start":
        return _preview_page(request, actor, job, options)
    try:
        import_job_start(job_id=job.id, options=options)
    except DomainError as exc:
        return _preview_page(request, actor, job, options, problem=exc.message, status=400)
    return redirect("manage-import", job_id=job.id)


def _preview_page(
    request: HttpRequest, actor: Actor, job: ImportJob, options: ImportOptions, problem: str = "", status: int = 200
) -> HttpResponse:
    try:
        preview = import_job_preview(job, options)
    except DomainError as exc:
        preview, problem, status = None, exc.message, 400
    except OSError:
        preview, problem, status = None, _("The uploaded file could not be read: upload it again."), 400
    mapping = (preview.mapping if preview else None) or options.mapping or {}
    rows = [
        {
            "row": row["row"],
            "external_id": row["external_id"],
            "data": _shown(row["data"]),
            "language": row["language"],
            "gold": _shown(row["gold"]),
            "prelabel": _shown(row["prelabel"]),
            "prelabel_by": " · ".join(part for part in (row["prelabel_model"], _shown(row["prelabel_score"])) if part),
        }
        for row in (preview.rows if preview else [])
    ]
    return render(
        request,
        "coordinator/import_preview.html",
        {
            "job": job,
            "campaign": job.campaign,
            "preview": preview,
            "rows": rows,
            "problem": problem,
            "options": options,
            "roles": [(role, ROLE_LABELS[role], mapping.get(role, "")) for role in ROLES],
            "can_write": actor.roles.get(job.campaign.organization_id) in WRITE_ROLES,
            "labelstudio": bool(preview and preview.format.startswith("labelstudio")),
        },
        status=status,
    )


def _shown(value: Any, limit: int = 160) -> str:
    """A value of a row as a short line of text (JSON for objects and lists)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _progress_page(request: HttpRequest, job: ImportJob) -> HttpResponse:
    rows_read, bytes_read = import_job_progress(job)
    running = job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    return render(
        request,
        "coordinator/import.html",
        {
            "job": job,
            "campaign": job.campaign,
            "rows_read": rows_read,
            "percent": round(100 * bytes_read / job.size) if job.size else (100 if not running else 0),
            "running": running,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )
