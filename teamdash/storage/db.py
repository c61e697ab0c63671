"""The database handle: one Peewee proxy, opened from a URL, migrated on open.

``sqlite:///path`` is the embedded default (one file in the user's data directory);
``postgresql://user@host/db`` serves clinics that share data between workstations.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee

from teamdash import paths
from teamdash.errors import DatabaseUnavailable, ValidationError

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

ENV_URL = "TEAMDASH_DATABASE_URL"

# WAL lets the GUI read while a worker writes; synchronous=normal in WAL mode loses
# nothing committed when the process is killed; busy_timeout rides out short locks.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
    "cache_size": -32000,
}


@dataclass(frozen=True)
class DatabaseInfo:
    url: str
    backend: str  # "sqlite" | "postgresql"
    path: Path | None  # the SQLite file, None for PostgreSQL or :memory:

    @property
    def display(self) -> str:
        if self.path is not None:
            return str(self.path)
        parsed = urlparse(self.url)
        # Never show a password in the status bar or logs.
        host = parsed.hostname or "localhost"
        return f"{self.backend}://{parsed.username + '@' if parsed.username else ''}{host}{parsed.path}"


_info: DatabaseInfo | None = None


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{paths.default_database_file()}"


def info() -> DatabaseInfo:
    if _info is None:
        raise DatabaseUnavailable("no database is open")
    return _info


def parse_url(url: str) -> DatabaseInfo:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # SQLAlchemy/Peewee convention: sqlite:///relative.db, sqlite:////absolute/path.db
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            raise ValidationError("sqlite URL needs a file path, e.g. sqlite:///clinic.sqlite3", field="database URL")
        raw = unquote(url[len("sqlite:///") :])
        if raw == ":memory:":
            return DatabaseInfo(url, "sqlite", None)
        return DatabaseInfo(url, "sqlite", Path(raw).expanduser().absolute())
    if parsed.scheme in ("postgresql", "postgres"):
        if not parsed.path.strip("/"):
            raise ValidationError("postgresql URL needs a database name", field="database URL")
        return DatabaseInfo(url, "postgresql", None)
    raise ValidationError(
        f"unsupported database URL {url!r}: use sqlite:///path or postgresql://user@host/db",
        field="database URL",
    )


def _open_sqlite(target: DatabaseInfo) -> peewee.SqliteDatabase:
    name = ":memory:" if target.path is None else str(target.path)
    if target.path is not None:
        try:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create the folder for {target.path}: {exc.strerror}") from exc
    db = peewee.SqliteDatabase(name, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except peewee.DatabaseError as exc:
        db.close()
        raise DatabaseUnavailable(f"{name} is not a usable SQLite database ({exc})") from exc
    return db


def _open_postgresql(target: DatabaseInfo) -> peewee.Database:
    try:
        import psycopg2  # noqa: F401
    except ImportError as exc:
        raise DatabaseUnavailable("PostgreSQL support is not installed: pip install 'teamdash[postgres]'") from exc
    parsed = urlparse(target.url)
    db = peewee.PostgresqlDatabase(
        parsed.path.lstrip("/"),
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname,
        port=parsed.port,
    )
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot connect to {DatabaseInfo(target.url, 'postgresql', None).display}: {exc}"
        ) from exc
    return db


def connect(url: str | None = None, *, migrate: bool = True) -> DatabaseInfo:
    """Open the database at ``url`` (default: the user's embedded SQLite file),
    bind the models to it and bring its schema up to date."""
    global _info
    target = parse_url(url or default_url())
    close()
    db = _open_sqlite(target) if target.backend == "sqlite" else _open_postgresql(target)
    database.initialize(db)
    _info = target
    if migrate:
        from teamdash.storage import migrations

        try:
            migrations.migrate()
        except Exception:
            close()
            raise
    log.info("opened %s database", target.backend)
    return target


def close() -> None:
    global _info
    if database.obj is not None and not database.is_closed():
        database.close()
    _info = None


def backup(dest: Path) -> Path:
    """An online, consistent copy of the open database (never a file copy of a live
    SQLite file). PostgreSQL backups use pg_dump's custom format."""
    dest = Path(dest)
    target = info()
    if dest.exists():
        raise ValidationError(f"{dest} already exists; choose a new file name", field="out")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if target.backend == "sqlite":
        with sqlite3.connect(dest) as copy:
            database.connection().backup(copy)
        copy.close()
        return dest
    try:
        subprocess.run(["pg_dump", "--format=custom", f"--file={dest}", target.url], check=True, capture_output=True)
    except FileNotFoundError as exc:
        raise DatabaseUnavailable("pg_dump is not installed; it is needed to back up PostgreSQL") from exc
    except subprocess.CalledProcessError as exc:
        raise DatabaseUnavailable(f"pg_dump failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    return dest


def integrity_problems() -> list[str]:
    """Problems the database itself reports; an empty list means healthy."""
    if info().backend != "sqlite":
        return []
    problems = [row[0] for row in database.execute_sql("PRAGMA integrity_check").fetchall() if row[0] != "ok"]
    problems += [
        f"foreign key violation in {table} row {rowid} -> {parent}"
        for table, rowid, parent, _ in database.execute_sql("PRAGMA foreign_key_check").fetchall()
    ]
    return problems
