"""The audit trail: an event for each kind of action (with user, time, workstation and
patient), the hash chain catching an edited, a deleted and an inserted event, the
``teamdash audit`` commands, views on a read-only database, and the chain over an
upgraded database."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading

import pytest

from teamdash import clock
from teamdash.errors import PermissionDenied
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import accounts, audit, chart, episodes, maintenance, measurements, patients
from teamdash.services.auth import SYSTEM, actor_for
from teamdash.services.clinic import open_clinic
from teamdash.storage import audit_chain, db, migrations
from teamdash.storage.models import AuditEvent
from tests.databases import url_of
from tests.demo_facts import DEMO_NOW
from tests.test_accounts import reopen_read_only
from ui.cli import main

SAFETY_PATIENT_ID = 8


def _sql(sql: str) -> str:
    """``?`` placeholders in the open backend's style (PostgreSQL's driver takes %s)."""
    return sql.replace("?", db.database.param)


def _tamper(sql: str, *params) -> None:
    """What someone with a database tool could do to the file behind TeamDash's back."""
    db.database.execute_sql(_sql(sql), params)


def _event(action: str) -> audit.AuditEntry:
    """The newest event of exactly this action."""
    return next(e for e in audit.events(action_prefix=action, limit=10_000) if e.action == action)


def test_each_kind_of_action_is_an_event_with_user_time_workstation_and_patient(clinic, tmp_path, fixed_clock):
    psychologist = actor_for("athistledown")
    patient = patients.list_patients(SYSTEM).rows[0]

    accounts.sign_in("athistledown", "demo-clinic-2026")
    with pytest.raises(Exception):  # noqa: B017 - any refusal: the event is what matters
        accounts.sign_in("athistledown", "not the password")
    chart.get_record(psychologist, patient.id)
    created = measurements.record_measurement(psychologist, patient.id, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 0])
    measurements.update_measurement(psychologist, created.id, created.version, note="repeated at the end")
    before = measurements.delete_measurement(psychologist, created.id, created.version + 1)
    export(actor_for("mquillfeather"), tmp_path / "p.xlsx", ExportOptions(kind="patient", patient_id=patient.id))
    maintenance.take_backup(SYSTEM, tmp_path / "b.sqlite3")

    expected = {
        "signin": (psychologist.user_id, None),
        "signin.failed": (psychologist.user_id, None),
        "record.view": (psychologist.user_id, patient.id),
        "measurement.create": (psychologist.user_id, patient.id),
        "measurement.update": (psychologist.user_id, patient.id),
        "measurement.delete": (psychologist.user_id, patient.id),
        "export": (actor_for("mquillfeather").user_id, patient.id),
        "backup": (None, None),
    }
    for action, (actor_id, patient_id) in expected.items():
        event = _event(action)
        assert event.action == action
        assert (event.actor_id, event.patient_id) == (actor_id, patient_id), action
        assert event.workstation == audit.workstation() and event.at == DEMO_NOW, action
    update = _event("measurement.update")
    assert update.before["note"] is None and update.after["note"] == "repeated at the end"
    assert _event("measurement.delete").before == {k: v for k, v in before.items() if k in update.after}
    assert _event("backup").details["os_user"] == audit.os_user()  # the system account: which login ran it
    assert audit.verify_chain(SYSTEM).intact


def test_import_is_an_event(clinic, tmp_path):
    from openpyxl import Workbook

    from teamdash.exchange import importing

    book = Workbook()
    sheet = book.active
    sheet.append(["Clinic ID", "Instrument", "Taken at", "Item 1"])
    sheet.append(["TD-00001", "nrs_pain", "2026-11-20 09:00", 4])
    book.save(tmp_path / "m.xlsx")
    manager = actor_for("mquillfeather")
    importing.import_file(manager, tmp_path / "m.xlsx")
    event = _event("import")
    assert event.actor_id == manager.user_id and event.details["sheets"][0]["imported"] == 1


