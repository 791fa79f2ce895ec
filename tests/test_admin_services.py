"""The admin cannot change what only services may change: status, counters, money, ledger rows, leases.

A launched campaign changes through the API or the coordinator pages (funds reserved, pay floor checked); the
admin's launch action calls the same service as the API, with the same checks.
"""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages

from crowd.models import Campaign, MicroTask
from payments.models import LedgerEntry
from tests import factories
from workers.models import User

pytestmark = pytest.mark.django_db

# Models whose rows only services write: the admin shows them and offers no add, change or delete.
VIEW_ONLY = [
    ("crowd", "item"),
    ("crowd", "microtask"),
    ("crowd", "assignment"),
    ("crowd", "answer"),
    ("crowd", "campaignworker"),
    ("crowd", "annotator"),
    ("crowd", "aggregationrun"),
    ("crowd", "appeal"),
    ("crowd", "fairpaycheck"),
    ("payments", "ledgerentry"),
    ("payments", "payoutbatch"),
]


@pytest.fixture
def root(client):
    client.force_login(User.objects.create_superuser(username="root", email="root@example.org", password="x"))
    return client


def _change_form(campaign: Campaign, **overrides) -> dict:
    """The campaign's change form as the admin would post it, with some fields overridden."""
    data = {
        "organization": campaign.organization_id,
        "name": campaign.name,
        "instructions": campaign.instructions,
        "task_type": campaign.task_type,
        "labels": '[{"value": "pos", "text": "pos"}, {"value": "neg", "text": "neg"}]',
        "redundancy": campaign.redundancy,
        "max_redundancy": campaign.max_redundancy,
        "target_confidence": campaign.target_confidence,
        "items_per_task": campaign.items_per_task,
        "reward_minor": campaign.reward_minor,
        "currency": campaign.currency,
        "estimated_seconds": campaign.estimated_seconds,
        "languages": "[]",
        "required_skills": "{}",
        "lease_seconds": campaign.lease_seconds,
        "gold_ratio": campaign.gold_ratio,
        "visibility": campaign.visibility,
        "priority": campaign.priority,
        "order": campaign.order,
        "min_language_level": campaign.min_language_level,
        "min_quality_answers": campaign.min_quality_answers,
        "sensitive_daily_cap": campaign.sensitive_daily_cap,
        "approval_hours": campaign.approval_hours,
        "auto_reject_min_gold_failed": campaign.auto_reject_min_gold_failed,
        "mode": campaign.mode,
        "blind_share": campaign.blind_share,
        "accept_threshold": campaign.accept_threshold,
        "accept_min_evidence": campaign.accept_min_evidence,
        "accept_min_score": campaign.accept_min_score,
        "accept_confirmations": campaign.accept_confirmations,
        "accept_audit_share": campaign.accept_audit_share,
        "accept_rule": campaign.accept_rule,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(("app", "model"), VIEW_ONLY)
def test_service_owned_rows_cannot_be_added_or_changed_in_the_admin(root, app, model):
    factories.campaign(launch=True, items=2)
    assert root.get(f"/admin/{app}/{model}/").status_code == 200
    assert root.get(f"/admin/{app}/{model}/add/").status_code == 403
    model_class = next(m for m in admin.site._registry if m._meta.app_label == app and m._meta.model_name == model)
    row = model_class.objects.first()
    if row is not None:
        # The change page opens read-only (a "view" page): posting to it changes nothing.
        page = root.get(f"/admin/{app}/{model}/{row.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert root.post(f"/admin/{app}/{model}/{row.pk}/change/", {}).status_code == 403
        assert root.post(f"/admin/{app}/{model}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
        assert model_class.objects.filter(pk=row.pk).exists()


def test_status_cannot_be_typed_in_so_a_draft_stays_a_draft(root):
    campaign = factories.campaign(items=3, reward="0.01")  # below the floor: launch must refuse it
    response = root.post(f"/admin/crowd/campaign/{campaign.pk}/change/", _change_form(campaign, status="active"))
    assert response.status_code == 302, response.content[:2000]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not MicroTask.objects.filter(campaign=campaign).exists()


def test_a_launched_campaigns_pay_and_slots_are_read_only_in_the_admin(root):
    campaign = factories.campaign(launch=True, items=3)
    response = root.post(
        f"/admin/crowd/campaign/{campaign.pk}/change/",
        _change_form(campaign, name="Renamed", reward_minor=1, redundancy=1, max_redundancy=1, status="draft"),
    )
    assert response.status_code == 302, response.content[:2000]
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"  # what is safe to edit still is
    assert (campaign.reward_minor, campaign.redundancy, campaign.max_redundancy) == (10, 3, 5)
    assert campaign.status == Campaign.Status.ACTIVE


def test_the_launch_action_runs_the_launch_service_with_its_checks(root):
    below_floor = factories.campaign(items=3, reward="0.01")
    fair = factories.campaign(items=3)
    response = root.post(
        "/admin/crowd/campaign/",
        {"action": "launch", "_selected_action": [below_floor.pk, fair.pk]},
        follow=True,
    )
    assert response.status_code == 200
    below_floor.refresh_from_db()
    fair.refresh_from_db()
    assert below_floor.status == Campaign.Status.DRAFT
    assert fair.status == Campaign.Status.ACTIVE
    assert MicroTask.objects.filter(campaign=fair).count() == 3  # split by the service, like the API's launch
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(below_floor.name in t and "not launched" in t and "floor" in t.lower() for t in texts), texts
    assert any(fair.name in t and "launched" in t for t in texts), texts


def test_a_launched_campaign_cannot_be_deleted_from_the_admin(root):
    campaign = factories.campaign(launch=True, items=2)
    assert root.post(f"/admin/crowd/campaign/{campaign.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    draft = factories.campaign()
    assert root.post(f"/admin/crowd/campaign/{draft.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Campaign.objects.filter(pk=draft.pk).exists()


def test_ledger_rows_cannot_be_typed_in(root):
    campaign = factories.campaign()
    before = LedgerEntry.objects.count()
    response = root.post(
        "/admin/payments/ledgerentry/add/",
        {
            "organization": campaign.organization_id,
            "kind": "deposit",
            "status": "available",
            "amount_minor": -(10**12),
            "currency": "USD",
        },
    )
    assert response.status_code == 403
    assert LedgerEntry.objects.count() == before


def test_keys_and_tokens_can_only_be_revoked_in_the_admin(root):
    from crowd.models import ApiKey
    from workers.models import WorkerToken

    organization = factories.OrganizationFactory()
    factories.membership_client(organization=organization, role="viewer")
    factories.worker(organization=organization)
    key, token = ApiKey.objects.get(), WorkerToken.objects.get()
    assert root.get("/admin/crowd/apikey/add/").status_code == 403
    assert root.get("/admin/workers/workertoken/add/").status_code == 403
    root.post("/admin/crowd/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    root.post("/admin/workers/workertoken/", {"action": "revoke", "_selected_action": [token.pk]})
    key.refresh_from_db()
    token.refresh_from_db()
    assert key.revoked_at is not None and token.revoked_at is not None


def test_pause_and_resume_actions_run_the_services_with_their_checks(root):
    campaign = factories.campaign(launch=True, items=3)
    draft = factories.campaign(items=1)
    response = root.post(
        "/admin/crowd/campaign/", {"action": "pause", "_selected_action": [campaign.pk, draft.pk]}, follow=True
    )
    campaign.refresh_from_db()
    draft.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert draft.status == Campaign.Status.DRAFT  # the service refuses to pause a draft
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(draft.name in t and "not paused" in t for t in texts), texts
    root.post("/admin/crowd/campaign/", {"action": "resume", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE


def test_resume_action_refuses_a_campaign_below_the_floor(root):
    campaign = factories.campaign(launch=True, items=3)
    root.post("/admin/crowd/campaign/", {"action": "pause", "_selected_action": [campaign.pk]})
    # The floor rose while it was paused (a new dated floor): resuming must not offer work below it.
    from django.utils import timezone

    from payments.models import PayFloor

    PayFloor.objects.create(hourly_minor=5000, currency="USD", source="test", effective_from=timezone.localdate())
    response = root.post("/admin/crowd/campaign/", {"action": "resume", "_selected_action": [campaign.pk]}, follow=True)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("not resumed" in t for t in texts), texts
