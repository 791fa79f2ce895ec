"""A worker leaves: personal data erased or replaced by a pseudonym, work and money records kept.

Answers stay with the same (now pseudonymous) account, so results, aggregation and quality stay valid; ledger
entries stay too (money records are kept) and point at the pseudonym. Money not yet paid stays owed: the
organizations that owe it still see it in their balances and pay it out, which is why payout details are kept
while anything is owed (and erased otherwise).
"""

import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from crowd.models import Assignment
from crowd.services.routing import assignment_release
from payments.models import LedgerEntry
from payments.selectors import earnings_for_worker
from workers.models import RecoveryCode, SignInGrant, User, WorkerLanguage, WorkerProfile, WorkerSkill, WorkerToken

PSEUDONYM_PREFIX = "deleted-"
UNPAID = (LedgerEntry.Status.PENDING, LedgerEntry.Status.AVAILABLE, LedgerEntry.Status.PAYOUT_PENDING)


@dataclass
class AccountDeleted:
    pseudonym: str
    already: bool  # a second request: nothing changed


def worker_unpaid_balances(*, worker_id: int) -> dict[str, dict[str, int]]:
    """{currency: {status: minor}} of money still owed to the worker (pending, available, being paid)."""
    owed = {}
    for currency, by_status in earnings_for_worker(worker_id=worker_id).items():
        unpaid = {status: by_status.get(status, 0) for status in UNPAID if by_status.get(status, 0)}
        if unpaid:
            owed[currency] = unpaid
    return owed


def account_is_deleted(user: User) -> bool:
    return not user.is_active and user.username.startswith(PSEUDONYM_PREFIX) and not user.has_usable_password()


def worker_delete_account(*, worker_id: int) -> AccountDeleted:
    """Erase the worker's personal data in one transaction; idempotent (a second call changes nothing).

    Locks the user row. Username becomes `deleted-<random>`; email, names, preferred language, country,
    languages, skills and email addresses are erased; the password becomes unusable (which also ends every
    session), the account inactive, API tokens revoked, active leases released. Answers and ledger entries stay."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=worker_id)
        if account_is_deleted(user):
            return AccountDeleted(pseudonym=user.username, already=True)
        now = timezone.now()
        user.username = f"{PSEUDONYM_PREFIX}{secrets.token_hex(6)}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.preferred_language = ""
        user.is_active = False
        user.set_unusable_password()  # changes the session hash: every open session ends
        user.save()
        EmailAddress.objects.filter(user=user).delete()
        WorkerToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        SignInGrant.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        RecoveryCode.objects.filter(user=user).delete()
        WorkerLanguage.objects.filter(profile__user=user).delete()
        WorkerSkill.objects.filter(profile__user=user).delete()
        owed = bool(worker_unpaid_balances(worker_id=user.id))
        erased = {"country": "", "sensitive_opt_in": False}
        if not owed:
            erased.update(payout_method="", payout_details={}, payout_currency="")
        WorkerProfile.objects.filter(user=user).update(**erased)
        # Leases end now (through the release service, which frees their slots) so their items go to someone
        # else at once; submitted work is kept.
        for assignment_id in Assignment.objects.filter(worker=user, status=Assignment.Status.ACTIVE).values_list(
            "id", flat=True
        ):
            assignment_release(worker=user, assignment_id=assignment_id)
    return AccountDeleted(pseudonym=user.username, already=False)
