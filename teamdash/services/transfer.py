"""Moving a whole clinic between databases: SQLite to PostgreSQL when a clinic starts
sharing its data between workstations, and back (``teamdash transfer``).

Every table is copied row for row with its ids: the audit trail keeps its order, the
de-identification key its pseudonymous codes, the schema history its dates. The source
is read in one consistent snapshot; the target is written in one transaction and must be
empty (a new SQLite file, or a PostgreSQL database with no clinic in it). Before that
transaction commits, every table's rows are counted and checksummed on both sides; one
difference and nothing is written. PostgreSQL's id sequences continue after the copied
ids.

The checksum reads each value as the application does (dates as dates, booleans as
booleans, JSON as its text), so the same clinic gives the same checksum on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from teamdash.errors import Cancelled, TeamDashError, ValidationError
from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, postgres, queries
from teamdash.storage.db import DatabaseInfo
from teamdash.storage.models import ALL_MODELS, Discipline, JSONText, SchemaVersion

log = logging.getLogger(__name__)

BATCH = 5000
# Rows that a new, empty clinic already holds (written when the schema is created).
SEEDED = (SchemaVersion, Discipline)


@dataclass(frozen=True)
class TableTransfer:
    table: str
    rows: int
    target_rows: int
    checksum: str  # of the source's rows
    target_checksum: str

    @property
    def matches(self) -> bool:
        return self.rows == self.target_rows and self.checksum == self.target_checksum


@dataclass(frozen=True)
class TransferReport:
    source: str
    target: str
    tables: tuple[TableTransfer, ...]
    event_id: int

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class TransferMismatch(TeamDashError):
    """The copy differs from its source; nothing was written."""


def _models() -> list[type[pw.Model]]:
    """Every table, parents before children (a row's foreign keys find their row)."""
    ordered: list[type[pw.Model]] = []

    def visit(model: type[pw.Model]) -> None:
        if model in ordered:
            return
        for field in model._meta.refs:
            parent = field.rel_model
            if parent is not model and parent in ALL_MODELS:
                visit(parent)
        ordered.append(model)

    for model in ALL_MODELS:
        visit(model)
    return ordered


# --- reading values the same way on both backends -----------------------------------------------


def _normaliser(field: pw.Field) -> Callable[[Any], Any] | None:
    """How a stored value is compared: what the application reads, in plain JSON."""
    if isinstance(field, JSONText):
        return None  # its text, exactly as stored (copied as text)
    if isinstance(field, pw.BooleanField):
        return bool
    if isinstance(field, pw.DateTimeField):
        return lambda v: _as_datetime(field, v).isoformat(" ")
    if isinstance(field, pw.DateField):
        return lambda v: _as_date(field, v).isoformat()
    if isinstance(field, pw.FloatField):
        return float
    return None


def _as_datetime(field: pw.Field, value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    parsed = field.python_value(value)
    if not isinstance(parsed, dt.datetime):
        raise ValidationError(f"{field.model._meta.table_name}.{field.column_name}: {value!r} is not a date and time")
    return parsed


def _as_date(field: pw.Field, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    parsed = field.python_value(value)
    if isinstance(parsed, dt.datetime):
        return parsed.date()
    if not isinstance(parsed, dt.date):
        raise ValidationError(f"{field.model._meta.table_name}.{field.column_name}: {value!r} is not a date")
    return parsed


class _Checksum:
    def __init__(self, fields: list[pw.Field]):
        self.normalisers = [_normaliser(f) for f in fields]
        self.digest = hashlib.sha256()
        self.rows = 0

    def add(self, row: tuple) -> None:
        values = [v if (norm is None or v is None) else norm(v) for norm, v in zip(self.normalisers, row)]
        self.digest.update(json.dumps(values, separators=(",", ":"), default=str).encode())
        self.digest.update(b"\n")
        self.rows += 1

    def hexdigest(self) -> str:
        return self.digest.hexdigest()[:16]


# --- the copy -------------------------------------------------------------------------------------


def _converter(field: pw.Field, target_backend: str) -> Callable[[Any], Any] | None:
    """What a value needs to be written into the other backend (most go as they are)."""
    if target_backend == "postgresql" and isinstance(field, pw.BooleanField):
        return bool  # SQLite's 0/1
    if target_backend == "sqlite" and isinstance(field, pw.DateTimeField):
        return lambda v: v.isoformat(" ") if isinstance(v, dt.datetime) else v
    if target_backend == "sqlite" and isinstance(field, pw.DateField):
        return lambda v: v.isoformat() if isinstance(v, dt.date) else v
    return None


def _select_sql(model: type[pw.Model], quote: str) -> str:
    columns = ", ".join(f"{quote}{f.column_name}{quote}" for f in model._meta.sorted_fields)
    pk = model._meta.primary_key
    assert isinstance(pk, pw.Field), f"{model._meta.table_name} has no single-column primary key"
    return f"SELECT {columns} FROM {quote}{model._meta.table_name}{quote} ORDER BY {quote}{pk.column_name}{quote}"


def _ordered(model: type[pw.Model], rows: Iterator[tuple]) -> Iterator[tuple]:
    """Rows in primary key order. Integer keys are ordered by the database; text keys
    (discipline codes) in Python, where no collation differs between servers."""
    key = model._meta.primary_key
    if isinstance(key, (pw.AutoField, pw.IntegerField, pw.ForeignKeyField)):
        yield from rows
        return
    index = model._meta.sorted_fields.index(key)
    yield from sorted(rows, key=lambda r: str(r[index]))


class _Source:
    """The source database read in one consistent snapshot, on a connection of its own."""

    def __init__(self, url: str):
        self.handle, self.info = db.open_handle(url)
        self.conn = self.handle.connection()
        if self.info.backend == "postgresql":
            self.conn.autocommit = False
            self.conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        else:
            self.conn.execute("BEGIN")  # WAL: a snapshot that writers do not disturb
        self._cursors = 0

    def count(self, model: type[pw.Model]) -> int:
        cursor = self.conn.cursor()
        cursor.execute(f'SELECT COUNT(*) FROM "{model._meta.table_name}"')
        return cursor.fetchone()[0]

    def rows(self, model: type[pw.Model]) -> Iterator[tuple]:
        if self.info.backend == "postgresql":
            self._cursors += 1
            cursor = self.conn.cursor(name=f"teamdash_transfer_{self._cursors}")  # streams from the server
            cursor.itersize = BATCH
        else:
            cursor = self.conn.cursor()
        cursor.execute(_select_sql(model, '"'))
        while True:
            chunk = cursor.fetchmany(BATCH)
            if not chunk:
                break
            yield from chunk
        cursor.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()
        with contextlib.suppress(Exception):
            self.handle.close()


def _insert(target: DatabaseInfo, model: type[pw.Model], rows: list[tuple]) -> None:
    fields = model._meta.sorted_fields
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    table = model._meta.table_name
    cursor = db.database.cursor()
    with db.translated():
        if target.backend == "postgresql":
            from psycopg2.extras import execute_values

            execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s', rows, page_size=1000)
        else:
            marks = ", ".join(["?"] * len(fields))
            cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', rows)


def _target_checksum(model: type[pw.Model]) -> _Checksum:
    checksum = _Checksum(model._meta.sorted_fields)
    cursor = db.database.execute_sql(_select_sql(model, '"'))

    def rows() -> Iterator[tuple]:
        while chunk := cursor.fetchmany(BATCH):
            yield from chunk

    for row in _ordered(model, rows()):
        checksum.add(row)
    return checksum


def _refuse_non_empty(target: DatabaseInfo) -> None:
    held = [(m._meta.table_name, m.select().count()) for m in _models() if m not in SEEDED]
    held = [(table, n) for table, n in held if n]
    if held:
        what = ", ".join(f"{n:,} {table.replace('_', ' ')} rows" for table, n in held[:3])
        raise ValidationError(
            f"the target database {target.display} already holds a clinic ({what}); transfer copies into an "
            "empty database only (a new SQLite file, or a new PostgreSQL database), and changed nothing",
            field="--to",
        )


def transfer(
    actor: Actor,
    source_url: str,
    target_url: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TransferReport:
    """Copy the clinic at ``source_url`` into the empty database at ``target_url``."""
    auth.require(actor, "backup")
    auth.require(actor, "import")
    source_info, target_info = db.parse_url(source_url), db.parse_url(target_url)
    if _same_database(source_info, target_info):
        raise ValidationError("--from and --to name the same database", field="--to")
    # The source at the latest schema first (an older SQLite file is backed up, then upgraded).
    open_clinic(source_url)
    db.close()
    new_file = target_info.path is not None and not target_info.path.exists()
    source = _Source(source_url)
    try:
        target_info = open_clinic(target_url, create=True)
        auth.require(actor, "import")  # the target may be read-only
        report = _copy(actor, source, target_info, progress, cancelled)
    except BaseException:
        db.close()
        if new_file and target_info.path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target_info.path}{suffix}").unlink(missing_ok=True)
        raise
    finally:
        source.close()
    log.info("transferred a clinic: %s tables, %s rows", len(report.tables), report.rows)
    return report


def _same_database(a: DatabaseInfo, b: DatabaseInfo) -> bool:
    if a.path is not None or b.path is not None:
        return a.path is not None and b.path is not None and a.path.resolve() == b.path.resolve()
    return a.display == b.display


def _copy(
    actor: Actor,
    source: _Source,
    target: DatabaseInfo,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> TransferReport:
    models = _models()
    counts = {m: source.count(m) for m in models}
    total, done = sum(counts.values()), 0
    results = []
    with db.database.atomic():
        _refuse_non_empty(target)
        for seeded in SEEDED:
            queries.delete_where(seeded)
        if target.backend == "postgresql":  # one notification for the whole clinic, not one per event
            db.database.execute_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_notify")
        for model in models:
            fields = model._meta.sorted_fields
            convert = [_converter(f, target.backend) for f in fields]
            checksum = _Checksum(fields)
            batch: list[tuple] = []
            for row in _ordered(model, source.rows(model)):
                checksum.add(row)
                batch.append(tuple(v if (c is None or v is None) else c(v) for c, v in zip(convert, row)))
                if len(batch) >= BATCH:
                    _insert(target, model, batch)
                    done += len(batch)
                    batch = []
                    if cancelled is not None and cancelled():
                        raise Cancelled("transfer cancelled; nothing was written to the target")
                    if progress:
                        progress(done, total)
            if batch:
                _insert(target, model, batch)
                done += len(batch)
            copied = _target_checksum(model)
            results.append(
                TableTransfer(
                    model._meta.table_name, checksum.rows, copied.rows, checksum.hexdigest(), copied.hexdigest()
                )
            )
            if progress:
                progress(done, total)
        if target.backend == "postgresql":
            db.database.execute_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_notify")
        postgres.reset_sequences(db.database, models)
        different = [t for t in results if not t.matches]
        if different:
            raise TransferMismatch(
                "the copy differs from its source in "
                + ", ".join(
                    f"{t.table} ({t.rows} rows, {t.checksum} vs {t.target_rows} rows, {t.target_checksum})"
                    for t in different
                )
                + "; nothing was written"
            )
        event_id = audit.record(
            actor,
            "clinic.transfer",
            details={
                "from": source.info.display,
                "tables": len(results),
                "rows": sum(t.rows for t in results),
                "checksums": {t.table: t.checksum for t in results},
            },
        )
    return TransferReport(source.info.display, target.display, tuple(results), event_id)
