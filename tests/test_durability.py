"""A killed process loses at most the write in flight: every committed measurement is
there afterwards and the file passes its integrity check (WAL + synchronous=normal)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from teamdash.services import measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.patients import PatientQuery
from teamdash.storage import db

WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    from teamdash.services import measurements
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import open_clinic
    open_clinic(sys.argv[1])
    start = dt.datetime(2026, 1, 1, 8, 0)
    for i in range(100000):
        measurements.record_measurement(SYSTEM, 1, "nrs_pain", [i % 11], taken_at=start + dt.timedelta(minutes=i))
        print(i, flush=True)  # printed only after the commit
    """
)


@pytest.mark.sqlite_only
def test_sigkill_mid_stream_loses_nothing_committed(database):
    patient = patients.create_patient(
        SYSTEM,
        clinic_id="K-1",
        given_name="Kim",
        family_name="Killed",
        date_of_birth="1970-01-01",
        referral_date="2025-12-01",
    )
    assert patient.id == 1
    db.close()
    url = f"sqlite:///{database}"
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True)
        last = None
        for line in writer.stdout:
            last = int(line)
            if last >= 150:
                break
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        open_clinic(url, create=True)
        assert db.integrity_problems() == []
        stored = measurements.list_measurements(SYSTEM, 1)
        assert len(stored) >= last + 1  # every printed (committed) write survived
        # The summary was written in the same transaction: it matches the rows.
        row = patients.list_patients(SYSTEM, PatientQuery(search="K-1")).rows[0]
        assert row.pain_latest == stored[-1].total
        # Start the next round from an empty history (the writer reuses its times).
        db.database.execute_sql("DELETE FROM measurement")
        db.database.execute_sql("DELETE FROM patient_summary")
        db.close()
