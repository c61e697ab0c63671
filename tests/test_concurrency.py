"""Two workstations at once, on whichever backend runs (SQLite here; PostgreSQL with
--postgres-only): each thread has its own connection, as each workstation has.

The first writer is held inside its transaction (its summary refresh waits) while the
second one writes the same thing; then the first commits. Whatever the backend does
meanwhile (SQLite: the second waits for the write lock; PostgreSQL: the second waits on
the unique index or the row lock), the outcome is one row and one clear error, or one
edit and a Conflict that shows the stored version.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable

import peewee as pw
import pytest

from teamdash.errors import Conflict, ValidationError
from teamdash.services import audit, goals, list_summary, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.storage import db
from teamdash.storage.models import AuditEvent, Measurement, Patient

NEW_PATIENT = {
    "clinic_id": "TWICE-1",
    "given_name": "Tess",
    "family_name": "Twice",
    "date_of_birth": "1975-04-02",
    "referral_date": "2026-10-01",
}


def race(monkeypatch, hold_in: str, write: Callable[[], object]) -> dict[str, object]:
    """Run ``write`` on two threads (two connections). The first is held inside its
    transaction at ``hold_in`` (a function of list_summary or audit) until the second
    has started; returns each thread's result or exception."""
    if "FAKETIME" in os.environ and not isinstance(db.database.obj, pw.PostgresqlDatabase):
        # libfaketime (the shifted-clock pass) stops the sleeps of SQLite's lock wait: the
        # second writer would give up at once. The normal pass runs these.
        pytest.skip("SQLite's lock wait needs the real clock; libfaketime stops it")
    module_name, function_name = hold_in.split(".")
    module = {"list_summary": list_summary, "audit": audit}[module_name]
    real = getattr(module, function_name)
    inside, release = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        if threading.current_thread().name == "first" and not inside.is_set():
            inside.set()
            release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, function_name, held)
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = write()
        except Exception as exc:  # noqa: BLE001 - the test looks at what each workstation got
            results[name] = exc
        finally:
            db.database.close()

    first = threading.Thread(target=run, args=("first",), name="first")
    second = threading.Thread(target=run, args=("second",), name="second")
    first.start()
    assert inside.wait(20), results
    second.start()
    second.join(0.5)  # the second workstation is now waiting for the first one's write
    release.set()
    first.join(30)
    second.join(30)
    monkeypatch.setattr(module, function_name, real)
    return results


def test_two_workstations_registering_the_same_patient_get_one_row_and_one_clear_error(database, monkeypatch):
    results = race(monkeypatch, "list_summary.refresh", lambda: patients.create_patient(SYSTEM, **NEW_PATIENT))
    assert isinstance(results["first"], patients.PatientDetail), results
    assert isinstance(results["second"], Conflict), results
    assert str(results["second"]) == "clinic ID 'TWICE-1' is already registered"
    assert Patient.select().where(Patient.clinic_id == "TWICE-1").count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "patient.create").count() == 1


def test_two_workstations_entering_the_same_measurement_get_one_row_and_one_clear_error(database, monkeypatch):
    patient = patients.create_patient(SYSTEM, **NEW_PATIENT)
    taken = dt.datetime(2026, 11, 20, 10, 0)
    results = race(
        monkeypatch,
        "list_summary.refresh",
        lambda: measurements.record_measurement(SYSTEM, patient.id, "nrs_pain", [6], taken_at=taken),
    )
    assert isinstance(results["first"], measurements.MeasurementResult), results
    error = results["second"]
    assert isinstance(error, ValidationError) and error.field == "taken_at", results
    assert "already recorded for this patient (duplicate measurement)" in str(error)
    assert Measurement.select().where(Measurement.patient == patient.id).count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "measurement.create").count() == 1
    assert patients.list_patients(SYSTEM, patients.PatientQuery(search="TWICE-1")).rows[0].pain_latest == 6.0


def test_two_workstations_editing_the_same_goal_one_wins_the_other_sees_both(database, monkeypatch):
    patient = patients.create_patient(SYSTEM, **NEW_PATIENT)
    goal = goals.GOALS.add(SYSTEM, patient.id, discipline="pt", text="Walk 20 minutes", set_on="2026-10-05")
    texts = iter(["Walk 30 minutes daily", "Walk to the shop and back"])
    lock = threading.Lock()

    def edit():
        with lock:
            text = next(texts)
        return goals.GOALS.update(SYSTEM, goal.id, goal.version, text=text)

    results = race(monkeypatch, "audit.record", edit)
    winner, loser = results["first"], results["second"]
    assert not isinstance(winner, Exception), results
    assert isinstance(loser, Conflict), results
    stored = goals.GOALS.get(SYSTEM, goal.id)
    assert (stored.text, stored.version) == (winner.text, goal.version + 1)
    # The loser is shown what is stored now, to reload or overwrite consciously.
    assert loser.current["text"] == winner.text and loser.current["version"] == goal.version + 1


def test_an_edit_from_a_stale_form_is_refused_with_the_stored_version(database):
    patient = patients.create_patient(SYSTEM, **NEW_PATIENT)
    opened = patients.get_patient(SYSTEM, patient.id)
    patients.update_patient(SYSTEM, patient.id, opened.version, family_name="Twice-Other")  # the other workstation
    with pytest.raises(Conflict) as lost:
        patients.update_patient(SYSTEM, patient.id, opened.version, family_name="Twice-Mine")
    assert lost.value.current["family_name"] == "Twice-Other"
    assert lost.value.current["version"] == opened.version + 1
    assert patients.get_patient(SYSTEM, patient.id).family_name == "Twice-Other"  # nothing overwritten
