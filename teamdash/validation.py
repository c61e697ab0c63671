"""Checks shared by the services: each raises ``ValidationError`` naming the field."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from teamdash.errors import ValidationError

EARLIEST_DATE = dt.date(1900, 1, 1)
_EARLIEST_MOMENT = dt.datetime.combine(EARLIEST_DATE, dt.time.min)
MAX_TEXT = 20_000


def text(value: Any, field: str, *, required: bool = True, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None
    if not isinstance(value, str):
        value = str(value)
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(f"is too long ({len(value)} characters, at most {max_length})", field=field)
    if "\x00" in value:
        raise ValidationError("contains a NUL character", field=field)
    return value


def note(value: Any, field: str = "note") -> str | None:
    return text(value, field, required=False, max_length=MAX_TEXT)


def date(
    value: Any,
    field: str,
    *,
    required: bool = True,
    not_after: dt.date | None = None,
    not_before: dt.date | None = EARLIEST_DATE,
) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise ValidationError("is required", field=field)
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD)", field=field) from None
    elif not isinstance(value, dt.date):
        raise ValidationError(f"{value!r} is not a date", field=field)
    if not_before is not None and value < not_before:
        raise ValidationError(f"{value.isoformat()} is before {not_before.isoformat()}", field=field)
    if not_after is not None and value > not_after:
        raise ValidationError(f"{value.isoformat()} is after {not_after.isoformat()}", field=field)
    return value


def datetime(value: Any, field: str, *, not_after: dt.datetime | None = None) -> dt.datetime:
    if value is None or value == "":
        raise ValidationError("is required", field=field)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a date and time (use YYYY-MM-DD HH:MM)", field=field) from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(12, 0))
    elif not isinstance(value, dt.datetime):
        raise ValidationError(f"{value!r} is not a date and time", field=field)
    if value.tzinfo is not None or value.microsecond:
        value = value.replace(tzinfo=None, microsecond=0)
    if value < _EARLIEST_MOMENT:
        raise ValidationError(f"{value:%Y-%m-%d} is before {EARLIEST_DATE.isoformat()}", field=field)
    if not_after is not None and value > not_after:
        raise ValidationError(f"{value:%Y-%m-%d %H:%M} is in the future", field=field)
    return value


def number(
    value: Any,
    field: str,
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float | int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not a number", field=field)
    try:
        number_value = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValidationError(f"{value!r} is not a number", field=field) from None
    if not math.isfinite(number_value):
        raise ValidationError(f"{value!r} is not a finite number", field=field)
    if integer:
        if number_value != int(number_value):
            raise ValidationError(f"{value!r} is not a whole number", field=field)
        number_value = int(number_value)
    if minimum is not None and number_value < minimum:
        raise ValidationError(f"{_fmt(number_value)} is below the minimum {_fmt(minimum)}", field=field)
    if maximum is not None and number_value > maximum:
        raise ValidationError(f"{_fmt(number_value)} is above the maximum {_fmt(maximum)}", field=field)
    return number_value


def choice(value: Any, field: str, allowed: tuple[str, ...] | list[str]) -> str:
    if value not in allowed:
        raise ValidationError(f"{value!r} is not one of: {', '.join(allowed)}", field=field)
    return value


def clock_time(value: Any, field: str) -> str:
    """A wall-clock time as HH:MM."""
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if not isinstance(value, str):
        raise ValidationError(f"{value!r} is not a time (use HH:MM)", field=field)
    try:
        parsed = dt.time.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not a time (use HH:MM)", field=field) from None
    return parsed.strftime("%H:%M")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
