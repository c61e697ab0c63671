"""What only PostgreSQL has: change notifications between workstations, sequences,
catalog checks.

Every audit event that records a change (not a view, a sign-in or an export) is
announced: a trigger on ``audit_event`` sends ``NOTIFY teamdash_changes`` with the event id and patient id when the writing transaction
commits. Each workstation listens on a connection of its own (``ChangeFeed``) and
refreshes what changed, ignoring its own writes; SQLite workstations poll the audit
counter instead (``teamdash.services.changes``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
from collections.abc import Iterable
from dataclasses import dataclass

import peewee as pw

from teamdash.errors import ConnectionLost, DatabaseUnavailable
from teamdash.storage import db

log = logging.getLogger(__name__)

CHANNEL = "teamdash_changes"

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION teamdash_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', json_build_object('event', NEW.id, 'patient', NEW.patient_id)::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER audit_event_notify AFTER INSERT ON audit_event
FOR EACH ROW WHEN (NEW.is_change) EXECUTE FUNCTION teamdash_notify_change()
"""


def _is_postgres(database: pw.Database | pw.DatabaseProxy) -> bool:
    handle = database.obj if isinstance(database, pw.DatabaseProxy) else database
    return isinstance(handle, pw.PostgresqlDatabase)


def create_change_notifications(database: pw.Database | pw.DatabaseProxy) -> None:
    """The trigger that tells listening workstations about every committed change."""
    if not _is_postgres(database):
        return
    database.execute_sql(_NOTIFY_FUNCTION)
    database.execute_sql("DROP TRIGGER IF EXISTS audit_event_notify ON audit_event")
    database.execute_sql(_NOTIFY_TRIGGER)


def widen_float_columns(database: pw.Database | pw.DatabaseProxy, models: Iterable[type[pw.Model]]) -> int:
    """Databases created before floats were double precision: REAL (6 digits) columns
    become DOUBLE PRECISION. Returns how many columns changed."""
    if not _is_postgres(database):
        return 0
    changed = 0
    for model in models:
        table = model._meta.table_name
        for field in model._meta.sorted_fields:
            if not isinstance(field, pw.FloatField) or isinstance(field, pw.DoubleField):
                continue
            row = database.execute_sql(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
                (table, field.column_name),
            ).fetchone()
            if row and row[0] == "real":
                database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{field.column_name}" TYPE DOUBLE PRECISION')
                changed += 1
    return changed


def reset_sequences(database: pw.Database | pw.DatabaseProxy, models: Iterable[type[pw.Model]]) -> None:
    """After rows were copied in with their ids, each table's id sequence continues
    after the highest id (the next patient gets max + 1, not 1)."""
    if not _is_postgres(database):
        return
    for model in models:
        pk = model._meta.primary_key
        if not isinstance(pk, pw.AutoField):
            continue
        table, column = model._meta.table_name, pk.column_name
        database.execute_sql(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) '
            f'FROM "{table}"',
            (table, column),
        )


def catalog_problems(database: pw.Database | pw.DatabaseProxy) -> list[str]:
    """What PostgreSQL's catalog says is wrong: constraints not validated, indexes left
    invalid by an interrupted build, the change trigger missing."""
    if not _is_postgres(database):
        return []
    problems = [
        f"constraint {name} on {table} is not validated"
        for name, table in database.execute_sql(
            "SELECT c.conname, t.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT c.convalidated"
        ).fetchall()
    ]
    problems += [
        f"index {name} is invalid (an interrupted build); it must be rebuilt (REINDEX INDEX {name})"
        for (name,) in database.execute_sql(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_namespace n ON n.oid = i.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT (x.indisvalid AND x.indisready)"
        ).fetchall()
    ]
    trigger = database.execute_sql(
        "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_event_notify' AND NOT tgisinternal"
    ).fetchone()
    if trigger is None:
        problems.append("the change notification trigger is missing: other workstations will not see changes")
    return problems


# --- listening ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeNote:
    event_id: int
    patient_id: int | None


class ChangeFeed:
    """Notifications of other workstations' committed changes, on a connection of its
    own. ``fileno()`` becomes readable when something arrived (a GUI watches it with a
    socket notifier; nothing blocks); ``drain()`` returns what arrived, without this
    process's own writes. A broken connection raises ``ConnectionLost``; open a new feed
    once the server answers again."""

    def __init__(self, handle: pw.PostgresqlDatabase):
        import psycopg2

        self._own: set[int] = getattr(handle, "backend_pids", set())
        params = dict(handle.connect_params)
        params.pop("application_name", None)
        try:
            self._conn = psycopg2.connect(dbname=handle.database, application_name="TeamDash (changes)", **params)
            self._conn.autocommit = True
            with self._conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        except psycopg2.Error as exc:
            raise ConnectionLost(
                f"cannot listen for other workstations' changes: {' '.join(str(exc).split())}"
            ) from exc

    def fileno(self) -> int:
        descriptor: int = self._conn.fileno()
        return descriptor

    def drain(self) -> list[ChangeNote]:
        import psycopg2

        try:
            self._conn.poll()
        except psycopg2.Error as exc:
            raise ConnectionLost(
                f"lost the connection that brings other workstations' changes: {' '.join(str(exc).split())}"
            ) from exc
        if self._conn.closed:
            raise ConnectionLost("lost the connection that brings other workstations' changes")
        notes = []
        while self._conn.notifies:
            notify = self._conn.notifies.pop(0)
            if notify.pid in self._own:
                continue
            try:
                data = json.loads(notify.payload)
                notes.append(ChangeNote(int(data["event"]), data.get("patient")))
            except (ValueError, KeyError, TypeError):
                log.warning("ignored a malformed change notification")
        return notes

    def wait(self, timeout: float) -> list[ChangeNote]:
        """Block up to ``timeout`` seconds for notifications (for scripts and tests)."""
        notes = self.drain()
        if notes:
            return notes
        readable, _, _ = select.select([self._conn], [], [], timeout)
        return self.drain() if readable else []

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def open_feed() -> ChangeFeed | None:
    """A feed for the open database; None on SQLite (it is polled)."""
    handle = db.database.obj
    if not isinstance(handle, pw.PostgresqlDatabase):
        return None
    if not db.is_open():
        raise DatabaseUnavailable("no database is open")
    return ChangeFeed(handle)
