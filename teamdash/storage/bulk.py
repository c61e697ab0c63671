"""Many rows written with prepared statements: the bulk paths (an import, the demo, the
patient-list summaries, the audit trail's events of an import). Peewee builds the SQL
of every insert again, and for hundreds of rows that costs more than running it."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import peewee as pw

from teamdash.storage import db
from teamdash.storage.db import database
from teamdash.storage.models import EncodedJSON, JSONText


def insert(
    model: type[pw.Model], fields: Sequence[pw.Field], rows: Iterable[tuple[Any, ...]], *, batch: int = 5000
) -> int:
    """Insert many rows (tuples in ``fields`` order) with one prepared statement
    (``executemany``): the demo and import path. Columns left out get their model
    default. The caller holds the transaction (and audits)."""
    names = {f.name for f in fields}
    defaults = [
        (f, f.default() if callable(f.default) else f.default)
        for f in model._meta.sorted_fields
        if f.name not in names and not f.primary_key and f.default is not None
    ]
    columns = [*fields, *(f for f, _ in defaults)]
    constant = tuple(f.db_value(v) for f, v in defaults)
    sql = 'INSERT INTO "{}" ({}) VALUES ({})'.format(
        model._meta.table_name,
        ", ".join(f'"{f.column_name}"' for f in columns),
        ", ".join([database.param] * len(columns)),
    )
    # Numbers, text, booleans, dates and ids go to the driver as they are; only JSON
    # columns need converting (a per-value db_value call doubles the time of the load),
    # and not even those when the caller encoded them already (``EncodedJSON``).
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, JSONText)]
    cursor = database.cursor()
    with db.translated():  # the driver's executemany bypasses peewee's error mapping
        return _insert_chunks(cursor, sql, rows, fields, json_columns, constant, batch)


def _insert_chunks(
    cursor: Any,
    sql: str,
    rows: Iterable[tuple[Any, ...]],
    fields: Sequence[pw.Field],
    json_columns: list[int],
    constant: tuple[Any, ...],
    batch: int,
) -> int:
    count, chunk = 0, []
    for row in rows:
        for i in json_columns:
            if type(row[i]) is not EncodedJSON and row[i] is not None:
                values = list(row)
                values[i] = fields[i].db_value(values[i])
                row = tuple(values)
        chunk.append(tuple(row) + constant)
        if len(chunk) == batch:
            cursor.executemany(sql, chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        cursor.executemany(sql, chunk)
        count += len(chunk)
    return count


UPSERT_BATCH = 200  # rows per statement: within every backend's limit on parameters


def upsert(model: type[pw.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that carry every column of ``model``, each replacing the row with
    the same primary key if there is one (``ON CONFLICT … DO UPDATE``, which both
    backends run), ``UPSERT_BATCH`` rows to a statement."""
    columns = _key_first(model)
    cursor = database.cursor()
    with db.translated():
        for start in range(0, len(rows), UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            cursor.execute(
                _upsert_sql(model, database.param, len(batch)),
                [f.db_value(row[f.name]) for row in batch for f in columns],
            )


def _key_first(model: type[pw.Model]) -> list[pw.Field]:
    key = model._meta.primary_key
    return [key, *(f for f in model._meta.sorted_fields if f is not key)]


@functools.cache
def _upsert_sql(model: type[pw.Model], param: str, count: int) -> str:
    """An INSERT of ``count`` rows replacing those with the same key (``param``: the
    backend's placeholder)."""
    names = [f'"{f.column_name}"' for f in _key_first(model)]
    row = f"({', '.join([param] * len(names))})"
    return (
        f'INSERT INTO "{model._meta.table_name}" ({", ".join(names)}) VALUES {", ".join([row] * count)} '
        f"ON CONFLICT ({names[0]}) DO UPDATE SET {', '.join(f'{n} = EXCLUDED.{n}' for n in names[1:])}"
    )
