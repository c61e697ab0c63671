"""A patient's outcome timeline as plain data: what the timeline widget draws.

Turns a ``PatientRecord`` into series of points (x in epoch seconds, raw and normalised
values, band, who entered them), severity bands, the baseline and the MCID threshold
line, goal targets, and markers for check-ins, sessions and flares. Pure: no database,
no Qt; the UI only maps these objects onto plot items.

Normalised values run 0–100 from worse to better whatever the instrument's direction,
so several measures can share one axis. Measures without a better direction (BMI) have
no normalised value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from teamdash.clinical import analytics, disciplines, instruments
from teamdash.clinical.instruments import Instrument
from teamdash.services.chart import PatientRecord, point_of

# Consecutive measurements further apart than this many times the instrument's
# suggested interval are not joined by a line: the gap shows missed measurements.
GAP_FACTOR = 2.0
DEFAULT_INTERVAL_DAYS = 42
# Rating scales are drawn on their full range so a glance compares like with like;
# physical measures (metres, cm, BMI, stands) would be a flat line on theirs, so they
# are drawn on the range of the patient's own data.
FULL_RANGE_UNITS = frozenset({None, "", "points", "%", "/10"})
RANGE_PADDING = 0.12  # share of the data span added above and below a data range


def epoch(when: dt.date | dt.datetime) -> float:
    """Seconds since the epoch of a local date (midnight) or local datetime, as the
    timeline's date axis expects."""
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time.min)
    return when.timestamp()


# --- result objects -------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurePoint:
    measurement_id: int
    taken_at: dt.datetime
    x: float
    value: float | None  # None: the instrument could not be totalled (shown as a gap)
    normalised: float | None
    band: str | None
    band_severity: int | None
    entered_by: str | None
    safety: bool
    note: str | None


@dataclass(frozen=True)
class BandRegion:
    label: str
    low: float
    high: float
    severity: int  # 0 = best
    worst_severity: int  # the instrument's worst band, for colour scales


@dataclass(frozen=True)
class GoalTarget:
    goal_id: int
    text: str
    value: float
    normalised: float | None
    set_on: dt.date
    due_on: dt.date | None
    start_x: float
    end_x: float  # due date, or today when the goal has none
    status: str


@dataclass(frozen=True)
class MeasureSeries:
    instrument: Instrument
    discipline: str
    colour: str
    points: tuple[MeasurePoint, ...]
    line_x: tuple[float, ...]  # the connecting line, NaN between points separated by a gap
    line_y: tuple[float, ...]
    line_norm: tuple[float, ...]
    y_range: tuple[float, float]
    bands: tuple[BandRegion, ...]
    baseline: MeasurePoint | None
    mcid_threshold: float | None  # the value a clinically meaningful improvement reaches
    goals: tuple[GoalTarget, ...]
    latest: MeasurePoint | None
    change: analytics.Change

    @property
    def id(self) -> str:
        return self.instrument.id

    @property
    def label(self) -> str:
        unit = self.instrument.unit
        return (
            f"{self.instrument.short_name} ({unit})" if unit and unit not in ("points",) else self.instrument.short_name
        )

    def format(self, value: float | None) -> str:
        return self.instrument.format(value)


@dataclass(frozen=True)
class CheckInMarker:
    checkin_id: int
    held_on: dt.date
    x: float
    label: str  # "Check-in 10 Apr"


@dataclass(frozen=True)
class SessionTick:
    session_id: int
    discipline: str
    colour: str
    held_at: dt.datetime
    x: float
    kind: str
    attendance: str
    clinician: str | None
    minutes: int


@dataclass(frozen=True)
class FlareMarker:
    flare_id: int
    started_on: dt.date
    x: float
    end_x: float  # started_on + days to recover (the start when unknown)
    severity: int
    text: str


@dataclass(frozen=True)
class EpisodeSpan:
    """An earlier episode of care, shaded behind the data: its measurements stay on the
    timeline, but change is measured from the current episode's baseline."""

    number: int
    start: dt.date
    end: dt.date
    start_x: float
    end_x: float
    label: str  # "Episode 1"
    detail: str  # "Episode 1: 12 Jan 2025 – 30 Jun 2025, discharged: goals met"


