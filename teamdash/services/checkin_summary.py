"""The check-in summary: one patient over a period (by default since the last check-in),
as plain frozen data that the preparation screen, the PDF, the plain-text copy, the
patient's handout and the team meeting all read.

For each measure: the baseline, the value at the last check-in and the current value,
the change, whether it is clinically meaningful (MCID) and reliable (RCI), and band
movement. Then goals, attendance per discipline, graded activity, sleep (diary
efficiency trend), flares, the return-to-work phase, action items, active flags, the
support network and the previous check-in's narrative and plan.

A saved check-in keeps its summary as a frozen snapshot (``to_snapshot`` /
``from_snapshot``). ``open_checkin`` rebuilds the same period from today's data and
says, item by item, where the data now differs (a corrected score, a session's
attendance entered late): the team sees what changed since they signed it off, and the
snapshot itself never changes.

Everything is computed as of the period's last day: values measured later, sessions
held later and actions created later do not count, so the same period gives the same
summary until someone corrects the data it was built from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from teamdash import clock, validation
from teamdash.clinical import analytics, disciplines, instruments
from teamdash.clinical.analytics import Change, Point
from teamdash.clinical.instruments import Instrument
from teamdash.errors import UnknownInstrument, ValidationError
from teamdash.services import audit, auth, chart, checkins, goals, staff
from teamdash.services.auth import Actor
from teamdash.services.chart import PatientRecord, point_of
from teamdash.services.checkins import CheckInResult
from teamdash.services.measurements import MeasurementResult
from teamdash.services.results import from_json, to_json
from teamdash.services.sleep_diary import weekly_means
from teamdash.storage.db import database

# The snapshot's layout; a later layout reads older ones through ``from_json`` defaults.
SNAPSHOT_FORMAT = 1
# Instruments the summary does not list as measures: the sleep diary is summarised per
# week from its nights (see ``SleepSummary``), not as one value per administration.
NOT_A_MEASURE = frozenset({"sleep_diary"})
# A week's mean sleep efficiency moving by at least this many percentage points is a
# trend worth naming; less is night-to-night noise. The usual target is 85 % or more.
SLEEP_EFFICIENCY_STEP = 3.0
SLEEP_EFFICIENCY_TARGET = 85.0
# What the preparation screen proposes as the next check-in: the check-in measures'
# six-weekly interval.
DEFAULT_NEXT_CHECKIN = dt.timedelta(weeks=6)


# --- the data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The days the summary covers, both ends included."""

    start: dt.date
    end: dt.date
    after_checkin: dt.date | None  # the check-in this period follows (its day is the day before ``start``)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def reference_day(self) -> dt.date:
        """The last day before the period: values 'at the last check-in' are the latest
        taken on or before it."""
        return self.start - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        if self.after_checkin is not None:
            return f"since the check-in of {self.after_checkin:%d %b %Y} ({self.start:%d %b %Y} – {self.end:%d %b %Y})"
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"

    @property
    def reference_label(self) -> str:
        """The column heading for the value at the start of the period."""
        if self.after_checkin is not None:
            return f"Check-in {self.after_checkin:%d %b %Y}"
        return f"Before {self.start:%d %b %Y}"


@dataclass(frozen=True)
class PatientHeader:
    id: int
    clinic_id: str
    full_name: str
    initials: str
    date_of_birth: dt.date
    age: int | None
    sex: str
    status: str
    case_manager: str | None
    programme_start: dt.date | None
    weeks_in_programme: int | None
    episode_start: dt.date
    next_checkin: dt.date | None


@dataclass(frozen=True)
class Reading:
    """One measure's value on one day, as the team reads it."""

    value: float
    taken_on: dt.date
    band: str | None
    text: str  # "24 %", "440 m", "6 /10"


@dataclass(frozen=True)
class Verdict:
    """A change between two readings, in the words the team uses."""

    points: float
    percent: float | None
    direction: str | None  # "better" / "worse" / "unchanged"; None when the measure has no direction (BMI)
    mcid: str | None  # "met" / "not met" / "meaningful worsening"; None when no MCID is known
    reliable: (
        str | None
    )  # "reliable improvement" / "reliable deterioration" / "no reliable change"; None: no reliability figure
    rci: float | None
    band_movement: str | None  # "Severe disability → Moderate disability"
    band_direction: str | None  # "better" / "worse" / "same"


