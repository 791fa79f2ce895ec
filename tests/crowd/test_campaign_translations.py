"""Campaign instructions and label texts per language: set through the API and the admin, shown to each worker
in their interface language; the stored answer is always the label's value."""

import pytest
from django.test import Client

from crowd.models import Answer, Assignment, Campaign
from tests import factories
from tests.factories import assert_error
from workers.models import User

pytestmark = pytest.mark.django_db

LABELS = [{"value": "symptom", "text": "Reports a symptom"}, {"value": "question", "text": "Asks a question"}]
SW = {"sw": {"instructions": "Soma ujumbe na uchague.", "labels": {"symptom": "Dalili", "question": "Swali"}}}


def _campaign(org_api, **extra) -> dict:
    body = {"name": "Triage", "instructions": "Read and choose.", "labels": LABELS, "languages": ["sw", "en"]}
    response = org_api.post("/api/v1/campaigns/", {**body, **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_translations_are_stored_normalized_through_the_api(org_api):
    created = _campaign(org_api, translations={"SW": SW["sw"], "ha-NG": {"instructions": "Karanta ka zaɓa."}})
    assert created["translations"] == {"sw": SW["sw"], "ha-NG": {"instructions": "Karanta ka zaɓa."}}


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ({"zz-notreal": {"instructions": "x"}}, "translations.zz-notreal"),
        ({"sw": {"labels": {"nope": "Hapana"}}}, "translations.sw.labels.nope"),
        ({"sw": {"labels": {"symptom": ""}}}, "translations.sw.labels.symptom"),
        ({"sw": {"colour": "red"}}, "translations.sw"),
        ({"sw": "Dalili"}, "translations.sw"),
        (["sw"], "translations"),
        ({"sw": {"instructions": "x" * 20_001}}, "translations.sw.instructions"),
        # One language written two ways: keeping one would drop the other's texts without a word.
        ({"sw": {"instructions": "Soma."}, "SW": {"instructions": "Chagua."}}, "translations.SW"),
    ],
)
def test_bad_translations_are_refused_and_nothing_changes(org_api, translations, field):
    created = _campaign(org_api, translations=SW)
    response = org_api.patch(f"/api/v1/campaigns/{created['id']}/", {"translations": translations}, format="json")
    error = assert_error(response, 400)
    assert field in error["fields"], error
    assert Campaign.objects.get(pk=created["id"]).translations == SW


def test_a_worker_sees_texts_in_their_language_and_answers_store_the_value(org_api, org_key):
    campaign = factories.campaign(
        organization=org_key[0],
        launch=True,
        items=2,
        items_per_task=2,
        labels=LABELS,
        languages=["sw"],
        instructions="Read and choose.",
        translations=SW,
    )
    user, _ = factories.worker(languages=(("sw", 5),), organization=org_key[0])
    User.objects.filter(pk=user.pk).update(preferred_language="sw")
    client = Client()
    client.force_login(user)
    client.post("/work/next/", {"campaign": campaign.id})
    lease = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    page = client.get(f"/work/assignments/{lease.id}/").content.decode()
    assert "Soma ujumbe na uchague." in page and "Dalili" in page and "Reports a symptom" not in page

    answers = {f"item-{entry.item_id}": "symptom" for entry in lease.entries.all()} | {"then": "stop"}
    client.post(f"/work/assignments/{lease.id}/", answers)
    assert set(Answer.objects.filter(worker=user).values_list("label", flat=True)) == {"symptom"}


def test_a_worker_in_another_language_sees_the_campaigns_own_texts(org_key):
    campaign = factories.campaign(
        organization=org_key[0], launch=True, items=2, items_per_task=2, labels=LABELS, translations=SW
    )
    user, _ = factories.worker()
    client = Client()
    client.force_login(user)
    client.post("/work/next/", {"campaign": campaign.id})
    lease = Assignment.objects.get(worker=user, status=Assignment.Status.ACTIVE)
    page = client.get(f"/work/assignments/{lease.id}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Reports a symptom" in page and "Dalili" not in page


def test_the_api_lease_follows_accept_language_and_says_which_it_used(make_worker, org_key):
    factories.campaign(
        organization=org_key[0],
        launch=True,
        items=2,
        items_per_task=1,
        labels=LABELS,
        languages=["sw"],
        translations=SW,
    )
    _, api = make_worker(languages=(("sw", 5),))
    lease = api.post("/api/v1/assignments/next/", {}, format="json", HTTP_ACCEPT_LANGUAGE="sw-KE").json()
    assert lease["language"] == "sw"
    assert lease["instructions"] == "Soma ujumbe na uchague."
    assert lease["labels"] == [{"value": "symptom", "text": "Dalili"}, {"value": "question", "text": "Swali"}]
    held = api.post("/api/v1/assignments/next/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (held["language"], held["labels"]) == (None, LABELS)


def test_removing_a_label_with_a_translation_is_refused(org_api):
    created = _campaign(org_api, translations=SW)
    response = org_api.patch(f"/api/v1/campaigns/{created['id']}/", {"labels": [LABELS[1]]}, format="json")
    assert_error(response, 400)
    assert Campaign.objects.get(pk=created["id"]).labels == LABELS


def test_the_admin_checks_translations_with_the_same_rules(admin_client, org_key):
    campaign = factories.campaign(organization=org_key[0], labels=LABELS)
    from crowd.admin import CampaignAdminForm

    form = CampaignAdminForm(instance=campaign, data={"translations": '{"sw": {"labels": {"nope": "x"}}}'})
    form.is_valid()
    assert "translations" in form.errors
    good = CampaignAdminForm(instance=campaign, data={"translations": '{"sw": {"labels": {"symptom": "Dalili"}}}'})
    good.is_valid()
    assert "translations" not in good.errors
