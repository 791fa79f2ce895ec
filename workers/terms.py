"""The terms a worker accepts once: how their data is used, how pay and approvals work, how to appeal."""

from django.db import transaction
from django.utils import timezone

from workers.models import TermsAcceptance, User, WorkerProfile

TERMS_VERSION = "2026-12"


def terms_accepted(user: User) -> bool:
    return TermsAcceptance.objects.filter(user=user, version=TERMS_VERSION).exists()


def terms_accept(*, user: User) -> None:
    """Record that the worker accepted the current terms, now (idempotent); `consent_at` keeps the first act."""
    with transaction.atomic():
        _, created = TermsAcceptance.objects.get_or_create(user=user, version=TERMS_VERSION)
        if created:
            WorkerProfile.objects.filter(user=user, consent_at__isnull=True).update(consent_at=timezone.now())
