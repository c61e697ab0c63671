"""Clinical analytics on plain values: change from baseline, clinically meaningful change
(MCID), reliable change (Jacobson & Truax), band movement, NHS Talking Therapies outcomes,
the flags a team reviews, and which of several measurements counts as baseline or latest.

Pure: plain values in, frozen dataclasses out. No database, no Peewee, no Qt. The services
gather the facts; this module decides what they mean.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

from teamdash.clinical import instruments
from teamdash.clinical.instruments import Instrument, ItemFlag
from teamdash.errors import ValidationError

Z95 = 1.96  # |RCI| must exceed this (Jacobson & Truax 1991); exactly 1.96 is not reliable
EPS = 1e-9  # float noise allowance when comparing a change with a threshold

# NHS Talking Therapies (formerly IAPT) caseness: PHQ-9 >= 10 or GAD-7 >= 8 (IAPT Data
# Handbook 2011; NHS Digital definitions). Reliable change thresholds come from the
# instrument definitions (PHQ-9 6, GAD-7 4).
PHQ9_CASENESS = 10
GAD7_CASENESS = 8

# Missed sessions: a streak of this many consecutive missed sessions raises a flag.
MISSED_STREAK_THRESHOLD = 2
# Counted as missed: a no-show, or a cancellation recorded as made by the patient. A plain
# "cancelled" (who cancelled is not recorded; often the clinic) neither counts nor breaks
# the streak: it must not flag a patient whose clinician was ill, nor hide two no-shows
# around it. An attended session ends the streak.
MISSED_ATTENDANCE = frozenset({"no_show", "cancelled_by_patient"})
# A booked session whose outcome is not recorded yet neither ends nor extends a streak.
NEUTRAL_ATTENDANCE = frozenset({"cancelled", "cancelled_by_clinic", "scheduled"})
ATTENDED = frozenset({"attended"})

# Goals in these states are finished and cannot be past due; any other state is open.
CLOSED_GOAL_STATUSES = frozenset(
    {"achieved", "partly_achieved", "not_achieved", "discontinued", "completed", "cancelled"}
)

# Flag kinds in agenda order: safety first, then worsening, then the rest.
FLAG_SEVERITY = {
    "safety": 0,
    "deterioration": 1,
    "review": 2,
    "missed_sessions": 3,
    "checkin_overdue": 4,
    "goal_past_due": 5,
    "overdue_measure": 6,
}


# --- measurement points: baseline, latest, at check-in ---------------------------------


class Point(NamedTuple):
    """One measurement's value: ``(taken_at, value, id)``. ``taken_at`` is a date or a
    datetime; ``id`` orders entries made for the same moment. ``band`` is the stored band
    or subgroup (rule-based measures cannot be banded from the value); ``responses`` and
    ``item_names`` are needed for patient-named items (PSFS activities), whose change is
    computed over the activities rated at both times."""

    taken_at: dt.date | dt.datetime
    value: float | None
    id: int | None = None
    band: str | None = None
    responses: tuple[float | str | None, ...] | None = None
    item_names: tuple[str | None, ...] | None = None


# A Point, or a plain tuple of its fields in order (as a query returns them).
PointLike = Point | tuple[Any, ...]


def _moment(when: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(when, dt.datetime):
        return when
    return dt.datetime.combine(when, dt.time.min)


def _day(when: dt.date | dt.datetime) -> dt.date:
    return when.date() if isinstance(when, dt.datetime) else when


class _InTimeOrder(tuple[Point, ...]):
    """Points with a value, each strictly after the one before (``_order``): the
    earliest is first and the latest last, found without a search. A tuple, so it
    stays in order."""


def series(points: Iterable[PointLike]) -> Sequence[Point]:
    """The points with a value, checked once for use by several of the functions here
    (a summary asks one series for its baseline, latest, change and flags)."""
    return _points(points)


def _points(points: Iterable[PointLike]) -> Sequence[Point]:
    """Points with a value (a PSQI with a missing component has none), as ``Point``s;
    an ``_InTimeOrder`` when they are in time order (as queries return them)."""
    if type(points) is _InTimeOrder:
        return points
    out: list[Point] = []
    ordered, previous = True, None
    for raw in points:
        p = raw if type(raw) is Point else Point(*raw)  # a Point is kept as it is (immutable)
        if p.value is not None:
            if ordered:
                key = _order(p)
                ordered = previous is None or previous < key  # ties are left to the search
                previous = key
            out.append(p)
    return _InTimeOrder(out) if ordered else out


def _from(valid: Sequence[Point], episode_start: dt.date | dt.datetime | None) -> Sequence[Point]:
    """The points taken on or after the episode's first day (all without one)."""
    if episode_start is None:
        return valid
    start = _day(episode_start)
    kept = [p for p in valid if _day(p.taken_at) >= start]
    return _InTimeOrder(kept) if type(valid) is _InTimeOrder else kept


