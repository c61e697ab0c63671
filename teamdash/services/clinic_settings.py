"""The clinic-wide settings, kept in its database (one table, ``clinic_setting``) so
every workstation follows them: the clinic ID pattern new patients are numbered by, the
idle minutes before the dashboard locks itself, the backup folder, and how many daily
and weekly automatic backups are kept.

Each setting says who may change it: the clinic ID pattern is patient administration
(``write_patient``: case managers, administrators); the security and backup settings
are administrators' (``manage_settings``). Each change is an audit event.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teamdash import clock, paths, validation
from teamdash.errors import ValidationError
from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.storage import db, queries
from teamdash.storage.db import database
from teamdash.storage.models import ClinicSetting


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


# --- the clinic ID pattern ---------------------------------------------------------------

DEFAULT_PATTERN = "TD-00000"
CLINIC_ID_LENGTH = 32  # Patient.clinic_id
MIN_DIGITS = 2


@dataclass(frozen=True)
class ClinicIdPattern:
    """How the clinic numbers its patients: the last run of zeros is the number, the rest
    is kept as written (``TD-00000`` gives TD-00001, TD-00002, …)."""

    text: str
    prefix: str
    width: int
    suffix: str

    @classmethod
    def parse(cls, text: str, field: str = "pattern") -> ClinicIdPattern:
        value = validation.text(text, field, max_length=CLINIC_ID_LENGTH)
        assert value is not None
        runs = list(re.finditer(r"0+", value))
        if not runs:
            raise ValidationError(
                f"{value!r} has no run of zeros for the number (write e.g. TD-00000 or CLB-2026-000)", field=field
            )
        number = runs[-1]
        if len(number.group()) < MIN_DIGITS:
            raise ValidationError(
                f"the number in {value!r} needs at least {MIN_DIGITS} digits (write e.g. TD-00000)", field=field
            )
        if any(ch.isspace() for ch in value):
            raise ValidationError(f"{value!r} contains a space; clinic IDs are typed without spaces", field=field)
        return cls(value, value[: number.start()], len(number.group()), value[number.end() :])

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}{self.suffix}"

    def number_of(self, clinic_id: str) -> int | None:
        """The number in an ID that follows the pattern, else None."""
        if not (clinic_id.startswith(self.prefix) and clinic_id.endswith(self.suffix)):
            return None
        middle = clinic_id[len(self.prefix) : len(clinic_id) - len(self.suffix)]
        if len(middle) < self.width or not middle.isdigit() or not middle.isascii():
            return None
        return int(middle)

    def matches(self, clinic_id: str) -> bool:
        return self.number_of(clinic_id) is not None

    @property
    def example(self) -> str:
        return self.format(1)


def _pattern(value: Any, field: str) -> str:
    return ClinicIdPattern.parse(value, field).text


# --- every setting -----------------------------------------------------------------------


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: str
    default: Any
    check: Callable[[Any, str], Any]
    permission: str = "manage_settings"  # who may change it


SETTINGS: dict[str, SettingDef] = {
    s.key: s
    for s in (
        SettingDef(
            "clinic_id_pattern",
            "how new patients' clinic IDs are numbered (the last run of zeros is the number)",
            DEFAULT_PATTERN,
            _pattern,
            permission="write_patient",
        ),
        SettingDef("lock_minutes", "minutes of inactivity before the dashboard locks itself", 5, _integer(1, 120)),
        SettingDef("backup_folder", "folder for automatic backups (empty: the default folder)", None, _folder),
        SettingDef("backup_keep_daily", "daily automatic backups kept", 7, _integer(1, 365)),
        SettingDef("backup_keep_weekly", "weekly automatic backups kept", 4, _integer(0, 520)),
    )
}


@dataclass(frozen=True)
class ClinicSettings:
    clinic_id_pattern: str = DEFAULT_PATTERN
    lock_minutes: int = 5
    backup_folder: str | None = None
    backup_keep_daily: int = 7
    backup_keep_weekly: int = 4

    @property
    def backup_path(self) -> Path:
        return Path(self.backup_folder) if self.backup_folder else paths.backup_dir()

    @property
    def pattern(self) -> ClinicIdPattern:
        return ClinicIdPattern.parse(self.clinic_id_pattern)


def current() -> ClinicSettings:
    """The settings in force (defaults for those never set). Any signed-in user and the
    lock screen read them: they hold no patient data."""
    stored = {row.key: row.value for row in ClinicSetting.select() if row.key in SETTINGS}
    return ClinicSettings(**{key: stored.get(key, s.default) for key, s in SETTINGS.items()})


def get(key: str) -> Any:
    """One setting in force (its default when never set)."""
    row = ClinicSetting.get_or_none(ClinicSetting.key == key)
    return row.value if row is not None else SETTINGS[key].default


def change(actor: Actor, key: str, value: Any) -> ClinicSettings:
    """Set one setting (``None`` or "" returns it to its default)."""
    definition = SETTINGS.get(key)
    if definition is None:
        raise ValidationError(f"unknown setting {key!r} (known: {', '.join(SETTINGS)})", field="setting")
    auth.require(actor, definition.permission)
    clean = None if value in (None, "") else definition.check(value, key)
    db.require_writable()
    now = clock.now()
    with database.atomic():
        before = ClinicSetting.get_or_none(ClinicSetting.key == key)
        old = before.value if before is not None else definition.default
        if clean is None:
            queries.delete_where(ClinicSetting, ClinicSetting.key == key)
        else:
            ClinicSetting.insert(key=key, value=clean, updated_at=now, updated_by_name=actor.display_name).on_conflict(
                conflict_target=[ClinicSetting.key],
                update={
                    ClinicSetting.value: clean,
                    ClinicSetting.updated_at: now,
                    ClinicSetting.updated_by_name: actor.display_name,
                },
            ).execute()
        audit.record(actor, "setting.update", entity="clinic_setting", before={key: old}, after={key: clean})
    return current()
