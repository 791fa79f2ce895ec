"""The organization's data going out: raw answers (API pages and streamed exports), the pool listing, and the
organization archive checked file by file against the database."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from crowd.archive_files import COLUMNS, FILES
from crowd.models import Annotator, Answer, ArchiveJob, Item
from crowd.services.answers import answer_submit
from crowd.services.approvals import assignment_approve
from crowd.services.archives import archive_job_create, archive_job_run, archive_jobs_clean, archive_path
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.payouts import payout_batch_create
from tests import factories
from tests.factories import assert_error
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def archive_root(settings, tmp_path):
    settings.ARCHIVE_ROOT = tmp_path / "archives"
    return settings.ARCHIVE_ROOT


def _work(campaign, worker, label: str = "pos", approve: bool = False):
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    if lease is None:
        return None
    items = list(lease.entries.values_list("item_id", flat=True))
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": label} for i in items])
    if approve:
        assignment_approve(assignment_id=lease.id, decided_by_id=None, organization_ids=[campaign.organization_id])
    return lease


@pytest.fixture
def answered(org_key):
    """A campaign with a pre-labelled item and a gold item, answered by two workers."""
    organization = org_key[0]
    campaign = factories.campaign(organization=organization, items=4, redundancy=2, max_redundancy=2, gold_ratio=0.5)
    Item.objects.filter(campaign=campaign, external_id="t0").update(
        prelabel="pos", prelabel_model="triage-v2", prelabel_score=0.8
    )
    Item.objects.filter(campaign=campaign, external_id="t1").update(gold="neg")
    from crowd.services.campaigns import campaign_launch

    campaign = campaign_launch(campaign_id=campaign.id)
    first, _ = factories.worker(username="first-worker", organization=organization)
    second, _ = factories.worker(username="second-worker", organization=organization)
    for worker in (first, second):
        for _ in range(4):
            _work(campaign, worker, approve=True)
    return campaign, first, second


def test_answers_api_pages_every_answer_with_pseudonyms_gold_and_prelabels(org_api, answered):
    campaign = answered[0]
    url = f"/api/v1/campaigns/{campaign.id}/answers/"

    page = org_api.get(url, {"limit": 3}).json()
    rows = page["results"]
    while page["next"]:
        page = org_api.get(page["next"]).json()
        rows += page["results"]

    stored = list(Answer.objects.filter(campaign=campaign).select_related("item").order_by("id"))
    assert [r["answer"] for r in rows] == [a.id for a in stored]
    for row, answer in zip(rows, stored, strict=True):
        assert row["annotator"] == pseudonym(campaign.organization_id, answer.worker_id)
        assert row["external_id"] == answer.item.external_id and row["label"] == answer.label
        assert row["gold"] is answer.is_gold
        assert row["correct"] == ((answer.label == answer.item.gold) if answer.is_gold else None)
        assert row["prelabel"] == answer.item.prelabel and row["seconds_on_task"] == answer.seconds_on_task
    assert any(r["prelabel_model"] == "triage-v2" for r in rows)
    assert any(r["gold"] and r["correct"] is False for r in rows)  # the gold item is "neg"; everyone said "pos"
    assert "worker" not in rows[0] and "first-worker" not in json.dumps(rows)


def test_answers_api_filters_by_pseudonym_gold_and_time(org_api, answered):
    campaign, first, _second = answered
    url = f"/api/v1/campaigns/{campaign.id}/answers/"
    mine = org_api.get(url, {"annotator": pseudonym(campaign.organization_id, first.id)}).json()["results"]
    assert {r["annotator"] for r in mine} == {pseudonym(campaign.organization_id, first.id)}
    assert len(mine) == Answer.objects.filter(campaign=campaign, worker=first).count()
    gold = org_api.get(url, {"gold": "true"}).json()["results"]
    assert gold and all(r["gold"] for r in gold)
    assert all(not r["gold"] for r in org_api.get(url, {"gold": "false"}).json()["results"])
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert org_api.get(url, {"since": later}).json()["results"] == []
    assert len(org_api.get(url, {"until": later}).json()["results"]) == Answer.objects.filter(campaign=campaign).count()
    # Another organization's pseudonym for the same worker names nobody here.
    assert org_api.get(url, {"annotator": pseudonym(campaign.organization_id + 1, first.id)}).json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"gold": "maybe"}, "gold"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00"}, "until"),
        ({"annotator": "bob"}, "annotator"),
        ({"limit": "0"}, "limit"),
        ({"after": "x"}, "after"),
    ],
)
def test_answers_api_refuses_bad_parameters(org_api, answered, query, field):
    campaign = answered[0]
    error = assert_error(org_api.get(f"/api/v1/campaigns/{campaign.id}/answers/", query), 400)
    assert field in error["fields"]


def test_answers_api_pages_by_cursor_and_still_reads_after(org_api, answered):
    campaign = answered[0]
    url = f"/api/v1/campaigns/{campaign.id}/answers/"
    ids = list(Answer.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    assert len(ids) > 4

    first = org_api.get(url, {"limit": 2}).json()
    assert [r["answer"] for r in first["results"]] == ids[:2] and first["next_cursor"] == ids[1]
    assert f"cursor={ids[1]}" in first["next"]
    second = org_api.get(url, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["answer"] for r in second["results"]] == ids[2:4]
    # `after`, the older name, reads the same page; its `next` moves on with `cursor` alone.
    older = org_api.get(url, {"limit": 2, "after": first["next_cursor"]}).json()
    assert older == second and "after=" not in older["next"]
    assert [r["answer"] for r in org_api.get(url, {"cursor": ids[-2]}).json()["results"]] == ids[-1:]
    # When both are given, `cursor` wins.
    assert [r["answer"] for r in org_api.get(url, {"cursor": ids[-2], "after": 0}).json()["results"]] == ids[-1:]
    last = org_api.get(url, {"cursor": ids[-2]}).json()
    assert last["next_cursor"] is None and last["next"] is None
    # A full last page says so: no `next` pointing at an empty page.
    full = org_api.get(url, {"limit": len(ids)}).json()
    assert len(full["results"]) == len(ids) and full["next"] is None
    # Filters stay on the following pages.
    gold = list(Answer.objects.filter(campaign=campaign, is_gold=True).order_by("id").values_list("id", flat=True))
    page = org_api.get(url, {"gold": "true", "limit": 1}).json()
    seen = [r["answer"] for r in page["results"]]
    while page["next"]:
        assert "gold=true" in page["next"]
        page = org_api.get(page["next"]).json()
        seen += [r["answer"] for r in page["results"]]
    assert seen == gold
    assert "cursor" in assert_error(org_api.get(url, {"cursor": "-1"}), 400)["fields"]


def test_answers_api_is_scoped_to_the_organization(other_org_api, answered):
    assert_error(other_org_api.get(f"/api/v1/campaigns/{answered[0].id}/answers/"), 404)


@pytest.mark.parametrize("fmt", ["answers", "answers-jsonl"])
def test_answers_export_streams_every_answer(org_api, answered, fmt):
    campaign = answered[0]
    response = org_api.get(f"/api/v1/campaigns/{campaign.id}/export/", {"format": fmt, "gold": "false"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    if fmt == "answers":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert list(rows[0]) == COLUMNS["answers.csv"]
    else:
        rows = [json.loads(line) for line in body.splitlines()]
    expected = Answer.objects.filter(campaign=campaign, is_gold=False).order_by("id")
    assert [int(r["answer"]) for r in rows] == list(expected.values_list("id", flat=True))
    assert {r["annotator"] for r in rows} == {
        pseudonym(campaign.organization_id, w) for w in expected.values_list("worker_id", flat=True)
    }
    assert "first-worker" not in body and "second-worker" not in body
    assert response["Content-Disposition"].endswith(f'answers.{"csv" if fmt == "answers" else "jsonl"}"')


def test_pool_lists_only_the_workers_the_organization_enrolled(org_api, org_key, other_org_api):
    organization = org_key[0]
    mine = [factories.worker(username=f"mine-{i}", organization=organization)[0] for i in range(3)]
    factories.worker(username="someone-elses")  # enrolled by another organization
    other_url = "/api/v1/workers/"

    first = org_api.get(other_url, {"limit": 2}).json()
    second = org_api.get(first["next"]).json()

    rows = first["results"] + second["results"]
    assert [r["id"] for r in rows] == [u.id for u in mine] and second["next"] is None
    assert first["next_cursor"] == mine[1].id and second["next_cursor"] is None
    # `after`, the older name of `cursor`, still reads the following page.
    assert org_api.get(other_url, {"limit": 2, "after": mine[1].id}).json() == second
    assert org_api.get(other_url, {"limit": 2, "cursor": mine[0].id}).json()["results"] == rows[1:]
    assert [r["username"] for r in rows] == ["mine-0", "mine-1", "mine-2"]
    assert rows[0]["pseudonym"] == pseudonym(organization.id, mine[0].id)
    assert rows[0]["languages"] == [{"code": "en", "level": 5}] and rows[0]["created"]
    assert all(r["username"] != "someone-elses" for r in other_org_api.get(other_url).json()["results"])
    assert "mine-0" not in json.dumps(other_org_api.get(other_url).json())


def test_pool_listing_filters_by_username_language_and_enrolment_time(org_api, org_key, other_org_api):
    organization = org_key[0]
    amina = factories.worker(username="amina-k", organization=organization, languages=(("sw", 4), ("en", 3)))[0]
    bello = factories.worker(username="bello", organization=organization, languages=(("ha", 5),))[0]
    kamau = factories.worker(username="kamau-amin", organization=organization, languages=(("sw", 2),))[0]
    url = "/api/v1/workers/"

    def listed(query: dict) -> list[int]:
        response = org_api.get(url, query)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert listed({"username": "AMIN"}) == [amina.id, kamau.id]
    assert listed({"language": "sw"}) == [amina.id, kamau.id]
    assert listed({"language": "ha"}) == [bello.id]
    assert listed({"language": "sw", "username": "kamau"}) == [kamau.id]
    assert listed({"created_after": "2999-01-01T00:00:00Z"}) == []
    assert listed({"created_before": "2999-01-01T00:00:00Z"}) == [amina.id, bello.id, kamau.id]
    page = org_api.get(url, {"language": "sw", "limit": 1}).json()
    assert [r["id"] for r in page["results"]] == [amina.id] and "language=sw" in page["next"]
    assert [r["id"] for r in org_api.get(page["next"]).json()["results"]] == [kamau.id]
    assert "created_after" in assert_error(org_api.get(url, {"created_after": "soon"}), 400)["fields"]
    assert other_org_api.get(url, {"username": "amin"}).json()["results"] == []


def test_pool_listing_refuses_workers_and_bad_cursors(org_api, make_worker):
    _, worker = make_worker()
    assert_error(worker.get("/api/v1/workers/"), 403)
    assert "limit" in assert_error(org_api.get("/api/v1/workers/", {"limit": "5000"}), 400)["fields"]
    assert "cursor" in assert_error(org_api.get("/api/v1/workers/", {"cursor": "x"}), 400)["fields"]
    assert "after" in assert_error(org_api.get("/api/v1/workers/", {"after": "x"}), 400)["fields"]
    # Another organization's pool is not there for this caller.
    other = factories.OrganizationFactory()
    assert_error(org_api.get("/api/v1/workers/", {"organization": other.id}), 404)


def _zip(job: ArchiveJob) -> zipfile.ZipFile:
    return zipfile.ZipFile(archive_path(job))


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_archive_holds_the_organization_data_as_the_database_does(
    org_api, org_key, answered, django_capture_on_commit_callbacks
):
    campaign, first, second = answered
    organization = org_key[0]
    Annotator.objects.create(
        campaign=campaign, kind="worker", worker=first, answers=4, accuracy=0.9, confusion=[[0.9, 0.1], [0.2, 0.8]]
    )
    payout_batch_create(
        organization_id=organization.id, created_by_id=None, currency="USD", threshold="0.01", reference="2026-12"
    )
    factories.campaign(organization=factories.OrganizationFactory(), items=2)  # another organization's

    with django_capture_on_commit_callbacks(execute=True):
        started = org_api.post("/api/v1/archive/", {}, format="json")
    assert started.status_code == 202
    status = org_api.get(f"/api/v1/archive/{started.json()['id']}/").json()
    assert status["status"] == "done" and status["download"].endswith(f"/api/v1/archive/{status['id']}/download/")
    assert status["campaigns_done"] == status["campaigns_total"] == 1
    download = org_api.get(status["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    data = b"".join(download.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())

    assert {
        "README.md",
        "organization.json",
        "campaigns.jsonl",
        "items.csv",
        "answers.csv",
        "results.csv",
        "annotators.csv",
        "ledger.csv",
        "payouts.csv",
        f"fairness/campaign-{campaign.id}.json",
        f"labelstudio/campaign-{campaign.id}.json",
        f"labelstudio/campaign-{campaign.id}-config.xml",
    } <= names
    readme = archive.read("README.md").decode()
    for spec in FILES:
        assert f"### {spec.name}" in readme
    for name, columns in COLUMNS.items():
        header = next(csv.reader(io.StringIO(archive.read(name).decode())))
        assert header == columns, name
        assert all(f"`{column}`" in readme for column in header)

    campaigns = [json.loads(line) for line in archive.read("campaigns.jsonl").decode().splitlines()]
    assert [(c["id"], c["name"], c["translations"]) for c in campaigns] == [
        (campaign.id, campaign.name, campaign.translations)
    ]
    items = _csv(archive, "items.csv")
    assert [(int(r["item"]), r["external_id"]) for r in items] == list(
        Item.objects.filter(campaign=campaign).order_by("id").values_list("id", "external_id")
    )
    answers = _csv(archive, "answers.csv")
    stored = list(Answer.objects.filter(campaign=campaign).order_by("id"))
    assert [(int(r["answer"]), r["annotator"], r["label"]) for r in answers] == [
        (a.id, pseudonym(organization.id, a.worker_id), a.label) for a in stored
    ]
    results = _csv(archive, "results.csv")
    assert {int(r["item"]) for r in results} == set(
        Item.objects.filter(campaign=campaign, gold__isnull=True).values_list("id", flat=True)
    )
    annotators = _csv(archive, "annotators.csv")
    assert annotators[0]["annotator"] == pseudonym(organization.id, first.id)
    assert json.loads(annotators[0]["confusion"]) == [[0.9, 0.1], [0.2, 0.8]]
    ledger = _csv(archive, "ledger.csv")
    assert sorted(int(r["entry"]) for r in ledger) == sorted(
        LedgerEntry.objects.filter(campaign__organization=organization)
        .values_list("id", flat=True)
        .union(
            LedgerEntry.objects.filter(organization=organization).values_list("id", flat=True),
            LedgerEntry.objects.filter(payout_batch__organization=organization).values_list("id", flat=True),
        )
    )
    assert {r["worker"] for r in ledger if r["worker"]} == {pseudonym(organization.id, w.id) for w in (first, second)}
    assert [r["reference"] for r in _csv(archive, "payouts.csv")] == ["2026-12"]
    assert len(json.loads(archive.read(f"labelstudio/campaign-{campaign.id}.json"))) == 4
    assert b"first-worker" not in data  # zip members are compressed: check the contents too
    for name in names:
        assert "first-worker" not in archive.read(name).decode() and "second-worker" not in archive.read(name).decode()


def test_archive_is_for_owners_one_at_a_time(org_key, answered, other_org_api, django_capture_on_commit_callbacks):
    organization = org_key[0]
    coordinator = factories.membership_client(organization=organization, role="coordinator")
    assert_error(coordinator.post("/api/v1/archive/", {}, format="json"), 403)
    assert ArchiveJob.objects.count() == 0
    job = archive_job_create(organization_id=organization.id, created_by_id=None)  # queued, not yet run
    owner = factories.membership_client(organization=organization, role="owner")
    assert_error(owner.post("/api/v1/archive/", {}, format="json"), 409)
    assert ArchiveJob.objects.count() == 1
    assert_error(owner.get(f"/api/v1/archive/{job.id}/download/"), 409)  # not built yet
    assert_error(coordinator.get(f"/api/v1/archive/{job.id}/"), 403)
    assert_error(other_org_api.get(f"/api/v1/archive/{job.id}/"), 404)
    assert_error(other_org_api.get(f"/api/v1/archive/{job.id}/download/"), 404)
    assert_error(owner.post("/api/v1/archive/", {"organization": "x"}, format="json"), 400)


def test_archive_failure_is_recorded_and_leaves_no_file(org_key, answered, monkeypatch, archive_root):
    job = archive_job_create(organization_id=org_key[0].id, created_by_id=None)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("crowd.services.archives.archive_write", broken)
    assert archive_job_run(job_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "disk full" in job.error and job.path == ""
    assert [p for p in archive_root.rglob("*") if p.is_file()] == []


def test_old_archives_are_cleaned(org_key, answered):
    job = archive_job_create(organization_id=org_key[0].id, created_by_id=None)
    archive_job_run(job_id=job.id)
    job.refresh_from_db()
    path = archive_path(job)
    assert path.exists()
    assert archive_jobs_clean() == 0
    assert archive_jobs_clean(now=timezone.now() + timedelta(days=10)) == 1
    job.refresh_from_db()
    assert not path.exists() and job.path == ""


def _normal(value: str):
    """A cell compared by meaning: numbers as numbers, JSON as JSON (PostgreSQL and Python spell both their way)."""
    try:
        return float(value)
    except ValueError:
        pass
    if value[:1] in ("{", "["):
        return json.loads(value)
    return value


def test_archive_tables_are_the_same_by_copy_and_by_python(org_key, answered, monkeypatch, archive_root):
    """On PostgreSQL the big tables are written by COPY; other databases use the Python writers: same rows."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    campaign = answered[0]
    Item.objects.filter(campaign=campaign, external_id="t2").update(
        external_id="=cmd", data={"text": "-1 apples", "n": 2}, expert_label="neg"
    )
    tables = []
    for use_copy in (True, False):
        monkeypatch.setattr("crowd.archive_copy.available", lambda use_copy=use_copy: use_copy)
        job = archive_job_create(organization_id=org_key[0].id, created_by_id=None)
        assert archive_job_run(job_id=job.id) == "done"
        job.refresh_from_db()
        with _zip(job) as archive:
            tables.append(
                {
                    name: [
                        [_normal(cell) for cell in row] for row in csv.reader(io.StringIO(archive.read(name).decode()))
                    ]
                    for name in ("items.csv", "answers.csv", "results.csv")
                }
            )
    by_copy, by_python = tables
    assert by_copy == by_python
    items = by_copy["items.csv"]
    assert any(row[2] == "'=cmd" for row in items)  # a formula made inert by both
    assert len(by_copy["answers.csv"]) == Answer.objects.filter(campaign=campaign).count() + 1