def _order(point: Point) -> tuple[dt.datetime, int]:
    # Later time wins; for an identical time the later entry (higher id) wins, because
    # it was entered to replace or correct the first. Both rows are kept by the caller.
    taken_at = point.taken_at
    moment = taken_at if type(taken_at) is dt.datetime else _moment(taken_at)
    return (moment, point.id if point.id is not None else -1)


def latest(points: Iterable[PointLike]) -> Point | None:
    """The measurement taken last (ties: the later entry). Out-of-order entry does not
    matter: the time taken decides, not the order of the list."""
    return _latest(_points(points))


def _latest(valid: Sequence[Point]) -> Point | None:
    """``latest`` of points already checked by ``_points``."""
    if type(valid) is _InTimeOrder:
        return valid[-1] if valid else None
    return max(valid, key=_order) if valid else None


def baseline(points: Iterable[PointLike], episode_start: dt.date | dt.datetime | None = None) -> Point | None:
    """The first measurement of the episode (taken on or after ``episode_start``). When two
    share the first moment, the later entry is taken, as for ``latest``."""
    return _baseline(_from(_points(points), episode_start))


def _baseline(valid: Sequence[Point]) -> Point | None:
    """``baseline`` of points already checked by ``_points`` (and limited to the episode)."""
    if not valid:
        return None
    if type(valid) is _InTimeOrder:  # the last of the points sharing the first moment
        first = _moment(valid[0].taken_at)
        at = 0
        while at + 1 < len(valid) and _moment(valid[at + 1].taken_at) == first:
            at += 1
        return valid[at]
    first = min(_moment(p.taken_at) for p in valid)
    return max((p for p in valid if _moment(p.taken_at) == first), key=_order)


def at_or_before(points: Iterable[PointLike], when: dt.date | dt.datetime) -> Point | None:
    """The latest measurement taken at or before ``when`` (a date includes that whole
    day): the value the team saw at a check-in."""
    return _at_or_before(_points(points), when)


def _at_or_before(valid: Sequence[Point], when: dt.date | dt.datetime) -> Point | None:
    """``at_or_before`` of points already checked by ``_points``."""
    limit = when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time.max)
    if type(valid) is _InTimeOrder:
        taken = bisect.bisect_right(valid, limit, key=lambda p: _moment(p.taken_at))
        return valid[taken - 1] if taken else None
    return _latest([p for p in valid if _moment(p.taken_at) <= limit])


# --- change -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    instrument: str
    baseline: float | None
    current: float | None
    points: float | None  # current - baseline
    percent: float | None  # of baseline; None when the baseline is 0
    verdict: str | None  # "better" / "worse" / "unchanged"; None without values or direction
    improvement: float | None  # points in the better direction (negative = worse)
    mcid_met: bool | None  # a clinically meaningful improvement; None when no MCID is known
    meaningful_deterioration: bool | None
    rci: float | None  # (x2 - x1) / S_diff; None when only a published threshold is known
    rci_verdict: str | None  # "reliable improvement" / "reliable deterioration" / "no reliable change"
    reliable_threshold: float | None  # the change that is more than measurement error
    band_from: str | None
    band_to: str | None
    band_movement: str | None  # "Moderate → Mild" when the band changed
    band_direction: str | None  # "better" / "worse" / "same"
    # Patient-named items (PSFS): how many named items, rated at both times, the change
    # is computed over (baseline and current are their means then).
    matched_items: int | None = None
    # Why there is no change to show ("baseline only", "no activity rated at both times").
    reason: str | None = None

    @property
    def reliable_improvement(self) -> bool:
        return self.rci_verdict == "reliable improvement"

    @property
    def reliable_deterioration(self) -> bool:
        return self.rci_verdict == "reliable deterioration"