@dataclass(frozen=True)
class MeasureRow:
    instrument: str
    name: str
    short_name: str
    discipline: str
    unit: str
    decimals: int
    direction: str | None
    key_measure: bool
    baseline: Reading | None
    at_start: Reading | None  # the value at the last check-in (the latest before the period)
    current: Reading | None
    since_baseline: Verdict | None
    since_start: Verdict | None
    taken_in_period: int
    history: tuple[tuple[dt.date, float], ...]  # this episode up to the period's end, in time order

    @property
    def key(self) -> str:
        return f"measure:{self.instrument}"

    def format(self, value: float | None) -> str:
        if value is None:
            return "–"
        return _with_unit(f"{value:.{self.decimals}f}", self.unit)

    def format_change(self, points: float) -> str:
        text = f"{abs(points):.{self.decimals}f}"
        sign = "±" if float(text) == 0 else ("+" if points > 0 else "−")
        return sign + text


@dataclass(frozen=True)
class GoalRow:
    id: int
    discipline: str
    text: str
    status: str
    progress: int | None  # percent of the way from baseline to target
    set_on: dt.date
    due_on: dt.date | None
    past_due: bool
    instrument: str | None
    baseline_value: float | None
    target_value: float | None
    latest_value: float | None

    @property
    def key(self) -> str:
        return f"goal:{self.id}"


@dataclass(frozen=True)
class AttendanceRow:
    discipline: str
    discipline_name: str
    attended: int
    missed: int  # no-show or cancelled by the patient
    cancelled: int  # cancelled (by the clinic, or not recorded by whom)
    minutes: int
    next_booked: dt.date | None
    clinician: str | None = None  # who the patient saw last in this discipline

    @property
    def key(self) -> str:
        return f"attendance:{self.discipline}"

    @property
    def rate(self) -> float | None:
        """Attended sessions out of those held or missed (clinic cancellations aside)."""
        due = self.attended + self.missed
        return None if due == 0 else self.attended / due


@dataclass(frozen=True)
class ActivityWeek:
    week_start: dt.date
    planned: float
    achieved: float | None
    adherence_pct: int | None


@dataclass(frozen=True)
class GradedActivityRow:
    id: int
    activity: str
    unit: str
    baseline_tolerance: float
    current_level: float
    target_level: float
    weekly_increment: float
    status: str
    progress: int  # percent of the way from baseline tolerance to target
    weeks_in_period: tuple[ActivityWeek, ...]
    mean_adherence: float | None  # home exercise adherence in the period, %

    @property
    def key(self) -> str:
        return f"graded:{self.id}"

    @property
    def achieved_share(self) -> float | None:
        """Achieved over planned across the period's logged weeks (1.0 = on plan)."""
        logged = [w for w in self.weeks_in_period if w.achieved is not None and w.planned]
        planned = sum(w.planned for w in logged)
        return None if not planned else sum(w.achieved or 0.0 for w in logged) / planned


@dataclass(frozen=True)
class CourseRow:
    id: int
    kind: str
    modules_done: int
    modules_total: int
    status: str
    practice_minutes_per_week: float | None  # mean over the period's logged weeks

    @property
    def key(self) -> str:
        return f"course:{self.id}"


@dataclass(frozen=True)
class SleepWeekRow:
    week_start: dt.date
    nights: int
    efficiency: float | None
    total_sleep_minutes: float | None


@dataclass(frozen=True)
class SleepSummary:
    nights_in_period: int
    weeks: tuple[SleepWeekRow, ...]  # the period's weeks, and the week before it when logged
    efficiency_first: float | None
    efficiency_last: float | None
    trend: str | None  # "improving" / "worsening" / "steady"; None with fewer than two weeks
    target: float = SLEEP_EFFICIENCY_TARGET

    @property
    def key(self) -> str:
        return "sleep"


@dataclass(frozen=True)
class FlareRow:
    id: int
    started_on: dt.date
    severity: int
    suspected_trigger: str | None
    what_helped: str | None
    days_to_recover: int | None

    @property
    def key(self) -> str:
        return f"flare:{self.id}"


@dataclass(frozen=True)
class RtwStatus:
    phase: int
    label: str
    since: dt.date
    hours_per_week: float | None
    modified_duties: str | None

    @property
    def key(self) -> str:
        return "rtw"


@dataclass(frozen=True)
class ActionRow:
    id: int
    text: str
    owner: str | None
    due_on: dt.date | None
    status: str  # as of the period's end
    overdue: bool
    completed_on: dt.date | None

    @property
    def key(self) -> str:
        return f"action:{self.id}"


