"""Organization funds through the REST API: deposits (owner only, idempotent on reference) and balances."""

import pytest

from crowd.models import Membership
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry
from payments.services import ledger_credit_reward
from tests import factories
from tests.factories import assert_error

pytestmark = pytest.mark.django_db

DEPOSITS = "/api/v1/funds/deposits/"
FUNDS = "/api/v1/funds/"


def test_funds_deposit_by_owner(org_api, org_key):
    response = org_api.post(DEPOSITS, {"amount": "250.00", "currency": "usd", "reference": "wire-001"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["currency"], body["reference"]) == ("250.00", "USD", "wire-001")
    entry = LedgerEntry.objects.get()
    assert (entry.id, entry.organization_id, entry.worker_id) == (body["id"], org_key[0].id, None)
    assert (entry.kind, entry.status, entry.amount_minor, entry.currency) == ("deposit", "available", 25000, "USD")
    assert entry.created_by_id == org_key[1].id


def test_funds_deposit_in_zero_decimal_currency(org_api):
    response = org_api.post(DEPOSITS, {"amount": "5000", "currency": "JPY", "reference": "jp-1"}, format="json")

    assert response.status_code == 201
    assert response.json()["amount"] == "5000"
    assert LedgerEntry.objects.get().amount_minor == 5000


@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.COORDINATOR])
def test_funds_deposit_needs_the_owner_role(org_key, role):
    client = factories.membership_client(organization=org_key[0], role=role)

    response = client.post(DEPOSITS, {"amount": "10.00", "currency": "USD", "reference": "r"}, format="json")

    assert_error(response, 403, "permission_denied")
    assert not LedgerEntry.objects.exists()


def test_funds_deposit_by_worker_is_forbidden(make_worker):
    _, worker_api = make_worker()

    response = worker_api.post(DEPOSITS, {"amount": "10.00", "currency": "USD", "reference": "r"}, format="json")

    assert_error(response, 403, "permission_denied")
    assert not LedgerEntry.objects.exists()


def test_funds_deposit_unauthenticated_is_refused(api):
    response = api.post(DEPOSITS, {"amount": "10.00", "currency": "USD", "reference": "r"}, format="json")

    assert_error(response, 401, "not_authenticated")
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "ten", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "-5.00", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "0", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "1.005", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "1.5", "currency": "JPY", "reference": "r"}, "amount"),
        ({"amount": "NaN", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "Infinity", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "1e17", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "1e1000000", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "9" * 5000, "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "10000000.01", "currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "10000001", "currency": "JPY", "reference": "r"}, "amount"),
        ({"amount": "10.00", "currency": "XYZ", "reference": "r"}, "currency"),
        ({"amount": "10.00", "currency": "dollars", "reference": "r"}, "currency"),
        ({"amount": "10.00", "currency": "USD", "reference": "   "}, "reference"),
        ({"currency": "USD", "reference": "r"}, "amount"),
        ({"amount": "10.00", "reference": "r"}, "currency"),
        ({"amount": "10.00", "currency": "USD"}, "reference"),
    ],
)
def test_funds_deposit_bad_input_names_the_field(org_api, body, field):
    error = assert_error(org_api.post(DEPOSITS, body, format="json"), 400, "validation_error")

    assert field in error["fields"], error
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(("amount", "currency", "minor"), [("10000000.00", "USD", 10**9), ("10000000", "JPY", 10**7)])
def test_funds_deposit_up_to_the_stated_maximum(org_api, amount, currency, minor):
    response = org_api.post(DEPOSITS, {"amount": amount, "currency": currency, "reference": "big"}, format="json")

    assert response.status_code == 201
    assert LedgerEntry.objects.get().amount_minor == minor


