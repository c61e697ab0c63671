"""The per-patient summary row behind the patient list: latest pain and disability with
their change, and the flags. Kept current by every service write, in the same
transaction, so a list page is one query however many patients and measurements there
are. Flags that depend on today's date (overdue measure, goal past due, check-in
overdue) are stored as dates and judged when read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import peewee as pw

from teamdash import clock
from teamdash.clinical import analytics, disciplines, instruments
from teamdash.clinical.analytics import Flag
from teamdash.storage import bulk
from teamdash.storage.db import database
from teamdash.storage.models import (
    CheckIn,
    Goal,
    Measurement,
    Patient,
    PatientSummary,
    RtwPhase,
    SafetyAcknowledgement,
    Session,
)
from teamdash.storage.queries import Query, Row, tuples

PAIN = "nrs_pain"
DISABILITY = ("odi", "rmdq")  # the first one a patient has in this episode is shown
MISSED_STREAK_FLAG = analytics.MISSED_STREAK_THRESHOLD

SUMMARY_LIST_COLUMNS = (
    PatientSummary.pain_latest,
    PatientSummary.pain_change,
    PatientSummary.pain_verdict,
    PatientSummary.disability_instrument,
    PatientSummary.disability_latest,
    PatientSummary.disability_band,
    PatientSummary.disability_change,
    PatientSummary.disability_verdict,
    PatientSummary.measure_overdue_after,
    PatientSummary.measure_overdue_instrument,
    PatientSummary.goal_due_min,
    PatientSummary.missed_streak,
    PatientSummary.safety_open,
    PatientSummary.deterioration,
    PatientSummary.rtw_phase,
    PatientSummary.flag_reasons,
)


@dataclass(frozen=True)
class PatientFacts:
    """What a summary is computed from, gathered in a few queries (one patient or all)."""

    patient_id: int
    episode_start: dt.date
    active: bool
    # (measurement id, instrument, taken_at, total, band, safety, responses, item_names) in
    # time order; responses and item names only for patient-named instruments (PSFS)
    measurements: list[Row]
    acknowledged: set[int]
    # attendance of sessions already held, in time order
    attendance: list[str]
    goal_due_min: dt.date | None
    rtw_phase: int | None
    last_session_on: dt.date | None
    last_checkin: dt.date | None = None


def compute(facts: PatientFacts) -> dict[str, Any]:
    """The summary row's values (pure)."""
    points: dict[str, list[analytics.Point]] = defaultdict(list)
    flags: list[Flag] = []
    for mid, instrument_id, taken_at, total, band, safety, *named in facts.measurements:
        if safety and mid not in facts.acknowledged:
            flags.append(analytics.safety_flag(instrument_id, taken_at, mid))
        if total is not None and taken_at.date() >= facts.episode_start:
            responses, names = named if named else (None, None)
            points[instrument_id].append(analytics.Point(taken_at, total, mid, band, responses, names))
    # Each series is asked for its baseline, latest value, change and flags: checked once.
    series = {instrument_id: analytics.series(pts) for instrument_id, pts in points.items()}

    row: dict[str, Any] = {"patient": facts.patient_id, "safety_open": len(flags)}
    row.update(_measure_columns("pain", PAIN, series.get(PAIN)))
    disability = next((i for i in DISABILITY if series.get(i)), None)
    row.update(_measure_columns("disability", disability, series.get(disability) if disability else None))
    row["disability_instrument"] = disability
    row["disability_norm"] = _normalised(disability, row["disability_latest"])

    deteriorations = [
        f
        for f in (
            analytics.deterioration_flag(instruments.get(i), pts, last_checkin_at=facts.last_checkin)
            for i, pts in series.items()
        )
        if f
    ]
    flags += deteriorations
    # Missed sessions matter while the patient is in the programme.
    missed = analytics.missed_session_streak(facts.attendance) if facts.active else 0
    missed_flag = analytics.missed_sessions_flag(missed)
    if missed_flag:
        flags.append(missed_flag)

    due, due_instrument = _first_overdue(series)
    last = max((pts[-1].taken_at for pts in series.values()), default=None)
    row.update(
        deterioration=len(deteriorations),
        missed_streak=missed,
        measure_overdue_after=due,
        measure_overdue_instrument=due_instrument,
        goal_due_min=facts.goal_due_min,
        rtw_phase=facts.rtw_phase,
        last_measured_at=last,
        last_session_on=facts.last_session_on,
        flag_reasons=[analytics.flag_to_dict(f) for f in flags],
        refreshed_at=clock.now(),
    )
    return row


