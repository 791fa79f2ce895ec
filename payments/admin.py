from django.contrib import admin

from config.admin import ReadOnlyAdmin
from payments.models import ExchangeRate, LedgerEntry, PayFloor, PayoutBatch


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Append-only, and written only by the services that keep balances and reservations whole: shown, never
    added, edited or deleted here (an entry typed in by hand could take a balance below zero)."""

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


@admin.register(PayFloor)
class PayFloorAdmin(admin.ModelAdmin):
    list_display = ["country", "hourly_minor", "currency", "effective_from", "source"]
    list_filter = ["currency"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["base", "quote", "rate", "as_of"]
    list_filter = ["base", "quote"]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ["reference", "organization", "currency", "workers", "total_minor", "created_at"]