def test_funds_deposit_same_reference_twice_is_idempotent(org_api):
    body = {"amount": "100.00", "currency": "USD", "reference": "wire-7"}
    first = org_api.post(DEPOSITS, body, format="json")

    again = org_api.post(DEPOSITS, {**body, "reference": "  wire-7 "}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert LedgerEntry.objects.count() == 1
    assert org_api.get(FUNDS).json()["funds"]["USD"]["deposited"] == "100.00"


def test_funds_deposit_same_reference_different_amount_conflicts(org_api):
    org_api.post(DEPOSITS, {"amount": "100.00", "currency": "USD", "reference": "wire-8"}, format="json")

    changed_amount = org_api.post(
        DEPOSITS, {"amount": "90.00", "currency": "USD", "reference": "wire-8"}, format="json"
    )
    changed_currency = org_api.post(
        DEPOSITS, {"amount": "100.00", "currency": "EUR", "reference": "wire-8"}, format="json"
    )

    assert_error(changed_amount, 409, "duplicate")
    assert_error(changed_currency, 409, "duplicate")
    assert LedgerEntry.objects.get().amount_minor == 10000


def test_funds_deposit_reference_is_per_organization(org_api, other_org_api):
    body = {"amount": "1.00", "currency": "USD", "reference": "shared-ref"}

    assert org_api.post(DEPOSITS, body, format="json").status_code == 201
    assert other_org_api.post(DEPOSITS, body, format="json").status_code == 201
    assert LedgerEntry.objects.count() == 2


def test_funds_deposit_accepts_a_long_reference(org_api):
    reference = "bank-transfer/" + "x" * 186  # 200 characters, the documented maximum
    body = {"amount": "1.00", "currency": "USD", "reference": reference}

    first = org_api.post(DEPOSITS, body, format="json")
    again = org_api.post(DEPOSITS, body, format="json")

    assert (first.status_code, again.status_code) == (201, 200), first.content
    assert LedgerEntry.objects.get().reference == reference


def test_funds_deposit_reference_too_long_is_refused(org_api):
    body = {"amount": "1.00", "currency": "USD", "reference": "x" * 201}

    error = assert_error(org_api.post(DEPOSITS, body, format="json"), 400, "validation_error")

    assert "reference" in error["fields"]
    assert not LedgerEntry.objects.exists()


def test_funds_shows_deposits_per_currency(org_api, other_org_api, org_key):
    for amount, currency, reference in [("100.00", "USD", "a"), ("25.50", "USD", "b"), ("3000", "KES", "c")]:
        org_api.post(DEPOSITS, {"amount": amount, "currency": currency, "reference": reference}, format="json")
    other_org_api.post(DEPOSITS, {"amount": "999.00", "currency": "USD", "reference": "a"}, format="json")

    response = org_api.get(FUNDS)

    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == org_key[0].id
    assert body["funds"]["USD"]["deposited"] == "125.50"
    assert body["funds"]["KES"]["deposited"] == "3000.00"
    assert set(body["funds"]) == {"USD", "KES"}


def test_funds_visible_to_viewer(org_api, org_key):
    org_api.post(DEPOSITS, {"amount": "5.00", "currency": "USD", "reference": "v"}, format="json")
    viewer = factories.membership_client(organization=org_key[0], role=Membership.Role.VIEWER)

    response = viewer.get(FUNDS)

    assert response.status_code == 200
    assert response.json()["funds"]["USD"]["deposited"] == "5.00"


def test_funds_empty_for_a_new_organization(org_api):
    assert org_api.get(FUNDS).json()["funds"] == {}


def test_funds_not_for_workers(make_worker):
    _, worker_api = make_worker()

    assert_error(worker_api.get(FUNDS), 403, "permission_denied")


def test_ledger_credit_reward_twice_pays_once():
    campaign = factories.campaign(launch=True, items=1)
    worker, _ = factories.worker()
    lease = assignment_claim_next(worker=worker, campaign_id=campaign.id).assignment
    for _ in range(2):
        ledger_credit_reward(
            assignment_id=lease.id, worker_id=worker.id, campaign_id=campaign.id, amount_minor=10, currency="USD"
        )
    assert LedgerEntry.objects.filter(assignment=lease).count() == 1