def test_a_refresh_of_the_open_record_is_one_view_another_patient_or_user_is_another(clinic, fixed_clock):
    pt = actor_for("rbrightwater")
    views = lambda: [(e.actor_id, e.patient_id) for e in audit.events(action_prefix="record.view")][::-1]  # noqa: E731
    chart.get_record(pt, 1)
    chart.get_record(pt, 1)  # the panel reloading after a change
    chart.get_record(pt, 2)
    chart.get_record(pt, 1)
    chart.get_record(actor_for("athistledown"), 1)
    fixed_clock.advance(audit.VIEW_REPEAT)
    chart.get_record(actor_for("athistledown"), 1)
    psych = actor_for("athistledown").user_id
    assert views() == [(pt.user_id, 1), (pt.user_id, 2), (pt.user_id, 1), (psych, 1), (psych, 1)]


def test_views_do_not_count_as_changes_for_other_workstations(clinic):
    before = audit.latest_event_id()
    chart.get_record(actor_for("rbrightwater"), 3)
    assert audit.latest_event_id() == before
    episodes.change_status(SYSTEM, 3, patients.get_patient(SYSTEM, 3).version, "discharged", reason="goals_met")
    assert audit.latest_event_id() > before


@pytest.mark.sqlite_only  # a read-only file
def test_viewing_on_a_read_only_database_is_logged_as_skipped(clinic, monkeypatch, caplog):
    reopen_read_only(monkeypatch)
    events = AuditEvent.select().count()
    record = chart.get_record(actor_for("rbrightwater"), 4)
    assert record.patient.id == 4 and AuditEvent.select().count() == events
    assert "audit event record.view (patient id 4) not recorded: the database is read-only" in caplog.text


# --- the chain --------------------------------------------------------------------------


@pytest.fixture
def trail(clinic):
    """A demo clinic with a few more events, the chain intact."""
    pt = actor_for("rbrightwater")
    for patient_id in (1, 2, 3):
        chart.get_record(pt, patient_id)
    check = audit.verify_chain(SYSTEM)
    assert check.intact and check.events == AuditEvent.select().count() >= 4
    return check


def test_an_edited_event_is_named(trail):
    _tamper("UPDATE audit_event SET actor_name = 'Someone Else' WHERE id = ?", trail.head_id - 2)
    check = audit.verify_chain(SYSTEM)
    assert check.broken_at == trail.head_id - 2 and "changed after it was recorded" in check.problem


def test_an_edited_event_with_a_recomputed_digest_breaks_the_next_link(trail):
    row = next(
        audit_chain.rows_as_dicts(
            db.database.execute_sql(
                _sql(audit_chain.select_sql().replace("ORDER BY", 'WHERE "id" = ? ORDER BY')), (trail.head_id - 2,)
            )
        )
    )
    row["action"] = "nothing.happened"
    _tamper(
        "UPDATE audit_event SET action = ?, digest = ? WHERE id = ?", row["action"], audit_chain.digest(row), row["id"]
    )
    check = audit.verify_chain(SYSTEM)
    assert (
        check.broken_at == trail.head_id - 1
        and f"link from event {row['id']} to event {row['id'] + 1}" in check.problem
    )


def test_a_deleted_event_is_named(trail):
    _tamper("DELETE FROM audit_event WHERE id = ?", trail.head_id - 1)
    check = audit.verify_chain(SYSTEM)
    assert check.broken_at == trail.head_id
    assert (
        f"event(s) between them were deleted (ids {trail.head_id - 1}–{trail.head_id - 1} are missing)" in check.problem
    )


