"""Status over time: on hold, resume, discharge, drop-out and readmission as a new
episode whose baseline restarts; dates checked against each other; every change
versioned, audited and undoable; the list's filters and counts follow."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import Conflict, EditConflict, PermissionDenied, ValidationError
from teamdash.services import audit, chart, episodes, measurements, patients, timelines
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from teamdash.storage.models import Episode, StatusChange
from tests.demo_facts import DEMO_TODAY
from ui.panels.instrument_rows import instrument_row

GOOD = {
    "clinic_id": "TD-00100",
    "given_name": "Ada",
    "family_name": "Testcase",
    "date_of_birth": "1971-04-02",
    "sex": "female",
    "referral_date": "2026-01-05",
    "programme_start": "2026-01-19",
    "next_checkin": "2026-12-10",
}


@pytest.fixture
def patient(database):
    return patients.create_patient(SYSTEM, **GOOD)


def _counts() -> dict[str, int]:
    return {
        s: patients.count_patients(SYSTEM, PatientQuery(status=s))
        for s in ("active", "on_hold", "discharged", "dropped_out")
    }


def _pain(patient_id: int, when: str, value: int) -> None:
    measurements.record_measurement(SYSTEM, patient_id, "nrs_pain", [value], taken_at=when)


def _version(patient_id: int) -> int:
    return patients.get_patient(SYSTEM, patient_id).version


# --- discharge, drop-out, on hold ------------------------------------------------------------


def test_discharge_is_dated_with_reason_and_note_and_audited(patient):
    change = episodes.change_status(
        SYSTEM,
        patient.id,
        patient.version,
        "discharged",
        effective_on="2026-11-20",
        reason="goals_met",
        note="Back at work",
    )
    assert (change.event, change.status, change.effective_on, change.episode) == (
        "discharged",
        "discharged",
        dt.date(2026, 11, 20),
        1,
    )
    detail = patients.get_patient(SYSTEM, patient.id)
    assert (detail.status, detail.status_changed_on, detail.status_reason, detail.status_note) == (
        "discharged",
        dt.date(2026, 11, 20),
        "goals_met",
        "Back at work",
    )
    assert detail.next_checkin is None  # an ended episode has no check-in booked
    assert detail.version == change.version_after == patient.version + 1
    event = audit.events(patient_id=patient.id, action_prefix="patient.status")[0]
    assert event.action == "patient.status.discharged"
    assert (event.before["status"], event.after["status"]) == ("active", "discharged")
    assert event.details["reason"] == "goals_met" and event.details["effective_on"] == "2026-11-20"
    assert [(h.event, h.reason) for h in episodes.history(SYSTEM, patient.id)] == [
        ("registered", None),
        ("discharged", "goals_met"),
    ]


@pytest.mark.parametrize(
    "event, values, field, words",
    [
        ("discharged", {"reason": None}, "reason", "is required"),
        ("discharged", {"reason": "bored"}, "reason", "is not one of"),
        ("discharged", {"reason": "other"}, "note", "is required"),
        ("discharged", {"reason": "goals_met", "effective_on": "2026-11-28"}, "effective_on", "in the future"),
        (
            "discharged",
            {"reason": "goals_met", "effective_on": "2026-01-10"},
            "effective_on",
            "before the programme start",
        ),
        ("dropped_out", {"reason": "moved", "effective_on": "2025-12-31"}, "effective_on", "before the referral date"),
        ("dropped_out", {"reason": "moved", "effective_on": "2026-13-01"}, "effective_on", "not a date"),
        ("on_hold", {"note": ""}, "note", "is required"),
        ("resumed", {}, "event", "only a patient on hold can resume"),
        ("vanished", {}, "event", "is not one of"),
    ],
)
def test_bad_status_changes_are_named_and_change_nothing(patient, event, values, field, words):
    before = (len(audit.events()), _counts())
    with pytest.raises(ValidationError) as err:
        episodes.change_status(SYSTEM, patient.id, patient.version, event, **values)
    assert err.value.field == field
    assert words in str(err.value)
    assert (len(audit.events()), _counts()) == before
    assert patients.get_patient(SYSTEM, patient.id).version == patient.version


def test_on_hold_then_resumed_and_the_list_follows(patient):
    assert _counts() == {"active": 1, "on_hold": 0, "discharged": 0, "dropped_out": 0}
    episodes.change_status(SYSTEM, patient.id, patient.version, "on_hold", effective_on="2026-10-01", note="Surgery")
    assert _counts() == {"active": 0, "on_hold": 1, "discharged": 0, "dropped_out": 0}
    row = patients.list_patients(SYSTEM, PatientQuery(status="on_hold", today=DEMO_TODAY)).rows[0]
    assert row.status == "on_hold" and not row.checkin_overdue  # no overdue flags while on hold
    assert patients.get_patient(SYSTEM, patient.id).next_checkin == dt.date(2026, 12, 10)  # kept for the return
    with pytest.raises(ValidationError, match="only an active patient can be put on hold"):
        episodes.change_status(SYSTEM, patient.id, _version(patient.id), "on_hold", note="again")
    with pytest.raises(ValidationError, match="before the previous status change"):
        episodes.change_status(SYSTEM, patient.id, _version(patient.id), "resumed", effective_on="2026-09-30")
    episodes.change_status(SYSTEM, patient.id, _version(patient.id), "resumed", effective_on="2026-11-02")
    assert _counts()["active"] == 1
    assert [h.event for h in episodes.history(SYSTEM, patient.id)] == ["registered", "on_hold", "resumed"]


def test_a_patient_on_hold_can_drop_out(patient):
    episodes.change_status(SYSTEM, patient.id, patient.version, "on_hold", effective_on="2026-10-01", note="Unwell")
    episodes.change_status(
        SYSTEM, patient.id, _version(patient.id), "dropped_out", effective_on="2026-11-01", reason="lost_to_follow_up"
    )
    assert _counts() == {"active": 0, "on_hold": 0, "discharged": 0, "dropped_out": 1}
    with pytest.raises(ValidationError, match="readmit the patient"):
        episodes.change_status(SYSTEM, patient.id, _version(patient.id), "discharged", reason="goals_met")


def test_a_stale_version_is_refused(patient):
    patients.update_patient(SYSTEM, patient.id, patient.version, family_name="Renamed")  # another workstation
    with pytest.raises(EditConflict, match="changed by someone else"):
        episodes.change_status(SYSTEM, patient.id, patient.version, "discharged", reason="goals_met")
    assert patients.get_patient(SYSTEM, patient.id).status == "active"


def test_only_those_who_administer_patients_change_status(patient, physio):
    with pytest.raises(PermissionDenied):
        episodes.change_status(physio, patient.id, patient.version, "discharged", reason="goals_met")


# --- readmission -----------------------------------------------------------------------------


def _discharged(patient, on="2026-06-30"):
    episodes.change_status(SYSTEM, patient.id, patient.version, "discharged", effective_on=on, reason="goals_met")
    return patients.get_patient(SYSTEM, patient.id)


def test_readmission_opens_a_new_episode_and_keeps_the_old_one(patient, case_manager):
    done = _discharged(patient)
    change = episodes.readmit(
        SYSTEM,
        patient.id,
        done.version,
        referral_date="2026-09-01",
        programme_start="2026-09-14",
        next_checkin="2026-12-01",
        case_manager=case_manager.user_id,
        note="Re-referred by GP after a relapse",
    )
    assert (change.event, change.episode, change.effective_on) == ("readmitted", 2, dt.date(2026, 9, 1))
    now = patients.get_patient(SYSTEM, patient.id)
    assert (now.status, now.episode_number, now.episode_start, now.referral_date, now.programme_start) == (
        "active",
        2,
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 14),
    )
    assert type(now.episode_number) is int  # a plain number (a query expression compares "equal" to anything)
    assert now.case_manager == case_manager.user_id and now.next_checkin == dt.date(2026, 12, 1)
    assert now.weeks_in_programme == (DEMO_TODAY - dt.date(2026, 9, 14)).days // 7  # counted from the new start
    first, current = episodes.episodes(SYSTEM, patient.id)
    assert (first.number, first.started_on, first.ended_on, first.outcome, first.reason) == (
        1,
        dt.date(2026, 1, 5),
        dt.date(2026, 6, 30),
        "discharged",
        "goals_met",
    )
    assert first.outcome_text == "discharged: goals met" and first.programme_start == dt.date(2026, 1, 19)
    assert (current.number, current.current, current.ended_on, current.outcome_text) == (2, True, None, "ongoing")
    assert [(h.episode, h.event) for h in episodes.history(SYSTEM, patient.id)] == [
        (1, "registered"),
        (1, "discharged"),
        (2, "readmitted"),
    ]
    assert audit.events(patient_id=patient.id, limit=1)[0].action == "patient.status.readmitted"


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"referral_date": "2026-06-30"}, "referral_date", "must be after episode 1 ended"),
        ({"referral_date": "2026-12-01"}, "referral_date", "in the future"),
        ({"referral_date": "2026-09-01", "programme_start": "2026-08-01"}, "programme_start", "before the referral"),
        ({"referral_date": "2026-09-01", "next_checkin": "2026-08-01"}, "next_checkin", "before the referral"),
        ({"referral_date": "2026-09-01", "case_manager": 9999}, "case_manager", "no active staff member"),
    ],
)
def test_bad_readmissions_are_named_and_change_nothing(patient, values, field, words):
    done = _discharged(patient)
    with pytest.raises(ValidationError) as err:
        episodes.readmit(SYSTEM, patient.id, done.version, **values)
    assert err.value.field == field and words in str(err.value)
    assert patients.get_patient(SYSTEM, patient.id).status == "discharged"
    assert Episode.select().count() == 0


def test_an_active_patient_is_not_readmitted(patient):
    with pytest.raises(ValidationError, match="only a discharged or dropped-out patient"):
        episodes.readmit(SYSTEM, patient.id, patient.version, referral_date="2026-09-01")


def test_baseline_change_mcid_and_flags_restart_with_the_new_episode(patient):
    _pain(patient.id, "2026-06-20 10:00", 8)
    _pain(patient.id, "2026-06-27 10:00", 3)  # episode 1: 8 -> 3, MCID met
    summary = patients.list_patients(SYSTEM, PatientQuery()).rows[0]
    assert (summary.pain_latest, summary.pain_change) == (3, -5)
    done = _discharged(patient)
    _pain(patient.id, "2026-09-02 10:00", 7)  # the re-referral's intake, entered before the readmission
    episodes.readmit(SYSTEM, patient.id, done.version, referral_date="2026-09-01")
    row = patients.list_patients(SYSTEM, PatientQuery()).rows[0]
    assert (row.pain_latest, row.pain_change) == (7, None)  # one value in episode 2: no change yet
    _pain(patient.id, "2026-11-20 10:00", 6)
    row = patients.list_patients(SYSTEM, PatientQuery()).rows[0]
    assert (row.pain_latest, row.pain_change) == (6, -1)  # from episode 2's baseline of 7, not 8

    record = chart.get_record(SYSTEM, patient.id, today=DEMO_TODAY)
    timeline = timelines.build(record)
    pain = timeline.series["nrs_pain"]
    assert len(pain.points) == 4  # the earlier episode's values stay on the record
    assert pain.baseline.value == 7 and pain.latest.value == 6
    assert (pain.change.points, pain.change.mcid_met) == (-1, False)
    assert pain.mcid_threshold == 5  # 7 - 2 points
    (span,) = timeline.earlier_episodes
    assert (span.number, span.start, span.end) == (1, dt.date(2026, 1, 5), dt.date(2026, 6, 30))
    assert span.detail == "Episode 1: 5 Jan 2026 – 30 Jun 2026, discharged: goals met"
    assert timeline.episode_start_x == timelines.epoch(dt.date(2026, 9, 1))
    assert timeline.fit_range[0] < span.start_x
    # The line does not join the episodes.
    xs = list(pain.line_x)
    first_of_episode = next(i for i, x in enumerate(xs) if x >= timeline.episode_start_x)
    assert xs[first_of_episode - 1] != xs[first_of_episode - 1]  # NaN: a break
    # The panels' rows count this episode only.
    data = instrument_row(record, "nrs_pain")
    assert (data.count, data.progress.baseline.value, data.latest.total, data.from_baseline.points) == (2, 7, 6, -1)
    assert record.baseline_checklist().episode_start == dt.date(2026, 9, 1)


# --- undo ------------------------------------------------------------------------------------


def test_undo_of_a_discharge_restores_the_active_patient(patient):
    change = episodes.change_status(SYSTEM, patient.id, patient.version, "discharged", reason="moved")
    episodes.undo_change(SYSTEM, change.id)
    back = patients.get_patient(SYSTEM, patient.id)
    assert (back.status, back.status_changed_on, back.next_checkin) == ("active", None, dt.date(2026, 12, 10))
    assert StatusChange.get_or_none(StatusChange.id == change.id) is None
    assert audit.events(patient_id=patient.id, limit=1)[0].action == "patient.status.undo"
    assert _counts()["active"] == 1


def test_undo_of_a_readmission_brings_the_ended_episode_back(patient):
    done = _discharged(patient)
    change = episodes.readmit(SYSTEM, patient.id, done.version, referral_date="2026-09-01")
    episodes.undo_change(SYSTEM, change.id)
    back = patients.get_patient(SYSTEM, patient.id)
    assert (back.status, back.episode_number, back.episode_start, back.referral_date) == (
        "discharged",
        1,
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 5),
    )
    assert back.status_reason == "goals_met"
    assert Episode.select().count() == 0


def test_undo_never_overwrites_a_later_edit(patient):
    change = episodes.change_status(SYSTEM, patient.id, patient.version, "discharged", reason="moved")
    patients.update_patient(SYSTEM, patient.id, _version(patient.id), next_checkin="2026-12-20")  # booked since
    with pytest.raises(Conflict, match="next checkin changed since"):
        episodes.undo_change(SYSTEM, change.id)
    assert patients.get_patient(SYSTEM, patient.id).status == "discharged"


def test_an_unrelated_edit_does_not_block_undo(patient):
    change = episodes.change_status(SYSTEM, patient.id, patient.version, "on_hold", note="Travel")
    patients.update_patient(SYSTEM, patient.id, _version(patient.id), family_name="Edited")
    episodes.undo_change(SYSTEM, change.id)
    back = patients.get_patient(SYSTEM, patient.id)
    assert (back.status, back.family_name) == ("active", "Edited")


def test_only_the_latest_change_is_undone(patient):
    hold = episodes.change_status(
        SYSTEM, patient.id, patient.version, "on_hold", note="Travel", effective_on="2026-10-01"
    )
    episodes.change_status(SYSTEM, patient.id, _version(patient.id), "resumed")
    with pytest.raises(Conflict, match="later status change"):
        episodes.undo_change(SYSTEM, hold.id)


def test_a_registration_is_not_undone_as_a_status_change(patient):
    registered = episodes.history(SYSTEM, patient.id)[0]
    with pytest.raises(ValidationError):
        episodes.undo_change(SYSTEM, registered.id)


# --- the demo, and patients registered before the history existed ---------------------------------


def test_the_demo_records_why_patients_left(clinic):
    left = patients.list_patients(SYSTEM, PatientQuery(status="dropped_out", limit=1)).rows[0]
    detail = patients.get_patient(SYSTEM, left.id)
    history = episodes.history(SYSTEM, left.id)
    assert [(h.event, h.reason) for h in history] == [("registered", None), ("dropped_out", "stopped_attending")]
    assert history[-1].effective_on == detail.status_changed_on and history[-1].recorded_by_name == left.case_manager
    assert detail.status_reason == "stopped_attending"
    # Undo works on it as on any recorded change, and so does a readmission.
    episodes.undo_change(SYSTEM, history[-1].id)
    assert patients.get_patient(SYSTEM, left.id).status == "active"
    discharged = patients.list_patients(SYSTEM, PatientQuery(status="discharged", limit=1)).rows[0]
    episodes.readmit(
        SYSTEM, discharged.id, patients.get_patient(SYSTEM, discharged.id).version, referral_date=DEMO_TODAY
    )
    assert [e.outcome_text for e in episodes.episodes(SYSTEM, discharged.id)] == ["discharged: goals met", "ongoing"]


def test_history_without_records_is_inferred_from_the_patient_row(patient):
    """An import or an older TeamDash leaves a status on the patient row and no history."""
    from teamdash.storage.models import Patient

    StatusChange.delete().execute()
    Patient.update(status="dropped_out", status_changed_on=dt.date(2026, 10, 1), next_checkin=None).execute()
    history = episodes.history(SYSTEM, patient.id)
    assert [(h.event, h.id, h.effective_on) for h in history] == [
        ("registered", None, dt.date(2026, 1, 5)),
        ("dropped_out", None, dt.date(2026, 10, 1)),
    ]
    assert not any(h.undoable for h in history)
    assert episodes.latest_change(SYSTEM, patient.id) is None


def test_prepared_queries_return_plain_values_for_functions(patient):
    """row_ops.Prepared converts a selected column; an aggregate has no converter."""
    import peewee as pw

    from teamdash.services import row_ops
    from teamdash.storage.models import Patient

    counted = row_ops.Prepared(
        lambda pid: (
            Patient.select(pw.fn.COUNT(Patient.id).alias("n"), Patient.clinic_id.alias("cid"))
            .where(Patient.id == pid)
            .group_by(Patient.clinic_id)
        )
    )
    (row,) = counted.dicts(patient.id)
    assert (type(row["n"]), row["n"], row["cid"]) == (int, 1, "TD-00100")  # not a query expression
