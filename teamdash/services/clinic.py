"""Opening a clinic's database for use: connect, bring the schema up to date, keep the
reference data (disciplines) in step with ``resources/``, rebuild derived tables a
migration asked for. Every entry point (CLI, GUI, tests) opens through here.

A current database is only read: nothing is written unless something changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from teamdash.clinical import disciplines
from teamdash.errors import DatabaseUnavailable, TeamDashError
from teamdash.services import auth, list_summary, measurements
from teamdash.services.auth import SYSTEM, Actor
from teamdash.storage import backups, db, migrations
from teamdash.storage.backups import BackupFile
from teamdash.storage.db import DatabaseInfo, ThreadConnection
from teamdash.storage.models import Discipline
from teamdash.storage.queries import tuples

__all__ = [
    "BackupFile",
    "DatabaseInfo",
    "ThreadConnection",
    "close_clinic",
    "health_problems",
    "newest_backup",
    "open_clinic",
    "user_error",
]

log = logging.getLogger(__name__)


def open_clinic(
    url: str | None = None, *, create: bool = False, passphrase: str | None = None, encrypt: bool = False
) -> DatabaseInfo:
    """Open the database at ``url`` ready for use. ``create`` allows a new SQLite file
    (demo, import, the dashboard's first start; encrypted with ``passphrase`` when
    ``encrypt``); without it a missing file is an error. An encrypted file opens with
    its ``passphrase`` (default ``$TEAMDASH_DB_PASSPHRASE``)."""
    info = db.connect(url, create=create, passphrase=passphrase, encrypt=encrypt)
    try:
        state = migrations.migrate()
        _sync_disciplines()
        if state.rescore_measurements:
            report = measurements.rescore_all(SYSTEM)
            log.info("rescored stored measurements after the upgrade: %s of %s changed", report.changed, report.checked)
        if state.rebuild_summaries:
            list_summary.refresh_all()
    except BaseException:
        db.close()
        raise
    return info


def close_clinic() -> None:
    db.close()


def user_error(exc: BaseException) -> TeamDashError | None:
    """``exc`` as the user's error when it is one (including a database fault raised by
    the driver, such as a read-only or damaged file), None when it is a bug."""
    return exc if isinstance(exc, TeamDashError) else db.translate(exc)


def health_problems() -> list[str]:
    """What a quick integrity check of the open database finds (empty: healthy). Fast
    enough to run in the background after start-up; ``teamdash check`` runs the full one."""
    return db.integrity_problems(quick=True)


def database_file(url: str | None = None) -> Path | None:
    """The SQLite file behind ``url`` (default: the open or default database)."""
    if url is None and db.is_open():
        return db.info().path
    return describe(url).path


def newest_backup(url: str | None = None) -> BackupFile | None:
    """The newest good backup of the database at ``url`` (SQLite only)."""
    path = database_file(url)
    return backups.latest(path) if path is not None else None


def restore_backup(actor: Actor, backup: Path, url: str | None = None) -> Path:
    """Replace the (closed, perhaps too damaged to open) database at ``url`` by
    ``backup``; returns where the file it replaced was kept. An open database is
    restored by ``maintenance.restore_backup``, which reopens it and audits."""
    auth.require(actor, "restore")
    path = database_file(url)
    if path is None:
        raise DatabaseUnavailable("only an embedded SQLite database is restored from a backup file")
    if db.is_open():
        raise DatabaseUnavailable("close the database before restoring a backup over it")
    return backups.restore(backup, path)


def _sync_disciplines() -> None:
    """Disciplines are data in resources/; their table follows the file. Rows are
    written only when they differ, so opening a current database writes nothing."""
    wanted = {d.code: (d.name, i) for i, d in enumerate(disciplines.all_disciplines())}
    stored = {code: (name, order) for code, name, order in tuples(Discipline.select())}
    changed = {code: value for code, value in wanted.items() if stored.get(code) != value}
    if not changed:
        return
    if db.info().read_only:
        log.warning("disciplines differ from resources/ but the database is read-only; left as they are")
        return
    with db.database.atomic():
        for code, (name, order) in changed.items():
            Discipline.insert(code=code, name=name, sort_order=order).on_conflict(
                conflict_target=[Discipline.code],
                update={Discipline.name: name, Discipline.sort_order: order},
            ).execute()


def describe(url: str | None = None) -> DatabaseInfo:
    """Where ``url`` (default: the embedded file) points, without opening it."""
    return db.parse_url(url or db.default_url())


def needs_creating(url: str | None = None) -> bool:
    """A SQLite file that does not exist yet (the dashboard's first start)."""
    target = describe(url)
    return target.backend == "sqlite" and target.path is not None and not target.path.exists()


def encryption_available() -> bool:
    """Whether SQLCipher is installed (the ``encryption`` extra)."""
    try:
        db.sqlcipher_module()
    except DatabaseUnavailable:
        return False
    return True


def opened() -> DatabaseInfo | None:
    """The open database, or None."""
    try:
        return db.info()
    except DatabaseUnavailable:
        return None
