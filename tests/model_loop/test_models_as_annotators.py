"""Models as annotators: registered on import, each version its own annotator whose Dawid-Skene accuracy tracks its
real one; the organization's model list and the annotators endpoint; who may see and change what."""

import random

import pytest

from crowd.model_loop.registry import model_key, model_key_split
from crowd.models import Annotator, Item, LabelModel, Membership, MLBackend
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.campaigns import campaign_launch
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from tests import factories

pytestmark = pytest.mark.django_db

LABELS = ["a", "b", "c"]


def test_model_strings_split_into_name_and_version():
    assert model_key_split("bert@v2") == ("bert", "v2")
    assert model_key_split("bert") == ("bert", "")
    assert model_key_split("user@host@3") == ("user@host", "3")
    assert model_key_split("@x") == ("@x", "") and model_key_split("x@") == ("x@", "")
    assert model_key("bert", "v2") == "bert@v2" and model_key("bert", "") == "bert"
    assert len(model_key("n" * 200, "v" * 100)) == 200


def _answer(rng: random.Random, truth: str, accuracy: float) -> str:
    return truth if rng.random() < accuracy else rng.choice([x for x in LABELS if x != truth])


def test_each_model_version_is_an_annotator_whose_estimated_accuracy_tracks_the_simulated_one(org_key):
    """Two versions of a simulated model (0.9 and 0.6 accurate) pre-label halves of 300 items that four simulated
    workers (0.75 accurate) answer; Dawid-Skene's accuracy for each version is close to what it really got."""
    rng = random.Random(11)
    campaign = factories.campaign(
        organization=org_key[0], labels=LABELS, redundancy=4, max_redundancy=4, items_per_task=10
    )
    truth = {f"t{i}": LABELS[i % 3] for i in range(300)}
    rows = []
    real = {"sim@1": [], "sim@2": []}
    for i, (external_id, label) in enumerate(truth.items()):
        version, accuracy = ("1", 0.9) if i % 2 else ("2", 0.6)
        said = _answer(rng, label, accuracy)
        real[f"sim@{version}"].append(said == label)
        prelabel = {"model": "sim", "version": version, "label": said, "score": 0.8}
        rows.append({"external_id": external_id, "data": {"text": external_id}, "language": "en", "prelabel": prelabel})
    items_import(campaign_id=campaign.id, rows=rows)
    campaign_launch(campaign_id=campaign.id)
    for _ in range(4):
        worker, _key = factories.worker(organization=org_key[0])
        while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
            items = Item.objects.filter(id__in=claim.assignment.entries.values("item_id"))
            answers = [{"item": item.id, "label": _answer(rng, truth[item.external_id], 0.75)} for item in items]
            answer_submit(worker=worker, assignment_id=claim.assignment.id, raw_answers=answers)

    campaign_aggregate(campaign_id=campaign.id)

    # One LabelModel per version, registered by the import (not one per row).
    models = LabelModel.objects.filter(organization=org_key[0]).order_by("version")
    assert [(m.name, m.version, m.kind) for m in models] == [("sim", "1", "imported"), ("sim", "2", "imported")]
    for key, hits in real.items():
        annotator = Annotator.objects.get(campaign=campaign, kind="model", model_name=key)
        simulated = sum(hits) / len(hits)
        assert annotator.answers == 150
        assert abs(annotator.accuracy - simulated) < 0.06, (key, annotator.accuracy, simulated)
    better = Annotator.objects.get(campaign=campaign, model_name="sim@1")
    worse = Annotator.objects.get(campaign=campaign, model_name="sim@2")
    assert better.accuracy > worse.accuracy + 0.2


def test_the_annotators_endpoint_shows_models_with_their_kind_and_version(org_key, org_api):
    campaign = factories.campaign(organization=org_key[0], redundancy=1, max_redundancy=1)
    items_import(
        campaign_id=campaign.id,
        rows=[
            {"external_id": name, "data": {"text": name}, "language": "en", "prelabel": {"model": model, "label": y}}
            for name, model, y in (("a", "bert@v2", "pos"), ("b", "rules", "neg"))
        ],
    )
    campaign_launch(campaign_id=campaign.id)
    worker, _key = factories.worker(organization=org_key[0])
    while (claim := assignment_claim_next(worker=worker, campaign_id=campaign.id)).assignment:
        items = Item.objects.filter(id__in=claim.assignment.entries.values("item_id"))
        answers = [{"item": item.id, "label": "pos"} for item in items]
        answer_submit(worker=worker, assignment_id=claim.assignment.id, raw_answers=answers)
    campaign_aggregate(campaign_id=campaign.id)

    body = org_api.get(f"/api/v1/campaigns/{campaign.id}/annotators/").json()["results"]

    models = {row["model_name"]: row for row in body if row["kind"] == "model"}
    assert (models["bert@v2"]["model_kind"], models["bert@v2"]["version"]) == ("imported", "v2")
    assert (models["rules"]["model_kind"], models["rules"]["version"]) == ("imported", None)
    assert all(len(row["confusion"]) == 2 and row["accuracy"] is not None for row in models.values())
    (person,) = [row for row in body if row["kind"] == "worker"]
    assert person["model_kind"] is None and person["version"] is None