@dataclass(frozen=True)
class FlagRow:
    kind: str
    reason: str
    since: dt.date | None


@dataclass(frozen=True)
class Supporter:
    id: int
    name: str
    relationship: str
    contact: str | None
    involved_in_goals: bool
    on_handout: bool  # the patient chose to have them named on the handout


@dataclass(frozen=True)
class PreviousCheckin:
    id: int
    held_on: dt.date
    narrative: str | None
    plan: str | None


@dataclass(frozen=True)
class CheckinSummary:
    patient: PatientHeader
    period: Period
    generated_at: dt.datetime
    measures: tuple[MeasureRow, ...]
    goals: tuple[GoalRow, ...]
    attendance: tuple[AttendanceRow, ...]
    graded_activity: tuple[GradedActivityRow, ...]
    courses: tuple[CourseRow, ...]
    sleep: SleepSummary | None
    flares: tuple[FlareRow, ...]  # started within the period
    flares_before: int  # in the same number of days before the period
    rtw: RtwStatus | None  # the phase on the period's last day
    rtw_at_start: RtwStatus | None  # the phase on the day before the period
    actions_open: tuple[ActionRow, ...]
    actions_completed: tuple[ActionRow, ...]  # completed within the period
    flags: tuple[FlagRow, ...]
    supporters: tuple[Supporter, ...]
    previous: PreviousCheckin | None  # the check-in before the period, with its plan
    what_helped: tuple[str, ...] = ()  # what helped in the patient's flares so far (for the handout)
    format: int = SNAPSHOT_FORMAT

    def measure(self, instrument_id: str) -> MeasureRow | None:
        return next((m for m in self.measures if m.instrument == instrument_id), None)

    @property
    def key_measures(self) -> tuple[MeasureRow, ...]:
        """The measures charted as timelines: key measures with two or more values."""
        return tuple(m for m in self.measures if m.key_measure and len(m.history) >= 2)

    @property
    def safety_flags(self) -> tuple[FlagRow, ...]:
        return tuple(f for f in self.flags if f.kind == "safety")


@dataclass(frozen=True)
class Signoff:
    """What the team adds to the summary at the check-in: who was there, the narrative,
    the plan for the next period and the next date."""

    held_on: dt.date
    attendees: tuple[str, ...]
    narrative: str | None
    plan: str | None
    next_checkin: dt.date | None

    @staticmethod
    def of(checkin: CheckInResult) -> Signoff:
        return Signoff(
            held_on=checkin.held_on,
            attendees=tuple(a.get("name", "") for a in checkin.attendees or ()),
            narrative=checkin.narrative,
            plan=checkin.plan,
            next_checkin=checkin.next_checkin,
        )


@dataclass(frozen=True)
class SavedCheckin:
    """A saved check-in as the team signed it off, and where today's data differs."""

    checkin: CheckInResult
    summary: CheckinSummary | None  # None: saved without a summary (before summaries were kept)
    changes: Mapping[str, str]  # item key (``MeasureRow.key`` …) → what it shows now

    @property
    def signoff(self) -> Signoff:
        return Signoff.of(self.checkin)


# --- building ---------------------------------------------------------------------------


def build_summary(
    actor: Actor, patient_id: int, *, since: dt.date | str | None = None, until: dt.date | str | None = None
) -> CheckinSummary:
    """The summary for one patient from ``since`` (default: the day after the last
    check-in, or the start of the episode) to ``until`` (default: today)."""
    auth.require(actor, "read")
    until_day = validation.date(until, "until", required=False) or clock.today()
    since_day = validation.date(since, "since", required=False)
    record = chart.get_record(actor, patient_id, today=clock.today())
    names = {s.id: s.full_name for s in staff.list_staff(actor, include_inactive=True)}
    return summarize(record, period_for(record, since_day, until_day), staff_names=names, generated_at=clock.now())


def period_for(record: PatientRecord, since: dt.date | None, until: dt.date) -> Period:
    """The period a summary covers: from ``since`` or, by default, the day after the last
    check-in held before ``until`` (the start of the episode when there was none)."""
    earlier = [c for c in record.checkins if c.held_on < until]
    if since is not None:
        if since > until:
            raise ValidationError(
                f"{since.isoformat()} is after the end of the period ({until.isoformat()})", field="since"
            )
        follows = next((c.held_on for c in reversed(earlier) if c.held_on == since - dt.timedelta(days=1)), None)
        return Period(since, until, follows)
    if earlier:
        last = earlier[-1].held_on
        return Period(last + dt.timedelta(days=1), until, last)
    start = min(record.patient.episode_start, until)
    return Period(start, until, None)