def change(
    instrument: Instrument,
    baseline: float | None,
    current: float | None,
    *,
    band_from: str | None = None,
    band_to: str | None = None,
) -> Change:
    """Change from ``baseline`` to ``current``, direction-aware. MCID and reliable change
    are judged separately: one asks whether it matters to the patient, the other whether
    it is more than measurement noise. ``band_from``/``band_to`` override the bands looked
    up from the values (rule-based instruments such as STarT Back store their subgroup)."""
    band_from = band_from or _band_label(instrument, baseline)
    band_to = band_to or _band_label(instrument, current)
    if baseline is None or current is None:
        return no_change(instrument, baseline, current, band_from=band_from, band_to=band_to)
    points = _tidy(current - baseline)
    improvement = _improvement(instrument, points)
    rci, rci_verdict = _reliable(instrument, points, improvement)
    return Change(
        instrument=instrument.id,
        baseline=baseline,
        current=current,
        points=points,
        percent=_tidy(points * 100 / baseline) if baseline else None,
        verdict=_verdict(points, improvement),
        improvement=improvement,
        mcid_met=_meaningful(instrument, improvement, baseline),
        meaningful_deterioration=_meaningful(
            instrument, None if improvement is None else -improvement, baseline, worse=True
        ),
        rci=rci,
        rci_verdict=rci_verdict,
        reliable_threshold=instrument.reliable_change,
        band_from=band_from,
        band_to=band_to,
        band_movement=f"{band_from} → {band_to}" if band_from and band_to and band_from != band_to else None,
        band_direction=_band_direction(instrument, band_from, band_to),
    )


def no_change(
    instrument: Instrument,
    baseline: float | None = None,
    current: float | None = None,
    *,
    band_from: str | None = None,
    band_to: str | None = None,
    reason: str | None = None,
) -> Change:
    """A Change with nothing to judge: one value missing, or no second measurement."""
    return Change(
        instrument.id,
        baseline,
        current,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        instrument.reliable_change,
        band_from,
        band_to,
        None,
        None,
        reason=reason,
    )


def _tidy(value: float) -> float:
    return round(value, 9) + 0.0


def _improvement(instrument: Instrument, points: float) -> float | None:
    if instrument.direction == "higher_better":
        return points
    if instrument.direction == "higher_worse":
        return -points
    return None


def _verdict(points: float, improvement: float | None) -> str | None:
    if abs(points) <= EPS:
        return "unchanged"
    if improvement is None:
        return None
    return "better" if improvement > 0 else "worse"


def _meaningful(instrument: Instrument, gain: float | None, baseline: float, *, worse: bool = False) -> bool | None:
    """Did the change move ``gain`` points in one direction by at least the MCID? The
    absolute MCID or the percent-of-baseline MCID, whichever the definition gives (pain and
    disability carry both: Ostelo 2008's 2/10/5 points or 30 %). For deterioration the
    absolute MCID is used when there is one: a 1-point rise from a baseline of 2 is +50 %
    but not a meaningful worsening."""
    if gain is None or (instrument.mcid_abs is None and instrument.mcid_pct is None):
        return None
    if instrument.mcid_abs is not None and gain >= instrument.mcid_abs - EPS:
        return True
    pct = instrument.mcid_pct
    if pct is None or not baseline or (worse and instrument.mcid_abs is not None):
        return False
    return gain * 100 / abs(baseline) >= pct - EPS


def _reliable(instrument: Instrument, points: float, improvement: float | None) -> tuple[float | None, str | None]:
    return _reliable_by(instrument.sem, instrument.reliable_change, points, improvement)


def _reliable_by(
    sem: float | None, threshold: float | None, points: float, improvement: float | None
) -> tuple[float | None, str | None]:
    if sem is not None:
        rci = points / (math.sqrt(2) * sem)
        # rounding first keeps a change of exactly 1.96 S_diff on the 'not reliable' side
        reliable = round(abs(rci), 9) > Z95
    elif threshold is not None:
        rci = None  # a published "N or more points" criterion: no S_diff to divide by
        reliable = abs(points) >= threshold - EPS
    else:
        return None, None
    if improvement is None:
        return rci, None
    if not reliable:
        return rci, "no reliable change"
    return rci, "reliable improvement" if improvement > 0 else "reliable deterioration"


def _band_label(instrument: Instrument, value: float | None) -> str | None:
    band = instrument.band_for(value)
    return band.label if band else None


def band_severity(instrument: Instrument, label: str | None) -> int | None:
    """The severity rank of a band or subgroup label (0 = best)."""
    band = instrument.band_named(label)
    if band is not None:
        return band.severity
    groups = instrument.scoring.subgroups if instrument.scoring else ()
    return next((g.severity for g in groups if g.label == label), None)


