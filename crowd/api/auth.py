"""`Authorization: Token <key>`: an organization API key or a worker token (only digests are stored)."""

from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from crowd import rows
from crowd.models import ApiKey
from workers.models import User, WorkerToken
from workers.tokens import token_digest


class TokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str):
        digest = token_digest(key)
        # The prefix says which table to look in, so a request costs one indexed lookup, not two.
        if not key.startswith("clw_"):
            api_key = ApiKey.objects.select_related("created_by").filter(digest=digest, revoked_at__isnull=True).first()
            if api_key:
                return api_key.created_by, api_key
        if not key.startswith("clo_"):
            # Plain SQL: this runs on every worker request, and the ORM's query building cost more than the query.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {rows.columns(User, 'u')}, t.id FROM workers_user u"
                    " JOIN workers_workertoken t ON t.user_id = u.id"
                    " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active",
                    [digest],
                )
                row = cursor.fetchone()
            if row is not None:
                user = rows.instance(User, "u", row[:-1])
                return user, WorkerToken(id=row[-1], user=user, digest=digest)
        raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))


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
