"""Storage: bulk insert, the patient-list page and one patient's full record, each
beside raw sqlite3 doing the same work in the same run.

Targets (issue 3): bulk insert of 100k measurements <= 1.5x raw; a list page with latest
scores at 10k patients <= 1.5x raw; one patient's full record <= 5 ms at 10k patients.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import tempfile
from pathlib import Path

from benchmarks.common import absolute, compare, figure, measure, schema_tag
from teamdash import demo
from teamdash.services import chart, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.patients import PatientQuery
from teamdash.storage import db
from teamdash.storage.models import Measurement, Patient

CACHE = Path(__file__).resolve().parent / ".cache"
TODAY = dt.date(2026, 11, 27)
BULK_ROWS = 100_000  # measurements inserted at once
LIST_PATIENTS = 10_000  # the clinic the list page and the full record are read from


def demo_database(patients_count: int) -> Path:
    """A demo clinic of this size, generated once and kept in benchmarks/.cache."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"demo-{patients_count}-{schema_tag()}.sqlite3"
    if not path.exists():
        start = dt.datetime.now()
        open_clinic(f"sqlite:///{path}.part", create=True)
        demo.generate(SYSTEM, patients=patients_count, today=TODAY)
        db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        Path(f"{path}.part").rename(path)
        figure(
            f"demo clinic generated ({patients_count} patients)", f"{(dt.datetime.now() - start).total_seconds():.1f} s"
        )
    return path


def _measurement_rows(count: int, patient_ids: list[int]) -> list[tuple]:
    rng = random.Random(1)
    base = dt.datetime(2025, 1, 1, 9, 0)
    now = dt.datetime(2026, 11, 27, 9, 0)
    rows = []
    details = {"subscales": {}, "components": {}, "derived": {}, "missing_items": [], "flags": []}
    for i in range(count):
        items = [rng.randint(0, 3) for _ in range(9)]
        scored = {
            "responses": items,
            "total": float(sum(items)),
            "band": "Moderate",
            "band_severity": 2,
            "details": details,
            "safety": False,
        }
        # In INSERT_FIELDS order, as the service builds it (a row written by hand here
        # fell out of step when the table gained a column).
        rows.append(
            measurements.scored_row(
                patient_ids[i % len(patient_ids)],
                "phq9",
                scored,
                base + dt.timedelta(minutes=i),
                entered_by=None,
                entered_at=now,
            )
        )
    return rows


def bench_bulk_insert(count: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours_file, plain_file = Path(tmp) / "ours.sqlite3", Path(tmp) / "plain.sqlite3"
        for path in (plain_file, ours_file):  # same schema in both files; ours stays open
            open_clinic(f"sqlite:///{path}", create=True)
        with db.database.atomic():
            Patient.insert_many(
                [
                    {
                        "clinic_id": f"B-{i}",
                        "given_name": "B",
                        "family_name": f"Bench{i}",
                        "date_of_birth": dt.date(1970, 1, 1),
                        "referral_date": dt.date(2025, 1, 1),
                        "episode_start": dt.date(2025, 1, 1),
                    }
                    for i in range(1000)
                ]
            ).execute()
        ids = [pid for (pid,) in Patient.select(Patient.id).tuples()]
        rows = _measurement_rows(count, ids)

        def ours():
            with db.database.atomic():
                measurements.insert_scored(rows)

        plain_conn = sqlite3.connect(plain_file, isolation_level=None)
        plain_conn.executescript("PRAGMA journal_mode=wal; PRAGMA synchronous=normal; PRAGMA foreign_keys=1;")
        plain_conn.executemany(
            "INSERT INTO patient (id, clinic_id, given_name, family_name, date_of_birth, sex, referral_date, episode_start,"
            " status, research_consent, flagged_for_review, created_at, updated_at, version)"
            " VALUES (?, ?, 'B', 'Bench', '1970-01-01', 'unknown', '2025-01-01', '2025-01-01', 'active', 0, 0, '2025-01-01', '2025-01-01', 1)",
            [(pid, f"B-{pid}") for pid in ids],
        )
        sql = (
            "INSERT INTO measurement (patient_id, instrument, taken_at, responses, total, band, band_severity, details,"
            " safety, entered_by_id, entered_at, note, source, item_names, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)"
        )

        def plain():
            plain_conn.execute("BEGIN")
            plain_conn.executemany(
                sql,
                [
                    (
                        p,
                        inst,
                        t.isoformat(" "),
                        json.dumps(r, separators=(",", ":"), sort_keys=True),
                        tot,
                        band,
                        sev,
                        json.dumps(det, separators=(",", ":"), sort_keys=True),
                        int(safe),
                        by,
                        at.isoformat(" "),
                        note,
                        src,
                        names,
                    )
                    for p, inst, t, r, tot, band, sev, det, safe, by, at, note, src, names in rows
                ],
            )
            plain_conn.execute("COMMIT")

        def clear():
            Measurement.delete().execute()
            plain_conn.execute("DELETE FROM measurement")

        ours_t = measure(ours, repeat=3, setup=clear)
        plain_t = measure(plain, repeat=3, setup=clear)
        compare(f"bulk insert {count:,} measurements", ours_t, plain_t, target_ratio=1.5, plain_label="sqlite3")
        plain_conn.close()
        db.close()


def bench_list_and_record(patients_count: int = 10_000) -> None:
    path = demo_database(patients_count)
    open_clinic(f"sqlite:///{path}", create=True)
    query = PatientQuery(limit=100, sort="name", today=TODAY)
    select_sql, params = (
        patients._filtered(query, TODAY, list(patients.LIST_COLUMNS))
        .order_by(*patients._sort_columns(query, TODAY))
        .limit(101)
        .sql()
    )
    raw = sqlite3.connect(path)

    def plain_page():
        cursor = raw.execute(select_sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    ours = measure(lambda: patients.list_patients(SYSTEM, query), repeat=20)
    plain = measure(plain_page, repeat=20)
    compare(f"patient list page (100 rows) at {patients_count:,}", ours, plain, target_ratio=1.5, plain_label="sqlite3")

    for label, q in (
        ("search 'bram' at", PatientQuery(search="bram", limit=100, today=TODAY)),
        ("sort by latest pain at", PatientQuery(sort="pain", limit=100, today=TODAY)),
        ("flagged, safety first at", PatientQuery(flagged=True, sort="flags", limit=100, today=TODAY)),
    ):
        absolute(f"{label} {patients_count:,}", measure(lambda q=q: patients.list_patients(SYSTEM, q), repeat=20))

    ids = [pid for (pid,) in Patient.select(Patient.id).order_by(Patient.id).tuples()]
    sample = ids[:: max(1, len(ids) // 50)]
    full = measure(lambda: [chart.get_record(SYSTEM, pid, today=TODAY) for pid in sample], repeat=3)
    per_record = type(full)(full.best / len(sample), full.median / len(sample))
    rows = sum(len(chart.get_record(SYSTEM, pid, today=TODAY).measurements) for pid in sample) / len(sample)
    absolute(
        f"one patient's full record at {patients_count:,}",
        per_record,
        target_ms=5,
        note=f"(mean of {len(sample)} patients, ~{rows:.0f} measurements each)",
    )
    raw.close()
    db.close()


def run() -> None:
    bench_bulk_insert(BULK_ROWS)
    bench_list_and_record(LIST_PATIENTS)
