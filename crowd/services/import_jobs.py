"""Imports as background jobs: the upload is stored, a Celery job reads it in a stream and imports it with the same
all-or-nothing service as the synchronous endpoint, and anyone watching sees its progress. A large file never meets
the web server's timeout, and a failed job leaves no item behind (items_import runs in one transaction)."""

from contextlib import ExitStack
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crowd.exceptions import DomainError, InvalidState
from crowd.import_formats import ImportOptions, upload_kind
from crowd.models import Campaign, ImportJob
from crowd.services.imports import MAX_REPORTED_ERRORS, Preview, import_preview, items_import, rows_from_upload
from crowd.webhooks.events import IMPORT_FAILED, IMPORT_FINISHED, event_emit
from workers.locale import supported_language

PROGRESS_EVERY_ROWS = 2000  # how often a running job tells watchers how far it is
PROGRESS_TTL_SECONDS = 24 * 3600


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:rows"


# A file system takes 255 bytes per name: a browser's file name (4 bytes a character at worst) is cut short for the
# stored copy, with room for the suffix storage adds to keep names apart. The job keeps a longer one to show.
STORED_NAME_CHARS = 60
FILENAME_CHARS = 200  # ImportJob.filename


def _shortened(name: str, limit: int) -> str:
    """`name` within `limit` characters, its extension kept: the import reads the file's kind from it."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) >= limit - 1:
        return name[:limit]
    return stem[: limit - len(extension) - 1] + dot + extension


def import_job_create(
    *,
    campaign_id: int,
    created_by_id: int | None,
    upload: UploadedFile,
    options: ImportOptions | None = None,
    preview: bool = False,
) -> ImportJob:
    """Store the uploaded file and queue its import once this transaction commits; with `preview`, keep it waiting
    for import_job_start (the web shows its preview first). Raises InvalidState for a completed or archived
    campaign and ValidationFailed for a file type the import cannot read (nothing stored)."""
    name = upload.name or "upload"
    upload_kind(name)  # refused before anything is stored
    from crowd.tasks import import_job_run

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED):
            raise InvalidState(_("Items cannot be added to a %(status)s campaign.") % {"status": campaign.status})
        stored = default_storage.save(f"imports/{campaign_id}/{_shortened(name, STORED_NAME_CHARS)}", upload)
        job = ImportJob.objects.create(
            campaign=campaign,
            created_by_id=created_by_id,
            path=stored,
            filename=_shortened(name, FILENAME_CHARS),
            size=upload.size or 0,
            options=(options or ImportOptions()).as_dict(),
            status=ImportJob.Status.PREVIEW if preview else ImportJob.Status.QUEUED,
        )
        if not preview:
            import_job_run.delay_on_commit(job.id)
    return job


def import_job_preview(job: ImportJob, options: ImportOptions | None = None) -> Preview:
    """The preview of a stored upload, read with `options` (else the job's own); ValidationFailed when the file
    cannot be read that way."""
    with default_storage.open(job.path, "rb") as handle:
        return import_preview(
            binary=handle, filename=job.filename, campaign=job.campaign, options=options or _options(job)
        )


def import_job_start(*, job_id: int, options: ImportOptions) -> ImportJob:
    """Queue a previewed upload with the options the coordinator chose. The file is read with them first, so a
    mapping naming a column the file lacks is refused here, not after a wait (ValidationFailed); a job already
    started is left as it is (InvalidState)."""
    from crowd.tasks import import_job_run

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("campaign").get(pk=job_id)
        if job.status != ImportJob.Status.PREVIEW:
            raise InvalidState(_("This import has already started."))
        import_job_preview(job, options)
        job.options = options.as_dict()
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["options", "status"])
        import_job_run.delay_on_commit(job.id)
    return job


def _options(job: ImportJob) -> ImportOptions:
    return ImportOptions.from_dict(job.options)


def import_job_run(*, job_id: int) -> str:
    """Run one queued job (idempotent: a finished or failed job is left alone, and a job the worker lost half way
    runs again from the start, which is safe because items_import is all or nothing and skips known external ids).
    A failed job's message and row errors are stored in its creator's language (_job_language). Returns the job's
    final status."""
    job = ImportJob.objects.select_related("campaign", "created_by").get(pk=job_id)
    if job.status in (ImportJob.Status.FINISHED, ImportJob.Status.FAILED, ImportJob.Status.PREVIEW):
        return job.status
    # A Celery worker has no request, hence no language of its own: the refusals raised while importing are
    # translated when raised, and stored as they are, so they must be raised in the language of whoever reads them.
    with translation.override(_job_language(job)):
        return _run(job)


def _job_language(job: ImportJob) -> str:
    """The language of the person who uploaded the file (their saved interface language), else the site's."""
    creator = job.created_by
    return (supported_language(creator.preferred_language) if creator else None) or settings.LANGUAGE_CODE


def _run(job: ImportJob) -> str:
    """The import of a queued job, in the language import_job_run made active; returns the final status."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())
    read = 0

    def counted(rows, handle):
        nonlocal read
        for row in rows:
            read += 1
            if read % PROGRESS_EVERY_ROWS == 0:
                # The import's transaction hides its rows until it commits: progress goes through the cache (which
                # degrades, never fails: config/cache.py). Bytes read give the share done; rows, what it means.
                cache.set(_progress_key(job.pk), (read, handle.tell()), PROGRESS_TTL_SECONDS)
            yield row

    try:
        with ExitStack() as files:

            def rows_from_start():
                """The file's rows from its first, through a fresh handle (the import may read it twice)."""
                nonlocal read
                read = 0
                handle = files.enter_context(default_storage.open(job.path, "rb"))
                return counted(rows_from_upload(handle, job.filename, job.campaign, _options(job)), handle)

            report = items_import(campaign_id=job.campaign_id, rows=rows_from_start(), reopen=rows_from_start)
    except DomainError as exc:
        errors = exc.fields.get("rows") if isinstance(exc.fields.get("rows"), list) else []
        count = exc.fields.get("error_count", len(errors))
        _failed(job, read, exc.message, exc.code, count, errors)
        return ImportJob.Status.FAILED
    except OSError as exc:  # the stored upload is gone or unreadable: nothing was imported
        message = _("The uploaded file could not be read (%(error)s).") % {"error": type(exc).__name__}
        _failed(job, read, message, "unreadable", 0, [])
        return ImportJob.Status.FAILED
    with transaction.atomic():  # the job's new status and its webhook event commit together
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FINISHED,
            rows_read=read,
            created=report.created,
            skipped=report.skipped,
            note_count=report.note_count,
            notes=report.notes,
            finished_at=timezone.now(),
        )
        data = {**_job_data(job), "rows_read": read, "created": report.created, "skipped": report.skipped}
        event_emit(organization_id=job.campaign.organization_id, event_type=IMPORT_FINISHED, data=data)
    return ImportJob.Status.FINISHED


