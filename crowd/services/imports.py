"""Item import: JSON array, CSV, JSONL. Streamed, validated row by row, all-or-nothing, idempotent.

Rows are validated and inserted in batches inside one transaction; any invalid row rolls the whole
import back, so a bad file never leaves half its items behind. Existing `external_id`s are skipped.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction

from config.limits import DATA_STRING_MAX, FREE_TEXT_ANSWER_MAX, InputRejected, json_check
from crowd.exceptions import InvalidState, ValidationFailed
from crowd.image_urls import IMAGE_KEYS, image_url_problem
from crowd.labels import LabelChecker, RowError
from crowd.models import Campaign, Item
from crowd.services.campaigns import items_reserve
from crowd.services.images import items_images_queue
from workers.languages import InvalidLanguage, language_base, language_normalize

BATCH_SIZE = 2000
MAX_REPORTED_ERRORS = 50
CSV_RESERVED = ("external_id", "language", "gold", "prelabel", "prelabel_score", "prelabel_model")
MULTI_SEPARATOR = "|"  # CSV cells of multi_choice labels: "cat|dog"
DATA_MAX_DEPTH = 10  # nesting inside an item's data


@dataclass
class ImportReport:
    created: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "skipped": self.skipped}


def _row_limits(raw: dict[str, Any]) -> None:
    """The row within the input limits (config/limits.py): no NUL anywhere, bounded nesting and text, and item
    images only from URLs a page may show."""
    try:
        for name, value in raw.items():
            if name == "data":
                json_check(value, path="data", max_depth=DATA_MAX_DEPTH, max_string=DATA_STRING_MAX)
            else:
                json_check(value, path=name, max_depth=3, max_string=FREE_TEXT_ANSWER_MAX)
    except InputRejected as exc:
        raise RowError(exc.path, exc.message) from None
    data = raw.get("data")
    if isinstance(data, dict):
        for key in IMAGE_KEYS:
            if key in data and (problem := image_url_problem(data[key])):
                raise RowError(f"data.{key}", problem)


def _row_to_item(raw: Any, campaign: Campaign, checker: LabelChecker) -> Item:
    if not isinstance(raw, dict):
        raise RowError("", "Each item must be an object.")
    unknown = set(raw) - {"external_id", "data", "language", "prelabel", "gold"}
    if unknown:
        raise RowError(sorted(unknown)[0], "Unknown field.")
    _row_limits(raw)
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        raise RowError("external_id", "This field is required.")
    if len(external_id) > 200:
        raise RowError("external_id", "At most 200 characters.")
    data = raw.get("data")
    if not isinstance(data, dict) or not data:
        raise RowError("data", "Must be a non-empty object.")
    language = raw.get("language") or ""
    if language:
        try:
            language = language_normalize(str(language))
        except InvalidLanguage as exc:
            raise RowError("language", str(exc)) from exc
        if campaign.languages and language_base(language) not in campaign.languages:
            # Such an item could never be routed to anyone, and the campaign could never complete.
            raise RowError(
                "language", f"'{language}' is not one of the campaign's languages ({', '.join(campaign.languages)})."
            )
    item = Item(campaign=campaign, external_id=external_id.strip(), data=data, language=language)
    prelabel = raw.get("prelabel")
    if prelabel is not None:
        if not isinstance(prelabel, dict) or "label" not in prelabel:
            raise RowError("prelabel", 'Must be {"model", "label", "score"}.')
        item.prelabel = checker.check(prelabel["label"], "prelabel")
        item.prelabel_model = str(prelabel.get("model") or "model")[:200]
        score = prelabel.get("score")
        if score is not None:
            if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
                raise RowError("prelabel_score", "Must be a number from 0 to 1.")
            item.prelabel_score = float(score)
    if raw.get("gold") is not None and raw.get("gold") != "":
        item.gold = checker.check(raw["gold"], "gold")
    return item


def _csv_label(value: str, task_type: str) -> Any:
    if task_type == Campaign.TaskType.MULTI_CHOICE:
        return [part.strip() for part in value.split(MULTI_SEPARATOR) if part.strip()]
    return value


def _csv_broken(number: int, field: str, message: str) -> ValidationFailed:
    """A CSV that cannot be read past this row: the whole import stops, naming the row."""
    where = f"Row {number}" + (f", field '{field}'" if field else "")
    return ValidationFailed(
        f"{where}: {message} Nothing was imported.",
        fields={"rows": [{"row": number, "field": field, "message": message}]},
        code="invalid_rows",
    )


def _swallowed_rows(record: dict[str, Any], columns: list[str]) -> tuple[str, str] | None:
    """A quoted cell that runs over lines that read like rows of their own (as many cells as the header, an
    id-like first cell) almost surely lost its closing quote and merged those rows: (column, first such line)."""
    id_index = columns.index("external_id")
    for name, value in record.items():
        if not isinstance(value, str) or "\n" not in value:
            continue
        for line in value.splitlines()[1:]:
            cells = next(csv.reader([line]), [])
            if len(cells) == len(columns) and cells[id_index].strip() and not any(c.isspace() for c in cells[id_index]):
                return name, line
    return None


def csv_rows(stream: IO[str], campaign: Campaign) -> Iterator[dict[str, Any]]:
    """Map CSV records to item dicts: reserved columns by name, every other column into `data`.

    Strict: an unterminated quote or text after a closing quote is an error naming the row, and so is a quoted
    cell that swallowed what look like rows (a missing closing quote further down the file). A quote inside a
    cell that does not start with one is text (`5" screen`), as spreadsheets write it."""
    reader = csv.DictReader(stream, strict=True)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise _csv_broken(0, "", f"The header row is malformed CSV ({exc}).") from exc
    if not fieldnames or "external_id" not in fieldnames:
        raise ValidationFailed(
            "The CSV needs a header row with an 'external_id' column.",
            fields={"file": "Missing 'external_id' column."},
        )
    data_columns = [name for name in fieldnames if name not in CSV_RESERVED]
    if not data_columns:
        raise ValidationFailed("The CSV has no data columns.", fields={"file": "No data columns."})
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_broken(number, "", f"Malformed CSV ({exc}); check the quotes in this row.") from exc
        if None in record:
            yield {"__error__": RowError("", "More cells than header columns.")}
            continue
        swallowed = _swallowed_rows(record, list(fieldnames))
        if swallowed:
            column, line = swallowed
            raise _csv_broken(
                number,
                column,
                f"A quoted cell runs on over lines that look like rows (e.g. {line[:60]!r}); "
                "a closing quote is probably missing.",
            )
        row: dict[str, Any] = {
            "external_id": record.get("external_id") or "",
            "data": {name: record[name] for name in data_columns if record.get(name) not in (None, "")},
            "language": record.get("language") or "",
        }
        if record.get("gold"):
            row["gold"] = _csv_label(record["gold"], campaign.task_type)
        if record.get("prelabel"):
            prelabel: dict[str, Any] = {
                "label": _csv_label(record["prelabel"], campaign.task_type),
                "model": record.get("prelabel_model") or "model",
            }
            if record.get("prelabel_score"):
                try:
                    prelabel["score"] = float(record["prelabel_score"])
                except ValueError:
                    yield {"__error__": RowError("prelabel_score", "Must be a number from 0 to 1.")}
                    continue
            row["prelabel"] = prelabel
        yield row


def jsonl_rows(stream: IO[str]) -> Iterator[Any]:
    for line in stream:
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            yield {"__error__": RowError("", f"Not valid JSON: {exc.msg}.")}
        except UnicodeDecodeError:
            raise  # the importer names the byte
        except (ValueError, RecursionError):  # an integer of thousands of digits; nesting too deep to parse
            yield {"__error__": RowError("", "Not valid JSON: a number too long or nesting too deep.")}


def json_rows(stream: IO[str]) -> Iterator[Any]:
    try:
        payload = json.load(stream)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"The file is not valid JSON: {exc}.", fields={"file": "Invalid JSON."}) from exc
    except UnicodeDecodeError:
        raise  # the importer names the byte
    except (ValueError, RecursionError):  # an integer of thousands of digits; nesting too deep to parse
        raise ValidationFailed(
            "The file is not valid JSON: a number too long or nesting too deep.", fields={"file": "Invalid JSON."}
        ) from None
    if not isinstance(payload, list):
        raise ValidationFailed("A JSON import must be an array of items.", fields={"file": "Expected an array."})
    yield from payload


def upload_kind(filename: str) -> str:
    """ "csv", "jsonl" or "json" from the file name; ValidationFailed for anything the import cannot read."""
    lower = (filename or "").lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    raise ValidationFailed(
        "Unsupported file type: upload .csv, .json or .jsonl.", fields={"file": "Unsupported file type."}
    )


def rows_from_upload(binary: IO[bytes], filename: str, campaign: Campaign) -> Iterator[Any]:
    """Pick the parser from the file name; decode as UTF-8 (a BOM is fine)."""
    kind = upload_kind(filename)
    stream = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    if kind == "csv":
        return csv_rows(stream, campaign)
    return jsonl_rows(stream) if kind == "jsonl" else json_rows(stream)


def items_import(*, campaign_id: int, rows: Iterable[Any]) -> ImportReport:
    """Validate and insert items in batches inside one transaction; raise ValidationFailed on any bad row.

    Locks the campaign row (imports and launch never interleave). Items added to a live campaign are packed
    into microtasks at once and what they can cost is reserved: ValidationFailed (`insufficient_funds`) when
    the organization's funds do not cover it.
    """
    report = ImportReport()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.ARCHIVED):
            raise InvalidState(f"Items cannot be added to a {campaign.status} campaign.")
        checker = LabelChecker(campaign)
        seen: dict[str, int] = {}
        batch: list[Item] = []
        try:
            for number, raw in enumerate(rows, start=1):
                try:
                    if isinstance(raw, dict) and "__error__" in raw:
                        raise raw["__error__"]
                    item = _row_to_item(raw, campaign, checker)
                    if item.external_id in seen:
                        raise RowError("external_id", f"Duplicate of row {seen[item.external_id]}.")
                    seen[item.external_id] = number
                except RowError as exc:
                    _record_error(report, number, exc)
                    continue
                if not report.error_count:
                    batch.append(item)
                    if len(batch) >= BATCH_SIZE:
                        _insert(batch, campaign, report)
                        batch = []
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                "The file is not UTF-8 text.", fields={"file": f"Not UTF-8 at byte {exc.start}."}
            ) from exc
        except csv.Error as exc:
            raise ValidationFailed(f"The CSV is malformed: {exc}.", fields={"file": str(exc)}) from exc
        if report.error_count:
            first = report.errors[0]
            more = f" (and {report.error_count - 1} more)" if report.error_count > 1 else ""
            where = f"Row {first['row']}" + (f", field '{first['field']}'" if first["field"] else "")
            raise ValidationFailed(
                f"{where}: {first['message'].rstrip('.')}{more}. Nothing was imported.",
                fields={"rows": report.errors, "error_count": report.error_count},
                code="invalid_rows",
            )
        if not seen:
            raise ValidationFailed("The import contains no items.", fields={"items": "Empty."}, code="empty")
        _insert(batch, campaign, report)
        if campaign.status != Campaign.Status.DRAFT and report.created:
            items_reserve(campaign=campaign, created=report.created)
    return report


def _record_error(report: ImportReport, number: int, exc: RowError) -> None:
    report.error_count += 1
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append({"row": number, "field": exc.field, "message": exc.message})


def _insert(batch: list[Item], campaign: Campaign, report: ImportReport) -> None:
    if not batch:
        return
    existing = set(
        Item.objects.filter(campaign=campaign, external_id__in=[item.external_id for item in batch]).values_list(
            "external_id", flat=True
        )
    )
    fresh = [item for item in batch if item.external_id not in existing]
    Item.objects.bulk_create(fresh, batch_size=BATCH_SIZE)
    items_images_queue(items=fresh)
    report.created += len(fresh)
    report.skipped += len(existing)
