"""What an organization archive holds, file by file, and the writers that fill a zip with it.

Every file and column is declared once in crowd/archive_files.py, which also writes the README.md inside the zip.
Rows go straight from a server-side cursor (or PostgreSQL's COPY: crowd/archive_copy.py) into the zip member
(zipfile's streaming `open(..., "w")`), so memory stays flat however big the organization is. Workers appear only
by the organization's pseudonym for them (workers/pseudonyms.py).
"""

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

import orjson
from django.db.models import Q
from django.utils import timezone

from crowd import archive_copy
from crowd.answers_export import ANSWER_COLUMNS, answers_rows, iso_utc, write_answers_csv
from crowd.archive_files import COLUMNS, readme
from crowd.exports import _csv_cell, decided_by
from crowd.exports_labelstudio import export_labelstudio_config, labelstudio_tasks
from crowd.models import Annotator, Campaign, Item, Organization
from crowd.selectors import fairness_report, results_iter
from payments.models import LedgerEntry, PayoutBatch
from payments.money import from_minor
from workers.pseudonyms import pseudonym

PROGRESS_EVERY_ROWS = 50_000


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


class _Member:
    """A text member of the zip, written as a stream."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self._raw = archive.open(name, "w", force_zip64=True)
        self.text = io.TextIOWrapper(self._raw, encoding="utf-8", newline="")

    def __enter__(self) -> io.TextIOWrapper:
        return self.text

    def __exit__(self, *exc: object) -> None:
        self.text.close()


def _write_csv(archive: zipfile.ZipFile, name: str, rows: Iterable[Iterable[Any]], header: list[str]) -> int:
    with _Member(archive, name) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    return _csv_cell(value)


def _campaigns(organization: Organization) -> list[Campaign]:
    return list(Campaign.objects.filter(organization=organization).order_by("id"))


def _items(campaigns: list[Campaign]) -> Iterator[list[Any]]:
    for campaign in campaigns:
        rows = (
            Item.objects.filter(campaign=campaign)
            .order_by("id")
            .values_list(
                "id",
                "external_id",
                "language",
                "data",
                "prelabel",
                "prelabel_model",
                "prelabel_score",
                "gold",
                "redundancy",
                "status",
                "created_at",
            )
            .iterator(chunk_size=5000)
        )
        for row in rows:
            yield [campaign.id, *row]


def _results(campaigns: list[Campaign]) -> Iterator[list[Any]]:
    for campaign in campaigns:
        for item in results_iter(campaign=campaign):
            yield [
                campaign.id,
                item.id,
                item.external_id,
                item.result_label,
                item.confidence,
                item.answer_count,
                item.status,
                item.votes,
                item.language,
                decided_by(item),
            ]


def _annotators(organization: Organization) -> Iterator[list[Any]]:
    rows = (
        Annotator.objects.filter(campaign__organization=organization)
        .order_by("campaign_id", "kind", "id")
        .values_list("campaign_id", "kind", "worker_id", "model_name", "accuracy", "answers", "confusion", "updated_at")
    )
    for campaign_id, kind, worker_id, model_name, accuracy, answers, confusion, updated in rows.iterator(2000):
        name = pseudonym(organization.id, worker_id) if worker_id is not None else model_name
        yield [campaign_id, kind, name, accuracy, answers, confusion, updated]


def _ledger(organization: Organization) -> Iterator[list[Any]]:
    rows = (
        LedgerEntry.objects.filter(
            Q(organization=organization)
            | Q(campaign__organization=organization)
            | Q(payout_batch__organization=organization)
        )
        .order_by("id")
        .values_list(
            "id",
            "created_at",
            "kind",
            "status",
            "amount_minor",
            "currency",
            "worker_id",
            "campaign_id",
            "assignment_id",
            "payout_batch_id",
            "reference",
            "reason",
        )
    )
    names: dict[int, str] = {}
    for entry, created, kind, status, amount, currency, worker_id, *links, reference, reason in rows.iterator(5000):
        worker = ""
        if worker_id is not None:
            worker = names.get(worker_id) or names.setdefault(worker_id, pseudonym(organization.id, worker_id))
        yield [entry, created, kind, status, from_minor(amount, currency), currency, worker, *links, reference, reason]


def _payouts(organization: Organization) -> Iterator[list[Any]]:
    for batch in PayoutBatch.objects.filter(organization=organization).order_by("id"):
        yield [
            batch.id,
            batch.reference,
            batch.status,
            batch.workers,
            from_minor(batch.total_minor, batch.currency),
            batch.currency,
            from_minor(batch.threshold_minor, batch.currency),
            batch.created_at,
            batch.decided_at,
        ]


def _header(handle: IO[bytes], columns: list[str]) -> None:
    line = io.StringIO()
    csv.writer(line).writerow(columns)
    handle.write(line.getvalue().encode())


def _copied(
    archive: zipfile.ZipFile,
    name: str,
    campaigns: list[Campaign],
    copy: Callable[[IO[bytes], Campaign], int],
    after_each: Callable[[int, int], None] | None = None,
) -> int:
    """One CSV member filled by PostgreSQL's COPY, campaign by campaign (crowd/archive_copy.py)."""
    rows = 0
    with archive.open(name, "w", force_zip64=True) as handle:
        _header(handle, COLUMNS[name])
        for done, campaign in enumerate(campaigns, start=1):
            rows += copy(handle, campaign)
            if after_each:
                after_each(done, rows)
    return rows


