"""Item import: rows (read from a file by crowd/import_formats.py, or given by code) validated one by one and
stored all or nothing, idempotently.

Rows stream into the store (crowd/services/import_store.py) inside one transaction; any invalid row rolls the
whole import back, so a bad file never leaves half its items behind. Existing `external_id`s are skipped.
"""

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.limits import DATA_STRING_MAX, FREE_TEXT_ANSWER_MAX, InputRejected, json_check
from crowd.exceptions import InvalidState, ValidationFailed
from crowd.image_urls import IMAGE_KEYS, image_url_problem
from crowd.import_formats import ImportOptions, not_utf8, upload_open
from crowd.imports_labelstudio import ERROR_KEY, NOTE_KEY
from crowd.labels import LabelChecker, RowError
from crowd.model_loop.backends import backends_predict_soon
from crowd.model_loop.registry import label_models_register_imported, model_key
from crowd.models import Campaign
from crowd.services.campaigns import items_reserve
from crowd.services.import_store import DirectFailed, ItemRow, duplicate_of, store_open
from workers.languages import InvalidLanguage, language_base, language_normalize

ROW_FIELDS = frozenset({"external_id", "data", "language", "prelabel", "gold"})
MAX_REPORTED_ERRORS = 50
DATA_MAX_DEPTH = 10  # nesting inside an item's data


@dataclass
class ImportReport:
    created: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    rows_read: int = 0
    # What was read but not used as asked, without failing the import (Label Studio annotations that disagree,
    # so they are not gold): {row, message}.
    notes: list[dict[str, Any]] = field(default_factory=list)
    note_count: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "skipped": self.skipped}


def _plain_text(value: str, limit: int) -> bool:
    return len(value) <= limit and "\x00" not in value


def _plain_texts(data: Any, limit: int) -> bool:
    """A flat object of texts within the limits (every CSV row's data): the common case, checked without the
    general walk, which costs a third of a row's time on a million-row import."""
    return isinstance(data, dict) and all(
        type(key) is str
        and type(value) is str
        and len(key) <= limit
        and len(value) <= limit
        and "\x00" not in key
        and "\x00" not in value
        for key, value in data.items()
    )


def _row_limits(raw: dict[str, Any]) -> None:
    """The row within the input limits (config/limits.py): no NUL anywhere, bounded nesting and text, and item
    images only from URLs a page may show."""
    try:
        for name, value in raw.items():
            if name == "data":
                if not _plain_texts(value, DATA_STRING_MAX):
                    json_check(value, path="data", max_depth=DATA_MAX_DEPTH, max_string=DATA_STRING_MAX)
            elif not (type(value) is str and _plain_text(value, FREE_TEXT_ANSWER_MAX)):
                json_check(value, path=name, max_depth=3, max_string=FREE_TEXT_ANSWER_MAX)
    except InputRejected as exc:
        raise RowError(exc.path, exc.message) from None
    data = raw.get("data")
    if isinstance(data, dict):
        for key in IMAGE_KEYS:
            if key in data and (problem := image_url_problem(data[key])):
                raise RowError(f"data.{key}", problem)


class _Languages:
    """Row languages normalized once per distinct value: a million rows carry a handful of languages, and
    normalizing a tag costs far more than the rest of a row's checks."""

    CACHE_MAX = 1000

    def __init__(self, campaign: Campaign):
        self.allowed = campaign.languages
        self.cache: dict[str, str | RowError] = {}

    def check(self, value: str) -> str:
        known = self.cache.get(value)
        if known is None:
            known = self._normalize(value)
            if len(self.cache) < self.CACHE_MAX:
                self.cache[value] = known
        if isinstance(known, RowError):
            raise known
        return known

    def _normalize(self, value: str) -> str | RowError:
        try:
            language = language_normalize(value)
        except InvalidLanguage as exc:
            return RowError("language", str(exc))
        if self.allowed and language_base(language) not in self.allowed:
            # Such an item could never be routed to anyone, and the campaign could never complete.
            return RowError(
                "language",
                _("'%(language)s' is not one of the campaign's languages (%(languages)s).")
                % {"language": language, "languages": ", ".join(self.allowed)},
            )
        return language


