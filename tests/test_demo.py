"""The demo clinic: deterministic, realistic (every trajectory and discipline), plainly
fictitious, and only ever written into an empty database."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter

import pytest

from teamdash import demo
from teamdash.errors import ValidationError
from teamdash.services import accounts, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.patients import PatientQuery
from teamdash.storage import db
from teamdash.storage.models import CheckIn, Measurement, PatientSummary, RtwPhase, SafetyAcknowledgement, Session, User
from tests.demo_facts import DEMO_PATIENTS, DEMO_TODAY

TABLES = (
    "patient",
    "measurement",
    "session",
    "goal",
    "check_in",
    "action_item",
    "rtw_phase",
    "sleep_diary_night",
    "graded_activity_week",
    "flare",
    "support_contact",
)


def _fingerprint(path) -> str:
    """A hash over the content of the clinical tables (ids included, timestamps of
    entry excluded: they record when the demo ran)."""
    digest = hashlib.sha256()
    with sqlite3.connect(path) as conn:
        for table in TABLES:
            columns = [
                r[1]
                for r in conn.execute(f"PRAGMA table_info({table})")
                if r[1] not in ("entered_at", "created_at", "updated_at")
            ]
            for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _build(path, **kw):
    open_clinic(f"sqlite:///{path}", create=True)
    report = demo.generate(SYSTEM, today=DEMO_TODAY, **kw)
    db.close()
    return report


def test_same_seed_and_date_give_the_same_clinic(tmp_path):
    a = _build(tmp_path / "a.sqlite3", patients=25, seed=7)
    b = _build(tmp_path / "b.sqlite3", patients=25, seed=7)
    assert a == b
    assert _fingerprint(tmp_path / "a.sqlite3") == _fingerprint(tmp_path / "b.sqlite3")
    _build(tmp_path / "c.sqlite3", patients=25, seed=8)
    assert _fingerprint(tmp_path / "c.sqlite3") != _fingerprint(tmp_path / "a.sqlite3")


def test_a_patient_is_the_same_in_a_small_and_a_large_clinic(tmp_path):
    _build(tmp_path / "small.sqlite3", patients=5)
    _build(tmp_path / "large.sqlite3", patients=12)
    query = "SELECT clinic_id, given_name, family_name, date_of_birth, programme_start, status FROM patient ORDER BY id LIMIT 5"
    with sqlite3.connect(tmp_path / "small.sqlite3") as s, sqlite3.connect(tmp_path / "large.sqlite3") as large:
        assert s.execute(query).fetchall() == large.execute(query).fetchall()


def test_staff_cover_the_five_disciplines_and_case_management(clinic):
    users = list(User.select())
    assert 6 <= len(users) <= 12
    assert {u.__data__["discipline"] for u in users} >= {"pt", "psychology", "nutrition", "sleep", "social"}
    assert sum(u.is_case_manager for u in users) >= 2
    # Every role can be tried out: each demo account signs in with the documented password.
    assert {u.role for u in users} == {"admin", "case_manager", "clinician", "viewer"}
    for user in users:
        assert accounts.sign_in(user.username, demo.DEMO_PASSWORD).actor.user_id == user.id


def test_patients_are_6_to_52_weeks_in_with_every_kind_of_course(clinic):
    rows = patients.list_patients(SYSTEM, PatientQuery(limit=DEMO_PATIENTS, today=DEMO_TODAY)).rows
    assert len(rows) == DEMO_PATIENTS
    started = [(DEMO_TODAY - r.programme_start).days // 7 for r in rows]
    assert min(started) >= 6 and max(started) <= 52
    statuses = Counter(r.status for r in rows)
    assert statuses["active"] > statuses["dropped_out"] > 0 and statuses["discharged"] > 0
    verdicts = Counter(r.pain_verdict for r in rows if r.status == "active")
    assert verdicts["better"] > 0 and (verdicts["worse"] + verdicts["unchanged"]) > 0  # improvers and not


def test_measurements_sessions_and_checkins_at_realistic_rates(clinic):
    per_patient = Measurement.select().count() / DEMO_PATIENTS
    assert 40 < per_patient < 250
    attendance = Counter(
        s.attendance for s in Session.select(Session.attendance).where(Session.held_at < DEMO_TODAY.isoformat())
    )
    total = sum(attendance.values())
    assert 0.75 < attendance["attended"] / total < 0.95 and attendance["no_show"] > 0
    gaps = []
    for pid in {c.__data__["patient"] for c in CheckIn.select()}:
        dates = [c.held_on for c in CheckIn.select().where(CheckIn.patient == pid).order_by(CheckIn.held_on)]
        gaps += [(b - a).days for a, b in zip(dates, dates[1:])]
    assert gaps and min(gaps) >= 28 and max(gaps) <= 42  # every 4–6 weeks
    assert RtwPhase.select().count() >= DEMO_PATIENTS


def test_one_open_and_one_acknowledged_safety_patient(clinic):
    summaries = list(PatientSummary.select().where(PatientSummary.safety_open > 0))
    assert len(summaries) == 1
    acknowledged = SafetyAcknowledgement.select().count()
    assert acknowledged >= 1
    positive = {m.__data__["patient"] for m in Measurement.select().where(Measurement.safety)}
    assert len(positive) == 2


def test_names_are_plainly_fictitious(clinic):
    rows = patients.list_patients(SYSTEM, PatientQuery(limit=DEMO_PATIENTS)).rows
    for r in rows:
        assert any(r.family_name.startswith(head) for head in demo.SURNAME_HEAD)
        assert r.clinic_id.startswith("TD-")


def test_demo_refuses_a_database_with_data(clinic):
    before = patients.count_patients(SYSTEM)
    with pytest.raises(ValidationError, match="already holds patients"):
        demo.generate(SYSTEM, patients=3, today=DEMO_TODAY)
    assert patients.count_patients(SYSTEM) == before


@pytest.mark.parametrize("count", [0, demo.MAX_PATIENTS + 1])
def test_demo_size_is_checked(database, count):
    with pytest.raises(ValidationError) as err:
        demo.generate(SYSTEM, patients=count, today=DEMO_TODAY)
    assert err.value.field == "patients"


def test_cancelled_demo_leaves_the_database_empty(database):
    from teamdash.errors import Cancelled

    with pytest.raises(Cancelled):
        demo.generate(SYSTEM, patients=3, today=DEMO_TODAY, cancelled=lambda: True)
    assert patients.count_patients(SYSTEM) == 0 and User.select().count() == 0


def test_large_clinics_build_in_a_worker_process_with_the_same_result(tmp_path, monkeypatch):
    _build(tmp_path / "inline.sqlite3", patients=12)
    monkeypatch.setattr(demo, "PARALLEL_FROM", 1)
    monkeypatch.setattr(demo, "CHUNK", 5)
    _build(tmp_path / "parallel.sqlite3", patients=12)
    assert _fingerprint(tmp_path / "inline.sqlite3") == _fingerprint(tmp_path / "parallel.sqlite3")


def test_nothing_is_recorded_that_has_not_happened_yet(clinic):
    """Today's and future appointments are bookings: no score, no attendance yet."""
    assert not Measurement.select().where(Measurement.taken_at >= DEMO_TODAY.isoformat()).exists()
    ahead = list(Session.select(Session.attendance).where(Session.held_at >= DEMO_TODAY.isoformat()))
    assert ahead and {s.attendance for s in ahead} == {"scheduled"}