@dataclass(frozen=True)
class PatientTimeline:
    patient_id: int
    series: dict[str, MeasureSeries]  # every measure the patient has, in display order
    default_selection: tuple[str, ...]
    checkins: tuple[CheckInMarker, ...]
    sessions: tuple[SessionTick, ...]
    flares: tuple[FlareMarker, ...]
    today_x: float
    fit_range: tuple[float, float]  # x range holding everything (data, markers, today)
    earlier_episodes: tuple[EpisodeSpan, ...] = ()
    episode_start_x: float | None = None  # where the current episode (and its baseline) starts

    def selected(self, ids: Iterable[str]) -> list[MeasureSeries]:
        wanted = set(ids)
        return [s for key, s in self.series.items() if key in wanted]


# --- numbers ----------------------------------------------------------------------------------


def normalise(instrument: Instrument, value: float | None) -> float | None:
    """0 = the worst possible score, 100 = the best; None without a direction or range."""
    if value is None or instrument.direction is None or instrument.total_min is None or instrument.total_max is None:
        return None
    span = instrument.total_max - instrument.total_min
    if span <= 0:
        return None
    share = (value - instrument.total_min) / span
    if instrument.direction == "higher_worse":
        share = 1.0 - share
    return round(100.0 * min(1.0, max(0.0, share)), 9) + 0.0


def mcid_threshold(instrument: Instrument, baseline_value: float | None) -> float | None:
    """The score a clinically meaningful improvement from ``baseline_value`` reaches.

    Mirrors ``analytics.change``: improvement counts when it reaches the absolute MCID or
    the percent-of-baseline MCID, so the line sits at whichever comes first, on the
    better side of the baseline.
    """
    if baseline_value is None or instrument.direction is None:
        return None
    steps = []
    if instrument.mcid_abs is not None:
        steps.append(instrument.mcid_abs)
    if instrument.mcid_pct is not None and baseline_value:
        steps.append(abs(baseline_value) * instrument.mcid_pct / 100.0)
    if not steps:
        return None
    step = min(steps)
    value = baseline_value - step if instrument.direction == "higher_worse" else baseline_value + step
    return round(value, 9) + 0.0