def _band_direction(instrument: Instrument, band_from: str | None, band_to: str | None) -> str | None:
    before, after = band_severity(instrument, band_from), band_severity(instrument, band_to)
    if before is None or after is None:
        return None
    return "same" if before == after else ("better" if after < before else "worse")


# --- change between two measurements (patient-named items matched) -----------------------


@dataclass(frozen=True)
class ItemChange:
    """One patient-named item (a PSFS activity) at two times."""

    name: str
    before: float | None  # None: not rated then (named later, or left unrated)
    after: float | None
    points: float | None  # after - before when rated both times
    improvement: float | None
    rci: float | None
    rci_verdict: str | None  # judged with the single-item reliability (PSFS: MDC90 3)

    @property
    def matched(self) -> bool:
        return self.points is not None


def _named(point: Point) -> dict[str, tuple[str, float | None]]:
    """A point's named items: comparison key -> (name as written, rating)."""
    names = point.item_names or ()
    ratings = point.responses or ()
    out: dict[str, tuple[str, float | None]] = {}
    for name, rating in zip(names, ratings):
        if name:
            value = rating if isinstance(rating, (int, float)) and not isinstance(rating, bool) else None
            out[instruments.normal_item_name(name)] = (name, value)
    return out


def item_changes(instrument: Instrument, before: Point | None, after: Point | None) -> tuple[ItemChange, ...]:
    """Each named item of either administration, in the later one's order, then the ones
    dropped since: its ratings then and now, and the change where it was rated both times."""
    if not instrument.named_items or before is None or after is None:
        return ()
    then, now = _named(before), _named(after)
    out = []
    for key in [*now, *(k for k in then if k not in now)]:
        name, after_value = now[key] if key in now else (then[key][0], None)
        before_value = then[key][1] if key in then else None
        if before_value is None or after_value is None or before.id == after.id:
            out.append(ItemChange(name, before_value, after_value, None, None, None, None))
            continue
        points = _tidy(after_value - before_value)
        improvement = _improvement(instrument, points)
        rci, verdict = _reliable_by(instrument.item_sem, instrument.item_reliable_change, points, improvement)
        out.append(ItemChange(name, before_value, after_value, points, improvement, rci, verdict))
    return tuple(out)


def change_between(instrument: Instrument, before: Point | None, after: Point | None) -> Change:
    """The change from one measurement to a later one, as every screen and workbook shows
    it. Stored bands are used when the points carry them. For patient-named items (PSFS)
    the change is computed over the items named and rated at both times: the mean of
    those items then and now, never the means of different activities."""
    if before is None or after is None:
        return no_change(
            instrument,
            before.value if before else None,
            after.value if after else None,
            band_from=before.band if before else None,
            band_to=after.band if after else None,
            reason="no earlier value" if after is not None else None,
        )
    if before.id is not None and before.id == after.id:
        return no_change(
            instrument, before.value, after.value, band_from=before.band, band_to=after.band, reason="one measurement"
        )
    if not instrument.named_items:
        return change(instrument, before.value, after.value, band_from=before.band, band_to=after.band)
    if before.item_names is None or after.item_names is None:
        return no_change(
            instrument,
            before.value,
            after.value,
            reason=f"{instrument.item_name_words(2)} not named: change not computed",
        )
    pairs = [
        (c.before, c.after)
        for c in item_changes(instrument, before, after)
        if c.before is not None and c.after is not None
    ]
    if not pairs:
        return no_change(
            instrument,
            before.value,
            after.value,
            reason=f"no {instrument.item_name_words()} rated at both times",
        )
    then = sum(b for b, _ in pairs) / len(pairs)
    now = sum(a for _, a in pairs) / len(pairs)
    return replace(change(instrument, _tidy(then), _tidy(now)), matched_items=len(pairs))


