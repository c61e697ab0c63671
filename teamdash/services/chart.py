"""One patient's full record in one call: what the patient screen shows.

A handful of indexed queries (one per kind of row), whatever the clinic's size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock
from teamdash.clinical import analytics, instruments, intake
from teamdash.clinical.analytics import Flag
from teamdash.services import (
    audit,
    auth,
    checkins,
    episodes,
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
from teamdash.services.checkins import CheckInResult
from teamdash.services.episodes import EpisodeResult
from teamdash.services.measurements import MeasurementResult
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
    checkins: tuple[CheckInResult, ...]
    decisions: tuple[DecisionResult, ...]
    actions: tuple[ActionItemResult, ...]
    today: dt.date
    # Every episode of care, the current one last (one element until a readmission).
    episodes: tuple[EpisodeResult, ...] = ()
    # Whether the actor who read the record treats the patient (``auth.treats``): the
    # UI offers cross-discipline entries (measures, flares) only then.
    treating: bool = False

    def series(self, instrument: str) -> list[MeasurementResult]:
        return [m for m in self.measurements if m.instrument == instrument]

    def measurement(self, measurement_id: int | None) -> MeasurementResult | None:
        return next((m for m in self.measurements if m.id == measurement_id), None)

    def progress(self, instrument_id: str) -> analytics.Progress:
        """The measure's progress row in this episode (baseline, value at the last
        check-in, latest, changes with MCID and reliable-change verdicts, band movement,
        matched activities, next due): the same row the workbooks and summaries show."""
        checkin = self.last_checkin
        return analytics.progress(
            instruments.get(instrument_id),
            [point_of(m) for m in self.series(instrument_id)],
            self.patient.episode_start,
            checkin.held_on if checkin else None,
        )

    @property
    def current_rtw_phase(self) -> plans.RtwPhaseResult | None:
        return self.rtw_phases[-1] if self.rtw_phases else None

    @property
    def open_actions(self) -> list[ActionItemResult]:
        return [a for a in self.actions if a.status == "open"]

    @property
    def last_checkin(self) -> CheckInResult | None:
        return self.checkins[-1] if self.checkins else None

    @property
    def earlier_episodes(self) -> tuple[EpisodeResult, ...]:
        return tuple(e for e in self.episodes if not e.current)

    def baseline_checklist(self) -> intake.BaselineChecklist:
        """The intake measures of the current episode, per discipline, and which are due."""
        return intake.checklist(((m.instrument, m.taken_at) for m in self.measurements), self.patient.episode_start)


def point_of(m: MeasurementResult) -> analytics.Point:
    """A stored measurement as analytics sees it (with its stored band, and responses
    and names for patient-named items)."""
    return analytics.Point(
        m.taken_at,
        m.total,
        m.id,
        m.band,
        tuple(m.responses) if m.responses is not None else None,
        tuple(m.item_names) if m.item_names is not None else None,
    )


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
        episodes=episodes.episodes(actor, patient_id, detail=detail),
        treating=auth.treats(actor, patient_id),
    )


def exists(patient_id: int) -> bool:
    return Patient.select().where(Patient.id == patient_id).exists()
