"""Results and exports through the REST API: labels after aggregation, cursor pages, streamed formats."""

import csv
import io
import json

import pytest

from crowd.models import Campaign, Item
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


def _base(campaign: Campaign) -> str:
    return f"/api/v1/campaigns/{campaign.id}/"


def _label_all(campaign: Campaign, labels_by_worker: list[dict[str, str]]) -> None:
    """Each worker labels every item through the real services; labels_by_worker maps external_id -> label."""
    for wanted in labels_by_worker:
        worker, _ = factories.worker()
        while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
            items = Item.objects.filter(id__in=claim.assignment.entries.values("item_id"))
            answers = [{"item": item.id, "label": wanted[item.external_id]} for item in items]
            answer_submit(worker=worker, assignment_id=claim.assignment.id, raw_answers=answers)


@pytest.fixture
def labeled(org_key) -> Campaign:
    """Three items, three workers: t0 pos/pos/neg, t1 neg/neg/neg, t2 pos/neg/pos; aggregated.

    A target confidence of 0.5 makes every item complete after its three answers (no extra redundancy).
    """
    campaign = factories.campaign(organization=org_key[0], items=3, launch=True, target_confidence=0.5)
    _label_all(
        campaign,
        [
            {"t0": "pos", "t1": "neg", "t2": "pos"},
            {"t0": "pos", "t1": "neg", "t2": "neg"},
            {"t0": "neg", "t1": "neg", "t2": "pos"},
        ],
    )
    campaign_aggregate(campaign_id=campaign.id)
    return campaign


def test_results_show_label_confidence_answers_and_votes(org_api, labeled):
    response = org_api.get(f"{_base(labeled)}results/")

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None and body["next"] is None
    results = {row["external_id"]: row for row in body["results"]}
    assert set(results) == {"t0", "t1", "t2"}
    assert results["t0"]["label"] == "pos"
    # Dawid-Skene posteriors: a split vote is less certain than a unanimous one, and both are probabilities.
    assert 0.5 < results["t0"]["confidence"] < results["t1"]["confidence"] <= 1.0
    assert results["t0"]["confidence"] == Item.objects.get(campaign=labeled, external_id="t0").confidence
    assert results["t0"]["votes"] == {"pos": 2, "neg": 1}
    assert results["t1"]["label"] == "neg"
    # (three workers who each disagree with the others a third of the time: even unanimity is not certainty)
    assert results["t1"]["votes"] == {"neg": 3}
    for row in body["results"]:
        assert row["answers"] == 3
        assert row["status"] == "complete"
        assert row["item"] == Item.objects.get(campaign=labeled, external_id=row["external_id"]).id
    assert Campaign.objects.get(pk=labeled.pk).status == "completed"


def test_results_before_aggregation_are_empty_labels(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=2, launch=True)

    rows = org_api.get(f"{_base(campaign)}results/").json()["results"]

    assert [(r["label"], r["confidence"], r["answers"], r["status"], r["votes"]) for r in rows] == [
        (None, None, 0, "open", {}),
        (None, None, 0, "open", {}),
    ]


def test_results_aggregate_on_commit_after_submit(org_key, make_worker, org_api, django_capture_on_commit_callbacks):
    campaign = factories.campaign(organization=org_key[0], items=1, redundancy=1, max_redundancy=1, launch=True)
    _, worker_api = make_worker()
    body = worker_api.post("/api/v1/assignments/next/", {}, format="json").json()
    answers = {"answers": [{"item": body["items"][0]["id"], "label": "neg"}]}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert worker_api.post(f"/api/v1/assignments/{body['id']}/submit/", answers, format="json").status_code == 200

    assert len(callbacks) >= 1
    [row] = org_api.get(f"{_base(campaign)}results/").json()["results"]
    # At max_redundancy the item completes even though one answer leaves Dawid-Skene unsure.
    assert (row["label"], row["answers"], row["status"]) == ("neg", 1, "complete")
    assert 0.5 <= row["confidence"] < 1.0


def test_results_leave_out_gold_items(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=2)
    org_api.post(f"{_base(campaign)}items/", [{"external_id": "g", "data": {"t": "x"}, "gold": "pos"}], format="json")

    rows = org_api.get(f"{_base(campaign)}results/").json()["results"]

    assert [row["external_id"] for row in rows] == ["t0", "t1"]


def test_results_cursor_walks_every_item_once(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=7)
    seen: list[str] = []
    url = f"{_base(campaign)}results/?limit=3"
    pages = 0

    while url:
        response = org_api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 3
        seen += [row["external_id"] for row in body["results"]]
        pages += 1
        url = body["next"]
        if url:
            assert f"cursor={body['next_cursor']}" in url and "limit=3" in url

    assert pages == 3
    assert sorted(seen) == sorted(f"t{i}" for i in range(7))
    assert len(seen) == len(set(seen)) == 7


