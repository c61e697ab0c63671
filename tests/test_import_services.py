"""The importer has no rules of its own: it calls the services' checks (the same ones
their single-record write paths use) and writes through their bulk paths, which check
permission, write in one transaction, audit and refresh the patient-list summaries."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from teamdash.errors import Conflict, PermissionDenied, ValidationError
from teamdash.exchange import importing
from teamdash.exchange.importing import ImportFailed
from teamdash.services import audit, list_summary, measurements, patients, sessions, staff
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.flares import FLARES
from teamdash.storage.models import AuditEvent, Flare, Measurement, Patient, PatientSummary, Session, User
from tests.test_export_support import NOW

TODAY = NOW.date()
DOB = dt.date(1980, 5, 1)


def sheet(path, title, headers, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def registered(case_manager):
    patients.create_patient(
        case_manager,
        clinic_id="P-1",
        given_name="Ash",
        family_name="Test",
        date_of_birth=DOB,
        referral_date=dt.date(2026, 1, 10),
        today=TODAY,
    )
    return case_manager


def problems_of(actor, path, **kw):
    with pytest.raises(ImportFailed) as caught:
        importing.import_file(actor, path, now=NOW, **kw)
    return caught.value.report.problems


# --- one rule, two callers -------------------------------------------------------------------------


def test_the_username_rule_is_the_staff_services(database, tmp_path):
    with pytest.raises(ValidationError) as direct:
        staff.create_user(SYSTEM, username="9lives", full_name="Nine Lives")
    path = sheet(tmp_path / "s.xlsx", "Staff", ["Username", "Full name"], [["9lives", "Nine Lives"]])
    (problem,) = problems_of(SYSTEM, path)
    assert problem.column == "Username" and problem.reason in direct.value.message
    assert "must start with a letter" in problem.reason
    assert User.select().count() == 0


def test_a_clinician_without_a_discipline_is_refused_by_the_staff_services_rule(database, tmp_path):
    """A clinician's records are their discipline's (the role rule of sign-in and roles):
    a staff sheet that leaves it blank is refused at the Discipline column, and a role
    that needs none (a case manager) imports without one."""
    with pytest.raises(ValidationError) as direct:
        staff.validate_new({"username": "newpt", "full_name": "New Physio", "role": "clinician"})
    path = sheet(
        tmp_path / "s.xlsx",
        "Staff",
        ["Username", "Full name", "Role", "Discipline"],
        [["newpt", "New Physio", "clinician", None], ["newcm", "New Manager", "case_manager", None]],
    )
    (problem,) = problems_of(SYSTEM, path)
    assert (problem.row, problem.column) == (2, "Discipline") and problem.reason in direct.value.message
    assert "a clinician needs a discipline" in problem.reason
    assert User.select().count() == 0
    importing.import_file(SYSTEM, path, now=NOW, skip_bad_rows=True)
    assert [(u.username, u.role, u.discipline_id) for u in User.select()] == [("newcm", "case_manager", None)]


def test_the_importer_reports_whatever_the_services_check_says(registered, tmp_path, monkeypatch):
    """A rule changed in the service is the importer's rule at once: it holds no copy."""

    def stricter(*args, **kwargs):
        raise ValidationError("sessions on this ward need a referral letter", field="kind")

    monkeypatch.setattr(sessions, "validate_new", stricter)
    path = sheet(
        tmp_path / "s.xlsx",
        "Sessions",
        ["Patient ID", "Discipline", "Held at", "Kind"],
        [["P-1", "pt", "2026-03-02 09:00", "Graded activity"]],
    )
    (problem,) = problems_of(registered, path)
    assert (problem.column, problem.reason) == ("Kind", "sessions on this ward need a referral letter")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2027-01-05 10:00", "2027-01-05 10:00 is in the future"),
        ("1899-12-31 10:00", "1899-12-31 is before 1900-01-01"),
        ("1975-01-05 10:00", "1975-01-05 is before the patient's date of birth"),
    ],
)
def test_a_measurement_date_is_checked_by_the_measurement_service(registered, tmp_path, when, message):
    with pytest.raises(ValidationError, match=message):
        measurements.validate_new("nrs_pain", [5], taken_at=when, date_of_birth=DOB, now=NOW)
    path = sheet(
        tmp_path / "m.xlsx",
        "Measurements",
        ["Patient ID", "Instrument", "Taken at", "Item 1"],
        [["P-1", "nrs_pain", when, 5]],
    )
    (problem,) = problems_of(registered, path)
    assert (problem.column, problem.kind, problem.reason) == ("Taken at", "impossible_date", message)