def summarize(
    record: PatientRecord, period: Period, *, staff_names: Mapping[int, str], generated_at: dt.datetime
) -> CheckinSummary:
    """The summary of ``record`` over ``period`` (pure: no database)."""
    end = period.end
    return CheckinSummary(
        patient=_header(record),
        period=period,
        generated_at=generated_at,
        measures=_measures(record, period),
        goals=_goals(record, end),
        attendance=_attendance(record, period),
        graded_activity=_graded(record, period),
        courses=_courses(record, period),
        sleep=_sleep(record, period),
        flares=tuple(_flare(f) for f in record.flares if period.start <= f.started_on <= end),
        flares_before=sum(
            1 for f in record.flares if period.start - dt.timedelta(days=period.days) <= f.started_on < period.start
        ),
        rtw=_rtw_on(record, end),
        rtw_at_start=_rtw_on(record, period.reference_day),
        actions_open=_actions(record, period, staff_names, completed=False),
        actions_completed=_actions(record, period, staff_names, completed=True),
        flags=tuple(FlagRow(f.kind, f.reason, f.since) for f in analytics.sort_flags(record.flags)),
        supporters=tuple(
            Supporter(c.id, c.name, c.relationship, c.contact, c.involved_in_goals, c.on_handout)
            for c in record.contacts
        ),
        previous=_previous(record, period),
        what_helped=_what_helped(record, end),
    )


def _header(record: PatientRecord) -> PatientHeader:
    p = record.patient
    return PatientHeader(
        id=p.id,
        clinic_id=p.clinic_id,
        full_name=p.full_name,
        initials=p.initials,
        date_of_birth=p.date_of_birth,
        age=p.age,
        sex=p.sex,
        status=p.status,
        case_manager=p.case_manager_name,
        programme_start=p.programme_start,
        weeks_in_programme=p.weeks_in_programme,
        episode_start=p.episode_start,
        next_checkin=p.next_checkin,
    )


def _with_unit(number: str, unit: str | None) -> str:
    if not unit or unit == "points":
        return number
    if unit.startswith("/") or unit == "%":
        return f"{number} {unit}" if unit != "%" else f"{number} %"
    return f"{number} {unit}"


def _reading(inst: Instrument, m: MeasurementResult | None) -> Reading | None:
    if m is None or m.total is None:
        return None
    computed = inst.band_for(m.total)
    band = m.band or (computed.label if computed else None)
    return Reading(m.total, m.taken_at.date(), band, _with_unit(inst.format(m.total), inst.unit))


def _verdict(change: Change | None) -> Verdict | None:
    if change is None or change.points is None:
        return None
    if change.mcid_met:
        mcid = "met"
    elif change.meaningful_deterioration:
        mcid = "meaningful worsening"
    elif change.mcid_met is False:
        mcid = "not met"
    else:
        mcid = None
    return Verdict(
        points=change.points,
        percent=change.percent,
        direction=change.verdict,
        mcid=mcid,
        reliable=change.rci_verdict,
        rci=change.rci,
        band_movement=change.band_movement,
        band_direction=change.band_direction,
    )


def _measure_row(inst: Instrument, series: Sequence[MeasurementResult], period: Period, episode: dt.date) -> MeasureRow:
    """One measure's row. The only place the summary reads ``analytics.progress``: the
    baseline (first in the episode), the value at the last check-in (the latest on or
    before the day before the period), the latest, and both changes with their MCID,
    reliable-change and band verdicts."""
    by_id = {m.id: m for m in series}
    progress = analytics.progress(
        inst,
        [point_of(m) for m in series],
        episode_start=episode,
        last_checkin_at=period.reference_day,
    )

    def pick(point: Point | None) -> MeasurementResult | None:
        return by_id[point.id] if point is not None and point.id is not None else None

    first, reference, last = pick(progress.baseline), pick(progress.last_checkin), pick(progress.latest)

    def change(before: MeasurementResult | None, computed: Change | None) -> Verdict | None:
        if before is None or last is None or before.id == last.id or computed is None:
            return None
        # Rule-based instruments (STarT Back) keep their subgroup with the measurement;
        # patient-named items (PSFS) keep the change over the activities rated both times.
        if not inst.named_items and (before.band != computed.band_from or last.band != computed.band_to):
            computed = analytics.change(
                inst, before.total, last.total, band_from=before.band or None, band_to=last.band or None
            )
        return _verdict(computed)

    return MeasureRow(
        instrument=inst.id,
        name=inst.name,
        short_name=inst.short_name,
        discipline=inst.discipline,
        unit=inst.unit or "",
        decimals=inst.decimals,
        direction=inst.direction,
        key_measure=inst.key_measure,
        baseline=_reading(inst, first),
        at_start=_reading(inst, reference),
        current=_reading(inst, last),
        since_baseline=change(first, progress.from_baseline),
        since_start=change(reference, progress.from_checkin),
        taken_in_period=sum(1 for m in series if m.taken_at.date() >= period.start),
        history=tuple((m.taken_at.date(), float(m.total)) for m in series if m.total is not None),
    )


