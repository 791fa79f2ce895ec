from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from config.admin import revoke_action
from workers.models import User, WorkerLanguage, WorkerProfile, WorkerSkill, WorkerToken


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    pass


class WorkerLanguageInline(admin.TabularInline):
    model = WorkerLanguage
    extra = 0


class WorkerSkillInline(admin.TabularInline):
    model = WorkerSkill
    extra = 0


@admin.register(WorkerProfile)
class WorkerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "country", "enrolled_by", "quality", "created_at"]
    list_filter = ["country"]
    search_fields = ["user__username", "user__email"]
    inlines = [WorkerLanguageInline, WorkerSkillInline]
    # Quality comes from aggregation and routing reads it: the services own it.
    readonly_fields = ["quality", "enrolled_by", "created_at"]


@admin.register(WorkerToken)
class WorkerTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by enrolment (shown once there); here they can only be revoked."""

    list_display = ["user", "created_at", "revoked_at"]
    readonly_fields = ["user", "digest", "created_at", "revoked_at"]
    actions = [revoke_action()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
