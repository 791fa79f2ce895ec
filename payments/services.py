"""Writes to the ledger. Every entry is a new row; nothing is edited or deleted."""

import hashlib
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import Conflict, ValidationFailed
from payments.models import FundsAccount, LedgerEntry
from payments.money import MoneyError, currency_exponent, currency_validate, from_minor, to_minor

# The most one deposit may record, in major units of its currency: far above any real transfer, so a typo of
# a few extra digits is refused instead of funding campaigns with money that was never set aside.
DEPOSIT_MAX = Decimal("10000000")


def ledger_credit_reward(
    *, assignment_id: int, worker_id: int, campaign_id: int, amount_minor: int, currency: str
) -> None:
    """Credit an assignment's reward as pending. Runs inside the caller's transaction (the submit).

    Idempotent in one statement: the partial unique constraint allows one reward per assignment, and a
    second credit is dropped by ON CONFLICT DO NOTHING (the submit is on the hot path; no read first).
    """
    ledger_record(
        worker_id=worker_id,
        amount_minor=amount_minor,
        currency=currency,
        status=LedgerEntry.Status.PENDING,
        kind=LedgerEntry.Kind.REWARD,
        key=None,
        campaign_id=campaign_id,
        assignment_id=assignment_id,
    )


def funds_deposit(
    *, organization_id: int, amount: str, currency: str, reference: str, created_by_id: int | None
) -> tuple[LedgerEntry, bool]:
    """Record money the organization set aside to pay workers (its own record: no money moves through here).

    Returns (entry, created). Idempotent on (organization, reference): the same reference with the same amount
    returns the first entry; with another amount or currency raises Conflict. Raises ValidationFailed for an
    amount that is not positive, has more decimals than the currency or exceeds DEPOSIT_MAX. Locks nothing.
    """
    try:
        code = currency_validate(currency)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), fields={"currency": str(exc)}) from exc
    try:
        minor = to_minor(amount, code)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), fields={"amount": str(exc)}) from exc
    if minor <= 0:
        raise ValidationFailed(_("A deposit must be positive."), fields={"amount": _("Must be greater than zero.")})
    maximum = int(DEPOSIT_MAX.scaleb(currency_exponent(code)))
    if minor > maximum:
        most = f"{from_minor(maximum, code)} {code}"
        raise ValidationFailed(
            _("One deposit records at most %(most)s.") % {"most": most},
            fields={"amount": _("At most %(most)s.") % {"most": most}},
        )
    if not reference.strip():
        raise ValidationFailed(_("A deposit needs a reference."), fields={"reference": _("This field is required.")})
    # References may be 200 characters; the key column holds 120, so it carries the reference's digest.
    key = f"deposit:{organization_id}:{hashlib.sha256(reference.strip().encode()).hexdigest()}"
    entry = LedgerEntry.objects.filter(idempotency_key=key).first()
    created = False
    if entry is None:
        try:
            with transaction.atomic():
                entry = LedgerEntry.objects.create(
                    organization_id=organization_id,
                    kind=LedgerEntry.Kind.DEPOSIT,
                    status=LedgerEntry.Status.AVAILABLE,
                    amount_minor=minor,
                    currency=code,
                    reference=reference.strip(),
                    idempotency_key=key,
                    created_by_id=created_by_id,
                )
                created = True
        except IntegrityError:  # the same reference, recorded by a concurrent request
            entry = LedgerEntry.objects.get(idempotency_key=key)
    if entry.amount_minor != minor or entry.currency != code:
        raise Conflict(
            _("Reference '%(reference)s' was already recorded with a different amount.") % {"reference": reference},
            code="duplicate",
        )
    return entry, created


def funds_account_lock(*, organization_id: int) -> None:
    """Take the organization's funds lock (its FundsAccount row, FOR NO KEY UPDATE) until the caller's transaction
    ends: every reserve, spend beyond the reserve and payout of the organization takes it before its check."""
    locked = FundsAccount.objects.select_for_update(no_key=True).filter(organization_id=organization_id)
    if not locked.exists():
        FundsAccount.objects.bulk_create([FundsAccount(organization_id=organization_id)], ignore_conflicts=True)
    locked.get()


def ledger_pair(
    *, worker_id: int, amount_minor: int, currency: str, from_status: str, to_status: str, kind: str, key: str, **links
) -> list[LedgerEntry]:
    """The two entries that move `amount_minor` of a worker's money from one status to another (unsaved)."""
    common = {"worker_id": worker_id, "currency": currency, "kind": kind, **links}
    return [
        LedgerEntry(status=from_status, amount_minor=-amount_minor, idempotency_key=f"{key}:out", **common),
        LedgerEntry(status=to_status, amount_minor=amount_minor, idempotency_key=f"{key}:in", **common),
    ]


def ledger_move(
    *,
    worker_id: int,
    amount_minor: int,
    currency: str,
    from_status: str,
    to_status: str,
    kind: str,
    key: str,
    campaign_id: int | None = None,
    assignment_id: int | None = None,
    reason: str = "",
) -> None:
    """Move money between a worker's statuses as a pair of entries (append-only). Idempotent on `key`: a
    move already recorded is not recorded again. Runs in the caller's transaction.
    """
    LedgerEntry.objects.bulk_create(
        ledger_pair(
            worker_id=worker_id,
            amount_minor=amount_minor,
            currency=currency,
            from_status=from_status,
            to_status=to_status,
            kind=kind,
            key=key,
            campaign_id=campaign_id,
            assignment_id=assignment_id,
            reason=reason,
        ),
        ignore_conflicts=True,
    )


def ledger_record(
    *,
    worker_id: int,
    amount_minor: int,
    currency: str,
    status: str,
    kind: str,
    key: str | None,
    campaign_id: int | None = None,
    assignment_id: int | None = None,
    reason: str = "",
) -> None:
    """One idempotent entry on a worker's account: a reward credit (kept single by the one-reward-per-assignment
    constraint, no key) or a bonus, top-up or compensating adjustment (kept single by its key). Plain SQL: every
    submit credits its reward here, and building the ORM's bulk insert cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_ledgerentry (worker_id, amount_minor, currency, status, kind, idempotency_key,"
            " campaign_id, assignment_id, reason, reference, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', %s) ON CONFLICT DO NOTHING",
            [
                worker_id,
                amount_minor,
                currency,
                status,
                kind,
                key,
                campaign_id,
                assignment_id,
                reason,
                # As the ORM stores it (SQLite keeps timestamps as text: one format, or range filters go wrong).
                connection.ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
