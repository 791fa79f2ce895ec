"""Reads of the ledger: balances are always sums, never a stored running total."""

import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from config.errors import NotFound
from payments.fairpay import Floor, convert_minor
from payments.labels import kind_words, status_words
from payments.models import ExchangeRate, LedgerEntry, PayFloor, PayoutBatch
from payments.money import currency_exponent, from_minor


def _sums_by_currency_and_status(entries: QuerySet[LedgerEntry]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in LedgerEntry.Status})
    for row in entries.values("currency", "status").annotate(total=Sum("amount_minor")):
        totals[row["currency"]][row["status"]] = row["total"]
    return dict(totals)


def earnings_for_worker(*, worker_id: int) -> dict[str, dict[str, int]]:
    """{currency: {pending, available, payout_pending, paid}} in minor units, over every organization."""
    return _sums_by_currency_and_status(LedgerEntry.objects.filter(worker_id=worker_id))


def worker_entries_owed_by(*, organization_id: int) -> QuerySet[LedgerEntry]:
    """Worker entries one organization owes or pays: its campaigns' earnings and its own payout batches. Their sum
    per worker and status is the worker's exact balance with that organization."""
    return LedgerEntry.objects.filter(worker__isnull=False).filter(
        Q(campaign__organization_id=organization_id) | Q(payout_batch__organization_id=organization_id)
    )


def balances_owed_by(*, organization_id: int, currency: str, status: str) -> dict[int, int]:
    """{worker id: balance} in one status (e.g. available) with one organization, in minor units."""
    rows = (
        worker_entries_owed_by(organization_id=organization_id)
        .filter(currency=currency, status=status)
        .values("worker_id")
        .annotate(balance=Sum("amount_minor"))
        .values_list("worker_id", "balance")
    )
    return dict(rows)


def payout_batch_for_organizations(*, batch_id: int, organization_ids: list[int]) -> PayoutBatch:
    """The batch if one of these organizations made it; NotFound otherwise (no leak of existence)."""
    batch = PayoutBatch.objects.filter(pk=batch_id, organization_id__in=organization_ids).first()
    if batch is None:
        raise NotFound(_("No such payout batch."))
    return batch


def ledger_entries_for_worker(*, worker_id: int) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(worker_id=worker_id).select_related("campaign").order_by("-created_at", "-id")


def funds_for_organization(*, organization_id: int) -> dict[str, dict[str, int]]:
    """{currency: {deposited, spent}} in minor units, from sums over the ledger.

    `spent` is the net of every worker entry on the organization's campaigns: rewards, top-ups and bonuses,
    less reversals; entry pairs that only move money between a worker's statuses add up to zero.
    """
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"deposited": 0, "spent": 0})
    deposits = (
        LedgerEntry.objects.filter(organization_id=organization_id, kind=LedgerEntry.Kind.DEPOSIT)
        .values("currency")
        .annotate(total=Sum("amount_minor"))
    )
    for row in deposits:
        result[row["currency"]]["deposited"] = row["total"]
    spending = (
        LedgerEntry.objects.filter(worker__isnull=False, campaign__organization_id=organization_id)
        .exclude(kind=LedgerEntry.Kind.PAYOUT)  # paying out moves earned money; it is not new spending
        .values("currency")
        .annotate(total=Sum("amount_minor"))
    )
    for row in spending:
        result[row["currency"]]["spent"] = row["total"]
    return dict(result)


class MissingExchangeRate(LookupError):
    pass


def exchange_rate(*, base: str, quote: str, on: datetime.date | None = None) -> Decimal:
    """Latest rate on or before `on` (either direction); raises MissingExchangeRate."""
    if base == quote:
        return Decimal(1)
    on = on or datetime.date.today()
    direct = ExchangeRate.objects.filter(base=base, quote=quote, as_of__lte=on).order_by("-as_of").first()
    if direct:
        return direct.rate
    inverse = ExchangeRate.objects.filter(base=quote, quote=base, as_of__lte=on).order_by("-as_of").first()
    if inverse:
        return Decimal(1) / inverse.rate
    # Translated: a launch refused for want of a rate shows this to the coordinator.
    raise MissingExchangeRate(
        _("No exchange rate from %(base)s to %(quote)s: add one in the admin.") % {"base": base, "quote": quote}
    )


def floors_in_force(*, countries: Iterable[str], on: datetime.date | None = None) -> list[Floor]:
    """The global floor and the floors of these countries, each the latest effective on `on`."""
    on = on or datetime.date.today()
    wanted = {"", *countries}
    latest: dict[str, PayFloor] = {}
    for floor in PayFloor.objects.filter(country__in=wanted, effective_from__lte=on).order_by("effective_from"):
        latest[str(floor.country)] = floor
    return [Floor(f.hourly_minor, f.currency, str(f.country), f.source) for f in latest.values()]


def highest_floor(*, countries: Iterable[str], currency: str, on: datetime.date | None = None) -> Floor | None:
    """The highest floor that applies, expressed in `currency` (converted, rounded up)."""
    best: Floor | None = None
    for floor in floors_in_force(countries=countries, on=on):
        rate = exchange_rate(base=floor.currency, quote=currency, on=on)
        hourly = convert_minor(
            amount_minor=floor.hourly_minor,
            rate=rate,
            from_exponent=currency_exponent(floor.currency),
            to_exponent=currency_exponent(currency),
        )
        if best is None or hourly > best.hourly_minor:
            best = Floor(hourly, currency, floor.country, floor.source)
    return best


def earnings_summary(*, worker_id: int) -> dict[str, Any]:
    """Totals per currency (the first, most used, also flat at the top level) and the latest entries."""
    totals = earnings_for_worker(worker_id=worker_id)
    by_currency = {
        currency: {name: from_minor(amount, currency) for name, amount in sums.items()}
        for currency, sums in sorted(totals.items())
    }
    recent = list(ledger_entries_for_worker(worker_id=worker_id)[:100])
    uses = Counter(entry.currency for entry in recent)
    # The most used currency of the latest entries; ties go to the first code alphabetically.
    main = max(by_currency, key=lambda currency: uses[currency], default="USD")
    summary = by_currency.get(main, {status.value: "0.00" for status in LedgerEntry.Status})
    entries = [
        {
            "id": entry.id,
            "kind": entry.kind,
            "status": entry.status,
            "amount": from_minor(entry.amount_minor, entry.currency),
            "currency": entry.currency,
            "campaign": entry.campaign_id,
            "campaign_name": entry.campaign.name if entry.campaign else None,
            "assignment": entry.assignment_id,
            "reason": entry.reason,
            "created_at": entry.created_at,
        }
        for entry in recent
    ]
    return {"currency": main, **summary, "by_currency": by_currency, "entries": entries}


def history_for_worker(*, worker_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The worker's latest ledger entries in plain, translated words (for their pages; the API keeps the codes)."""
    return [
        {
            "created_at": entry.created_at,
            "campaign_name": entry.campaign.name if entry.campaign else None,
            "what": kind_words(entry.kind),
            "state": status_words(entry.status, entry.amount_minor),
            "amount": from_minor(entry.amount_minor, entry.currency),
            "currency": entry.currency,
            "reason": entry.reason,
        }
        for entry in ledger_entries_for_worker(worker_id=worker_id)[:limit]
    ]
