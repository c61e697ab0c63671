"""The patient search index: one keystroke stays fast as a clinic grows.

Search matches every folded word anywhere in ``patient.search_key`` (names and clinic
ID, folded by ``teamdash.text.fold``). A plain ``LIKE '%word%'`` reads every patient;
with an index of the key's trigrams (three-letter pieces) only the patients holding all
of the word's trigrams are read:

- PostgreSQL: a GIN index with ``gin_trgm_ops`` (extension pg_trgm) serves the same
  ``ILIKE`` the list query already runs.
- SQLite: an FTS5 table with the trigram tokenizer over the key (external content: it
  stores only the index), kept in step by triggers, so every path that writes a patient
  (services, demo, import, undo, transfer) keeps it current without knowing about it.

Words shorter than three letters have no trigram: they are matched by the plain scan
(they match a large share of any clinic anyway). The index is created by migration v9 and
with every new database; a server without pg_trgm or an SQLite without the trigram
tokenizer (before 3.34) searches without it and ``teamdash check`` says so.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import peewee as pw

log = logging.getLogger(__name__)

FTS_TABLE = "patient_search"
TRGM_INDEX = "patient_search_key_trgm"
MIN_INDEXED = 3  # letters: the shortest word the trigram index can find
_LIKE_SPECIAL = ("%", "_", "\\")  # the FTS5 index cannot honour LIKE's ESCAPE

_SQLITE_OBJECTS = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "search_key, content='patient', content_rowid='id', tokenize='trigram')",
    f"""CREATE TRIGGER IF NOT EXISTS patient_search_insert AFTER INSERT ON patient BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_key) VALUES (new.id, new.search_key);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS patient_search_delete AFTER DELETE ON patient BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS patient_search_update AFTER UPDATE OF search_key ON patient BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_key) VALUES ('delete', old.id, old.search_key);
        INSERT INTO {FTS_TABLE}(rowid, search_key) VALUES (new.id, new.search_key);
    END""",
)


def _handle(database: pw.Database | pw.DatabaseProxy) -> pw.Database:
    return database.obj if isinstance(database, pw.DatabaseProxy) else database


def _is_postgres(database: pw.Database | pw.DatabaseProxy) -> bool:
    return isinstance(_handle(database), pw.PostgresqlDatabase)


def create(database: pw.Database | pw.DatabaseProxy) -> bool:
    """Build the index for the patients already there (inside the caller's transaction).
    Returns False when this server or SQLite cannot have one (searches still work)."""
    forget(database)
    if _is_postgres(database):
        try:
            with database.atomic():  # a savepoint: a refused extension leaves the migration going
                database.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - any refusal means the same: no trigram index
            log.warning("pg_trgm is not available (%s); patient search runs without its index", exc)
            return False
        database.execute_sql(f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON patient USING gin (search_key gin_trgm_ops)")
        return True
    try:
        with database.atomic():
            for statement in _SQLITE_OBJECTS:
                database.execute_sql(statement)
            database.execute_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    except Exception as exc:  # noqa: BLE001 - an SQLite without FTS5 or its trigram tokenizer
        log.warning("this SQLite has no FTS5 trigram tokenizer (%s); patient search runs without its index", exc)
        return False
    return True


def present(database: pw.Database | pw.DatabaseProxy) -> bool:
    """Whether the open database has the index."""
    if _is_postgres(database):
        row = database.execute_sql("SELECT 1 FROM pg_indexes WHERE indexname = %s", (TRGM_INDEX,)).fetchone()
        return row is not None
    row = database.execute_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (FTS_TABLE,)).fetchone()
    return row is not None


_present: weakref.WeakKeyDictionary[pw.Database, bool] = weakref.WeakKeyDictionary()


def _cached_present(database: pw.Database | pw.DatabaseProxy) -> bool:
    handle = _handle(database)
    if handle not in _present:
        _present[handle] = present(handle)
    return _present[handle]


def indexable(word: str) -> bool:
    return len(word) >= MIN_INDEXED and not any(ch in word for ch in _LIKE_SPECIAL)


def matching_ids(
    database: pw.Database | pw.DatabaseProxy, id_column: pw.Field[Any], words: list[str]
) -> tuple[pw.ColumnBase | None, list[str]]:
    """A condition on ``id_column`` that the index answers for the words it can, and the
    words left for the plain scan.

    PostgreSQL: ``search_key LIKE '%word%'`` for every word, which the GIN index serves
    (the planner still scans when most patients match). The key is folded to lower case
    already, so LIKE, three times cheaper per row than the ILIKE of a plain ``contains``,
    finds the same patients."""
    if _is_postgres(database):
        key = id_column.model.search_key
        condition = None
        for word in words:
            term = pw.Expression(key, pw.OP.LIKE, key._escape_like_expr(word, "%%%s%%"))
            condition = term if condition is None else condition & term
        return condition, []
    if not _cached_present(database):
        return None, words
    indexed = [w for w in words if indexable(w)]
    if not indexed:
        return None, words
    where = " AND ".join(["search_key LIKE ?"] * len(indexed))
    subquery = pw.SQL(f"(SELECT rowid FROM {FTS_TABLE} WHERE {where})", [f"%{w}%" for w in indexed])
    return id_column.in_(subquery), [w for w in words if not indexable(w)]


def forget(database: pw.Database | pw.DatabaseProxy) -> None:
    """Forget what is known about a database handle (its index was just created)."""
    _present.pop(_handle(database), None)


def problems(database: pw.Database | pw.DatabaseProxy) -> list[str]:
    """What is wrong with the index: missing, or out of step with the patients."""
    if not present(database):
        return [
            "the patient search index is missing (pg_trgm or the FTS5 trigram tokenizer is not available): "
            "searches read every patient"
        ]
    if _is_postgres(database) or getattr(_handle(database), "read_only", False):
        return []  # FTS5 runs its check as a write command: a read-only file cannot take it
    try:
        database.execute_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
    except Exception as exc:  # noqa: BLE001 - the check reports what SQLite says
        return [f"the patient search index is out of step with the patients ({exc})"]
    return []
