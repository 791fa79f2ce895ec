"""No organization-facing output names a worker: after a whole loop (claims, submissions, aggregation, approvals, a
rejection and its appeal, a block, a payout batch), every API read an organization can make, every export format,
the payout CSV, the archive and every coordinator page are searched for the workers' usernames and email addresses.
The pool listing (`GET /api/v1/workers/` and its page) is the one place an organization maps the workers it enrolled
to their pseudonyms, and it shows only those."""

import io
import json
import zipfile

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from crowd.answers_export import ANSWER_FORMATS
from crowd.exports import FORMATS
from crowd.models import Campaign, ImportJob, MLBackend, WebhookDelivery, WebhookSubscription
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_approve, assignment_reject
from crowd.services.blocks import worker_block
from crowd.services.routing import assignment_claim_next
from payments.payouts import payout_batch_create
from tests import factories
from workers.models import User, WorkerProfile
from workers.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db

# Organization-facing reads this test does not make, and why.
NOT_ORGANIZATION_FACING = {
    "GET /api/v1/schema/",
    "GET /api/v1/docs/",
    "GET /api/v1/workers/",  # the pool listing: usernames of the organization's own workers, by design
}


@pytest.fixture(autouse=True)
def archive_root(settings, tmp_path):
    settings.ARCHIVE_ROOT = tmp_path / "archives"


def _distinctive(organization, n: int, enrolled: bool) -> User:
    user, _ = factories.worker(
        username=f"zq-secret-name-{n}", organization=organization if enrolled else factories.OrganizationFactory()
    )
    User.objects.filter(pk=user.pk).update(email=f"zq-secret-{n}@mail.example")
    WorkerProfile.objects.filter(user=user).update(
        payout_method="mobile_money", payout_details={"account": f"+2547{n}"}
    )
    return user


def _loop(organization) -> tuple[Campaign, list[User], int]:
    from crowd.webhooks.events import EVENT_TYPES
    from crowd.webhooks.services import webhook_create

    # Every event the loop causes is written for this subscription: its delivery log is an output too.
    webhook_create(
        organization_id=organization.id,
        created_by_id=None,
        url="https://partner.example/hook",
        events=list(EVENT_TYPES),
    )
    campaign = factories.campaign(organization=organization, items=6, redundancy=2, max_redundancy=2)
    from crowd.models import Item
    from crowd.services.campaigns import campaign_launch

    Item.objects.filter(campaign=campaign, external_id="t0").update(gold="pos")
    Item.objects.filter(campaign=campaign, external_id="t1").update(prelabel="neg", prelabel_model="m1")
    campaign = campaign_launch(campaign_id=campaign.id)
    Campaign.objects.filter(pk=campaign.pk).update(gold_ratio=0.3)
    workers = [_distinctive(organization, n, enrolled=n < 2) for n in range(3)]  # the third found it by itself
    leases = []
    for worker in workers:
        while (lease := assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment) is not None:
            items = lease.entries.values_list("item_id", flat=True)
            answer_submit(
                worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items]
            )
            leases.append(lease)
    owner = organization.memberships.get(role="owner").user
    campaign_aggregate(campaign_id=campaign.id)
    rejected = leases[0]
    assignment_reject(
        assignment_id=rejected.id, decided_by_id=owner.id, organization_ids=[organization.id], reason="Too fast."
    )
    appeal_create(worker=workers[0], assignment_id=rejected.id, message="I read every one.")
    for lease in leases[1:]:
        assignment_approve(assignment_id=lease.id, decided_by_id=owner.id, organization_ids=[organization.id])
    worker_block(organization_id=organization.id, worker_id=workers[2].id, reason="Copies.", created_by_id=owner.id)
    worker_block(
        organization_id=organization.id,
        campaign_id=campaign.id,
        worker_id=workers[1].id,
        reason="Too quick.",
        created_by_id=owner.id,
    )
    ImportJob.objects.create(campaign=campaign, filename="items.csv", path="")
    batch, _ = payout_batch_create(
        organization_id=organization.id, created_by_id=owner.id, currency="USD", threshold="0.01", reference="r1"
    )
    return campaign, workers, batch.id


def _body(response) -> str:
    assert response.status_code < 400, (response.status_code, response.request["PATH_INFO"])
    streamed = getattr(response, "streaming", False)
    content = b"".join(response.streaming_content) if streamed else response.content
    if response.get("Content-Type") == "application/zip":
        archive = zipfile.ZipFile(io.BytesIO(content))
        return "\n".join(archive.read(name).decode() for name in archive.namelist())
    return content.decode()


