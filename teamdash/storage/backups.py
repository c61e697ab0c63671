"""Backups of the embedded SQLite file: where they are, which is newest, and restoring one.

Backups are online copies (``db.backup``), never file copies of a live database. They
live in the user's backup folder (``paths.backup_dir()``) and, for the copy taken before
a schema upgrade, beside the database file (``clinic.sqlite3.v3-20261127-143000.bak``).
Restoring checks the backup first (integrity and TeamDash schema) and keeps the current
file aside, so nothing is lost either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from teamdash import clock, paths
from teamdash.errors import DatabaseCorrupt, DatabaseUnavailable, ValidationError

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: dt.datetime  # the file's modification time: when the copy was completed

    @property
    def label(self) -> str:
        return f"{self.path.name} ({self.taken_at:%d %b %Y %H:%M})"


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def candidates(database_file: Path, folders: list[Path] | None = None) -> list[BackupFile]:
    """Backups of ``database_file`` found in the backup folders and beside it, newest first."""
    folders = folders if folders is not None else [paths.backup_dir()]
    found: dict[Path, BackupFile] = {}
    beside = database_file.parent.glob(f"{database_file.name}.*.bak") if database_file.parent.is_dir() else []
    in_folders = [p for folder in folders if folder.is_dir() for p in folder.iterdir() if p.is_file()]
    for path in [*beside, *in_folders]:
        if path.resolve() == database_file.resolve() or not _is_sqlite(path):
            continue
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
        found[path.resolve()] = BackupFile(path, stamp)
    return sorted(found.values(), key=lambda b: b.taken_at, reverse=True)


def latest(database_file: Path, folders: list[Path] | None = None) -> BackupFile | None:
    """The newest backup that passes a quick check, or None."""
    for backup in candidates(database_file, folders):
        if not verify(backup.path):
            return backup
    return None


def verify(path: Path) -> list[str]:
    """Problems that make ``path`` unusable as a TeamDash backup; empty when it is good."""
    if not _is_sqlite(path):
        return [f"{path} is not a SQLite database file"]
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall() if r[0] != "ok"]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        return [f"{path} cannot be read: {exc}"]
    if "schema_version" not in tables or "patient" not in tables:
        problems.append(f"{path} is not a TeamDash database")
    return problems


def restore(backup: Path, database_file: Path) -> Path:
    """Replace ``database_file`` by ``backup`` after checking the backup; the current
    file (if any) is kept aside as ``<name>.replaced-<stamp>`` and that path returned.
    The database must be closed first."""
    backup, database_file = Path(backup), Path(database_file)
    if not backup.is_file():
        raise ValidationError(f"there is no backup file at {backup}", field="backup")
    problems = verify(backup)
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
    return aside
