"""Every raw answer of a campaign, as an organization may see it: the item's external id, the annotator's pseudonym
(workers/pseudonyms.py, never a username or id), the time and time on task, whether the item was gold and the answer
right, and the item's pre-label when it had one. Read through a server-side cursor in id order and written one row
at a time, so memory stays flat however many answers there are; the API pages (`cursor`), the export streams, and
the organization archive writes the same rows into its zip."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crowd.exceptions import ValidationFailed
from crowd.exports import _csv_cell
from crowd.models import Answer, Campaign
from crowd.pseudonymous import worker_from_reference
from crowd.query_params import boolean_param
from workers.pseudonyms import pseudonym

ANSWER_COLUMNS = [
    "answer",
    "campaign",
    "item",
    "external_id",
    "annotator",
    "label",
    "created_at",
    "seconds_on_task",
    "gold",
    "correct",
    "prelabel",
    "prelabel_model",
    "prelabel_score",
]
ANSWER_FORMATS = {
    "answers": ("text/csv; charset=utf-8", "csv"),
    "answers-jsonl": ("application/x-ndjson", "jsonl"),
}
ANSWER_FIELDS = (
    "id",
    "item_id",
    "item__external_id",
    "worker_id",
    "label",
    "created_at",
    "seconds_on_task",
    "is_gold",
    "item__gold",
    "item__prelabel",
    "item__prelabel_model",
    "item__prelabel_score",
)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, as the archive's COPY writes it (crowd/archive_copy.py)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AnswerFilters:
    worker_id: int | None = None  # 0: a pseudonym nobody in the campaign has (no rows)
    gold: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


def answer_filters(query: Any, campaign: Campaign) -> AnswerFilters:
    """`annotator` (a pseudonym), `gold` (true/false), `since` and `until` (ISO 8601) from a query string, checked:
    ValidationFailed names the bad one."""
    worker_id = None
    if query.get("annotator"):
        found = worker_from_reference(
            organization_id=campaign.organization_id,
            reference=query.get("annotator"),
            field="annotator",
            campaign_id=campaign.id,
        )
        worker_id = 0 if found is None else found
    gold = boolean_param(query, "gold")
    moments: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        moments[name] = None
        if query.get(name):
            try:
                moment = parse_datetime(query.get(name))
            except ValueError:  # well formed but impossible, e.g. month 13
                moment = None
            if moment is None:
                raise ValidationFailed(
                    _("`%(name)s` must be an ISO 8601 time.") % {"name": name}, fields={name: _("An ISO 8601 time.")}
                )
            moments[name] = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # no zone: UTC
    return AnswerFilters(worker_id=worker_id, gold=gold, since=moments["since"], until=moments["until"])


def answers_query(*, campaign: Campaign, filters: AnswerFilters | None = None) -> QuerySet[Answer]:
    """The campaign's answers narrowed by `filters`, unordered (the caller has checked the campaign is the
    reader's). `answer_bodies` renders its `ANSWER_FIELDS` values."""
    filters = filters or AnswerFilters()
    query = Answer.objects.filter(campaign=campaign)
    if filters.worker_id is not None:
        query = query.filter(worker_id=filters.worker_id)
    if filters.gold is not None:
        query = query.filter(is_gold=filters.gold)
    if filters.since is not None:
        query = query.filter(created_at__gte=filters.since)
    if filters.until is not None:
        query = query.filter(created_at__lt=filters.until)
    return query


def answer_bodies(campaign: Campaign, rows: Iterable[tuple]) -> Iterator[dict[str, Any]]:
    """Rows of `ANSWER_FIELDS` values as the organization sees them: the worker by pseudonym."""
    names: dict[int, str] = {}  # one HMAC per worker, not per answer
    organization_id, campaign_id = campaign.organization_id, campaign.id
    for answer_id, item_id, external_id, worker_id, label, created, seconds, is_gold, gold, pre, model, score in rows:
        name = names.get(worker_id)
        if name is None:
            name = names[worker_id] = pseudonym(organization_id, worker_id)
        yield {
            "answer": answer_id,
            "campaign": campaign_id,
            "item": item_id,
            "external_id": external_id,
            "annotator": name,
            "label": label,
            "created_at": iso_utc(created),
            "seconds_on_task": seconds,
            "gold": is_gold,
            "correct": (label == gold) if is_gold else None,
            "prelabel": pre,
            "prelabel_model": model or None,
            "prelabel_score": score,
        }


def answers_rows(
    *, campaign: Campaign, filters: AnswerFilters | None = None, chunk_size: int = 5000
) -> Iterator[dict[str, Any]]:
    """All the campaign's answers in id order through a server-side cursor (the caller has checked the campaign
    is the reader's)."""
    values = answers_query(campaign=campaign, filters=filters).order_by("id").values_list(*ANSWER_FIELDS)
    return answer_bodies(campaign, values.iterator(chunk_size=chunk_size))


def write_answers_csv(handle: Any, rows: Iterator[dict[str, Any]], *, header: bool = True) -> int:
    """Write rows to a text handle; returns how many. Booleans as true/false, empty cells for nothing."""
    writer = csv.writer(handle)
    if header:
        writer.writerow(ANSWER_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_cell(row[column]) for column in ANSWER_COLUMNS])
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _csv_cell(value)


def answers_csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ANSWER_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in ANSWER_COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def answers_jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def answers_stream(fmt: str, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    return answers_csv(rows) if fmt == "answers" else answers_jsonl(rows)
