from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField


class LedgerEntry(models.Model):
    """An append-only money movement. Never edited or deleted: a correction is a new entry.

    Exactly one account owns the entry: a worker (their earnings) or an organization (its funds).
    A status change (pending -> available -> payout_pending -> paid) is recorded as a pair of entries moving
    the amount. Every worker entry names the organization that owes it: through its campaign, or through the
    payout batch that pays it, so a worker's balance with one organization is an exact sum.
    """

    class Kind(models.TextChoices):
        REWARD = "reward"
        BONUS = "bonus"
        FAIR_PAY_TOPUP = "fair_pay_topup"
        ADJUSTMENT = "adjustment"
        PAYOUT = "payout"
        DEPOSIT = "deposit"

    class Status(models.TextChoices):
        # A worker's money: pending (submitted, awaiting approval) -> available -> payout_pending (in a payout
        # batch the organization is executing) -> paid (the organization confirmed the transfer).
        PENDING = "pending"
        AVAILABLE = "available"
        PAYOUT_PENDING = "payout_pending"
        PAID = "paid"

    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    organization = models.ForeignKey(
        "crowd.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=14, choices=Status.choices)
    # Integer minor units (cents, or whole yen for JPY); signed so compensating entries are negative.
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    campaign = models.ForeignKey(
        "crowd.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    assignment = models.ForeignKey(
        "crowd.Assignment", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    payout_batch = models.ForeignKey(
        "payments.PayoutBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    reference = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(worker__isnull=False) & Q(organization__isnull=True))
                | (Q(worker__isnull=True) & Q(organization__isnull=False)),
                name="ledger_one_account",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_currency_iso"),
            # Money that is not a reward credit always carries the key that makes it impossible to pay twice.
            models.CheckConstraint(
                condition=~Q(kind__in=["bonus", "fair_pay_topup", "payout"]) | Q(idempotency_key__isnull=False),
                name="ledger_bonus_topup_payout_keyed",
            ),
            # A payout entry always belongs to its batch: that is how it counts against one organization's debt.
            models.CheckConstraint(
                condition=~Q(kind="payout") | Q(payout_batch__isnull=False), name="ledger_payout_in_batch"
            ),
            # A worker entry says who owes it (its campaign's organization, or its payout batch's).
            models.CheckConstraint(
                condition=Q(worker__isnull=True) | Q(campaign__isnull=False) | Q(payout_batch__isnull=False),
                name="ledger_worker_entry_has_payer",
            ),
            # One reward credit per assignment: a retried or concurrent submit can never pay twice.
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(kind="reward", status="pending", amount_minor__gt=0),
                name="ledger_one_reward_per_assignment",
            ),
        ]
        indexes = [models.Index(fields=["worker", "currency", "status"]), models.Index(fields=["organization"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_minor} {self.currency} ({self.status})"


class PayFloor(models.Model):
    """A minimum hourly wage: global (no country) or for workers in one country, from a dated source."""

    country = CountryField(blank=True, help_text="Empty for the global floor.")
    hourly_minor = models.PositiveBigIntegerField(help_text="Minimum pay per hour, in minor units.")
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=300)
    effective_from = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["country", "effective_from"], name="pay_floor_one_per_day"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="pay_floor_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.country or 'global'}: {self.hourly_minor} {self.currency}/h from {self.effective_from}"


class ExchangeRate(models.Model):
    """One unit of `base` buys `rate` units of `quote`, as of a date (no network at run time: rates are data)."""

    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=8)
    as_of = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "as_of"], name="exchange_rate_one_per_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.as_of})"


class PayoutBatch(models.Model):
    """One payout run of an organization: every worker's available balance above a threshold moves to
    payout_pending and is listed in the batch's CSV (`exported`); it becomes paid when an owner confirms the
    transfers were made (`paid`), or returns to available when the batch is cancelled (`cancelled`)."""

    class Status(models.TextChoices):
        EXPORTED = "exported"
        PAID = "paid"
        CANCELLED = "cancelled"

    organization = models.ForeignKey("crowd.Organization", on_delete=models.PROTECT, related_name="payout_batches")
    reference = models.CharField(max_length=120)
    currency = models.CharField(max_length=3)
    threshold_minor = models.PositiveBigIntegerField()
    workers = models.PositiveIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.EXPORTED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)  # when it was confirmed paid or cancelled

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"], name="payout_batch_reference_unique")
        ]

    def __str__(self) -> str:
        return f"payout {self.reference} ({self.total_minor} {self.currency})"


class FundsAccount(models.Model):
    """The organization's funds lock: one row per organization, holding no money (balances are ledger sums).

    Every write that reserves or spends an organization's funds, or pays its workers out, takes this row
    FOR NO KEY UPDATE first, so two such writes never both pass a funds check on the same money.
    """

    organization = models.OneToOneField("crowd.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"funds of {self.organization_id}"
