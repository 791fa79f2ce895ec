"""Organization archives as background jobs: an owner asks, a Celery job writes one zip under ARCHIVE_ROOT
(crowd/archive_files.py says what is in it) while the job row shows its progress, the owner downloads it, and a
beat job removes zips ARCHIVE_KEEP_DAYS after they were built."""

import logging
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.archive_contents import archive_write
from crowd.exceptions import Conflict
from crowd.models import ArchiveJob, Organization

logger = logging.getLogger(__name__)

RUNNING_MAX = 1  # one archive at a time per organization: each reads everything it holds


def archive_path(job: ArchiveJob) -> Path:
    return Path(settings.ARCHIVE_ROOT) / job.path


def archive_job_create(*, organization_id: int, created_by_id: int | None) -> ArchiveJob:
    """Queue an archive of the organization once this transaction commits. Locks the organization's row so two
    requests cannot both start one; Conflict while another of its archives is queued or running."""
    from crowd.tasks import archive_job_run

    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization_id)
        busy = ArchiveJob.objects.filter(
            organization_id=organization_id, status__in=(ArchiveJob.Status.QUEUED, ArchiveJob.Status.RUNNING)
        ).exists()
        if busy:
            raise Conflict(_("An archive of this organization is already being built; wait for it to finish."))
        job = ArchiveJob.objects.create(organization_id=organization_id, created_by_id=created_by_id)
        archive_job_run.delay_on_commit(job.id)
    return job


def archive_job_run(*, job_id: int) -> str:
    """Build the job's zip (idempotent: a finished job is left alone; a redelivered one starts the file again).
    Progress is written to the job row as it goes; a failure is recorded on the job and the partial file removed."""
    with transaction.atomic():
        job = ArchiveJob.objects.select_for_update().select_related("organization").get(pk=job_id)
        if job.status in (ArchiveJob.Status.DONE, ArchiveJob.Status.FAILED):
            return job.status
        job.status, job.started_at = ArchiveJob.Status.RUNNING, timezone.now()
        job.path = f"{job.organization_id}/archive-{job.id}.zip"
        job.save(update_fields=["status", "started_at", "path"])
    target = archive_path(job)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")

    try:
        with (
            _snapshot(job.id) as progress,
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        ):
            rows = archive_write(archive, organization=job.organization, progress=progress)
        partial.replace(target)  # a download never sees half a file
    except Exception as exc:
        logger.exception("Archive %s failed", job.id)
        partial.unlink(missing_ok=True)
        ArchiveJob.objects.filter(pk=job.id).update(
            status=ArchiveJob.Status.FAILED, error=str(exc)[:2000], path="", finished_at=timezone.now()
        )
        return ArchiveJob.Status.FAILED
    ArchiveJob.objects.filter(pk=job.id).update(
        status=ArchiveJob.Status.DONE, size=target.stat().st_size, rows_written=rows, finished_at=timezone.now()
    )
    return ArchiveJob.Status.DONE


@contextmanager
def _snapshot(job_id: int) -> Iterator[Callable[[int, int, int], None]]:
    """Every file of the archive read at one moment, and a way to report progress meanwhile.

    On PostgreSQL, from autocommit (a Celery job), the whole build is one REPEATABLE READ, READ ONLY transaction:
    an answer stored halfway through is in none of the files rather than in answers.csv and not in results.csv.
    Progress then goes through a connection of its own, committed at once, since the reading transaction's writes
    would be seen by nobody until the end. Elsewhere (SQLite, or a caller already in a transaction) the reads run
    as they are and progress is written on the same connection."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:

        def progress(done: int, total: int, rows: int) -> None:
            ArchiveJob.objects.filter(pk=job_id).update(campaigns_done=done, campaigns_total=total, rows_written=rows)

        yield progress
        return
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    table = ArchiveJob._meta.db_table

    def progress(done: int, total: int, rows: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET campaigns_done = %s, campaigns_total = %s, rows_written = %s WHERE id = %s",
                [done, total, rows, job_id],
            )

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield progress
    finally:
        side.close()


def archive_jobs_clean(*, now: datetime | None = None) -> int:
    """Remove the zips of archives built more than ARCHIVE_KEEP_DAYS ago (the job row stays, without a file), and
    mark jobs stuck running for a day as failed. Returns how many files were removed."""
    now = now or timezone.now()
    removed = 0
    old = ArchiveJob.objects.filter(finished_at__lt=now - timedelta(days=settings.ARCHIVE_KEEP_DAYS)).exclude(path="")
    for job in old.only("id", "path"):
        archive_path(job).unlink(missing_ok=True)
        ArchiveJob.objects.filter(pk=job.pk).update(path="")
        removed += 1
    stuck = ArchiveJob.objects.filter(status=ArchiveJob.Status.RUNNING, started_at__lt=now - timedelta(days=1))
    for job in stuck.only("id", "path"):
        if job.path:
            archive_path(job).with_suffix(".part").unlink(missing_ok=True)
        ArchiveJob.objects.filter(pk=job.pk).update(
            status=ArchiveJob.Status.FAILED, error="Abandoned: the job stopped running.", path="", finished_at=now
        )
    return removed