def _measures(record: PatientRecord, period: Period) -> tuple[MeasureRow, ...]:
    episode, end = record.patient.episode_start, period.end
    by_instrument: dict[str, list[MeasurementResult]] = {}
    for m in sorted(record.measurements, key=lambda m: (m.taken_at, m.id)):
        if m.total is not None and episode <= m.taken_at.date() <= end and m.instrument not in NOT_A_MEASURE:
            by_instrument.setdefault(m.instrument, []).append(m)
    order = _instrument_order()
    rows = []
    for instrument_id in sorted(by_instrument, key=lambda i: order.get(i, (len(order), i))):
        try:
            inst = instruments.get(instrument_id)
        except UnknownInstrument:  # a measure whose definition was removed is left out, not fatal
            continue
        rows.append(_measure_row(inst, by_instrument[instrument_id], period, episode))
    return tuple(rows)


def _instrument_order() -> dict[str, tuple[int, int]]:
    """Disciplines in programme order, each discipline's key instruments in its order."""
    order: dict[str, tuple[int, int]] = {}
    for d_index, d in enumerate(disciplines.all_disciplines()):
        for i_index, instrument_id in enumerate(d.key_instruments):
            order.setdefault(instrument_id, (d_index, i_index))
    for inst in instruments.library().values():
        if inst.id not in order:
            d_index = next((i for i, d in enumerate(disciplines.all_disciplines()) if d.code == inst.discipline), 99)
            order[inst.id] = (d_index, 100)
    return order


def _goals(record: PatientRecord, end: dt.date) -> tuple[GoalRow, ...]:
    rows = []
    discipline_rank = {d.code: i for i, d in enumerate(disciplines.all_disciplines())}
    for g in sorted(record.goals, key=lambda g: (discipline_rank.get(g.discipline, 99), g.set_on, g.id)):
        if g.set_on > end:
            continue
        latest = None
        if g.instrument:
            values = [m for m in record.series(g.instrument) if m.total is not None and m.taken_at.date() <= end]
            point = analytics.latest(point_of(m) for m in values)
            latest = point.value if point else None
        rows.append(
            GoalRow(
                id=g.id,
                discipline=g.discipline,
                text=g.text,
                status=g.status,
                progress=goals.progress(g, latest),
                set_on=g.set_on,
                due_on=g.due_on,
                past_due=g.past_due(end),
                instrument=g.instrument,
                baseline_value=g.baseline_value,
                target_value=g.target_value,
                latest_value=latest,
            )
        )
    return tuple(rows)


def _attendance(record: PatientRecord, period: Period) -> tuple[AttendanceRow, ...]:
    rows = []
    for d in disciplines.all_disciplines():
        sessions = [s for s in record.sessions if s.discipline == d.code]
        if not sessions:
            continue
        held = [s for s in sessions if period.start <= s.held_at.date() <= period.end]
        upcoming = sorted(
            s.held_at.date() for s in sessions if s.attendance == "scheduled" and s.held_at.date() > period.end
        )
        attended = [s for s in held if s.attendance in analytics.ATTENDED]
        seen = [s for s in sessions if s.attendance in analytics.ATTENDED and s.held_at.date() <= period.end]
        rows.append(
            AttendanceRow(
                discipline=d.code,
                discipline_name=d.name,
                attended=len(attended),
                missed=sum(1 for s in held if s.attendance in analytics.MISSED_ATTENDANCE),
                cancelled=sum(
                    1
                    for s in held
                    if s.attendance.startswith("cancelled") and s.attendance not in analytics.MISSED_ATTENDANCE
                ),
                minutes=sum(s.minutes or 0 for s in attended),
                next_booked=upcoming[0] if upcoming else None,
                clinician=seen[-1].clinician_name if seen else None,
            )
        )
    return tuple(rows)