def test_no_organization_facing_output_names_a_worker(org_key, org_api, django_capture_on_commit_callbacks):
    organization, owner, _key = org_key
    campaign, workers, batch_id = _loop(organization)
    secrets = [w.username for w in workers] + [f"zq-secret-{n}@mail.example" for n in range(3)]
    job = ImportJob.objects.get(campaign=campaign)
    hook = WebhookSubscription.objects.get(organization=organization)
    backend = MLBackend.objects.create(campaign=campaign, name="triage", url="https://ml.example.org/")
    assert WebhookDelivery.objects.filter(subscription=hook, event__type="assignment.submitted").exists()

    with django_capture_on_commit_callbacks(execute=True):
        archive = org_api.post("/api/v1/archive/", {}, format="json").json()
    c = campaign.id
    reads = {
        "GET /api/v1/campaigns/": ["/api/v1/campaigns/"],
        "GET /api/v1/campaigns/{campaign_id}/": [f"/api/v1/campaigns/{c}/"],
        "GET /api/v1/campaigns/{campaign_id}/results/": [f"/api/v1/campaigns/{c}/results/"],
        "GET /api/v1/campaigns/{campaign_id}/export/": [
            *(f"/api/v1/campaigns/{c}/export/?format={fmt}" for fmt in [*FORMATS, *ANSWER_FORMATS]),
            f"/api/v1/campaigns/{c}/export/?format=labelstudio&answers=true",
        ],
        "GET /api/v1/campaigns/{campaign_id}/answers/": [f"/api/v1/campaigns/{c}/answers/"],
        "GET /api/v1/campaigns/{campaign_id}/imports/": [f"/api/v1/campaigns/{c}/imports/"],
        "GET /api/v1/imports/{job_id}/": [f"/api/v1/imports/{job.id}/"],
        "GET /api/v1/campaigns/{campaign_id}/unsure/": [f"/api/v1/campaigns/{c}/unsure/"],
        "GET /api/v1/campaigns/{campaign_id}/submissions/": [
            f"/api/v1/campaigns/{c}/submissions/?status={s}" for s in ("submitted", "approved", "rejected")
        ],
        "GET /api/v1/campaigns/{campaign_id}/annotators/": [f"/api/v1/campaigns/{c}/annotators/"],
        "GET /api/v1/campaigns/{campaign_id}/fairness/": [f"/api/v1/campaigns/{c}/fairness/"],
        "GET /api/v1/campaigns/{campaign_id}/anchoring/": [f"/api/v1/campaigns/{c}/anchoring/"],
        "GET /api/v1/campaigns/{campaign_id}/blocks/": [f"/api/v1/campaigns/{c}/blocks/"],
        "GET /api/v1/appeals/": ["/api/v1/appeals/"],
        "GET /api/v1/reviews/stats/": ["/api/v1/reviews/stats/"],
        "GET /api/v1/payouts/{batch_id}/export/": [f"/api/v1/payouts/{batch_id}/export/"],
        "GET /api/v1/funds/": ["/api/v1/funds/"],
        "GET /api/v1/archive/{job_id}/": [f"/api/v1/archive/{archive['id']}/"],
        "GET /api/v1/archive/{job_id}/download/": [f"/api/v1/archive/{archive['id']}/download/"],
        "GET /api/v1/keys/": ["/api/v1/keys/"],
        "GET /api/v1/models/": ["/api/v1/models/"],
        "GET /api/v1/campaigns/{campaign_id}/baseline/": [f"/api/v1/campaigns/{c}/baseline/"],
        "GET /api/v1/campaigns/{campaign_id}/backends/": [f"/api/v1/campaigns/{c}/backends/"],
        "GET /api/v1/campaigns/{campaign_id}/backends/{backend_id}/": [f"/api/v1/campaigns/{c}/backends/{backend.id}/"],
        "GET /api/v1/webhooks/": ["/api/v1/webhooks/"],
        "GET /api/v1/webhooks/{webhook_id}/": [f"/api/v1/webhooks/{hook.id}/"],
        "GET /api/v1/webhooks/{webhook_id}/deliveries/": [f"/api/v1/webhooks/{hook.id}/deliveries/"],
    }
    schema = SchemaGenerator().get_schema(request=None, public=True)
    organization_reads = {
        f"GET {path}" for path, methods in schema["paths"].items() if "get" in methods and "/me/" not in path
    }
    # A new organization-facing read joins this test, or says here why it is not one.
    assert organization_reads - NOT_ORGANIZATION_FACING == set(reads)

    bodies = {url: _body(org_api.get(url)) for urls in reads.values() for url in urls}
    page_client = Client()
    page_client.force_login(owner)
    pages = [
        "/manage/",
        f"/manage/campaigns/{c}/",
        f"/manage/campaigns/{c}/results/",
        f"/manage/campaigns/{c}/unsure/",
        f"/manage/campaigns/{c}/fairness/",
        f"/manage/campaigns/{c}/edit/",
        *(f"/manage/campaigns/{c}/review/?status={s}" for s in ("submitted", "approved", "rejected")),
        f"/manage/imports/{job.id}/",
        "/manage/appeals/",
        f"/manage/organizations/{organization.id}/webhooks/",
        f"/manage/webhooks/{hook.id}/",
        f"/manage/organizations/{organization.id}/people/",
        f"/manage/organizations/{organization.id}/archive/",
    ]
    bodies |= {url: _body(page_client.get(url)) for url in pages}

    for url, body in bodies.items():
        for secret in secrets:
            assert secret not in body, (url, secret)
    # The workers are there, by pseudonym.
    shown = pseudonym(organization.id, workers[0].id)
    for url in (f"/api/v1/campaigns/{c}/answers/", "/api/v1/appeals/", f"/api/v1/payouts/{batch_id}/export/"):
        assert shown in bodies[url], url
    assert pseudonym(organization.id, workers[2].id) in bodies[f"/api/v1/campaigns/{c}/blocks/"]
    assert json.loads(bodies[f"/api/v1/campaigns/{c}/annotators/"])["results"]


def test_the_pool_listing_maps_only_the_organization_s_own_workers(org_key, org_api):
    organization = org_key[0]
    _campaign, workers, _batch = _loop(organization)

    listed = org_api.get("/api/v1/workers/").json()["results"]

    assert {(r["username"], r["pseudonym"]) for r in listed} == {
        (w.username, pseudonym(organization.id, w.id)) for w in workers[:2]
    }
    assert workers[2].username not in json.dumps(listed)  # worked here, enrolled elsewhere: not the pool's
