"""The funds check every change that commits more of an organization's money goes through.

An organization's available funds are its deposits, less what its workers earned, less what its campaigns can
still cost (crowd.selectors.funds_summary); they never go below zero. A change that can raise a campaign's most
possible cost (launch, import into a live campaign, reopening, a higher redundancy, max_redundancy or reward) or
that spends beyond the reserve (a fair-pay top-up, an overturned rejection) is made first, then checked here in
the same transaction, so a refusal rolls it back and nothing is half-written.
"""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from crowd.exceptions import ValidationFailed
from crowd.selectors import funds_summary
from payments.money import from_minor
from payments.services import funds_account_lock


class InsufficientFunds(ValidationFailed):
    code = "insufficient_funds"


# The refusal names the change in the reader's language. Callers pass `action` as English (campaigns.py,
# approvals.py, fairpay.py), so the known phrases are looked up here; the context tells translators each one
# starts the sentence "… needs up to …" (spelled out in each call: extractors read literals only). Any other
# `action` (one already translated, say) is shown as it is.
ACTION_NAMES = {
    "This change": pgettext_lazy("funds: the change, starting the sentence", "This change"),
    "Launching": pgettext_lazy("funds: the change, starting the sentence", "Launching"),
    "Resuming": pgettext_lazy("funds: the change, starting the sentence", "Resuming"),
    "Overturning this rejection": pgettext_lazy(
        "funds: the change, starting the sentence", "Overturning this rejection"
    ),
    "Raising the reward to the pay floor": pgettext_lazy(
        "funds: the change, starting the sentence", "Raising the reward to the pay floor"
    ),
}


def funds_available_minor(*, organization_id: int, currency: str) -> int:
    """Available funds in one currency (deposited - spent - reserved), in minor units; may be read without the lock
    for display, but a decision on it must hold the lock (funds_require)."""
    return funds_summary(organization_id=organization_id).get(currency, {}).get("available", 0)


def funds_require(*, organization_id: int, currency: str, needed_minor: int, action: str) -> None:
    """Refuse, with InsufficientFunds, a change already made in the caller's transaction when the organization's
    funds no longer cover everything reserved and spent. `needed_minor` is what the change commits (for the message);
    `action` names the change, in English (translated here when refusing: see ACTION_NAMES).

    Takes the organization's funds lock first (payments.FundsAccount, FOR NO KEY UPDATE), so two changes made at
    once are checked one after the other and the second sees the first's commit: they never both pass on the same
    money. Callers lock their campaign or assignment before this (one lock order: never a deadlock).
    """
    funds_account_lock(organization_id=organization_id)
    available = funds_available_minor(organization_id=organization_id, currency=currency)
    if available >= 0:
        return
    need, have = from_minor(max(needed_minor, 0), currency), from_minor(available + needed_minor, currency)
    values = {"action": ACTION_NAMES.get(action, action), "need": need, "have": have, "currency": currency}
    raise InsufficientFunds(
        _(
            "%(action)s needs up to %(need)s %(currency)s; the organization has %(have)s %(currency)s available "
            "(what its campaigns can still cost is held in reserve). Record a deposit first."
        )
        % values,
        fields={"funds": _("Needs up to %(need)s, available %(have)s.") % values},
    )
