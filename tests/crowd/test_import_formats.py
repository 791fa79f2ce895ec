"""Imports of Label Studio's exports, column mappings and previews, through the API and into the database."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from crowd.models import Campaign, ImportJob, Item
from tests import factories
from tests.crowd.test_imports_labelstudio import LS_CSV, LS_JSON, LS_JSON_MIN
from tests.factories import assert_error


def _post(client, url: str, name: str, content: str | bytes, options: dict | str | None = None):
    body = {"file": SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)}
    if options is not None:
        body["options"] = options if isinstance(options, str) else json.dumps(options)
    return client.post(url, body, format="multipart")


def _import(client, campaign: Campaign, name: str, content, options=None):
    return _post(client, f"/api/v1/campaigns/{campaign.id}/items/", name, content, options)


@pytest.fixture
def sentiment(org_key) -> Campaign:
    return factories.campaign(organization=org_key[0], labels=["Positive", "Negative"])


def _items(campaign: Campaign) -> dict[str, Item]:
    return {item.external_id: item for item in Item.objects.filter(campaign=campaign)}


def test_label_studio_json_export_imports_with_predictions_as_prelabels(org_api, sentiment):
    response = _import(org_api, sentiment, "project-3-at-2025-05-02.json", LS_JSON)

    assert response.status_code == 201, response.content
    items = _items(sentiment)
    assert set(items) == {"101", "102"}
    assert items["101"].data == {"text": "Battery lasts two days, great phone."}  # no bookkeeping in data
    # Untrusted annotations: the humans' label as a pre-label, with how many agreed.
    assert items["101"].gold is None and items["101"].prelabel == "Positive"
    assert items["101"].prelabel_model == "labelstudio-annotations" and items["101"].prelabel_score == 1.0
    # The model's prediction, with its version and score.
    assert (items["102"].prelabel, items["102"].prelabel_model, items["102"].prelabel_score) == (
        "Negative",
        "sentiment-bert-v2",
        0.82,
    )


def test_trusted_label_studio_annotations_become_gold(org_api, sentiment):
    response = _import(org_api, sentiment, "export.json", LS_JSON, {"trusted": True})

    assert response.status_code == 201, response.content
    items = _items(sentiment)
    assert items["101"].gold == "Positive" and items["102"].gold is None


def test_label_studio_json_min_groups_a_tasks_annotations(org_api, sentiment):
    response = _import(org_api, sentiment, "export-min.json", LS_JSON_MIN, {"trusted": True})

    assert response.status_code == 201, response.content
    items = _items(sentiment)
    assert set(items) == {"101", "102", "104"}
    assert items["101"].gold == "Positive" and items["101"].data == {"text": "Battery lasts two days, great phone."}
    assert items["104"].gold is None


def test_label_studio_csv_with_two_annotations_per_task_is_one_item(
    org_api, sentiment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(org_api, f"/api/v1/campaigns/{sentiment.id}/imports/", "export.csv", LS_CSV, {"trusted": True})

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FINISHED, (job.message, job.errors)
    items = _items(sentiment)
    assert set(items) == {"101", "102", "104"}  # not "Duplicate of row 1"
    assert set(items["101"].data) == {"text"}  # annotator, lead_time, … stay out of data
    # Task 101's two annotators disagree: no gold, and the job says why.
    assert items["101"].gold is None and items["102"].gold == "Negative"
    assert job.note_count == 1 and "Positive" in job.notes[0]["message"]
    assert org_api.get(f"/api/v1/imports/{job.id}/").json()["notes"] == job.notes


def test_crowdloops_own_label_studio_export_imports_back(org_api, org_key, sentiment):
    rows = [
        {"external_id": "a", "data": {"text": "Nzuri sana"}},
        {"external_id": "g", "data": {"text": "Mbaya"}, "gold": "Negative"},
    ]
    _import(org_api, sentiment, "items.json", json.dumps(rows))
    Item.objects.filter(campaign=sentiment, external_id="a").update(result_label="Positive", confidence=0.9)
    exported = org_api.get(f"/api/v1/campaigns/{sentiment.id}/export/?format=labelstudio")
    body = b"".join(exported.streaming_content)
    target = factories.campaign(organization=org_key[0], labels=["Positive", "Negative"])

    response = _import(org_api, target, "crowdloop-labelstudio.json", body, {"trusted": True})

    assert response.status_code == 201, response.content
    items = _items(target)
    assert items["a"].data == {"text": "Nzuri sana"} and items["g"].data == {"text": "Mbaya"}
    # The crowd's own aggregated label is Crowdloop's prediction, not a model's: it does not come back as a
    # pre-label that would then vote on the same items; trusted gold does come back as gold.
    assert items["a"].prelabel is None and items["a"].gold is None
    assert items["g"].gold == "Negative"


def test_a_mapping_names_the_columns(org_api, sentiment):
    sheet = "sentence,answer,model,p\nNzuri,Positive,,\nMbaya,,bert,0.6\n"
    options = {"mapping": {"external_id": "", "text": "sentence", "gold": "answer"}}

    response = _import(org_api, sentiment, "sheet.csv", sheet, options)

    assert response.status_code == 201, response.content
    items = _items(sentiment)
    assert items["row-1"].data == {"text": "Nzuri"} and items["row-1"].gold == "Positive"
    assert items["row-2"].data == {"text": "Mbaya", "model": "bert", "p": "0.6"}  # unmapped columns stay in data


def test_a_flat_json_array_goes_through_the_mapping_too(org_api, sentiment):
    rows = [{"id": 5, "body": "Nzuri", "truth": "Positive"}]
    options = {"mapping": {"external_id": "id", "text": "body", "gold": "truth"}}

    assert _import(org_api, sentiment, "rows.json", json.dumps(rows), options).status_code == 201

    item = Item.objects.get(campaign=sentiment)
    assert (item.external_id, item.data, item.gold) == ("5", {"text": "Nzuri"}, "Positive")


@pytest.mark.parametrize(
    "options, field",
    [
        ("{not json", "options"),
        ('["a"]', "options"),
        ({"mapping": {"colour": "x"}}, "mapping"),
        ({"mapping": {"text": "missing"}}, "mapping"),
        ({"trusted": "yes"}, "trusted"),
        ({"ignore": "notes"}, "ignore"),
    ],
)
def test_bad_options_are_a_clear_400_and_nothing_is_stored(org_api, sentiment, options, field):
    error = assert_error(_import(org_api, sentiment, "s.csv", "external_id,text\na,x\n", options), 400)

    assert field in error["fields"]
    assert not Item.objects.exists()


def test_the_preview_shows_rows_and_errors_and_stores_nothing(org_api, sentiment):
    lines = ["external_id,text,gold"] + [f"r{i},text {i},{'Positive' if i != 3 else 'Maybe'}" for i in range(1, 30)]
    lines.append("r1,again,")

    response = _post(org_api, f"/api/v1/campaigns/{sentiment.id}/imports/preview/", "s.csv", "\n".join(lines))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["format"] == "csv" and body["columns"] == ["external_id", "text", "gold"]
    assert body["mapping"]["external_id"] == "external_id" and body["mapping"]["gold"] == "gold"
    assert len(body["rows"]) == 20 and body["rows"][0]["data"] == {"text": "text 1"}
    assert body["rows_checked"] == 30 and body["more"] is False
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "gold"), (30, "external_id")]
    assert not Item.objects.exists() and not ImportJob.objects.exists()


def test_the_preview_of_an_unreadable_file_is_a_clear_400(org_api, sentiment):
    url = f"/api/v1/campaigns/{sentiment.id}/imports/preview/"

    assert (
        "UTF-8"
        in assert_error(_post(org_api, url, "s.csv", "external_id,text\na,caf\xe9\n".encode("latin-1")), 400)["message"]
    )
    assert_error(_post(org_api, url, "s.xlsx", b"PK"), 400)


def test_a_duplicate_far_into_a_file_is_reported_with_both_rows(org_api, sentiment):
    lines = ["external_id,text"] + [f"r{i},t" for i in range(1, 5001)] + ["r17,again"]

    error = assert_error(_import(org_api, sentiment, "big.csv", "\n".join(lines)), 400, "invalid_rows")

    assert error["fields"]["rows"] == [{"row": 5001, "field": "external_id", "message": "Duplicate of row 17."}]
    assert not Item.objects.exists()


def test_image_items_imported_in_bulk_get_their_copies_queued(org_api, sentiment, django_capture_on_commit_callbacks):
    from crowd.models import ItemImage

    lines = ["external_id,image_url"] + [f"p{i},https://images.example/{i}.jpg" for i in range(3)]
    with django_capture_on_commit_callbacks() as queued:
        assert _import(org_api, sentiment, "photos.csv", "\n".join(lines)).status_code == 201

    assert ItemImage.objects.filter(item__campaign=sentiment).count() == 3
    assert len(queued) >= 3


def _rows(*ids: str) -> list[dict]:
    return [{"external_id": i, "data": {"text": f"text {i}"}} for i in ids]


def test_a_repeat_in_a_list_of_rows_names_both_rows_and_stores_nothing(sentiment):
    # A list can be read twice: the import COPYs straight into the items table and, when the unique index
    # refuses a repeat, reads it again through the staging table to say which rows repeat which.
    from crowd.exceptions import ValidationFailed
    from crowd.services.imports import items_import

    with pytest.raises(ValidationFailed) as refused:
        items_import(campaign_id=sentiment.id, rows=_rows("a", "b", "c", "b"))

    assert refused.value.fields["rows"] == [{"row": 4, "field": "external_id", "message": "Duplicate of row 2."}]
    assert not Item.objects.filter(campaign=sentiment).exists()


def test_known_ids_are_skipped_and_a_known_id_twice_is_still_a_repeat(sentiment):
    from crowd.exceptions import ValidationFailed
    from crowd.services.imports import items_import

    items_import(campaign_id=sentiment.id, rows=_rows("a", "b"))

    report = items_import(campaign_id=sentiment.id, rows=_rows("a", "c", "b", "d"))
    assert (report.created, report.skipped) == (2, 2)
    assert set(Item.objects.filter(campaign=sentiment).values_list("external_id", flat=True)) == set("abcd")

    with pytest.raises(ValidationFailed) as refused:
        items_import(campaign_id=sentiment.id, rows=_rows("e", "a", "a"))
    assert refused.value.fields["rows"][0]["row"] == 3
    assert not Item.objects.filter(campaign=sentiment, external_id="e").exists()


def test_a_background_import_that_repeats_an_id_reads_the_file_again_and_says_where(
    org_api, sentiment, django_capture_on_commit_callbacks
):
    content = "external_id,text\n" + "".join(f"r{i},t{i}\n" for i in range(1, 3001)) + "r2,again\n"
    with django_capture_on_commit_callbacks(execute=True):
        _post(org_api, f"/api/v1/campaigns/{sentiment.id}/imports/", "big.csv", content)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and job.rows_read == 3001
    assert job.errors == [{"row": 3001, "field": "external_id", "message": "Duplicate of row 2."}]
    assert not Item.objects.filter(campaign=sentiment).exists()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the direct COPY is PostgreSQL's")
def test_new_rows_go_straight_into_the_items_table_and_repeats_through_the_staging_table(sentiment, monkeypatch):
    from crowd.exceptions import ValidationFailed
    from crowd.services import import_store
    from crowd.services.imports import items_import

    staged = []
    original = import_store.CopyStore.__init__

    def counting(self, *args, **kwargs):
        staged.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(import_store.CopyStore, "__init__", counting)
    items_import(campaign_id=sentiment.id, rows=_rows("a", "b"))
    assert staged == [] and Item.objects.filter(campaign=sentiment).count() == 2

    with pytest.raises(ValidationFailed):  # the report itself is checked above; here only the path it took
        items_import(campaign_id=sentiment.id, rows=_rows("c", "c"))
    assert staged == [1]
