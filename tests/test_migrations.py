"""Schema migrations: a new database starts at the latest schema; an old one is backed
up next to itself and upgraded; a newer one is refused untouched."""

from __future__ import annotations

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
from tests.conftest import url_of

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
            "INSERT INTO measurement (patient_id, instrument, taken_at, responses, total, band, safety, entered_at, source, version)"
            " VALUES (1, 'nrs_pain', '2026-01-06 10:00:00', '[7]', 7, NULL, 0, '2026-01-06 10:00:00', 'entry', 1)"
        )
    legacy.close()


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
    assert "deidentification_key" in db.database.get_tables()
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
