"""Enroll many workers into an organization's pool from a CSV: the fields of the one-at-a-time form (username,
languages, country), one worker per row, each enrolled by `workers.services.worker_enroll`.

All or nothing: the whole file is checked before anything is written, every bad row is reported with its number and
the reason, and the rows are enrolled in one transaction. Rows are numbered from the first one under the header, as
item imports count them. A username already in this organization's pool is skipped (and counted), so uploading
the same file twice enrolls nobody twice.

Texts people read are marked with gettext_noop and carry their values separately: the page translates them (with
its own number formatting); the exceptions' message and fields are translated when raised, for the API."""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_countries import countries

from crowd.exceptions import DomainError, ValidationFailed
from workers.languages import InvalidLanguage, language_from_input
from workers.models import User
from workers.services import LanguageLevel, worker_enroll

POOL_CSV_COLUMNS = ("username", "languages", "country")
POOL_CSV_REQUIRED = ("username", "languages")
POOL_CSV_MAX_ROWS = 5_000
# Room for POOL_CSV_MAX_ROWS rows of long names and several languages; anything larger is not such a file.
POOL_CSV_MAX_BYTES = 2 * 1024 * 1024
POOL_CSV_TEMPLATE = "username,languages,country\namina,sw|en,KE\njean,fr,\n"
# The level the one-at-a-time form gives each language: a coordinator enrolling someone vouches for working use.
ENROLL_LANGUAGE_LEVEL = 4
LANGUAGES_CELL_MAX = 500
_LANGUAGE_SEPARATORS = re.compile(r"[|,;]")


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1 is the first row under the header
    message: str  # English, marked for translation; `params` fill its placeholders
    params: dict[str, Any] = field(default_factory=dict)


class PoolCsvUnreadable(ValidationFailed):
    """The file as a whole cannot be read: not UTF-8, empty, no header, malformed, too large."""

    code = "pool_csv_unreadable"

    def __init__(self, message: str, params: dict[str, Any] | None = None):
        self.params = params or {}
        text = _(message) % self.params
        super().__init__(text, fields={"file": text})
        self.text = message  # untranslated, with placeholders


class PoolCsvRejected(ValidationFailed):
    """Some rows are bad: nothing was enrolled."""

    code = "pool_csv_rejected"

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        rows = [{"row": p.row, "message": _(p.message) % p.params} for p in problems]
        super().__init__(
            _("%(count)s problem(s) in the file; nobody was enrolled.") % {"count": len(problems)},
            fields={"rows": rows},
        )


@dataclass(frozen=True)
class PoolEnrolment:
    enrolled: list[int]  # the new workers' user ids, in file order
    skipped: list[str]  # usernames already in the pool


@dataclass
class _Row:
    number: int
    username: str
    languages: list[str]
    country: str


