"""Reading an uploaded file into import rows: CSV, JSON (an array, parsed as a stream), JSONL, and Label Studio's
JSON, JSON_MIN and CSV exports (crowd/imports_labelstudio.py). Nothing here touches the database; the importer
(crowd/services/imports.py) validates and stores the rows.

Flat records (CSV rows, and JSON objects without a `data` object) go through a column mapping: which column is
the external id, the text, the image URL, the language, the gold label and the pre-label. Unmapped columns go into
the item's `data` under their own names unless ignored. Without a mapping, columns are taken by their names
(`external_id` or else `id`, `language`, `gold`, `prelabel`, …), as the import always did.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import IO, Any

import ijson
from django.utils.translation import gettext as _

from crowd import imports_labelstudio as ls
from crowd.exceptions import ValidationFailed
from crowd.image_urls import IMAGE_KEYS
from crowd.labels import RowError

ROLES = ("external_id", "text", "image", "language", "gold", "prelabel", "prelabel_score", "prelabel_model")
DATA_KEYS = {"text": "text", "image": "image_url"}  # where the text and image columns land in `data`…
MULTI_SEPARATOR = "|"  # CSV cells of multi_choice labels: "cat|dog"
ROW_NUMBER_ID = "row-{}"  # external ids when the coordinator says no column identifies rows
LABEL_GUESS_RECORDS = 200  # Label Studio CSV: records read to find the label column when none is named


@dataclass(frozen=True)
class ImportOptions:
    """What the coordinator chose on the preview (or sent to the API); every field optional."""

    mapping: dict[str, str] | None = None  # role -> column; "" = none (for external_id: number the rows)
    ignore: tuple[str, ...] = ()  # columns kept out of `data`
    trusted: bool = False  # Label Studio annotations become gold (else pre-labels)
    from_name: str | None = None  # Label Studio: the control tag (column) holding the label

    @classmethod
    def from_dict(cls, raw: Any) -> "ImportOptions":
        """From the JSON stored with a job or sent to the API; ValidationFailed naming the bad field."""
        if raw in (None, ""):
            return cls()
        if not isinstance(raw, dict):
            raise ValidationFailed(
                _("The import options must be an object."), fields={"options": _("Expected an object.")}
            )
        mapping = raw.get("mapping")
        if mapping is not None:
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str | type(None)) for k, v in mapping.items()
            ):
                raise ValidationFailed(
                    _("The mapping must map roles to column names."),
                    fields={"mapping": _("Expected an object of texts.")},
                )
            unknown = sorted(set(mapping) - set(ROLES))
            if unknown:
                raise ValidationFailed(
                    _("Unknown mapping role '%(role)s'; the roles are %(roles)s.")
                    % {"role": unknown[0], "roles": ", ".join(ROLES)},
                    fields={"mapping": _("Unknown role '%(role)s'.") % {"role": unknown[0]}},
                )
            mapping = {role: mapping.get(role) or "" for role in ROLES}
        ignore = raw.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(name, str) for name in ignore):
            raise ValidationFailed(
                _("'ignore' must be a list of column names."), fields={"ignore": _("Expected a list.")}
            )
        from_name = raw.get("from_name") or None
        if from_name is not None and not isinstance(from_name, str):
            raise ValidationFailed(_("'from_name' must be a text."), fields={"from_name": _("Expected a text.")})
        trusted = raw.get("trusted", False)
        if not isinstance(trusted, bool):
            raise ValidationFailed(_("'trusted' must be true or false."), fields={"trusted": _("Expected a boolean.")})
        return cls(mapping=mapping, ignore=tuple(ignore), trusted=trusted, from_name=from_name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "ignore": list(self.ignore),
            "trusted": self.trusted,
            "from_name": self.from_name,
        }


@dataclass
class Upload:
    """An opened upload: what it was read as, its columns (flat formats), the mapping in force, and its rows."""

    format: str  # csv, json, jsonl, labelstudio-json, labelstudio-min, labelstudio-csv
    rows: Iterator[Any]
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    from_name: str | None = None


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
        _("Unsupported file type: upload .csv, .json or .jsonl."), fields={"file": _("Unsupported file type.")}
    )


def upload_open(
    binary: IO[bytes], filename: str, task_type: str, labels: Iterable[str], options: ImportOptions
) -> Upload:
    """Read the upload as its name says; UTF-8 (a BOM is fine). Rows are produced lazily, as the importer asks."""
    kind = upload_kind(filename)
    try:  # opening reads the start of the file (a header, a first record)
        if kind == "csv":
            return _csv_upload(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""), task_type, labels, options)
        if kind == "json":
            records = _json_records(binary)
        else:
            records = jsonl_records(io.TextIOWrapper(binary, encoding="utf-8-sig"))
        return _records_upload(kind, records, task_type, options)
    except UnicodeDecodeError as exc:
        raise not_utf8(exc) from exc


def not_utf8(exc: UnicodeDecodeError) -> ValidationFailed:
    return ValidationFailed(
        _("The file is not UTF-8 text."), fields={"file": _("Not UTF-8 at byte %(byte)s.") % {"byte": exc.start}}
    )


# --- CSV --------------------------------------------------------------------------------------------------------


def _csv_broken(number: int, field_name: str, message: str) -> ValidationFailed:
    """A CSV that cannot be read past this row: the whole import stops, naming the row. `message` is translated."""
    values = {"row": number, "field": field_name, "problem": message}
    text = (
        _("Row %(row)s, field '%(field)s': %(problem)s Nothing was imported.")
        if field_name
        else _("Row %(row)s: %(problem)s Nothing was imported.")
    )
    return ValidationFailed(
        text % values,
        fields={"rows": [{"row": number, "field": field_name, "message": message}]},
        code="invalid_rows",
    )


def _swallowed_rows(record: dict[str, Any], columns: list[str], id_column: str | None) -> tuple[str, str] | None:
    """A quoted cell that runs over lines that read like rows of their own (as many cells as the header, an
    id-like first cell) almost surely lost its closing quote and merged those rows: (column, first such line)."""
    id_index = columns.index(id_column) if id_column in columns else 0
    for name, value in record.items():
        if not value or "\n" not in value:  # a text, or None for a cell a short row lacks
            continue
        for line in value.splitlines()[1:]:
            cells = next(csv.reader([line]), [])
            if len(cells) == len(columns) and cells[id_index].strip() and not any(c.isspace() for c in cells[id_index]):
                return name, line
    return None


def _csv_records(reader: csv.DictReader, id_column: str | None) -> Iterator[dict[str, Any]]:
    """The records of a CSV, strictly: an unterminated quote or text after a closing quote is an error naming the
    row, and so is a quoted cell that swallowed what look like rows (a missing closing quote further down). A quote
    inside a cell that does not start with one is text (`5" screen`), as spreadsheets write it. A row with more
    cells than the header is an error row."""
    columns = list(reader.fieldnames or [])
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_broken(
                number, "", _("Malformed CSV (%(error)s); check the quotes in this row.") % {"error": exc}
            ) from exc
        if None in record:
            yield {ls.ERROR_KEY: RowError("", _("More cells than header columns."))}
            continue
        swallowed = _swallowed_rows(record, columns, id_column)
        if swallowed:
            column, line = swallowed
            raise _csv_broken(
                number,
                column,
                _(
                    "A quoted cell runs on over lines that look like rows (e.g. %(line)s); "
                    "a closing quote is probably missing."
                )
                % {"line": repr(line[:60])},
            )
        yield record


def _csv_upload(stream: IO[str], task_type: str, labels: Iterable[str], options: ImportOptions) -> Upload:
    reader = csv.DictReader(stream, strict=True)
    try:
        columns = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise _csv_broken(0, "", _("The header row is malformed CSV (%(error)s).") % {"error": exc}) from exc
    if not columns:
        raise ValidationFailed(_("The CSV needs a header row."), fields={"file": _("Missing header row.")})
    if ls.is_labelstudio_csv(columns):
        records = _csv_records(reader, "id")
        from_name = options.from_name
        if from_name is None:
            head = list(islice(records, LABEL_GUESS_RECORDS))
            from_name = _label_column(head, columns, set(labels))
            records = chain(head, records)
        rows = ls.flat_rows(
            records,
            task_type=task_type,
            trusted=options.trusted,
            from_name=from_name,
            from_csv=True,
            ignore=options.ignore,
        )
        return Upload("labelstudio-csv", rows, columns=columns, from_name=from_name)
    mapping = _mapping(columns, options)
    return Upload(
        "csv",
        _mapped_rows(_csv_records(reader, mapping["external_id"] or None), mapping, options.ignore, task_type, True),
        columns=columns,
        mapping=mapping,
    )


def _label_column(records: list[dict[str, Any]], columns: list[str], labels: set[str]) -> str | None:
    """Label Studio's CSV sorts its columns, so the label column cannot be told by place: the one column, other
    than its bookkeeping, whose filled cells are all labels of the campaign (or JSON results) is it."""
    if not labels:
        return None
    candidates = []
    for column in columns:
        if column in ls.FLAT_BOOKKEEPING:
            continue
        cells = [record.get(column) for record in records if ls.ERROR_KEY not in record and record.get(column)]
        if cells and all(cell in labels or cell.lstrip().startswith("{") for cell in cells):
            candidates.append(column)
    return candidates[0] if len(candidates) == 1 else None


# --- JSON and JSONL ---------------------------------------------------------------------------------------------


class _Prefixed:
    """A binary stream with its first bytes (already read to look at) put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if self.head:
            chunk, self.head = (
                (self.head, b"")
                if size < 0 or size >= len(self.head)
                else (
                    self.head[:size],
                    self.head[size:],
                )
            )
            return chunk
        return self.rest.read(size)


