"""Recording, correcting and deleting measurements; safety acknowledgements; the
patient summary that the list shows follows every write."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from teamdash.errors import Conflict, InvalidResponse, UnknownInstrument, ValidationError
from teamdash.services import audit, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from teamdash.storage.models import Measurement

NOW = dt.datetime(2026, 11, 27, 12, 0)


@pytest.fixture
def patient(database):
    return patients.create_patient(
        SYSTEM,
        clinic_id="M-1",
        given_name="Mo",
        family_name="Measured",
        date_of_birth="1980-01-01",
        referral_date="2026-09-01",
        programme_start="2026-09-08",
    )


def _row(patient_id):
    return patients.list_patients(SYSTEM, PatientQuery(search="M-1", today=NOW.date())).rows[0]


def record(actor, patient_id, instrument, responses, when):
    return measurements.record_measurement(actor, patient_id, instrument, responses, taken_at=when, now=NOW)


def test_recording_scores_stores_and_audits(patient, clinician):
    m = record(clinician, patient.id, "phq9", [1, 2, 1, 1, 2, 1, 1, 1, 0], "2026-09-10 10:30")
    assert (m.total, m.band, m.safety, m.entered_by_name) == (10, "Moderate", False, "Test Physio")
    assert m.taken_at == dt.datetime(2026, 9, 10, 10, 30)
    assert m.responses == [1, 2, 1, 1, 2, 1, 1, 1, 0]
    event = audit.events(patient_id=patient.id, action_prefix="measurement")[0]
    assert (event.action, event.actor_name, event.after["total"]) == ("measurement.create", "Test Physio", 10)


def test_the_list_shows_latest_pain_and_disability_with_change(patient, clinician):
    record(clinician, patient.id, "nrs_pain", [8], "2026-09-02 09:00")
    record(clinician, patient.id, "odi", [3] * 10, "2026-09-02 09:05")
    row = _row(patient.id)
    assert (row.pain_latest, row.pain_change, row.disability_latest, row.disability_band) == (
        8,
        None,
        60,
        "Severe disability",
    )
    record(clinician, patient.id, "nrs_pain", [4], "2026-10-14 09:00")
    record(clinician, patient.id, "odi", [2] * 10, "2026-10-14 09:05")
    row = _row(patient.id)
    assert (row.pain_latest, row.pain_change, row.pain_verdict) == (4, -4, "better")
    assert (row.disability_instrument, row.disability_latest, row.disability_band) == ("odi", 40, "Moderate disability")
    assert (row.disability_change, row.disability_verdict) == (-20, "better")


@pytest.mark.parametrize(
    "instrument, responses, error, words",
    [
        ("phq9", [1, 2, 1, 1, 4, 1, 1, 1, 0], InvalidResponse, "item 5 of PHQ-9: 4 is outside 0–3"),
        ("phq9", [1, 2, "x", 1, 1, 1, 1, 1, 0], InvalidResponse, "item 3"),
        ("phq9", [1, 2, 1], InvalidResponse, "expected 9 responses"),
        ("gad77", [1], UnknownInstrument, "unknown instrument 'gad77'"),
    ],
)
def test_bad_responses_save_nothing(patient, clinician, instrument, responses, error, words):
    with pytest.raises(error) as err:
        record(clinician, patient.id, instrument, responses, "2026-09-10 10:30")
    assert words in str(err.value)
    assert Measurement.select().count() == 0
    assert audit.events(action_prefix="measurement") == []


@pytest.mark.parametrize(
    "when, words",
    [
        ("2026-12-25 10:00", "in the future"),
        ("1979-06-01 10:00", "before the patient's date of birth"),
        ("2026-02-30 10:00", "not a date and time"),
    ],
)
def test_impossible_dates_are_refused(patient, clinician, when, words):
    with pytest.raises(ValidationError) as err:
        record(clinician, patient.id, "nrs_pain", [5], when)
    assert err.value.field == "taken_at" and words in str(err.value)
    assert Measurement.select().count() == 0


def test_a_duplicate_measurement_is_refused_but_same_day_repeats_are_kept(patient, clinician):
    record(clinician, patient.id, "nrs_pain", [6], "2026-09-10 09:00")
    with pytest.raises(ValidationError, match="duplicate measurement"):
        record(clinician, patient.id, "nrs_pain", [5], "2026-09-10 09:00")
    record(clinician, patient.id, "nrs_pain", [3], "2026-09-10 16:00")
    series = measurements.list_measurements(SYSTEM, patient.id, "nrs_pain")
    assert [m.total for m in series] == [6, 3]
    assert _row(patient.id).pain_latest == 3  # the later time taken wins


def test_out_of_order_entry_keeps_time_order(patient, clinician):
    record(clinician, patient.id, "nrs_pain", [4], "2026-10-20 09:00")
    record(clinician, patient.id, "nrs_pain", [8], "2026-09-02 09:00")  # baseline entered late
    row = _row(patient.id)
    assert (row.pain_latest, row.pain_change) == (4, -4)


def test_correction_rescoring_and_version_conflict(patient, clinician):
    m = record(clinician, patient.id, "gad7", [1, 1, 1, 1, 1, 1, 1], "2026-09-10 10:00")
    fixed = measurements.update_measurement(clinician, m.id, m.version, responses=[2, 2, 2, 2, 2, 2, 2], now=NOW)
    assert (fixed.total, fixed.band, fixed.version) == (14, "Moderate", 2)
    with pytest.raises(Conflict):
        measurements.update_measurement(clinician, m.id, m.version, note="stale edit", now=NOW)
    assert measurements.get_measurement(SYSTEM, m.id).note is None
    change = audit.events(action_prefix="measurement.update")[0]
    assert (change.before["total"], change.after["total"]) == (7, 14)


def test_delete_keeps_an_audit_copy_and_undo_restores_it(patient, clinician):
    m = record(clinician, patient.id, "nrs_pain", [7], "2026-09-10 09:00")
    before = measurements.delete_measurement(clinician, m.id, m.version)
    assert measurements.list_measurements(SYSTEM, patient.id) == []
    assert _row(patient.id).pain_latest is None
    deleted = audit.events(action_prefix="measurement.delete")[0]
    assert deleted.before["total"] == 7 and deleted.before["responses"] == [7]
    restored = measurements.restore_measurement(clinician, before)
    assert (restored.id, restored.total, restored.taken_at) == (m.id, 7, m.taken_at)
    assert _row(patient.id).pain_latest == 7


def test_safety_item_flags_until_a_clinician_acknowledges(patient, clinician):
    m = record(clinician, patient.id, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1], "2026-09-10 10:00")
    assert m.safety and m.safety_open and m.total == 1  # flagged whatever the total
    row = _row(patient.id)
    assert row.has_safety_flag and "item 9" in row.flags[0].reason
    with pytest.raises(ValidationError, match="named clinician"):
        measurements.acknowledge_safety(SYSTEM, m.id, "seen")
    with pytest.raises(ValidationError) as err:
        measurements.acknowledge_safety(clinician, m.id, "   ")
    assert err.value.field == "action_taken"
    acked = measurements.acknowledge_safety(clinician, m.id, "Risk assessed; safety plan agreed", now=NOW)
    assert (acked.acknowledged_by, acked.action_taken, acked.safety) == (
        "Test Physio",
        "Risk assessed; safety plan agreed",
        True,
    )
    assert not acked.safety_open
    assert not _row(patient.id).has_safety_flag
    with pytest.raises(Conflict, match="already been acknowledged"):
        measurements.acknowledge_safety(clinician, m.id, "again")
    assert audit.events(action_prefix="safety.acknowledge")[0].actor_name == "Test Physio"


def test_acknowledging_a_measurement_without_safety_item_is_refused(patient, clinician):
    m = record(clinician, patient.id, "phq9", [0] * 9, "2026-09-10 10:00")
    with pytest.raises(ValidationError, match="no positive safety item"):
        measurements.acknowledge_safety(clinician, m.id, "n/a")


def test_reliable_deterioration_flags_the_patient(patient, clinician):
    record(clinician, patient.id, "phq9", [1, 1, 1, 0, 1, 0, 0, 0, 0], "2026-09-02 10:00")  # 4
    record(clinician, patient.id, "phq9", [2, 2, 2, 1, 2, 1, 1, 1, 0], "2026-10-14 10:00")  # 12: +8 ≥ 6
    flags = [f for f in _row(patient.id).flags if f.kind == "deterioration"]
    assert len(flags) == 1 and "PHQ-9" in flags[0].reason


def test_overdue_measure_is_judged_against_today(patient, clinician):
    record(clinician, patient.id, "odi", [2] * 10, "2026-09-02 10:00")  # every 42 days + 7 grace
    on_time = patients.list_patients(SYSTEM, PatientQuery(search="M-1", today=dt.date(2026, 10, 21))).rows[0]
    late = patients.list_patients(SYSTEM, PatientQuery(search="M-1", today=dt.date(2026, 10, 22))).rows[0]
    assert not [f for f in on_time.flags if f.kind == "overdue_measure"]
    assert [f.kind for f in late.flags] == ["overdue_measure"]
    assert late.flags[0].reason.startswith("ODI overdue by 8 days")


# --- PSFS activity names, prorated totals, rescoring ---------------------------------------------


def test_psfs_activity_names_are_stored_corrected_and_carried_forward(patient, clinician):
    assert measurements.carried_forward_names(clinician, patient.id, "psfs") is None
    first = measurements.record_measurement(
        clinician,
        patient.id,
        "psfs",
        [3, 4, None, None, None],
        item_names=["Walking 30 minutes", "Gardening", "Cycling", None, None],
        taken_at=dt.datetime(2026, 10, 1, 9),
        now=NOW,
    )
    assert first.item_names == ["Walking 30 minutes", "Gardening", "Cycling", None, None]
    assert first.named_ratings() == [("Walking 30 minutes", 3), ("Gardening", 4), ("Cycling", None)]
    carried = measurements.carried_forward_names(clinician, patient.id, "psfs")
    assert carried.names == ("Walking 30 minutes", "Gardening", "Cycling", None, None)
    assert carried.taken_at == dt.datetime(2026, 10, 1, 9)
    # a correction of the names alone rescores with the stored ratings, and is audited
    fixed = measurements.update_measurement(
        clinician, first.id, first.version, item_names=["Walking 30 min", "Gardening", None, None, None], now=NOW
    )
    assert (fixed.item_names[0], fixed.total, fixed.version) == ("Walking 30 min", 3.5, 2)
    event = audit.events(action_prefix="measurement.update")[0]
    assert (event.before["item_names"][0], event.after["item_names"][0]) == ("Walking 30 minutes", "Walking 30 min")
    # other instruments carry nothing forward
    assert measurements.carried_forward_names(clinician, patient.id, "nrs_pain") is None


def test_a_rated_activity_without_a_name_saves_nothing(patient, clinician):
    from teamdash.errors import InvalidItemName

    with pytest.raises(InvalidItemName) as info:
        measurements.record_measurement(
            clinician, patient.id, "psfs", [3, 4, None, None, None], item_names=["Walking", None], now=NOW
        )
    assert info.value.field == "name 2"
    assert measurements.list_measurements(clinician, patient.id, "psfs") == []


def test_a_prorated_phq9_is_stored_as_prorated(patient, clinician):
    m = record(clinician, patient.id, "phq9", [2, 2, None, 2, 2, 2, None, 2, 1], dt.datetime(2026, 10, 1, 9))
    # 13 over 7 answered items x 9 = 16.7 -> 17
    assert (m.total, m.band, m.prorated, m.details["missing_items"]) == (17.0, "Moderately severe", True, [3, 7])
    assert m.safety and m.safety_open  # item 9 still decides the safety flag


def test_rescoring_changes_only_rows_whose_rules_changed(patient, clinician):
    m = record(clinician, patient.id, "cpaq8", [5, 4, 6, 3, 2, 5, 1, 0], dt.datetime(2026, 10, 1, 9))
    pain = record(clinician, patient.id, "nrs_pain", [6], dt.datetime(2026, 10, 1, 10))
    # a score stored by the old key (form items 4, 5, 7, 8 reversed)
    Measurement.update(total=38.0).where(Measurement.id == m.id).execute()
    report = measurements.rescore_all(SYSTEM)
    assert (report.checked, report.changed, report.unscorable) == (2, 1, 0)
    again = measurements.get_measurement(SYSTEM, m.id)
    assert (again.total, again.version) == (34.0, 2)
    assert measurements.get_measurement(SYSTEM, pain.id).version == 1
    assert measurements.rescore_all(SYSTEM).changed == 0  # nothing left to correct


def test_the_same_psfs_ratings_under_other_names_keep_each_patients_names():
    """An import scores the same ratings once whoever named the activities: each row
    still stores its own names, and names that break the rules are still refused."""
    from teamdash.errors import InvalidItemName

    measurements.clear_scoring_cache()
    first = measurements.score_new(
        "psfs", ("3", "4", None, None, None), None, ("Walking", "Gardening", None, None, None)
    )
    other = measurements.score_new(
        "psfs", (3, 4, None, None, None), None, ("Lifting a box", "Cycling", None, None, None)
    )
    assert json.loads(first["item_names"]) == ["Walking", "Gardening", None, None, None]
    assert json.loads(other["item_names"]) == ["Lifting a box", "Cycling", None, None, None]
    assert {**first, "item_names": None} == {**other, "item_names": None}
    assert (first["total"], json.loads(first["responses"])) == (3.5, [3, 4, None, None, None])
    with pytest.raises(InvalidItemName, match="'walking' is already activity 1"):
        measurements.score_new("psfs", (3, 4, None, None, None), None, ("Walking", "walking", None, None, None))
    with pytest.raises(InvalidItemName, match="rated 4 but the activity has no name"):
        measurements.score_new("psfs", (3, 4, None, None, None), None, ("Walking", None, None, None, None))
