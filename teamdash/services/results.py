"""Helpers for the frozen result objects that cross from the core to the UI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import TYPE_CHECKING, Any, TypeVar

from teamdash.clinical import programme

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


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


# --- frozen result objects as JSON (snapshots) ---------------------------------------------


def to_json(value: Any) -> Any:
    """A frozen dataclass tree as JSON-ready data: dates and datetimes as ISO text,
    tuples as lists. ``from_json`` reads it back."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: Any) -> T:
    """``cls`` rebuilt from ``to_json`` output, guided by its type hints. Fields missing
    from ``data`` (written by an older version) take their defaults; unknown keys are
    ignored, so a snapshot written by a newer version still opens."""
    return _decode(cls, data)


def _decode(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if hint is dt.date:
        return dt.date.fromisoformat(data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data))
    if origin is dict:
        return {k: _decode(args[1], v) for k, v in data.items()} if args else dict(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        values = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(hint) if f.name in data}
        constructor: Any = hint
        return constructor(**values)
    if hint is float and isinstance(data, int):
        return float(data)
    return data