def _row_check(raw: Any, checker: LabelChecker, languages: _Languages) -> ItemRow:
    if not isinstance(raw, dict):
        raise RowError("", _("Each item must be an object."))
    if not ROW_FIELDS.issuperset(raw):
        raise RowError(sorted(set(raw) - ROW_FIELDS)[0], _("Unknown field."))
    _row_limits(raw)
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        raise RowError("external_id", _("This field is required."))
    if len(external_id) > 200:
        raise RowError("external_id", _("At most 200 characters."))
    data = raw.get("data")
    if not isinstance(data, dict) or not data:
        raise RowError("data", _("Must be a non-empty object."))
    language = raw.get("language") or ""
    if language:
        language = languages.check(str(language))
    prelabel = prelabel_model = prelabel_score = None
    raw_prelabel = raw.get("prelabel")
    if raw_prelabel is not None:
        if not isinstance(raw_prelabel, dict) or "label" not in raw_prelabel:
            raise RowError("prelabel", _('Must be {"model", "label", "score"}.'))
        prelabel = checker.check(raw_prelabel["label"], "prelabel")
        prelabel_model = str(raw_prelabel.get("model") or "model")[:200]
        if raw_prelabel.get("version") not in (None, ""):  # a version makes it another annotator: "name@version"
            prelabel_model = model_key(prelabel_model, str(raw_prelabel["version"]))
        score = raw_prelabel.get("score")
        if score is not None:
            if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
                raise RowError("prelabel_score", _("Must be a number from 0 to 1."))
            prelabel_score = float(score)
    gold = raw.get("gold")
    gold = checker.check(gold, "gold") if gold is not None and gold != "" else None
    return ItemRow(external_id.strip(), data, language, prelabel, prelabel_model or "", prelabel_score, gold)


def rows_from_upload(
    binary: IO[bytes], filename: str, campaign: Campaign, options: ImportOptions | None = None
) -> Iterator[Any]:
    """The rows of an uploaded file, read as its name and content say (crowd/import_formats.py)."""
    return upload_open(binary, filename, campaign.task_type, campaign.label_values(), options or ImportOptions()).rows


def _checked_rows(rows: Iterable[Any], campaign: Campaign, report: ImportReport) -> Iterator[tuple[int, ItemRow]]:
    """(row number, checked row) for every good row; bad rows and notes go into `report`. A file that cannot be
    read on (not UTF-8, broken CSV) raises ValidationFailed."""
    checker, languages = LabelChecker(campaign), _Languages(campaign)
    try:
        for number, raw in enumerate(rows, start=1):
            report.rows_read = number
            try:
                if isinstance(raw, dict) and ERROR_KEY in raw:
                    raise raw[ERROR_KEY]
                if isinstance(raw, dict) and NOTE_KEY in raw:
                    _record_note(report, number, raw.pop(NOTE_KEY))
                row = _row_check(raw, checker, languages)
            except RowError as exc:
                _record_error(report, number, exc)
                continue
            yield number, row
    except UnicodeDecodeError as exc:
        raise not_utf8(exc) from exc
    except csv.Error as exc:
        # The csv module's own words (English) go in as they are.
        raise ValidationFailed(
            _("The CSV is malformed: %(error)s.") % {"error": exc}, fields={"file": str(exc)}
        ) from exc


def items_import(
    *, campaign_id: int, rows: Iterable[Any], reopen: Callable[[], Iterable[Any]] | None = None
) -> ImportReport:
    """Validate and store items inside one transaction; raise ValidationFailed on any bad row (nothing stored).

    Locks the campaign row (imports and launch never interleave). Rows stream into the store (COPY on
    PostgreSQL), so memory does not grow with the file. `reopen` gives the rows again from the start: with it (and
    for a list of rows) the store may COPY straight into the items table and fall back to the staging table when
    that fails (crowd/services/import_store.py). Items added to a live campaign are packed into microtasks at once
    and what they can cost is reserved: ValidationFailed (`insufficient_funds`) when the organization's funds do
    not cover it.
    """
    if reopen is None and isinstance(rows, list | tuple):
        reopen = lambda: rows  # noqa: E731
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED):
            raise InvalidState(_("Items cannot be added to a %(status)s campaign.") % {"status": campaign.status})
        if reopen is not None:
            try:
                return _import(campaign, rows, direct=True)
            except DirectFailed as failed:
                transaction.savepoint_rollback(failed.savepoint)
                rows = reopen()
        return _import(campaign, rows, direct=False)


