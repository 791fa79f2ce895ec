"""Payout batches: available balances become paid, idempotently, with a CSV per payout method to execute."""

import csv
import io
from collections.abc import Iterator

from django.db import IntegrityError, transaction
from django.db.models import Sum

from config.errors import ValidationFailed
from config.spreadsheet import spreadsheet_text
from payments.models import LedgerEntry, PayoutBatch
from payments.money import MoneyError, currency_validate, from_minor, to_minor
from workers.models import WorkerProfile


def payout_batch_create(
    *, organization_id: int, created_by_id: int | None, currency: str, threshold: str, reference: str
) -> PayoutBatch:
    """Move every worker's available balance from this organization's campaigns, when at least `threshold`,
    to paid. Idempotent on `reference` (the same reference returns the same batch). Locks nothing: each
    move's key names the batch and the worker, and balances come from sums inside this transaction.
    """
    try:
        code = currency_validate(currency)
        threshold_minor = to_minor(threshold, code)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), fields={"threshold": str(exc)}) from exc
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed("A payout needs a reference.", fields={"reference": "Required."})
    existing = PayoutBatch.objects.filter(organization_id=organization_id, reference=reference).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            batch = PayoutBatch.objects.create(
                organization_id=organization_id,
                reference=reference,
                currency=code,
                threshold_minor=threshold_minor,
                created_by_id=created_by_id,
            )
            balances = (
                LedgerEntry.objects.filter(
                    worker__isnull=False,
                    campaign__organization_id=organization_id,
                    currency=code,
                    status=LedgerEntry.Status.AVAILABLE,
                )
                .values("worker_id")
                .annotate(balance=Sum("amount_minor"))
                .filter(balance__gte=max(threshold_minor, 1))
            )
            entries = []
            for row in balances:
                for status, sign in ((LedgerEntry.Status.AVAILABLE, -1), (LedgerEntry.Status.PAID, 1)):
                    entries.append(
                        LedgerEntry(
                            worker_id=row["worker_id"],
                            kind=LedgerEntry.Kind.PAYOUT,
                            status=status,
                            amount_minor=sign * row["balance"],
                            currency=code,
                            payout_batch=batch,
                            idempotency_key=f"payout:{batch.id}:{row['worker_id']}:{status}",
                            reason=f"Payout {reference}",
                        )
                    )
                batch.workers += 1
                batch.total_minor += row["balance"]
            LedgerEntry.objects.bulk_create(entries)
            batch.save(update_fields=["workers", "total_minor"])
            return batch
    except IntegrityError:  # a concurrent request with the same reference won
        return PayoutBatch.objects.get(organization_id=organization_id, reference=reference)


def payout_batch_csv(*, batch: PayoutBatch, method: str | None = None) -> Iterator[str]:
    """One row per worker paid in the batch: who, how (method and details), how much. Filter by method."""
    rows = (
        LedgerEntry.objects.filter(payout_batch=batch, status=LedgerEntry.Status.PAID)
        .select_related("worker")
        .order_by("worker_id")
    )
    profiles = {p.user_id: p for p in WorkerProfile.objects.filter(user_id__in=rows.values("worker_id"))}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["worker", "username", "country", "payout_method", "payout_details", "amount", "currency"])
    for entry in rows:
        profile = profiles.get(entry.worker_id)
        payout_method = profile.payout_method if profile else ""
        if method and payout_method != method:
            continue
        details = profile.payout_details if profile else {}
        writer.writerow(
            [
                entry.worker_id,
                spreadsheet_text(entry.worker.username),  # people's text: never a live formula
                str(profile.country) if profile else "",
                payout_method or "unset",
                spreadsheet_text(";".join(f"{k}={v}" for k, v in sorted(details.items()))),
                from_minor(entry.amount_minor, entry.currency),  # our own number: stays a number
                entry.currency,
            ]
        )
    yield buffer.getvalue()
