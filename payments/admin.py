from django.contrib import admin

from payments.models import ExchangeRate, LedgerEntry, PayFloor, PayoutBatch


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Append-only: entries can be added (a compensating entry) but never edited or deleted."""

    list_display = [
        "id",
        "kind",
        "status",
        "amount_minor",
        "currency",
        "worker",
        "organization",
        "campaign",
        "created_at",
    ]
    list_filter = ["kind", "status", "currency"]
    raw_id_fields = ["worker", "organization", "campaign", "assignment", "created_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PayFloor)
class PayFloorAdmin(admin.ModelAdmin):
    list_display = ["country", "hourly_minor", "currency", "effective_from", "source"]
    list_filter = ["currency"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["base", "quote", "rate", "as_of"]
    list_filter = ["base", "quote"]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(admin.ModelAdmin):
    list_display = ["reference", "organization", "currency", "workers", "total_minor", "created_at"]
    readonly_fields = [f.name for f in PayoutBatch._meta.fields]
