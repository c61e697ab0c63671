"""What ``teamdash check`` verifies beyond the file: the schema the models expect (tables,
columns, unique indexes, foreign keys), rows whose parent is gone, the search index,
PostgreSQL's catalog; and the row count of every table. The same checks on both
backends, so a clinic moved to PostgreSQL is checked as thoroughly as its SQLite file."""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from teamdash.storage import db, postgres, search_index
from teamdash.storage.models import ALL_MODELS


@dataclass(frozen=True)
class TableCount:
    table: str
    rows: int


def _is_postgres() -> bool:
    return isinstance(db.database.obj, pw.PostgresqlDatabase)


def schema_problems() -> list[str]:
    """Tables, columns and unique indexes the models need, and (PostgreSQL) the
    foreign key constraints, that the database lacks."""
    database = db.database
    tables = set(database.get_tables())
    problems = []
    for model in ALL_MODELS:
        table = model._meta.table_name
        if table not in tables:
            problems.append(f"table {table} is missing")
            continue
        columns = {c.name for c in database.get_columns(table)}
        problems += [
            f"column {table}.{f.column_name} is missing"
            for f in model._meta.sorted_fields
            if f.column_name not in columns
        ]
        unique = {tuple(i.columns) for i in database.get_indexes(table) if i.unique}
        for wanted in _unique_column_sets(model):
            if wanted not in unique:
                problems.append(
                    f"the unique index on {table} ({', '.join(wanted)}) is missing: duplicates can creep in"
                )
    if _is_postgres():
        present = {(fk.table, fk.column) for table in tables for fk in database.get_foreign_keys(table)}
        for model in ALL_MODELS:
            for field in model._meta.refs:
                if (model._meta.table_name, field.column_name) not in present:
                    problems.append(
                        f"the foreign key {model._meta.table_name}.{field.column_name} -> "
                        f"{field.rel_model._meta.table_name} is missing"
                    )
    return problems


def _unique_column_sets(model: type[pw.Model]) -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = [
        (f.column_name,) for f in model._meta.sorted_fields if f.unique and not f.primary_key
    ]
    for index in model._meta.indexes:
        if not isinstance(index, tuple):  # a ModelIndex over expressions (lookups, not uniqueness)
            continue
        fields, unique = index
        if unique and isinstance(fields, (tuple, list)):
            sets.append(tuple(model._meta.fields[name].column_name for name in fields))
    return sets


def orphan_problems() -> list[str]:
    """Rows pointing at a parent row that does not exist (a foreign key not enforced,
    or data written around the constraints)."""
    problems = []
    for model in ALL_MODELS:
        for field in model._meta.refs:
            parent = field.rel_model
            child_table, parent_table = model._meta.table_name, parent._meta.table_name
            count = db.database.execute_sql(
                f'SELECT COUNT(*) FROM "{child_table}" c LEFT JOIN "{parent_table}" p '
                f'ON c."{field.column_name}" = p."{field.rel_field.column_name}" '
                f'WHERE c."{field.column_name}" IS NOT NULL AND p."{field.rel_field.column_name}" IS NULL'
            ).fetchone()[0]
            if count:
                problems.append(
                    f"{count} row{'s' if count != 1 else ''} of {child_table} point at a {parent_table} "
                    f"that does not exist ({field.column_name})"
                )
    return problems


def problems() -> list[str]:
    """Everything the full check finds (empty: healthy)."""
    found = db.integrity_problems()
    if found:  # a damaged file: the rest would only repeat it
        return found
    found = schema_problems()
    if found:
        return found
    return [
        *orphan_problems(),
        *search_index.problems(db.database),
        *postgres.catalog_problems(db.database),
    ]


def row_counts() -> list[TableCount]:
    tables = set(db.database.get_tables())
    return [TableCount(m._meta.table_name, m.select().count()) for m in ALL_MODELS if m._meta.table_name in tables]