def test_archive_page_starts_shows_progress_and_downloads(org_key, answered, django_capture_on_commit_callbacks):
    from django.test import Client

    organization, owner, _key = org_key
    client = Client()
    client.force_login(owner)
    url = f"/manage/organizations/{organization.id}/archive/"
    assert "Build a new archive" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(url)
    assert started.status_code == 302 and started["Location"] == url
    job = ArchiveJob.objects.get(organization=organization)
    page = client.get(url).content.decode()
    assert job.status == "done" and f"/manage/archives/{job.id}/download/" in page
    download = client.get(f"/manage/archives/{job.id}/download/")
    assert download.status_code == 200
    assert "answers.csv" in zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()

    ArchiveJob.objects.filter(pk=job.pk).update(status="running")
    running = client.get(url).content.decode()
    assert 'http-equiv="refresh"' in running  # reloads itself while an archive is built
    again = client.post(url, follow=True).content.decode()
    assert "already being built" in again and ArchiveJob.objects.count() == 1


def test_the_pool_s_workers_are_named_by_pseudonym_in_paths_too(org_api, org_key):
    organization = org_key[0]
    worker, _ = factories.worker(username="by-pseudonym", organization=organization)
    shown = pseudonym(organization.id, worker.id)

    rotated = org_api.post(f"/api/v1/workers/{shown}/token/")
    link = org_api.post(f"/api/v1/workers/{shown}/login-link/")

    assert rotated.status_code == 201 and rotated.json()["id"] == worker.id
    assert link.status_code == 201 and link.json()["code"]
    assert_error(org_api.post(f"/api/v1/workers/{pseudonym(organization.id + 1, worker.id)}/token/"), 404)
    assert "worker" in assert_error(org_api.post("/api/v1/workers/someone/token/"), 400)["fields"]
