"""The database handle: one Peewee proxy, opened from a URL.

``sqlite:///path`` is the embedded default (one file in the user's data directory);
``postgresql://user@host/db`` serves clinics that share data between workstations.
A SQLite file may be encrypted with SQLCipher (chosen when it is created, opened with
its passphrase: ``passphrase=`` or ``$TEAMDASH_DB_PASSPHRASE``, never a command-line
argument); a wrong passphrase is reported at once, not at the first query.

Opening never creates a database unless asked (a mistyped path must not leave an empty
file behind), opens a file it may not write read-only, and turns the driver's faults
(read-only, locked, damaged, full, unreachable) into errors that say what happened
(after qutebrowser's typed SQL errors). Schema and reference data are the services'
job: ``teamdash.services.clinic.open_clinic``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import quote, unquote, urlparse

import peewee

from teamdash import files, paths
from teamdash.errors import (
    Conflict,
    ConnectionLost,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseUnavailable,
    NoDatabase,
    ReadOnlyDatabase,
    TeamDashError,
    ValidationError,
    WrongPassphrase,
)

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

# A DB-API cursor: sqlite3's, SQLCipher's or psycopg2's (peewee's execute_sql is untyped).
Cursor: TypeAlias = Any
# A DB-API connection of one of those drivers.
Connection: TypeAlias = Any

ENV_URL = "TEAMDASH_DATABASE_URL"
ENV_PASSPHRASE = "TEAMDASH_DB_PASSPHRASE"
MIN_PASSPHRASE = 12

# How long a writer waits for another workstation's or program's write to finish
# (TEAMDASH_BUSY_TIMEOUT_MS changes it, e.g. on a slow network share).
BUSY_TIMEOUT_MS = 10_000
ENV_BUSY_TIMEOUT = "TEAMDASH_BUSY_TIMEOUT_MS"

# WAL lets the GUI read while a worker writes; synchronous=normal in WAL mode loses
# nothing committed when the process is killed; busy_timeout rides out short locks.
SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "normal",
    "cache_size": -32000,
}
# A file opened read-only: nothing that would write, and writes refused by SQLite itself.
SQLITE_READ_ONLY_PRAGMAS: dict[str, object] = {
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "cache_size": -32000,
    "query_only": 1,
}
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class DatabaseInfo:
    url: str
    backend: str  # "sqlite" | "postgresql"
    path: Path | None  # the SQLite file, None for PostgreSQL or :memory:
    read_only: bool = False
    read_only_reason: str | None = None  # "the file is read-only", "the folder … is read-only"
    encrypted: bool = False  # a SQLCipher file

    @property
    def display(self) -> str:
        if self.path is not None:
            return str(self.path) + (" (encrypted)" if self.encrypted else "")
        parsed = urlparse(self.url)
        # Never show a password in the status bar or logs.
        host = parsed.hostname or "localhost"
        return f"{self.backend}://{parsed.username + '@' if parsed.username else ''}{host}{parsed.path}"


_info: DatabaseInfo | None = None


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{paths.default_database_file()}"


def is_open() -> bool:
    return _info is not None


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


def translate(exc: BaseException, target: DatabaseInfo | None = None) -> TeamDashError | None:
    """The user's error for a driver fault, or None when it is not one of the faults a
    user can act on (those stay bugs)."""
    if isinstance(exc, TeamDashError):
        return exc
    if not isinstance(exc, (peewee.DatabaseError, sqlite3.DatabaseError)) and type(exc).__name__ not in (
        "OperationalError",
        "InterfaceError",
    ):
        return None
    target = target or _info
    where = target.display if target else "the database"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if target is not None and target.backend == "postgresql":
        fault = _postgres_fault(exc, where)
        if fault is not None:
            return fault
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        reason = f" ({target.read_only_reason})" if target and target.read_only_reason else ""
        return ReadOnlyDatabase(f"the database {where} is read-only{reason}; nothing was changed")
    if "database is locked" in lowered or "database table is locked" in lowered or "database is busy" in lowered:
        return DatabaseBusy(
            f"another TeamDash (or another program) is writing to {where}; waited {busy_timeout_ms() / 1000:g} s "
            "and changed nothing. Try again in a moment"
        )
    if "malformed" in lowered or "file is not a database" in lowered or "disk i/o error" in lowered:
        return DatabaseCorrupt(
            f"the database file {where} is damaged ({text}); run 'teamdash check' and restore the latest backup"
        )
    if "database or disk is full" in lowered or "no space left" in lowered:
        return DatabaseUnavailable(f"the disk holding {where} is full; nothing was changed")
    if target is not None and target.backend == "postgresql" and isinstance(exc, peewee.OperationalError):
        return DatabaseUnavailable(f"the database server {where} refused the action: {_one_line(text)}")
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# How a broken connection shows itself: SQLSTATE class 08 (connection exception) and
# 57P01-57P03 (server shut down or starting up), or psycopg2's own words for a dead socket.
_LOST_STATES = ("08", "57P01", "57P02", "57P03")
_LOST_WORDS = (
    "server closed the connection",
    "terminating connection",
    "connection already closed",
    "connection not open",
    "could not receive data",
    "could not send data",
    "no connection to the server",
    "ssl connection has been closed",
    "connection refused",
    "connection timed out",
    "could not connect",
    "the database system is",
    "server conn crashed",
)


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind peewee's wrapper (it carries the SQLSTATE)."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
    return inner or exc.__cause__ or exc.__context__ or exc


def _postgres_fault(exc: BaseException, where: str) -> TeamDashError | None:
    inner = _driver_error(exc)
    code = getattr(inner, "pgcode", None) or getattr(exc, "pgcode", None) or ""
    text = _one_line(str(inner) or str(exc))
    lowered = text.lower()
    if code in ("40P01", "40001"):  # deadlock, serialization failure: the whole transaction was undone
        return Conflict(
            "another workstation was changing the same records at the same moment; nothing was saved. Try again"
        )
    if code == "53100":
        return DatabaseUnavailable(f"the disk of the database server {where} is full; nothing was changed")
    if code == "23505":
        return None  # a duplicate: the service that wrote it says what it was
    if code.startswith(_LOST_STATES) or any(word in lowered for word in _LOST_WORDS):
        reason = text.split(": ", 1)[-1] if "failed: " in text else text
        return ConnectionLost(
            f"lost the connection to the database server {where} ({reason[:160]}); nothing from the action in "
            "progress was saved. TeamDash reconnects as soon as the server answers: try again in a moment"
        )
    return None


class _Translating(peewee.Database):
    """Driver faults raised while talking to the database come out as user errors.
    A mixin placed before the driver's database class (its MRO then reaches peewee's
    Database after the driver's class, as without the mixin)."""

    # Set by peewee's Database.__init__; its stubs leave the connection state out.
    _state: peewee._ConnectionLocal

    def execute_sql(self, sql: str, params: Any = None) -> Cursor:
        with translated():
            # peewee's execute_sql is unannotated, and through super() mypy cannot match
            # it against untyped_calls_exclude.
            return super().execute_sql(sql, params)  # type: ignore[no-untyped-call]

    def begin(self, *args: Any, **kwargs: Any) -> None:
        with translated():
            return super().begin(*args, **kwargs)

    def commit(self, *args: Any, **kwargs: Any) -> None:
        with translated():
            return super().commit(*args, **kwargs)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Driver faults inside the block come out as user errors (see ``translate``)."""
    try:
        yield
    except (peewee.DatabaseError, peewee.InterfaceError, sqlite3.DatabaseError) as exc:
        error = translate(exc)
        if error is None:
            raise
        raise error from exc


class TeamDashSqlite(_Translating, peewee.SqliteDatabase):
    read_only = False

    def begin(self, lock_type: str | None = None) -> None:
        # A transaction takes the write lock when it starts (BEGIN IMMEDIATE), waiting up
        # to busy_timeout for another writer. A deferred one that reads first fails at
        # once when it writes if another workstation committed in between (SQLITE_BUSY
        # snapshot): two people saving at once would get "locked" instead of waiting.
        # Reads that need one consistent view use ``read_snapshot()``.
        if lock_type is None:
            lock_type = "DEFERRED" if self.read_only else "IMMEDIATE"
        return super().begin(lock_type)

    def rollback(self) -> None:
        # Some faults (a full disk, an I/O error) make SQLite roll the transaction back
        # itself; a second ROLLBACK would replace the user's message by "no transaction".
        conn = self._state.conn
        if conn is not None and not conn.in_transaction:
            return None
        return super().rollback()

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        # The same for a nested block (a savepoint): after SQLite's own rollback there is
        # no savepoint to roll back to, and "no such savepoint" would hide the fault.
        if sql.startswith("ROLLBACK TO SAVEPOINT") or sql.startswith("RELEASE SAVEPOINT"):
            conn = self._state.conn
            if conn is not None and not conn.in_transaction:
                return None
        return super().execute_sql(sql, params)


class TeamDashPostgres(_Translating, peewee.PostgresqlDatabase):
    # Peewee maps FloatField to REAL (single precision, 6 digits) on PostgreSQL: a BMI of
    # 24.728066544 would come back as 24.728067. SQLite's REAL is a double; so is ours.
    field_types = {**peewee.PostgresqlDatabase.field_types, "FLOAT": "DOUBLE PRECISION"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The server-side ids of this process's connections: notifications of changes
        # made through them are this workstation's own (teamdash.storage.postgres).
        self.backend_pids: set[int] = set()

    def _initialize_connection(self, conn: Connection) -> None:
        super()._initialize_connection(conn)  # type: ignore[misc]  # peewee's stubs leave this hook out
        self.backend_pids.add(conn.get_backend_pid())

    # A broken connection (server restarted, network blip): the server has rolled back
    # whatever transaction was open on it, so no write is ever half done. Inside a
    # transaction the failure is reported and the dead connection stays until the
    # transaction unwinds (every further statement fails the same way); outside one it is
    # replaced, and a read is repeated once on the new connection.

    def _dead(self) -> bool:
        conn = self._state.conn
        return conn is not None and bool(getattr(conn, "closed", 0))

    def _drop_connection(self) -> None:
        conn = self._state.conn
        with contextlib.suppress(Exception):
            if conn is not None:
                conn.close()
        self._state.reset()

    def _lost(self, exc: TeamDashError) -> bool:
        return isinstance(exc, ConnectionLost) or (isinstance(exc, DatabaseUnavailable) and self._dead())

    def begin(self, *args: Any, **kwargs: Any) -> None:
        try:
            return super().begin(*args, **kwargs)
        except TeamDashError as exc:
            if not self._lost(exc):
                raise
            self._drop_connection()  # nothing was done yet: start again on a new connection
            return super().begin(*args, **kwargs)

    def execute_sql(self, sql: str, params: Any = None) -> Cursor:
        try:
            return super().execute_sql(sql, params)
        except TeamDashError as exc:
            if not self._lost(exc) or self.in_transaction():
                raise
            self._drop_connection()
            if not sql.lstrip()[:6].upper() == "SELECT":
                raise
            return super().execute_sql(sql, params)

    def commit(self, *args: Any, **kwargs: Any) -> None:
        try:
            return super().commit(*args, **kwargs)
        except TeamDashError as exc:
            if not self._lost(exc):
                raise
            raise ConnectionLost(
                f"lost the connection to the database server {_info.display if _info else 'the database'} "
                "while saving: the change was either saved whole or not at all. Check it once the connection "
                "is back (TeamDash reconnects by itself)"
            ) from exc

    def rollback(self) -> None:
        if self.is_closed() or self._dead():
            if not self.in_transaction():
                self._drop_connection()
            return None  # the server undid the transaction when the connection broke
        try:
            return super().rollback()
        except (TeamDashError, peewee.InterfaceError, peewee.OperationalError):
            return None

    def close(self) -> bool:
        if self._dead() and not self.in_transaction():
            self._drop_connection()
            return True
        return super().close()


def busy_timeout_ms() -> int:
    raw = os.environ.get(ENV_BUSY_TIMEOUT, "")
    return int(raw) if raw.isdigit() else BUSY_TIMEOUT_MS


def _pragmas(read_only: bool) -> dict[str, object]:
    base = SQLITE_READ_ONLY_PRAGMAS if read_only else SQLITE_PRAGMAS
    return {**base, "busy_timeout": busy_timeout_ms()}


def sqlcipher_module() -> Any:
    """The SQLCipher driver (the optional ``encryption`` extra), or a clear error."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError as exc:
        raise DatabaseUnavailable(
            "encrypted databases need SQLCipher, which is not installed: pip install 'teamdash[encryption]'"
        ) from exc
    return dbapi2