def line_with_gaps(
    points: Sequence[MeasurePoint], interval_days: int | None, breaks: Sequence[float] = ()
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The connecting line through ``points``: a NaN break where a value is missing,
    where two measurements are further apart than the expected interval allows, and at
    each of ``breaks`` (the start of an episode: episodes are not joined)."""
    limit = GAP_FACTOR * (interval_days or DEFAULT_INTERVAL_DAYS) * 86400.0
    xs: list[float] = []
    ys: list[float] = []
    previous: float | None = None
    for point in points:
        crosses = previous is not None and any(previous < b <= point.x for b in breaks)
        if previous is not None and (point.x - previous > limit or crosses):
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(point.x)
        ys.append(math.nan if point.value is None else point.value)
        previous = point.x
    return tuple(xs), tuple(ys)


def display_range(instrument: Instrument, values: Iterable[float | None]) -> tuple[float, float]:
    """The y range a measure is drawn on (see ``FULL_RANGE_UNITS``)."""
    lo, hi = instrument.total_min, instrument.total_max
    if instrument.unit in FULL_RANGE_UNITS and lo is not None and hi is not None:
        return float(lo), float(hi)
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return (float(lo), float(hi)) if lo is not None and hi is not None else (0.0, 1.0)
    low, high = min(finite), max(finite)
    pad = max((high - low) * RANGE_PADDING, abs(high) * 0.05, 1.0)
    low, high = low - pad, high + pad
    if lo is not None:
        low = max(low, lo)
    if hi is not None:
        high = min(high, hi)
    return float(low), float(high)


# --- building -------------------------------------------------------------------------------


def _discipline_colours() -> dict[str, str]:
    return {d.code: d.colour for d in disciplines.all_disciplines()}


def measure_order() -> list[str]:
    """Instruments in display order: by discipline, the discipline's key instruments
    first in their listed order, then the rest by name."""
    return list(disciplines.all_measures())


def _point(m, instrument: Instrument) -> MeasurePoint:
    return MeasurePoint(
        measurement_id=m.id,
        taken_at=m.taken_at,
        x=epoch(m.taken_at),
        value=m.total,
        normalised=normalise(instrument, m.total),
        band=m.band,
        band_severity=m.band_severity,
        entered_by=m.entered_by_name,
        safety=m.safety,
        note=m.note,
    )


def band_regions(instrument: Instrument) -> tuple[BandRegion, ...]:
    worst = max((b.severity for b in instrument.bands), default=0)
    return tuple(BandRegion(b.label, b.low, b.high, b.severity, worst) for b in instrument.bands)


def _goals(record: PatientRecord, instrument: Instrument, today_x: float) -> tuple[GoalTarget, ...]:
    out = []
    for goal in record.goals:
        if goal.instrument != instrument.id or goal.target_value is None:
            continue
        out.append(
            GoalTarget(
                goal_id=goal.id,
                text=goal.text,
                value=goal.target_value,
                normalised=normalise(instrument, goal.target_value),
                set_on=goal.set_on,
                due_on=goal.due_on,
                start_x=epoch(goal.set_on),
                end_x=epoch(goal.due_on) if goal.due_on else max(today_x, epoch(goal.set_on)),
                status=goal.status,
            )
        )
    return tuple(out)


def _norm_or_nan(instrument: Instrument, value: float) -> float:
    norm = None if math.isnan(value) else normalise(instrument, value)
    return math.nan if norm is None else norm


def _series(
    record: PatientRecord,
    instrument: Instrument,
    measurements: list,
    colour: str,
    today_x: float,
    breaks: Sequence[float] = (),
) -> MeasureSeries:
    points = tuple(_point(m, instrument) for m in measurements)
    episode_start = record.patient.episode_start
    # Baseline and latest of the current episode: after a readmission the earlier
    # episode's values stay drawn (shaded) but no longer count as this episode's.
    valued = [point_of(m) for m in measurements if m.total is not None and m.taken_at.date() >= episode_start]
    by_id = {p.measurement_id: p for p in points}
    first = analytics.baseline(valued, episode_start)
    last = analytics.latest(valued)
    baseline = by_id[first.id] if first and first.id is not None else None  # points of stored rows: ids set
    latest = by_id[last.id] if last and last.id is not None else None
    threshold = mcid_threshold(instrument, baseline.value if baseline else None)
    goals = _goals(record, instrument, today_x)
    line_x, line_y = line_with_gaps(points, instrument.interval_days, breaks)
    extent = [p.value for p in points] + [g.value for g in goals] + ([threshold] if threshold is not None else [])
    return MeasureSeries(
        instrument=instrument,
        discipline=instrument.discipline,
        colour=colour,
        points=points,
        line_x=line_x,
        line_y=line_y,
        line_norm=tuple(_norm_or_nan(instrument, y) for y in line_y),
        y_range=display_range(instrument, extent),
        bands=band_regions(instrument),
        baseline=baseline,
        mcid_threshold=threshold,
        goals=goals,
        latest=latest,
        change=analytics.change_between(instrument, first, last),
    )


def patient_disciplines(record: PatientRecord) -> tuple[str, ...]:
    """The disciplines involved with the patient: any session, measurement or goal."""
    library = instruments.library()
    involved = {s.discipline for s in record.sessions} | {g.discipline for g in record.goals}
    involved |= {library[m.instrument].discipline for m in record.measurements if m.instrument in library}
    return tuple(d for d in disciplines.codes() if d in involved)


def default_measures(record: PatientRecord, available: Iterable[str]) -> tuple[str, ...]:
    """The key measures of the patient's disciplines that the patient has data for."""
    library = instruments.library()
    involved = set(patient_disciplines(record))
    return tuple(i for i in available if library[i].key_measure and library[i].discipline in involved)


def _checkins(record: PatientRecord) -> tuple[CheckInMarker, ...]:
    return tuple(
        CheckInMarker(c.id, c.held_on, epoch(c.held_on), f"Check-in {c.held_on:%d %b}".replace(" 0", " "))
        for c in record.checkins
    )


def _sessions(record: PatientRecord, colours: dict[str, str]) -> tuple[SessionTick, ...]:
    return tuple(
        SessionTick(
            s.id,
            s.discipline,
            colours.get(s.discipline, "#555555"),
            s.held_at,
            epoch(s.held_at),
            s.kind,
            s.attendance,
            s.clinician_name,
            s.minutes,
        )
        for s in record.sessions
    )


def _flare_text(f) -> str:
    parts = [f"Flare {f.started_on:%d %b %Y}, severity {f.severity}/10"]
    if f.suspected_trigger:
        parts.append(f"trigger: {f.suspected_trigger}")
    if f.what_helped:
        parts.append(f"helped: {f.what_helped}")
    if f.days_to_recover is not None:
        parts.append(f"recovered in {f.days_to_recover} days")
    return "\n".join(parts)


def _flares(record: PatientRecord) -> tuple[FlareMarker, ...]:
    return tuple(
        FlareMarker(
            f.id,
            f.started_on,
            epoch(f.started_on),
            epoch(f.started_on + dt.timedelta(days=f.days_to_recover or 0)),
            f.severity,
            _flare_text(f),
        )
        for f in sorted(record.flares, key=lambda f: f.started_on)
    )


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _episode_spans(record: PatientRecord) -> tuple[EpisodeSpan, ...]:
    spans = []
    for e in record.earlier_episodes:
        end = e.ended_on or e.started_on
        period = f"{_day(e.started_on)} – {_day(end)}"
        spans.append(
            EpisodeSpan(
                e.number,
                e.started_on,
                end,
                epoch(e.started_on),
                epoch(end + dt.timedelta(days=1)),  # to the end of its last day
                f"Episode {e.number}",
                f"Episode {e.number}: {period}, {e.outcome_text}",
            )
        )
    return tuple(spans)


def _fit_range(series: Iterable[MeasureSeries], markers: Iterable[float], today_x: float) -> tuple[float, float]:
    xs = [p.x for s in series for p in s.points] + list(markers) + [today_x]
    lo, hi = min(xs), max(xs)
    pad = max((hi - lo) * 0.03, 3 * 86400.0)
    return lo - pad, hi + pad


def build(record: PatientRecord) -> PatientTimeline:
    """Everything the timeline draws for one patient."""
    library = instruments.library()
    colours = _discipline_colours()
    today_x = epoch(record.today)
    grouped: dict[str, list] = {}
    for m in record.measurements:
        if m.instrument in library:
            grouped.setdefault(m.instrument, []).append(m)
    spans = _episode_spans(record)
    episode_start_x = epoch(record.patient.episode_start)
    breaks = (episode_start_x,) if spans else ()
    series = {
        i: _series(record, library[i], grouped[i], colours.get(library[i].discipline, "#555555"), today_x, breaks)
        for i in measure_order()
        if i in grouped
    }
    checkins, sessions, flares = _checkins(record), _sessions(record, colours), _flares(record)
    marker_xs = [c.x for c in checkins] + [f.x for f in flares] + [s.start_x for s in spans]
    return PatientTimeline(
        patient_id=record.patient.id,
        series=series,
        default_selection=default_measures(record, series),
        checkins=checkins,
        sessions=sessions,
        flares=flares,
        today_x=today_x,
        fit_range=_fit_range(series.values(), marker_xs, today_x),
        earlier_episodes=spans,
        episode_start_x=episode_start_x,
    )


def last_months(today: dt.date, months: int) -> tuple[float, float]:
    """The x range of the last ``months`` months up to a few days past ``today``."""
    start = today - dt.timedelta(days=round(months * 365.25 / 12))
    return epoch(start), epoch(today + dt.timedelta(days=4))
