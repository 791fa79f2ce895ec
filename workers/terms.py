"""The terms a worker accepts once: how their data is used, how pay and approvals work, how to appeal."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workers.models import TermsAcceptance, User, WorkerProfile

TERMS_VERSION = "2026-12"

# The terms themselves, one place for the welcome page and for apps that show them (GET /api/v1/me/terms/).
# A change of meaning needs a new TERMS_VERSION, so that everyone is asked again.
TERMS_SECTIONS = (
    (
        "data",
        _(
            "Your data: we keep your username, your languages and skills, your answers and what you earned. The "
            "organization you work for sees your username, your answers and your pay. You can download your data "
            "or delete your account from your profile at any time."
        ),
    ),
    (
        "pay",
        _(
            "Pay: every task shows what it pays before you start. Pay first waits for approval; work is approved "
            "automatically after the campaign's approval period unless it is rejected, and a rejection always "
            "gives a reason. If a task paid less than the fair hourly rate, you get a top-up."
        ),
    ),
    (
        "appeals",
        _(
            "Appeals: if you think a rejection is wrong, you can appeal once from your earnings page, with a "
            "message. A person from the organization decides."
        ),
    ),
)


def terms_accepted(user: User) -> bool:
    return TermsAcceptance.objects.filter(user=user, version=TERMS_VERSION).exists()


def terms_accepted_at(user: User) -> datetime | None:
    """When the worker accepted the current terms, or None."""
    return (
        TermsAcceptance.objects.filter(user=user, version=TERMS_VERSION).values_list("accepted_at", flat=True).first()
    )


def terms_accept(*, user: User) -> None:
    """Record that the worker accepted the current terms, now (idempotent); `consent_at` keeps the first act."""
    with transaction.atomic():
        _, created = TermsAcceptance.objects.get_or_create(user=user, version=TERMS_VERSION)
        if created:
            WorkerProfile.objects.filter(user=user, consent_at__isnull=True).update(consent_at=timezone.now())
