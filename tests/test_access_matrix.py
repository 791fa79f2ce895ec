"""Who may do what: every API operation and every coordinator page, for every kind of caller.

Each operation has one row: the status each caller gets. Rows are written with a few policies (who reads an
organization's campaigns, who changes them, what only owners or only workers do) plus the cells that differ. The
world (two organizations, their members and keys, a worker with work in every state) is built once for this
module; every cell runs in a savepoint that is rolled back, so each request sees the same world.

The operations come from the OpenAPI schema and the coordinator URL conf: an endpoint or page without a row here
fails `test_every_api_operation_has_a_row` / `test_every_coordinator_page_has_a_row`.
"""

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crowd.coordinator import urls as coordinator_urls
from crowd.models import (
    ApiKey,
    Appeal,
    ArchiveJob,
    Assignment,
    Campaign,
    ImportJob,
    Membership,
    MLBackend,
    WebhookSubscription,
)
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_approve, assignment_reject
from crowd.services.blocks import worker_block
from crowd.services.invitations import invitation_create
from crowd.services.organizations import api_key_create, membership_set, organization_ensure
from crowd.services.routing import assignment_claim_next
from payments.models import PayoutBatch
from payments.payouts import payout_batch_create
from tests import factories
from workers import terms as workers_terms
from workers.models import User, WorkerProfile
from workers.services import user_email_verify

# Appears only in organization A's names: no response to anyone outside organization A may contain it.
CANARY = "Canary-7f3a"

ANONYMOUS = "anonymous"
WORKER = "worker"
WORKER_SESSION = "worker (session)"
OTHER_WORKER = "other worker"
VIEWER = "viewer"
VIEWER_SESSION = "viewer (session)"
COORDINATOR = "coordinator"
COORDINATOR_SESSION = "coordinator (session)"
OWNER = "owner"
OWNER_SESSION = "owner (session)"
OTHER_OWNER = "other org owner"
OTHER_OWNER_SESSION = "other org owner (session)"
UNVERIFIED_SESSION = "unverified coordinator (session)"

CALLERS = [
    ANONYMOUS,
    WORKER,
    WORKER_SESSION,
    OTHER_WORKER,
    VIEWER,
    VIEWER_SESSION,
    COORDINATOR,
    COORDINATOR_SESSION,
    OWNER,
    OWNER_SESSION,
    OTHER_OWNER,
    OTHER_OWNER_SESSION,
    UNVERIFIED_SESSION,
]
PAGE_CALLERS = [c for c in CALLERS if c == ANONYMOUS or "session" in c]  # pages know sessions only
OUTSIDERS = {ANONYMOUS, OTHER_WORKER, OTHER_OWNER, OTHER_OWNER_SESSION, UNVERIFIED_SESSION}

READERS = (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION, OWNER, OWNER_SESSION)
WRITERS = (COORDINATOR, COORDINATOR_SESSION, OWNER, OWNER_SESSION)
OTHER_ORG = (OTHER_OWNER, OTHER_OWNER_SESSION)


def expect(default: int, *groups: tuple[int, tuple[str, ...]], anonymous: int = 401) -> dict[str, int]:
    """A row: `default` for every caller, then each `(status, callers)` group (later ones win); anonymous callers
    get `anonymous`."""
    row = dict.fromkeys(CALLERS, default)
    for status, callers in groups:
        row.update(dict.fromkeys(callers, status))
    row[ANONYMOUS] = anonymous
    return row


# Policies. Objects of organization A answer 404 to everyone outside it (their existence must not leak).
def reads_campaign(ok: int = 200) -> dict[str, int]:
    return expect(404, (ok, READERS))


def changes_campaign(ok: int = 200) -> dict[str, int]:
    return expect(404, (403, (VIEWER, VIEWER_SESSION)), (ok, WRITERS))


def changes_own_organization(ok: int) -> dict[str, int]:
    """No object named: members who may write act in their own organization (the other owner in theirs)."""
    return expect(403, (ok, WRITERS + OTHER_ORG))


def owner_of_own_organization(ok: int) -> dict[str, int]:
    return expect(403, (ok, (OWNER, OWNER_SESSION, *OTHER_ORG)))


