"""Update many rows by primary key in few statements: COPY into a temporary table and one UPDATE … FROM on
PostgreSQL (aggregation writes up to hundreds of thousands of rows), plain executemany elsewhere.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection


def bulk_update_by_id(*, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """Set `columns` (name, PostgreSQL type) of `table` from rows of (id, value, ...). JSON values as text.

    Must run inside a transaction (the temporary table is dropped at commit).
    """
    if not rows:
        return
    names = [name for name, _ in columns]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{name} = %s" for name in names)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", [(*row[1:], row[0]) for row in rows])
            return
        scratch = f"bulk_{table}"
        definition = ", ".join(f"{name} {kind}" for name, kind in columns)
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} (id bigint PRIMARY KEY, {definition}) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {scratch} (id, {', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        assignments = ", ".join(f"{name} = s.{name}" for name in names)
        cursor.execute(f"UPDATE {table} AS t SET {assignments} FROM {scratch} AS s WHERE t.id = s.id")
        cursor.execute(f"DROP TABLE {scratch}")
