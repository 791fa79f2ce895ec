"""The coordinators' lists in cursor pages with django-filter filters: appeals, blocks, background imports,
annotators (with their ETag) and unsure items (paged by confidence, then id)."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from crowd.models import Annotator, Appeal, ImportJob, Item, WorkerBlock
from crowd.services.approvals import appeal_create, appeal_decide, assignment_reject
from crowd.services.blocks import worker_block
from crowd.services.imports import items_import
from tests import factories
from tests.crowd.test_coordinator_pages import submitted
from tests.factories import assert_error
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db


def _walk(client, url: str, limit: int) -> tuple[list[int], list[dict]]:
    """Every page of a list from its first, by following `next`: (the ids in order, the pages)."""
    pages = [client.get(f"{url}{'&' if '?' in url else '?'}limit={limit}").json()]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert pages[-1]["next_cursor"] is None
    return [row.get("id", row.get("item")) for page in pages for row in page["results"]], pages


def _set_created(model, ids: list[int], start) -> None:
    for step, row_id in enumerate(ids):
        model.objects.filter(pk=row_id).update(created_at=start + timedelta(days=step))


def _appeals(organization, owner, count: int):
    campaign = factories.campaign(organization=organization, launch=True, items=count, redundancy=1)
    appeals = []
    for _ in range(count):
        worker, lease = submitted(campaign)
        assignment_reject(
            assignment_id=lease.id, decided_by_id=owner.id, organization_ids=[organization.id], reason="Too fast"
        )
        appeals.append(appeal_create(worker=worker, assignment_id=lease.id, message="Please look again."))
    return campaign, appeals


def test_appeals_come_newest_first_in_pages_and_filter(org_key, org_api, other_org_api):
    organization, owner, _key = org_key
    campaign, appeals = _appeals(organization, owner, 3)
    elsewhere, (late,) = _appeals(organization, owner, 1)
    appeal_decide(appeal_id=appeals[0].id, decided_by_id=owner.id, organization_ids=[organization.id], overturn=False)
    newest_first = [late.id] + [a.id for a in reversed(appeals)]

    ids, pages = _walk(org_api, "/api/v1/appeals/", 3)
    assert ids == newest_first and len(pages) == 2  # no repeat, nothing skipped
    assert pages[0]["next_cursor"] == appeals[1].id

    listed = lambda query: [a["id"] for a in org_api.get(f"/api/v1/appeals/?{query}").json()["results"]]  # noqa: E731
    assert listed("status=open") == [late.id, appeals[2].id, appeals[1].id]
    assert listed("status=upheld") == [appeals[0].id]
    assert listed(f"campaign={elsewhere.id}") == [late.id]
    assert listed(f"campaign={campaign.id}&status=open") == [appeals[2].id, appeals[1].id]
    start = timezone.now() - timedelta(days=30)
    _set_created(Appeal, [a.id for a in appeals], start)
    assert listed(f"created_before={quote((start + timedelta(days=1)).isoformat())}") == [appeals[0].id]
    assert listed(f"created_after={quote((start + timedelta(days=2)).isoformat())}") == [late.id, appeals[2].id]

    assert "status" in assert_error(org_api.get("/api/v1/appeals/?status=pending"), 400)["fields"]
    assert "campaign" in assert_error(org_api.get("/api/v1/appeals/?campaign=first"), 400)["fields"]
    # An id is whole: a decimal is refused, not truncated into another campaign's id.
    assert "campaign" in assert_error(org_api.get(f"/api/v1/appeals/?campaign={elsewhere.id}.5"), 400)["fields"]
    assert "created_after" in assert_error(org_api.get("/api/v1/appeals/?created_after=soon"), 400)["fields"]
    assert other_org_api.get("/api/v1/appeals/").json()["results"] == []  # nobody else's appeals


def test_campaign_blocks_come_in_pages_and_filter_by_worker_and_time(org_key, org_api, other_org_api):
    organization, owner, _key = org_key
    campaign = factories.campaign(organization=organization)
    workers = [factories.worker(organization=organization)[0] for _ in range(4)]
    blocks = [
        worker_block(
            organization_id=organization.id,
            campaign_id=campaign.id if n % 2 else None,  # the campaign's own and the organization's, both listed
            worker_id=worker.id,
            reason=f"reason {n}",
            created_by_id=owner.id,
        )
        for n, worker in enumerate(workers)
    ]
    factories.campaign(organization=organization)  # another campaign's block is not listed
    url = f"/api/v1/campaigns/{campaign.id}/blocks/"
    worker_block(
        organization_id=organization.id,
        campaign_id=factories.campaign(organization=organization).id,
        worker_id=workers[0].id,
        reason="elsewhere",
        created_by_id=owner.id,
    )

    _ids, pages = _walk(org_api, url, 3)
    assert len(pages) == 2
    reasons = [row["reason"] for page in pages for row in page["results"]]
    assert reasons == ["reason 3", "reason 2", "reason 1", "reason 0"]  # newest first, each once

    shown = pseudonym(organization.id, workers[2].id)
    by_worker = org_api.get(f"{url}?worker={shown}").json()["results"]
    assert [(b["worker"], b["reason"]) for b in by_worker] == [(shown, "reason 2")]
    assert [b["reason"] for b in org_api.get(f"{url}?worker={workers[1].id}").json()["results"]] == ["reason 1"]
    stranger = pseudonym(organization.id + 1, workers[2].id)  # a pseudonym this organization does not know
    assert org_api.get(f"{url}?worker={stranger}").json()["results"] == []
    start = timezone.now() - timedelta(days=30)
    _set_created(WorkerBlock, [b.id for b in blocks], start)
    after = quote((start + timedelta(days=2)).isoformat())
    assert [b["reason"] for b in org_api.get(f"{url}?created_after={after}").json()["results"]] == [
        "reason 3",
        "reason 2",
    ]

    assert "worker" in assert_error(org_api.get(f"{url}?worker=somebody"), 400)["fields"]
    assert "created_before" in assert_error(org_api.get(f"{url}?created_before=later"), 400)["fields"]
    assert_error(other_org_api.get(url), 404)


def test_campaign_imports_come_newest_first_in_pages_and_filter_by_status(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0])
    statuses = ["finished", "failed", "finished", "running", "queued"]
    jobs = [
        ImportJob.objects.create(campaign=campaign, status=status, path=f"imports/{n}.csv", filename=f"{n}.csv")
        for n, status in enumerate(statuses)
    ]
    ImportJob.objects.create(campaign=factories.campaign(organization=org_key[0]), path="x", filename="x.csv")
    url = f"/api/v1/campaigns/{campaign.id}/imports/"

    ids, pages = _walk(org_api, url, 2)
    assert ids == [job.id for job in reversed(jobs)] and len(pages) == 3

    finished = org_api.get(f"{url}?status=finished").json()
    assert [j["id"] for j in finished["results"]] == [jobs[2].id, jobs[0].id] and finished["next"] is None
    assert [j["id"] for j in org_api.get(f"{url}?status=preview").json()["results"]] == []
    start = timezone.now() - timedelta(days=30)
    _set_created(ImportJob, [job.id for job in jobs], start)
    before = quote((start + timedelta(days=1)).isoformat())
    assert [j["id"] for j in org_api.get(f"{url}?created_before={before}").json()["results"]] == [jobs[0].id]

    assert "status" in assert_error(org_api.get(f"{url}?status=done"), 400)["fields"]
    assert_error(other_org_api.get(url), 404)


def _annotators(campaign, workers: int, models: int) -> list[Annotator]:
    rows = [
        Annotator.objects.create(campaign=campaign, kind="worker", worker=factories.worker()[0], answers=n)
        for n in range(workers)
    ]
    rows += [
        Annotator.objects.create(campaign=campaign, kind="model", model_name=f"model-{n}", answers=10)
        for n in range(models)
    ]
    return rows


def test_annotators_come_in_id_order_pages_and_filter_by_kind(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0])
    annotators = _annotators(campaign, workers=3, models=2)
    url = f"/api/v1/campaigns/{campaign.id}/annotators/"

    first = org_api.get(f"{url}?limit=2").json()
    rest = org_api.get(first["next"]).json()
    last = org_api.get(rest["next"]).json()
    names = [row["name"] for page in (first, rest, last) for row in page["results"]]
    assert names[3:] == ["model-0", "model-1"] and len(set(names)) == 5  # id order, each once
    assert first["next_cursor"] == annotators[1].id and last["next"] is None
    # An aggregation run rewrites the rows in place: the cursor keeps its place.
    Annotator.objects.filter(campaign=campaign, kind="worker").update(answers=99)
    assert [row["name"] for row in org_api.get(first["next"]).json()["results"]] == names[2:4]

    models = org_api.get(f"{url}?kind=model").json()["results"]
    assert [row["name"] for row in models] == ["model-0", "model-1"]
    workers = org_api.get(f"{url}?kind=worker").json()["results"]
    assert {row["kind"] for row in workers} == {"worker"} and len(workers) == 3
    assert "kind" in assert_error(org_api.get(f"{url}?kind=robot"), 400)["fields"]
    assert_error(other_org_api.get(url), 404)


def test_an_annotators_page_keeps_its_etag_until_it_changes(org_key, org_api):
    campaign = factories.campaign(organization=org_key[0])
    annotators = _annotators(campaign, workers=2, models=1)
    url = f"/api/v1/campaigns/{campaign.id}/annotators/?limit=2"

    first = org_api.get(url)
    etag = first["ETag"]
    unchanged = org_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""
    second_page = org_api.get(first.json()["next"], HTTP_IF_NONE_MATCH=etag)
    assert second_page.status_code == 200 and second_page["ETag"] != etag  # another page, another body
    Annotator.objects.filter(pk=annotators[2].id).update(answers=50)  # on the second page only
    assert org_api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    Annotator.objects.filter(pk=annotators[0].id).update(answers=50)
    changed = org_api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def _unsure(campaign, confidences: list[float]) -> list[int]:
    """Items answered with these confidences (below the campaign's target), in id order."""
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": f"u{n}", "data": {"text": "x"}, "language": "sw" if n % 2 else "en"}
            for n in range(len(confidences))
        ],
    )
    ids = list(Item.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True))
    for item_id, confidence in zip(ids, confidences, strict=True):
        Item.objects.filter(pk=item_id).update(answer_count=2, confidence=confidence)
    return ids


