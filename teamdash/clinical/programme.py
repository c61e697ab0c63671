"""The programme's clinical settings and the small rules built on them: the sleep
efficiency target, which flares are recent, the weeks a patient has spent in a phase,
where a return-to-work phase sits on the off-work → full-return scale.

The numbers are data (``resources/programme.toml``); the panels, dialogs, summaries and
workbooks read them and these functions here, so the screen and a workbook cannot
disagree about what "recent" or "on target" means."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, TypeVar

from teamdash import resources
from teamdash.clinical import disciplines

FILE = "programme.toml"

T = TypeVar("T")
SleepRating = Literal["met", "near", "below"]


@dataclass(frozen=True)
class ProgrammeSettings:
    se_target_pct: float  # sleep efficiency target (≥)
    se_near_pct: float  # below target but at least this: near
    recent_flare_days: int
    recent_practice_weeks: int


@cache
def settings() -> ProgrammeSettings:
    data = resources.load_toml(FILE)
    found = ProgrammeSettings(
        se_target_pct=float(data["sleep"]["efficiency_target_pct"]),
        se_near_pct=float(data["sleep"]["efficiency_near_pct"]),
        recent_flare_days=int(data["flares"]["recent_days"]),
        recent_practice_weeks=int(data["home_practice"]["recent_weeks"]),
    )
    if not 0 <= found.se_near_pct <= found.se_target_pct <= 100:
        raise ValueError(f"{FILE}: sleep efficiency needs 0 ≤ efficiency_near_pct ≤ efficiency_target_pct ≤ 100")
    if found.recent_flare_days < 1 or found.recent_practice_weeks < 1:
        raise ValueError(f"{FILE}: flares.recent_days and home_practice.recent_weeks must be at least 1")
    return found


# --- sleep ------------------------------------------------------------------------------


def se_rating(efficiency_pct: float | None) -> SleepRating | None:
    """'met' at or above the target, 'near' from the near threshold up, else 'below'."""
    if efficiency_pct is None:
        return None
    if efficiency_pct >= settings().se_target_pct:
        return "met"
    return "near" if efficiency_pct >= settings().se_near_pct else "below"


# --- flares -----------------------------------------------------------------------------


def recent_flares_since(today: dt.date) -> dt.date:
    """The first day of the recent-flare window that ends today."""
    return today - dt.timedelta(days=settings().recent_flare_days)


def is_recent_flare(started_on: dt.date, today: dt.date) -> bool:
    return recent_flares_since(today) <= started_on <= today


def count_recent_flares(started: Iterable[dt.date], today: dt.date) -> int:
    return sum(1 for day in started if is_recent_flare(day, today))


# --- home practice and exercise adherence -----------------------------------------------


def recent_weeks(logged: Sequence[T]) -> Sequence[T]:
    """The last logged weeks (oldest first in, oldest first out) that recent adherence
    and practice are judged over."""
    return logged[-settings().recent_practice_weeks :]


# --- weeks and return to work -----------------------------------------------------------


def weeks_since(start: dt.date | None, today: dt.date) -> int | None:
    """Whole weeks from ``start`` to ``today`` (0 in the first week and for a start in
    the future); None without a start. Weeks in programme, weeks in a phase."""
    if start is None:
        return None
    return max(0, (today - start).days // 7)


def weeks_in_phase(started_on: dt.date, today: dt.date) -> int:
    """Whole weeks a patient has been in the return-to-work phase that began ``started_on``."""
    return weeks_since(started_on, today) or 0


def rtw_on_scale(code: int) -> bool:
    """Whether the phase sits on the off-work → full-return scale ("Not in paid work" does not)."""
    return any(p.code == code and p.on_scale for p in disciplines.rtw_phases())


def rtw_scale_position(code: int) -> float | None:
    """Where a phase sits from off work (0.0) to full return (1.0); None off the scale
    or for an unknown code."""
    scale = [p.code for p in disciplines.rtw_phases() if p.on_scale]
    if code not in scale:
        return None
    return scale.index(code) / max(1, len(scale) - 1)


def next_rtw_phase(current: int | None) -> int:
    """The phase a new entry of the plan usually records: the first phase when there is
    none yet, else the next one up the scale (the current one at the top, or off it)."""
    phases = disciplines.rtw_phases()
    if current is None:
        return phases[0].code
    following = [p.code for p in phases if p.on_scale and p.code > current]
    return following[0] if following and rtw_on_scale(current) else current