def archive_write(
    archive: zipfile.ZipFile, *, organization: Organization, progress: Callable[[int, int, int], None]
) -> int:
    """Fill `archive` with the organization's data; `progress(campaigns_done, campaigns_total, rows_written)` is
    called as it goes. Returns the rows written."""
    campaigns = _campaigns(organization)
    total, rows = len(campaigns), 0
    archive.writestr("README.md", readme())
    archive.writestr(
        "organization.json",
        _json(
            {
                "id": organization.id,
                "name": organization.name,
                "created_at": _iso(organization.created_at),
                "archived_at": _iso(timezone.now()),
            }
        )
        + "\n",
    )
    with _Member(archive, "campaigns.jsonl") as handle:
        for values in Campaign.objects.filter(organization=organization).order_by("id").values():
            handle.write(_json(values) + "\n")
    if archive_copy.available():
        rows += _copied(archive, "items.csv", campaigns, archive_copy.copy_items)
        progress(0, total, rows)
        before = rows
        rows += _copied(
            archive,
            "answers.csv",
            campaigns,
            archive_copy.copy_answers,
            lambda done, written: progress(done, total, before + written),
        )
        rows += _copied(archive, "results.csv", campaigns, archive_copy.copy_results)
    else:
        rows += _write_csv(archive, "items.csv", _items(campaigns), COLUMNS["items.csv"])
        progress(0, total, rows)
        with _Member(archive, "answers.csv") as handle:
            csv.writer(handle).writerow(ANSWER_COLUMNS)
            for done, campaign in enumerate(campaigns, start=1):
                answers = _counted(answers_rows(campaign=campaign), rows, done - 1, total, progress)
                rows += write_answers_csv(handle, answers, header=False)
                progress(done, total, rows)
        rows += _write_csv(archive, "results.csv", _results(campaigns), COLUMNS["results.csv"])
    rows += _write_csv(archive, "annotators.csv", _annotators(organization), COLUMNS["annotators.csv"])
    rows += _write_csv(archive, "ledger.csv", _ledger(organization), COLUMNS["ledger.csv"])
    rows += _write_csv(archive, "payouts.csv", _payouts(organization), COLUMNS["payouts.csv"])
    for campaign in campaigns:
        archive.writestr(f"fairness/campaign-{campaign.id}.json", _json(fairness_report(campaign=campaign)) + "\n")
        with archive.open(f"labelstudio/campaign-{campaign.id}.json", "w", force_zip64=True) as raw:
            _json_array(raw, labelstudio_tasks(campaign, with_answers=False))
        archive.writestr(f"labelstudio/campaign-{campaign.id}-config.xml", export_labelstudio_config(campaign))
    progress(total, total, rows)
    return rows


def _json_array(handle: IO[bytes], rows: Iterable[dict[str, Any]]) -> None:
    """The same array as crowd/exports.py::json_array, encoded by orjson (a tenth of the standard encoder's time on
    a campaign's hundreds of thousands of tasks)."""
    handle.write(b"[")
    for index, row in enumerate(rows):
        if index:
            handle.write(b",")
        handle.write(orjson.dumps(row))
    handle.write(b"]\n")


def _counted(
    rows: Iterator[dict[str, Any]], before: int, done: int, total: int, progress: Callable[[int, int, int], None]
) -> Iterator[dict[str, Any]]:
    """Pass rows through, reporting progress every PROGRESS_EVERY_ROWS."""
    for index, row in enumerate(rows, start=1):
        if index % PROGRESS_EVERY_ROWS == 0:
            progress(done, total, before + index)
        yield row