# --- progress over an episode ----------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """One measure's progress row: what the panels, the per-patient and cohort
    workbooks and the check-in summary show for it. Baseline is the first measurement of
    the episode, ``last_checkin`` the value the team saw at the last check-in, ``latest``
    the newest; each change carries its MCID and reliable-change verdicts and band move."""

    instrument: str
    baseline: Point | None
    last_checkin: Point | None
    latest: Point | None
    from_baseline: Change  # points None with a reason when there is nothing to compare
    from_checkin: Change | None  # None without a check-in
    count: int = 0  # measurements with a value this episode
    due_on: dt.date | None = None  # next due: latest + the measure's interval
    overdue_after: dt.date | None = None  # due + grace: overdue from the day after
    items_from_baseline: tuple[ItemChange, ...] = ()  # patient-named items (PSFS activities)
    items_from_checkin: tuple[ItemChange, ...] = ()
    history: tuple[Point, ...] = ()  # this episode, in time order

    @property
    def mcid_met(self) -> bool | None:
        return self.from_baseline.mcid_met

    @property
    def rci_verdict(self) -> str | None:
        return self.from_baseline.rci_verdict

    @property
    def band_movement(self) -> str | None:
        return self.from_baseline.band_movement

    def overdue(self, today: dt.date) -> bool:
        return self.overdue_after is not None and today > self.overdue_after


def progress(
    instrument: Instrument,
    points: Iterable[PointLike],
    episode_start: dt.date | dt.datetime | None = None,
    last_checkin_at: dt.date | dt.datetime | None = None,
) -> Progress:
    """Baseline (first in the episode), value at the last check-in, latest, the change
    from baseline and from the last check-in (MCID, reliable change, band movement;
    patient-named items matched by name), and when the measure is next due."""
    pts = _from(_points(points), episode_start)
    if type(pts) is not _InTimeOrder:
        pts = sorted(pts, key=_order)
    first, last = baseline(pts), latest(pts)
    at_checkin = at_or_before(pts, last_checkin_at) if last_checkin_at is not None else None
    if last_checkin_at is None:
        from_checkin = None
    elif at_checkin is None:
        from_checkin = no_change(instrument, None, last.value if last else None, reason="no value at the last check-in")
    elif last is not None and at_checkin.id == last.id:
        from_checkin = no_change(instrument, at_checkin.value, last.value, reason="no new value since the check-in")
    else:
        from_checkin = change_between(instrument, at_checkin, last)
    from_baseline = change_between(instrument, first, last)
    if first is not None and last is not None and first.id == last.id:
        from_baseline = replace(from_baseline, reason="baseline only")
    return Progress(
        instrument=instrument.id,
        baseline=first,
        last_checkin=at_checkin,
        latest=last,
        from_baseline=from_baseline,
        from_checkin=from_checkin,
        count=len(pts),
        due_on=measure_due_date(instrument, last.taken_at) if last else None,
        overdue_after=measure_overdue_after(instrument, last.taken_at) if last else None,
        items_from_baseline=item_changes(instrument, first, last),
        items_from_checkin=item_changes(instrument, at_checkin, last) if at_checkin is not None else (),
        history=tuple(pts),
    )


# --- NHS Talking Therapies outcomes ----------------------------------------------------


@dataclass(frozen=True)
class IaptOutcome:
    case_at_start: bool
    case_at_end: bool
    phq9_change: float
    gad7_change: float
    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool | None  # None: not a case at the start, so recovery does not apply
    reliable_recovery: bool | None

    @property
    def summary(self) -> str:
        if self.reliable_recovery:
            return "Reliable recovery"
        if self.recovery:
            return "Recovery"
        if self.reliable_improvement:
            return "Reliable improvement"
        if self.reliable_deterioration:
            return "Reliable deterioration"
        return "No reliable change" if self.case_at_start else "Not a case at the start"


def iapt_outcome(phq9_first: float, phq9_last: float, gad7_first: float, gad7_last: float) -> IaptOutcome:
    """NHS Talking Therapies (IAPT) outcome from first and last PHQ-9 and GAD-7 totals.
    Caseness: PHQ-9 >= 10 or GAD-7 >= 8. Reliable improvement: PHQ-9 down 6 or more or
    GAD-7 down 4 or more, with no reliable deterioration on the other; reliable
    deterioration mirrors it. Recovery: a case at the start and below caseness on both at
    the end. Reliable recovery: both."""
    values = (phq9_first, phq9_last, gad7_first, gad7_last)
    if any(v is None for v in values):
        raise ValidationError("an NHS Talking Therapies outcome needs first and last PHQ-9 and GAD-7 totals")
    phq9, gad7 = instruments.get("phq9"), instruments.get("gad7")
    phq_change, gad_change = _tidy(phq9_last - phq9_first), _tidy(gad7_last - gad7_first)
    thresholds = ((phq_change, _reliable_change(phq9)), (gad_change, _reliable_change(gad7)))
    improved = [c <= -r for c, r in thresholds]
    worse = [c >= r for c, r in thresholds]
    case_start = phq9_first >= PHQ9_CASENESS or gad7_first >= GAD7_CASENESS
    case_end = phq9_last >= PHQ9_CASENESS or gad7_last >= GAD7_CASENESS
    reliable_improvement = any(improved) and not any(worse)
    recovery = (not case_end) if case_start else None
    return IaptOutcome(
        case_at_start=case_start,
        case_at_end=case_end,
        phq9_change=phq_change,
        gad7_change=gad_change,
        reliable_improvement=reliable_improvement,
        reliable_deterioration=any(worse) and not any(improved),
        recovery=recovery,
        reliable_recovery=(recovery and reliable_improvement) if case_start else None,
    )


# --- flags ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    kind: str  # safety, deterioration, review, missed_sessions, checkin_overdue, goal_past_due, overdue_measure
    severity: int  # 0 = most urgent (safety); the agenda sorts by it
    reason: str  # what a clinician reads
    instrument: str | None = None
    measurement_id: int | None = None
    since: dt.date | None = None  # when the flagged state began (measurement or due date)
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None

    @property
    def open(self) -> bool:
        """A safety flag stays open until acknowledged; other flags are open while true."""
        return self.acknowledged_at is None


def _reliable_change(instrument: Instrument) -> float:
    if instrument.reliable_change is None:
        raise instruments.DefinitionError(f"instrument {instrument.id} has no reliable change threshold")
    return instrument.reliable_change


def _flag(kind: str, reason: str, **extra: Any) -> Flag:
    return Flag(kind=kind, severity=FLAG_SEVERITY[kind], reason=reason, **extra)


def sort_flags(flags: Iterable[Flag]) -> list[Flag]:
    """Safety first, then worsening, then the rest; older first within a kind."""
    return sorted(flags, key=lambda f: (f.severity, f.since or dt.date.max, f.reason))


class Acknowledgement(NamedTuple):
    by: str
    at: dt.datetime


class SafetyFact(NamedTuple):
    """A measurement's safety-relevant facts: its item flags from ``ScoreResult.flags``."""

    measurement_id: int | None
    instrument: str
    taken_at: dt.date | dt.datetime
    item_flags: tuple[ItemFlag, ...]


