"""One patient's full record in one call: what the patient screen shows.

A handful of indexed queries (one per kind of row), whatever the clinic's size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock
from teamdash.clinical.analytics import Flag
from teamdash.services import (
    audit,
    auth,
    checkins,
    flares,
    goals,
    list_summary,
    measurements,
    patients,
    plans,
    sessions,
)
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS, ActionItemResult, DecisionResult
from teamdash.services.auth import Actor
from teamdash.services.sleep_diary import NIGHTS, NightResult
from teamdash.storage.models import Patient, PatientSummary


@dataclass(frozen=True)
class GradedPlanWithWeeks:
    plan: plans.GradedPlanResult
    weeks: tuple[plans.GradedWeekResult, ...]


@dataclass(frozen=True)
class CourseWithPractice:
    course: plans.CourseResult
    practice: tuple[plans.PracticeResult, ...]


@dataclass(frozen=True)
class PatientRecord:
    patient: patients.PatientDetail
    flags: tuple[Flag, ...]
    measurements: tuple[measurements.MeasurementResult, ...]
    sessions: tuple[sessions.SessionResult, ...]
    goals: tuple[goals.GoalResult, ...]
    graded_plans: tuple[GradedPlanWithWeeks, ...]
    courses: tuple[CourseWithPractice, ...]
    sleep_nights: tuple[NightResult, ...]
    plan_items: tuple[plans.PlanItemResult, ...]
    contacts: tuple[plans.ContactResult, ...]
    rtw_phases: tuple[plans.RtwPhaseResult, ...]
    flares: tuple[flares.FlareResult, ...]
    checkins: tuple[checkins.CheckInResult, ...]
    decisions: tuple[DecisionResult, ...]
    actions: tuple[ActionItemResult, ...]
    today: dt.date
    # Whether the actor who read the record treats the patient (``auth.treats``): the
    # UI offers cross-discipline entries (measures, flares) only then.
    treating: bool = False

    def series(self, instrument: str) -> list[measurements.MeasurementResult]:
        return [m for m in self.measurements if m.instrument == instrument]

    @property
    def current_rtw_phase(self) -> plans.RtwPhaseResult | None:
        return self.rtw_phases[-1] if self.rtw_phases else None

    @property
    def open_actions(self) -> list[ActionItemResult]:
        return [a for a in self.actions if a.status == "open"]

    @property
    def last_checkin(self) -> checkins.CheckInResult | None:
        return self.checkins[-1] if self.checkins else None


def _flags(patient_id: int, detail: patients.PatientDetail, today: dt.date) -> tuple[Flag, ...]:
    row = (
        PatientSummary.select(*list_summary.SUMMARY_LIST_COLUMNS)
        .where(PatientSummary.patient == patient_id)
        .dicts()
        .first()
        or {}
    )
    row.update(
        status=detail.status,
        next_checkin=detail.next_checkin,
        flagged_for_review=detail.flagged_for_review,
        flag_note=detail.flag_note,
    )
    return tuple(list_summary.flags_from_row(row, today))


def get_record(actor: Actor, patient_id: int, *, today: dt.date | None = None) -> PatientRecord:
    """The whole record. Seeing it is an audit event (a refresh of the record already
    on screen is the same view; on a read-only database the log says it was skipped)."""
    auth.require(actor, "read")
    today = today or clock.today()
    detail = patients.get_patient(actor, patient_id, today=today)
    audit.record_view(actor, patient_id)
    graded = tuple(
        GradedPlanWithWeeks(p, tuple(plans.GRADED_WEEKS.list(actor, p.id)))
        for p in plans.GRADED_PLANS.list(actor, patient_id)
    )
    courses = tuple(
        CourseWithPractice(c, tuple(plans.PRACTICE.list(actor, c.id))) for c in plans.COURSES.list(actor, patient_id)
    )
    return PatientRecord(
        patient=detail,
        flags=_flags(patient_id, detail, today),
        measurements=tuple(measurements.list_measurements(actor, patient_id)),
        sessions=tuple(sessions.list_sessions(actor, patient_id)),
        goals=tuple(goals.GOALS.list(actor, patient_id)),
        graded_plans=graded,
        courses=courses,
        sleep_nights=tuple(NIGHTS.list(actor, patient_id)),
        plan_items=tuple(plans.PLAN_ITEMS.list(actor, patient_id)),
        contacts=tuple(plans.CONTACTS.list(actor, patient_id)),
        rtw_phases=tuple(plans.RTW_PHASES.list(actor, patient_id)),
        flares=tuple(flares.FLARES.list(actor, patient_id)),
        checkins=tuple(checkins.list_checkins(actor, patient_id)),
        decisions=tuple(DECISIONS.list(actor, patient_id)),
        actions=tuple(ACTION_ITEMS.list(actor, patient_id)),
        today=today,
        treating=auth.treats(actor, patient_id),
    )


def exists(patient_id: int) -> bool:
    return Patient.select().where(Patient.id == patient_id).exists()
