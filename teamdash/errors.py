"""Domain exceptions: every error a user can cause has a message written for them.

The CLI prints ``str(error)`` on one line and exits 2; the UI shows it next to the
field or in a dialog. Anything that is not a ``TeamDashError`` is a bug.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class TeamDashError(Exception):
    """Base of every error whose message is meant for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(TeamDashError):
    """Bad input. ``field`` names the form field; ``row``/``column``/``sheet`` locate
    a cell in an imported file."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        row: int | None = None,
        column: str | None = None,
        sheet: str | None = None,
    ):
        self.field = field
        self.row = row
        self.column = column
        self.sheet = sheet
        super().__init__(self._located(message))

    def _located(self, message: str) -> str:
        where = []
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if where:
            return f"{', '.join(where)}: {message}"
        if self.field is not None and not message.lower().startswith(self.field.replace("_", " ")):
            return f"{self.field}: {message}"
        return message


class InvalidResponse(ValidationError):
    """An item response outside its allowed values, non-numeric, or missing beyond
    the instrument's missing-item rule."""

    def __init__(self, message: str, *, instrument: str, item: int | None, allowed: str | None = None):
        self.instrument = instrument
        self.item = item
        self.allowed = allowed
        super().__init__(message, field=f"item {item}" if item is not None else "responses")


class InvalidItemName(InvalidResponse):
    """A patient-named item (a PSFS activity) rated without a name, named twice, or with
    an unusable name. ``field`` is ``"name N"``: the form shows it under the name."""

    def __init__(self, message: str, *, instrument: str, item: int):
        super().__init__(message, instrument=instrument, item=item)
        self.field = f"name {item}"


class NotFound(TeamDashError):
    """A record, instrument or user that does not exist."""


class UnknownInstrument(NotFound):
    def __init__(self, instrument_id: str, known: list[str] | None = None):
        self.instrument_id = instrument_id
        hint = f" (known: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown instrument {instrument_id!r}{hint}")


class Conflict(TeamDashError):
    """A write that lost a race: someone else changed or deleted the record first,
    or the write would create a duplicate. ``current`` is the record as it is stored
    now (its columns by field name, with its ``version``) when the race was over an
    edit: the UI shows it beside the user's values to reload or overwrite."""

    def __init__(self, message: str, *, current: dict[str, Any] | None = None):
        super().__init__(message)
        self.current = current


class DuplicateValue(Conflict):
    """A value that must be unique is already taken (a clinic ID); ``field`` names the
    form field, so the message can stand under it."""

    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


class EditConflict(Conflict):
    """An edit based on an older version: someone else saved the record meanwhile.
    ``differences`` pairs, per field the user changed, the user's value with the one
    saved now, so both can be shown; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        differences: tuple[tuple[str, object, object], ...] = (),
        current_version: int | None = None,
        changed_by: str | None = None,
        current: dict[str, Any] | None = None,
    ):
        self.differences = differences  # (field, yours, saved)
        self.current_version = current_version
        self.changed_by = changed_by
        super().__init__(message, current=current)


class PermissionDenied(TeamDashError):
    """The acting user's role does not allow this action."""


class DatabaseUnavailable(TeamDashError):
    """The database cannot be opened, is locked, or is not a TeamDash database."""


class SchemaTooNew(DatabaseUnavailable):
    """The database was written by a newer TeamDash than this one."""


class NoDatabase(DatabaseUnavailable):
    """There is no database at the path given (a mistyped ``--db`` must not create one)."""


class ConnectionLost(DatabaseUnavailable):
    """The connection to the database server broke (server restarted, network blip).
    The transaction in progress was rolled back by the server; TeamDash reconnects."""


class ReadOnlyDatabase(DatabaseUnavailable):
    """A write to a database opened read-only (a read-only file, folder or mount)."""


class DatabaseBusy(DatabaseUnavailable):
    """Another program held the write lock longer than TeamDash waits."""


class DatabaseCorrupt(DatabaseUnavailable):
    """The database file is damaged."""


class Cancelled(TeamDashError):
    """A long job stopped because the user asked it to."""

    def __init__(self, message: str = "cancelled by the user"):
        super().__init__(message)


class SignInFailed(TeamDashError):
    """A sign-in that did not succeed: wrong username or password, no password set,
    a deactivated account."""


class AccountLocked(SignInFailed):
    """Too many failed sign-ins: the account is locked until ``until``."""

    def __init__(self, message: str, *, until: dt.datetime | None):
        super().__init__(message)
        self.until = until


class WrongPassphrase(DatabaseUnavailable):
    """An encrypted database that the passphrase given does not open (or no passphrase
    was given for an encrypted file)."""
