"""The organization archive reads one moment of the database while the service keeps writing (PostgreSQL, real
threads): work stored during the build is in none of its files, and the job's progress is visible meanwhile."""

import csv
import io
import threading
import zipfile

import pytest
from django.db import connection

from crowd.models import Answer, ArchiveJob
from crowd.services.answers import answer_submit
from crowd.services.archives import archive_job_run, archive_path
from crowd.services.campaigns import campaign_launch
from crowd.services.organizations import organization_ensure
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def archive_root(settings, tmp_path):
    settings.ARCHIVE_ROOT = tmp_path / "archives"
    return settings.ARCHIVE_ROOT


def _answer(campaign, worker) -> int:
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    items = list(lease.entries.values_list("item_id", flat=True))
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
    return lease.id


def _in_thread(work):
    """Run `work` on another thread, hence on another database connection, committing on its own."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # reported in the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_work_stored_during_the_build_is_in_none_of_the_files(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.fail("the archive's snapshot is PostgreSQL's; run the suite with DATABASE_URL=postgres://…")
    organization, _owner = organization_ensure(name="Snapshot NGO", owner_email="owner@snapshot.example")
    campaign = factories.campaign(organization=organization, items=3, redundancy=2, max_redundancy=2)
    campaign = campaign_launch(campaign_id=campaign.id)
    early, _ = factories.worker(username="early-worker", organization=organization)
    late, _ = factories.worker(username="late-worker", organization=organization)
    for _ in range(3):
        _answer(campaign, early)
    before = set(Answer.objects.filter(campaign=campaign).values_list("id", flat=True))
    job = ArchiveJob.objects.create(organization=organization)  # queued; run below as the Celery job would

    import crowd.archive_copy as archive_copy

    original = archive_copy.copy_answers
    seen: dict = {}

    def copy_answers_while_work_goes_on(handle, campaign_):
        if not seen:
            # Halfway through the build: another connection sees the progress so far and stores new work.
            seen["rows"] = _in_thread(lambda: ArchiveJob.objects.get(pk=job.id).rows_written)
            seen["lease"] = _in_thread(lambda: _answer(campaign, late))
        return original(handle, campaign_)

    monkeypatch.setattr(archive_copy, "copy_answers", copy_answers_while_work_goes_on)
    assert archive_job_run(job_id=job.id) == ArchiveJob.Status.DONE

    assert seen["rows"] == 3  # items.csv's rows, reported before the answers were read
    stored_now = set(Answer.objects.filter(campaign=campaign).values_list("id", flat=True))
    assert stored_now > before  # the late work was stored...
    job.refresh_from_db()
    with zipfile.ZipFile(archive_path(job)) as archive:
        answers = list(csv.DictReader(io.StringIO(archive.read("answers.csv").decode())))
        ledger = list(csv.DictReader(io.StringIO(archive.read("ledger.csv").decode())))
    assert {int(row["answer"]) for row in answers} == before  # ...and is in none of the archive's files
    assert LedgerEntry.objects.filter(assignment_id=seen["lease"]).exists()
    assert str(seen["lease"]) not in {row["assignment"] for row in ledger}
    assert job.status == ArchiveJob.Status.DONE and job.campaigns_done == job.campaigns_total == 1
