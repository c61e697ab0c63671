"""Cell values as TeamDash fields: text, dates, date-times, yes/no, item responses.
A value that cannot be read raises ``CellProblem`` with the reason in words; the
fields' own rules (ranges, vocabularies, dates against birth) are the services'."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")


class CellProblem(Exception):
    def __init__(self, reason: str, kind: str = "invalid"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _parse_iso(text: str) -> dt.datetime | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        return dt.datetime(y, mo, d, h, mi, s)
    except ValueError:
        raise CellProblem(f"{text!r} is not a real date (there is no such day)", "impossible_date") from None


def as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = _parse_iso(value.strip())
        if parsed is None:
            raise CellProblem(
                f"{value.strip()!r} is not a date (write it as YYYY-MM-DD, e.g. 2026-03-01)", "impossible_date"
            )
        return parsed.date()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(
            f"{value!r} is a number, not a date (format the column as a date or write YYYY-MM-DD)", "impossible_date"
        )
    raise CellProblem(f"{value!r} is not a date", "impossible_date")


def as_datetime(value: Any) -> dt.datetime | None:
    """A date and time; a date alone is taken at 12:00, as everywhere in TeamDash."""
    if value is None or value == "":
        return None
    if type(value) is str and len(value) > 10:  # the common case: text with a time
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed.replace(microsecond=0, tzinfo=None) if parsed.microsecond or parsed.tzinfo else parsed
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None) if value.microsecond or value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12, 0))
    if isinstance(value, str):
        text = value.strip()
        read = _parse_iso(text)
        if read is None:
            raise CellProblem(
                f"{text!r} is not a date and time (write YYYY-MM-DD HH:MM, e.g. 2026-03-01 10:30)", "impossible_date"
            )
        return read.replace(hour=12) if len(text) <= 10 else read
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(
            f"{value!r} is a number, not a date (format the column as a date or write YYYY-MM-DD HH:MM)",
            "impossible_date",
        )
    raise CellProblem(f"{value!r} is not a date and time", "impossible_date")


_TRUE = {"1", "yes", "y", "true", "t", "x", "ja", "oui"}
_FALSE = {"0", "no", "n", "false", "f", "nein", "non"}


def as_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellProblem(f"{value!r} is not yes/no (write yes or no, TRUE or FALSE, 1 or 0)")


def as_response(value: Any) -> Any:
    """An item response as the scorer takes it (whole numbers typed as text become
    numbers: the scorer's fast path)."""
    if type(value) is str:
        text = value.strip()
        if text.isdigit():
            return int(text)
        return text
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.datetime):
        return value.strftime("%H:%M")  # a time of day typed into a date-time cell
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_word(value: Any) -> str | None:
    """A word from a vocabulary as stored: 'No show', 'no-show' and 'no_show' alike."""
    text = as_text(value)
    return text.lower().replace(" ", "_").replace("-", "_") if text else None
