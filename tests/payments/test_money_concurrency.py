"""Money under concurrency, on PostgreSQL with real threads: payouts made at once never pay one balance twice,
and changes that reserve funds at once never both pass the funds check on the same money."""

import pytest
from django.db import connection

from crowd.models import Campaign
from crowd.selectors import funds_summary
from crowd.services.campaigns import campaign_create, campaign_launch, campaign_update
from crowd.services.funds import InsufficientFunds
from crowd.services.imports import items_import
from payments.models import LedgerEntry, PayoutBatch
from payments.payouts import payout_batch_create
from payments.selectors import balances_owed_by
from payments.services import funds_deposit
from tests import factories
from tests.crowd.test_routing_concurrency import _run_threads
from tests.payments.test_payouts import approved_work

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_payout_batches_made_at_once_pay_each_balance_once():
    campaign = factories.campaign(launch=True, items=12, redundancy=1)
    workers = [factories.worker()[0] for _ in range(4)]
    for count, worker in enumerate(workers, start=1):
        approved_work(campaign, worker, count)  # 0.10, 0.20, 0.30, 0.40
    organization_id = campaign.organization_id

    def pay(index: int) -> None:
        payout_batch_create(
            organization_id=organization_id, created_by_id=None, currency="USD", threshold="0.01", reference=f"r{index}"
        )

    assert _run_threads(pay, 6) == []

    batches = PayoutBatch.objects.filter(organization_id=organization_id)
    assert batches.count() == 6
    assert sorted(batches.values_list("total_minor", flat=True)) == [0, 0, 0, 0, 0, 100]
    held = balances_owed_by(organization_id=organization_id, currency="USD", status="payout_pending")
    assert held == {worker.id: 10 * count for count, worker in enumerate(workers, start=1)}
    available = balances_owed_by(organization_id=organization_id, currency="USD", status="available")
    assert set(available.values()) == {0}
    exported = LedgerEntry.objects.filter(kind="payout", status="payout_pending", amount_minor__gt=0)
    assert sorted(exported.values_list("worker_id", flat=True)) == sorted(worker.id for worker in workers)


def test_payout_same_reference_at_once_makes_one_batch():
    campaign = factories.campaign(launch=True, items=2, redundancy=1)
    worker, _ = factories.worker()
    approved_work(campaign, worker, 2)

    def pay(_: int) -> None:
        payout_batch_create(
            organization_id=campaign.organization_id,
            created_by_id=None,
            currency="USD",
            threshold="0.01",
            reference="same",
        )

    assert _run_threads(pay, 5) == []
    assert PayoutBatch.objects.get().total_minor == 20
    assert LedgerEntry.objects.filter(kind="payout").count() == 2


def _live(organization, name: str) -> Campaign:
    campaign = campaign_create(
        organization_id=organization.id,
        created_by_id=None,
        fields={
            "name": name,
            "labels": ["pos", "neg"],
            "redundancy": 1,
            "max_redundancy": 1,
            "reward": "0.10",
            "estimated_seconds": 30,
        },
    )
    items_import(campaign_id=campaign.id, rows=[{"external_id": "first", "data": {"text": "x"}}])
    return campaign_launch(campaign_id=campaign.id)


def _available(organization) -> int:
    return funds_summary(organization_id=organization.id)["USD"]["available"]


def test_imports_and_raises_at_once_never_both_pass_on_the_same_money():
    organization = factories.OrganizationFactory()
    deposit = {"organization_id": organization.id, "currency": "USD", "created_by_id": None}
    funds_deposit(amount="0.20", reference="launch", **deposit)
    first, second = _live(organization, "First"), _live(organization, "Second")
    changes = [
        lambda n: items_import(campaign_id=first.id, rows=[{"external_id": f"a{n}", "data": {"text": "x"}}]),
        lambda n: items_import(campaign_id=second.id, rows=[{"external_id": f"b{n}", "data": {"text": "x"}}]),
        lambda n: campaign_update(campaign_id=second.id, fields={"reward": f"0.{11 + n:02d}"}),
    ]
    for round_number in range(6):
        # Room for 0.10 more of reserve: enough for either change alone, never for both.
        short = 10 - _available(organization)
        if short:
            funds_deposit(amount=f"{short / 100:.2f}", reference=f"r{round_number}", **deposit)
        assert _available(organization) == 10
        pair = (changes[round_number % 3], changes[(round_number + 1) % 3])

        errors = _run_threads(lambda index, pair=pair, n=round_number: pair[index](n), 2)

        assert errors and all(isinstance(error, InsufficientFunds) for error in errors), errors
        assert _available(organization) >= 0
