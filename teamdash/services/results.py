"""Helpers for the frozen result objects that cross from the core to the UI."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

from teamdash.clinical import programme

T = TypeVar("T")


def build(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
    """``cls`` from a row dict (``query.dicts()`` or ``row.__data__``), taking the
    dataclass's fields by name; ``extra`` supplies computed ones."""
    values = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name in data}
    values.update(extra)
    return cls(**values)


def age_on(date_of_birth: dt.date | None, today: dt.date) -> int | None:
    if date_of_birth is None:
        return None
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - before_birthday


def weeks_between(start: dt.date | None, end: dt.date) -> int | None:
    return programme.weeks_since(start, end)
