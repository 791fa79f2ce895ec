"""Everything Crowdloop holds about one worker, as they may download it (selector: reads only)."""

from typing import Any

from django.utils import timezone

from crowd.models import Answer, Appeal, WorkerBlock
from crowd.selectors import quality_for_worker
from payments.money import from_minor
from payments.selectors import earnings_for_worker, ledger_entries_for_worker
from workers.models import User, WorkerProfile

EXPORT_FORMAT = 1


def _profile(user: User) -> dict[str, Any]:
    profile = WorkerProfile.objects.filter(user=user).prefetch_related("languages", "skills").first()
    if profile is None:
        return {}
    return {
        "country": profile.country.code if profile.country else "",
        "languages": [{"code": row.code, "level": row.level} for row in profile.languages.order_by("code")],
        "skills": [{"slug": row.slug, "level": row.level} for row in profile.skills.order_by("slug")],
        "sensitive_opt_in": profile.sensitive_opt_in,
        "payout_method": profile.payout_method,
        "payout_details": profile.payout_details,
        "payout_currency": profile.payout_currency,
        "enrolled_by": profile.enrolled_by.name if profile.enrolled_by else None,
        "consent_at": profile.consent_at,
        "created_at": profile.created_at,
    }


def worker_data_export(*, user: User) -> dict[str, Any]:
    """The worker's account, profile, answers (with campaign names and items' external ids), ledger and totals,
    quality per campaign, appeals and blocks. Plain JSON-ready values; money as decimal strings."""
    answers = (
        Answer.objects.filter(worker=user)
        .select_related("campaign", "item")
        .order_by("created_at", "id")
        .values(
            "id",
            "assignment_id",
            "campaign__name",
            "item__external_id",
            "label",
            "is_gold",
            "seconds_on_task",
            "created_at",
        )
    )
    ledger = ledger_entries_for_worker(worker_id=user.id)
    appeals = Appeal.objects.filter(assignment__worker=user).select_related("assignment__campaign").order_by("id")
    blocks = WorkerBlock.objects.filter(worker=user).select_related("organization", "campaign").order_by("id")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "account": {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "interface_language": user.preferred_language,
        },
        "profile": _profile(user),
        "answers": [
            {
                "id": row["id"],
                "assignment": row["assignment_id"],
                "campaign": row["campaign__name"],
                "item": row["item__external_id"],
                "label": row["label"],
                "gold": row["is_gold"],
                "seconds_on_task": row["seconds_on_task"],
                "created_at": row["created_at"],
            }
            for row in answers.iterator()
        ],
        "earnings": {
            currency: {status: from_minor(amount, currency) for status, amount in sums.items()}
            for currency, sums in sorted(earnings_for_worker(worker_id=user.id).items())
        },
        "ledger": [
            {
                "id": entry.id,
                "kind": entry.kind,
                "status": entry.status,
                "amount": from_minor(entry.amount_minor, entry.currency),
                "currency": entry.currency,
                "campaign": entry.campaign.name if entry.campaign else None,
                "assignment": entry.assignment_id,
                "reason": entry.reason,
                "created_at": entry.created_at,
            }
            for entry in ledger.iterator()
        ],
        "quality": quality_for_worker(worker_id=user.id),
        "appeals": [
            {
                "assignment": appeal.assignment_id,
                "campaign": appeal.assignment.campaign.name,
                "message": appeal.message,
                "status": appeal.status,
                "decision_note": appeal.decision_note,
                "decided_at": appeal.decided_at,
            }
            for appeal in appeals
        ],
        "blocks": [
            {
                "organization": block.organization.name,
                "campaign": block.campaign.name if block.campaign else None,
                "reason": block.reason,
                "created_at": block.created_at,
            }
            for block in blocks
        ],
    }