def test_results_cursor_with_exact_page_size_ends_cleanly(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=4)

    first = org_api.get(f"{_base(campaign)}results/?limit=2").json()
    second = org_api.get(f"{_base(campaign)}results/?limit=2&cursor={first['next_cursor']}").json()

    assert [r["external_id"] for r in first["results"]] == ["t0", "t1"]
    assert [r["external_id"] for r in second["results"]] == ["t2", "t3"]
    assert second["next_cursor"] is None and second["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=abc", "cursor"),
        ("cursor=-1", "cursor"),
        ("cursor=1.5", "cursor"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_results_bad_paging_parameters_are_refused(org_api, org_key, query, field):
    campaign = factories.campaign(organization=org_key[0], items=1)

    error = assert_error(org_api.get(f"{_base(campaign)}results/?{query}"), 400, "validation_error")

    assert field in error["fields"]


def _export(org_api, campaign: Campaign, fmt: str):
    response = org_api.get(f"{_base(campaign)}export/?format={fmt}")
    assert response.status_code == 200, getattr(response, "content", b"")
    return response, b"".join(response.streaming_content).decode()


def test_export_csv(org_api, labeled):
    response, text = _export(org_api, labeled, "csv")

    assert response["Content-Type"].startswith("text/csv")
    assert f'campaign-{labeled.id}-results.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "item",
        "external_id",
        "label",
        "confidence",
        "answers",
        "status",
        "votes",
        "language",
        "data",
        "decided_by",
        "accepted_on_model",
    ]
    by_id = {row["external_id"]: row for row in rows}
    assert set(by_id) == {"t0", "t1", "t2"}
    assert by_id["t0"]["label"] == "pos"
    assert float(by_id["t0"]["confidence"]) == Item.objects.get(campaign=labeled, external_id="t0").confidence
    assert (by_id["t0"]["answers"], by_id["t0"]["status"], by_id["t0"]["language"]) == ("3", "complete", "en")
    assert json.loads(by_id["t0"]["votes"]) == {"pos": 2, "neg": 1}
    assert json.loads(by_id["t1"]["data"]) == {"text": "text 1"}


def test_export_csv_is_the_default_format(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=1)

    response = org_api.get(f"{_base(campaign)}export/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_export_jsonl(org_api, labeled):
    response, text = _export(org_api, labeled, "jsonl")

    assert response["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in text.splitlines()]
    assert [row["external_id"] for row in rows] == ["t0", "t1", "t2"]
    assert rows[1] == {
        "item": Item.objects.get(campaign=labeled, external_id="t1").id,
        "external_id": "t1",
        "label": "neg",
        "confidence": Item.objects.get(campaign=labeled, external_id="t1").confidence,
        "answers": 3,
        "status": "complete",
        "votes": {"neg": 3},
        "language": "en",
        "data": {"text": "text 1"},
        "decided_by": None,
        "accepted_on_model": None,
    }


def test_export_json(org_api, labeled):
    response, text = _export(org_api, labeled, "json")

    assert response["Content-Type"] == "application/json"
    rows = json.loads(text)
    assert [(row["external_id"], row["label"]) for row in rows] == [("t0", "pos"), ("t1", "neg"), ("t2", "pos")]


def test_export_json_of_an_empty_campaign_is_an_empty_array(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0])

    _, text = _export(org_api, campaign, "json")

    assert json.loads(text) == []


@pytest.mark.parametrize("fmt", ["xml", "parquet", "CSV"])
def test_export_unknown_format_is_refused(org_api, org_key, fmt):
    campaign = factories.campaign(organization=org_key[0], items=1)

    error = assert_error(org_api.get(f"{_base(campaign)}export/?format={fmt}"), 400, "validation_error")

    assert "format" in error["fields"]


def test_aggregate_endpoint_queues_and_runs(org_api, org_key, django_capture_on_commit_callbacks):
    campaign = factories.campaign(organization=org_key[0], items=1, launch=True, target_confidence=0.5)
    _label_all(campaign, [{"t0": "neg"}, {"t0": "neg"}, {"t0": "pos"}])
    assert Item.objects.get(campaign=campaign).result_label is None

    with django_capture_on_commit_callbacks(execute=True):
        response = org_api.post(f"{_base(campaign)}aggregate/")

    assert response.status_code == 202
    assert response.json() == {"status": "queued", "campaign": campaign.id}
    item = Item.objects.get(campaign=campaign)
    assert (item.result_label, item.votes, item.status) == ("neg", {"neg": 2, "pos": 1}, "complete")


def test_aggregate_without_answers_changes_nothing(org_api, org_key, django_capture_on_commit_callbacks):
    campaign = factories.campaign(organization=org_key[0], items=1, launch=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert org_api.post(f"{_base(campaign)}aggregate/").status_code == 202

    item = Item.objects.get(campaign=campaign)
    assert (item.result_label, item.status) == (None, "open")
    assert Campaign.objects.get(pk=campaign.pk).status == "active"


def test_results_free_text_groups_case_and_spacing(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=1, task_type="free_text", labels=[], launch=True)
    _label_all(campaign, [{"t0": "Nairobi"}, {"t0": " nairobi  "}, {"t0": "Mombasa"}])
    campaign_aggregate(campaign_id=campaign.id)

    [row] = org_api.get(f"{_base(campaign)}results/").json()["results"]
    _, text = _export(org_api, campaign, "labelstudio")

    assert row["label"].strip().casefold() == "nairobi"
    assert row["votes"] == {"nairobi": 2, "mombasa": 1}
    assert row["confidence"] == pytest.approx(2 / 3)
    [result] = json.loads(text)[0]["predictions"][0]["result"]
    assert (result["type"], result["value"]) == ("textarea", {"text": [row["label"]]})