def _quoted(passphrase: str) -> str:
    return "'" + passphrase.replace("'", "''") + "'"


def cipher_connect(path: str | Path, passphrase: str, **kwargs: Any) -> Connection:
    """A SQLCipher connection with the key set (nothing read yet: a wrong key shows
    at the first query). SQLCipher's own complaints stay off the terminal."""
    driver = sqlcipher_module()
    conn = driver.connect(str(path), **kwargs)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {_quoted(passphrase)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _cipher_database_class() -> type[peewee.SqliteDatabase]:
    from playhouse.sqlcipher_ext import SqlCipherDatabase

    class TeamDashSqlCipher(_Translating, SqlCipherDatabase):
        def _connect(self) -> Connection:
            params = dict(self.connect_params)
            passphrase = params.pop("passphrase", "")
            conn = cipher_connect(self.database, passphrase, isolation_level=None, **params)
            try:
                self._add_conn_hooks(conn)  # type: ignore[attr-defined]  # peewee's stubs leave this hook out
            except BaseException:
                conn.close()
                raise
            return conn

        def rekey(self, passphrase: str) -> bool:
            self.execute_sql(f"PRAGMA rekey = {_quoted(passphrase)}")
            self.connect_params["passphrase"] = passphrase
            return True

    return TeamDashSqlCipher


def _is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError:
        return False
    return head == SQLITE_HEADER or head == b""


def _read_only_reason(path: Path) -> str | None:
    """Why this existing file cannot be written, or None when it can."""
    if not os.access(path, os.W_OK):
        return "the file is read-only"
    # WAL writes its -wal and -shm files beside the database.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"the folder {path.parent} is read-only"
    return None


def _prepare_new_file(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the folder {folder} for a new database: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"the folder {folder} is read-only; a new database cannot be created there")


def looks_encrypted(path: Path) -> bool:
    """A file that is not plain SQLite but has the shape of one (whole pages of what
    looks like noise): an encrypted database, most likely."""
    try:
        size = path.stat().st_size
    except OSError:
        return False
    return size > 0 and size % 512 == 0 and not _is_sqlite_file(path)


def _sqlite_target(target: DatabaseInfo, create: bool, passphrase: str | None, encrypt: bool) -> DatabaseInfo:
    """Check the file before SQLite touches it; returns the target with its access mode."""
    path = target.path
    if path is None:
        return target
    if not path.exists():
        if not create:
            raise NoDatabase(
                f"there is no TeamDash database at {path}; check the path (--db or ${ENV_URL}), "
                "or create one with 'teamdash init', 'teamdash demo' or 'teamdash import'"
            )
        _prepare_new_file(path)
        if encrypt:
            check_passphrase(passphrase)
        return replace(target, encrypted=encrypt)
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is a folder, not a database file")
    if not os.access(path, os.R_OK):
        raise DatabaseUnavailable(f"{path} cannot be read (no permission)")
    encrypted = not _is_sqlite_file(path)
    if encrypted and not passphrase:
        if looks_encrypted(path):
            raise WrongPassphrase(
                f"{path} is encrypted: give its passphrase (the dashboard asks; on the command line set "
                f"${ENV_PASSPHRASE} or answer the prompt)"
            )
        raise DatabaseUnavailable(f"{path} is not a usable SQLite database (it is some other kind of file)")
    reason = _read_only_reason(path)
    return replace(target, read_only=reason is not None, read_only_reason=reason, encrypted=encrypted)


def check_passphrase(passphrase: str | None) -> str:
    """A passphrase for a new encrypted database: long enough to resist guessing."""
    if not passphrase or len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(f"must be at least {MIN_PASSPHRASE} characters long", field="passphrase")
    return passphrase


def _open_sqlcipher(target: DatabaseInfo, passphrase: str) -> peewee.SqliteDatabase:
    """Open an encrypted file and read from it at once: SQLCipher accepts any key at
    connect and fails only at the first read."""
    assert target.path is not None
    name, pragmas, uri = str(target.path), SQLITE_PRAGMAS, False
    if target.read_only:
        name, pragmas, uri = f"file:{quote(str(target.path))}?mode=ro", SQLITE_READ_ONLY_PRAGMAS, True
    cls = _cipher_database_class()
    handle = cls(
        name, passphrase=passphrase, pragmas=pragmas, check_same_thread=False, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        handle.connect(reuse_if_open=True)
        handle.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except (TeamDashError, peewee.DatabaseError, sqlite3.DatabaseError) as exc:
        with contextlib.suppress(Exception):
            handle.close()
        cause = exc.__cause__ or exc
        if "not a database" in str(cause) or isinstance(exc, DatabaseCorrupt):
            raise WrongPassphrase(
                f"the passphrase does not open {target.path} (wrong passphrase, or the file is not a TeamDash "
                "database); nothing was changed"
            ) from exc
        raise
    return handle


def _open_sqlite(target: DatabaseInfo) -> peewee.SqliteDatabase:
    if target.path is None:
        db = TeamDashSqlite(":memory:", pragmas=_pragmas(False), check_same_thread=False)
        db.connect()
        return db
    attempts = [(str(target.path), _pragmas(False), False)]
    if target.read_only:
        read_only_uri = f"file:{quote(str(target.path))}?mode=ro"
        # A read-only folder or mount may hold no -shm file for WAL: read it as immutable.
        attempts = [(read_only_uri, _pragmas(True), True), (read_only_uri + "&immutable=1", _pragmas(True), True)]
    last: Exception | None = None
    for name, pragmas, uri in attempts:
        db = TeamDashSqlite(name, pragmas=pragmas, check_same_thread=False, uri=uri, timeout=busy_timeout_ms() / 1000)
        db.read_only = target.read_only
        try:
            db.connect(reuse_if_open=True)
            db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except (TeamDashError, peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            last = exc
            with contextlib.suppress(Exception):
                db.close()
    error = translate(last, target) if last is not None else None
    if isinstance(error, DatabaseCorrupt) or error is None:
        raise DatabaseCorrupt(f"{target.path} is damaged and cannot be opened ({last}); restore the latest backup")
    raise error


def _open_postgresql(target: DatabaseInfo) -> peewee.Database:
    try:
        import psycopg2  # noqa: F401 - an optional extra: say how to install it
    except ImportError as exc:
        raise DatabaseUnavailable("PostgreSQL support is not installed: pip install 'teamdash[postgres]'") from exc
    parsed = urlparse(target.url)
    db = TeamDashPostgres(
        parsed.path.lstrip("/"),
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname,
        port=parsed.port,
        connect_timeout=10,
        # A half-open connection (a network blip, a server that vanished) is noticed
        # within about a minute instead of the operating system's two hours.
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
        application_name="TeamDash",
    )
    try:
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise DatabaseUnavailable(_unreachable(target, exc)) from exc
    return db


def _unreachable(target: DatabaseInfo, exc: Exception) -> str:
    """One line naming host and port (never the password), with the server's reason."""
    parsed = urlparse(target.url)
    host, port = parsed.hostname or "localhost", parsed.port or 5432
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "no answer")
    if parsed.password:
        reason = reason.replace(unquote(parsed.password), "***")
    reason = reason.removeprefix("connection to server at ").strip()
    return f"cannot connect to PostgreSQL at {host}:{port} (database {parsed.path.lstrip('/')!r}): {reason}"


def open_handle(
    url: str | None = None, *, create: bool = False, passphrase: str | None = None, encrypt: bool = False
) -> tuple[peewee.Database, DatabaseInfo]:
    """A connection to the database at ``url`` that the models are not bound to (a
    second database beside the open one: ``teamdash transfer`` reads its source so).
    See ``connect`` for the arguments."""
    target = parse_url(url or default_url())
    if passphrase is None:
        passphrase = os.environ.get(ENV_PASSPHRASE) or None
    if target.backend != "sqlite":
        return _open_postgresql(target), target
    if encrypt and target.path is None:
        raise ValidationError("an in-memory database cannot be encrypted", field="database URL")
    target = _sqlite_target(target, create, passphrase, encrypt)
    if target.encrypted:
        assert passphrase is not None
        return _open_sqlcipher(target, passphrase), target
    return _open_sqlite(target), target


def connect(
    url: str | None = None, *, create: bool = False, passphrase: str | None = None, encrypt: bool = False
) -> DatabaseInfo:
    """Open the database at ``url`` (default: the user's embedded SQLite file) and bind
    the models to it. A missing SQLite file is created only with ``create`` (encrypted
    with ``passphrase`` when ``encrypt``); a file this user may not write opens
    read-only (``info().read_only``). An encrypted file needs its ``passphrase``
    (default ``$TEAMDASH_DB_PASSPHRASE``)."""
    global _info
    close()
    handle, target = open_handle(url, create=create, passphrase=passphrase, encrypt=encrypt)
    database.initialize(handle)
    _info = target
    log.info(
        "opened %s database%s%s",
        target.backend,
        " (encrypted)" if target.encrypted else "",
        " read-only" if target.read_only else "",
    )
    return target


def change_passphrase(new: str) -> None:
    """Re-encrypt the open encrypted database under a new passphrase."""
    target = info()
    if not target.encrypted:
        raise ValidationError(f"the database {target.display} is not encrypted", field="passphrase")
    require_writable()
    check_passphrase(new)
    database.obj.rekey(new)
    log.info("database passphrase changed")


def read_snapshot() -> peewee._atomic:
    """A transaction that only reads and sees one consistent state while other
    workstations write (SQLite: a deferred transaction; PostgreSQL: repeatable read)."""
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        return database.atomic(isolation_level="REPEATABLE READ")
    return database.atomic("DEFERRED")


def ping() -> None:
    """One round trip to the database; replaces a broken PostgreSQL connection. Raises
    ``ConnectionLost`` while the server does not answer."""
    database.execute_sql("SELECT 1").fetchone()


def close() -> None:
    global _info
    if database.obj is not None and not database.is_closed():
        database.close()
    _info = None


class ThreadConnection:
    """A worker thread's own connection, kept open for the thread's whole life and
    closed when it ends (Peewee keeps one connection per thread; left to itself, a
    thread that ends leaves its connection open). Every method runs on that thread."""

    def __init__(self) -> None:
        self._db: peewee.Database | None = None

    def open(self) -> None:
        """Connected to the database open now; a connection to one opened earlier (the
        app switched databases) is closed first."""
        current = database.obj
        if current is not self._db:
            self.close()
            self._db = current
        if self._db is not None and self._db.is_closed():
            self._db.connect()

    def close(self) -> None:
        """Close this thread's connections (to the database it used and the open one)."""
        for db in {id(d): d for d in (self._db, database.obj) if d is not None}.values():
            try:
                if not db.is_closed():
                    db.close()
            except peewee.PeeweeException:  # a transaction left open is a bug; the thread still ends
                log.exception("could not close a worker thread's database connection")
        self._db = None


def require_writable() -> None:
    """Refuse a write up front, before any work, when the database is read-only."""
    target = info()
    if target.read_only:
        reason = f" ({target.read_only_reason})" if target.read_only_reason else ""
        raise ReadOnlyDatabase(f"the database {target.display} is read-only{reason}; nothing was changed")


def backup(dest: Path | str, *, force: bool = False) -> Path:
    """An online, consistent copy of the open database (never a file copy of a live
    SQLite file), checked after writing. PostgreSQL backups use pg_dump's custom format.
    The file appears only when complete."""
    dest = files.output_file(dest, force=force, option="--out")
    target = info()
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        if target.backend == "sqlite":
            copy_to(partial)
            problems = quick_check(partial, passphrase=current_passphrase())
            if problems:
                raise DatabaseCorrupt(f"the backup did not verify ({problems[0]}); the database may be damaged")
        else:
            _pg_dump(target, partial)
        os.replace(partial, dest)
    except OSError as exc:
        raise files.write_failed(dest, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return dest


def current_passphrase() -> str | None:
    """The open encrypted database's passphrase (its backups are encrypted with it)."""
    handle = database.obj
    if handle is None or not info().encrypted:
        return None
    passphrase: str | None = handle.connect_params.get("passphrase")
    return passphrase


def copy_to(dest: Path) -> None:
    """An online, consistent copy of the open SQLite database to ``dest`` (which must not
    exist). An encrypted database is copied encrypted, with the same passphrase."""
    passphrase = current_passphrase()
    if passphrase is None:
        source_path = info().path
        with contextlib.closing(sqlite3.connect(dest)) as copy:
            if source_path is None:  # an in-memory database has only this connection
                database.connection().backup(copy)
            else:
                # A connection of its own: the copy holds what is committed, and a write
                # transaction open on the app's connection cannot stall it (SQLite answers
                # LOCKED to a backup from a writing connection and Python retries forever).
                with contextlib.closing(sqlite3.connect(f"file:{quote(str(source_path))}?mode=ro", uri=True)) as src:
                    src.backup(copy)
            # A backup is one self-contained file: no WAL mode copied from the live
            # database (reading it would leave -wal and -shm files beside it).
            copy.execute("PRAGMA journal_mode=DELETE")
        return
    # SQLCipher's backup API cannot copy between keyed databases: export into an
    # attached file keyed the same way instead (SQLCipher's documented way).
    database.execute_sql("ATTACH DATABASE ? AS backup_copy KEY ?", (str(dest), passphrase))
    try:
        database.execute_sql("SELECT sqlcipher_export('backup_copy')")
    finally:
        database.execute_sql("DETACH DATABASE backup_copy")


def quick_check(path: Path, *, passphrase: str | None = None) -> list[str]:
    """SQLite's quick check of a database file (plain, or encrypted with ``passphrase``)."""
    if passphrase is not None and not _is_sqlite_file(path):
        conn = cipher_connect(path, passphrase)
    else:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    with contextlib.closing(conn):
        return [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]


def _pg_dump(target: DatabaseInfo, dest: Path) -> None:
    try:
        subprocess.run(["pg_dump", "--format=custom", f"--file={dest}", target.url], check=True, capture_output=True)
    except FileNotFoundError as exc:
        raise DatabaseUnavailable("pg_dump is not installed; it is needed to back up PostgreSQL") from exc
    except subprocess.CalledProcessError as exc:
        message = _one_line(exc.stderr.decode(errors="replace"))
        raise DatabaseUnavailable(f"pg_dump failed: {message}") from exc


def integrity_problems(*, quick: bool = False) -> list[str]:
    """Problems the database itself reports; an empty list means healthy. A file too
    damaged to check says so instead of failing."""
    if info().backend != "sqlite":
        return []
    check = "quick_check" if quick else "integrity_check"
    try:
        problems = [row[0] for row in database.execute_sql(f"PRAGMA {check}").fetchall() if row[0] != "ok"]
        problems += [
            f"foreign key violation in {table} row {rowid} -> {parent}"
            for table, rowid, parent, _ in database.execute_sql("PRAGMA foreign_key_check").fetchall()
        ]
    except DatabaseCorrupt as exc:
        return [f"the file is too damaged to check: {exc.__cause__ or exc}"]
    except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
        return [f"the file is too damaged to check: {exc}"]
    return problems