def test_an_inserted_event_is_named_even_with_a_well_formed_digest(trail):
    """The forger renumbers the later events to make room and computes a digest that
    chains correctly from the event before: the event after still points past it."""
    at = trail.head_id - 1
    for event_id in range(trail.head_id, at - 1, -1):
        _tamper("UPDATE audit_event SET id = id + 1 WHERE id = ?", event_id)
    previous = db.database.execute_sql(_sql("SELECT digest FROM audit_event WHERE id = ?"), (at - 1,)).fetchone()[0]
    forged = {
        "at": "2026-11-27 14:00:00",
        "actor_id": None,
        "actor_name": "TeamDash (system)",
        "workstation": audit.workstation(),
        "action": "patient.update",
        "is_change": True,
        "patient_id": 1,
        "entity": "patient",
        "entity_id": 1,
        "before": None,
        "after": None,
        "details": None,
        "prev_digest": previous,
    }
    _tamper(
        "INSERT INTO audit_event (id, at, actor_id, actor_name, workstation, action, is_change, patient_id, entity,"
        " entity_id, prev_digest, digest) VALUES (?, ?, NULL, ?, ?, ?, TRUE, 1, 'patient', 1, ?, ?)",
        at,
        forged["at"],
        forged["actor_name"],
        forged["workstation"],
        forged["action"],
        previous,
        audit_chain.digest(forged),
    )
    check = audit.verify_chain(SYSTEM)
    assert check.broken_at == at + 1
    assert f"event {at} was inserted: event {at + 1} follows event {at - 1}" in check.problem


def test_deleting_the_first_events_is_caught(trail):
    _tamper("DELETE FROM audit_event WHERE id <= 2")
    check = audit.verify_chain(SYSTEM)
    assert check.broken_at == 3 and "earlier events were deleted" in check.problem


@pytest.mark.sqlite_only  # compares with a backup file's events (PostgreSQL backups are pg_dump archives)
def test_a_rewritten_chain_is_caught_against_an_earlier_backup(trail, tmp_path):
    backup = maintenance.take_backup(SYSTEM, tmp_path / "before.sqlite3")
    rows = list(audit_chain.rows_as_dicts(db.database.execute_sql(audit_chain.select_sql()).fetchall()))
    rows[1]["actor_name"] = "Someone Else"  # edit, then recompute every digest after it
    for event_id, prev_digest, digest in audit_chain.rechain(rows):
        _tamper("UPDATE audit_event SET prev_digest = ?, digest = ? WHERE id = ?", prev_digest, digest, event_id)
    _tamper("UPDATE audit_event SET actor_name = 'Someone Else' WHERE id = ?", rows[1]["id"])
    assert audit.verify_chain(SYSTEM).intact  # consistent in itself
    problem = audit.compare_with_backup(backups_digests(backup))
    assert (
        problem
        == f"event {rows[1]['id']} differs from the backup: it was changed, or the chain rewritten from there on"
    )


def backups_digests(path):
    from teamdash.storage import backups

    return backups.audit_digests(path)


def test_concurrent_writers_keep_one_chain(tmp_path):
    """Two threads (two connections, as two workstations on one file) append at once."""
    path = tmp_path / "clinic.sqlite3"
    open_clinic(f"sqlite:///{path}", create=True)

    def write(n: int) -> None:
        for i in range(40):
            audit.record(SYSTEM, "test.concurrent", details={"writer": n, "i": i})
        db.database.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = audit.verify_chain(SYSTEM)
    assert check.intact and check.events == 80


def test_the_chain_covers_events_recorded_before_the_upgrade(tmp_path):
    """A v3 database with events (no digests, no workstation) is upgraded: the old
    events are chained in id order, and tampering with one is caught."""
    from tests.test_migrations import _make_v1_file

    path = tmp_path / "clinic.sqlite3"
    _make_v1_file(path)
    with sqlite3.connect(path) as old:
        for n, action in enumerate(("patient.create", "export", "measurement.create"), start=1):
            old.execute(
                "INSERT INTO audit_event (at, actor_id, actor_name, action, patient_id, entity, entity_id, after)"
                " VALUES (?, NULL, 'TeamDash (system)', ?, 1, 'patient', 1, ?)",
                (f"2026-01-0{n} 10:00:00", action, json.dumps({"n": n}, separators=(",", ":"))),
            )
    open_clinic(f"sqlite:///{path}")
    assert migrations.current_version() == migrations.LATEST
    check = audit.verify_chain(SYSTEM)
    assert check.intact and check.events == 3
    assert [e.action for e in audit.events()] == ["measurement.create", "export", "patient.create"]
    assert audit.latest_event_id() == 3 and not AuditEvent.get_by_id(2).is_change  # an export changes nothing
    _tamper("UPDATE audit_event SET after = '{\"n\":5}' WHERE id = 2")
    assert audit.verify_chain(SYSTEM).broken_at == 2