def test_measurement_validate_new_scores_and_checks_a_total(database):
    clean = measurements.validate_new(
        "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 0], taken_at="2026-03-02 10:00", date_of_birth=DOB, now=NOW, total=8
    )
    assert (clean["total"], clean["band"], clean["taken_at"]) == (8, "Mild", dt.datetime(2026, 3, 2, 10, 0))
    with pytest.raises(ValidationError, match="the total 9 does not match the item responses, which score 8"):
        measurements.validate_new("phq9", [1] * 8 + [0], taken_at=NOW, date_of_birth=DOB, now=NOW, total=9)
    kept = measurements.validate_new("odi", [], taken_at=NOW, date_of_birth=DOB, now=NOW, total=42)
    assert kept["total"] == 42 and kept["band"] == "Severe disability" and kept["safety"] is False
    with pytest.raises(ValidationError, match="120 is outside the ODI range 0–100"):
        measurements.validate_new("odi", [], taken_at=NOW, date_of_birth=DOB, now=NOW, total=120)
    with pytest.raises(ValidationError, match="no item responses and no total"):
        measurements.validate_new("odi", [None] * 10, taken_at=NOW, date_of_birth=DOB, now=NOW)


def test_a_session_before_birth_is_refused_by_the_session_service(registered, tmp_path):
    values = {"discipline": "pt", "held_at": "1979-01-01 10:00", "kind": "Assessment"}
    with pytest.raises(ValidationError, match="1979-01-01 is before the patient's date of birth"):
        sessions.validate_new(values, now=NOW, date_of_birth=DOB)
    assert sessions.validate_new(values, now=NOW)["minutes"] == 0  # defaults: 0 minutes, attended
    path = sheet(
        tmp_path / "s.xlsx",
        "Sessions",
        ["Patient ID", "Discipline", "Held at", "Kind"],
        [["P-1", "pt", "1979-01-01 10:00", "Assessment"]],
    )
    (problem,) = problems_of(registered, path)
    assert (problem.column, problem.kind) == ("Held at", "impossible_date")
    assert "before the patient's date of birth" in problem.reason


def test_patient_validate_new_takes_a_status_not_dated_in_the_future(database):
    base = {
        "clinic_id": "N-1",
        "given_name": "A",
        "family_name": "B",
        "date_of_birth": "1970-01-02",
        "referral_date": "2026-02-01",
    }
    clean = patients.validate_new({**base, "status": "discharged", "status_changed_on": "2026-06-01"}, today=TODAY)
    assert (clean["status"], clean["status_changed_on"], clean["sex"]) == ("discharged", dt.date(2026, 6, 1), "unknown")
    with pytest.raises(ValidationError, match="is after 2026-11-27") as caught:
        patients.validate_new({**base, "status_changed_on": "2027-01-01"}, today=TODAY)
    assert caught.value.field == "status_changed_on"
    with pytest.raises(ValidationError, match="'asleep' is not one of"):
        patients.validate_new({**base, "status": "asleep"}, today=TODAY)


# --- the bulk paths -----------------------------------------------------------------------------------


def _new_patient(clinic_id: str) -> dict:
    return patients.validate_new(
        {
            "clinic_id": clinic_id,
            "given_name": "Bulk",
            "family_name": "Row",
            "date_of_birth": "1970-01-02",
            "referral_date": "2026-02-01",
        },
        today=TODAY,
    )


def test_patients_create_many_checks_permission_audits_each_and_refreshes_summaries(database, physio):
    with pytest.raises(PermissionDenied):
        patients.create_many(physio, [_new_patient("B-1")])  # a clinician neither registers nor imports
    ids = patients.create_many(SYSTEM, [_new_patient("B-1"), _new_patient("B-2")], details={"file": "x.xlsx"})
    assert set(ids) == {"B-1", "B-2"}
    events = audit.events(action_prefix="patient.import")
    assert sorted((e.patient_id, e.details["clinic_id"], e.details["file"]) for e in events) == [
        (ids["B-1"], "B-1", "x.xlsx"),
        (ids["B-2"], "B-2", "x.xlsx"),
    ]
    assert PatientSummary.select().where(PatientSummary.patient.in_(list(ids.values()))).count() == 2
    before = Patient.select().count(), AuditEvent.select().count()
    with pytest.raises(Conflict, match="'B-1' is already registered"):
        patients.create_many(SYSTEM, [_new_patient("B-3"), _new_patient("B-1")])
    assert (Patient.select().count(), AuditEvent.select().count()) == before  # nobody added


