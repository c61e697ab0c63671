"""The sleep diary (Consensus Sleep Diary), one row per night, scored with the
``sleep_diary`` instrument so time in bed, total sleep time and efficiency are computed
in one place; weekly means for the sleep panel and check-ins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teamdash import clock, validation
from teamdash.clinical import instruments
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import SleepDiaryNight
from teamdash.validation import FieldSpec, FieldSpecs

TIME_FIELDS = ("bed_time", "lights_out", "final_wake", "out_of_bed")
# Diary fields in the order of the sleep_diary instrument's items 1–8.
ITEM_ORDER = (
    "bed_time",
    "lights_out",
    "sol_minutes",
    "awakenings",
    "waso_minutes",
    "final_wake",
    "out_of_bed",
    "quality",
)


@dataclass(frozen=True)
class NightResult:
    id: int
    patient: int
    night_of: dt.date
    bed_time: str
    lights_out: str
    sol_minutes: int
    awakenings: int
    waso_minutes: int
    final_wake: str
    out_of_bed: str
    quality: int | None
    tib_minutes: float | None
    tst_minutes: float | None
    efficiency: float | None
    note: str | None
    version: int


@dataclass(frozen=True)
class SleepWeek:
    week_start: dt.date  # Monday
    nights: int
    tst_minutes: float | None
    efficiency: float | None
    sol_minutes: float | None
    waso_minutes: float | None


def _diary_fields() -> list[FieldSpec]:
    """The night's limits are the ``sleep_diary`` instrument's item ranges (the scoring
    that checks each night), published for the diary form."""
    specs = []
    for name, item in zip(ITEM_ORDER, instruments.get("sleep_diary").items):
        if item.kind == "time":
            continue
        if item.choices:
            codes = tuple(int(code) for code, _label in item.choices)
            specs.append(FieldSpec(name, "choice", required=not item.optional, choices=_fixed(codes)))
        else:
            specs.append(FieldSpec(name, "int", not item.optional, minimum=item.minimum, maximum=item.maximum))
    return [*specs, FieldSpec("note", "note", required=False)]


def _fixed(codes: tuple[int, ...]) -> Callable[[], tuple[int, ...]]:
    return lambda: codes


FIELDS = FieldSpecs(_diary_fields)


def _clean(values: dict, current: dict | None) -> dict:
    merged = {**(current or {}), **values}
    out: dict[str, Any] = {}
    if current is None or "night_of" in values:
        out["night_of"] = validation.date(values.get("night_of"), "night_of", not_after=clock.today())
    if "note" in values:
        out["note"] = FIELDS["note"].check(values["note"])
    # Score the whole night: the instrument checks every item and names the bad one.
    responses = [merged.get(name) for name in ITEM_ORDER]
    scored = instruments.score("sleep_diary", responses)
    normalised = dict(zip(ITEM_ORDER, scored.responses))
    for name in ITEM_ORDER:
        value = normalised[name]
        out[name] = value if name in TIME_FIELDS or value is None else int(value)
    out["awakenings"] = out["awakenings"] or 0
    out["tib_minutes"] = scored.derived.get("tib_min")
    out["tst_minutes"] = scored.derived.get("tst_min")
    out["efficiency"] = scored.derived.get("se_pct")
    return out


NIGHTS: RecordKind[NightResult] = RecordKind(
    SleepDiaryNight,
    NightResult,
    _clean,
    what="sleep diary night",
    action="sleep_night",
    order_by=(SleepDiaryNight.night_of,),
    fields=FIELDS,
    discipline="sleep",
)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def weekly_means(nights: list[NightResult] | tuple[NightResult, ...]) -> list[SleepWeek]:
    """Mean TST, efficiency, latency and WASO per calendar week (Monday start)."""
    weeks: dict[dt.date, list[NightResult]] = {}
    for night in nights:
        weeks.setdefault(night.night_of - dt.timedelta(days=night.night_of.weekday()), []).append(night)
    return [
        SleepWeek(
            start,
            len(group),
            _mean([n.tst_minutes for n in group if n.tst_minutes is not None]),
            _mean([n.efficiency for n in group if n.efficiency is not None]),
            _mean([float(n.sol_minutes) for n in group]),
            _mean([float(n.waso_minutes) for n in group]),
        )
        for start, group in sorted(weeks.items())
    ]