def _graded(record: PatientRecord, period: Period) -> tuple[GradedActivityRow, ...]:
    rows = []
    for entry in record.graded_plans:
        plan = entry.plan
        if plan.started_on > period.end:
            continue
        weeks = tuple(
            ActivityWeek(w.week_start, w.planned_level, w.achieved_level, w.adherence_pct)
            for w in entry.weeks
            if period.start <= w.week_start <= period.end
        )
        adherence = [w.adherence_pct for w in weeks if w.adherence_pct is not None]
        rows.append(
            GradedActivityRow(
                id=plan.id,
                activity=plan.activity,
                unit=plan.unit,
                baseline_tolerance=plan.baseline_tolerance,
                current_level=plan.current_level,
                target_level=plan.target_level,
                weekly_increment=plan.weekly_increment,
                status=plan.status,
                progress=plan.progress,
                weeks_in_period=weeks,
                mean_adherence=sum(adherence) / len(adherence) if adherence else None,
            )
        )
    return tuple(rows)


def _courses(record: PatientRecord, period: Period) -> tuple[CourseRow, ...]:
    rows = []
    for entry in record.courses:
        course = entry.course
        if course.started_on > period.end:
            continue
        minutes = [p.minutes for p in entry.practice if period.start <= p.week_start <= period.end]
        rows.append(
            CourseRow(
                id=course.id,
                kind=course.kind,
                modules_done=course.modules_done,
                modules_total=course.modules_total,
                status=course.status,
                practice_minutes_per_week=sum(minutes) / len(minutes) if minutes else None,
            )
        )
    return tuple(rows)


def _sleep(record: PatientRecord, period: Period) -> SleepSummary | None:
    nights = [n for n in record.sleep_nights if n.night_of <= period.end]
    if not nights:
        return None
    in_period = [n for n in nights if n.night_of >= period.start]
    weeks = weekly_means(nights)
    first_week = period.start - dt.timedelta(days=period.start.weekday())
    shown = [w for w in weeks if w.week_start >= first_week - dt.timedelta(days=7)]
    if not in_period:
        shown = weeks[-1:]  # nothing logged in the period: the last week logged, for context
    rows = tuple(SleepWeekRow(w.week_start, w.nights, w.efficiency, w.tst_minutes) for w in shown)
    valued = [w.efficiency for w in rows if w.efficiency is not None]
    trend = None
    if len(valued) >= 2 and in_period:
        step = valued[-1] - valued[0]
        trend = (
            "improving"
            if step >= SLEEP_EFFICIENCY_STEP
            else "worsening"
            if step <= -SLEEP_EFFICIENCY_STEP
            else "steady"
        )
    return SleepSummary(
        nights_in_period=len(in_period),
        weeks=rows,
        efficiency_first=valued[0] if valued else None,
        efficiency_last=valued[-1] if valued else None,
        trend=trend,
    )


def _flare(f) -> FlareRow:
    return FlareRow(f.id, f.started_on, f.severity, f.suspected_trigger, f.what_helped, f.days_to_recover)


def _what_helped(record: PatientRecord, end: dt.date) -> tuple[str, ...]:
    """Distinct answers to 'what helped' across the episode's flares, latest first."""
    seen: dict[str, None] = {}
    for f in sorted(record.flares, key=lambda f: f.started_on, reverse=True):
        text = (f.what_helped or "").strip()
        if text and f.started_on <= end and text.lower() not in {k.lower() for k in seen}:
            seen[text] = None
    return tuple(seen)


def _rtw_on(record: PatientRecord, day: dt.date) -> RtwStatus | None:
    phases = [p for p in record.rtw_phases if p.started_on <= day]
    if not phases:
        return None
    p = phases[-1]
    return RtwStatus(p.phase, p.label, p.started_on, p.hours_per_week, p.modified_duties)


