"""Submitted work as the review API and the review page show it, and the review filters read from a query string:
one definition for both."""

from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crowd.exceptions import ValidationFailed
from crowd.pseudonymous import worker_from_reference
from crowd.query_params import boolean_param
from payments.money import from_minor
from workers.pseudonyms import pseudonym


def submission_body(assignment) -> dict[str, Any]:
    """One piece of submitted work as the API and the review page show it."""
    return {
        "id": assignment.id,
        "worker": pseudonym(assignment.campaign.organization_id, assignment.worker_id),
        "worker_quality": assignment.worker_quality,
        "status": assignment.status,
        "submitted_at": assignment.submitted_at,
        "seconds_on_task": assignment.seconds_on_task,
        "reward": from_minor(assignment.reward_minor, assignment.currency),
        "currency": assignment.currency,
        "reject_reason": assignment.reject_reason or None,
        "failed_gold": assignment.failed_gold,
        "answers": [
            {
                "item": answer.item_id,
                "external_id": answer.item.external_id,
                "label": answer.label,
                "gold": answer.item.gold if answer.is_gold else None,
                "result_label": answer.item.result_label,
                "confidence": answer.item.confidence,
            }
            for answer in assignment.answers.all()
        ],
    }


def submission_filters(query: Any) -> dict[str, Any]:
    """The review filters from a query string, checked (ValidationFailed names the bad one); the page's position
    (`cursor`/`after`, `limit`) is read by whoever pages."""
    filters: dict[str, Any] = {}
    status = query.get("status")
    if status:
        if status not in ("submitted", "approved", "rejected"):
            raise ValidationFailed(
                _("Unknown status."),
                # Translators: submitted, approved and rejected are the values the query takes: keep them as they are.
                fields={"status": _("submitted, approved or rejected")},
            )
        filters["status"] = status
    if query.get("worker"):
        filters["worker"] = str(query.get("worker")).strip()  # a pseudonym or an id: submission_worker reads it
    for name in ("submitted_after", "submitted_before"):
        if query.get(name):
            moment = parse_datetime(query.get(name))
            if moment is None:
                raise ValidationFailed(
                    _("`%(name)s` must be an ISO 8601 time.") % {"name": name}, fields={name: _("An ISO 8601 time.")}
                )
            filters[name] = moment
    failed_gold = boolean_param(query, "failed_gold")
    if failed_gold is not None:
        filters["failed_gold"] = failed_gold
    return filters


def submission_worker(campaign, reference: str | None) -> int | None:
    """The worker a review filter names (pseudonym or id) among those who worked on the campaign; 0 (nobody) for a
    pseudonym none of them has, so the page is empty rather than unfiltered."""
    if not reference:
        return None
    found = worker_from_reference(
        organization_id=campaign.organization_id, reference=reference, campaign_id=campaign.id
    )
    return 0 if found is None else found