def _measure_columns(
    prefix: str, instrument_id: str | None, points: Sequence[analytics.Point] | None
) -> dict[str, object]:
    """Latest value, change from baseline and its direction-aware verdict."""
    out: dict[str, object] = {f"{prefix}_latest": None, f"{prefix}_change": None, f"{prefix}_verdict": None}
    if prefix == "disability":
        out["disability_band"] = None
    latest = analytics.latest(points) if points else None
    if not points or instrument_id is None or latest is None:  # every point has a value
        return out
    definition = instruments.get(instrument_id)
    out[f"{prefix}_latest"] = latest.value
    if prefix == "disability":
        band = definition.band_for(latest.value)
        out["disability_band"] = band.label if band else None
    if len(points) > 1:
        change = analytics.change_between(definition, analytics.baseline(points), latest)
        out[f"{prefix}_change"] = change.points
        out[f"{prefix}_verdict"] = change.verdict
    return out


def _normalised(instrument_id: str | None, value: float | None) -> float | None:
    if instrument_id is None or value is None:
        return None
    definition = instruments.get(instrument_id)
    low, high = definition.total_min, definition.total_max
    if low is None or high is None:  # the disability measures (ODI, RMDQ) have a range
        return None
    return 100.0 * (value - low) / (high - low)


def _first_overdue(series: dict[str, Sequence[analytics.Point]]) -> tuple[dt.date | None, str | None]:
    best: tuple[dt.date | None, str | None] = (None, None)
    for instrument_id, points in series.items():
        latest = analytics.latest(points)
        if latest is None:  # a series holds measured values only
            continue
        due = analytics.measure_overdue_after(instruments.get(instrument_id), latest.taken_at)
        if due is not None and (best[0] is None or due < best[0]):
            best = (due, instrument_id)
    return best


# --- gathering facts -----------------------------------------------------------------


def _facts_for(patient_ids: list[int] | None, now: dt.datetime) -> Iterable[PatientFacts]:
    """Facts for some patients (None: all) in five queries, whatever their number."""

    def restrict(query: Query, field: pw.Field[Any]) -> Query:
        return query if patient_ids is None else query.where(field.in_(patient_ids))

    patients = restrict(Patient.select(Patient.id, Patient.episode_start, Patient.status), Patient.id)
    measurements: dict[int, list[Row]] = defaultdict(list)
    named = {i for i, inst in instruments.library().items() if inst.named_items}
    decoded: dict[str, tuple | None] = {}  # a patient's activity names repeat on every rating
    moments: dict[Any, dt.datetime] = {}  # the measures of one visit share their time
    # Raw rows: Peewee's per-value conversion costs more than the query here. Responses
    # and names are read only for patient-named instruments (their change matches items).
    for pid, mid, instrument_id, taken_at, total, band, safety, responses, names in database.execute(
        restrict(
            Measurement.select(
                Measurement.patient,
                Measurement.id,
                Measurement.instrument,
                Measurement.taken_at,
                Measurement.total,
                Measurement.band,
                Measurement.safety,
                _only_named(Measurement.responses, named),
                _only_named(Measurement.item_names, named),
            ),
            Measurement.patient,
        ).order_by(Measurement.patient, Measurement.taken_at, Measurement.id)
    ):
        moment = moments.get(taken_at)
        if moment is None:
            moment = moments[taken_at] = _as_datetime(taken_at)
        row: Row = (mid, instrument_id, moment, total, band, bool(safety))
        if instrument_id in named:
            row += (_json_tuple(responses, decoded), _json_tuple(names, decoded))
        measurements[pid].append(row)
    acknowledged = {
        mid
        for (mid,) in tuples(
            restrict(
                SafetyAcknowledgement.select(SafetyAcknowledgement.measurement).join(Measurement), Measurement.patient
            )
        )
    }
    attendance: dict[int, list[str]] = defaultdict(list)
    last_attended: dict[int, Any] = {}  # as the driver gives it: read once per patient
    for pid, held_at, kind in database.execute(  # raw rows, as for measurements
        restrict(
            Session.select(Session.patient, Session.held_at, Session.attendance).where(Session.held_at <= now),
            Session.patient,
        ).order_by(Session.patient, Session.held_at)
    ):
        attendance[pid].append(kind)
        if kind == "attended":
            last_attended[pid] = held_at
    last_session = {pid: _as_datetime(held_at).date() for pid, held_at in last_attended.items()}
    goal_due: dict[int, dt.date | str] = dict(
        tuples(
            restrict(
                Goal.select(Goal.patient, pw.fn.MIN(Goal.due_on)).where(
                    (Goal.status == "active") & Goal.due_on.is_null(False)
                ),
                Goal.patient,
            ).group_by(Goal.patient)
        )
    )
    rtw: dict[int, int] = {}
    for pid, phase in tuples(
        restrict(RtwPhase.select(RtwPhase.patient, RtwPhase.phase), RtwPhase.patient).order_by(
            RtwPhase.patient, RtwPhase.started_on, RtwPhase.id
        )
    ):
        rtw[pid] = phase  # the last row per patient is its current phase
    last_checkin: dict[int, dt.date | str] = dict(
        tuples(
            restrict(CheckIn.select(CheckIn.patient, pw.fn.MAX(CheckIn.held_on)), CheckIn.patient).group_by(
                CheckIn.patient
            )
        )
    )
    for pid, episode_start, status in tuples(patients):
        yield PatientFacts(
            pid,
            episode_start,
            status == disciplines.ACTIVE_STATUS,
            measurements.get(pid, []),
            acknowledged,
            attendance.get(pid, []),
            _as_date(goal_due.get(pid)),
            rtw.get(pid),
            last_session.get(pid),
            _as_date(last_checkin.get(pid)),
        )


