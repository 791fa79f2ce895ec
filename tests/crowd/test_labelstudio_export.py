"""Label Studio export: aggregated labels as predictions, gold as ground truth, raw answers on request, the labeling
config that matches the results, and a round trip back into a new campaign through the import."""

import json
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crowd.exports_labelstudio import layout_for, run_model_version
from crowd.imports_labelstudio import AGGREGATION_MODEL, task_row
from crowd.models import AggregationRun, Answer, Campaign, Item
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


def _export(client, campaign: Campaign, query: str = "format=labelstudio") -> list[dict]:
    response = client.get(f"/api/v1/campaigns/{campaign.id}/export/?{query}")
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"] == "application/json"
    assert f'campaign-{campaign.id}-labelstudio.json"' in response["Content-Disposition"]
    return json.loads(b"".join(response.streaming_content))


def _config(client, campaign: Campaign) -> ElementTree.Element:
    response = client.get(f"/api/v1/campaigns/{campaign.id}/export/?format=labelstudio-config")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def _answer_everything(campaign: Campaign, wanted: list[dict[str, str]]) -> None:
    """Each worker answers every item it is offered; wanted maps external_id -> label (gold items included)."""
    for labels in wanted:
        worker, _ = factories.worker()
        while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
            items = Item.objects.filter(id__in=claim.assignment.entries.values("item_id"))
            answers = [{"item": item.id, "label": labels.get(item.external_id, "pos")} for item in items]
            answer_submit(worker=worker, assignment_id=claim.assignment.id, raw_answers=answers)


@pytest.fixture
def source(org_key) -> Campaign:
    """Four items with pre-labels of two models (one without a score), one without, one gold; three workers;
    aggregated."""
    campaign = factories.campaign(
        organization=org_key[0],
        labels=[{"value": "pos", "text": "Positive"}, {"value": "neg", "text": "Negative"}],
        target_confidence=0.5,
        gold_ratio=0,
    )
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": "a", "data": {"text": "Nzuri sana", "region": "Kisumu"}, "language": "en",
             "prelabel": {"label": "pos", "model": "sentiment-v2", "score": 0.91}},
            {"external_id": "b", "data": {"text": "Mbaya"}, "language": "en",
             "prelabel": {"label": "pos", "model": "keywords-v1"}},
            {"external_id": "c", "data": {"text": "Sawa tu"}, "language": "en"},
            {"external_id": "g", "data": {"text": "Ninaipenda!"}, "language": "en", "gold": "pos"},
        ],
    )  # fmt: skip
    from crowd.services.campaigns import campaign_launch

    campaign_launch(campaign_id=campaign.id)
    _answer_everything(campaign, [{"a": "pos", "b": "neg", "c": "neg"}] * 2 + [{"a": "pos", "b": "neg", "c": "pos"}])
    campaign_aggregate(campaign_id=campaign.id)
    return campaign


def test_aggregated_labels_are_predictions_named_after_the_run(org_api, source):
    tasks = {task["data"]["external_id"]: task for task in _export(org_api, source)}
    run = AggregationRun.objects.filter(campaign=source, status="finished").latest("id")
    item_b = Item.objects.get(campaign=source, external_id="b")

    task = tasks["b"]
    assert task["annotations"] == []  # Label Studio would read an annotation as the importing admin's ground truth
    model_prelabel, aggregated = task["predictions"]
    assert model_prelabel == {
        "model_version": "keywords-v1",
        "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}],
    }
    assert aggregated["model_version"] == run_model_version(source.id, run.id)
    assert aggregated["model_version"].startswith(AGGREGATION_MODEL)
    assert aggregated["score"] == item_b.confidence
    assert aggregated["result"][0]["value"] == {"choices": [item_b.result_label]}
    assert task["meta"]["crowdloop"]["item"] == item_b.id
    assert task["meta"]["crowdloop"]["campaign"] == source.id
    assert task["data"] == {"text": "Mbaya", "external_id": "b"}
    assert "id" not in task  # Label Studio assigns its own; ours is in meta


def test_gold_items_are_ground_truth_annotations_and_answers_come_only_on_request(org_api, source):
    plain = {task["data"]["external_id"]: task for task in _export(org_api, source)}
    with_answers = {
        task["data"]["external_id"]: task for task in _export(org_api, source, "format=labelstudio&answers=true")
    }

    [gold] = plain["g"]["annotations"]
    assert gold["ground_truth"] is True
    assert gold["result"][0]["value"] == {"choices": ["pos"]}
    assert plain["g"]["predictions"] == []  # gold is known, not aggregated
    stored = Answer.objects.filter(item__campaign=source, item__external_id="c").order_by("id")
    annotations = with_answers["c"]["annotations"]
    assert [a["result"][0]["value"]["choices"] for a in annotations] == [[answer.label] for answer in stored]
    assert all(a["ground_truth"] is False for a in annotations)
    assert [a["lead_time"] for a in annotations] == [answer.seconds_on_task for answer in stored]


