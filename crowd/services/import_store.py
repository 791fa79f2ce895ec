"""Where validated import rows go until the import is known to be good, and how they become items.

On PostgreSQL rows stream through `COPY` into a temporary table and one `INSERT … SELECT` of the rows whose
external id the campaign does not have makes them items: a million rows cost one statement, and memory stays
flat whatever the file's size (nothing of the file is held in Python; duplicates within the file are found by the
database). Elsewhere (SQLite in `make run`) rows go through the ORM in batches. Both run inside the importer's
transaction, so a bad row anywhere rolls every stored row back.
"""

from contextlib import ExitStack
from typing import Any, NamedTuple, Protocol

import orjson
import psycopg
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crowd.image_urls import IMAGE_KEYS
from crowd.labels import RowError
from crowd.models import Campaign, Item
from crowd.services.images import items_images_queue

BATCH_SIZE = 2000
DIRECT_KNOWN_MAX = 100_000  # a campaign with more items imports through the staging table (their ids stay there)
MAX_DUPLICATES_REPORTED = 50
STAGED = ("external_id", "data", "language", "prelabel", "prelabel_model", "prelabel_score", "gold")


class ItemRow(NamedTuple):
    """One validated row (crowd/services/imports.py checks it), ready to store."""

    external_id: str
    data: dict[str, Any]
    language: str
    prelabel: Any
    prelabel_model: str
    prelabel_score: float | None
    gold: Any


class Store(Protocol):
    rows: int  # rows added
    after_id: int  # every item the import created has a higher id (0: unknown)

    def add(self, number: int, row: ItemRow) -> RowError | None: ...

    def duplicates(self) -> tuple[int, list[tuple[int, RowError]]]: ...

    def fail(self) -> None: ...

    def save(self) -> tuple[int, int]: ...


class DirectFailed(Exception):
    """The direct COPY met an external id twice: roll back to `savepoint` and read the import again through the
    staging table, which says which rows repeat which."""

    def __init__(self, savepoint: str):
        super().__init__(savepoint)
        self.savepoint = savepoint


def duplicate_of(first: int) -> RowError:
    """The error of a row that repeats row `first`'s external id."""
    return RowError("external_id", _("Duplicate of row %(row)s.") % {"row": first})


def store_open(campaign: Campaign, stack: ExitStack, *, direct: bool = False) -> Store:
    """A store for one import; `stack` closes what it holds open when the import ends, well or not. `direct`: the
    rows can be read again if DirectStore gives up, so it may be tried."""
    if connection.vendor != "postgresql":
        return OrmStore(campaign)
    if direct:
        known = list(
            Item.objects.filter(campaign=campaign).values_list("external_id", flat=True)[: DIRECT_KNOWN_MAX + 1]
        )
        if len(known) <= DIRECT_KNOWN_MAX:
            return DirectStore(campaign, stack, set(known))
    return CopyStore(campaign, stack)


def _encode(value: Any) -> str:
    """JSON text of a row's value for COPY: orjson, a tenth of the standard encoder's time (a million rows make a
    second of it). The row checks have already refused what JSON cannot hold (NaN, integers beyond 64 bits)."""
    return orjson.dumps(value).decode()


def _dumps(value: Any) -> str | None:
    return None if value is None else _encode(value)


def _has_image(data: dict[str, Any]) -> bool:
    return any(key in data for key in IMAGE_KEYS)


def _images_queue(campaign: Campaign, after_id: int) -> None:
    """Queue phone-sized copies of the images of items created after `after_id` (read back in batches: the rows
    themselves were never held)."""
    with_image = Q()
    for key in IMAGE_KEYS:
        with_image |= Q(data__has_key=key)
    fresh = Item.objects.filter(with_image, campaign=campaign, id__gt=after_id).order_by("id")
    batch: list[Item] = []
    for item in fresh.iterator(chunk_size=BATCH_SIZE):
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            items_images_queue(items=batch)
            batch = []
    items_images_queue(items=batch)


