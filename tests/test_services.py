"""Sessions, goals, plans, sleep diary, flares, check-ins and action items: validation
that names the field and changes nothing, versioned edits, undo of deletions, and the
flags these rows raise."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import Conflict, NotFound, UnknownInstrument, ValidationError
from teamdash.services import audit, chart, checkins, goals, patients, plans, sessions, sleep_diary
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS
from teamdash.services.auth import SYSTEM
from teamdash.services.flares import FLARES
from teamdash.services.patients import PatientQuery
from teamdash.storage.models import Goal, GradedActivityWeek, Session

NOW = dt.datetime(2026, 11, 27, 12, 0)
TODAY = NOW.date()


@pytest.fixture
def patient(database):
    return patients.create_patient(
        SYSTEM,
        clinic_id="S-1",
        given_name="Sam",
        family_name="Serviced",
        date_of_birth="1975-03-03",
        referral_date="2026-08-01",
        programme_start="2026-08-15",
    )


def _flags(patient_id, today=TODAY):
    row = patients.list_patients(SYSTEM, PatientQuery(search="S-1", today=today)).rows[0]
    return [f.kind for f in row.flags]


def _session(actor, patient_id, when, attendance="attended", **kw):
    return sessions.add_session(
        actor,
        patient_id,
        discipline=kw.pop("discipline", "pt"),
        held_at=when,
        kind="Graded activity",
        minutes=45,
        attendance=attendance,
        now=NOW,
        **kw,
    )


# --- sessions -----------------------------------------------------------------------------


def test_session_is_stored_with_clinician_and_audited(patient, clinician):
    s = _session(clinician, patient.id, "2026-09-01 10:00", clinician=clinician.user_id, note="walked 20 min")
    assert (s.discipline, s.minutes, s.attendance, s.clinician_name) == ("pt", 45, "attended", "Test Physio")
    assert audit.events(action_prefix="session.create")[0].patient_id == patient.id


def test_two_consecutive_no_shows_raise_a_flag(patient, clinician):
    _session(clinician, patient.id, "2026-09-01 10:00")
    _session(clinician, patient.id, "2026-09-08 10:00", "no_show")
    assert "missed_sessions" not in _flags(patient.id)
    _session(clinician, patient.id, "2026-09-15 10:00", "cancelled")  # neither ends nor extends the streak
    _session(clinician, patient.id, "2026-09-22 10:00", "no_show")
    assert "missed_sessions" in _flags(patient.id)
    last = _session(clinician, patient.id, "2026-09-29 10:00")
    assert "missed_sessions" not in _flags(patient.id)
    assert last.minutes == 45


def test_attendance_rate_counts_only_held_sessions(patient, clinician):
    _session(clinician, patient.id, "2026-09-01 10:00")
    _session(clinician, patient.id, "2026-09-08 10:00", "no_show")
    _session(clinician, patient.id, "2026-09-15 10:00", "cancelled")
    _session(clinician, patient.id, "2026-09-16 10:00", discipline="psychology")
    _session(clinician, patient.id, "2026-12-20 10:00", "cancelled")  # a future booking, cancelled already
    listed = sessions.list_sessions(SYSTEM, patient.id)
    pt = sessions.attendance(listed, "pt", until=NOW)
    assert (pt.booked, pt.attended, pt.no_show, pt.cancelled, round(pt.rate, 3)) == (3, 1, 1, 1, 0.333)
    assert sessions.attendance(listed, until=NOW).attended == 2


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("discipline", "chiropractic", "is not one of"),
        ("minutes", -5, "below the minimum"),
        ("minutes", "lots", "not a number"),
        ("attendance", "maybe", "is not one of"),
        ("held_at", "yesterday", "not a date and time"),
        ("kind", "", "is required"),
    ],
)
def test_bad_session_fields_are_named(patient, clinician, field, value, words):
    values = {
        "discipline": "pt",
        "held_at": "2026-09-01 10:00",
        "kind": "Graded activity",
        "minutes": 45,
        "attendance": "attended",
    }
    with pytest.raises(ValidationError) as err:
        sessions.add_session(clinician, patient.id, **{**values, field: value}, now=NOW)
    assert err.value.field == field and words in str(err.value)
    assert Session.select().count() == 0


def test_future_session_cannot_be_marked_attended(patient, clinician):
    with pytest.raises(ValidationError, match="future") as err:
        _session(clinician, patient.id, "2027-01-10 10:00")
    assert err.value.field == "attendance"


def test_session_edit_delete_undo(patient, clinician):
    s = _session(clinician, patient.id, "2026-09-01 10:00")
    edited = sessions.update_session(clinician, s.id, s.version, attendance="no_show", now=NOW)
    assert (edited.attendance, edited.minutes, edited.version) == ("no_show", 0, 2)
    with pytest.raises(Conflict):
        sessions.update_session(clinician, s.id, s.version, note="stale", now=NOW)
    before = sessions.delete_session(clinician, s.id, edited.version)
    with pytest.raises(NotFound):
        sessions.get_session(SYSTEM, s.id)
    back = sessions.restore_session(clinician, before)
    assert (back.id, back.attendance) == (s.id, "no_show")


# --- goals --------------------------------------------------------------------------------


def test_goal_linked_to_a_measure_checks_direction_and_range(patient, clinician):
    g = goals.GOALS.add(
        clinician,
        patient.id,
        discipline="psychology",
        text="Mood back to mild",
        instrument="phq9",
        baseline_value=16,
        target_value=8,
        set_on="2026-08-20",
        due_on="2026-12-01",
    )
    assert (g.instrument, g.status, g.version) == ("phq9", "active", 1)
    assert goals.progress(g, 12) == 50
    assert goals.progress(g, 20) == 0 and goals.progress(g, 5) == 100
    with pytest.raises(ValidationError, match="better score is below") as err:
        goals.GOALS.add(
            clinician,
            patient.id,
            discipline="psychology",
            text="x",
            instrument="phq9",
            baseline_value=8,
            target_value=12,
            set_on="2026-08-20",
        )
    assert err.value.field == "target_value"
    with pytest.raises(ValidationError, match="above the maximum 27"):
        goals.GOALS.add(
            clinician,
            patient.id,
            discipline="psychology",
            text="x",
            instrument="phq9",
            baseline_value=30,
            target_value=8,
            set_on="2026-08-20",
        )
    with pytest.raises(UnknownInstrument):
        goals.GOALS.add(clinician, patient.id, discipline="pt", text="x", instrument="vas", set_on="2026-08-20")
    walk = goals.GOALS.add(
        clinician,
        patient.id,
        discipline="pt",
        text="Walk further",
        instrument="six_minute_walk",
        baseline_value=300,
        target_value=420,
        set_on="2026-08-20",
    )
    assert goals.progress(walk, 360) == 50  # higher is better here
    assert Goal.select().count() == 2


def test_goal_due_before_it_was_set_is_refused(patient, clinician):
    with pytest.raises(ValidationError) as err:
        goals.GOALS.add(clinician, patient.id, discipline="pt", text="x", set_on="2026-09-01", due_on="2026-08-01")
    assert err.value.field == "due_on"


def test_goal_past_due_flags_until_reviewed(patient, clinician):
    g = goals.GOALS.add(
        clinician,
        patient.id,
        discipline="social",
        text="Back at work 20 h/week",
        set_on="2026-08-20",
        due_on="2026-11-01",
        progress=40,
    )
    assert "goal_past_due" in _flags(patient.id)
    goals.GOALS.update(clinician, g.id, g.version, status="partly_achieved")
    assert "goal_past_due" not in _flags(patient.id)


# --- plans --------------------------------------------------------------------------------


def test_graded_activity_plan_with_weeks_and_undo_of_the_whole_plan(patient, clinician):
    plan = plans.GRADED_PLANS.add(
        clinician,
        patient.id,
        activity="Walking",
        unit="minutes",
        baseline_tolerance=10,
        current_level=20,
        target_level=45,
        weekly_increment=5,
        started_on="2026-08-20",
    )
    assert (plan.progress, plan.weeks_to_target) == (29, 5)
    plans.GRADED_WEEKS.add(
        clinician, plan.id, week_start="2026-08-20", planned_level=10, achieved_level=10, adherence_pct=90
    )
    plans.GRADED_WEEKS.add(
        clinician, plan.id, week_start="2026-08-27", planned_level=15, achieved_level=12, adherence_pct=70
    )
    with pytest.raises(ValidationError) as err:
        plans.GRADED_WEEKS.add(clinician, plan.id, week_start="2026-09-03", planned_level=20, adherence_pct=140)
    assert err.value.field == "adherence_pct"
    weeks_audit = audit.events(action_prefix="graded_week.create")
    assert len(weeks_audit) == 2 and weeks_audit[0].patient_id == patient.id
    before = plans.GRADED_PLANS.delete(clinician, plan.id, plan.version)
    assert GradedActivityWeek.select().count() == 0  # cascaded
    plans.GRADED_PLANS.restore(clinician, before)
    assert [w.achieved_level for w in plans.GRADED_WEEKS.list(SYSTEM, plan.id)] == [10, 12]


def test_graded_plan_target_must_exceed_baseline(patient, clinician):
    with pytest.raises(ValidationError) as err:
        plans.GRADED_PLANS.add(
            clinician,
            patient.id,
            activity="Sitting",
            baseline_tolerance=30,
            current_level=30,
            target_level=20,
            weekly_increment=5,
        )
    assert err.value.field == "target_level"


def test_course_modules_cannot_exceed_the_total(patient, clinician):
    course = plans.COURSES.add(clinician, patient.id, kind="Mindfulness (MBSR)", modules_total=8, modules_done=3)
    with pytest.raises(ValidationError) as err:
        plans.COURSES.update(clinician, course.id, course.version, modules_done=9)
    assert err.value.field == "modules_done"
    assert plans.COURSES.get(SYSTEM, course.id).modules_done == 3


def test_plan_items_take_their_discipline_from_the_category(patient, clinician):
    item = plans.PLAN_ITEMS.add(clinician, patient.id, category="caffeine_cutoff", text="No coffee after 14:00")
    assert (item.discipline, item.category_label) == ("sleep", "Caffeine cut-off")
    with pytest.raises(ValidationError, match="unknown plan category"):
        plans.PLAN_ITEMS.add(clinician, patient.id, category="astrology", text="x")


def test_return_to_work_phase_history_and_current_phase(patient, clinician):
    plans.RTW_PHASES.add(clinician, patient.id, phase=0, started_on="2026-08-15")
    plans.RTW_PHASES.add(
        clinician,
        patient.id,
        phase=2,
        started_on="2026-10-01",
        hours_per_week=16,
        modified_duties="No lifting over 10 kg",
        employer_contact="HR adviser",
    )
    with pytest.raises(ValidationError, match="not a return-to-work phase") as err:
        plans.RTW_PHASES.add(clinician, patient.id, phase=7, started_on="2026-10-10")
    assert err.value.field == "phase"
    full = chart.get_record(SYSTEM, patient.id, today=TODAY)
    assert [p.phase for p in full.rtw_phases] == [0, 2]
    assert full.current_rtw_phase.label == "Phased return: reduced hours"
    assert (
        patients.list_patients(SYSTEM, PatientQuery(search="S-1")).rows[0].rtw_phase_label
        == "Phased return: reduced hours"
    )


def test_sleep_diary_night_is_scored_and_averaged_by_week(patient, clinician):
    night = sleep_diary.NIGHTS.add(
        clinician,
        patient.id,
        night_of="2026-11-02",
        bed_time="22:30",
        lights_out="23:00",
        sol_minutes=30,
        awakenings=2,
        waso_minutes=30,
        final_wake="06:30",
        out_of_bed="07:00",
        quality=3,
    )
    # TIB 22:30→07:00 = 510; TST = (06:30 − 23:00) 450 − 30 − 30 = 390; SE = 390/510 = 76.5 %
    assert (night.tib_minutes, night.tst_minutes, round(night.efficiency, 1)) == (510, 390, 76.5)
    sleep_diary.NIGHTS.add(
        clinician,
        patient.id,
        night_of="2026-11-03",
        bed_time="23:00",
        lights_out="23:00",
        sol_minutes=10,
        awakenings=0,
        waso_minutes=0,
        final_wake="07:00",
        out_of_bed="07:00",
    )
    weeks = sleep_diary.weekly_means(sleep_diary.NIGHTS.list(SYSTEM, patient.id))
    assert len(weeks) == 1 and weeks[0].week_start == dt.date(2026, 11, 2) and weeks[0].nights == 2
    assert weeks[0].tst_minutes == (390 + 470) / 2
    with pytest.raises(ValidationError, match="item 2") as err:
        sleep_diary.NIGHTS.add(
            clinician,
            patient.id,
            night_of="2026-11-04",
            bed_time="22:30",
            lights_out="25:00",
            sol_minutes=30,
            awakenings=0,
            waso_minutes=0,
            final_wake="06:30",
            out_of_bed="07:00",
        )
    assert "HH:MM" in str(err.value)


def test_flare_severity_is_checked(patient, clinician):
    flare = FLARES.add(
        clinician,
        patient.id,
        started_on="2026-10-03",
        severity=8,
        suspected_trigger="Long drive",
        what_helped="Heat, pacing",
        days_to_recover=4,
    )
    assert flare.severity == 8
    with pytest.raises(ValidationError) as err:
        FLARES.add(clinician, patient.id, started_on="2026-10-03", severity=11)
    assert err.value.field == "severity"


# --- check-ins and actions ------------------------------------------------------------------


def test_checkin_records_attendees_narrative_and_next_date(patient, clinician, case_manager):
    c = checkins.record_checkin(
        case_manager,
        patient.id,
        held_on="2026-11-20",
        attendees=[clinician.user_id, case_manager.user_id],
        narrative="Good progress",
        snapshot={"phq9": 8},
        next_checkin="2027-01-08",
    )
    assert [a["name"] for a in c.attendees] == ["Test Physio", "Test Manager"]
    assert c.snapshot == {"phq9": 8}
    assert patients.get_patient(SYSTEM, patient.id).next_checkin == dt.date(2027, 1, 8)
    with pytest.raises(ValidationError) as err:
        checkins.record_checkin(case_manager, patient.id, held_on="2026-11-20", attendees=[9999])
    assert err.value.field == "attendees"
    with pytest.raises(ValidationError) as err:
        checkins.record_checkin(case_manager, patient.id, held_on="2026-11-20", attendees=[], next_checkin="2026-11-01")
    assert err.value.field == "next_checkin"


def test_checkin_overdue_flag(patient, case_manager):
    patients.update_patient(case_manager, patient.id, patient.version, next_checkin="2026-11-20")
    assert "checkin_overdue" in _flags(patient.id)
    assert "checkin_overdue" not in _flags(patient.id, today=dt.date(2026, 11, 20))


def test_action_items_complete_and_reopen(patient, clinician, case_manager):
    a = ACTION_ITEMS.add(
        case_manager, patient.id, text="Call employer about hours", owner=case_manager.user_id, due_on="2026-12-04"
    )
    assert (a.status, a.completed_at) == ("open", None)
    done = ACTION_ITEMS.update(case_manager, a.id, a.version, status="done")
    assert done.completed_at is not None
    reopened = ACTION_ITEMS.update(case_manager, a.id, done.version, status="open")
    assert reopened.completed_at is None
    with pytest.raises(ValidationError) as err:
        ACTION_ITEMS.add(case_manager, patient.id, text="x", owner=424242)
    assert err.value.field == "owner"
    d = DECISIONS.add(case_manager, patient.id, text="Step up graded walking to 30 minutes", made_by=clinician.user_id)
    assert d.text.startswith("Step up")


def test_full_record_holds_everything(clinic):
    row = patients.list_patients(SYSTEM, PatientQuery(limit=1, status="active", sort="flags", today=TODAY)).rows[0]
    full = chart.get_record(SYSTEM, row.id, today=dt.date(2026, 11, 27))
    assert full.patient.clinic_id == row.clinic_id
    assert full.measurements and full.sessions and full.goals and full.checkins and full.graded_plans
    assert {m.instrument for m in full.measurements} >= {"nrs_pain", "odi", "phq9"}
    assert [m.taken_at for m in full.measurements] == sorted(m.taken_at for m in full.measurements)
    assert full.flags and [f.reason for f in full.flags] == [f.reason for f in row.flags]


def test_a_duplicate_session_is_named_at_its_time(patient, clinician):
    _session(clinician, patient.id, "2026-09-01 10:00")
    with pytest.raises(ValidationError, match="duplicate session") as err:
        _session(clinician, patient.id, "2026-09-01 10:00")
    assert err.value.field == "held_at"
    assert Session.select().count() == 1
