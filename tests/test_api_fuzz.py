"""Every API operation fuzzed from its own OpenAPI schema, with an organization key and with a worker token:
no 5xx, and every response as the schema says (status code documented, body conforms, content type).

Schemathesis calls Django's WSGI app in process, inside the test's transaction on the real database. The
paths name real objects of the organization (a draft and an active campaign, a lease, an appeal, a payout
batch), so bodies reach the validation and the services instead of stopping at a 404. Hypothesis is
derandomized (each operation gets the same examples on every run) and the example count is modest, so the
file stays within a few minutes on two cores; schemathesis' coverage phase (hundreds of boundary cases per
operation) is left to manual runs, and tests/test_limits.py pins the boundaries that matter.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crowd.models import WebhookSubscription
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, assignment_reject
from crowd.services.routing import assignment_claim_next
from payments.payouts import payout_batch_create
from tests import factories

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Loaded once at collection (Django is set up by then); the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
schema.config.phases.update(phases=["examples", "fuzzing"])  # fuzzing generates valid and invalid data


@pytest.fixture
def wsgi_app(db):
    """Like Django's test client, in-process requests must not close the test's connection when they end."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(org_key, wsgi_app) -> dict:
    """Credentials and the ids every path parameter is pointed at."""
    organization, owner, key = org_key
    worker, worker_key = factories.worker(organization=organization)
    campaign = factories.campaign(organization=organization, launch=True, items=4, items_per_task=1)
    done = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    item_id = done.entries.get().item_id
    answer_submit(worker=worker, assignment_id=done.id, raw_answers=[{"item": item_id, "label": "pos"}])
    assignment_reject(assignment_id=done.id, decided_by_id=owner.id, organization_ids=[organization.id], reason="x")
    appeal = appeal_create(worker=worker, assignment_id=done.id, message="I read it.")
    batch, _created = payout_batch_create(
        organization_id=organization.id, created_by_id=owner.id, currency="USD", threshold="0.01", reference="p1"
    )
    active = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    # A loopback target the test settings refuse: a fuzzed test send fails at once, without the network.
    webhook = WebhookSubscription.objects.create(
        organization=organization, url="http://127.0.0.1:9/hook", events=["item.completed"], secret="f" * 32
    )
    return {
        "org": f"Token {key}",
        "worker": f"Token {worker_key}",
        "ids": {
            "campaign_id": campaign.id,
            "assignment_id": active.id,
            "worker_id": worker.id,
            "appeal_id": appeal.id,
            "batch_id": batch.id,
            "webhook_id": webhook.id,
        },
    }


def _fuzz(case, world: dict, who: str) -> None:
    for name, value in world["ids"].items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    # A savepoint per call: a failed example must not leave the test's transaction unusable for the next one.
    with transaction.atomic():
        # identity: the in-process client does not decompress, and the checks read the body.
        case.call_and_validate(headers={"Authorization": world[who], "Accept-Encoding": "identity"}, checks=CHECKS)


FUZZ = settings(
    max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@schema.parametrize()
@FUZZ
def test_api_fuzz_with_an_organization_key(case, world):
    _fuzz(case, world, "org")


@schema.parametrize()
@FUZZ
def test_api_fuzz_with_a_worker_token(case, world):
    _fuzz(case, world, "worker")
