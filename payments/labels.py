"""Ledger words as a worker reads them: what the money is for and where it stands, in plain words that are
translated. The ledger's own codes (`fair_pay_topup`, `payout_pending`) never reach a worker's page."""

from django.utils.translation import gettext_lazy as _

from payments.models import LedgerEntry

KIND_WORDS = {
    LedgerEntry.Kind.REWARD: _("pay for a task"),
    LedgerEntry.Kind.BONUS: _("bonus"),
    LedgerEntry.Kind.FAIR_PAY_TOPUP: _("top-up to the fair-pay floor"),
    LedgerEntry.Kind.ADJUSTMENT: _("change made by the organization"),
    LedgerEntry.Kind.PAYOUT: _("sent to you"),
    LedgerEntry.Kind.DEPOSIT: _("deposit"),
}
STATUS_WORDS = {
    LedgerEntry.Status.PENDING: _("waiting for approval"),
    LedgerEntry.Status.AVAILABLE: _("approved, not paid yet"),
    LedgerEntry.Status.PAYOUT_PENDING: _("being paid to you"),
    LedgerEntry.Status.PAID: _("paid"),
}


def kind_words(kind: str) -> str:
    return str(KIND_WORDS.get(kind, kind))


def status_words(status: str, amount_minor: int = 0) -> str:
    """A negative entry in a status is money taken back (a rejection reverses its reward)."""
    if amount_minor < 0 and status == LedgerEntry.Status.PENDING:
        return str(_("taken back"))
    return str(STATUS_WORDS.get(status, status))