def _import(campaign: Campaign, rows: Iterable[Any], *, direct: bool) -> ImportReport:
    report = ImportReport()
    models: set[str] = set()  # the pre-labels' models, registered once each below
    with ExitStack() as stack:
        store = store_open(campaign, stack, direct=direct)
        for number, row in _checked_rows(rows, campaign, report):
            if row.prelabel_model:
                models.add(row.prelabel_model)
            if report.error_count:
                store.fail()
            problem = store.add(number, row)
            if problem is not None:
                store.fail()
                _record_error(report, number, problem)
        repeated, first_repeats = store.duplicates()
        if repeated:
            report.error_count += repeated
            report.errors.extend({"row": n, "field": e.field, "message": e.message} for n, e in first_repeats)
            report.errors = sorted(report.errors, key=lambda error: error["row"])[:MAX_REPORTED_ERRORS]
        if report.error_count:
            raise ValidationFailed(
                _rows_refusal(report.errors[0], report.error_count - 1),
                fields={"rows": report.errors, "error_count": report.error_count},
                code="invalid_rows",
            )
        if not store.rows:
            raise ValidationFailed(_("The import contains no items."), fields={"items": _("Empty.")}, code="empty")
        report.created, report.skipped = store.save()
    if models:
        label_models_register_imported(organization_id=campaign.organization_id, keys=models)
    if report.created:
        backends_predict_soon(campaign_id=campaign.id)  # after the commit: the campaign's ML backends label them
    if campaign.status != Campaign.Status.DRAFT and report.created:
        items_reserve(campaign=campaign, created=report.created, after_id=store.after_id)
    return report


def _rows_refusal(first: dict[str, Any], more: int) -> str:
    """The refusal of an import with bad rows, naming the first (Row 3, field 'gold': Unknown label 'x' (and 4
    more). Nothing was imported.): whole sentences, with and without a field and a count of the other bad rows,
    so each language can order and inflect them its own way."""
    # The row's message ends a clause: its own full stop goes (a Hindi danda too), the sentence brings its own.
    values = {"row": first["row"], "field": first["field"], "message": first["message"].rstrip(".।"), "count": more}
    if first["field"] and more:
        return (
            ngettext(
                "Row %(row)s, field '%(field)s': %(message)s (and %(count)s more). Nothing was imported.",
                "Row %(row)s, field '%(field)s': %(message)s (and %(count)s more). Nothing was imported.",
                more,
            )
            % values
        )
    if more:
        return (
            ngettext(
                "Row %(row)s: %(message)s (and %(count)s more). Nothing was imported.",
                "Row %(row)s: %(message)s (and %(count)s more). Nothing was imported.",
                more,
            )
            % values
        )
    if first["field"]:
        return _("Row %(row)s, field '%(field)s': %(message)s. Nothing was imported.") % values
    return _("Row %(row)s: %(message)s. Nothing was imported.") % values


def _record_note(report: ImportReport, number: int, note: str) -> None:
    report.note_count += 1
    if len(report.notes) < MAX_REPORTED_ERRORS:
        report.notes.append({"row": number, "message": note})


def _record_error(report: ImportReport, number: int, exc: RowError) -> None:
    report.error_count += 1
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append({"row": number, "field": exc.field, "message": exc.message})


@dataclass
class Preview:
    """What an upload will import, read from its first rows without storing anything."""

    format: str
    columns: list[str]
    mapping: dict[str, str]
    from_name: str | None
    rows: list[dict[str, Any]]  # the first rows as they will be stored
    rows_checked: int
    more: bool  # the file goes on past the rows checked
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    notes: list[dict[str, Any]] = field(default_factory=list)


PREVIEW_ROWS = 20
PREVIEW_CHECKED = 1000


def import_preview(
    *, binary: IO[bytes], filename: str, campaign: Campaign, options: ImportOptions | None = None
) -> Preview:
    """Read and check the first rows of an upload as the import will (the same formats, mapping and row checks,
    duplicates among them included), storing nothing: the coordinator sees the rows, the columns and their
    mapping, and the row errors with their numbers before deciding. Raises ValidationFailed when the file cannot
    be read at all (type, encoding, header, mapping)."""
    upload = upload_open(binary, filename, campaign.task_type, campaign.label_values(), options or ImportOptions())
    report = ImportReport()
    shown: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for number, row in _checked_rows(islice(upload.rows, PREVIEW_CHECKED), campaign, report):
        if row.external_id in seen:
            duplicate = duplicate_of(seen[row.external_id])
            _record_error(report, number, duplicate)
            continue
        seen[row.external_id] = number
        if len(shown) < PREVIEW_ROWS:
            shown.append({"row": number, **row._asdict()})
    try:
        more = next(upload.rows, None) is not None
    except (UnicodeDecodeError, csv.Error, ValidationFailed):
        more = True  # the file goes on, broken: the import will say where
    return Preview(
        format=upload.format,
        columns=upload.columns,
        mapping=upload.mapping,
        from_name=upload.from_name,
        rows=shown,
        rows_checked=report.rows_read,
        more=more,
        errors=report.errors,
        error_count=report.error_count,
        notes=report.notes,
    )