def _job_data(job: ImportJob) -> dict:
    return {"import": job.id, "campaign": job.campaign_id, "filename": job.filename}


def _failed(job: ImportJob, read: int, message: str, code: str, count: int, errors: list) -> None:
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            rows_read=read,
            message=message[:1000],
            error_code=code[:40],
            error_count=count,
            errors=errors[:MAX_REPORTED_ERRORS],
            finished_at=timezone.now(),
        )
        data = {**_job_data(job), "rows_read": read, "error_code": code[:40], "message": message[:1000]}
        data["error_count"] = count
        event_emit(organization_id=job.campaign.organization_id, event_type=IMPORT_FAILED, data=data)


def import_job_progress(job: ImportJob) -> tuple[int, int]:
    """(rows read, bytes read) so far: all of the file once the job ended, the running counts while it runs."""
    if job.status in (ImportJob.Status.FINISHED, ImportJob.Status.FAILED):
        return job.rows_read, job.size if job.status == ImportJob.Status.FINISHED else 0
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.PREVIEW):
        return 0, 0
    rows, read_bytes = cache.get(_progress_key(job.pk)) or (0, 0)
    return rows, min(read_bytes, job.size)


FILES_KEPT_AFTER_END = timedelta(days=1)  # time to look into a failed file; its items (or errors) are stored
PREVIEWS_KEPT = timedelta(days=7)  # an upload nobody started


def import_jobs_clean(*, now: datetime | None = None) -> int:
    """Delete the stored uploads nobody needs any more: those of imports that ended a day ago (the job row stays,
    with what it did) and uploads left on their preview for a week (their job goes too). Returns how many files
    were removed. Safe to run at any time: a running or queued job's file is never touched."""
    now = now or timezone.now()
    removed = 0
    ended = ImportJob.objects.filter(
        status__in=(ImportJob.Status.FINISHED, ImportJob.Status.FAILED), finished_at__lt=now - FILES_KEPT_AFTER_END
    ).exclude(path="")
    for job in ended.only("id", "path"):
        default_storage.delete(job.path)
        ImportJob.objects.filter(pk=job.pk).update(path="")
        removed += 1
    stale = ImportJob.objects.filter(status=ImportJob.Status.PREVIEW, created_at__lt=now - PREVIEWS_KEPT)
    for job in stale.only("id", "path"):
        if job.path:
            default_storage.delete(job.path)
            removed += 1
        job.delete()
    return removed
