"""Schema migrations: a new database starts at the latest schema; an old one is backed
up next to itself and upgraded; a newer one is refused untouched."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import peewee as pw
import pytest

from teamdash.errors import SchemaTooNew
from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, migrations
from teamdash.storage.models import ALL_MODELS, PatientSummary, SchemaVersion
from tests.databases import url_of

V1_SCHEMA = Path(__file__).parent / "data" / "schema_v1.sql"
ALL_VERSIONS = [1, *(step.version for step in migrations.STEPS)]


def _make_v1_file(path):
    """A database as schema version 1 wrote it (tests/data/schema_v1.sql), holding one
    patient and one pain rating."""
    with sqlite3.connect(path) as legacy:
        legacy.executescript(V1_SCHEMA.read_text())
        legacy.execute("INSERT INTO schema_version VALUES (1, '2026-01-05 09:00:00', 'initial schema')")
        legacy.execute(
            "INSERT INTO patient (clinic_id, given_name, family_name, date_of_birth, sex, referral_date, episode_start,"
            " status, research_consent, flagged_for_review, created_at, updated_at, version)"
            " VALUES ('OLD-1', 'Ada', 'Oldschema', '1970-05-01', 'female', '2026-01-05', '2026-01-05', 'active', 0, 0,"
            " '2026-01-05 09:00:00', '2026-01-05 09:00:00', 1)"
        )
        legacy.execute(
            "INSERT INTO measurement (patient_id, instrument, taken_at, responses, total, band, details, safety,"
            " entered_at, source, version) VALUES (1, 'nrs_pain', '2026-01-06 10:00:00', '[7]', 7, NULL,"
            ' \'{"components":{},"derived":{},"flags":[],"missing_items":[],"subscales":{}}\', 0,'
            " '2026-01-06 10:00:00', 'entry', 1)"
        )
    legacy.close()


V7_CHECKIN_COLUMNS = ("plan", "period_start", "next_checkin")


def _versions(path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_new_database_starts_at_the_latest_schema(database):
    assert [v for (v,) in SchemaVersion.select(SchemaVersion.version).tuples()] == [migrations.LATEST]
    assert migrations.state().up_to_date
    if isinstance(database, Path):
        assert not list(database.parent.glob("*.bak"))  # nothing to back up


def test_old_schema_is_backed_up_then_upgraded(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)
    open_clinic(f"sqlite:///{path}", create=True)
    assert _versions(path) == ALL_VERSIONS
    tables = set(db.database.get_tables())
    assert {"deidentification_key", "episode", "status_change", "clinic_setting"} <= tables
    assert "setting" not in tables  # clinic-wide settings have one table
    backups = list(tmp_path.glob("clinic.sqlite3.v1-*.bak"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as old:
        assert [v for (v,) in old.execute("SELECT version FROM schema_version")] == [1]
        assert old.execute("SELECT count(*) FROM patient").fetchone()[0] == 1
    # The data came through and the new summary table was filled from it.
    row = patients.list_patients(SYSTEM).rows[0]
    assert (row.clinic_id, row.pain_latest) == ("OLD-1", 7.0)
    # v4 filled the folded search key of the patients already there.
    found = patients.list_patients(SYSTEM, patients.PatientQuery(search="ADA oldschéma")).rows
    assert [r.clinic_id for r in found] == ["OLD-1"]


def test_patients_from_before_v6_are_discharged_and_readmitted_like_new_ones(tmp_path):
    """Schema 6 adds the status history: a patient from an older file has none recorded;
    its registration is inferred, and a readmission keeps the episode it ended."""
    from teamdash.services import episodes

    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)
    open_clinic(f"sqlite:///{path}", create=True)
    old = patients.find_by_clinic_id(SYSTEM, "OLD-1")
    assert old.episode_number == 1
    assert [(h.event, h.id) for h in episodes.history(SYSTEM, old.id)] == [("registered", None)]
    episodes.change_status(SYSTEM, old.id, old.version, "discharged", effective_on="2026-03-01", reason="goals_met")
    done = patients.get_patient(SYSTEM, old.id)
    episodes.readmit(SYSTEM, old.id, done.version, referral_date="2026-06-01")
    assert [e.outcome_text for e in episodes.episodes(SYSTEM, old.id)] == ["discharged: goals met", "ongoing"]
    # The likely-duplicate check looks names up through the indexes v6 added.
    plan = db.database.execute_sql(
        "EXPLAIN QUERY PLAN SELECT id FROM patient WHERE LOWER(family_name) IN ('oldschema')"
    ).fetchall()
    assert "patient_family_name_lower" in str(plan)
    assert patients.list_patients(SYSTEM).rows[0].pain_latest is None  # the pain rating was episode 1's


def test_opening_an_up_to_date_database_again_changes_nothing(tmp_path):
    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)
    open_clinic(f"sqlite:///{path}", create=True)
    db.close()
    open_clinic(f"sqlite:///{path}", create=True)
    assert _versions(path) == ALL_VERSIONS
    assert len(list(tmp_path.glob("*.bak"))) == 1


def test_a_newer_schema_is_refused_and_left_alone(database):
    newer = migrations.LATEST + 1
    SchemaVersion.create(version=newer, description="from the future")
    db.close()
    with pytest.raises(SchemaTooNew, match=f"schema version {newer}.*update TeamDash"):
        open_clinic(url_of(database), create=True)
    db.connect(url_of(database))
    assert SchemaVersion.select(pw.fn.MAX(SchemaVersion.version)).scalar() == newer
    if isinstance(database, Path):
        assert not list(database.parent.glob("*.bak"))


def test_a_failing_step_leaves_the_database_at_its_old_version(tmp_path, monkeypatch):
    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)

    def broken(database, migrator):
        database.create_tables([PatientSummary])
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrations, "STEPS", (migrations.Step(2, "broken", broken),))
    with pytest.raises(RuntimeError, match="disk full"):
        open_clinic(f"sqlite:///{path}", create=True)
    assert _versions(path) == [1]
    with sqlite3.connect(path) as conn:  # the step's DDL rolled back with it
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "patient_summary" not in tables


def test_every_model_has_its_table(database):
    tables = set(db.database.get_tables())
    assert {m._meta.table_name for m in ALL_MODELS} <= tables


def test_disciplines_are_seeded_from_resources(database):
    from teamdash.storage.models import Discipline

    assert [d.code for d in Discipline.select().order_by(Discipline.sort_order)] == [
        "pt",
        "psychology",
        "nutrition",
        "sleep",
        "social",
    ]


def test_check_command_reports_schema_state(database, capsys):
    from ui.cli import main

    assert main(["--db", url_of(database), "check"]) == 0
    out = capsys.readouterr().out
    assert f"version {migrations.LATEST} of {migrations.LATEST} (up to date)" in out
    assert "integrity: ok" in out


# --- v7: check-in plan, period and next date; supporters on the handout ---------------------


def _make_old_file_with_a_checkin(path):
    """A schema-v1 database (before v7): check-ins without a plan, period or next date,
    support contacts without the handout choice; one patient with a check-in and a contact."""
    with sqlite3.connect(path) as legacy:
        legacy.executescript(V1_SCHEMA.read_text())
        legacy.execute("INSERT INTO schema_version VALUES (1, '2026-01-05 09:00:00', 'initial schema')")
        legacy.execute(
            "INSERT INTO patient (clinic_id, given_name, family_name, date_of_birth, sex, referral_date, episode_start,"
            " status, research_consent, flagged_for_review, created_at, updated_at, version)"
            " VALUES ('OLD-3', 'Bea', 'Threeschema', '1975-02-01', 'female', '2026-03-02', '2026-03-02', 'active', 0, 0,"
            " '2026-03-02 09:00:00', '2026-03-02 09:00:00', 1)"
        )
        legacy.execute(
            "INSERT INTO check_in (patient_id, held_on, attendees, narrative, snapshot, created_at, version)"
            " VALUES (1, '2026-04-10', '[]', 'First review', NULL, '2026-04-10 13:00:00', 1)"
        )
        legacy.execute(
            "INSERT INTO support_contact (patient_id, name, relationship, involved_in_goals, version)"
            " VALUES (1, 'Sam', 'partner', 1, 1)"
        )
    legacy.close()


def _columns(path, table) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_v7_adds_the_checkin_plan_and_the_handout_choice_keeping_the_data(tmp_path):
    from teamdash.services import checkin_summary, checkins, plans

    path = tmp_path / "clinic.sqlite3"
    _make_old_file_with_a_checkin(path)
    assert not set(V7_CHECKIN_COLUMNS) & _columns(path, "check_in")
    open_clinic(f"sqlite:///{path}", create=True)
    assert _versions(path) == ALL_VERSIONS
    assert set(V7_CHECKIN_COLUMNS) <= _columns(path, "check_in")
    assert "on_handout" in _columns(path, "support_contact")
    old = checkins.list_checkins(SYSTEM, 1)[0]
    assert (old.narrative, old.plan, old.period_start, old.next_checkin) == ("First review", None, None, None)
    contact = plans.CONTACTS.list(SYSTEM, 1)[0]
    assert (contact.name, contact.involved_in_goals, contact.on_handout) == ("Sam", True, False)
    # The upgraded database records a full check-in.
    saved = checkin_summary.save_checkin(
        SYSTEM,
        1,
        held_on="2026-11-20",
        attendees=[],
        narrative="Better",
        plan="Keep walking",
        next_checkin="2027-01-08",
        on_handout=[contact.id],
    )
    assert (saved.checkin.plan, saved.checkin.period_start) == ("Keep walking", dt.date(2026, 4, 11))
    assert plans.CONTACTS.list(SYSTEM, 1)[0].on_handout is True


# --- v3 -> v5: PSFS activity names and the corrected scoring rules ----------------------------


def _make_old_scores_file(path):
    """A database from before v5 (no item names on measurements), holding scores computed
    with the old rules: a CPAQ-8 scored with the old key, a BMI of 18.4998 banded
    'Underweight', and a PSFS whose activities have no names."""
    with sqlite3.connect(path) as legacy:
        legacy.executescript(V1_SCHEMA.read_text())
        legacy.execute("INSERT INTO schema_version VALUES (1, '2026-01-05 09:00:00', 'initial schema')")
        legacy.execute(
            "INSERT INTO patient (clinic_id, given_name, family_name, date_of_birth, sex, referral_date, episode_start,"
            " status, research_consent, flagged_for_review, created_at, updated_at, version)"
            " VALUES ('OLD-3', 'Bea', 'Threeschema', '1970-05-01', 'female', '2026-01-05', '2026-01-05', 'active', 0, 0,"
            " '2026-01-05 09:00:00', '2026-01-05 09:00:00', 1)"
        )
        rows = [
            # old key: form items 4, 5, 7, 8 reversed -> AE 20, PW 18, total 38
            ("cpaq8", "2026-01-06 10:00:00", "[5,4,6,3,2,5,1,0]", 38, None, None,
             '{"subscales":{"activity_engagement":20.0,"pain_willingness":18.0}}'),
            ("bmi", "2026-01-06 10:05:00", "[73.9992,200]", 18.4998, "Underweight", 1, "{}"),
            ("psfs", "2026-01-06 10:10:00", "[3,5,4,null,null]", 4.0, None, None, "{}"),
            ("nrs_pain", "2026-01-06 10:15:00", "[7]", 7, None, None,
             '{"components":{},"derived":{},"flags":[],"missing_items":[],"subscales":{}}'),
        ]  # fmt: skip
        for instrument, taken_at, responses, total, band, severity, details in rows:
            legacy.execute(
                "INSERT INTO measurement (patient_id, instrument, taken_at, responses, total, band, band_severity,"
                " details, safety, entered_at, source, version) VALUES (1, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'entry', 1)",
                (instrument, taken_at, responses, total, band, severity, details, taken_at),
            )
    legacy.close()


def test_v3_database_is_upgraded_to_item_names_and_rescored(tmp_path):
    from teamdash.services import measurements
    from teamdash.storage.models import AuditEvent

    path = tmp_path / "clinic.sqlite3"
    _make_old_scores_file(path)
    open_clinic(f"sqlite:///{path}", create=True)
    assert _versions(path) == ALL_VERSIONS
    assert len(list(tmp_path.glob("clinic.sqlite3.v1-*.bak"))) == 1
    with sqlite3.connect(path) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(measurement)")]
    assert "item_names" in columns
    by_instrument = {m.instrument: m for m in measurements.list_measurements(SYSTEM, 1)}
    # CPAQ-8 rescored with the CPAQ-20 key: AE 18, PW 16, total 34
    cpaq8 = by_instrument["cpaq8"]
    assert (cpaq8.total, cpaq8.details["subscales"]) == (
        34.0,
        {"activity_engagement": 18.0, "pain_willingness": 16.0},
    )
    assert cpaq8.version == 2
    # BMI classified on the value as displayed (18.5): Normal weight
    assert by_instrument["bmi"].band == "Normal weight"
    # The PSFS keeps its score; its activities were never named (no names invented)
    psfs = by_instrument["psfs"]
    assert (psfs.total, psfs.item_names, psfs.version) == (4.0, None, 1)
    assert by_instrument["nrs_pain"].version == 1  # unchanged rows are not touched
    events = list(AuditEvent.select().where(AuditEvent.action == "measurement.rescore"))
    assert {e.entity_id for e in events} == {cpaq8.id, by_instrument["bmi"].id}
    cpaq_event = next(e for e in events if e.entity_id == cpaq8.id)
    assert (cpaq_event.before["total"], cpaq_event.after["total"]) == (38, 34.0)
    # and a PSFS recorded after the upgrade keeps its activity names
    m = measurements.record_measurement(
        SYSTEM, 1, "psfs", [4, 6, None, None, None], item_names=["Walking", "Gardening", None, None, None],
        taken_at="2026-02-06 10:00",
    )  # fmt: skip
    assert m.item_names == ["Walking", "Gardening", None, None, None]


def test_upgrade_from_v3_brings_meetings_and_keeps_decisions_and_action_items(tmp_path, monkeypatch):
    from teamdash.services import chart, meetings

    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO user (username, full_name, role, is_case_manager, active, created_at)"
            " VALUES ('cm', 'Casey Manager', 'case_manager', 1, 1, '2026-01-01 09:00:00')"
        )
        conn.execute(
            "INSERT INTO decision (patient_id, text, made_at, version) VALUES (1, 'Keep going', '2026-02-01', 1)"
        )
        conn.execute(
            "INSERT INTO action_item (patient_id, text, owner_id, due_on, status, created_at, version)"
            " VALUES (1, 'Phone employer', 1, '2026-02-15', 'open', '2026-02-01 10:00:00', 1)"
        )
    v3 = tuple(step for step in migrations.STEPS if step.version <= 3)
    monkeypatch.setattr(migrations, "STEPS", v3)
    monkeypatch.setattr(migrations, "LATEST", 3)
    # A schema v3 file, made by the storage layer alone (the services of today read
    # columns that later steps add, such as v5's activity names).
    db.connect(f"sqlite:///{path}", create=True)
    assert migrations.migrate().current == 3
    db.close()
    monkeypatch.undo()

    open_clinic(f"sqlite:///{path}", create=True)

    assert _versions(path) == ALL_VERSIONS
    assert len(list(tmp_path.glob("clinic.sqlite3.v3-*.bak"))) == 1
    columns = {c.name for c in db.database.get_columns("action_item")}
    assert {"meeting_id", "discipline_id"} <= columns
    assert "meeting_id" in {c.name for c in db.database.get_columns("decision")}
    assert "action_item_owner_id" in {i.name for i in db.database.get_indexes("action_item")}
    record = chart.get_record(SYSTEM, 1)
    assert [(a.text, a.meeting, a.discipline) for a in record.actions] == [("Phone employer", None, None)]
    assert [d.text for d in record.decisions] == ["Keep going"]
    meeting = meetings.start_meeting(SYSTEM, attendees=[1], patient_ids=[1])
    added = meetings.add_action_item(SYSTEM, meeting.id, 1, text="Book review", owner=1, discipline="social")
    assert (added.meeting, added.discipline) == (meeting.id, "social")