def decides(ok: int = 200) -> dict[str, int]:
    """Approvals and appeals look the work up among the organizations the caller may change: 404 otherwise."""
    return expect(404, (ok, WRITERS))


def worker_only(ok: int = 200, other_worker: int = 404) -> dict[str, int]:
    """Only workers, with a token or a session; someone else's assignment does not exist for the other worker."""
    return expect(403, (ok, (WORKER, WORKER_SESSION)), (other_worker, (OTHER_WORKER,)))


def anyone_signed_in(ok: int = 200) -> dict[str, int]:
    return expect(ok)


@dataclass
class World:
    campaign: Campaign
    draft: Campaign
    active: Assignment  # the worker's current lease
    submitted: Assignment  # waiting for review
    rejected: Assignment  # rejected, not yet appealed
    appeal: Appeal  # open, on another rejection
    batch: PayoutBatch
    worker: User
    other_worker: User
    invitation_token: str  # to the other organization, as a viewer: its name is no secret of organization A
    callers: dict[str, Callable[[], APIClient]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    key: str  # "METHOD path" as the schema or the URL conf spells it
    expected: dict[str, int]
    args: Callable[[World], dict[str, Any]] = lambda w: {}
    body: Callable[[World], Any] = lambda w: None
    query: str = ""
    # The worker's own export names the organizations that blocked them (with the reason): the other worker is
    # blocked by organization A, so there, and only there, A's name is theirs to see.
    own_blocks: bool = False
    multipart: bool = False  # an upload

    def request(self, client: APIClient, world: World):
        method, path = self.key.split(" ", 1)
        url = path.format(**self.args(world)) + self.query
        if method == "GET":
            return client.get(url)
        # The API takes JSON (and uploads); pages take forms.
        format = "json" if path.startswith("/api/") and not self.multipart else "multipart"
        return getattr(client, method.lower())(url, self.body(world), format=format)


def campaign_id(w: World) -> dict[str, int]:
    return {"campaign_id": w.campaign.id}


def _import_job(w: World) -> ImportJob:
    job, _ = ImportJob.objects.get_or_create(campaign=w.campaign, filename="items.csv", path="imports/items.csv")
    return job


def _archive_job(w: World) -> ArchiveJob:
    job, _ = ArchiveJob.objects.get_or_create(organization_id=w.campaign.organization_id)
    return job


def _webhook(w: World) -> dict[str, int]:
    """Organization A's webhook, to a loopback address the test settings refuse: a test send fails at once."""
    subscription, _ = WebhookSubscription.objects.get_or_create(
        organization_id=w.campaign.organization_id,
        url="http://127.0.0.1:9/hook",
        defaults={"events": ["item.completed"], "secret": "matrix-secret-0123456789"},
    )
    return {"webhook_id": subscription.id}


def _viewer_key(w: World) -> ApiKey:
    return ApiKey.objects.get(organization_id=w.campaign.organization_id, role=Membership.Role.VIEWER)


def _backend(w: World) -> dict[str, int]:
    backend, _ = MLBackend.objects.get_or_create(
        campaign=w.campaign, name="matrix-model", defaults={"url": "https://ml.example.org/"}
    )
    return {"campaign_id": w.campaign.id, "backend_id": backend.id}


API = [
    Operation("GET /api/v1/schema/", expect(200, anonymous=200)),
    Operation("GET /api/v1/docs/", expect(200, anonymous=200)),
    Operation("GET /api/v1/campaigns/", anyone_signed_in()),
    Operation(
        "POST /api/v1/campaigns/",
        changes_own_organization(201),
        body=lambda w: {"name": "New", "labels": ["pos", "neg"], "reward": "0.10", "currency": "USD"},
    ),
    Operation("GET /api/v1/campaigns/{campaign_id}/", reads_campaign(), campaign_id),
    Operation(
        "PATCH /api/v1/campaigns/{campaign_id}/",
        changes_campaign(),
        campaign_id,
        body=lambda w: {"instructions": "Read the whole message."},
    ),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/items/",
        changes_campaign(201),
        lambda w: {"campaign_id": w.draft.id},
        body=lambda w: [{"external_id": "new-1", "data": {"text": "hello"}}],
    ),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/launch/", changes_campaign(), lambda w: {"campaign_id": w.draft.id}
    ),
    Operation("POST /api/v1/campaigns/{campaign_id}/pause/", changes_campaign(), campaign_id),
    # Resuming a campaign that is already active answers 200 with it (the move is idempotent).
    Operation("POST /api/v1/campaigns/{campaign_id}/resume/", changes_campaign(), campaign_id),
    Operation("POST /api/v1/campaigns/{campaign_id}/close/", changes_campaign(), campaign_id),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/archive/", changes_campaign(), lambda w: {"campaign_id": w.draft.id}
    ),
    Operation("POST /api/v1/campaigns/{campaign_id}/aggregate/", changes_campaign(202), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/results/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/export/", reads_campaign(), campaign_id, query="?format=jsonl"),
    Operation("GET /api/v1/campaigns/{campaign_id}/imports/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/unsure/", reads_campaign(), campaign_id),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/items/{item_id}/decide/",
        changes_campaign(),
        lambda w: {"campaign_id": w.campaign.id, "item_id": w.campaign.items.filter(gold__isnull=True).first().id},
        body=lambda w: {"label": "pos"},
    ),
    Operation("GET /api/v1/campaigns/{campaign_id}/submissions/", reads_campaign(), campaign_id),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/submissions/decide/",
        changes_campaign(),
        campaign_id,
        body=lambda w: {"ids": [w.submitted.id], "decision": "approve"},
    ),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/imports/",
        changes_campaign(202),
        campaign_id,
        body=lambda w: {"file": SimpleUploadedFile("more.csv", b"external_id,text\nmatrix-1,hello\n")},
        multipart=True,
    ),
    Operation(
        # Reads the file and stores nothing, but only those who may import may look.
        "POST /api/v1/campaigns/{campaign_id}/imports/preview/",
        changes_campaign(200),
        campaign_id,
        body=lambda w: {"file": SimpleUploadedFile("more.csv", b"external_id,text\nmatrix-1,hello\n")},
        multipart=True,
    ),
    Operation("GET /api/v1/imports/{job_id}/", reads_campaign(), lambda w: {"job_id": _import_job(w).id}),
    Operation("GET /api/v1/campaigns/{campaign_id}/annotators/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/fairness/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/anchoring/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/blocks/", reads_campaign(), campaign_id),
    Operation(
        "POST /api/v1/campaigns/{campaign_id}/blocks/",
        changes_campaign(201),
        campaign_id,
        body=lambda w: {"worker": w.worker.id, "reason": "Copies the pre-label."},
    ),
    Operation(
        "DELETE /api/v1/campaigns/{campaign_id}/blocks/{worker_id}/",
        changes_campaign(204),
        lambda w: {"campaign_id": w.campaign.id, "worker_id": w.other_worker.id},
    ),
    Operation(
        "POST /api/v1/blocks/",
        changes_own_organization(201),
        body=lambda w: {"worker": w.worker.id, "reason": "Copies the pre-label."},
    ),
    Operation(
        # The other owner's organization has no such block.
        "DELETE /api/v1/blocks/{worker_id}/",
        {**changes_own_organization(204), OTHER_OWNER: 404, OTHER_OWNER_SESSION: 404},
        lambda w: {"worker_id": w.other_worker.id},
    ),
    Operation(
        "POST /api/v1/workers/",
        changes_own_organization(201),
        body=lambda w: {"username": "enrolled-here", "languages": [{"code": "en", "level": 5}]},
    ),
    Operation(
        "POST /api/v1/workers/{worker_id}/login-link/",
        {**changes_own_organization(201), OTHER_OWNER: 404, OTHER_OWNER_SESSION: 404},
        lambda w: {"worker_id": w.worker.id},
    ),
    Operation(
        # The worker is in organization A's pool, not in the other owner's.
        "POST /api/v1/workers/{worker_id}/token/",
        {**changes_own_organization(201), OTHER_OWNER: 404, OTHER_OWNER_SESSION: 404},
        lambda w: {"worker_id": w.worker.id},
    ),
    Operation(
        # The worker already holds a lease, which they get again (200); organization A blocked the other worker.
        "POST /api/v1/assignments/next/",
        worker_only(200, other_worker=204),
        body=lambda w: {"campaign": w.campaign.id},
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/submit/",
        worker_only(),
        lambda w: {"assignment_id": w.active.id},
        body=lambda w: {"answers": [{"item": e.item_id, "label": "pos"} for e in w.active.entries.all()]},
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/release/", worker_only(), lambda w: {"assignment_id": w.active.id}
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/heartbeat/", worker_only(), lambda w: {"assignment_id": w.active.id}
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/approve/", decides(), lambda w: {"assignment_id": w.submitted.id}
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/reject/",
        decides(),
        lambda w: {"assignment_id": w.submitted.id},
        body=lambda w: {"reason": "The label does not match the text."},
    ),
    Operation(
        "POST /api/v1/assignments/{assignment_id}/appeal/",
        worker_only(201),
        lambda w: {"assignment_id": w.rejected.id},
        body=lambda w: {"message": "Please look again at item 3."},
    ),
    Operation("GET /api/v1/appeals/", anyone_signed_in()),
    Operation(
        "POST /api/v1/appeals/{appeal_id}/decide/",
        decides(),
        lambda w: {"appeal_id": w.appeal.id},
        body=lambda w: {"overturn": False, "note": "The rejection stands."},
    ),
    Operation("GET /api/v1/reviews/stats/", anyone_signed_in()),
    Operation(
        "POST /api/v1/payouts/",
        owner_of_own_organization(201),
        body=lambda w: {"currency": "USD", "threshold": "0.01", "reference": "matrix"},
    ),
    Operation(
        # Lists workers' payout accounts: owners only; outside the organization the batch does not exist.
        "GET /api/v1/payouts/{batch_id}/export/",
        expect(404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (200, (OWNER, OWNER_SESSION))),
        lambda w: {"batch_id": w.batch.id},
    ),
    *(
        # Settling a batch says the organization's money moved (or did not): owners only.
        Operation(
            f"POST /api/v1/payouts/{{batch_id}}/{action}/",
            expect(
                404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (200, (OWNER, OWNER_SESSION))
            ),
            lambda w: {"batch_id": w.batch.id},
        )
        for action in ("confirm", "cancel")
    ),
    Operation("GET /api/v1/funds/", expect(403, (200, READERS + OTHER_ORG))),
    Operation(
        "POST /api/v1/funds/deposits/",
        owner_of_own_organization(201),
        body=lambda w: {"amount": "25.00", "currency": "USD", "reference": "matrix"},
    ),
    # API keys: owners only; another organization's key does not exist for anyone outside it.
    Operation("GET /api/v1/keys/", owner_of_own_organization(200)),
    Operation(
        "POST /api/v1/keys/", owner_of_own_organization(201), body=lambda w: {"name": "matrix", "role": "viewer"}
    ),
    Operation(
        "DELETE /api/v1/keys/{key_id}/",
        expect(404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (204, (OWNER, OWNER_SESSION))),
        lambda w: {"key_id": _viewer_key(w).id},
    ),
    Operation(
        "POST /api/v1/keys/{key_id}/reassign/",
        expect(404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (200, (OWNER, OWNER_SESSION))),
        lambda w: {"key_id": _viewer_key(w).id},
        body=lambda w: {"user": _viewer_key(w).organization.memberships.get(role=Membership.Role.OWNER).user_id},
    ),
    Operation("GET /api/v1/me/earnings/", worker_only(other_worker=200)),
    Operation("GET /api/v1/me/quality/", worker_only(other_worker=200)),
    Operation("GET /api/v1/me/export/", worker_only(other_worker=200), own_blocks=True),
    Operation("GET /api/v1/me/terms/", worker_only(other_worker=200)),
    Operation(
        "POST /api/v1/me/terms/", worker_only(other_worker=200), body=lambda w: {"version": workers_terms.TERMS_VERSION}
    ),
    Operation("DELETE /api/v1/me/", worker_only(other_worker=200)),
    # The organization's data going out: its own pool (members; the other owner sees theirs), raw answers, and the
    # archive (owners only; the matrix's archive is still queued, so its download is a 409 even for owners).
    Operation("GET /api/v1/workers/", expect(403, (200, READERS + OTHER_ORG))),
    Operation("GET /api/v1/campaigns/{campaign_id}/answers/", reads_campaign(), campaign_id),
    Operation("POST /api/v1/archive/", owner_of_own_organization(202)),
    Operation(
        "GET /api/v1/archive/{job_id}/",
        expect(404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (200, (OWNER, OWNER_SESSION))),
        lambda w: {"job_id": _archive_job(w).id},
    ),
    Operation(
        "GET /api/v1/archive/{job_id}/download/",
        expect(404, (403, (VIEWER, VIEWER_SESSION, COORDINATOR, COORDINATOR_SESSION)), (409, (OWNER, OWNER_SESSION))),
        lambda w: {"job_id": _archive_job(w).id},
    ),
    # Webhooks: every member reads them (never their secrets), owners and coordinators change them.
    Operation("GET /api/v1/webhooks/", expect(403, (200, READERS + OTHER_ORG))),
    Operation(
        "POST /api/v1/webhooks/",
        changes_own_organization(201),
        body=lambda w: {"url": "https://partner.example/hook", "events": ["item.completed"]},
    ),
    Operation("GET /api/v1/webhooks/{webhook_id}/", reads_campaign(), _webhook),
    Operation(
        "PATCH /api/v1/webhooks/{webhook_id}/",
        changes_campaign(),
        _webhook,
        body=lambda w: {"events": ["campaign.completed"]},
    ),
    Operation("DELETE /api/v1/webhooks/{webhook_id}/", changes_campaign(204), _webhook),
    Operation("GET /api/v1/webhooks/{webhook_id}/deliveries/", reads_campaign(), _webhook),
    Operation("POST /api/v1/webhooks/{webhook_id}/test/", changes_campaign(), _webhook),
    # Models in the loop: a worker's token or another organization sees none of organization A's models.
    Operation("GET /api/v1/models/", anyone_signed_in()),
    Operation("GET /api/v1/campaigns/{campaign_id}/baseline/", reads_campaign(), campaign_id),
    Operation("GET /api/v1/campaigns/{campaign_id}/backends/", reads_campaign(), campaign_id),
    Operation(
        # Writers get past the access check to the health check, which nothing answers here: 400, nothing stored.
        "POST /api/v1/campaigns/{campaign_id}/backends/",
        changes_campaign(400),
        campaign_id,
        body=lambda w: {"url": "http://127.0.0.1:9/"},
    ),
    Operation("GET /api/v1/campaigns/{campaign_id}/backends/{backend_id}/", reads_campaign(), _backend),
    Operation(
        "PATCH /api/v1/campaigns/{campaign_id}/backends/{backend_id}/",
        changes_campaign(),
        _backend,
        body=lambda w: {"batch_size": 10},
    ),
    Operation("DELETE /api/v1/campaigns/{campaign_id}/backends/{backend_id}/", changes_campaign(204), _backend),
]