def safety_flag(
    instrument_id: str,
    taken_at: dt.date | dt.datetime,
    measurement_id: int | None = None,
    item_flag: ItemFlag | None = None,
    acknowledgement: Acknowledgement | None = None,
) -> Flag:
    """The flag for one measurement with a positive safety item. Without the item flag's
    own text (only 'safety' stored), the reason is built from the definition."""
    inst = instruments.get(instrument_id)
    if item_flag is not None:
        detail = item_flag.reason
    else:
        rules = inst.scoring.flags if inst.scoring is not None else ()
        rule = next((r for r in rules if r.kind == "safety"), None)
        item = inst.items[rule.item - 1] if rule else None
        what = f"item {rule.item}" + (f" ({item.label})" if item and item.label else "") if rule else "a safety item"
        detail = f"{inst.short_name} {what} answered positively: assess risk and follow the safety protocol"
    return _flag(
        "safety",
        f"{_day(taken_at):%Y-%m-%d}: {detail}",
        instrument=instrument_id,
        measurement_id=measurement_id,
        since=_day(taken_at),
        acknowledged_by=acknowledgement.by if acknowledgement else None,
        acknowledged_at=acknowledgement.at if acknowledgement else None,
    )


def safety_flags(
    facts: Iterable[SafetyFact],
    acknowledgements: Mapping[int, Acknowledgement] | Collection[int] = (),
    *,
    include_acknowledged: bool = False,
) -> list[Flag]:
    """Safety flags from positive safety items. They cannot be hidden: each stays open
    until a clinician's acknowledgement (who and when) is recorded for its measurement;
    acknowledged ones are returned only when asked for, marked with who and when."""
    by_id = acknowledgements if isinstance(acknowledgements, Mapping) else dict.fromkeys(acknowledgements)
    out = []
    for fact in facts:
        ack = by_id.get(fact.measurement_id) if fact.measurement_id is not None else None
        if fact.measurement_id in by_id and not include_acknowledged:
            continue
        for item_flag in (f for f in fact.item_flags if f.kind == "safety"):
            out.append(safety_flag(fact.instrument, fact.taken_at, fact.measurement_id, item_flag, ack))
    return sort_flags(out)


