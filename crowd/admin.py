from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin, ReadOnlyInline, revoke_action
from config.errors import DomainError
from crowd.campaign_texts import translations_normalize
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
    ItemImage,
    Membership,
    MicroTask,
    Organization,
    WebhookDelivery,
    WebhookSubscription,
    WorkerBlock,
)
from crowd.services.accounts import worker_delete_account
from crowd.services.campaigns import campaign_launch, campaign_pause, campaign_resume, labels_normalize
from workers.admin import UserAdmin as BaseUserAdmin
from workers.models import User


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
    """Keys are made by `create_org_token` or the API (the key is shown once there); here they can only be renamed
    or revoked. A key added here would have no usable secret, and a changed role or owner would skip the checks."""

    list_display = ["organization", "name", "role", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["organization", "role", "digest", "created_by", "created_at", "revoked_at"]
    list_filter = ["role"]
    actions = [revoke_action()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# Once launched, a campaign's money, slots and routing are the services' to change (funds are reserved against them).
CAMPAIGN_LIVE_EDITABLE = {"name", "instructions", "translations"}


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        # Every editable field (the admin narrows them by status); listed, not "__all__", so the form states them.
        fields = [field.name for field in Campaign._meta.fields if field.editable and not field.auto_created]

    def clean_translations(self) -> dict:
        # The same rules as the API (crowd/campaign_texts.py): known language tags, the campaign's label values.
        labels = self.cleaned_data.get("labels") or (self.instance.labels if self.instance else [])
        try:
            return translations_normalize(self.cleaned_data.get("translations") or {}, labels_normalize(labels))
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.message} {exc.fields}") from exc


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """A draft can be edited here (it is checked again at launch); its status moves only through the launch, pause
    and resume actions, which call the same services as the API with the same checks (funds, the pay floor). A
    launched campaign shows everything but its name and instructions read-only: its pay, redundancy and routing
    change through the API or coordinator pages, which reserve funds and check the pay floor."""

    form = CampaignAdminForm
    list_display = ["name", "organization", "status", "task_type", "redundancy", "reward_minor", "currency", "priority"]
    list_filter = ["status", "task_type", "visibility"]
    search_fields = ["name"]
    actions = ["launch", "pause", "resume"]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        always = ["status", "launched_at", "created_at", "created_by"]
        if obj is None or obj.status == Campaign.Status.DRAFT:
            return always
        return always + [f.name for f in Campaign._meta.fields if f.name not in CAMPAIGN_LIVE_EDITABLE | set(always)]

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        # Only drafts: a launched campaign has leases, answers and ledger entries that must stay.
        return obj is not None and obj.status == Campaign.Status.DRAFT and super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk delete would skip the per-campaign check above
        return actions

    def _move(self, request: HttpRequest, queryset: QuerySet[Campaign], service, done: str, refused: str) -> None:
        """Run one lifecycle service per campaign, with its checks; say what happened to each."""
        for campaign in queryset.order_by("id"):
            try:
                service(campaign_id=campaign.id)
            except DomainError as exc:
                details = "; ".join(f"{field}: {text}" for field, text in exc.fields.items())
                reason = details or exc.message
                self.message_user(request, refused % {"campaign": campaign, "reason": reason}, messages.ERROR)
            else:
                self.message_user(request, done % {"campaign": campaign}, messages.SUCCESS)

    @admin.action(description=_("Launch the selected draft campaigns"))
    def launch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._move(
            request,
            queryset,
            campaign_launch,
            _("%(campaign)s launched."),
            _("%(campaign)s was not launched: %(reason)s"),
        )

    @admin.action(description=_("Pause the selected campaigns"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._move(
            request, queryset, campaign_pause, _("%(campaign)s paused."), _("%(campaign)s was not paused: %(reason)s")
        )

    @admin.action(description=_("Resume the selected paused campaigns"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._move(
            request,
            queryset,
            campaign_resume,
            _("%(campaign)s resumed."),
            _("%(campaign)s was not resumed: %(reason)s"),
        )


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "campaign", "language", "status", "answer_count", "result_label", "confidence"]
    list_filter = ["status", "campaign"]
    search_fields = ["external_id"]
    raw_id_fields = ["campaign"]


@admin.register(ItemImage)
class ItemImageAdmin(ReadOnlyAdmin):
    """Phone-friendly copies and why a copy failed (the job writes them; the original stays in the item)."""

    list_display = ["item", "status", "width", "height", "byte_size", "error", "updated_at"]
    list_filter = ["status"]
    raw_id_fields = ["item"]


@admin.register(MicroTask)
class MicroTaskAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "language", "target", "active_count", "done_count", "is_open"]
    list_filter = ["is_open", "campaign"]


class AssignmentItemInline(ReadOnlyInline):
    model = AssignmentItem
    raw_id_fields = ["item", "worker"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "worker", "status", "leased_at", "expires_at", "submitted_at"]
    list_filter = ["status", "campaign"]
    raw_id_fields = ["microtask", "worker", "campaign"]
    inlines = [AssignmentItemInline]


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ["id", "item", "worker", "label", "is_gold", "seconds_on_task", "created_at"]
    raw_id_fields = ["assignment", "item", "worker", "campaign"]


@admin.register(CampaignWorker)
class CampaignWorkerAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "worker", "assignments", "gold_answers", "gold_correct", "quality", "quality_answers"]
    raw_id_fields = ["campaign", "worker"]


@admin.register(WorkerBlock)
class WorkerBlockAdmin(admin.ModelAdmin):
    list_display = ["worker", "organization", "campaign", "reason", "created_by", "created_at"]
    raw_id_fields = ["worker", "organization", "campaign", "created_by"]


@admin.register(Annotator)
class AnnotatorAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "kind", "worker", "model_name", "answers", "accuracy", "updated_at"]
    list_filter = ["kind"]
    raw_id_fields = ["campaign", "worker"]


@admin.register(AggregationRun)
class AggregationRunAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "method", "started_at", "duration_seconds", "answers", "iterations", "converged"]


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["assignment", "decided_by"]


@admin.register(FairPayCheck)
class FairPayCheckAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "checked_at", "median_hourly_minor", "floor_hourly_minor", "currency", "below_floor"]


# Deleting a person in the admin erases their personal data through the same service as the worker's own
# "Delete my account": their answers and money records must stay (a plain delete is refused by the database).
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    def get_deleted_objects(self, objs, request: HttpRequest):
        # Nothing is cascaded: the rows stay, only personal data goes; the confirmation lists the people.
        return [str(obj) for obj in objs], {"users": len(objs)}, set(), []

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        worker_delete_account(worker_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user_id in queryset.values_list("pk", flat=True):
            worker_delete_account(worker_id=user_id)


# --- Webhooks (crowd/webhooks/): written by their services; the admin only looks, and never shows a secret ---
@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "url", "active", "disabled_at"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "subscription", "event", "status", "attempts", "response_code", "next_attempt_at"]
    list_filter = ["status"]
    list_select_related = ["event"]
