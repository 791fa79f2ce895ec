"""Payout batches. A worker's available balance with an organization moves, in a batch, to payout_pending and
is listed once in the batch's CSV, which the organization executes (no money moves through Crowdloop); an
owner's confirmation makes it paid, a cancellation returns it to available.

One worker in batch B, each step an append-only pair of entries keyed by batch, worker and step:
    create  (batch `exported`):  available -b, payout_pending +b
    confirm (batch `paid`):      payout_pending -b, paid +b
    cancel  (batch `cancelled`): payout_pending -b, available +b
"""

import csv
import io
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import Conflict, InvalidState, NotFound, ValidationFailed
from config.spreadsheet import spreadsheet_text
from payments.models import LedgerEntry, PayoutBatch
from payments.money import MoneyError, currency_validate, from_minor, to_minor
from payments.selectors import balances_owed_by
from payments.services import funds_account_lock, ledger_pair
from workers.models import WorkerProfile
from workers.pseudonyms import pseudonym


def payout_batch_create(
    *, organization_id: int, created_by_id: int | None, currency: str, threshold: str, reference: str
) -> tuple[PayoutBatch, bool]:
    """Move every worker's available balance with this organization, when at least `threshold`, into a new batch.

    Returns (batch, created). Takes the organization's funds lock first, so of two batches made at once (any
    references) the second sees the first's entries and never pays the same balance again. Idempotent on
    `reference`; the same reference with another currency or threshold raises Conflict.
    """
    try:
        code = currency_validate(currency)
        threshold_minor = to_minor(threshold, code)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), fields={"threshold": str(exc)}) from exc
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed(_("A payout needs a reference."), fields={"reference": _("Required.")})
    with transaction.atomic():
        funds_account_lock(organization_id=organization_id)
        existing = PayoutBatch.objects.filter(organization_id=organization_id, reference=reference).first()
        if existing:
            if (existing.currency, existing.threshold_minor) != (code, threshold_minor):
                raise Conflict(
                    _("Payout '%(reference)s' was already made with another currency or threshold.")
                    % {"reference": reference},
                    code="duplicate",
                )
            return existing, False
        balances = balances_owed_by(organization_id=organization_id, currency=code, status=LedgerEntry.Status.AVAILABLE)
        due = {worker: balance for worker, balance in sorted(balances.items()) if balance >= max(threshold_minor, 1)}
        batch = PayoutBatch.objects.create(
            organization_id=organization_id,
            reference=reference,
            currency=code,
            threshold_minor=threshold_minor,
            workers=len(due),
            total_minor=sum(due.values()),
            created_by_id=created_by_id,
        )
        LedgerEntry.objects.bulk_create(
            entry
            for worker_id, balance in due.items()
            for entry in ledger_pair(
                worker_id=worker_id,
                amount_minor=balance,
                currency=code,
                from_status=LedgerEntry.Status.AVAILABLE,
                to_status=LedgerEntry.Status.PAYOUT_PENDING,
                kind=LedgerEntry.Kind.PAYOUT,
                key=f"payout:{batch.id}:{worker_id}:export",
                payout_batch=batch,
                reason=f"Payout {reference}",
            )
        )
    return batch, True


def payout_batch_confirm(*, batch_id: int, organization_ids: list[int], decided_by_id: int | None) -> PayoutBatch:
    """exported -> paid: the organization made the transfers; every held balance becomes paid. Locks the batch.
    Idempotent; raises NotFound (not the caller's), InvalidState (cancelled)."""
    return _settle(batch_id, organization_ids, decided_by_id, PayoutBatch.Status.PAID, LedgerEntry.Status.PAID)


def payout_batch_cancel(*, batch_id: int, organization_ids: list[int], decided_by_id: int | None) -> PayoutBatch:
    """exported -> cancelled: nothing was transferred; every held balance returns to available. Locks the batch.
    Idempotent; raises NotFound (not the caller's), InvalidState (already paid)."""
    return _settle(
        batch_id, organization_ids, decided_by_id, PayoutBatch.Status.CANCELLED, LedgerEntry.Status.AVAILABLE
    )


def _settle(
    batch_id: int, organization_ids: list[int], decided_by_id: int | None, outcome: str, to_status: str
) -> PayoutBatch:
    with transaction.atomic():
        batch = (
            PayoutBatch.objects.select_for_update(no_key=True)
            .filter(pk=batch_id, organization_id__in=organization_ids)
            .first()
        )
        if batch is None:
            raise NotFound(_("No such payout batch."))
        if batch.status == outcome:
            return batch
        if batch.status != PayoutBatch.Status.EXPORTED:
            raise InvalidState(_("This payout batch is already %(status)s.") % {"status": batch.status})
        held = (
            LedgerEntry.objects.filter(payout_batch=batch, status=LedgerEntry.Status.PAYOUT_PENDING)
            .values("worker_id")
            .annotate(held=Sum("amount_minor"))
            .filter(held__gt=0)
            .values_list("worker_id", "held")
        )
        LedgerEntry.objects.bulk_create(
            entry
            for worker_id, amount in held
            for entry in ledger_pair(
                worker_id=worker_id,
                amount_minor=amount,
                currency=batch.currency,
                from_status=LedgerEntry.Status.PAYOUT_PENDING,
                to_status=to_status,
                kind=LedgerEntry.Kind.PAYOUT,
                key=f"payout:{batch.id}:{worker_id}:{outcome}",
                payout_batch=batch,
                reason=f"Payout {batch.reference} {outcome}",
            )
        )
        batch.status, batch.decided_by_id, batch.decided_at = outcome, decided_by_id, timezone.now()
        batch.save(update_fields=["status", "decided_by", "decided_at"])
    return batch


PAYOUT_CSV_COLUMNS = ["worker", "country", "payout_method", "payout_details", "amount", "currency"]


def payout_batch_csv(*, batch: PayoutBatch, method: str | None = None) -> Iterator[str]:
    """One row per worker in the batch: who (the organization's pseudonym for them, never a username), how (the
    payout account the worker gave for this purpose: method and details), how much. Filter by method."""
    rows = (
        LedgerEntry.objects.filter(payout_batch=batch, amount_minor__gt=0)
        # The entry that put the worker in the batch; batches made before confirmation existed went straight
        # to paid under a key ending in ":paid" (a confirmation's key ends in ":paid:in").
        .filter(
            Q(status=LedgerEntry.Status.PAYOUT_PENDING)
            | Q(status=LedgerEntry.Status.PAID, idempotency_key__endswith=":paid")
        )
        .order_by("worker_id")
    )
    profiles = {p.user_id: p for p in WorkerProfile.objects.filter(user_id__in=rows.values("worker_id"))}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PAYOUT_CSV_COLUMNS)
    for entry in rows:
        profile = profiles.get(entry.worker_id)
        payout_method = profile.payout_method if profile else ""
        if method and payout_method != method:
            continue
        details = profile.payout_details if profile else {}
        writer.writerow(
            [
                pseudonym(batch.organization_id, entry.worker_id),
                str(profile.country) if profile else "",
                payout_method or "unset",
                spreadsheet_text(";".join(f"{k}={v}" for k, v in sorted(details.items()))),  # never a live formula
                from_minor(entry.amount_minor, entry.currency),  # our own number: stays a number
                entry.currency,
            ]
        )
    yield buffer.getvalue()
