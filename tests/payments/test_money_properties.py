"""Money properties on the real database: random sequences of deposits, launches, imports, raises, work, approvals,
rejections, appeals, fair-pay checks (top-ups), aggregation, pauses and payouts go through the services, and after
every step no balance is negative, no worker is paid more than their approved work earned, every ledger pair
balances, and the funds cover what the campaigns can still cost."""

import contextlib
import itertools
from collections import defaultdict

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from config.errors import DomainError
from crowd.models import Appeal, Assignment, Campaign, Item, MicroTask
from crowd.selectors import LIVE, funds_summary
from crowd.services.aggregation import campaign_aggregate
from crowd.services.answers import answer_submit
from crowd.services.approvals import appeal_create, appeal_decide, assignment_approve, assignment_reject
from crowd.services.campaigns import campaign_create, campaign_launch, campaign_pause, campaign_resume, campaign_update
from crowd.services.fairpay import campaign_fair_pay_check
from crowd.services.funds import InsufficientFunds
from crowd.services.imports import items_import
from crowd.services.routing import assignment_claim_next
from payments.models import LedgerEntry, PayoutBatch
from payments.payouts import payout_batch_cancel, payout_batch_confirm, payout_batch_create
from payments.services import funds_deposit
from tests import factories

pytestmark = pytest.mark.django_db

WORKERS = 3
INDEX = st.integers(min_value=0, max_value=20)  # taken modulo the number of candidates


