"""Uploading items from the web: the file goes to a background job (crowd/services/import_jobs.py) and its page
shows the progress, refreshing itself while the job runs (no script needed)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crowd import selectors
from crowd.coordinator.campaign_views import campaign_page_context
from crowd.coordinator.views import campaign_or_404, member_required
from crowd.exceptions import DomainError, NotFound
from crowd.models import ImportJob
from crowd.selectors import WRITE_ROLES, Actor
from crowd.services.import_jobs import import_job_create, import_job_progress

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
        job = import_job_create(campaign_id=campaign.id, created_by_id=request.user.id, upload=upload)
    except DomainError:
        return _campaign_page_error(
            request, campaign, _("This file cannot be imported here: upload a .csv, .json or .jsonl file.")
        )
    return redirect("manage-import", job_id=job.id)


def _campaign_page_error(request: HttpRequest, campaign, message: str) -> HttpResponse:
    context = campaign_page_context(request, campaign) | {"upload_error": message}
    return render(request, "coordinator/campaign.html", context, status=400)


@member_required
def import_detail(request: HttpRequest, actor: Actor, job_id: int) -> HttpResponse:
    try:
        job = selectors.import_job_for_actor(actor=actor, job_id=job_id)
    except NotFound:
        raise Http404(_("No such import.")) from None
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
