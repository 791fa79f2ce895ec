"""Model instances from hand-written SQL, for the few reads on every request for work.

`Model.objects.raw()` resolves its columns against the model on every call (descriptions, converters, init
order); on this hardware that costs 3-4x the query itself. Here each model's column list and converters are
worked out once, rows come from a plain cursor, and `Model.from_db` builds complete instances (every
concrete field, in order, so nothing is deferred and nothing is silently missing).
"""

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


@lru_cache(maxsize=1024)
def _layout(
    model: type[Model], alias: str, connection: BaseDatabaseWrapper
) -> tuple[str, tuple[tuple[int, Any, Converter], ...]]:
    """`alias.col1, alias.col2, …` for the model's concrete fields, and the converters their values need. Per
    connection object (one per thread): some backends' converters read their own connection's settings."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{quote(field.column)}" for field in fields)
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(alias)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            converters.append((index, column, convert))
    return columns, tuple(converters)


def columns(model: type[Model], alias: str) -> str:
    """The select list for `model` read through table alias `alias`; pair with `instance()`."""
    return _layout(model, alias, connections[DEFAULT_DB_ALIAS])[0]


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def instance(model: type[M], alias: str, values: Sequence[Any]) -> M:
    """A model instance from a row's values for `columns(model, alias)`, converted as the ORM would."""
    connection = connections[DEFAULT_DB_ALIAS]
    row = list(values)
    for index, column, convert in _layout(model, alias, connection)[1]:
        row[index] = convert(row[index], column, connection)
    return model.from_db(connection.alias, None, row)


def fetch(model: type[M], sql: str, params: Any, alias: str = "t") -> list[M]:
    """Run `sql` with `{columns}` standing for the model's select list under `alias`; one instance per row."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql.format(columns=columns(model, alias)), params)
        rows = cursor.fetchall()
    return [instance(model, alias, row) for row in rows]