def test_the_models_list_is_the_organizations_own_in_cursor_pages(org_key, org_api, other_org_api):
    organization = org_key[0]
    for version in range(5):
        LabelModel.objects.create(organization=organization, name="bert", version=str(version), kind="imported")
    outsider = factories.OrganizationFactory()
    LabelModel.objects.create(organization=outsider, name="secret", version="1", kind="imported")

    first = org_api.get("/api/v1/models/?limit=3").json()
    second = org_api.get(f"/api/v1/models/?limit=3&cursor={first['next_cursor']}").json()

    assert [m["key"] for m in first["results"]] == ["bert@0", "bert@1", "bert@2"]
    assert org_api.get(first["next"]).json() == second
    assert [m["key"] for m in second["results"]] == ["bert@3", "bert@4"] and second["next_cursor"] is None
    assert set(first["results"][0]) == {"id", "organization", "name", "version", "key", "kind", "created_at"}
    assert other_org_api.get("/api/v1/models/").json()["results"] == []
    mine = org_api.get(f"/api/v1/models/?organization={outsider.id}").json()
    assert mine["results"] == []  # naming an organization one is not in shows nothing of it
    factories.assert_error(org_api.get("/api/v1/models/?limit=0"), 400)
    factories.assert_error(org_api.get("/api/v1/models/?cursor=x"), 400)


def test_the_models_list_filters_by_kind_and_name(org_key, org_api):
    organization = org_key[0]
    for name, kind in [
        ("bert", "imported"),
        ("triage", "backend"),
        ("crowdloop-baseline", "builtin"),
        ("BERTje", "backend"),
    ]:
        LabelModel.objects.create(organization=organization, name=name, version="1", kind=kind)

    def names(query: str) -> list[str]:
        response = org_api.get(f"/api/v1/models/?{query}")
        assert response.status_code == 200, response.content
        return [m["name"] for m in response.json()["results"]]

    assert names("kind=backend") == ["triage", "BERTje"]
    assert names("name=bert") == ["bert", "BERTje"]
    assert names("kind=backend&name=bert") == ["BERTje"]
    page = org_api.get("/api/v1/models/?kind=backend&limit=1").json()
    assert "kind=backend" in page["next"] and [m["name"] for m in org_api.get(page["next"]).json()["results"]] == [
        "BERTje"
    ]
    assert "kind" in factories.assert_error(org_api.get("/api/v1/models/?kind=oracle"), 400)["fields"]


def test_a_viewer_reads_backends_and_cannot_change_them_and_other_organizations_get_404(org_key, other_org_api):
    campaign = factories.campaign(organization=org_key[0])
    backend = MLBackend.objects.create(campaign=campaign, name="m", url="https://ml.example.org/")
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)
    listing = f"/api/v1/campaigns/{campaign.id}/backends/"
    detail = f"{listing}{backend.id}/"

    assert viewer.get(listing).status_code == 200 and viewer.get(detail).json()["name"] == "m"
    factories.assert_error(viewer.post(listing, {"url": "https://ml.example.org/"}, format="json"), 403)
    factories.assert_error(viewer.patch(detail, {"batch_size": 3}, format="json"), 403)
    factories.assert_error(viewer.delete(detail), 403)
    for response in (
        other_org_api.get(listing),
        other_org_api.get(detail),
        other_org_api.patch(detail, {"batch_size": 3}, format="json"),
        other_org_api.delete(detail),
    ):
        factories.assert_error(response, 404)
    assert MLBackend.objects.get().batch_size == 20


def test_the_campaign_page_shows_a_failing_backend_and_the_baseline(org_key):
    from django.test import Client

    organization, owner, _key = org_key
    campaign = factories.campaign(organization=organization, baseline=True)
    MLBackend.objects.create(
        campaign=campaign, name="triage", url="https://ml.example.org/", status="failing", last_error="answered 500"
    )
    client = Client()
    client.force_login(owner)

    html = client.get(f"/manage/campaigns/{campaign.id}/").content.decode()

    assert 'id="models"' in html and "triage" in html and "answered 500" in html
    assert "Not trained yet" in html
