"""``teamdash transfer``: a whole clinic into an empty database, checked table by table,
SQLite to PostgreSQL and back (the PostgreSQL ones need the test server)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from teamdash.errors import Cancelled, ValidationError
from teamdash.services import audit, patients, transfer
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, health
from teamdash.storage.models import ALL_MODELS, AuditEvent, DeidentificationKey, Patient
from tests.databases import url_of
from tests.demo_facts import DEMO_PATIENTS
from ui.cli import main

NEW = {
    "clinic_id": "MOVED-1",
    "given_name": "Mo",
    "family_name": "Ved",
    "date_of_birth": "1980-02-02",
    "referral_date": "2026-11-01",
}


@pytest.fixture
def source(_demo_template, tmp_path) -> Path:
    """The demo clinic with a de-identification key, as a file of its own."""
    path = tmp_path / "source.sqlite3"
    path.write_bytes(_demo_template.read_bytes())
    open_clinic(f"sqlite:///{path}")
    DeidentificationKey.create(id=1, key="k" * 64)
    db.close()
    return path


def checksums(report: transfer.TransferReport) -> dict[str, tuple[int, str]]:
    return {t.table: (t.rows, t.checksum) for t in report.tables}


def audit_trail() -> list[tuple]:
    return list(AuditEvent.select(AuditEvent.id, AuditEvent.action, AuditEvent.at).order_by(AuditEvent.id).tuples())


def test_a_clinic_moves_to_a_new_sqlite_file_whole(source, tmp_path):
    target = tmp_path / "moved.sqlite3"
    report = transfer.transfer(SYSTEM, f"sqlite:///{source}", f"sqlite:///{target}")
    assert {t.table for t in report.tables} == {m._meta.table_name for m in ALL_MODELS}
    assert all(t.matches for t in report.tables)
    assert dict(checksums(report))["patient"][0] == DEMO_PATIENTS
    moved_trail = audit_trail()
    assert moved_trail[-1][1] == "clinic.transfer" and moved_trail[-1][0] == report.event_id
    assert DeidentificationKey.get_by_id(1).key == "k" * 64
    assert health.problems() == []
    db.close()
    open_clinic(f"sqlite:///{source}")
    assert audit_trail() == moved_trail[:-1]  # the same events, the same ids, the same order


def test_the_cli_prints_every_table_with_its_rows_and_checksum(source, tmp_path, capsys):
    target = tmp_path / "moved.sqlite3"
    assert main(["transfer", "--from", f"sqlite:///{source}", "--to", f"sqlite:///{target}"]) == 0
    out = capsys.readouterr().out
    assert "in one transaction, checked before it was committed" in out
    line = next(line for line in out.splitlines() if line.startswith("patient "))
    assert f" {DEMO_PATIENTS} " in line and line.endswith("same")
    assert "every row count and checksum matches" in out


def test_a_target_that_holds_a_clinic_is_refused_and_left_alone(source, database):
    patients.create_patient(SYSTEM, **NEW)
    url = url_of(database)
    db.close()
    with pytest.raises(ValidationError, match="already holds a clinic.*1 patient rows.*changed nothing"):
        transfer.transfer(SYSTEM, f"sqlite:///{source}", url)
    open_clinic(url)
    assert [p.clinic_id for p in patients.list_patients(SYSTEM).rows] == ["MOVED-1"]


def test_the_same_database_twice_is_refused(source):
    with pytest.raises(ValidationError, match="same database"):
        transfer.transfer(
            SYSTEM, f"sqlite:///{source}", f"sqlite:///{source.parent}/../{source.parent.name}/{source.name}"
        )


def test_a_copy_that_differs_from_its_source_writes_nothing(source, tmp_path, monkeypatch):
    real = transfer._target_checksum

    def tampered(model):
        checksum = real(model)
        if model is Patient:
            checksum.digest.update(b"a row changed on the way")
        return checksum

    monkeypatch.setattr(transfer, "_target_checksum", tampered)
    target = tmp_path / "moved.sqlite3"
    with pytest.raises(transfer.TransferMismatch, match=r"differs from its source in patient \(60 rows"):
        transfer.transfer(SYSTEM, f"sqlite:///{source}", f"sqlite:///{target}")
    assert not target.exists()  # the new file is not left behind half made


def test_a_cancelled_transfer_writes_nothing(source, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "BATCH", 50)
    target = tmp_path / "moved.sqlite3"
    with pytest.raises(Cancelled):
        transfer.transfer(SYSTEM, f"sqlite:///{source}", f"sqlite:///{target}", cancelled=lambda: True)
    assert not target.exists()


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_gives_the_same_clinic(source, postgres_database, tmp_path):
    there = transfer.transfer(SYSTEM, f"sqlite:///{source}", postgres_database.url)
    assert all(t.matches for t in there.tables)
    # PostgreSQL now holds the clinic: checked, searchable, and new rows continue the ids.
    assert health.problems() == []
    assert [r.clinic_id for r in patients.list_patients(SYSTEM, patients.PatientQuery(search="TD-00012")).rows] == [
        "TD-00012"
    ]
    trail = audit_trail()
    moved = patients.create_patient(SYSTEM, **NEW)
    assert moved.id == DEMO_PATIENTS + 1
    assert audit.events(limit=1)[0].id == trail[-1][0] + 1
    db.close()

    back_file = tmp_path / "back.sqlite3"
    back = transfer.transfer(SYSTEM, postgres_database.url, f"sqlite:///{back_file}")
    assert all(t.matches for t in back.tables)
    same = {
        t
        for t in checksums(there)
        if t not in ("patient", "audit_event", "patient_summary", "search", "status_change", "episode")
    }
    # Every table the new patient did not touch (registering writes its status history too) has the very checksum it started with.
    assert {t: checksums(back)[t] for t in same} == {t: checksums(there)[t] for t in same}
    assert checksums(back)["patient"][0] == DEMO_PATIENTS + 1
    with sqlite3.connect(back_file) as conn:
        ids = [i for (i,) in conn.execute("SELECT id FROM audit_event ORDER BY id")]
    conn.close()
    assert ids == sorted(ids) and ids[: len(trail)] == [t[0] for t in trail]
    assert DeidentificationKey.get_by_id(1).key == "k" * 64
    assert health.problems() == []
