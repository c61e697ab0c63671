"""A full disk under the SQLite file: the write that does not fit is refused with a
message that says so, and everything saved before it is still there, whole.

The disk is made full by capping the file's size (``PRAGMA max_page_count``): SQLite
answers exactly as it does when the file system is out of space (SQLITE_FULL)."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import DatabaseUnavailable
from teamdash.services import measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.storage import db
from teamdash.storage.models import AuditEvent, Measurement

pytestmark = pytest.mark.sqlite_only


def test_a_full_disk_refuses_the_write_clearly_and_loses_nothing(clinic):
    pages = db.database.execute_sql("PRAGMA page_count").fetchone()[0]
    db.database.execute_sql(f"PRAGMA max_page_count = {pages + 2}")
    before = Measurement.select().count()
    start = dt.datetime(2026, 11, 27, 14, 0)  # after every demo measurement: each new one is the latest
    saved = []
    with pytest.raises(DatabaseUnavailable) as full:
        for i in range(2000):
            note = f"note {i} " + "x" * 1900  # a long note fills pages quickly
            saved.append(
                measurements.record_measurement(
                    SYSTEM, 1, "nrs_pain", [i % 11], taken_at=start + dt.timedelta(seconds=i), note=note
                )
            )
    assert str(full.value) == f"the disk holding {db.info().display} is full; nothing was changed"
    # Every write before the full one is there, with its audit event and its summary.
    assert Measurement.select().count() == before + len(saved)
    assert AuditEvent.select().where(AuditEvent.action == "measurement.create").count() >= len(saved)
    latest = patients.list_patients(SYSTEM, patients.PatientQuery(search="TD-00001")).rows[0]
    assert latest.pain_latest == (saved[-1].total if saved else latest.pain_latest)
    assert db.integrity_problems() == []
    # Once there is room again, the same write goes through.
    db.database.execute_sql("PRAGMA max_page_count = 1073741823")
    i = len(saved)
    again = measurements.record_measurement(SYSTEM, 1, "nrs_pain", [3], taken_at=start + dt.timedelta(seconds=i))
    assert measurements.get_measurement(SYSTEM, again.id).total == 3.0
