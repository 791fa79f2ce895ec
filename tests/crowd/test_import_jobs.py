"""Background imports: a file goes to a Celery job that imports it all or nothing and reports its progress; broken,
truncated and mis-encoded files fail with their reason and leave no item behind."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crowd.models import Campaign, ImportJob, Item
from crowd.services import import_jobs
from crowd.services.import_jobs import import_job_progress, import_job_run
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(org_key) -> Campaign:
    return factories.campaign(organization=org_key[0], labels=["pos", "neg"])


def _send(client, campaign: Campaign, name: str, content: bytes | str, capture):
    raw = content.encode() if isinstance(content, str) else content
    with capture(execute=True):  # the job is queued on commit; Celery runs in process in the tests
        return client.post(
            f"/api/v1/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile(name, raw)}, format="multipart"
        )


CSV = "external_id,text,language\nm1,Homa kali,sw\nm2,Kichwa kinauma,sw\nm3,Sore throat,en\n"


def test_a_file_is_imported_in_the_background_and_the_job_says_what_it_did(
    org_api, campaign, django_capture_on_commit_callbacks
):
    response = _send(org_api, campaign, "messages.csv", CSV, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert response["Location"] == f"/api/v1/imports/{job.id}/"
    followed = org_api.get(response["Location"]).json()
    assert (followed["status"], followed["created"], followed["skipped"], followed["rows_read"]) == (
        "finished",
        3,
        0,
        3,
    )
    assert followed["errors"] == [] and followed["finished_at"]
    assert followed["bytes_read"] == followed["size"] == len(CSV)
    assert sorted(Item.objects.filter(campaign=campaign).values_list("external_id", flat=True)) == ["m1", "m2", "m3"]
    listed = org_api.get(f"/api/v1/campaigns/{campaign.id}/imports/").json()
    assert [entry["id"] for entry in listed["results"]] == [job.id]


def test_importing_the_file_again_skips_what_is_there(org_api, campaign, django_capture_on_commit_callbacks):
    _send(org_api, campaign, "messages.csv", CSV, django_capture_on_commit_callbacks)
    more = CSV + "m4,Tumbo linauma,sw\n"
    sent = _send(org_api, campaign, "messages.csv", more, django_capture_on_commit_callbacks)
    second = org_api.get(sent["Location"]).json()
    assert (second["status"], second["created"], second["skipped"]) == ("finished", 1, 3)
    assert Item.objects.filter(campaign=campaign).count() == 4


@pytest.mark.parametrize(
    ("name", "content", "code", "says"),
    [
        ("bad.csv", "external_id,text\nm1,ok\nm1,again\n,no id\n", "invalid_rows", "Row 2"),
        ("latin1.csv", "external_id,text\nm1,caf\xe9\n".encode("latin-1"), "validation_error", "UTF-8"),
        ("cut.json", '[{"external_id": "m1", "data": {"text": "ok"}}, {"external_id": "m2", "da', "", ""),
        ("cut.jsonl", '{"external_id": "m1", "data": {"text": "ok"}}\n{"external_id": "m2"', "", ""),
        ("empty.csv", "", "", ""),
    ],
)
def test_a_broken_file_fails_with_its_reason_and_nothing_is_stored(
    org_api, campaign, django_capture_on_commit_callbacks, name, content, code, says
):
    response = _send(org_api, campaign, name, content, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    job = org_api.get(response["Location"]).json()
    assert job["status"] == "failed"
    assert job["message"] and job["finished_at"]
    if code:
        assert job["error_code"] == code
    if says:
        assert says in job["message"]
    assert not Item.objects.exists()


def test_row_errors_are_listed_with_their_numbers_and_counted(org_api, campaign, django_capture_on_commit_callbacks):
    rows = "external_id,text\n" + "".join(f",no id {n}\n" for n in range(60))
    job = org_api.get(_send(org_api, campaign, "many.csv", rows, django_capture_on_commit_callbacks)["Location"])
    body = job.json()
    assert body["error_count"] == 60
    assert len(body["errors"]) == 50  # the first ones, each with its row
    assert body["errors"][0]["row"] == 1 and body["errors"][0]["field"] == "external_id"


def test_an_unreadable_file_type_is_refused_at_once_and_nothing_is_queued(org_api, campaign):
    response = org_api.post(
        f"/api/v1/campaigns/{campaign.id}/imports/",
        {"file": SimpleUploadedFile("sheet.xlsx", b"PK\x03\x04")},
        format="multipart",
    )
    assert_error(response, 400, "validation_error")
    assert not ImportJob.objects.exists()
    assert_error(org_api.post(f"/api/v1/campaigns/{campaign.id}/imports/", {}, format="multipart"), 400)


LONG_NAMES = ["messages-" + "x" * 300 + ".csv", "Ujumbe wa kliniki " + "ü" * 200 + ".csv"]


@pytest.mark.parametrize("name", LONG_NAMES)
def test_a_file_with_a_name_longer_than_the_disk_takes_is_imported(
    org_api, campaign, django_capture_on_commit_callbacks, name
):
    response = _send(org_api, campaign, name, CSV, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert (job.status, job.created) == ("finished", 3)
    assert job.filename.endswith(".csv") and len(job.filename) == 200 and job.filename.startswith(name[:100])


@pytest.mark.parametrize("name", LONG_NAMES)
def test_the_web_upload_of_a_long_named_file_shows_its_preview(org_key, campaign, name):
    client = Client()
    client.force_login(org_key[1])

    response = client.post(
        f"/manage/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile(name, CSV.encode())}
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/manage/imports/{job.id}/"
    preview = client.get(response["Location"])
    assert preview.status_code == 200 and len(preview.context["rows"]) == 3


def test_imports_belong_to_their_organization(org_api, other_org_api, campaign, django_capture_on_commit_callbacks):
    response = _send(org_api, campaign, "messages.csv", CSV, django_capture_on_commit_callbacks)
    assert other_org_api.get(response["Location"]).status_code == 404
    assert other_org_api.get(f"/api/v1/campaigns/{campaign.id}/imports/").status_code == 404
    refused = other_org_api.post(
        f"/api/v1/campaigns/{campaign.id}/imports/", {"file": SimpleUploadedFile("x.csv", CSV.encode())}
    )
    assert refused.status_code == 404
    assert ImportJob.objects.count() == 1


def test_a_job_run_twice_imports_once(org_api, campaign, django_capture_on_commit_callbacks):
    response = _send(org_api, campaign, "messages.csv", CSV, django_capture_on_commit_callbacks)
    job_id = response.json()["id"]
    assert import_job_run(job_id=job_id) == "finished"  # a redelivered task finds the job done
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING)  # a worker lost half way
    assert import_job_run(job_id=job_id) == "finished"
    assert Item.objects.filter(campaign=campaign).count() == 3


def test_a_running_job_reports_the_rows_read_so_far(campaign, org_key):
    job = ImportJob.objects.create(campaign=campaign, path="imports/none.csv", filename="big.csv", size=1_000_000)
    assert import_job_progress(job) == (0, 0)  # queued
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.refresh_from_db()
    cache.set(import_jobs._progress_key(job.pk), (40_000, 400_000))
    assert import_job_progress(job) == (40_000, 400_000)


def test_a_file_gone_from_storage_fails_the_job_plainly(campaign):
    job = ImportJob.objects.create(campaign=campaign, path="imports/gone.csv", filename="gone.csv")
    assert import_job_run(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.error_code == "unreadable" and "could not be read" in job.message


def test_a_job_tells_watchers_how_far_it_is_while_it_runs(
    org_api, campaign, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY_ROWS", 1)
    response = _send(org_api, campaign, "messages.csv", CSV, django_capture_on_commit_callbacks)
    rows, read_bytes = cache.get(import_jobs._progress_key(response.json()["id"]))
    assert rows == 3 and 0 < read_bytes <= len(CSV)


def test_uploads_nobody_needs_are_deleted_and_running_ones_kept(campaign):
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from crowd.services.import_jobs import import_jobs_clean

    now = timezone.now()

    def job(status: str, **fields) -> ImportJob:
        path = default_storage.save(f"imports/{campaign.id}/{status}.csv", ContentFile(b"external_id,text\na,b\n"))
        return ImportJob.objects.create(campaign=campaign, path=path, filename=f"{status}.csv", status=status, **fields)

    done = job(ImportJob.Status.FINISHED, finished_at=now - dt.timedelta(days=2))
    recent = job(ImportJob.Status.FAILED, finished_at=now - dt.timedelta(hours=2))
    forgotten = job(ImportJob.Status.PREVIEW)
    ImportJob.objects.filter(pk=forgotten.pk).update(created_at=now - dt.timedelta(days=8))
    waiting = job(ImportJob.Status.PREVIEW)
    running = job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=running.pk).update(created_at=now - dt.timedelta(days=30))

    assert import_jobs_clean(now=now) == 2

    done.refresh_from_db()
    assert done.path == "" and not ImportJob.objects.filter(pk=forgotten.pk).exists()
    assert not default_storage.exists(forgotten.path)
    for kept in (recent, waiting, running):
        kept.refresh_from_db()
        assert default_storage.exists(kept.path)