def page_row(default: int, *groups: tuple[int, tuple[str, ...]]) -> dict[str, int]:
    """A page's row: like `expect`, for the callers that pages know; anonymous callers go to the sign-in page."""
    row = expect(default, *groups, anonymous=302)
    return {caller: row[caller] for caller in PAGE_CALLERS}


# Pages: a signed-in non-member, or a member without a verified email, gets a 403 page saying why.
MEMBER_PAGES = (VIEWER_SESSION, COORDINATOR_SESSION, OWNER_SESSION)
PAGES = [
    Operation("GET /manage/", page_row(403, (200, (*MEMBER_PAGES, OTHER_OWNER_SESSION)))),
    Operation(
        "GET /manage/campaigns/{campaign_id}/fairness/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation("GET /manage/appeals/", page_row(403, (200, (*MEMBER_PAGES, OTHER_OWNER_SESSION)))),
    # Anyone signed in may start an organization (the form says what is needed: a confirmed address).
    Operation("GET /manage/organizations/new/", page_row(200)),
    Operation(
        "GET /manage/campaigns/new/", page_row(403, (200, (COORDINATOR_SESSION, OWNER_SESSION, OTHER_OWNER_SESSION)))
    ),
    Operation(
        "GET /manage/campaigns/{campaign_id}/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        "GET /manage/campaigns/{campaign_id}/edit/",
        page_row(403, (200, (COORDINATOR_SESSION, OWNER_SESSION)), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        # Uploading redirects to the import's page; a viewer may not upload.
        "POST /manage/campaigns/{campaign_id}/imports/",
        page_row(403, (302, (COORDINATOR_SESSION, OWNER_SESSION)), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
        body=lambda w: {"file": SimpleUploadedFile("more.csv", b"external_id,text\npage-1,hello\n")},
    ),
    Operation(
        "GET /manage/organizations/{organization_id}/workers/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"organization_id": w.campaign.organization_id},
    ),
    Operation(
        # People and keys are the owners' business; another organization's page does not exist for anyone else.
        "GET /manage/organizations/{organization_id}/people/",
        page_row(
            403, (200, (OWNER_SESSION,)), (403, (VIEWER_SESSION, COORDINATOR_SESSION)), (404, (OTHER_OWNER_SESSION,))
        ),
        lambda w: {"organization_id": w.campaign.organization_id},
    ),
    Operation(
        "GET /manage/campaigns/{campaign_id}/results/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        "GET /manage/campaigns/{campaign_id}/unsure/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        "GET /manage/campaigns/{campaign_id}/review/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        "GET /manage/imports/{job_id}/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"job_id": _import_job(w).id},
    ),
    Operation(
        # Starting an upload that waits for its preview; the matrix's job has already run, so writers are sent back
        # to its page, and a viewer may not start one.
        "POST /manage/imports/{job_id}/start/",
        page_row(403, (302, (COORDINATOR_SESSION, OWNER_SESSION)), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"job_id": _import_job(w).id},
        body=lambda w: {"action": "start"},
    ),
    Operation(
        # A move redirects back to the campaign page with what happened; a viewer may not move it.
        "POST /manage/campaigns/{campaign_id}/pause/",
        page_row(403, (302, (COORDINATOR_SESSION, OWNER_SESSION)), (404, (OTHER_OWNER_SESSION,))),
        campaign_id,
    ),
    Operation(
        # Deciding redirects back to the queue; a viewer may read the queue but not decide.
        "POST /manage/appeals/{appeal_id}/decide/",
        page_row(403, (302, (COORDINATOR_SESSION, OWNER_SESSION)), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"appeal_id": w.appeal.id},
        body=lambda w: {"decision": "uphold", "note": "The rejection stands."},
    ),
    Operation(
        # The archive is the owners' business: others in the organization get a page saying so.
        "GET /manage/organizations/{organization_id}/archive/",
        page_row(403, (200, (OWNER_SESSION,)), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"organization_id": w.campaign.organization_id},
    ),
    Operation(
        # Not built yet: the owner is sent back to the archive page, which says so.
        "GET /manage/archives/{job_id}/download/",
        page_row(403, (302, (OWNER_SESSION,)), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"job_id": _archive_job(w).id},
    ),
    Operation(
        # An invitation is for whoever holds its link, member or not: accepting redirects to /manage/, and only
        # someone already in that organization is refused. Anonymous callers go to the sign-in page first.
        "POST /invitations/{token}/",
        page_row(302, (409, (OTHER_OWNER_SESSION,))),
        lambda w: {"token": w.invitation_token},
    ),
    Operation(
        # Every member sees the organization's webhooks and their log; the forms are for owners and coordinators.
        "GET /manage/organizations/{organization_id}/webhooks/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        lambda w: {"organization_id": w.campaign.organization_id},
    ),
    Operation(
        "GET /manage/webhooks/{webhook_id}/",
        page_row(403, (200, MEMBER_PAGES), (404, (OTHER_OWNER_SESSION,))),
        _webhook,
    ),
]
PAGE_NAMES = {
    "manage-home": "GET /manage/",
    "manage-organization-new": "GET /manage/organizations/new/",
    "manage-campaign-new": "GET /manage/campaigns/new/",
    "manage-campaign": "GET /manage/campaigns/{campaign_id}/",
    "manage-campaign-edit": "GET /manage/campaigns/{campaign_id}/edit/",
    "manage-campaign-move": "POST /manage/campaigns/{campaign_id}/pause/",
    "manage-import-start": "POST /manage/campaigns/{campaign_id}/imports/",
    "manage-import": "GET /manage/imports/{job_id}/",
    "manage-unsure": "GET /manage/campaigns/{campaign_id}/unsure/",
    "manage-import-confirm": "POST /manage/imports/{job_id}/start/",
    "manage-review": "GET /manage/campaigns/{campaign_id}/review/",
    "manage-results": "GET /manage/campaigns/{campaign_id}/results/",
    "manage-people": "GET /manage/organizations/{organization_id}/people/",
    "manage-pool": "GET /manage/organizations/{organization_id}/workers/",
    "manage-fairness": "GET /manage/campaigns/{campaign_id}/fairness/",
    "manage-appeals": "GET /manage/appeals/",
    "manage-appeal-decide": "POST /manage/appeals/{appeal_id}/decide/",
    "invitation-accept": "POST /invitations/{token}/",
    "manage-archive": "GET /manage/organizations/{organization_id}/archive/",
    "manage-archive-download": "GET /manage/archives/{job_id}/download/",
    "manage-webhooks": "GET /manage/organizations/{organization_id}/webhooks/",
    "manage-webhook": "GET /manage/webhooks/{webhook_id}/",
}


# ---------------------------------------------------------------------------------------------------- the world


def _verified_member(organization_id: int, role: str, *, verified: bool = True) -> User:
    user = User.objects.create_user(
        username=f"{role}-{organization_id}-{verified}", email=f"{role}{verified}@a.example"
    )
    if verified:
        user_email_verify(user=user)
    membership_set(organization_id=organization_id, user_id=user.id, role=role)
    return user


def _key_client(organization_id: int, user: User, role: str) -> Callable[[], APIClient]:
    return _token_client(api_key_create(organization_id=organization_id, created_by_id=user.id, role=role))


def _token_client(token: str) -> Callable[[], APIClient]:
    return lambda: APIClient(HTTP_AUTHORIZATION=f"Token {token}")


def _session_client(user: User) -> Callable[[], APIClient]:
    signed_in = APIClient()
    signed_in.force_login(user)
    cookies = signed_in.cookies

    def make() -> APIClient:
        client = APIClient()
        client.cookies = copy.deepcopy(cookies)  # a request may set cookies; the next test starts from these
        return client

    return make


def _submitted(campaign: Campaign, worker: User) -> Assignment:
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    items = lease.entries.values_list("item_id", flat=True)
    answer_submit(worker=worker, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
    return lease


def build_world() -> World:
    organization, owner = organization_ensure(name=f"Organization {CANARY}", owner_email="owner@a.example")
    other_organization, other_owner = organization_ensure(name="Other organization", owner_email="owner@b.example")
    coordinator = _verified_member(organization.id, Membership.Role.COORDINATOR)
    viewer = _verified_member(organization.id, Membership.Role.VIEWER)
    unverified = _verified_member(organization.id, Membership.Role.COORDINATOR, verified=False)
    campaign = factories.campaign(organization=organization, launch=True, items=8, redundancy=1, name=CANARY)
    draft = factories.campaign(organization=organization, items=2, name=f"{CANARY} draft")
    worker, worker_token = factories.worker(organization=organization)
    other_worker, other_worker_token = factories.worker(organization=other_organization)

    def rejected() -> Assignment:
        lease = _submitted(campaign, worker)
        return assignment_reject(
            assignment_id=lease.id, decided_by_id=owner.id, organization_ids=[organization.id], reason="Too fast"
        )

    appeal = appeal_create(worker=worker, assignment_id=rejected().id, message="I read it twice.")
    not_appealed = rejected()
    paid = _submitted(campaign, worker)
    assignment_approve(assignment_id=paid.id, decided_by_id=owner.id, organization_ids=[organization.id])
    WorkerProfile.objects.filter(user=worker).update(payout_method="mobile_money", payout_details={"account": "+254"})
    batch, _created = payout_batch_create(
        organization_id=organization.id, created_by_id=owner.id, currency="USD", threshold="0.01", reference="b1"
    )
    submitted = _submitted(campaign, worker)
    invitation = invitation_create(
        organization_id=other_organization.id,
        created_by_id=other_owner.id,
        role="viewer",
        base_url="http://testserver/",
    )
    active = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    for campaign_block in (campaign.id, None):
        worker_block(
            organization_id=organization.id,
            campaign_id=campaign_block,
            worker_id=other_worker.id,
            reason="Spam",
            created_by_id=owner.id,
        )

    return World(
        campaign=campaign,
        draft=draft,
        active=active,
        submitted=submitted,
        rejected=not_appealed,
        appeal=appeal,
        batch=batch,
        worker=worker,
        other_worker=other_worker,
        invitation_token=invitation.token,
        callers={
            ANONYMOUS: APIClient,
            WORKER: _token_client(worker_token),
            WORKER_SESSION: _session_client(worker),
            OTHER_WORKER: _token_client(other_worker_token),
            VIEWER: _key_client(organization.id, viewer, Membership.Role.VIEWER),
            VIEWER_SESSION: _session_client(viewer),
            COORDINATOR: _key_client(organization.id, coordinator, Membership.Role.COORDINATOR),
            COORDINATOR_SESSION: _session_client(coordinator),
            OWNER: _key_client(organization.id, owner, Membership.Role.OWNER),
            OWNER_SESSION: _session_client(owner),
            OTHER_OWNER: _key_client(other_organization.id, other_owner, Membership.Role.OWNER),
            OTHER_OWNER_SESSION: _session_client(other_owner),
            UNVERIFIED_SESSION: _session_client(unverified),
        },
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once and kept inside a transaction that is rolled back when the module ends; each test's own
    transaction (pytest-django's) is a savepoint inside it."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def check(operation: Operation, caller: str, world: World) -> None:
    response = operation.request(world.callers[caller](), world)
    text = body_text(response)  # read here, inside the test's transaction, even when streamed
    assert response.status_code == operation.expected[caller], (
        f"{operation.key} as {caller}: {response.status_code} {text[:300]}"
    )
    if operation.own_blocks and response.status_code == 200:
        body = json.loads(text)
        assert all(block["reason"] == "Spam" for block in body.pop("blocks"))
        text = json.dumps(body)
    if caller in OUTSIDERS:
        assert CANARY not in text, f"{operation.key} as {caller} shows organization A's data"


@pytest.mark.django_db
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", API, ids=[op.key for op in API])
def test_api(world, operation, caller):
    check(operation, caller, world)


@pytest.mark.django_db
@pytest.mark.parametrize("caller", PAGE_CALLERS)
@pytest.mark.parametrize("operation", PAGES, ids=[op.key for op in PAGES])
def test_page(world, operation, caller):
    check(operation, caller, world)


# ------------------------------------------------------------------------------------------------ completeness


def _schema_operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {f"{method.upper()} {path}" for path, methods in schema["paths"].items() for method in methods}


def _api_routes(resolver: URLResolver, prefix: str = "") -> set[str]:
    """Every route of the URL conf under /api/v1/, spelled as the schema spells paths."""
    routes = set()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes |= _api_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/") and entry.name != "api-not-found":
            routes.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return routes


def test_every_api_operation_has_a_row():
    rows = {op.key for op in API}
    assert len(rows) == len(API), "an operation has two rows"
    assert _schema_operations() - rows == set(), "operations without a row in the access matrix"
    assert rows - _schema_operations() - {"GET /api/v1/schema/", "GET /api/v1/docs/"} == set(), "rows of nothing"
    # A plain Django view under /api/v1/ would not be in the schema: the URL conf must not hold one either.
    assert _api_routes(get_resolver()) == {key.split(" ", 1)[1] for key in rows}


def test_every_coordinator_page_has_a_row():
    pages = coordinator_urls.urlpatterns + coordinator_urls.public_urlpatterns
    assert {p.name for p in pages} == set(PAGE_NAMES)
    assert set(PAGE_NAMES.values()) == {op.key for op in PAGES}
    for operation in API + PAGES:
        assert set(operation.expected) == set(CALLERS if operation in API else PAGE_CALLERS), operation.key
