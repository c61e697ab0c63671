"""Logs and error messages never hold patient names, dates of birth or scores: a
morning of simulated use (sign-ins good and bad, a lockout, records opened, scores
entered and refused, a flare, an export, an import with a bad row, a backup, the audit
trail, a read-only database), then the log file and every error message are searched."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from openpyxl import Workbook

from teamdash.errors import TeamDashError
from teamdash.exchange import importing
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import accounts, audit, chart, maintenance, measurements, patients
from teamdash.services.auth import SYSTEM, actor_for
from teamdash.services.flares import FLARES
from teamdash.storage import db
from teamdash.storage.models import Measurement, Patient
from tests.databases import url_of
from tests.test_accounts import reopen_read_only
from ui.cli import main


@pytest.fixture
def log_text(tmp_path):
    """Everything TeamDash and its UI log at INFO and above, as the log file would hold it."""
    path = tmp_path / "morning.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    # No time stamp: it is the wall clock's (the hour 16 once matched a GAD-7 total of 16).
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("teamdash", "ui")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield lambda: path.read_text(encoding="utf-8")
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)
    handler.close()


def test_a_morning_of_use_leaves_no_names_or_scores_in_logs_or_errors(clinic, tmp_path, log_text, monkeypatch, capsys):
    errors: list[str] = []

    def attempt(call):
        try:
            return call()
        except TeamDashError as exc:
            errors.append(str(exc))
            return None

    psych, pt, manager, admin = (actor_for(u) for u in ("athistledown", "rbrightwater", "mquillfeather", "ckestrel"))
    seen = [p.id for p in patients.list_patients(SYSTEM).rows[:12]]

    # 08:00 sign-ins, one mistyped, one account locked out
    accounts.sign_in("athistledown", "demo-clinic-2026")
    attempt(lambda: accounts.sign_in("athistledown", "demo-clinic-2025"))
    for _ in range(accounts.MAX_FAILURES):
        attempt(lambda: accounts.sign_in("coakhollow", "forgotten it again"))
    attempt(lambda: accounts.sign_in("nobody-here", "whatever it is"))
    # 08:15 records opened, scores entered, some refused
    for patient_id in seen:
        chart.get_record(psych, patient_id)
        chart.get_record(pt, patient_id)
    entered = [
        measurements.record_measurement(psych, seen[0], "phq9", [2, 3, 2, 3, 2, 3, 2, 1, 0]),
        measurements.record_measurement(psych, seen[1], "gad7", [3, 3, 2, 2, 3, 1, 2]),
        measurements.record_measurement(pt, seen[2], "odi", [3, 2, 4, 1, 2, 3, 2, 1, 0, 2]),
    ]
    attempt(lambda: measurements.record_measurement(psych, seen[3], "phq9", [9, 9, 9, 9, 9, 9, 9, 9, 9]))
    attempt(lambda: measurements.record_measurement(psych, seen[3], "odi", [1] * 10))  # not psychology's, not treated
    attempt(lambda: measurements.record_measurement(psych, seen[0], "phq9", [2, 3, 2, 3, 2, 3, 2, 1, 0]))  # duplicate
    attempt(lambda: measurements.acknowledge_safety(pt, entered[0].id, "Called"))  # no safety item
    FLARES.add(pt, seen[2], started_on="2026-11-26", severity=8, suspected_trigger="moving furniture")
    attempt(lambda: FLARES.add(pt, seen[2], started_on="2027-01-01", severity=11))
    # 09:30 an export, an import with a bad row, a backup
    export(manager, tmp_path / "cohort.xlsx", ExportOptions(kind="cohort"))
    attempt(lambda: export(manager, tmp_path / "research.xlsx", ExportOptions(kind="cohort", deidentify=True)))
    book = Workbook()
    book.active.append(["Clinic ID", "Instrument", "Taken at", "Item 1"])
    book.active.append(["TD-00004", "nrs_pain", "2026-11-26 09:00", 6])
    book.active.append(["TD-00005", "nrs_pain", "2026-11-26 09:00", 14])
    book.save(tmp_path / "scores.xlsx")
    attempt(lambda: importing.import_file(manager, tmp_path / "scores.xlsx"))
    maintenance.take_backup(admin, tmp_path / "morning-backup.sqlite3")
    # 10:00 the administrator reads the trail; the command line lists a patient's trail
    audit.search(admin, audit.AuditQuery(patient_id=seen[0]))
    clinic_id = patients.get_patient(SYSTEM, seen[0]).clinic_id
    assert main(["--db", url_of(clinic), "audit", "--patient", clinic_id]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong\n"))
    main(["--db", url_of(clinic), "patients", "--search", "zzz"])
    capsys.readouterr()
    # 11:00 the file turns read-only (a full disk, a locked share): viewing goes on, unrecorded
    sqlite = db.info().backend == "sqlite"
    if sqlite:  # a read-only SQLite file (PostgreSQL has no such state)
        reopen_read_only(monkeypatch)
        chart.get_record(pt, seen[5])
        attempt(lambda: measurements.record_measurement(pt, seen[5], "nrs_pain", [4]))

    text = log_text() + "\n" + "\n".join(errors)
    assert "locked after 5 failed sign-ins" in text
    assert not sqlite or "not recorded: the database is read-only" in text
    assert len(errors) >= (9 if sqlite else 8)
    people = list(Patient.select())
    for person in people:
        for secret in (
            person.family_name,
            f"{person.given_name} {person.family_name}",
            person.date_of_birth.isoformat(),
        ):
            assert secret not in text, secret
    for m in entered:
        for secret in (f"{m.total:g}", f"{m.total:.1f}", str(m.responses)):
            assert f" {secret}" not in text and f"={secret}" not in text, (m.instrument, secret)
    # No password, typed right or wrong, ever reaches the log.
    for password in ("demo-clinic-2026", "demo-clinic-2025", "forgotten it again", "whatever it is"):
        assert password not in text
    assert Measurement.select().count() > 0
