"""Backups of the embedded SQLite file: where they are, which is newest, the automatic
daily backup with its rotation, checking one, and restoring one.

Backups are online copies (``db.backup``), never file copies of a live database, and
are checked after writing. They live in the clinic's backup folder (by default
``paths.backup_dir()``) and, for the copy taken before a schema upgrade, beside the
database file (``clinic.sqlite3.v3-20261127-143000.bak``). Automatic backups are named
``<database>-auto-<YYYYMMDD-HHMMSS>.sqlite3``; rotation keeps the newest of each of the
last ``keep_daily`` days and of each of the last ``keep_weekly`` ISO weeks and removes
only other automatic backups of the same database (never a manual backup).

Restoring checks the backup first (integrity, a TeamDash schema this version can
open) and keeps the current file aside, so nothing is lost either way. An encrypted
database's backups are encrypted with the passphrase it had when they were taken.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from teamdash import clock, paths
from teamdash.errors import DatabaseCorrupt, DatabaseUnavailable, ValidationError
from teamdash.storage import db, migrations

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
AUTO_STAMP = "%Y%m%d-%H%M%S"
KEEP_DAILY = 7
KEEP_WEEKLY = 4


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: dt.datetime  # from an automatic backup's name, else the file's modification time

    @property
    def label(self) -> str:
        return f"{self.path.name} ({self.taken_at:%d %b %Y %H:%M})"


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _is_database_file(path: Path) -> bool:
    return _is_sqlite(path) or db.looks_encrypted(path)


def _auto_pattern(database_file: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(database_file.stem)}-auto-(\d{{8}}-\d{{6}})\.sqlite3$")


def automatic_name(database_file: Path, when: dt.datetime) -> str:
    return f"{database_file.stem}-auto-{when:{AUTO_STAMP}}.sqlite3"


def _taken_at(path: Path, database_file: Path) -> dt.datetime:
    match = _auto_pattern(database_file).match(path.name)
    if match:
        return dt.datetime.strptime(match[1], AUTO_STAMP)
    return dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)


def candidates(database_file: Path, folders: list[Path] | None = None) -> list[BackupFile]:
    """Backups of ``database_file`` found in the backup folders and beside it, newest first."""
    folders = folders if folders is not None else [paths.backup_dir()]
    found: dict[Path, BackupFile] = {}
    beside = database_file.parent.glob(f"{database_file.name}.*.bak") if database_file.parent.is_dir() else []
    in_folders = [p for folder in folders if folder.is_dir() for p in folder.iterdir() if p.is_file()]
    for path in [*beside, *in_folders]:
        if path.name.startswith(".") or path.resolve() == database_file.resolve() or not _is_database_file(path):
            continue
        found[path.resolve()] = BackupFile(path, _taken_at(path, database_file))
    return sorted(found.values(), key=lambda b: b.taken_at, reverse=True)


def automatic_backups(database_file: Path, folder: Path) -> list[BackupFile]:
    """This database's automatic backups in ``folder``, newest first."""
    pattern = _auto_pattern(database_file)
    if not folder.is_dir():
        return []
    found = [BackupFile(p, _taken_at(p, database_file)) for p in folder.iterdir() if pattern.match(p.name)]
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def latest(
    database_file: Path, folders: list[Path] | None = None, *, passphrase: str | None = None
) -> BackupFile | None:
    """The newest backup that passes a quick check, or None."""
    for backup in candidates(database_file, folders):
        if not verify(backup.path, passphrase=passphrase):
            return backup
    return None


def daily_backup_due(database_file: Path, folder: Path, today: dt.date) -> bool:
    """No automatic backup of this database was taken today."""
    newest = automatic_backups(database_file, folder)
    return not newest or newest[0].taken_at.date() < today


def to_keep(backups: list[BackupFile], *, keep_daily: int = KEEP_DAILY, keep_weekly: int = KEEP_WEEKLY) -> set[Path]:
    """The newest backup of each of the last ``keep_daily`` days that have one, and of
    each of the last ``keep_weekly`` ISO weeks that have one."""
    newest_first = sorted(backups, key=lambda b: b.taken_at, reverse=True)
    days: dict[dt.date, Path] = {}
    weeks: dict[tuple[int, int], Path] = {}
    for backup in newest_first:
        days.setdefault(backup.taken_at.date(), backup.path)
        iso = backup.taken_at.isocalendar()
        weeks.setdefault((iso.year, iso.week), backup.path)
    keep = set(list(days.values())[: max(0, keep_daily)]) | set(list(weeks.values())[: max(0, keep_weekly)])
    if newest_first:
        keep.add(newest_first[0].path)  # never remove the newest backup
    return keep


