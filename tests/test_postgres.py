"""PostgreSQL as the shared database: connection faults, notifications between
workstations, the schema check. These need the test server (``make test-postgres``;
CI starts one); without it they skip and say why."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from teamdash.errors import ConnectionLost
from teamdash.services import changes, list_summary, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, health, postgres, search_index
from teamdash.storage.models import AuditEvent, Measurement
from tests.demo_facts import DEMO_PATIENTS
from ui.cli import main

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
ENV_SERVER_DIR = "TEAMDASH_TEST_POSTGRES_DIR"  # set by .ci/postgres.sh users: the server can be restarted
TAKEN = dt.datetime(2026, 11, 26, 9, 0)


@pytest.fixture
def pg_clinic(postgres_server, _postgres_demo_template):
    """A copy of the demo clinic on the test server, opened."""
    target = postgres_server.create(template=_postgres_demo_template.name, label="clinic")
    open_clinic(target.url)
    yield target
    db.close()
    postgres_server.drop(target)


def terminate_my_connections(admin_url: str) -> int:
    """What a server restart or a network cut does to this process's connections."""
    pids = list(db.database.obj.backend_pids)
    with psycopg2.connect(admin_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
        killed = cur.fetchone()[0]
    conn.close()
    return killed


def test_a_connection_cut_mid_write_leaves_nothing_half_done(pg_clinic, postgres_server, monkeypatch):
    events_before = AuditEvent.select().count()
    before = Measurement.select().where(Measurement.patient == 1).count()
    real = list_summary.refresh

    def cut_then_refresh(patient_id):  # the measurement row is written, the summary not yet
        assert terminate_my_connections(postgres_server.admin_url) >= 1
        real(patient_id)

    monkeypatch.setattr(list_summary, "refresh", cut_then_refresh)
    with pytest.raises(ConnectionLost, match="lost the connection.*nothing from the action in progress was saved"):
        measurements.record_measurement(SYSTEM, 1, "nrs_pain", [3], taken_at=TAKEN)
    monkeypatch.setattr(list_summary, "refresh", real)
    # The next action reconnects by itself and finds nothing of the interrupted one.
    assert Measurement.select().where(Measurement.patient == 1).count() == before
    assert AuditEvent.select().count() == events_before
    saved = measurements.record_measurement(SYSTEM, 1, "nrs_pain", [3], taken_at=TAKEN)
    assert saved.total == 3.0
    assert patients.list_patients(SYSTEM, patients.PatientQuery(search="TD-00001")).rows[0].pain_latest == 3.0


def test_a_connection_cut_while_idle_is_replaced_on_the_next_read_and_write(pg_clinic, postgres_server):
    assert patients.count_patients(SYSTEM) == DEMO_PATIENTS
    terminate_my_connections(postgres_server.admin_url)
    assert patients.count_patients(SYSTEM) == DEMO_PATIENTS  # a read is repeated on a new connection
    terminate_my_connections(postgres_server.admin_url)
    assert measurements.record_measurement(SYSTEM, 1, "nrs_pain", [2], taken_at=TAKEN).total == 2.0  # BEGIN again


def test_the_session_carries_on_after_the_server_restarts(pg_clinic):
    server_dir = os.environ.get(ENV_SERVER_DIR)
    if not server_dir:
        pytest.skip(f"${ENV_SERVER_DIR} is not set: the test server cannot be restarted from here")
    script = ROOT / ".ci" / "postgres.sh"
    subprocess.run([str(script), "stop", server_dir], check=True, timeout=60)
    try:
        with pytest.raises(ConnectionLost, match="lost the connection"):
            measurements.record_measurement(SYSTEM, 1, "nrs_pain", [5], taken_at=TAKEN)
        with pytest.raises(ConnectionLost):
            changes.ping()
    finally:
        subprocess.run([str(script), "restart", server_dir], check=True, timeout=60)
    changes.ping()
    assert measurements.record_measurement(SYSTEM, 1, "nrs_pain", [5], taken_at=TAKEN).total == 5.0
    assert Measurement.select().where((Measurement.patient == 1) & (Measurement.taken_at == TAKEN)).count() == 1


ELSEWHERE = """
import datetime as dt, sys
from teamdash.services import measurements
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
open_clinic(sys.argv[1])
measurements.record_measurement(SYSTEM, 2, "nrs_pain", [6], taken_at=dt.datetime(2026, 11, 26, 9, 0))
"""


def test_other_workstations_commits_are_announced_and_our_own_are_not(pg_clinic):
    feed = changes.open_feed()
    assert feed is not None
    try:
        measurements.record_measurement(SYSTEM, 1, "nrs_pain", [4], taken_at=TAKEN)  # this workstation
        other = subprocess.run(  # another workstation
            [sys.executable, "-c", ELSEWHERE, pg_clinic.url], capture_output=True, text=True, timeout=120
        )
        assert other.returncode == 0, other.stderr
        notes = feed.wait(10)
        assert [n.patient_id for n in notes] == [2]
        found = changes.changes_since(SYSTEM, notes[0].event_id - 1)
        assert [(r.entity, r.patient_id, r.action) for r in found.records] == [("measurement", 2, "measurement.create")]
    finally:
        feed.close()


def test_a_lost_listening_connection_says_so(pg_clinic, postgres_server):
    feed = changes.open_feed()
    with psycopg2.connect(postgres_server.admin_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'TeamDash (changes)'"
        )
    conn.close()
    with pytest.raises(ConnectionLost, match="other workstations' changes"):
        feed.wait(10)
    feed.close()


def test_check_creates_the_schema_in_an_empty_database_and_reports_it(postgres_database, capsys):
    assert main(["--db", postgres_database.url, "check", "--counts"]) == 0
    out = capsys.readouterr().out
    assert "schema: version" in out and "(up to date)" in out
    assert "present, 0 patients" in out
    assert "integrity: ok" in out
    assert "  patient " in out


def test_check_finds_a_missing_constraint_index_and_trigger(pg_clinic, capsys):
    db.database.execute_sql("ALTER TABLE measurement DROP CONSTRAINT measurement_patient_id_fkey")
    db.database.execute_sql(f"DROP INDEX {search_index.TRGM_INDEX}")
    db.database.execute_sql("DROP TRIGGER audit_event_notify ON audit_event")
    db.database.execute_sql("DROP INDEX patient_clinic_id")
    found = health.problems()
    assert any("unique index on patient (clinic_id) is missing" in p for p in found), found
    assert any("foreign key measurement.patient_id -> patient is missing" in p for p in found), found
    db.close()
    assert main(["--db", pg_clinic.url, "check"]) == 2
    out = capsys.readouterr().out
    assert "problem: the unique index on patient (clinic_id) is missing" in out


def test_check_finds_orphans_the_database_let_in(pg_clinic):
    db.database.execute_sql("ALTER TABLE measurement DROP CONSTRAINT measurement_patient_id_fkey")
    db.database.execute_sql("DELETE FROM patient_summary WHERE patient_id = 3")
    db.database.execute_sql("DELETE FROM safety_acknowledgement")
    db.database.execute_sql("DELETE FROM patient WHERE id = 3")  # its measurements stay behind
    found = health.orphan_problems()
    assert any("of measurement point at a patient that does not exist (patient_id)" in p for p in found), found
    assert postgres.catalog_problems(db.database) == []


def test_floats_keep_full_precision(pg_clinic):
    saved = measurements.record_measurement(SYSTEM, 1, "bmi", [65.7, 163.0], taken_at=TAKEN)
    assert measurements.get_measurement(SYSTEM, saved.id).total == pytest.approx(24.728066544, abs=1e-9)
