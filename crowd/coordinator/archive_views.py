"""An organization's archive, for its owners: start one, watch it being built (the page reloads itself while it
runs, no script needed), download the zip. The API's archive endpoints call the same service."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crowd.api.data_views import archive_file_response
from crowd.coordinator.views import member_required
from crowd.exceptions import DomainError
from crowd.models import ArchiveJob, Membership, Organization
from crowd.selectors import Actor
from crowd.services.archives import archive_job_create

ARCHIVES_SHOWN = 10


def _owner_or_none(actor: Actor, organization_id: int) -> bool:
    role = actor.roles.get(organization_id)
    if role is None:
        raise Http404(_("No such organization."))
    return role == Membership.Role.OWNER


@member_required
@require_http_methods(["GET", "POST"])
def organization_archive(request: HttpRequest, actor: Actor, organization_id: int) -> HttpResponse:
    if not _owner_or_none(actor, organization_id):
        return render(request, "coordinator/read_only.html", status=403)
    organization = Organization.objects.get(pk=organization_id)
    if request.method == "POST":
        try:
            archive_job_create(organization_id=organization.id, created_by_id=request.user.id)
            messages.success(request, _("The archive is being built. This page shows its progress."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("manage-archive", organization_id=organization.id)
    jobs = list(ArchiveJob.objects.filter(organization=organization).order_by("-created_at")[:ARCHIVES_SHOWN])
    busy = any(job.status in (ArchiveJob.Status.QUEUED, ArchiveJob.Status.RUNNING) for job in jobs)
    context = {"organization": organization, "jobs": jobs, "busy": busy, "keep_days": settings.ARCHIVE_KEEP_DAYS}
    return render(request, "coordinator/archive.html", context)


@member_required
@require_http_methods(["GET"])
def archive_download(request: HttpRequest, actor: Actor, job_id: int) -> HttpResponse:
    job = ArchiveJob.objects.filter(pk=job_id, organization_id__in=list(actor.roles)).first()
    if job is None:
        raise Http404(_("No such archive."))
    if not _owner_or_none(actor, job.organization_id):
        return render(request, "coordinator/read_only.html", status=403)
    try:
        return archive_file_response(job)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("manage-archive", organization_id=job.organization_id)
