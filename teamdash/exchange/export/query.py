"""The export's reads: which patients a set of filters selects, and their rows streamed
from the database cursor (a million measurements never sit in memory at once).

Filters, as the About sheet states them:
- status, case manager: the patient's current status and case manager;
- discipline: patients with a session or a measure of that discipline; their
  measurements, sessions and goals of that discipline only;
- date range: patients referred by its end who were in the programme during it
  (referral to discharge or drop-out, or today) or had a measurement or session in it;
  their rows dated inside it; baseline and latest from inside it;
- de-identified: patients with research consent only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import peewee as pw

from teamdash.clinical import instruments
from teamdash.storage.db import database
from teamdash.storage.models import (
    ActionItem,
    CheckIn,
    Course,
    Decision,
    Flare,
    Goal,
    GradedActivityPlan,
    GradedActivityWeek,
    Measurement,
    Patient,
    PlanItem,
    PracticeWeek,
    RtwPhase,
    SafetyAcknowledgement,
    Session,
    SleepDiaryNight,
    SupportContact,
    User,
)
from teamdash.storage.queries import Query, Row, tuples


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int
    clinic_id: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    referral_date: dt.date
    programme_start: dt.date | None
    episode_start: dt.date
    status: str
    status_changed_on: dt.date | None
    case_manager: int | None
    next_checkin: dt.date | None
    research_consent: bool
    flagged_for_review: bool
    flag_note: str | None

    def programme_end(self, today: dt.date) -> dt.date:
        if self.status != "active" and self.status_changed_on:
            return self.status_changed_on
        return today


def discipline_instruments(discipline: str | None) -> tuple[str, ...] | None:
    if discipline is None:
        return None
    return tuple(i.id for i in instruments.library().values() if i.discipline == discipline)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min)


class Selection:
    """The filters turned into SQL conditions."""

    def __init__(self, options):
        self.o = options
        self.discipline_instruments = discipline_instruments(options.discipline)

    # --- patients -----------------------------------------------------------------------

    def patient_condition(self) -> pw.Expression:
        o = self.o
        cond = Patient.id.is_null(False)
        if o.patient_id is not None:
            cond &= Patient.id == o.patient_id
        if o.status:
            cond &= Patient.status == o.status
        if o.case_manager_id is not None:
            cond &= Patient.case_manager == o.case_manager_id
        if o.deidentify:
            cond &= Patient.research_consent == True  # noqa: E712
        if o.date_to is not None:
            cond &= Patient.referral_date <= o.date_to
        if o.date_from is not None:
            # In the programme during the range, or seen in it (a follow-up after discharge).
            measured = Measurement.select(Measurement.patient).where(
                self._in_range(Measurement.taken_at, datetime_field=True)
            )
            seen = Session.select(Session.patient).where(self._in_range(Session.held_at, datetime_field=True))
            cond &= (
                (Patient.status == "active")
                | Patient.status_changed_on.is_null()
                | (Patient.status_changed_on >= o.date_from)
                | Patient.id.in_(measured)
                | Patient.id.in_(seen)
            )
        if o.discipline:
            sessions = Session.select(Session.patient).where(Session.discipline == o.discipline)
            measured = Measurement.select(Measurement.patient).where(
                Measurement.instrument.in_(self.discipline_instruments)
            )
            cond &= Patient.id.in_(sessions) | Patient.id.in_(measured)
        return cond

    def patient_ids(self) -> Query:
        return Patient.select(Patient.id).where(self.patient_condition())

    def patients(self) -> list[PatientInfo]:
        fields = [getattr(Patient, name) for name in PatientInfo.__slots__]
        query = Patient.select(*fields).where(self.patient_condition()).order_by(Patient.clinic_id)
        return [PatientInfo(*row) for row in tuples(query)]

    # --- rows ---------------------------------------------------------------------------

    def _in_range(self, field: pw.Field[Any], *, datetime_field: bool) -> pw.Expression | None:
        o = self.o
        cond = None
        if o.date_from is not None:
            cond = field >= (_start_of(o.date_from) if datetime_field else o.date_from)
        if o.date_to is not None:
            upper = field < _start_of(o.date_to + dt.timedelta(days=1)) if datetime_field else field <= o.date_to
            cond = upper if cond is None else cond & upper
        return cond

    def _where(
        self,
        query: Query,
        patient_field: pw.Field[Any],
        *conditions: pw.ColumnBase | None,
        patient_ids: Iterable[int] | None = None,
    ) -> Query:
        query = query.where(patient_field.in_(self.patient_ids() if patient_ids is None else patient_ids))
        for c in conditions:
            if c is not None:
                query = query.where(c)
        return query

    def measurement_query(
        self, instrument_ids: tuple[str, ...] | None = None, patient_ids: list[int] | None = None
    ) -> Query:
        m = Measurement
        query = m.select(
            m.patient,
            m.instrument,
            m.taken_at,
            m.responses,
            m.total,
            m.band,
            m.safety,
            m.entered_by,
            m.source,
            m.note,
            m.id,
            m.item_names,
        )
        wanted = instrument_ids if instrument_ids is not None else self.discipline_instruments
        return self._where(
            query,
            m.patient,
            self._in_range(m.taken_at, datetime_field=True),
            m.instrument.in_(wanted) if wanted is not None else None,
            patient_ids=patient_ids,
        )

    def measurements(
        self,
        instrument_ids: tuple[str, ...] | None = None,
        *,
        light: bool = False,
        patient_ids: list[int] | None = None,
    ) -> Iterator[Row]:
        """(patient, instrument, taken_at, responses, total, band, safety, entered_by,
        source, note, id, item_names) in patient, instrument, time order (the table's
        unique index: no sort). ``light`` skips decoding responses (the cohort needs
        totals only) except for patient-named instruments, whose change matches items;
        ``patient_ids`` reads these (already selected) patients only."""
        query = self.measurement_query(instrument_ids, patient_ids).order_by(
            Measurement.patient, Measurement.instrument, Measurement.taken_at, Measurement.id
        )
        loads = json.loads
        named = {i for i, definition in instruments.library().items() if definition.named_items}
        cursor = database.execute(query)
        for pid, inst, taken_at, responses, total, band, safety, entered_by, source, note, mid, names in cursor:
            if not isinstance(taken_at, dt.datetime):
                taken_at = dt.datetime.fromisoformat(taken_at)
            if (not light or inst in named) and isinstance(responses, str):
                responses = loads(responses)
            if isinstance(names, str):
                names = loads(names)
            yield pid, inst, taken_at, responses, total, band, bool(safety), entered_by, source, note, mid, names

    def count_measurements(self, instrument_ids: tuple[str, ...] | None = None) -> int:
        return self.measurement_query(instrument_ids).count()

    def session_query(self) -> Query:
        s = Session
        query = s.select(s.patient, s.discipline, s.held_at, s.kind, s.minutes, s.attendance, s.clinician, s.note)
        return self._where(
            query,
            s.patient,
            self._in_range(s.held_at, datetime_field=True),
            (s.discipline == self.o.discipline) if self.o.discipline else None,
        )

    def sessions(self) -> Iterator[Row]:
        query = self.session_query().order_by(Session.patient, Session.held_at, Session.id)
        for pid, discipline, held_at, kind, minutes, attendance, clinician, note in database.execute(query):
            if not isinstance(held_at, dt.datetime):
                held_at = dt.datetime.fromisoformat(held_at)
            yield pid, discipline, held_at, kind, minutes, attendance, clinician, note

    def goal_query(self) -> Query:
        g = Goal
        query = g.select(
            g.patient,
            g.discipline,
            g.text,
            g.instrument,
            g.baseline_value,
            g.target_value,
            g.set_on,
            g.due_on,
            g.status,
            g.progress,
        )
        # A goal set before the range is still worked on in it: only goals set after the
        # range ends are left out.
        return self._where(
            query,
            g.patient,
            (g.set_on <= self.o.date_to) if self.o.date_to is not None else None,
            (g.discipline == self.o.discipline) if self.o.discipline else None,
        )

    def goals(self) -> Iterator[Row]:
        yield from tuples(self.goal_query().order_by(Goal.patient, Goal.discipline, Goal.set_on, Goal.id))

    def checkin_query(self) -> Query:
        c = CheckIn
        query = c.select(
            c.id, c.patient, c.held_on, c.attendees, c.narrative, c.created_by, c.plan, c.period_start, c.next_checkin
        )
        return self._where(query, c.patient, self._in_range(c.held_on, datetime_field=False))

    def checkins(self) -> Iterator[Row]:
        """(patient, held_on, attendees, narrative, created_by, decisions text list, plan,
        period start, next check-in)."""
        rows = list(tuples(self.checkin_query().order_by(CheckIn.patient, CheckIn.held_on, CheckIn.id)))
        decisions: dict[int, list[str]] = {}
        ids = [r[0] for r in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for checkin_id, text in tuples(
                Decision.select(Decision.checkin, Decision.text)
                .where(Decision.checkin.in_(chunk))
                .order_by(Decision.made_at, Decision.id)
            ):
                decisions.setdefault(checkin_id, []).append(text)
        for checkin_id, pid, held_on, attendees, narrative, created_by, plan, since, following in rows:
            yield (
                pid,
                held_on,
                attendees or [],
                narrative,
                created_by,
                decisions.get(checkin_id, []),
                plan,
                since,
                following,
            )

    def action_query(self) -> Query:
        a = ActionItem
        query = a.select(
            a.patient, a.text, a.owner, a.due_on, a.status, a.created_at, a.completed_at, CheckIn.held_on, a.discipline
        ).join(CheckIn, pw.JOIN.LEFT_OUTER, on=(a.checkin == CheckIn.id))
        return self._where(query, a.patient, self._in_range(a.created_at, datetime_field=True))

    def actions(self) -> Iterator[Row]:
        """(patient, text, owner, due_on, status, created_at, completed_at, check-in held on,
        discipline)."""
        yield from tuples(self.action_query().order_by(ActionItem.patient, ActionItem.created_at, ActionItem.id))

    # --- the rest of the record (long workbook) -------------------------------------------------

    def _discipline_is(self, code: str) -> pw.ColumnBase | None:
        """Rows of a discipline's own part (graded activity: pt) are kept only without a
        discipline filter or with that discipline."""
        if self.o.discipline and self.o.discipline != code:
            return pw.SQL("1 = 0")  # another discipline's filter leaves them out
        return None

    def _started_by(self, field: pw.Field[Any]) -> pw.Expression | None:
        """A plan started before the range ends is still worked on in it."""
        return (field <= self.o.date_to) if self.o.date_to is not None else None

    def decision_query(self) -> Query:
        d = Decision
        query = d.select(d.patient, CheckIn.held_on, d.text, d.made_by, d.made_at).join(
            CheckIn, pw.JOIN.LEFT_OUTER, on=(d.checkin == CheckIn.id)
        )
        query = self._where(query, d.patient, self._in_range(d.made_at, datetime_field=True))
        return query.order_by(d.patient, d.made_at, d.id)

    def safety_query(self) -> Query:
        m, ack = Measurement, SafetyAcknowledgement
        query = ack.select(
            m.patient,
            m.instrument,
            m.taken_at,
            ack.acknowledged_by,
            ack.acknowledged_by_name,
            ack.acknowledged_at,
            ack.action_taken,
        ).join(m, on=(ack.measurement == m.id))
        wanted = self.discipline_instruments
        query = self._where(
            query,
            m.patient,
            self._in_range(m.taken_at, datetime_field=True),
            m.instrument.in_(wanted) if wanted is not None else None,
        )
        return query.order_by(m.patient, m.instrument, m.taken_at, ack.id)

    def graded_plan_query(self) -> Query:
        g = GradedActivityPlan
        query = g.select(
            g.patient,
            g.activity,
            g.unit,
            g.baseline_tolerance,
            g.current_level,
            g.target_level,
            g.weekly_increment,
            g.started_on,
            g.status,
        )
        query = self._where(query, g.patient, self._started_by(g.started_on), self._discipline_is("pt"))
        return query.order_by(g.patient, g.started_on, g.id)

    def graded_week_query(self) -> Query:
        g, w = GradedActivityPlan, GradedActivityWeek
        query = w.select(
            g.patient,
            g.activity,
            g.started_on,
            w.week_start,
            w.planned_level,
            w.achieved_level,
            w.adherence_pct,
            w.note,
        ).join(g, on=(w.plan == g.id))
        query = self._where(
            query, g.patient, self._in_range(w.week_start, datetime_field=False), self._discipline_is("pt")
        )
        return query.order_by(g.patient, g.started_on, g.id, w.week_start)

    def course_query(self) -> Query:
        c = Course
        query = c.select(c.patient, c.kind, c.modules_total, c.modules_done, c.started_on, c.status)
        query = self._where(query, c.patient, self._started_by(c.started_on), self._discipline_is("psychology"))
        return query.order_by(c.patient, c.started_on, c.id)

    def practice_query(self) -> Query:
        c, w = Course, PracticeWeek
        query = w.select(c.patient, c.kind, c.started_on, w.week_start, w.minutes).join(c, on=(w.course == c.id))
        query = self._where(
            query, c.patient, self._in_range(w.week_start, datetime_field=False), self._discipline_is("psychology")
        )
        return query.order_by(c.patient, c.started_on, c.id, w.week_start)

    def plan_item_query(self) -> Query:
        i = PlanItem
        query = i.select(
            i.patient,
            i.discipline,
            i.category,
            i.text,
            i.status,
            i.adherence_pct,
            i.started_on,
            i.updated_on,
            i.note,
        )
        query = self._where(
            query,
            i.patient,
            self._started_by(i.started_on),
            (i.discipline == self.o.discipline) if self.o.discipline else None,
        )
        return query.order_by(i.patient, i.discipline, i.category, i.started_on, i.id)

    def night_query(self) -> Query:
        n = SleepDiaryNight
        query = n.select(
            n.patient,
            n.night_of,
            n.bed_time,
            n.lights_out,
            n.sol_minutes,
            n.awakenings,
            n.waso_minutes,
            n.final_wake,
            n.out_of_bed,
            n.quality,
            n.tib_minutes,
            n.tst_minutes,
            n.efficiency,
            n.note,
        )
        query = self._where(
            query, n.patient, self._in_range(n.night_of, datetime_field=False), self._discipline_is("sleep")
        )
        return query.order_by(n.patient, n.night_of)

    def flare_query(self) -> Query:
        f = Flare
        query = f.select(
            f.patient, f.started_on, f.severity, f.suspected_trigger, f.what_helped, f.days_to_recover, f.note
        )
        query = self._where(query, f.patient, self._in_range(f.started_on, datetime_field=False))
        return query.order_by(f.patient, f.started_on, f.id)

    def contact_query(self) -> Query:
        c = SupportContact
        query = c.select(c.patient, c.name, c.relationship, c.involved_in_goals, c.contact, c.note, c.on_handout)
        query = self._where(query, c.patient, self._discipline_is("social"))
        return query.order_by(c.patient, c.name, c.id)

    def rtw_query(self) -> Query:
        r = RtwPhase
        query = r.select(
            r.patient, r.phase, r.started_on, r.hours_per_week, r.modified_duties, r.employer_contact, r.note
        )
        query = self._where(query, r.patient, self._started_by(r.started_on), self._discipline_is("social"))
        return query.order_by(r.patient, r.started_on, r.id)

    def rtw_phases(self) -> dict[int, int]:
        out: dict[int, int] = {}
        query = (
            RtwPhase.select(RtwPhase.patient, RtwPhase.phase)
            .where(RtwPhase.patient.in_(self.patient_ids()))
            .order_by(RtwPhase.patient, RtwPhase.started_on, RtwPhase.id)
        )
        for pid, phase in tuples(query):
            out[pid] = phase
        return out


def staff_names() -> dict[int, str]:
    return dict(tuples(User.select(User.id, User.full_name)))


def staff_rows() -> list[Row]:
    return list(
        tuples(
            User.select(
                User.id, User.username, User.full_name, User.role, User.discipline, User.is_case_manager, User.active
            ).order_by(User.full_name)
        )
    )
