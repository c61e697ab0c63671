"""The clinic's security and backup settings, kept in its database so every
workstation follows them: the idle minutes before the dashboard locks itself, the
backup folder, and how many daily and weekly automatic backups are kept.

Administrators change them (``manage_settings``); each change is an audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teamdash import clock, paths, validation
from teamdash.errors import ValidationError
from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.storage import db
from teamdash.storage.db import database
from teamdash.storage.models import Setting


def _folder(value: Any, field: str) -> str | None:
    text = validation.text(value, field, required=False, max_length=1000)
    if text is None:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise ValidationError(f"{text!r} must be a full path (e.g. /srv/teamdash/backups)", field=field)
    return str(path)


def _integer(minimum: int, maximum: int) -> Callable[[Any, str], int]:
    def check(value: Any, field: str) -> int:
        number = validation.number(value, field, minimum=minimum, maximum=maximum, integer=True)
        assert number is not None  # required: a missing value raised already
        return int(number)

    return check


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: str
    default: Any
    check: Callable[[Any, str], Any]


SETTINGS: dict[str, SettingDef] = {
    s.key: s
    for s in (
        SettingDef("lock_minutes", "minutes of inactivity before the dashboard locks itself", 5, _integer(1, 120)),
        SettingDef("backup_folder", "folder for automatic backups (empty: the default folder)", None, _folder),
        SettingDef("backup_keep_daily", "daily automatic backups kept", 7, _integer(1, 365)),
        SettingDef("backup_keep_weekly", "weekly automatic backups kept", 4, _integer(0, 520)),
    )
}


@dataclass(frozen=True)
class ClinicSettings:
    lock_minutes: int = 5
    backup_folder: str | None = None
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4

    @property
    def backup_path(self) -> Path:
        return Path(self.backup_folder) if self.backup_folder else paths.backup_dir()


def current() -> ClinicSettings:
    """The settings in force (defaults for those never set). Any signed-in user and the
    lock screen read them: they hold no patient data."""
    stored = {row.key: row.value for row in Setting.select() if row.key in SETTINGS}
    return ClinicSettings(**{key: stored.get(key, s.default) for key, s in SETTINGS.items()})


def change(actor: Actor, key: str, value: Any) -> ClinicSettings:
    """Set one setting (``None`` or "" returns it to its default)."""
    auth.require(actor, "manage_settings")
    definition = SETTINGS.get(key)
    if definition is None:
        raise ValidationError(f"unknown setting {key!r} (known: {', '.join(SETTINGS)})", field="setting")
    clean = None if value in (None, "") else definition.check(value, key)
    db.require_writable()
    with database.atomic():
        before = Setting.get_or_none(Setting.key == key)
        old = before.value if before is not None else definition.default
        if clean is None:
            Setting.delete().where(Setting.key == key).execute()
        else:
            Setting.insert(key=key, value=clean, updated_at=clock.now(), updated_by=actor.display_name).on_conflict(
                conflict_target=[Setting.key],
                update={Setting.value: clean, Setting.updated_at: clock.now(), Setting.updated_by: actor.display_name},
            ).execute()
        audit.record(actor, "setting.update", entity="setting", before={key: old}, after={key: clean})
    return current()