class MoneyMachine(RuleBasedStateMachine):
    """One organization per example, rolled back to a savepoint when the example ends."""

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.organization = factories.OrganizationFactory()
        self.workers = [factories.worker(organization=self.organization)[0] for _ in range(WORKERS)]
        self.campaigns: list[int] = []
        self.names = itertools.count()

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # Helpers -----------------------------------------------------------------------------------------------

    def _pick(self, rows: list, index: int):
        return rows[index % len(rows)]

    def _assignments(self, status: str) -> list[Assignment]:
        return list(Assignment.objects.filter(campaign__organization=self.organization, status=status).order_by("id"))

    def _rows(self, count: int) -> list[dict]:
        return [{"external_id": f"x{next(self.names)}", "data": {"text": "t"}, "language": "en"} for _ in range(count)]

    # Rules -------------------------------------------------------------------------------------------------

    @initialize(cents=st.integers(min_value=0, max_value=300))
    def start(self, cents: int) -> None:
        # Most examples begin with some funds and a live campaign, so the steps that follow reach the money.
        if cents:
            self.deposit(cents)
        self.launch(items=2, redundancy=1, extra=1, reward="0.10")

    @rule(cents=st.integers(min_value=1, max_value=150))
    def deposit(self, cents: int) -> None:
        funds_deposit(
            organization_id=self.organization.id,
            amount=f"{cents / 100:.2f}",
            currency="USD",
            reference=f"d{next(self.names)}",
            created_by_id=None,
        )

    @rule(
        items=st.integers(min_value=1, max_value=3),
        redundancy=st.integers(min_value=1, max_value=2),
        extra=st.integers(min_value=0, max_value=1),
        reward=st.sampled_from(["0.10", "0.15"]),
    )
    def launch(self, items: int, redundancy: int, extra: int, reward: str) -> None:
        campaign = campaign_create(
            organization_id=self.organization.id,
            created_by_id=None,
            fields={
                "name": f"c{next(self.names)}",
                "labels": ["pos", "neg"],
                "redundancy": redundancy,
                "max_redundancy": redundancy + extra,
                "reward": reward,
                "estimated_seconds": 30,
                "target_confidence": 0.99,
            },
        )
        items_import(campaign_id=campaign.id, rows=self._rows(items))
        try:
            campaign_launch(campaign_id=campaign.id)
        except InsufficientFunds:
            assert Campaign.objects.get(pk=campaign.id).status == Campaign.Status.DRAFT
            assert not MicroTask.objects.filter(campaign_id=campaign.id).exists()
            return
        self.campaigns.append(campaign.id)

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX, count=st.integers(min_value=1, max_value=2))
    def import_items(self, index: int, count: int) -> None:
        campaign_id = self._pick(self.campaigns, index)
        before = (
            Item.objects.filter(campaign_id=campaign_id).count(),
            MicroTask.objects.filter(campaign_id=campaign_id).count(),
        )
        try:
            items_import(campaign_id=campaign_id, rows=self._rows(count))
        except DomainError:  # no funds for them, or the campaign is completed: nothing imported
            after = (
                Item.objects.filter(campaign_id=campaign_id).count(),
                MicroTask.objects.filter(campaign_id=campaign_id).count(),
            )
            assert after == before

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX, what=st.sampled_from(["reward", "redundancy", "max_redundancy"]))
    def raise_cost(self, index: int, what: str) -> None:
        campaign = Campaign.objects.get(pk=self._pick(self.campaigns, index))
        fields: dict = {
            "reward": {"reward": f"{(campaign.reward_minor + 5) / 100:.2f}"},
            "redundancy": {"redundancy": campaign.redundancy + 1, "max_redundancy": campaign.max_redundancy + 1},
            "max_redundancy": {"max_redundancy": campaign.max_redundancy + 1},
        }[what]
        try:
            campaign_update(campaign_id=campaign.id, fields=fields)
        except InsufficientFunds:
            after = Campaign.objects.get(pk=campaign.id)
            assert (after.status, after.reward_minor, after.redundancy, after.max_redundancy) == (
                campaign.status,
                campaign.reward_minor,
                campaign.redundancy,
                campaign.max_redundancy,
            )

    @precondition(lambda self: self.campaigns)
    @rule(
        index=INDEX,
        worker=st.integers(min_value=0, max_value=WORKERS - 1),
        seconds=st.sampled_from([20, 120]),
        then=st.sampled_from(["wait", "approve", "reject"]),
    )
    def work(self, index: int, worker: int, seconds: int, then: str) -> None:
        user = self.workers[worker]
        lease = assignment_claim_next(worker=user, campaign_id=self._pick(self.campaigns, index)).assignment
        if lease is None:
            return
        items = lease.entries.values_list("item_id", flat=True)
        answer_submit(worker=user, assignment_id=lease.id, raw_answers=[{"item": i, "label": "pos"} for i in items])
        Assignment.objects.filter(pk=lease.id).update(active_seconds=seconds)  # as the heartbeats measured it
        if then != "wait":
            self._decide(lease.id, approve=then == "approve")

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX)
    def hold_a_lease(self, index: int) -> None:
        assignment_claim_next(worker=self.workers[index % WORKERS], campaign_id=self._pick(self.campaigns, index))

    @precondition(
        lambda self: Assignment.objects.filter(campaign__organization=self.organization, status="submitted").exists()
    )
    @rule(index=INDEX, approve=st.booleans())
    def decide(self, index: int, approve: bool) -> None:
        self._decide(self._pick(self._assignments(Assignment.Status.SUBMITTED), index).id, approve=approve)

    def _decide(self, assignment_id: int, *, approve: bool) -> None:
        organizations = [self.organization.id]
        if approve:
            assignment_approve(assignment_id=assignment_id, decided_by_id=None, organization_ids=organizations)
        else:
            assignment_reject(
                assignment_id=assignment_id, decided_by_id=None, organization_ids=organizations, reason="No"
            )

    @precondition(
        lambda self: Assignment.objects.filter(campaign__organization=self.organization, status="rejected").exists()
    )
    @rule(index=INDEX, overturn=st.booleans())
    def appeal(self, index: int, overturn: bool) -> None:
        rejected = [a for a in self._assignments(Assignment.Status.REJECTED) if not hasattr(a, "appeal")]
        if not rejected:
            return
        assignment = self._pick(rejected, index)
        appeal = appeal_create(worker=assignment.worker, assignment_id=assignment.id, message="Please look again")
        try:
            appeal_decide(
                appeal_id=appeal.id, decided_by_id=None, organization_ids=[self.organization.id], overturn=overturn
            )
        except InsufficientFunds:
            assert Appeal.objects.get(pk=appeal.id).status == Appeal.Status.OPEN

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX)
    def fair_pay_check(self, index: int) -> None:
        campaign_fair_pay_check(campaign_id=self._pick(self.campaigns, index), min_submissions=1)

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX)
    def aggregate(self, index: int) -> None:
        campaign_aggregate(campaign_id=self._pick(self.campaigns, index))

    @precondition(lambda self: self.campaigns)
    @rule(index=INDEX, pause=st.booleans())
    def pause_or_resume(self, index: int, pause: bool) -> None:
        with contextlib.suppress(DomainError):  # not in a state to move, or not ready to resume
            (campaign_pause if pause else campaign_resume)(campaign_id=self._pick(self.campaigns, index))

    @rule(threshold=st.sampled_from(["0.01", "0.10", "0.30"]), batches=st.integers(min_value=1, max_value=2))
    def payout(self, threshold: str, batches: int) -> None:
        for _ in range(batches):  # an owner may well ask twice: each batch with a new reference
            payout_batch_create(
                organization_id=self.organization.id,
                created_by_id=None,
                currency="USD",
                threshold=threshold,
                reference=f"p{next(self.names)}",
            )

    @precondition(lambda self: PayoutBatch.objects.filter(organization=self.organization, status="exported").exists())
    @rule(index=INDEX, confirm=st.booleans())
    def settle_payout(self, index: int, confirm: bool) -> None:
        batches = list(PayoutBatch.objects.filter(organization=self.organization, status="exported").order_by("id"))
        settle = payout_batch_confirm if confirm else payout_batch_cancel
        settle(batch_id=self._pick(batches, index).id, organization_ids=[self.organization.id], decided_by_id=None)

    # Invariants --------------------------------------------------------------------------------------------

    @invariant()
    def funds_are_never_overdrawn(self) -> None:
        funds = funds_summary(organization_id=self.organization.id).get("USD")
        if funds:
            assert funds["available"] >= 0, funds
            assert funds["spent"] <= funds["deposited"], funds

    @invariant()
    def reserve_covers_what_the_campaigns_can_still_cost(self) -> None:
        # Counted from the rows, apart from the selector: a held lease can still be submitted at its reward, and a
        # live campaign can still fill every free slot at its current reward.
        floor = 0
        for campaign in Campaign.objects.filter(organization=self.organization):
            held = Assignment.objects.filter(campaign=campaign, status=Assignment.Status.ACTIVE)
            floor += held.aggregate(total=Sum("reward_minor"))["total"] or 0
            if campaign.status in LIVE:
                free = MicroTask.objects.filter(campaign=campaign).aggregate(
                    free=Sum(F("target") - F("done_count") - F("active_count"))
                )["free"]
                floor += campaign.reward_minor * (free or 0)
        reserved = funds_summary(organization_id=self.organization.id).get("USD", {}).get("reserved", 0)
        assert reserved >= floor, (reserved, floor)

    @invariant()
    def workers_are_paid_what_approved_work_earned_never_more(self) -> None:
        # Every entry of the worker, counted apart from the payout code (these workers work for this organization
        # only): a payout that forgot an earlier one would show here as a negative balance.
        balances: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for worker_id, status, total in (
            LedgerEntry.objects.filter(worker__in=self.workers)
            .values("worker_id", "status")
            .annotate(total=Sum("amount_minor"))
            .values_list("worker_id", "status", "total")
        ):
            balances[worker_id][status] = total
        ours = Assignment.objects.filter(campaign__organization=self.organization)
        for worker in self.workers:
            balance = balances[worker.id]
            assert all(amount >= 0 for amount in balance.values()), balance
            approved = ours.filter(worker=worker, status=Assignment.Status.APPROVED).aggregate(t=Sum("reward_minor"))[
                "t"
            ]
            submitted = ours.filter(worker=worker, status=Assignment.Status.SUBMITTED).aggregate(t=Sum("reward_minor"))[
                "t"
            ]
            topups = (
                LedgerEntry.objects.filter(worker=worker, kind=LedgerEntry.Kind.FAIR_PAY_TOPUP).aggregate(
                    t=Sum("amount_minor")
                )["t"]
                or 0
            )
            earned = (approved or 0) + topups
            assert balance["paid"] <= earned
            assert balance["available"] + balance["payout_pending"] + balance["paid"] == earned, (balance, earned)
            assert balance["pending"] == (submitted or 0), balance

    @invariant()
    def every_ledger_pair_balances_and_a_batch_lists_a_worker_once(self) -> None:
        entries = dict(
            LedgerEntry.objects.filter(worker__in=self.workers, idempotency_key__regex=r":(out|in)$").values_list(
                "idempotency_key", "amount_minor"
            )
        )
        for key, amount in entries.items():
            if key.endswith(":out"):
                assert entries.get(key.removesuffix(":out") + ":in") == -amount, key
            else:
                assert entries.get(key.removesuffix(":in") + ":out") == -amount, key
        exported = LedgerEntry.objects.filter(
            payout_batch__organization=self.organization, status="payout_pending", amount_minor__gt=0
        ).values_list("payout_batch_id", "worker_id")
        assert len(set(exported)) == len(list(exported))


def test_money_invariants_hold_for_random_sequences_of_operations():
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            database=None,  # no example files written next to the code
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
