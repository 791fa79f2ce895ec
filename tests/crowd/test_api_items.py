"""Item import through the REST API: JSON, CSV and JSONL; idempotent, validated row by row, all or nothing."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crowd.models import Campaign, Item, MicroTask, MicroTaskItem
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


def _url(campaign: Campaign) -> str:
    return f"/api/v1/campaigns/{campaign.id}/items/"


def _upload(client, campaign: Campaign, name: str, content: bytes | str):
    raw = content.encode() if isinstance(content, str) else content
    return client.post(_url(campaign), {"file": SimpleUploadedFile(name, raw)}, format="multipart")


@pytest.fixture
def campaign(org_key) -> Campaign:
    return factories.campaign(organization=org_key[0], labels=["pos", "neg", "neutral"])


def test_items_import_json_array(org_api, campaign):
    rows = [
        {"external_id": "a1", "data": {"text": "Habari"}, "language": "swa"},
        {"external_id": 7, "data": {"text": "Hello", "source": "sms"}},
        {"external_id": "a3", "data": {"text": "Bonjour"}, "prelabel": {"model": "m1", "label": "pos", "score": 0.7}},
        {"external_id": "g1", "data": {"text": "Great!"}, "gold": "pos"},
    ]

    response = org_api.post(_url(campaign), rows, format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 4, "skipped": 0}
    items = {item.external_id: item for item in Item.objects.filter(campaign=campaign)}
    assert set(items) == {"a1", "7", "a3", "g1"}
    assert items["a1"].language == "sw"
    assert items["7"].data == {"text": "Hello", "source": "sms"}
    assert (items["a3"].prelabel, items["a3"].prelabel_model, items["a3"].prelabel_score) == ("pos", "m1", 0.7)
    assert items["g1"].gold == "pos" and items["a1"].gold is None


def test_items_import_csv_extra_columns_go_into_data(org_api, campaign):
    csv_text = (
        "external_id,text,region,language,gold,prelabel,prelabel_score,prelabel_model\r\n"
        "c1,Maji ni uhai,Kisumu,sw-KE,,neg,0.55,sentiment-v2\r\n"
        'c2,"Hello, world",Nairobi,en,pos,,,\r\n'
        "c3,Sawa,,,,,,\r\n"
    )

    response = _upload(org_api, campaign, "items.csv", csv_text)

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 3, "skipped": 0}
    c1, c2, c3 = Item.objects.filter(campaign=campaign).order_by("external_id")
    assert c1.data == {"text": "Maji ni uhai", "region": "Kisumu"}
    assert c1.language == "sw-KE"
    assert (c1.prelabel, c1.prelabel_score, c1.prelabel_model, c1.gold) == ("neg", 0.55, "sentiment-v2", None)
    assert c2.data == {"text": "Hello, world", "region": "Nairobi"}
    assert (c2.gold, c2.prelabel) == ("pos", None)
    assert c3.data == {"text": "Sawa"}  # empty cells are left out
    assert c3.language == ""


def test_items_import_csv_with_bom_and_multi_choice_labels(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], task_type="multi_choice", labels=["cat", "dog", "bird"])
    content = "\ufeffexternal_id,image_url,gold\nm1,https://img.example/1.jpg,dog|cat\n".encode()

    response = _upload(org_api, campaign, "ITEMS.CSV", content)

    assert response.status_code == 201, response.content
    item = Item.objects.get(campaign=campaign)
    assert (item.external_id, item.gold) == ("m1", ["cat", "dog"])
    assert item.data == {"image_url": "https://img.example/1.jpg"}


def test_items_import_jsonl_file(org_api, campaign):
    lines = [
        {"external_id": "j1", "data": {"text": "one"}},
        {"external_id": "j2", "data": {"text": "two"}, "gold": "neg"},
    ]
    content = "\n".join(json.dumps(line) for line in lines) + "\n\n"

    response = _upload(org_api, campaign, "items.jsonl", content)

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "skipped": 0}
    assert dict(Item.objects.filter(campaign=campaign).values_list("external_id", "gold")) == {"j1": None, "j2": "neg"}


def test_items_import_json_file(org_api, campaign):
    content = json.dumps([{"external_id": "f1", "data": {"text": "file"}}])

    response = _upload(org_api, campaign, "items.json", content)

    assert response.status_code == 201, response.content
    assert Item.objects.get(campaign=campaign).data == {"text": "file"}


def test_items_import_is_idempotent_on_external_id(org_api, campaign):
    rows = [{"external_id": f"r{i}", "data": {"text": f"text {i}"}} for i in range(3)]
    assert org_api.post(_url(campaign), rows, format="json").json() == {"created": 3, "skipped": 0}
    ids = set(Item.objects.filter(campaign=campaign).values_list("id", flat=True))

    again = [*rows, {"external_id": "r3", "data": {"text": "new"}}]
    response = org_api.post(_url(campaign), again, format="json")

    assert response.status_code == 201
    assert response.json() == {"created": 1, "skipped": 3}
    assert Item.objects.filter(campaign=campaign).count() == 4
    assert ids < set(Item.objects.filter(campaign=campaign).values_list("id", flat=True))


def test_items_import_same_external_id_in_two_campaigns(org_api, org_key, campaign):
    other = factories.campaign(organization=org_key[0])
    rows = [{"external_id": "shared", "data": {"text": "x"}}]

    assert org_api.post(_url(campaign), rows, format="json").json() == {"created": 1, "skipped": 0}
    assert org_api.post(_url(other), rows, format="json").json() == {"created": 1, "skipped": 0}


def test_items_import_into_active_campaign_packs_microtasks(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], items=2, launch=True)
    assert MicroTask.objects.filter(campaign=campaign).count() == 2

    response = org_api.post(_url(campaign), [{"external_id": "late", "data": {"text": "late"}}], format="json")

    assert response.status_code == 201
    late = Item.objects.get(campaign=campaign, external_id="late")
    assert MicroTaskItem.objects.filter(item=late).count() == 1
    assert MicroTask.objects.filter(campaign=campaign).count() == 3
    assert late.redundancy == campaign.redundancy


def test_items_import_malformed_csv_names_row_and_field_and_imports_nothing(org_api, campaign):
    org_api.post(_url(campaign), [{"external_id": "old", "data": {"text": "already here"}}], format="json")
    before = Item.objects.count()
    assert before == 1
    csv_text = "external_id,text,language\nok1,fine,en\nok2,fine too,en\nbad,broken,not-a-language!\nok3,fine,en\n"

    response = _upload(org_api, campaign, "items.csv", csv_text)

    error = assert_error(response, 400, "invalid_rows")
    assert "Row 3" in error["message"] and "'language'" in error["message"]
    assert "Nothing was imported" in error["message"]
    assert [(e["row"], e["field"]) for e in error["fields"]["rows"]] == [(3, "language")]
    assert Item.objects.count() == before
    assert not Item.objects.filter(external_id__startswith="ok").exists()


def test_items_import_reports_every_bad_row(org_api, campaign):
    rows = [
        {"external_id": "", "data": {"text": "x"}},
        {"external_id": "ok", "data": {"text": "x"}},
        {"external_id": "nodata", "data": {}},
        {"external_id": "score", "data": {"text": "x"}, "prelabel": {"label": "pos", "score": 3}},
        {"external_id": "extra", "data": {"text": "x"}, "colour": "red"},
        "not an object",
    ]

    error = assert_error(org_api.post(_url(campaign), rows, format="json"), 400, "invalid_rows")

    assert error["message"].startswith("Row 1, field 'external_id'")
    assert "(and 4 more)" in error["message"]
    assert [(e["row"], e["field"]) for e in error["fields"]["rows"]] == [
        (1, "external_id"),
        (3, "data"),
        (4, "prelabel_score"),
        (5, "colour"),
        (6, ""),
    ]
    assert not Item.objects.exists()


def test_items_import_bad_prelabel_score_in_csv(org_api, campaign):
    csv_text = "external_id,text,prelabel,prelabel_score\np1,x,pos,very\n"

    error = assert_error(_upload(org_api, campaign, "items.csv", csv_text), 400, "invalid_rows")

    assert "Row 1, field 'prelabel_score'" in error["message"]
    assert not Item.objects.exists()


def test_items_import_csv_row_with_too_many_cells(org_api, campaign):
    csv_text = "external_id,text\nr1,x\nr2,y,surplus\n"

    error = assert_error(_upload(org_api, campaign, "items.csv", csv_text), 400, "invalid_rows")

    assert "Row 2" in error["message"]
    assert not Item.objects.exists()


def test_items_import_csv_without_external_id_column(org_api, campaign):
    error = assert_error(_upload(org_api, campaign, "items.csv", "name,text\n1,x\n"), 400, "validation_error")

    assert "external_id" in error["message"]
    assert "file" in error["fields"]
    assert not Item.objects.exists()


def test_items_import_csv_takes_an_id_column_as_external_id(org_api, campaign):
    assert _upload(org_api, campaign, "items.csv", "id,text\n7,x\n").status_code == 201

    assert list(Item.objects.values_list("external_id", "data")) == [("7", {"text": "x"})]


def test_items_import_csv_without_data_columns(org_api, campaign):
    error = assert_error(_upload(org_api, campaign, "items.csv", "external_id,gold\n1,pos\n"), 400, "validation_error")

    assert "file" in error["fields"]
    assert not Item.objects.exists()


@pytest.mark.parametrize("upload", [False, True])
def test_items_import_unknown_gold_label(org_api, campaign, upload):
    if upload:
        response = _upload(org_api, campaign, "items.csv", "external_id,text,gold\ng0,x,pos\ng1,y,maybe\n")
    else:
        rows = [{"external_id": "g0", "data": {"text": "x"}, "gold": "pos"}]
        rows.append({"external_id": "g1", "data": {"text": "y"}, "gold": "maybe"})
        response = org_api.post(_url(campaign), rows, format="json")

    error = assert_error(response, 400, "invalid_rows")
    assert "Row 2, field 'gold'" in error["message"]
    assert "'maybe'" in error["message"]
    assert not Item.objects.exists()


def test_items_import_unknown_prelabel_label(org_api, campaign):
    rows = [{"external_id": "p", "data": {"text": "x"}, "prelabel": {"model": "m", "label": "great"}}]

    error = assert_error(org_api.post(_url(campaign), rows, format="json"), 400, "invalid_rows")

    assert error["fields"]["rows"][0]["field"] == "prelabel"
    assert not Item.objects.exists()


def test_items_import_duplicate_external_id_in_one_file(org_api, campaign):
    csv_text = "external_id,text\nd1,first\nd2,second\nd1,again\n"

    error = assert_error(_upload(org_api, campaign, "items.csv", csv_text), 400, "invalid_rows")

    assert "Row 3, field 'external_id'" in error["message"]
    assert "row 1" in error["message"]
    assert not Item.objects.exists()


def test_items_import_invalid_jsonl_line(org_api, campaign):
    content = '{"external_id": "j1", "data": {"text": "one"}}\n{"external_id": "j2", "data": \n'

    error = assert_error(_upload(org_api, campaign, "items.jsonl", content), 400, "invalid_rows")

    assert "Row 2" in error["message"] and "JSON" in error["message"]
    assert not Item.objects.exists()


def test_items_import_json_file_that_is_not_an_array(org_api, campaign):
    content = json.dumps({"external_id": "x", "data": {"text": "y"}})

    error = assert_error(_upload(org_api, campaign, "items.json", content), 400, "validation_error")

    assert "file" in error["fields"]
    assert not Item.objects.exists()


def test_items_import_json_file_that_is_not_json(org_api, campaign):
    error = assert_error(_upload(org_api, campaign, "items.json", "[{oops"), 400, "invalid_rows")

    assert error["message"].startswith("Row 1: Not valid JSON")
    assert not Item.objects.exists()


@pytest.mark.parametrize("content", ['[{"external_id": "a", "data": {"text": "x"}}, {"external_id": "b", "da', "nope"])
def test_items_import_truncated_or_garbled_json_names_where_and_imports_nothing(org_api, campaign, content):
    error = assert_error(_upload(org_api, campaign, "items.json", content), 400)

    assert "JSON" in error["message"]
    assert not Item.objects.exists()


@pytest.mark.parametrize("name", ["items.xlsx", "items.txt", "items"])
def test_items_import_unsupported_file_extension(org_api, campaign, name):
    error = assert_error(_upload(org_api, campaign, name, "external_id,text\n1,x\n"), 400, "validation_error")

    assert "file" in error["fields"]
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [("items.csv", "external_id,text\n"), ("items.jsonl", "\n\n"), ("items.json", "[]")],
)
def test_items_import_empty_file(org_api, campaign, name, content):
    assert_error(_upload(org_api, campaign, name, content), 400, "empty")
    assert not Item.objects.exists()


def test_items_import_empty_array(org_api, campaign):
    error = assert_error(org_api.post(_url(campaign), [], format="json"), 400, "empty")

    assert "items" in error["fields"]
    assert not Item.objects.exists()


def test_items_import_body_that_is_not_an_array(org_api, campaign):
    body = {"external_id": "x", "data": {"text": "y"}}

    error = assert_error(org_api.post(_url(campaign), body, format="json"), 400, "validation_error")

    assert "file" in error["fields"]
    assert not Item.objects.exists()


@pytest.mark.parametrize("name", ["items.csv", "items.jsonl", "items.json"])
def test_items_import_non_utf8_file(org_api, campaign, name):
    latin1 = {
        "items.csv": "external_id,text\nl1,café crème\n",
        "items.jsonl": '{"external_id": "l1", "data": {"text": "café"}}\n',
        "items.json": '[{"external_id": "l1", "data": {"text": "café"}}]',
    }[name].encode("latin-1")

    error = assert_error(_upload(org_api, campaign, name, latin1), 400, "validation_error")

    assert "UTF-8" in error["message"]
    assert "file" in error["fields"]
    assert not Item.objects.exists()


@pytest.mark.parametrize("status", [Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED])
def test_items_import_into_finished_campaign_conflicts(org_api, org_key, status):
    campaign = factories.campaign(organization=org_key[0], items=1, launch=True)
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    before = Item.objects.count()

    response = org_api.post(_url(campaign), [{"external_id": "late", "data": {"text": "x"}}], format="json")

    assert_error(response, 409, "invalid_state")
    assert Item.objects.count() == before


def test_items_import_file_over_the_size_limit_is_refused(org_api, campaign, settings):
    settings.IMPORT_SYNC_MAX_BYTES = 40
    content = "external_id,text\n" + "".join(f"r{i},some text\n" for i in range(10))

    error = assert_error(_upload(org_api, campaign, "items.csv", content), 413, "too_large")

    assert "file" in error["fields"]
    assert f"/api/v1/campaigns/{campaign.id}/imports/" in error["message"]  # where such a file goes instead
    assert not Item.objects.exists()
    assert _upload(org_api, campaign, "items.csv", "external_id,text\nr1,ok\n").status_code == 201


def test_import_item_outside_campaign_languages_is_refused(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], languages=["sw"])
    rows = [
        {"external_id": "a", "data": {"text": "habari"}, "language": "sw-KE"},
        {"external_id": "b", "data": {"text": "bonjour"}, "language": "fr"},
    ]
    response = org_api.post(f"/api/v1/campaigns/{campaign.id}/items/", rows, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "Row 2" in error["message"] and "'language'" in error["message"]
    assert not Item.objects.filter(campaign=campaign).exists()


def test_launch_refuses_items_the_narrowed_languages_would_strand(org_api, org_key):
    campaign = factories.campaign(organization=org_key[0], languages=["sw", "fr"])
    org_api.post(
        f"/api/v1/campaigns/{campaign.id}/items/",
        [{"external_id": "b", "data": {"text": "bonjour"}, "language": "fr"}],
        format="json",
    )
    assert org_api.patch(f"/api/v1/campaigns/{campaign.id}/", {"languages": ["sw"]}, format="json").status_code == 200
    response = org_api.post(f"/api/v1/campaigns/{campaign.id}/launch/")
    assert response.status_code == 400
    assert "fr" in response.json()["error"]["fields"]["languages"]
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_items_import_csv_row_with_fewer_cells_than_the_header_is_a_row_like_any(org_api, campaign):
    response = _upload(org_api, campaign, "items.csv", "external_id,text,language\na,hello\nb,x,en\n")

    assert response.status_code == 201, response.content
    assert dict(Item.objects.values_list("external_id", "language")) == {"a": "", "b": "en"}