def _actions(
    record: PatientRecord, period: Period, names: Mapping[int, str], *, completed: bool
) -> tuple[ActionRow, ...]:
    rows = []
    for a in record.actions:
        if a.created_at.date() > period.end:
            continue
        done_on = a.completed_at.date() if a.completed_at else None
        # As of the period's end: an item finished later was still open then.
        finished = a.status != "open" and done_on is not None and done_on <= period.end
        if completed != finished or (completed and done_on is not None and done_on < period.start):
            continue
        status = a.status if finished else "open"
        rows.append(
            ActionRow(
                id=a.id,
                text=a.text,
                owner=names.get(a.owner) if a.owner is not None else None,
                due_on=a.due_on,
                status=status,
                overdue=status == "open" and a.due_on is not None and a.due_on < period.end,
                completed_on=done_on if finished else None,
            )
        )
    rows.sort(key=lambda r: (r.due_on or dt.date.max, r.id))
    return tuple(rows)


def _previous(record: PatientRecord, period: Period) -> PreviousCheckin | None:
    earlier = [c for c in record.checkins if c.held_on < period.start]
    if not earlier:
        return None
    c = earlier[-1]
    return PreviousCheckin(c.id, c.held_on, c.narrative, c.plan)


# --- snapshots and what changed since -------------------------------------------------------


def to_snapshot(summary: CheckinSummary) -> dict:
    """The summary as the JSON the check-in keeps."""
    return to_json(summary)


def from_snapshot(snapshot: Mapping | None) -> CheckinSummary | None:
    """The summary a check-in kept; None when it kept none (or something else: the
    demo's and older check-ins have no summary)."""
    if not isinstance(snapshot, Mapping) or "format" not in snapshot or "patient" not in snapshot:
        return None
    return from_json(CheckinSummary, dict(snapshot))


def _reading_text(r: Reading | None) -> str:
    return f"{r.text} on {r.taken_on:%d %b %Y}" if r else "none"


def differences(saved: CheckinSummary, now: CheckinSummary) -> dict[str, str]:
    """Where the data the check-in was built from now differs, item by item: the key
    of the item (``MeasureRow.key`` …) and what it shows now.

    Only what can be rebuilt as of the check-in's day is compared: measurements,
    attendance, flares, diary nights, logged graded-activity and practice weeks, action
    items (open or done by then) and the return-to-work phase. Goals, a plan's current
    level and a course's modules keep no history, so their progress since is not a
    difference; nor are flags (the state of the day) or bookings made since."""
    out: dict[str, str] = {}

    def compare(saved_items: Iterable, now_items: Iterable, describe, project=lambda item: item) -> None:
        before = {i.key: i for i in saved_items}
        after = {i.key: i for i in now_items}
        for key in before.keys() | after.keys():
            old, new = before.get(key), after.get(key)
            if (old is None) != (new is None) or (old is not None and project(old) != project(new)):
                out[key] = describe(old, new)

    def measure(old: MeasureRow | None, new: MeasureRow | None) -> str:
        if new is None:
            return "no longer recorded (the measurements were deleted)"
        if old is None:
            return f"now recorded: {_reading_text(new.current)} (entered after the check-in)"
        parts = []
        for label, a, b in (
            ("baseline", old.baseline, new.baseline),
            ("at the last check-in", old.at_start, new.at_start),
            ("current", old.current, new.current),
        ):
            if a != b:
                parts.append(f"{label} now {_reading_text(b)} (was {_reading_text(a)})")
        if not parts and old.history != new.history:
            parts.append("a value in the course was corrected")
        if not parts:
            parts.append("its verdicts were recomputed")
        return "; ".join(parts)

    def attendance(old: AttendanceRow | None, new: AttendanceRow | None) -> str:
        if new is None:
            return "no sessions recorded now"
        was = f" (was {old.attended}, {old.missed}, {old.cancelled})" if old else ""
        return f"now {new.attended} attended, {new.missed} missed, {new.cancelled} cancelled{was}"

    compare(saved.measures, now.measures, measure)
    compare(saved.attendance, now.attendance, attendance, lambda a: replace(a, next_booked=None))
    compare(saved.flares, now.flares, lambda o, n: "flare deleted" if n is None else "flare entered or corrected since")
    compare(
        saved.actions_open + saved.actions_completed,
        now.actions_open + now.actions_completed,
        lambda o, n: "action item deleted" if n is None else f"now {n.status}" + (f" (was {o.status})" if o else ""),
    )
    compare(
        saved.graded_activity,
        now.graded_activity,
        lambda o, n: "plan deleted" if n is None else "weeks of the period logged or corrected since",
        lambda g: (g.weeks_in_period, g.mean_adherence),
    )
    compare(
        saved.courses,
        now.courses,
        lambda o, n: "course deleted" if n is None else "practice of the period logged or corrected since",
        lambda c: c.practice_minutes_per_week,
    )
    compare(
        [saved.sleep] if saved.sleep else [],
        [now.sleep] if now.sleep else [],
        lambda o, n: "sleep diary nights entered or corrected since",
    )
    compare(
        [saved.rtw] if saved.rtw else [],
        [now.rtw] if now.rtw else [],
        lambda o, n: "no phase recorded now" if n is None else f"now {n.label} from {n.since:%d %b %Y}",
    )
    return out