def reliable_deterioration(
    change: Change, *, measurement_id: int | None = None, since: dt.date | dt.datetime | None = None
) -> Flag | None:
    """A deterioration flag when the change is a reliable deterioration."""
    if not change.reliable_deterioration:
        return None
    inst = instruments.get(change.instrument)
    band = f"; {change.band_movement}" if change.band_movement else ""
    threshold = f"{inst.reliable_change:.1f}".rstrip("0").rstrip(".")
    rule = "or more" if inst.reliable_change_inclusive else "exceeded"
    over = ""
    if change.matched_items:
        over = f" over the {change.matched_items} {inst.item_name_words(change.matched_items)} rated both times"
    reason = (
        f"{inst.short_name} reliably worse{over}: {inst.format(change.baseline)} → {inst.format(change.current)} "
        f"({change.points:+.{inst.decimals}f}{band}); reliable change {threshold} points {rule}"
    )
    return _flag(
        "deterioration",
        reason,
        instrument=inst.id,
        measurement_id=measurement_id,
        since=_day(since) if since is not None else None,
    )


def deterioration_flag(
    instrument: Instrument,
    points: Iterable[PointLike],
    episode_start: dt.date | None = None,
    last_checkin_at: dt.date | dt.datetime | None = None,
) -> Flag | None:
    """Reliable deterioration of the latest measurement from the episode's baseline or,
    failing that, from the value at the last check-in: a relapse after good progress
    can still sit below baseline, and the team needs to see it."""
    pts = _from(_points(points), episode_start)
    first, last = _baseline(pts), _latest(pts)
    if first is None or last is None or first == last:
        return None
    flag = _deterioration_between(instrument, first, last)
    if flag is not None or last_checkin_at is None:
        return flag
    reviewed = _at_or_before(pts, last_checkin_at)
    if reviewed is None or reviewed in (first, last):
        return None
    flag = _deterioration_between(instrument, reviewed, last)
    if flag is None:
        return None
    return replace(flag, reason=f"{flag.reason} since the check-in of {_day(last_checkin_at):%Y-%m-%d}")


def _deterioration_between(instrument: Instrument, before: Point, after: Point) -> Flag | None:
    """``reliable_deterioration`` of ``change_between``. Most changes are not reliably
    worse: for two values (no patient-named items to match) that is judged as ``change``
    judges it, before the whole ``Change`` and its wording are built (a list summary asks
    this of every series of every patient)."""
    if not instrument.named_items and before.id != after.id:
        points = _tidy(after.value - before.value)  # type: ignore[operator]  # a series' points have values
        if _reliable(instrument, points, _improvement(instrument, points))[1] != "reliable deterioration":
            return None
    return reliable_deterioration(
        change_between(instrument, before, after), measurement_id=after.id, since=after.taken_at
    )


def missed_session_streak(attendance_in_date_order: Sequence[str]) -> int:
    """How many of the most recent sessions in a row were missed (no-show or cancelled
    by the patient). Plain cancellations are skipped; an attended session ends the streak."""
    streak = 0
    for status in reversed(list(attendance_in_date_order)):
        if status in MISSED_ATTENDANCE:
            streak += 1
        elif status in ATTENDED:
            break
        elif status not in NEUTRAL_ATTENDANCE:
            raise ValueError(f"unknown attendance {status!r}")
    return streak


def missed_sessions_flag(streak: int | Sequence[str], discipline: str | None = None) -> Flag | None:
    """A flag at ``MISSED_STREAK_THRESHOLD`` or more consecutive missed sessions. Takes
    the streak or the attendance list itself."""
    if not isinstance(streak, int):
        streak = missed_session_streak(streak)
    if streak < MISSED_STREAK_THRESHOLD:
        return None
    where = f" ({discipline})" if discipline else ""
    return _flag("missed_sessions", f"{streak} sessions in a row missed{where}: no-show or cancelled by the patient")


def measure_due_date(instrument: Instrument, last_taken: dt.date | dt.datetime | None) -> dt.date | None:
    """When the measure is next due: last taken + the suggested interval."""
    if last_taken is None or instrument.interval_days is None:
        return None
    return _day(last_taken) + dt.timedelta(days=instrument.interval_days)