def _only_named(column: pw.Field[Any], named: set[str]) -> pw.Node:
    """The column for patient-named instruments, NULL for the others (not read at all)."""
    return pw.Case(None, [(Measurement.instrument.in_(sorted(named)), column)], None)


def _json_tuple(value, decoded: dict[str, tuple | None]) -> tuple | None:
    """A JSON list column as a tuple; text seen before is decoded once (``decoded``)."""
    if value is None:
        return None
    if not isinstance(value, str):  # PostgreSQL's driver may decode it already
        return tuple(value)
    found = decoded.get(value)
    if found is None:
        items = json.loads(value)
        found = decoded[value] = None if items is None else tuple(items)
    return found


def _as_datetime(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _store(rows: list[dict]) -> None:
    """Write the summary rows (each has every column: ``compute``)."""
    bulk.upsert(PatientSummary, rows)


def refresh(patient_id: int) -> None:
    """Recompute one patient's summary; call inside the writing transaction."""
    pending = _deferred.get()
    if pending is not None:
        pending.add(patient_id)
        return
    _store([compute(f) for f in _facts_for([patient_id], clock.now())])


def refresh_many(patient_ids: Iterable[int], chunk: int = 500) -> int:
    """Recompute the summaries of some patients (a bulk import's), a few queries per
    ``chunk`` patients; call inside the writing transaction."""
    ids = sorted(set(patient_ids))
    pending = _deferred.get()
    if pending is not None:
        pending.update(ids)
        return len(ids)
    now = clock.now()
    for start in range(0, len(ids), chunk):
        _store([compute(f) for f in _facts_for(ids[start : start + chunk], now)])
    return len(ids)


# Patients refreshed at the end of a ``deferred`` block (None: refresh at once).
_deferred: ContextVar[set[int] | None] = ContextVar("teamdash_deferred_summaries", default=None)
REFRESH_ALL_FROM = 2000  # patients: above this, one pass over every patient is cheaper


@contextlib.contextmanager
def deferred() -> Iterator[set[int]]:
    """Collect the refreshes of the writes inside the block and do them once, when it
    ends without an error (an import writes patients, then their measurements, then
    their sessions: each summary is computed once, from all of them). Use inside the
    writing transaction."""
    if _deferred.get() is not None:  # already deferring: the outer block refreshes
        yield _deferred.get() or set()
        return
    pending: set[int] = set()
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)
    if len(pending) > REFRESH_ALL_FROM:
        refresh_all()
    elif pending:
        refresh_many(pending)


def refresh_all(progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every summary (after a migration, the demo, an import)."""
    rows = [compute(f) for f in _facts_for(None, clock.now())]
    _store(rows)
    if progress:
        progress(len(rows), len(rows))
    return len(rows)


# --- reading flags ---------------------------------------------------------------------


def flags_from_row(d: dict, today: dt.date) -> list[Flag]:
    """All flags of a list row: the stored ones plus those judged against today."""
    flags = [analytics.flag_from_dict(f) for f in (d.get("flag_reasons") or [])]
    if d.get("flagged_for_review"):
        flags.append(analytics.review_flag(d.get("flag_note")))
    if d.get("status") == disciplines.ACTIVE_STATUS:
        flags += analytics.date_flags(
            today=today,
            measure_overdue_after=_as_date(d.get("measure_overdue_after")),
            measure_overdue_instrument=d.get("measure_overdue_instrument"),
            goal_due_min=_as_date(d.get("goal_due_min")),
            next_checkin=_as_date(d.get("next_checkin")),
        )
    return sorted(flags, key=lambda f: f.severity)
