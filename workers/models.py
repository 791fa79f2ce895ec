from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django_countries.fields import CountryField

LEVEL_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class User(AbstractUser):
    """Everyone who signs in: workers, coordinators, owners. Roles live in memberships and profiles."""

    preferred_language = models.CharField(max_length=35, blank=True)

    class Meta(AbstractUser.Meta):
        constraints = [
            # "Amina" and "amina" are one person's name to anyone reading it: sign-in treats usernames without case.
            models.UniqueConstraint(Lower("username"), name="user_username_case_insensitive"),
        ]


class WorkerProfile(models.Model):
    class PayoutMethod(models.TextChoices):
        MOBILE_MONEY = "mobile_money", "Mobile money"
        BANK = "bank", "Bank transfer"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="worker_profile")
    country = CountryField(blank=True)
    # The organization that enrolled this worker through the API (private campaigns reach only these).
    enrolled_by = models.ForeignKey(
        "crowd.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolled_workers"
    )
    payout_method = models.CharField(max_length=20, choices=PayoutMethod.choices, blank=True)
    payout_details = models.JSONField(default=dict, blank=True)
    payout_currency = models.CharField(max_length=3, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    # Sensitive campaigns (violence, medical images, ...) reach only workers who said yes.
    sensitive_opt_in = models.BooleanField(default=False)
    # Estimated quality (gold accuracy, later Dawid-Skene); null until there is evidence.
    quality = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"worker {self.user.username}"


class WorkerLanguage(models.Model):
    profile = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE, related_name="languages")
    # Base language subtag after BCP 47 normalization ("swa" and "sw-KE" are both stored as "sw").
    code = models.CharField(max_length=16)
    level = models.PositiveSmallIntegerField(validators=LEVEL_VALIDATORS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "code"], name="worker_language_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="worker_language_level"),
        ]

    def __str__(self) -> str:
        return f"{self.code}:{self.level}"


class WorkerSkill(models.Model):
    profile = models.ForeignKey(WorkerProfile, on_delete=models.CASCADE, related_name="skills")
    slug = models.SlugField(max_length=50)
    level = models.PositiveSmallIntegerField(validators=LEVEL_VALIDATORS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "slug"], name="worker_skill_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="worker_skill_level"),
        ]

    def __str__(self) -> str:
        return f"{self.slug}:{self.level}"


class WorkerToken(models.Model):
    """An API token for a worker (enrolled by a partner system); only the digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="worker_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token of {self.user_id}"


class SignInGrant(models.Model):
    """A one-time way in for a worker without email: a link and a short code an organization sends by SMS or chat.

    Only digests are stored. A grant works once, until `expires_at`, and stops after a few wrong codes; issuing a
    new grant revokes the worker's older ones."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signin_grants")
    link_digest = models.CharField(max_length=64, unique=True)
    code_digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(
        "crowd.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at", "revoked_at"])]

    def __str__(self) -> str:
        return f"sign-in grant for {self.user_id}"


class TermsAcceptance(models.Model):
    """A worker accepted a version of the terms (how their data is used, how pay and approvals work, appeals)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="terms_acceptances")
    version = models.CharField(max_length=20)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "version"], name="terms_accepted_once")]

    def __str__(self) -> str:
        return f"{self.user_id} accepted terms {self.version}"


class RecoveryCode(models.Model):
    """One of a worker's recovery codes, for signing in again without email; shown once, stored as a digest."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"
