"""A coordinator's final label for an item the crowd left unsure: the item's result, a known label for
Dawid-Skene, work no longer offered, and shown with who decided — from the service, the API and the page."""

import pytest

from crowd.exceptions import InvalidState, ValidationFailed
from crowd.models import Annotator, Campaign, Item, MicroTask
from crowd.services.aggregation import campaign_aggregate
from crowd.services.expert import item_decide
from crowd.services.routing import assignment_claim_next
from tests import factories
from tests.crowd.pages import logged_in, member
from tests.crowd.test_aggregation_service import label_everything
from tests.factories import assert_error

pytestmark = pytest.mark.django_db


def _split_campaign(organization=None) -> Campaign:
    """Two workers who disagree on every item: every item ends unsure."""
    campaign = factories.campaign(
        organization=organization, launch=True, items=6, redundancy=2, max_redundancy=2, target_confidence=0.95
    )
    campaign.workers = label_everything(campaign, [lambda item: "pos", lambda item: "neg"])
    campaign_aggregate(campaign_id=campaign.id)
    return campaign


def test_a_final_label_is_the_items_result_and_a_known_label_for_dawid_skene():
    campaign = _split_campaign()
    coordinator = member(campaign.organization, "coordinator")
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    assert all(item.confidence < 0.95 for item in items)

    for item in items:
        item_decide(item_id=item.id, label="pos", decided_by_id=coordinator.id)
    campaign_aggregate(campaign_id=campaign.id)

    for item in Item.objects.filter(campaign=campaign):
        assert (item.result_label, item.confidence, item.status) == ("pos", 1.0, Item.Status.COMPLETE)
        assert item.expert_by_id == coordinator.id and item.expert_at is not None
    # Scored against the decisions: the worker who said "pos" every time is now the trusted one.
    said_pos, said_neg = campaign.workers
    accuracy = dict(Annotator.objects.filter(campaign=campaign).values_list("worker_id", "accuracy"))
    assert accuracy[said_pos.id] > 0.75 and accuracy[said_neg.id] < 0.25


def test_a_decided_item_stops_being_offered():
    campaign = factories.campaign(launch=True, items=1, redundancy=3)
    owner = member(campaign.organization, "owner")
    item = Item.objects.get(campaign=campaign)

    item_decide(item_id=item.id, label="neg", decided_by_id=owner.id)

    assert not MicroTask.objects.filter(campaign=campaign, is_open=True).exists()
    worker, _ = factories.worker()
    assert assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment is None


@pytest.mark.parametrize("label", ["maybe", ["pos"], ""])
def test_a_label_outside_the_campaigns_labels_is_refused(label):
    campaign = factories.campaign(launch=True, items=1)
    item = Item.objects.get(campaign=campaign)

    with pytest.raises(ValidationFailed):
        item_decide(item_id=item.id, label=label, decided_by_id=None)
    assert Item.objects.get(pk=item.pk).expert_label is None


def test_gold_items_cannot_be_decided():
    campaign = factories.campaign(items=1)
    gold = Item.objects.create(campaign=campaign, external_id="g", data={"text": "x"}, gold="pos")

    with pytest.raises(InvalidState):
        item_decide(item_id=gold.id, label="neg", decided_by_id=None)


def test_the_api_lists_unsure_items_and_sets_a_final_label(org_key, org_api):
    campaign = _split_campaign(org_key[0])
    base = f"/api/v1/campaigns/{campaign.id}"

    listed = org_api.get(f"{base}/unsure/").json()
    assert listed["count"] == 6 and listed["results"][0]["votes"]
    first = listed["results"][0]["item"]

    decided = org_api.post(f"{base}/items/{first}/decide/", {"label": "neg"}, format="json")
    assert decided.status_code == 200, decided.content
    assert decided.json()["label"] == "neg" and decided.json()["decided_by"] == org_key[1].email
    assert org_api.get(f"{base}/unsure/").json()["count"] == 5
    result = next(r for r in org_api.get(f"{base}/results/").json()["results"] if r["item"] == first)
    assert result["decided_by"] == org_key[1].email and result["decided_at"]

    assert_error(org_api.post(f"{base}/items/{first}/decide/", {"label": "maybe"}, format="json"), 400)
    other = factories.campaign(items=1)
    stranger = Item.objects.get(campaign=other).id
    assert_error(org_api.post(f"{base}/items/{stranger}/decide/", {"label": "neg"}, format="json"), 404)


def test_the_unsure_page_sets_a_final_label_and_shows_who_decided(org):
    organization, owner = org
    campaign = _split_campaign(organization)
    client = logged_in(owner)
    page = client.get(f"/manage/campaigns/{campaign.id}/unsure/").content.decode()
    item = Item.objects.filter(campaign=campaign).order_by("confidence", "id").first()
    assert f'id="unsure-{item.id}"' in page and 'type="radio"' in page

    response = client.post(f"/manage/campaigns/{campaign.id}/unsure/", {"item": item.id, "label": "pos"})

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f'id="unsure-{item.id}"' not in page and 'id="decided"' in page and owner.email in page
    results = client.get(f"/manage/campaigns/{campaign.id}/results/").content.decode()
    assert f"decided by {owner.email}" in results
    refused = client.post(f"/manage/campaigns/{campaign.id}/unsure/", {"item": item.id, "label": "maybe"})
    assert "not saved" in client.get(refused["Location"]).content.decode()
    assert Item.objects.get(pk=item.pk).expert_label == "pos"


def test_a_viewer_sees_unsure_items_but_cannot_decide(org):
    organization, _ = org
    campaign = _split_campaign(organization)
    viewer = logged_in(member(organization, "viewer"))
    item = Item.objects.filter(campaign=campaign).first()

    assert "Set the final label" not in viewer.get(f"/manage/campaigns/{campaign.id}/unsure/").content.decode()
    assert viewer.post(f"/manage/campaigns/{campaign.id}/unsure/", {"item": item.id, "label": "pos"}).status_code == 403
    assert Item.objects.get(pk=item.pk).expert_label is None