def test_unsure_items_page_by_confidence_then_id_with_no_repeat_or_gap(org_key, org_api, other_org_api):
    campaign = factories.campaign(organization=org_key[0], target_confidence=0.9)
    # Ties in confidence across a page boundary are where a cursor of the id alone would skip or repeat.
    confidences = [0.5, 0.3, 0.5, 0.1 + 0.2, 0.7, 0.5, 0.95]  # 0.1 + 0.2 is 0.30000000000000004, not 0.3
    ids = _unsure(campaign, confidences)
    url = f"/api/v1/campaigns/{campaign.id}/unsure/"
    expected = [ids[1], ids[3], ids[0], ids[2], ids[5], ids[4]]  # the least sure first, ties by id; 0.95 is sure

    for limit in (1, 2, 3, 4):
        walked, pages = _walk(org_api, url, limit)
        assert walked == expected, limit
        assert all(page["count"] == 6 for page in pages)
    first = org_api.get(f"{url}?limit=3").json()
    assert first["next_cursor"] == f"0.5:{ids[0]}" and "cursor=0.5%3A" in first["next"]

    # The row behind the cursor is decided (it leaves the list) and another's confidence rises: the next page
    # starts where the first ended all the same.
    Item.objects.filter(pk=ids[0]).update(expert_label="pos")
    Item.objects.filter(pk=ids[1]).update(confidence=0.6)
    rest = org_api.get(first["next"]).json()
    assert [r["item"] for r in rest["results"]] == [ids[2], ids[5], ids[1]] and rest["count"] == 5

    english = org_api.get(f"{url}?language=en").json()
    assert [r["item"] for r in english["results"]] == [ids[2], ids[4]] and english["count"] == 2
    assert org_api.get(f"{url}?language=fr").json() == {"results": [], "next_cursor": None, "next": None, "count": 0}

    for cursor in ("12", "high:3", "0.5:x", "0.5:"):
        assert "cursor" in assert_error(org_api.get(f"{url}?cursor={cursor}"), 400)["fields"], cursor
    assert "limit" in assert_error(org_api.get(f"{url}?limit=201"), 400)["fields"]
    assert_error(other_org_api.get(url), 404)


def test_the_schema_documents_the_lists_filters_with_their_types(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    def query(path: str) -> dict[str, dict]:
        parameters = schema["paths"][f"/api/v1/{path}"]["get"]["parameters"]
        return {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}

    appeals = query("appeals/")
    assert appeals["status"]["enum"] == ["open", "overturned", "upheld"] and appeals["campaign"]["type"] == "integer"
    assert appeals["created_after"] == appeals["created_before"] == {"type": "string", "format": "date-time"}
    assert {"worker", "created_after", "created_before", "cursor", "limit"} <= set(
        query("campaigns/{campaign_id}/blocks/")
    )
    assert "failed" in query("campaigns/{campaign_id}/imports/")["status"]["enum"]
    assert query("campaigns/{campaign_id}/annotators/")["kind"]["enum"] == ["model", "worker"]
    assert query("campaigns/{campaign_id}/unsure/")["cursor"]["type"] == "string"
    # Confidences are fractions: documented as numbers, not integers.
    results = query("campaigns/{campaign_id}/results/")
    assert results["confidence_below"]["type"] == results["confidence_at_least"]["type"] == "number"