def test_measurements_record_many_audits_per_patient_and_refreshes_the_list(registered):
    pid = Patient.get(Patient.clinic_id == "P-1").id
    rows = [
        measurements.scored_row(
            pid,
            "nrs_pain",
            measurements.validate_new("nrs_pain", [score], taken_at=when, date_of_birth=DOB, now=NOW),
            when,
            entered_by=None,
            entered_at=NOW,
        )
        for score, when in ((7, dt.datetime(2026, 2, 1, 10)), (3, dt.datetime(2026, 3, 1, 10)))
    ]
    viewer = Actor(None, "v", "Vera Viewer", "viewer")
    with pytest.raises(PermissionDenied):
        measurements.record_many(viewer, rows)
    assert measurements.record_many(registered, rows) == 2
    (event,) = audit.events(patient_id=pid, action_prefix="measurement.import")
    assert event.details["rows"] == 2 and event.actor_name == "Test Manager"
    assert PatientSummary.get(PatientSummary.patient == pid).pain_latest == 3
    assert measurements.recorded([pid])[pid] == {("nrs_pain", r[2]) for r in rows}


def test_record_kinds_add_many_validates_writes_and_audits(registered):
    pid = Patient.get(Patient.clinic_id == "P-1").id
    good = FLARES.validate_new({"started_on": "2026-03-01", "severity": 7, "what_helped": "pacing"})
    with pytest.raises(ValidationError, match="above the maximum 10"):
        FLARES.validate_new({"started_on": "2026-03-01", "severity": 11})
    FLARES.add_many(registered, [{**good, "patient": pid}, {**good, "patient": pid, "severity": 4}])
    assert sorted(f.severity for f in Flare.select()) == [4, 7]
    (event,) = audit.events(patient_id=pid, action_prefix="flare.import")
    assert event.details["rows"] == 2
    ids = FLARES.add_many(registered, [{**good, "patient": pid, "severity": 2}], ids=True)
    assert Flare.get_by_id(ids[0]).severity == 2


def test_deferred_summaries_are_computed_once_at_the_end_and_not_after_an_error(registered, monkeypatch):
    pid = Patient.get(Patient.clinic_id == "P-1").id
    computed: list[list[int]] = []
    real = list_summary._facts_for
    monkeypatch.setattr(list_summary, "_facts_for", lambda ids, now: (computed.append(ids), real(ids, now))[1])
    with list_summary.deferred():
        list_summary.refresh(pid)
        list_summary.refresh_many([pid])
        assert computed == []
    assert computed == [[pid]]
    computed.clear()
    with pytest.raises(RuntimeError), list_summary.deferred():
        list_summary.refresh(pid)
        raise RuntimeError("the import failed")
    assert computed == []


def test_one_import_of_patients_measurements_and_sessions_refreshes_each_summary_once(
    registered, tmp_path, monkeypatch
):
    wb = Workbook()
    ws = wb.active
    ws.title = "Measurements"
    ws.append(["Patient ID", "Instrument", "Taken at", "Item 1"])
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 6])
    ss = wb.create_sheet("Sessions")
    ss.append(["Patient ID", "Discipline", "Held at", "Kind", "Minutes"])
    ss.append(["P-1", "pt", "2026-03-02 09:00", "Graded activity", 45])
    path = tmp_path / "both.xlsx"
    wb.save(path)
    computed: list[list[int]] = []
    real = list_summary._facts_for
    monkeypatch.setattr(list_summary, "_facts_for", lambda ids, now: (computed.append(ids), real(ids, now))[1])
    importing.import_file(registered, path, now=NOW)
    pid = Patient.get(Patient.clinic_id == "P-1").id
    assert computed == [[pid]]
    assert Measurement.select().count() == Session.select().count() == 1
    assert PatientSummary.get(PatientSummary.patient == pid).pain_latest == 6
