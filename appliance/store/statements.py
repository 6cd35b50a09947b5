"""SQL text made once from the models, for the statements run for every message.

peewee builds a query's SQL anew each time it runs one; on the sending path that cost
more than SQLite's own work (bench/RESULTS.md). These texts are built from the models the
first time they are needed and then kept, and sqlite3 keeps each text's prepared
statement per connection.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import peewee


@functools.cache
def insert(model: type[peewee.Model]) -> tuple[str, tuple[peewee.Field, ...]]:
    """INSERT of every column of ``model``, in the model's order."""
    fields = tuple(model._meta.sorted_fields)
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    marks = ", ".join("?" for _ in fields)
    return f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})', fields


# values sqlite3 stores as they are, and which the fields of our models would hand on
# unchanged: converting them through peewee cost more than the INSERT itself
_PLAIN = frozenset({str, int, float, type(None)})
_MISSING = object()


def insert_values(fields: tuple[peewee.Field, ...], rows: Iterable[dict[str, Any]]) -> list[tuple]:
    """Each row's values for :func:`insert`'s statement: given, or the model's default,
    as the database stores them."""
    def value(field: peewee.Field, row: dict[str, Any]) -> Any:
        given = row.get(field.name, _MISSING)
        if given is _MISSING:
            given = field.default() if callable(field.default) else field.default
        return given if type(given) in _PLAIN else field.db_value(given)
    return [tuple(value(field, row) for field in fields) for row in rows]


@functools.lru_cache(maxsize=64)
def update(model: type[peewee.Model], names: tuple[str, ...],
           where: tuple[str, ...]) -> tuple[str, tuple[peewee.Field, ...]]:
    """UPDATE of the fields ``names`` of the rows whose fields ``where`` equal the values
    given after them; the fields, to convert the new values with."""
    fields = tuple(model._meta.fields[name] for name in names)
    sets = ", ".join(f'"{field.column_name}" = ?' for field in fields)
    conditions = " AND ".join(f'"{model._meta.fields[name].column_name}" = ?' for name in where)
    return f'UPDATE "{model._meta.table_name}" SET {sets} WHERE {conditions}', fields
