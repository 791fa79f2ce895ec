from django.contrib import admin

from crowd.models import (
    AggregationRun,
    Annotator,
    Answer,
    ApiKey,
    Appeal,
    Assignment,
    AssignmentItem,
    Campaign,
    CampaignWorker,
    FairPayCheck,
    Item,
    Membership,
    MicroTask,
    Organization,
    WorkerBlock,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["organization", "name", "role", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["digest"]
    list_filter = ["role"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "status", "task_type", "redundancy", "reward_minor", "currency", "priority"]
    list_filter = ["status", "task_type", "visibility"]
    search_fields = ["name"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "campaign", "language", "status", "answer_count", "result_label", "confidence"]
    list_filter = ["status", "campaign"]
    search_fields = ["external_id"]
    raw_id_fields = ["campaign"]


@admin.register(MicroTask)
class MicroTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "language", "target", "active_count", "done_count", "is_open"]
    list_filter = ["is_open", "campaign"]
    readonly_fields = ["target", "active_count", "done_count", "is_open"]


class AssignmentItemInline(admin.TabularInline):
    model = AssignmentItem
    extra = 0
    raw_id_fields = ["item", "worker"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "worker", "status", "leased_at", "expires_at", "submitted_at"]
    list_filter = ["status", "campaign"]
    raw_id_fields = ["microtask", "worker", "campaign"]
    inlines = [AssignmentItemInline]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["id", "item", "worker", "label", "is_gold", "seconds_on_task", "created_at"]
    raw_id_fields = ["assignment", "item", "worker", "campaign"]

    # Answers are immutable once stored.
    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CampaignWorker)
class CampaignWorkerAdmin(admin.ModelAdmin):
    list_display = ["campaign", "worker", "assignments", "gold_answers", "gold_correct", "quality", "quality_answers"]
    raw_id_fields = ["campaign", "worker"]


@admin.register(WorkerBlock)
class WorkerBlockAdmin(admin.ModelAdmin):
    list_display = ["worker", "organization", "campaign", "reason", "created_by", "created_at"]
    raw_id_fields = ["worker", "organization", "campaign", "created_by"]


@admin.register(Annotator)
class AnnotatorAdmin(admin.ModelAdmin):
    list_display = ["campaign", "kind", "worker", "model_name", "answers", "accuracy", "updated_at"]
    list_filter = ["kind"]
    raw_id_fields = ["campaign", "worker"]


@admin.register(AggregationRun)
class AggregationRunAdmin(admin.ModelAdmin):
    list_display = ["campaign", "method", "started_at", "duration_seconds", "answers", "iterations", "converged"]
    readonly_fields = [f.name for f in AggregationRun._meta.fields]


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["assignment", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["assignment", "decided_by"]


@admin.register(FairPayCheck)
class FairPayCheckAdmin(admin.ModelAdmin):
    list_display = ["campaign", "checked_at", "median_hourly_minor", "floor_hourly_minor", "currency", "below_floor"]
    readonly_fields = [f.name for f in FairPayCheck._meta.fields]
