"""Reads of the ledger: balances are always sums, never a stored running total."""

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet, Sum

from payments.models import LedgerEntry


def _sums_by_currency_and_status(entries: QuerySet[LedgerEntry]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in LedgerEntry.Status})
    for row in entries.values("currency", "status").annotate(total=Sum("amount_minor")):
        totals[row["currency"]][row["status"]] = row["total"]
    return dict(totals)


def earnings_for_worker(*, worker_id: int) -> dict[str, dict[str, int]]:
    """{currency: {pending, available, paid}} in minor units."""
    return _sums_by_currency_and_status(LedgerEntry.objects.filter(worker_id=worker_id))


def ledger_entries_for_worker(*, worker_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(worker_id=worker_id).select_related("campaign").order_by("-created_at", "-id")


def funds_for_organization(*, organization_id: int) -> dict[str, Any]:
    """{currency: {deposited, ...}} in minor units (reservations arrive with campaign budgets)."""
    rows = (
        LedgerEntry.objects.filter(organization_id=organization_id)
        .values("currency", "kind")
        .annotate(total=Sum("amount_minor"))
    )
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"deposited": 0})
    for row in rows:
        if row["kind"] == LedgerEntry.Kind.DEPOSIT:
            result[row["currency"]]["deposited"] += row["total"]
    return dict(result)
