"""A worker's own data: everything held about them as one JSON document (selector), streamed so a worker with
many thousands of answers never needs them all in memory. Read-only; scoped to the worker asking."""

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone

from crowd.models import Answer, Appeal, CampaignWorker, WorkerBlock
from payments.models import LedgerEntry
from payments.selectors import earnings_for_worker
from workers.models import User, WorkerProfile

EXPORT_FORMAT = 1
CHUNK = 2000


def _profile(user: User) -> dict[str, Any]:
    profile = WorkerProfile.objects.filter(user=user).prefetch_related("languages", "skills").first()
    body: dict[str, Any] = {
        "username": user.username,
        "email": user.email,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "preferred_language": user.preferred_language,
    }
    if profile is not None:
        body.update(
            {
                "country": str(profile.country or ""),
                "enrolled_by": profile.enrolled_by.name if profile.enrolled_by else None,
                "payout_method": profile.payout_method,
                "payout_details": profile.payout_details,
                "payout_currency": profile.payout_currency,
                "consent_at": profile.consent_at,
                "sensitive_opt_in": profile.sensitive_opt_in,
                "quality": profile.quality,
                "languages": [{"code": x.code, "level": x.level} for x in profile.languages.all()],
                "skills": [{"slug": x.slug, "level": x.level} for x in profile.skills.all()],
            }
        )
    return body


def _answers(user: User) -> Iterator[dict[str, Any]]:
    rows = (
        Answer.objects.filter(worker=user)
        .order_by("id")
        .values_list(
            "id",
            "campaign__name",
            "item__external_id",
            "label",
            "is_gold",
            "seconds_on_task",
            "created_at",
            "assignment_id",
            "assignment__status",
        )
    )
    for pk, campaign, external_id, label, gold, seconds, created, assignment, status in rows.iterator(CHUNK):
        yield {
            "id": pk,
            "campaign": campaign,
            "item": external_id,
            "label": label,
            "gold": gold,
            "seconds_on_task": seconds,
            "created_at": created,
            "assignment": assignment,
            "assignment_status": status,
        }


def _ledger(user: User) -> Iterator[dict[str, Any]]:
    rows = (
        LedgerEntry.objects.filter(worker=user)
        .order_by("id")
        .values_list("id", "kind", "status", "amount_minor", "currency", "campaign__name", "reason", "created_at")
    )
    for pk, kind, status, amount, currency, campaign, reason, created in rows.iterator(CHUNK):
        yield {
            "id": pk,
            "kind": kind,
            "status": status,
            "amount_minor": amount,
            "currency": currency,
            "campaign": campaign,
            "reason": reason,
            "created_at": created,
        }


def _small_sections(user: User) -> dict[str, Any]:
    return {
        "earnings": earnings_for_worker(worker_id=user.id),
        "quality": [
            {
                "campaign": row.campaign.name,
                "quality": row.quality,
                "gold_answers": row.gold_answers,
                "gold_correct": row.gold_correct,
                "assignments": row.assignments,
            }
            for row in CampaignWorker.objects.filter(worker=user).select_related("campaign").order_by("id")
        ],
        "appeals": [
            {
                "assignment": appeal.assignment_id,
                "campaign": appeal.assignment.campaign.name,
                "message": appeal.message,
                "status": appeal.status,
                "decision_note": appeal.decision_note,
                "created_at": appeal.created_at,
                "decided_at": appeal.decided_at,
            }
            for appeal in Appeal.objects.filter(assignment__worker=user)
            .select_related("assignment__campaign")
            .order_by("id")
        ],
        "blocks": [
            {
                "organization": block.organization.name,
                "campaign": block.campaign.name if block.campaign else None,
                "reason": block.reason,
                "created_at": block.created_at,
            }
            for block in WorkerBlock.objects.filter(worker=user).select_related("organization", "campaign")
        ],
    }


def worker_data_export(*, worker: User) -> Iterator[str]:
    """The worker's data as chunks of one JSON object: profile, earnings, quality, appeals, blocks, then every
    answer (with campaign names and items' external ids) and every ledger entry, streamed in id order."""

    def dump(value: Any) -> str:
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)

    head = {"format": EXPORT_FORMAT, "exported_at": timezone.now(), "profile": _profile(worker)}
    head.update(_small_sections(worker))
    yield dump(head)[:-1]  # left open: the long lists follow
    for name, rows in (("answers", _answers(worker)), ("ledger", _ledger(worker))):
        yield f', "{name}": ['
        for index, row in enumerate(rows):
            yield ("," if index else "") + dump(row)
        yield "]"
    yield "}\n"


def own_data_response(user: User) -> StreamingHttpResponse:
    """The export as a download, for the page and the API alike; never cached anywhere on the way."""
    response = StreamingHttpResponse(worker_data_export(worker=user), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="crowdloop-my-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response