class CopyStore:
    """Rows COPYed into a temporary table, checked there, and inserted as items in one statement."""

    TABLE = "import_rows"

    def __init__(self, campaign: Campaign, stack: ExitStack):
        self.campaign = campaign
        self.after_id = 0  # every item this import creates has a higher id (known once saved)
        self.rows = 0
        self.images = False
        # The COPY stays open while the importer reads the file; if reading fails, the importer's stack ends the
        # COPY with that exception (psycopg then aborts it) and the transaction rolls back.
        self._open = ExitStack()
        stack.push(self._open.__exit__)
        self.cursor = connection.cursor()
        self._open.enter_context(self.cursor)
        # The importer may run twice in one transaction (tests, the demo loader): start from an empty table.
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.TABLE}")
        self.cursor.execute(
            f"CREATE TEMPORARY TABLE {self.TABLE} (n integer, external_id text, data jsonb, language text, "
            "prelabel jsonb, prelabel_model text, prelabel_score double precision, gold jsonb) ON COMMIT DROP"
        )
        self.copy: Any = self._open.enter_context(
            self.cursor.cursor.copy(f"COPY {self.TABLE} (n, {', '.join(STAGED)}) FROM STDIN")
        )

    def add(self, number: int, row: ItemRow) -> RowError | None:
        self.rows += 1
        self.images = self.images or _has_image(row.data)
        self.copy.write_row(
            (
                number,
                row.external_id,
                _dumps(row.data),
                row.language,
                _dumps(row.prelabel),
                row.prelabel_model,
                row.prelabel_score,
                _dumps(row.gold),
            )
        )
        return None  # duplicates are found once every row is in

    def fail(self) -> None:
        pass  # the rows go on into the table: its duplicates are reported too, and the transaction rolls back

    def _end_copy(self) -> None:
        if self.copy is not None:
            self._open.close()  # ends the COPY and closes its cursor
            self.copy = None
            self.cursor = self._open.enter_context(connection.cursor())

    def duplicates(self) -> tuple[int, list[tuple[int, RowError]]]:
        """(how many rows repeat an earlier row's external id, the first of them with that row's number)."""
        self._end_copy()
        self.cursor.execute(f"SELECT count(*) - count(DISTINCT external_id) FROM {self.TABLE}")
        count = self.cursor.fetchone()[0]
        if not count:
            return 0, []
        self.cursor.execute(
            f"SELECT n, first FROM (SELECT n, min(n) OVER (PARTITION BY external_id) AS first FROM {self.TABLE}) d "
            "WHERE n > first ORDER BY n LIMIT %s",
            [MAX_DUPLICATES_REPORTED],
        )
        return count, [(n, duplicate_of(first)) for n, first in self.cursor]

    def save(self) -> tuple[int, int]:
        """Insert the staged rows as items, skipping external ids the campaign already has: (created, skipped)."""
        self._end_copy()
        # The same columns and defaults as a direct COPY's lines, the row's own fields read from the staging table.
        layout = _ItemLayout(self.campaign)
        values, params = [], []
        for name, index in layout.index.items():
            if name in STAGED:
                values.append(f"s.{name}")
            elif name == "redundancy" and layout.target is not None:
                values.append("CASE WHEN s.gold IS NULL THEN %s ELSE 0 END")
                params.append(layout.target)
            else:
                values.append("%s")
                params.append(layout.template[index])
        columns = [connection.ops.quote_name(column) for column in layout.columns]
        self.after_id = Item.objects.filter(campaign=self.campaign).aggregate(last=Max("id"))["last"] or 0
        # Known ids are left out by an anti-join, not ON CONFLICT: its speculative insertion costs half as much
        # again per row, and no other import can add items to this campaign meanwhile (the campaign row is locked).
        self.cursor.execute(
            f"INSERT INTO {Item._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {self.TABLE} s WHERE NOT EXISTS (SELECT 1 FROM {Item._meta.db_table} i "
            "WHERE i.campaign_id = %s AND i.external_id = s.external_id) ORDER BY s.n",
            [*params, self.campaign.id],
        )
        created = self.cursor.rowcount
        self.cursor.execute(f"DROP TABLE {self.TABLE}")
        if self.images and created:
            _images_queue(self.campaign, self.after_id)
        return created, self.rows - created