# --- reading the trail --------------------------------------------------------------------


def test_the_audit_trail_is_for_administrators_and_filters(clinic, fixed_clock):
    pt, psych = actor_for("rbrightwater"), actor_for("athistledown")
    chart.get_record(pt, 5)
    fixed_clock.advance(dt.timedelta(days=1))
    chart.get_record(psych, 5)
    measurements.record_measurement(psych, 5, "gad7", [1] * 7)
    with pytest.raises(PermissionDenied, match="may not read the audit trail"):
        audit.search(psych, audit.AuditQuery(patient_id=5))
    admin = actor_for("ckestrel")
    seen = audit.search(admin, audit.AuditQuery(patient_id=5, action="record.view"))
    assert [e.actor_id for e in seen] == [psych.user_id, pt.user_id] and seen[0].clinic_id == "TD-00005"
    assert [e.action for e in audit.search(admin, audit.AuditQuery(patient_id=5, actor_id=psych.user_id))][:2] == [
        "measurement.create",
        "record.view",
    ]
    today = clock.today()
    since_today = audit.search(admin, audit.AuditQuery(patient_id=5, action="record.view", date_from=today))
    assert {e.actor_id for e in since_today} == {psych.user_id}
    assert all(e.action.endswith(".create") for e in audit.search(admin, audit.AuditQuery(action="create")))
    # Reading a patient's trail is itself recorded.
    assert _event("audit.view").actor_id == admin.user_id


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_cli_lists_who_saw_and_changed_a_record_and_verifies(clinic, capsys):
    url = url_of(clinic)
    chart.get_record(actor_for("rbrightwater"), 6)
    measurements.record_measurement(actor_for("athistledown"), 6, "gad7", [2] * 7)
    code, out, err = run(capsys, "--db", url, "audit", "--patient", "TD-00006")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "Avery Thistledown" in lines[0] and "created measurement" in lines[0]
    assert "Riley Brightwater" in lines[1] and "viewed the record" in lines[1] and "TD-00006" in lines[1]
    code, out, _ = run(capsys, "--db", url, "audit", "verify")
    assert code == 0 and out.startswith("audit chain intact:")
    head = AuditEvent.select().order_by(AuditEvent.id.desc()).first().id
    _tamper("DELETE FROM audit_event WHERE id = ?", head - 1)
    code, out, _ = run(capsys, "--db", url, "audit", "verify")
    assert code == 2 and out.startswith(f"audit chain BROKEN at event {head}:") and "deleted" in out


def test_many_events_at_once_keep_the_chain(clinic):
    before = AuditEvent.select().count()
    audit.record(SYSTEM, "patient.update", patient_id=1)
    count = audit.record_many(
        SYSTEM,
        "patient.import",
        ({"patient_id": n, "entity": "patient", "entity_id": n, "details": {"n": n}} for n in range(1, 1201)),
    )
    audit.record(SYSTEM, "patient.update", patient_id=2)
    assert count == 1200 and AuditEvent.select().count() == before + 1202
    check = audit.verify_chain(SYSTEM)
    assert check.intact and check.events == before + 1202
    imported = audit.events(action_prefix="patient.import", limit=1)[0]
    assert imported.details == {"n": 1200, "os_user": audit.os_user()} and imported.workstation == audit.workstation()
