"""A worker leaves: personal data erased, the work and the money records kept under a pseudonym."""

import contextlib
import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from config.errors import InvalidState, NotFound
from crowd.models import Assignment, Membership
from crowd.services.routing import assignment_release
from payments.selectors import earnings_for_worker
from workers.models import User, WorkerLanguage, WorkerProfile, WorkerSkill, WorkerToken

PSEUDONYM_PREFIX = "deleted-"


@dataclass(frozen=True)
class AccountDeleted:
    pseudonym: str
    # Money still owed when the account closed, {currency: minor units}: kept in the ledger, no longer payable to
    # a person the organization can reach.
    unpaid_minor: dict[str, int]


def unpaid_minor(*, worker_id: int) -> dict[str, int]:
    """What the worker has earned and not been paid yet (pending, available, in a payout), per currency."""
    return {
        currency: total
        for currency, sums in earnings_for_worker(worker_id=worker_id).items()
        if (total := sums.get("pending", 0) + sums.get("available", 0) + sums.get("payout_pending", 0)) > 0
    }


def is_deleted(user: User) -> bool:
    return not user.is_active and user.username.startswith(PSEUDONYM_PREFIX) and not user.has_usable_password()


def worker_account_delete(*, user_id: int) -> AccountDeleted:
    """Erase a worker's personal data (name, email, country, languages, skills, payout account, tokens, sign-in)
    and give the account a pseudonym. Answers, quality and ledger entries stay, pointing at the pseudonym, so
    results and money records stay valid. Held leases are released first. Locks the user row; a second call on
    a deleted account returns its pseudonym and changes nothing. Raises InvalidState for organization members,
    who must leave their organizations first (an organization must never lose its last owner silently)."""
    for lease_id in Assignment.objects.filter(worker_id=user_id, status=Assignment.Status.ACTIVE).values_list(
        "id", flat=True
    ):
        with contextlib.suppress(InvalidState):  # expired or submitted meanwhile: nothing left to give back
            assignment_release(worker=User.objects.get(pk=user_id), assignment_id=lease_id, reason="")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound("No such account.")
        owed = unpaid_minor(worker_id=user_id)
        if is_deleted(user):
            return AccountDeleted(pseudonym=user.username, unpaid_minor=owed)
        if Membership.objects.filter(user_id=user_id).exists():
            raise InvalidState(
                "Members of an organization must leave it before deleting their account.",
                fields={"account": "Still a member of an organization."},
            )
        pseudonym = f"{PSEUDONYM_PREFIX}{secrets.token_hex(6)}"
        user.username, user.email, user.first_name, user.last_name = pseudonym, "", "", ""
        user.preferred_language = ""
        user.is_active = False  # ends every session at its next request (the auth backend refuses inactive users)
        user.set_unusable_password()
        user.save()
        EmailAddress.objects.filter(user_id=user_id).delete()
        WorkerToken.objects.filter(user_id=user_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
        WorkerLanguage.objects.filter(profile__user_id=user_id).delete()
        WorkerSkill.objects.filter(profile__user_id=user_id).delete()
        WorkerProfile.objects.filter(user_id=user_id).update(
            country="", payout_method="", payout_details={}, payout_currency="", sensitive_opt_in=False
        )
    return AccountDeleted(pseudonym=pseudonym, unpaid_minor=owed)
