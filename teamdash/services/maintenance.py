"""Backups as the clinic uses them: a backup on request, the automatic daily backup
with rotation, and restoring a backup (administrators only). Each is an audit event.

The automatic backup runs when the dashboard starts and every hour while it runs (and
from ``teamdash backup --auto`` for a scheduled task): at most one a day, written to the
clinic's backup folder, verified, then older automatic backups rotated out.
PostgreSQL clinics back up on the server (``pg_dump``), not from each workstation.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from teamdash import clock
from teamdash.errors import DatabaseUnavailable, ValidationError
from teamdash.services import audit, auth, clinic_settings
from teamdash.services.auth import Actor
from teamdash.services.clinic import open_clinic
from teamdash.storage import backups, db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupDone:
    path: Path
    removed: tuple[Path, ...] = ()


def take_backup(actor: Actor, dest: Path | str, *, force: bool = False) -> Path:
    """A verified online backup to ``dest``."""
    auth.require(actor, "backup")
    path = db.backup(dest, force=force)
    audit.record_if_writable(actor, "backup", details={"file": str(path), "automatic": False})
    return path


def daily_backup(actor: Actor, *, now: dt.datetime | None = None, force: bool = False) -> BackupDone | None:
    """Today's automatic backup, unless one exists (``force``: take one anyway); then
    rotation. None when nothing was due, or the database is not a SQLite file."""
    target = db.info()
    if target.backend != "sqlite" or target.path is None:
        return None
    now = (now or clock.now()).replace(microsecond=0)
    settings = clinic_settings.current()
    folder = settings.backup_path
    if not force and not backups.daily_backup_due(target.path, folder, now.date()):
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the backup folder {folder}: {exc.strerror}") from exc
    dest = folder / backups.automatic_name(target.path, now)
    if dest.exists():
        raise ValidationError(f"{dest.name} already exists; try again in a second", field="backup")
    path = db.backup(dest)
    removed = backups.rotate(
        target.path, folder, keep_daily=settings.backup_keep_daily, keep_weekly=settings.backup_keep_weekly
    )
    audit.record_if_writable(
        actor,
        "backup",
        details={"file": str(path), "automatic": True, "removed": [p.name for p in removed]},
    )
    log.info("automatic backup written (%d old one(s) rotated out)", len(removed))
    return BackupDone(path, tuple(removed))


def restore_backup(actor: Actor, backup: Path | str, *, passphrase: str | None = None) -> Path:
    """Replace the open SQLite database by ``backup`` (checked first), keeping the
    current file aside; the database is reopened from the backup (and brought up to
    date), and the restore is recorded in it. Returns where the old file was kept."""
    auth.require(actor, "restore")
    target = db.info()
    if target.backend != "sqlite" or target.path is None:
        raise ValidationError("only a SQLite database file can be restored from a backup", field="database")
    if target.read_only:
        db.require_writable()
    current = db.current_passphrase()
    url = target.url
    db.close()
    try:
        aside = backups.restore(Path(backup), target.path, passphrase=passphrase if passphrase is not None else current)
    finally:  # reopen: the restored file, or the old one if the backup was refused
        open_clinic(url, passphrase=passphrase if passphrase is not None else current)
    audit.record(
        actor,
        "backup.restore",
        details={"file": str(backup), "previous_file_kept_as": str(aside)},
    )
    log.info("backup restored")
    return aside