def rotate(
    database_file: Path, folder: Path, *, keep_daily: int = KEEP_DAILY, keep_weekly: int = KEEP_WEEKLY
) -> list[Path]:
    """Remove this database's automatic backups that the rotation does not keep; returns
    the removed files. Manual backups and pre-migration copies are never touched."""
    backups = automatic_backups(database_file, folder)
    keep = to_keep(backups, keep_daily=keep_daily, keep_weekly=keep_weekly)
    removed = []
    for backup in backups:
        if backup.path not in keep:
            try:
                backup.path.unlink()
            except OSError as exc:
                log.warning("could not remove old backup %s: %s", backup.path.name, exc.strerror)
                continue
            removed.append(backup.path)
    if removed:
        log.info("backup rotation removed %d old automatic backup(s)", len(removed))
    return removed


def _open_read_only(path: Path, passphrase: str | None) -> db.Connection:
    if not _is_sqlite(path):
        if passphrase is None:
            raise ValidationError(
                f"{path.name} is encrypted (or not a database): give its passphrase", field="passphrase"
            )
        return db.cipher_connect(path, passphrase)
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)


def audit_digests(path: Path, *, passphrase: str | None = None) -> list[tuple[int, str | None]]:
    """(id, digest) of every audit event in a backup, in id order."""
    with contextlib.closing(_open_read_only(Path(path), passphrase)) as conn:
        return list(conn.execute('SELECT "id", "digest" FROM "audit_event" ORDER BY "id"'))


def verify(path: Path, *, passphrase: str | None = None) -> list[str]:
    """Problems that make ``path`` unusable as a TeamDash backup; empty when it is good:
    SQLite's integrity check, a TeamDash schema, a schema version this TeamDash can open."""
    path = Path(path)
    if not _is_database_file(path):
        return [f"{path} is not a SQLite database file"]
    try:
        with contextlib.closing(_open_read_only(path, passphrase)) as conn:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if "schema_version" in tables:
                version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    except ValidationError as exc:
        return [str(exc)]
    except Exception as exc:  # noqa: BLE001 - sqlite3's and SQLCipher's errors alike
        if "not a database" in str(exc) and not _is_sqlite(path):
            return [f"{path} cannot be read: the passphrase does not open it (or it is not a database)"]
        return [f"{path} cannot be read: {exc}"]
    if version is None or "patient" not in tables:
        problems.append(f"{path} is not a TeamDash database")
    elif version > migrations.LATEST:
        problems.append(
            f"{path} was written by a newer TeamDash (schema version {version}; this one understands "
            f"{migrations.LATEST}): update TeamDash before restoring it"
        )
    return problems


def restore(backup: Path, database_file: Path, *, passphrase: str | None = None) -> Path:
    """Replace ``database_file`` by ``backup`` after checking the backup; the current
    file (if any) is kept aside as ``<name>.replaced-<stamp>`` and that path returned.
    The database must be closed first. An older schema is brought up to date the next
    time the file is opened (after its own pre-migration backup)."""
    backup, database_file = Path(backup), Path(database_file)
    if not backup.is_file():
        raise ValidationError(f"there is no backup file at {backup}", field="backup")
    if backup.resolve() == database_file.resolve():
        raise ValidationError("the backup is the database file itself", field="backup")
    problems = verify(backup, passphrase=passphrase)
    if problems:
        raise DatabaseCorrupt(f"the backup cannot be restored: {problems[0]}")
    if not os.access(database_file.parent, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(
            f"the folder {database_file.parent} is read-only; the backup cannot be restored there"
        )
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    aside = database_file.with_name(f"{database_file.name}.replaced-{stamp}")
    partial = database_file.with_name(f".{database_file.name}.restoring")
    shutil.copyfile(backup, partial)
    if database_file.exists():
        os.replace(database_file, aside)
    for suffix in ("-wal", "-shm"):  # the old file's journal must not be applied to the backup
        side = database_file.with_name(database_file.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    os.replace(partial, database_file)
    log.info("restored a backup over the database; the previous file was kept aside")
    return aside
