"""`Authorization: Token <key>`: an organization API key or a worker token (only digests are stored).

An organization key acts only while it is neither revoked nor expired and the member who created it is still an
active user holding at least the key's role in the key's organization: a key must not outlive its owner's access.
"""

from datetime import timedelta
from functools import cache

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from config.throttling import count_refused_token
from crowd import rows
from crowd.models import ApiKey
from crowd.selectors import ROLE_ORDER, roles_at_least
from workers.models import User, WorkerToken
from workers.tokens import token_digest

# API error messages stay English (partners' scripts match on them); the code is always authentication_failed.
INVALID_TOKEN = "Invalid or revoked token."
KEY_REVOKED = "This API key was revoked."
KEY_EXPIRED = "This API key has expired; ask an owner of the organization for a new one."
KEY_CREATOR_GONE = (
    "The member who created this API key no longer holds its role in the organization;"
    " ask an owner of the organization for a new key."
)


@cache
def _allowed_roles_sql() -> tuple[str, list[str]]:
    """`(m.role, k.role) IN (...)`: every (creator's role, key's role) pair where the creator's role includes
    the key's (owner > coordinator > viewer)."""
    pairs = [(member, key) for key in ROLE_ORDER for member in roles_at_least(key)]
    return "(m.role, k.role) IN (" + ", ".join("(%s, %s)" for _ in pairs) + ")", [v for pair in pairs for v in pair]


def _api_key_user(digest: str) -> tuple[User, ApiKey] | None:
    """The key and its creator in one indexed query (digest is unique; membership is unique per user and
    organization), or None when the key is unknown, revoked, expired or its creator lost the role."""
    role_check, role_params = _allowed_roles_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(User, 'u')}, {rows.columns(ApiKey, 'k')} FROM crowd_apikey k"
            " JOIN workers_user u ON u.id = k.created_by_id"
            " JOIN crowd_membership m ON m.organization_id = k.organization_id AND m.user_id = k.created_by_id"
            " WHERE k.digest = %s AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %s)"
            f" AND u.is_active AND {role_check}",
            [digest, timezone.now(), *role_params],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user = rows.instance(User, "u", row[: rows.width(User)])
    api_key = rows.instance(ApiKey, "k", row[rows.width(User) :])
    api_key.created_by = user
    _mark_used(api_key)
    return user, api_key


LAST_USED_RESOLUTION = timedelta(minutes=1)


def _mark_used(api_key: ApiKey) -> None:
    """Record when the key was last used, at most once a minute: a busy integration costs one small write a
    minute, not one per request (the WHERE keeps concurrent requests from writing it twice)."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    api_key.last_used_at = now


def _worker_token_user(digest: str) -> tuple[User, WorkerToken] | None:
    # Plain SQL: this runs on every worker request, and the ORM's query building cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.columns(User, 'u')}, t.id FROM workers_user u"
            " JOIN workers_workertoken t ON t.user_id = u.id"
            " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active",
            [digest],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user = rows.instance(User, "u", row[:-1])
    return user, WorkerToken(id=row[-1], user=user, digest=digest)


def _api_key_refusal(digest: str) -> str:
    """Why a known key was refused, so its holder knows what to do; only runs on the failure path."""
    api_key = ApiKey.objects.filter(digest=digest).only("revoked_at", "expires_at").first()
    if api_key is None:
        return INVALID_TOKEN
    if api_key.revoked_at is not None:
        return KEY_REVOKED
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        return KEY_EXPIRED
    return KEY_CREATOR_GONE


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        digest = token_digest(key)
        # The prefix says which table to look in, so a request costs one indexed lookup, not two.
        if not key.startswith("clw_"):
            found = _api_key_user(digest)
            if found is not None:
                return found
        if not key.startswith("clo_"):
            found = _worker_token_user(digest)
            if found is not None:
                return found
        raise exceptions.AuthenticationFailed(INVALID_TOKEN if key.startswith("clw_") else _api_key_refusal(digest))

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            # Guessing keys costs the guesser's address its anonymous budget (429 once it is spent).
            count_refused_token(request)
            raise


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "crowd.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: an organization API key or a worker token.",
        }