def overdue_grace(instrument: Instrument) -> dt.timedelta:
    """Days a measure may slip before it is flagged: a weekly pain rating a day late is
    noise at a team meeting, a six-weekly questionnaire a week late is not."""
    return dt.timedelta(days=max(2, (instrument.interval_days or 0) // 6))


def measure_overdue_after(instrument: Instrument, last_taken: dt.date | dt.datetime | None) -> dt.date | None:
    """The last day before the measure counts as overdue (due date + grace)."""
    due = measure_due_date(instrument, last_taken)
    return None if due is None else due + overdue_grace(instrument)


def _overdue_measure(instrument: Instrument, due: dt.date, today: dt.date, last: dt.date | None = None) -> Flag | None:
    late = (today - due).days
    if today <= due + overdue_grace(instrument):
        return None
    taken = f"last taken {last:%Y-%m-%d}; " if last else ""
    reason = f"{instrument.short_name} overdue by {late} day{'s' if late != 1 else ''} ({taken}due every {instrument.interval_days} days, by {due:%Y-%m-%d})"
    return _flag("overdue_measure", reason, instrument=instrument.id, since=due)


def overdue_measure(instrument: Instrument, last_taken: dt.date | dt.datetime | None, today: dt.date) -> Flag | None:
    """Overdue when today is past last taken + interval + grace. A measure never taken
    has no interval to be late for (its baseline is the intake's business), so no flag."""
    if last_taken is None:
        return None
    due = measure_due_date(instrument, last_taken)
    return _overdue_measure(instrument, due, today, _day(last_taken)) if due else None


def goal_past_due(due: dt.date | None, status: str, today: dt.date, title: str | None = None) -> Flag | None:
    """An unfinished goal whose due date has passed (the due day itself is not late)."""
    if due is None or status in CLOSED_GOAL_STATUSES or today <= due:
        return None
    late = (today - due).days
    what = f"Goal '{title}'" if title else "A goal"
    return _flag(
        "goal_past_due",
        f"{what} was due {due:%Y-%m-%d} ({late} day{'s' if late != 1 else ''} ago) and is still {status.replace('_', ' ')}",
        since=due,
    )


def checkin_overdue(next_checkin: dt.date | None, today: dt.date) -> Flag | None:
    """The team check-in date has passed without a check-in (due today is not overdue)."""
    if next_checkin is None or today <= next_checkin:
        return None
    late = (today - next_checkin).days
    return _flag(
        "checkin_overdue",
        f"Check-in overdue by {late} day{'s' if late != 1 else ''} (was due {next_checkin:%Y-%m-%d})",
        since=next_checkin,
    )


def review_flag(note: str | None = None) -> Flag:
    """A clinician flagged the patient for the next team meeting."""
    text = (note or "").strip()
    return _flag("review", f"Flagged for team review: {text}" if text else "Flagged for team review")


def date_flags(
    *,
    today: dt.date,
    measure_overdue_after: dt.date | None = None,
    measure_overdue_instrument: str | None = None,
    goal_due_min: dt.date | None = None,
    next_checkin: dt.date | None = None,
) -> list[Flag]:
    """The flags that depend on today's date, from stored dates: the day after which the
    earliest measure is overdue, the earliest due date among open goals, and the next
    check-in."""
    out = []
    if measure_overdue_after is not None and measure_overdue_instrument:
        instrument = instruments.get(measure_overdue_instrument)
        out.append(_overdue_measure(instrument, measure_overdue_after - overdue_grace(instrument), today))
    out.append(goal_past_due(goal_due_min, "active", today))
    out.append(checkin_overdue(next_checkin, today))
    return [f for f in out if f is not None]


# --- storage form -----------------------------------------------------------------------


def flag_to_dict(flag: Flag) -> dict[str, Any]:
    """A JSON-ready form (dates as ISO text) for storing flags with a summary row."""
    out = asdict(flag)
    out["since"] = flag.since.isoformat() if flag.since else None
    out["acknowledged_at"] = flag.acknowledged_at.isoformat() if flag.acknowledged_at else None
    return out


def flag_from_dict(d: Mapping[str, Any]) -> Flag:
    kind = d["kind"]
    return Flag(
        kind=kind,
        severity=d.get("severity", FLAG_SEVERITY.get(kind, max(FLAG_SEVERITY.values()))),
        reason=d["reason"],
        instrument=d.get("instrument"),
        measurement_id=d.get("measurement_id"),
        since=dt.date.fromisoformat(d["since"]) if d.get("since") else None,
        acknowledged_by=d.get("acknowledged_by"),
        acknowledged_at=dt.datetime.fromisoformat(d["acknowledged_at"]) if d.get("acknowledged_at") else None,
    )