class DirectStore:
    """Rows COPYed straight into the items table while the file is read, so the database inserts them (indexes,
    checks) on its own core as Python reads on the other: the common case of a new campaign, or one with up to
    DIRECT_KNOWN_MAX items, whose external ids are held here to skip them. A file that repeats an external id
    breaks the unique index; everything of this store is rolled back and DirectFailed asks for the staging path."""

    def __init__(self, campaign: Campaign, stack: ExitStack, known: set[str]):
        self.campaign = campaign
        self.known = known
        self.skipped_ids: set[str] = set()
        self.rows = 0
        self.skipped = 0
        self.images = False
        self.after_id = Item.objects.filter(campaign=campaign).aggregate(last=Max("id"))["last"] or 0
        self._savepoint = transaction.savepoint()
        self._open = ExitStack()
        stack.push(self._open.__exit__)
        cursor = self._open.enter_context(connection.cursor())
        self.layout = _ItemLayout(campaign)
        names = ", ".join(connection.ops.quote_name(column) for column in self.layout.columns)
        statement = f"COPY {Item._meta.db_table} ({names}) FROM STDIN"
        self.copy: Any = self._open.enter_context(cursor.cursor.copy(statement))

    def add(self, number: int, row: ItemRow) -> RowError | None:
        self.rows += 1
        if row.external_id in self.known:
            if row.external_id in self.skipped_ids:  # a repeat the unique index will not see: let staging say so
                raise DirectFailed(self._savepoint)
            self.skipped_ids.add(row.external_id)
            self.skipped += 1
            return None
        self.images = self.images or _has_image(row.data)
        self.copy.write_row(self.layout.values(row))
        return None

    def fail(self) -> None:
        pass  # the transaction rolls back

    def duplicates(self) -> tuple[int, list[tuple[int, RowError]]]:
        if self.copy is not None:
            self.copy = None
            try:
                self._open.close()  # ends the COPY: the unique index has seen every row
            except psycopg.errors.UniqueViolation:
                raise DirectFailed(self._savepoint) from None
        return 0, []

    def save(self) -> tuple[int, int]:
        self.duplicates()
        transaction.savepoint_commit(self._savepoint)
        created = self.rows - self.skipped
        if self.images and created:
            _images_queue(self.campaign, self.after_id)
        return created, self.skipped


class _ItemLayout:
    """Every column of the items table and how a row fills it: the row's own fields, the campaign, and every other
    column at its model default (so a new field needs no change here). `values(row)` is one COPY line; it runs a
    million times an import, hence the plain index assignments."""

    def __init__(self, campaign: Campaign):
        self.columns: list[str] = []
        self.template: list[Any] = []
        self.index: dict[str, int] = {}
        for field in Item._meta.concrete_fields:
            if field.primary_key:
                continue
            self.index[field.name] = len(self.columns)
            self.columns.append(field.column)
            default = field.get_default()
            self.template.append(_dumps(default) if isinstance(default, dict | list) else default)
        self.template[self.index["campaign"]] = campaign.id
        self.template[self.index["created_at"]] = timezone.now()
        # A live campaign packs these items in this transaction: set their target now rather than rewrite every
        # row again (a draft's items get theirs at launch, from the settings then).
        self.target = campaign.redundancy if campaign.status != Campaign.Status.DRAFT else None
        (
            self.i_external_id,
            self.i_data,
            self.i_language,
            self.i_prelabel,
            self.i_prelabel_model,
            self.i_prelabel_score,
            self.i_gold,
            self.i_redundancy,
        ) = (self.index[name] for name in (*STAGED, "redundancy"))

    def values(self, row: ItemRow) -> list[Any]:
        values = self.template.copy()
        values[self.i_external_id] = row.external_id
        values[self.i_data] = _encode(row.data)
        values[self.i_language] = row.language
        values[self.i_prelabel_model] = row.prelabel_model
        values[self.i_prelabel_score] = row.prelabel_score
        if row.prelabel is not None:
            values[self.i_prelabel] = _encode(row.prelabel)
        if row.gold is not None:
            values[self.i_gold] = _encode(row.gold)
        elif self.target is not None:
            values[self.i_redundancy] = self.target
        return values


class OrmStore:
    """Rows inserted in batches as they come; duplicates found with the ids seen so far."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.after_id = 0  # not known here: the packing looks up what is unpacked
        self.rows = 0
        self.seen: dict[str, int] = {}
        self.batch: list[Item] = []
        self.created = 0
        self.skipped = 0
        self.failed = False  # once a row is bad nothing more is inserted: the import will roll back

    def add(self, number: int, row: ItemRow) -> RowError | None:
        first = self.seen.get(row.external_id)
        if first is not None:
            self.failed = True
            return duplicate_of(first)
        self.seen[row.external_id] = number
        self.rows += 1
        if not self.failed:
            self.batch.append(Item(campaign=self.campaign, **{name: getattr(row, name) for name in STAGED}))
            if len(self.batch) >= BATCH_SIZE:
                self._flush()
        return None

    def fail(self) -> None:
        self.failed = True

    def duplicates(self) -> tuple[int, list[tuple[int, RowError]]]:
        return 0, []  # reported as they came, by add()

    def _flush(self) -> None:
        if not self.batch:
            return
        ids = [item.external_id for item in self.batch]
        existing = set(
            Item.objects.filter(campaign=self.campaign, external_id__in=ids).values_list("external_id", flat=True)
        )
        fresh = [item for item in self.batch if item.external_id not in existing]
        Item.objects.bulk_create(fresh, batch_size=BATCH_SIZE)
        items_images_queue(items=fresh)
        self.created += len(fresh)
        self.skipped += len(existing)
        self.batch = []

    def save(self) -> tuple[int, int]:
        self._flush()
        return self.created, self.skipped