def _json_records(binary: IO[bytes]) -> Iterator[Any]:
    """The elements of a top-level JSON array, parsed as a stream (a file of any size in flat memory)."""
    head = binary.read(64 * 1024)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    start = head.lstrip()[:1]
    if start != b"[":
        if start == b"{":
            raise ValidationFailed(
                _("A JSON import must be an array of items."), fields={"file": _("Expected an array.")}
            )
        _json_whole_error(head)
    count = 0
    try:
        for record in ijson.items(_Prefixed(head, binary), "item", use_float=True):
            count += 1
            yield record
    except ijson.JSONError as exc:
        message = str(exc)
        if "UTF8" in message or "utf-8" in message.lower():
            raise ValidationFailed(_("The file is not UTF-8 text."), fields={"file": _("Not UTF-8.")}) from None
        raise _csv_broken(
            count + 1, "", _("Not valid JSON here (%(error)s).") % {"error": message.splitlines()[0][:120]}
        ) from None


def _json_whole_error(head: bytes) -> None:
    """The file does not start an array: say what it is (empty, another JSON value, or not JSON)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The file is not UTF-8 text."), fields={"file": _("Not UTF-8.")}) from None
    if not text.strip():
        raise ValidationFailed(_("The import contains no items."), fields={"items": _("Empty.")}, code="empty")
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(
            _("The file is not valid JSON: %(error)s.") % {"error": exc}, fields={"file": _("Invalid JSON.")}
        ) from None
    raise ValidationFailed(_("A JSON import must be an array of items."), fields={"file": _("Expected an array.")})


def jsonl_records(stream: IO[str]) -> Iterator[Any]:
    for line in stream:
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            yield {ls.ERROR_KEY: RowError("", _("Not valid JSON: %(error)s.") % {"error": exc.msg})}
        except UnicodeDecodeError:
            raise  # the importer names the byte
        except (ValueError, RecursionError):  # an integer of thousands of digits; nesting too deep to parse
            yield {ls.ERROR_KEY: RowError("", _("Not valid JSON: a number too long or nesting too deep."))}


def _records_upload(kind: str, records: Iterator[Any], task_type: str, options: ImportOptions) -> Upload:
    """JSON records told apart by the first: Label Studio tasks or JSON_MIN, Crowdloop rows (with `data`), or flat
    objects read through the column mapping."""
    first = next(records, None)
    if first is None:
        return Upload(kind, iter(()))
    records = chain([first], records)
    if ls.is_labelstudio_task(first) or ls.is_labelstudio_min(first):
        rows = ls.labelstudio_rows(records, task_type=task_type, trusted=options.trusted, from_name=options.from_name)
        return Upload("labelstudio-min" if ls.is_labelstudio_min(first) else "labelstudio-json", rows)
    if isinstance(first, dict) and ls.ERROR_KEY not in first and "data" not in first:
        columns = list(first)
        mapping = _mapping(columns, options)
        return Upload(kind, _mapped_rows(records, mapping, options.ignore, task_type, False), columns, mapping)
    return Upload(kind, records)


# --- Flat records through the mapping ---------------------------------------------------------------------------


def mapping_default(columns: list[str]) -> dict[str, str]:
    """Columns by their names: the import's own column names, Label Studio's `id`, and `image`/`image_url`."""
    names = set(columns)
    mapping = {role: (role if role in names else "") for role in ROLES}
    if not mapping["external_id"] and "id" in names:
        mapping["external_id"] = "id"
    mapping["image"] = next((name for name in IMAGE_KEYS if name in names), "")
    return mapping


def _mapping(columns: list[str], options: ImportOptions) -> dict[str, str]:
    if options.mapping is None:
        mapping = mapping_default(columns)
        if not mapping["external_id"]:
            raise ValidationFailed(
                _(
                    "The file needs a column that identifies each row ('external_id' or 'id'), or a mapping that "
                    "says which column it is or that rows are numbered."
                ),
                fields={"file": _("Missing 'external_id' column.")},
            )
    else:
        mapping = options.mapping
        missing = [f"{role}: {column}" for role, column in mapping.items() if column and column not in columns]
        if missing:
            raise ValidationFailed(
                _("The mapping names a column the file does not have (%(missing)s).") % {"missing": missing[0]},
                fields={"mapping": _("No column '%(column)s'.") % {"column": missing[0].split(": ", 1)[1]}},
            )
    used = {column for column in mapping.values() if column}
    if not any(name not in used and name not in options.ignore for name in columns) and not (
        mapping["text"] or mapping["image"]
    ):
        raise ValidationFailed(_("The file has no data columns."), fields={"file": _("No data columns.")})
    return mapping


def _label(value: Any, task_type: str, from_csv: bool) -> Any:
    if from_csv and task_type == "multi_choice" and isinstance(value, str):
        return [part.strip() for part in value.split(MULTI_SEPARATOR) if part.strip()]
    return value


def _mapped_rows(
    records: Iterable[Any], mapping: dict[str, str], ignore: Iterable[str], task_type: str, from_csv: bool
) -> Iterator[dict[str, Any]]:
    """Import rows from flat records: mapped columns to their roles, the text and image columns into `data` under
    `text` and `image_url`, every other column into `data` unless ignored. Empty cells are left out."""
    skip = {column for column in mapping.values() if column} | set(ignore)
    # …unless the image column already has a name the pages show images from (`image`): it keeps it.
    into_data = [
        (mapping[role], mapping[role] if mapping[role] in IMAGE_KEYS else key)
        for role, key in DATA_KEYS.items()
        if mapping[role]
    ]
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or ls.ERROR_KEY in record:
            yield record
            continue
        data = {name: value for name, value in record.items() if name not in skip and value not in (None, "")}
        for column, key in into_data:
            if record.get(column) not in (None, ""):
                data[key] = record[column]
        external_id = record.get(mapping["external_id"]) if mapping["external_id"] else ROW_NUMBER_ID.format(number)
        row: dict[str, Any] = {"external_id": "" if external_id is None else external_id, "data": data}
        if mapping["language"]:
            row["language"] = record.get(mapping["language"]) or ""
        if mapping["gold"] and record.get(mapping["gold"]) not in (None, ""):
            row["gold"] = _label(record[mapping["gold"]], task_type, from_csv)
        if mapping["prelabel"] and record.get(mapping["prelabel"]) not in (None, ""):
            prelabel: dict[str, Any] = {
                "label": _label(record[mapping["prelabel"]], task_type, from_csv),
                "model": (record.get(mapping["prelabel_model"]) if mapping["prelabel_model"] else None) or "model",
            }
            score = record.get(mapping["prelabel_score"]) if mapping["prelabel_score"] else None
            if score not in (None, ""):
                try:
                    prelabel["score"] = float(score) if isinstance(score, str) else score
                except ValueError:
                    yield {ls.ERROR_KEY: RowError("prelabel_score", _("Must be a number from 0 to 1."))}
                    continue
            row["prelabel"] = prelabel
        yield row