def _decoded(data: bytes) -> str:
    if len(data) > POOL_CSV_MAX_BYTES:
        raise PoolCsvUnreadable(
            gettext_noop("The file is larger than %(megabytes)s MB: split it into smaller files."),
            {"megabytes": POOL_CSV_MAX_BYTES // (1024 * 1024)},
        )
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        raise PoolCsvUnreadable(
            gettext_noop("The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8”.")
        ) from exc
    if "\x00" in text:
        raise PoolCsvUnreadable(gettext_noop("The file is not a CSV text file."))
    if not text.strip():
        raise PoolCsvUnreadable(gettext_noop("The file is empty."))
    return text


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(number, cells) for the header (number 0) and every row after it, blank ones included so the numbers match
    the file's. Strict: a broken quote is an error naming the row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = -1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if number == 0:
                raise PoolCsvUnreadable(gettext_noop("The header row is not valid CSV; check its quotes.")) from exc
            raise PoolCsvUnreadable(
                gettext_noop("Row %(row)s is not valid CSV; check its quotes. Nothing was enrolled."), {"row": number}
            ) from exc
        yield number, cells


def _header(cells: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in cells]
    if any(name not in columns for name in POOL_CSV_REQUIRED):
        raise PoolCsvUnreadable(
            gettext_noop("The first row must be the header: %(header)s (country is optional)."),
            {"header": ",".join(POOL_CSV_COLUMNS)},
        )
    unknown = [name for name in columns if name not in POOL_CSV_COLUMNS]
    if unknown:
        raise PoolCsvUnreadable(
            gettext_noop("Unknown column “%(column)s”: the columns are %(header)s."),
            {"column": unknown[0][:50], "header": ",".join(POOL_CSV_COLUMNS)},
        )
    if len(set(columns)) != len(columns):
        raise PoolCsvUnreadable(gettext_noop("A column is named twice in the header."))
    return columns


def _parse(text: str) -> tuple[list[_Row], list[RowProblem]]:
    records = _records(text)
    _number, header_cells = next(records, (0, []))
    columns = _header(header_cells)
    rows: list[_Row] = []
    problems: list[RowProblem] = []
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(rows) + len(problems) >= POOL_CSV_MAX_ROWS:
            raise PoolCsvUnreadable(
                gettext_noop("The file has more than %(max)s rows: split it into smaller files."),
                {"max": POOL_CSV_MAX_ROWS},
            )
        if len(cells) > len(columns):
            problems.append(RowProblem(number, gettext_noop("More cells than the header has columns.")))
            continue
        record = dict(zip(columns, cells, strict=False))
        rows.append(
            _Row(
                number=number,
                username=record.get("username", "").strip(),
                languages=[part.strip() for part in _LANGUAGE_SEPARATORS.split(record.get("languages", ""))],
                country=record.get("country", "").strip().upper(),
            )
        )
    if not rows and not problems:
        raise PoolCsvUnreadable(gettext_noop("The file has a header but no rows."))
    return rows, problems


def _row_problems(row: _Row, languages: dict[str, str | None], first_seen: dict[str, int]) -> list[RowProblem]:
    """What is wrong with one row on its own and against the rows before it; fills `row.languages` with codes."""
    problems = []
    name = row.username
    if not name:
        problems.append(RowProblem(row.number, gettext_noop("The username is missing.")))
    elif len(name) > 150:
        problems.append(RowProblem(row.number, gettext_noop("The username is longer than 150 characters.")))
    else:
        try:
            User.username_validator(name)
        except ValidationError:
            problems.append(
                RowProblem(
                    row.number,
                    gettext_noop("The username “%(username)s” may hold only letters, digits and @ . + - _."),
                    {"username": name},
                )
            )
        earlier = first_seen.setdefault(name.lower(), row.number)
        if earlier != row.number:
            problems.append(
                RowProblem(
                    row.number,
                    gettext_noop("The username “%(username)s” is also on row %(other)s."),
                    {"username": name, "other": earlier},
                )
            )
    typed = [part for part in row.languages if part]
    codes: list[str] = []
    if not typed:
        problems.append(RowProblem(row.number, gettext_noop("Name at least one language.")))
    elif sum(len(part) for part in typed) > LANGUAGES_CELL_MAX:
        problems.append(RowProblem(row.number, gettext_noop("The languages cell is too long.")))
    else:
        for part in typed:
            if part not in languages:
                try:
                    languages[part] = language_from_input(part)
                except InvalidLanguage:
                    languages[part] = None
            code = languages[part]
            if code is None:
                problems.append(
                    RowProblem(
                        row.number,
                        gettext_noop("“%(language)s” is not a language we know. Use its name or its code."),
                        {"language": part[:100]},
                    )
                )
            elif code not in codes:
                codes.append(code)
    row.languages = codes
    if row.country and (len(row.country) != 2 or row.country not in countries):
        problems.append(
            RowProblem(
                row.number,
                gettext_noop("“%(country)s” is not a two-letter country code (such as KE)."),
                {"country": row.country[:20]},
            )
        )
    return problems


def pool_enroll_csv(*, organization_id: int, data: bytes) -> PoolEnrolment:
    """Enroll every worker of the CSV `data` into the organization's pool, or nobody. Raises PoolCsvUnreadable
    (the file as a whole) or PoolCsvRejected (every bad row: syntax, unknown language or country, a username used
    twice in the file or taken by an account outside the pool). Writes in one transaction; takes no lock beyond the
    rows it inserts, so a username taken meanwhile by someone else rejects the file, naming its row."""
    rows, problems = _parse(_decoded(data))
    languages: dict[str, str | None] = {}
    first_seen: dict[str, int] = {}
    for row in rows:
        problems.extend(_row_problems(row, languages, first_seen))
    named = {row.username.lower() for row in rows if row.username}
    existing = dict(
        User.objects.annotate(lowered=Lower("username"))
        .filter(lowered__in=named)
        .values_list("lowered", "worker_profile__enrolled_by_id")
    )
    to_enroll: list[_Row] = []
    skipped: list[str] = []
    for row in rows:
        key = row.username.lower()
        if key not in existing:
            to_enroll.append(row)
        elif existing[key] == organization_id:
            skipped.append(row.username)
        else:
            problems.append(
                RowProblem(
                    row.number,
                    gettext_noop("The username “%(username)s” is taken by another account. Choose another."),
                    {"username": row.username},
                )
            )
    if problems:
        raise PoolCsvRejected(sorted(problems, key=lambda p: p.row))
    enrolled: list[int] = []
    with transaction.atomic():
        for row in to_enroll:
            try:
                profile, _token = worker_enroll(
                    organization_id=organization_id,
                    username=row.username,
                    country=row.country,
                    languages=[LanguageLevel(code, ENROLL_LANGUAGE_LEVEL) for code in row.languages],
                    skills=[],
                )
            except DomainError as exc:  # taken since the check above: the whole file is rolled back
                message = gettext_noop("The username “%(username)s” is taken by another account. Choose another.")
                raise PoolCsvRejected([RowProblem(row.number, message, {"username": row.username})]) from exc
            enrolled.append(profile.user_id)
    return PoolEnrolment(enrolled=enrolled, skipped=skipped)
