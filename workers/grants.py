"""Sign-in links and codes for workers without email, issued by the organization that enrolled them.

A grant is a random link token (32 bytes) and an 8-digit code, both stored only as SHA-256 digests. The code is
typed with the username, so a code alone is worth nothing; five wrong codes revoke the grant, and the code form
is throttled per address (`workers/signin.py`). Redeeming locks the grant row: of two simultaneous uses one signs
in and the other is told the grant was used.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import NotFound
from workers.models import SignInGrant, User, WorkerProfile
from workers.tokens import token_digest

CODE_DIGITS = 8
MAX_FAILED_CODES = 5


class GrantRefused(Exception):
    """Why a link or code did not sign anyone in: `reason` is one of "unknown", "used", "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedGrant:
    link_token: str
    code: str
    expires_at: datetime


def _code_digest(user_id: int, code: str) -> str:
    # Salted with the account, so equal codes of two workers have different digests.
    return token_digest(f"{user_id}:{code}")


def signin_grant_issue(*, organization_id: int, worker_id: int) -> IssuedGrant:
    """A new link and code for a worker in the organization's pool; the worker's earlier unused grants stop
    working. Locks the worker's profile row. Raises NotFound outside the pool or for a deactivated account."""
    lifetime = timedelta(seconds=settings.CROWDLOOP_SIGNIN_GRANT_SECONDS)
    with transaction.atomic():
        profile = (
            WorkerProfile.objects.select_for_update()
            .filter(user_id=worker_id, enrolled_by_id=organization_id, user__is_active=True)
            .first()
        )
        if profile is None:
            raise NotFound(_("No worker with this id in your organization's pool."))
        now = timezone.now()
        SignInGrant.objects.filter(user_id=worker_id, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        link_token = secrets.token_urlsafe(32)
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        grant = SignInGrant.objects.create(
            user_id=worker_id,
            link_digest=token_digest(link_token),
            code_digest=_code_digest(worker_id, code),
            issued_by_id=organization_id,
            expires_at=now + lifetime,
        )
    return IssuedGrant(link_token=link_token, code=code, expires_at=grant.expires_at)


def _use(grant: SignInGrant | None) -> User:
    now = timezone.now()
    if grant is None:
        raise GrantRefused("unknown")
    if grant.used_at is not None:
        raise GrantRefused("used")
    if grant.revoked_at is not None or grant.expires_at <= now or not grant.user.is_active:
        raise GrantRefused("expired")
    grant.used_at = now
    grant.save(update_fields=["used_at"])
    return grant.user


def signin_grant_redeem_link(*, link_token: str) -> User:
    """The worker the link signs in, marking it used. Locks the grant. Raises GrantRefused."""
    with transaction.atomic():
        grant = (
            SignInGrant.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(link_digest=token_digest(link_token[:200]))
            .first()
        )
        return _use(grant)


def signin_grant_redeem_code(*, username: str, code: str) -> User:
    """The worker a username and code sign in, marking the grant used. A wrong code counts against the worker's
    live grant, which is revoked after MAX_FAILED_CODES. Locks the grant. Raises GrantRefused."""
    code = "".join(ch for ch in code if ch.isdigit())[:CODE_DIGITS]
    user = User.objects.filter(username__iexact=username.strip()[:150]).first()
    if user is None:
        raise GrantRefused("unknown")
    with transaction.atomic():
        live = (
            SignInGrant.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user=user)
            .order_by("-created_at")
            .first()
        )
        if live is not None and live.code_digest == _code_digest(user.id, code):
            return _use(live)
    if live is not None and live.used_at is None and live.revoked_at is None:
        with transaction.atomic():
            SignInGrant.objects.filter(pk=live.pk).update(failed_attempts=F("failed_attempts") + 1)
            SignInGrant.objects.filter(pk=live.pk, failed_attempts__gte=MAX_FAILED_CODES).update(
                revoked_at=timezone.now()
            )
    raise GrantRefused("unknown")
