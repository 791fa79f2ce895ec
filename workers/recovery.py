"""Recovery codes: how a worker without email gets back in after forgetting their password.

Eight codes of ten characters are made at once (a new set replaces the old one), shown once and stored as
digests salted with the account. Each works once; using one signs the worker in and lets them set a new password.
"""

import secrets

from django.db import transaction
from django.utils import timezone

from workers.grants import GrantRefused
from workers.models import RecoveryCode, User
from workers.tokens import token_digest

CODES = 8
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are copied by hand


def _digest(user_id: int, code: str) -> str:
    return token_digest(f"recovery:{user_id}:{code.replace('-', '').replace(' ', '').lower()}")


def recovery_codes_issue(*, user: User) -> list[str]:
    """A new set of codes (the old ones stop working); returned once, never stored in the clear."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(10)) for _ in range(CODES)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_digest(user.id, code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_code_redeem(*, username: str, code: str) -> User:
    """The worker a username and one unused code sign in; the code is used up. Locks the code row. Raises
    GrantRefused("unknown") for anything else, without saying which part was wrong."""
    user = User.objects.filter(username__iexact=username.strip()[:150], is_active=True).first()
    if user is None:
        raise GrantRefused("unknown")
    with transaction.atomic():
        row = (
            RecoveryCode.objects.select_for_update()
            .filter(user=user, digest=_digest(user.id, code[:40]), used_at__isnull=True)
            .first()
        )
        if row is None:
            raise GrantRefused("unknown")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    return user


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