def test_the_config_names_the_tags_the_results_use(org_api, source):
    config = _config(org_api, source)
    tasks = _export(org_api, source, "format=labelstudio&answers=1")

    objects = {tag.get("name"): (tag.tag, tag.get("value")) for tag in config if tag.tag in ("Text", "Image")}
    assert objects == {"region": ("Text", "$region"), "text": ("Text", "$text")}
    assert [tag.get("name") for tag in config][:2] == ["text", "region"]
    [choices] = config.findall("Choices")
    assert (choices.get("name"), choices.get("toName"), choices.get("choice")) == ("label", "text", "single")
    assert [(c.get("value"), c.get("hint")) for c in choices] == [("pos", "Positive"), ("neg", "Negative")]
    results = [r for task in tasks for entry in task["annotations"] + task["predictions"] for r in entry["result"]]
    assert results and {(r["from_name"], r["to_name"]) for r in results} == {("label", "text")}


def test_config_for_images_multi_choice_and_free_text():
    layout = layout_for(["text", "image_url", "external_id", "label", "not a tag"])
    assert layout.objects == (("Image", "image_url"), ("Text", "text"), ("Text", "label"))
    assert (layout.to_name, layout.control) == ("image_url", "crowdloop_label")  # "label" is a data key here

    from crowd.exports_labelstudio import labelstudio_config

    multi = ElementTree.fromstring(
        labelstudio_config(Campaign(task_type="multi_choice", labels=[{"value": "a"}]), layout_for(["image"]))
    )
    assert [(t.tag, t.get("name")) for t in multi] == [("Image", "image"), ("Choices", "label")]
    assert multi.find("Choices").get("choice") == "multiple"
    free = ElementTree.fromstring(labelstudio_config(Campaign(task_type="free_text", labels=[]), layout_for([])))
    assert [(t.tag, t.get("name"), t.get("toName")) for t in free] == [
        ("Text", "text", None),
        ("TextArea", "label", "text"),
    ]


def test_a_bad_answers_flag_is_refused(org_api, source):
    response = org_api.get(f"/api/v1/campaigns/{source.id}/export/?format=labelstudio&answers=perhaps")

    error = assert_error(response, 400, "validation_error")
    assert "answers" in error["fields"]


def _reimport(client, exported: bytes, target: Campaign, *, trusted: bool):
    return client.post(
        f"/api/v1/campaigns/{target.id}/items/",
        {"file": SimpleUploadedFile("export.json", exported), "options": json.dumps({"trusted": trusted})},
        format="multipart",
    )


def _items(campaign: Campaign) -> dict[str, tuple]:
    fields = ("external_id", "data", "language", "prelabel", "prelabel_model", "prelabel_score", "gold")
    return {row[0]: row for row in Item.objects.filter(campaign=campaign).values_list(*fields)}


def test_the_export_imports_back_into_a_new_campaign_with_the_same_items(org_api, org_key, source):
    Item.objects.filter(campaign=source, external_id="c").update(language="sw")  # kept through meta
    exported = b"".join(org_api.get(f"/api/v1/campaigns/{source.id}/export/?format=labelstudio").streaming_content)
    target = factories.campaign(organization=org_key[0], labels=["pos", "neg"], languages=["en", "sw"])

    response = _reimport(org_api, exported, target, trusted=True)

    assert response.status_code == 201, response.content
    assert response.json() == {"created": 4, "skipped": 0}
    assert _items(target) == _items(source)
    assert _items(target)["c"][3] is None  # the aggregated label was not read back as a model's pre-label


def test_with_answers_trusted_agreeing_answers_become_gold_untrusted_a_prelabel(org_api, org_key, source):
    url = f"/api/v1/campaigns/{source.id}/export/?format=labelstudio&answers=true"
    exported = b"".join(org_api.get(url).streaming_content)
    trusted = factories.campaign(organization=org_key[0], labels=["pos", "neg"])
    untrusted = factories.campaign(organization=org_key[0], labels=["pos", "neg"])

    assert _reimport(org_api, exported, trusted, trusted=True).status_code == 201
    assert _reimport(org_api, exported, untrusted, trusted=False).status_code == 201

    # b: neg three times; c: neg, neg, pos (no agreement, so no gold when trusted)
    assert (_items(trusted)["b"][6], _items(trusted)["c"][6]) == ("neg", None)
    assert _items(untrusted)["b"][3:6] == ("neg", "labelstudio-annotations", 1.0)
    assert _items(untrusted)["g"][6] is None and _items(untrusted)["g"][3] == "pos"


def test_the_aggregated_prediction_is_skipped_but_other_predictions_still_prelabel():
    result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}]
    task = {
        "data": {"text": "x", "external_id": "x1"},
        "predictions": [
            {"model_version": f"{AGGREGATION_MODEL}:campaign-1:run-9", "score": 0.99, "result": result},
            {"model_version": "m1", "score": 0.4, "result": result},
        ],
    }

    row = task_row(task, task_type="single_choice", trusted=False)

    assert row["prelabel"] == {"label": "neg", "model": "m1", "score": 0.4}
