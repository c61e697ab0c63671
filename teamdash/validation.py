"""Checks shared by the services: each raises ``ValidationError`` naming the field.

``FieldSpec`` is a field's published limits (bounds, length, choices, default): the
service's validator checks values with it and the data-entry form reads it, so the
two cannot drift apart."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, overload

from teamdash.errors import ValidationError

EARLIEST_DATE = dt.date(1900, 1, 1)
_EARLIEST_MOMENT = dt.datetime.combine(EARLIEST_DATE, dt.time.min)
MAX_TEXT = 20_000


def text(value: Any, field: str, *, required: bool = True, max_length: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("is required", field=field)
        return None
    cleaned = (value if isinstance(value, str) else str(value)).strip()
    if len(cleaned) > max_length:
        raise ValidationError(f"is too long ({len(cleaned)} characters, at most {max_length})", field=field)
    if "\x00" in cleaned:
        raise ValidationError("contains a NUL character", field=field)
    return cleaned


def note(value: Any, field: str = "note") -> str | None:
    return text(value, field, required=False, max_length=MAX_TEXT)


@overload
def date(
    value: Any,
    field: str,
    *,
    required: Literal[True] = True,
    not_after: dt.date | None = None,
    not_before: dt.date | None = EARLIEST_DATE,
) -> dt.date: ...
@overload
def date(
    value: Any,
    field: str,
    *,
    required: bool,
    not_after: dt.date | None = None,
    not_before: dt.date | None = EARLIEST_DATE,
) -> dt.date | None: ...
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
    day: dt.date
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD)", field=field) from None
    elif isinstance(value, dt.date):
        day = value
    else:
        raise ValidationError(f"{value!r} is not a date", field=field)
    if not_before is not None and day < not_before:
        raise ValidationError(f"{day.isoformat()} is before {not_before.isoformat()}", field=field)
    if not_after is not None and day > not_after:
        raise ValidationError(f"{day.isoformat()} is after {not_after.isoformat()}", field=field)
    return day


def datetime(value: Any, field: str, *, not_after: dt.datetime | None = None) -> dt.datetime:
    if value is None or value == "":
        raise ValidationError("is required", field=field)
    moment: dt.datetime
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a date and time (use YYYY-MM-DD HH:MM)", field=field) from None
    elif isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(12, 0))
    else:
        raise ValidationError(f"{value!r} is not a date and time", field=field)
    if moment.tzinfo is not None or moment.microsecond:
        moment = moment.replace(tzinfo=None, microsecond=0)
    if moment < _EARLIEST_MOMENT:
        raise ValidationError(f"{moment:%Y-%m-%d} is before {EARLIEST_DATE.isoformat()}", field=field)
    if not_after is not None and moment > not_after:
        raise ValidationError(f"{moment:%Y-%m-%d %H:%M} is in the future", field=field)
    return moment


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
    for option in allowed:
        if value == option:
            return option
    raise ValidationError(f"{value!r} is not one of: {', '.join(allowed)}", field=field)


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


SpecKind = Literal["text", "note", "int", "number", "choice"]


@dataclass(frozen=True)
class FieldSpec:
    """What one field of a record may hold.

    ``kind`` says how it is checked: free ``text`` (up to ``max_length``), a long
    ``note``, an ``int`` or ``number`` within ``minimum``..``maximum``, a ``choice`` of
    ``choices()`` (a callable, so vocabularies load from ``resources/`` when first used).
    ``default`` is what a new record gets when the field is not given."""

    name: str
    kind: SpecKind
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: Callable[[], Sequence[Any]] | None = None
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind == "note" and self.max_length is None:
            object.__setattr__(self, "max_length", MAX_TEXT)
        if self.kind == "text" and self.max_length is None:
            object.__setattr__(self, "max_length", 200)
        if self.kind == "choice" and self.choices is None:
            raise ValueError(f"choice field {self.name!r} needs its choices")

    def allowed(self) -> tuple[Any, ...]:
        return tuple(self.choices()) if self.choices else ()

    def check(self, value: Any, *, required: bool | None = None) -> Any:
        """The clean value, or ``ValidationError`` naming this field."""
        needed = self.required if required is None else required
        if self.kind in ("text", "note"):
            return text(value, self.name, required=needed, max_length=self.max_length or MAX_TEXT)
        if self.kind in ("int", "number"):
            return number(
                value,
                self.name,
                required=needed,
                minimum=self.minimum,
                maximum=self.maximum,
                integer=self.kind == "int",
            )
        if value is None and not needed:
            return None
        allowed = self.allowed()
        if value not in allowed:
            raise ValidationError(f"{value!r} is not one of: {', '.join(map(str, allowed))}", field=self.name)
        return value

    def check_or_default(self, values: Mapping[str, Any]) -> Any:
        """The field's value from ``values`` (its default when absent), checked."""
        return self.check(values.get(self.name, self.default))


class FieldSpecs(Mapping[str, FieldSpec]):
    """A record kind's fields by name. Built on first use when given a function (limits
    that come from ``resources/``, such as an instrument's item ranges)."""

    def __init__(self, specs: Iterable[FieldSpec] | Callable[[], Iterable[FieldSpec]]):
        self._source = specs

    @cached_property
    def _specs(self) -> dict[str, FieldSpec]:
        source = self._source() if callable(self._source) else self._source
        return {spec.name: spec for spec in source}

    def __getitem__(self, name: str) -> FieldSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def defaults(self) -> dict[str, Any]:
        """The default of every field that has one (a new record's starting values)."""
        return {name: spec.default for name, spec in self._specs.items() if spec.default is not None}
