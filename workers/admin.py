from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

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


@admin.register(WorkerToken)
class WorkerTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "revoked_at"]
    readonly_fields = ["digest"]
