"""Admin building blocks shared by the apps."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class ReadOnlyMixin:
    """Rows that only services write (counters, leases, results, decisions, money): shown, never added, edited or
    deleted. Editing them here would skip the checks the services make (funds, the pay floor, slot counters), so
    the admin is for looking; changes go through the API, the coordinator pages or an admin action that calls a
    service."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0


def revoke_action() -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet], None]:
    """An admin action that revokes the selected credentials (rows with a `revoked_at`); revoking is never undone."""

    @admin.action(description=_("Revoke the selected credentials"))
    def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        text = ngettext("%(count)d credential revoked.", "%(count)d credentials revoked.", count) % {"count": count}
        modeladmin.message_user(request, text, messages.SUCCESS)

    return revoke