def _as_saved(now: CheckinSummary, saved: CheckinSummary) -> CheckinSummary:
    """Today's rebuild of a saved period, with the parts that are the state of the day
    (flags, header, support network, previous check-in) taken from the saved one so
    that only data differences remain."""
    return replace(
        now,
        patient=saved.patient,
        generated_at=saved.generated_at,
        flags=saved.flags,
        supporters=saved.supporters,
        previous=saved.previous,
    )


# --- saving and opening check-ins ------------------------------------------------------------


def save_checkin(
    actor: Actor,
    patient_id: int,
    *,
    held_on: dt.date | str,
    attendees: Sequence[int],
    narrative: str | None,
    plan: str | None,
    next_checkin: dt.date | str | None,
    since: dt.date | str | None = None,
    on_handout: Collection[int] | None = None,
) -> SavedCheckin:
    """Record the check-in with the summary of its period, as of its day, as a frozen
    snapshot; set the patient's next check-in date. ``since`` is the period's first day
    (default: the day after the last check-in)."""
    auth.require(actor, "write_checkin")
    held_day = validation.date(held_on, "held_on", not_after=clock.today() + dt.timedelta(days=1))
    assert held_day is not None  # required: a missing date raised above
    since_day = validation.date(since, "since", required=False)
    with database.atomic():
        summary = build_summary(actor, patient_id, since=since_day, until=held_day)
        checkin = checkins.record_checkin(
            actor,
            patient_id,
            held_on=held_day,
            attendees=list(attendees),
            narrative=narrative,
            plan=plan,
            period_start=summary.period.start,
            next_checkin=next_checkin,
            snapshot=to_snapshot(summary),
            on_handout=on_handout,
        )
    return SavedCheckin(checkin, from_snapshot(checkin.snapshot), {})


def open_checkin(actor: Actor, checkin_id: int) -> SavedCheckin:
    """A saved check-in read-only: its frozen summary, and where today's data for the
    same period now differs."""
    checkin = checkins.get_checkin(actor, checkin_id)
    saved = from_snapshot(checkin.snapshot)
    if saved is None:
        return SavedCheckin(checkin, None, {})
    now = build_summary(actor, checkin.patient, since=saved.period.start, until=saved.period.end)
    return SavedCheckin(checkin, saved, differences(saved, _as_saved(now, saved)))


def list_checkins(actor: Actor, patient_id: int) -> list[CheckInResult]:
    """The patient's check-ins, the latest first (for the list of past check-ins)."""
    return list(reversed(checkins.list_checkins(actor, patient_id)))


def default_next_checkin(held_on: dt.date) -> dt.date:
    return held_on + DEFAULT_NEXT_CHECKIN


# --- every produced summary is an audit event -------------------------------------------------

OUTPUT_KINDS = ("summary", "handout")
OUTPUT_FORMS = ("pdf", "print", "text")


def record_output(
    actor: Actor,
    patient_id: int,
    *,
    kind: str,
    form: str,
    period: Period,
    checkin_id: int | None = None,
    privacy: bool = False,
    page_size: str | None = None,
    file_name: str | None = None,
) -> int:
    """Record that a summary or handout left the application (PDF written, printed,
    copied as text). The event names the patient, the period and the form; never the
    content."""
    auth.require(actor, "export")
    if kind not in OUTPUT_KINDS:
        raise ValidationError(f"{kind!r} is not one of {', '.join(OUTPUT_KINDS)}", field="kind")
    if form not in OUTPUT_FORMS:
        raise ValidationError(f"{form!r} is not one of {', '.join(OUTPUT_FORMS)}", field="form")
    with database.atomic():
        return audit.record(
            actor,
            f"{kind}.{form}",
            patient_id=patient_id,
            entity="check_in" if checkin_id is not None else None,
            entity_id=checkin_id,
            details={
                "period_start": period.start,
                "period_end": period.end,
                "privacy": privacy,
                "page_size": page_size,
                "file": file_name,
            },
        )
