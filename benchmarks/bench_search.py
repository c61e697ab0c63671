"""Patient search through the trigram index (schema v9), at 10k and 100k patients, on
SQLite and on PostgreSQL.

One keystroke in the search box runs the list page (100 rows, sorted by name) and the
count of matches. Beside it, in the same run, the plain driver (sqlite3 / psycopg2) runs
the same page and count without the index (``LIKE '%word%'`` over every patient, as
before v9). Printed: the service with the index, the plain scan, their ratio (below 1:
the index wins), and the service against the plain driver running the indexed query.

PostgreSQL: ``TEAMDASH_BENCH_POSTGRES=postgresql://user@host:port/db`` (a server where the
user may create databases; ``.ci/postgres.sh start DIR`` gives one); without it only
SQLite is measured. The clinics hold patients only (names from the demo generator); the
list reads nothing else but their summary rows.

    python -m benchmarks search            # 10k and 100k
    TEAMDASH_BENCH_SIZES=10000 python -m benchmarks search
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import tempfile
from pathlib import Path

from benchmarks.common import Timing, compare, figure, measure, schema_tag
from teamdash import clock, demo
from teamdash.services import patients, transfer
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.patients import PatientQuery
from teamdash.storage import bulk, db, search_index
from teamdash.storage.models import Patient
from teamdash.text import patient_search_key

TODAY = dt.date(2026, 11, 27)
CACHE = Path(os.environ.get("TEAMDASH_BENCH_CACHE") or tempfile.gettempdir()) / "teamdash-bench"
# A name typed letter by letter, a clinic ID, two words.
KEYSTROKES = ("b", "br", "bra", "bram", "brambl", "TD-0421", "moss wick")


def patients_only_clinic(count: int) -> Path:
    """An SQLite clinic of ``count`` patients (cached by size)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"search-{count}-{schema_tag()}.sqlite3"
    if path.exists():
        return path
    partial = Path(f"{path}.part")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    with clock.use(clock.FixedClock(dt.datetime.combine(TODAY, dt.time(14, 30)))):
        open_clinic(f"sqlite:///{partial}", create=True)
        rows = []
        for i in range(1, count + 1):
            person = demo._patient_values(i, random.Random(f"2026:{i}"), TODAY, [None])
            key = patient_search_key(person["given_name"], person["family_name"], person["clinic_id"])
            values = {**person, "status": "active", "status_changed_on": None, "next_checkin": None, "search_key": key}
            rows.append(tuple(values[c] for c in demo.PATIENT_COLUMNS))

        with db.database.atomic():
            bulk.insert(Patient, [getattr(Patient, c) for c in demo.PATIENT_COLUMNS], rows)
        db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    partial.rename(path)
    return path


def _page_and_count(term: str) -> tuple[str, list, str, list]:
    """The SQL of the list page and of the count one keystroke runs."""
    query = PatientQuery(search=term, limit=100, sort="name", today=TODAY)
    page = (
        patients._filtered(query, TODAY, list(patients.LIST_COLUMNS))
        .order_by(*patients._sort_columns(query, TODAY))
        .limit(101)
    )
    page_sql, page_params = page.sql()
    inner_sql, count_params = patients._filtered(query, TODAY, [Patient.id]).sql()
    return page_sql, list(page_params), f"SELECT COUNT(1) FROM ({inner_sql}) AS matches", list(count_params)


def _plain_sql(term: str) -> tuple[str, list, str, list]:
    """The page and count as they ran before v9: every word by ``LIKE`` over every key."""
    real = search_index.matching_ids
    search_index.matching_ids = lambda _db, _col, words: (None, words)
    try:
        return _page_and_count(term)
    finally:
        search_index.matching_ids = real


def _service(term: str) -> None:
    query = PatientQuery(search=term, limit=100, sort="name", today=TODAY)
    patients.list_patients(SYSTEM, query)
    patients.count_patients(SYSTEM, query)


def _run_raw(execute, sqls: tuple[str, list, str, list]) -> None:
    page_sql, page_params, count_sql, count_params = sqls
    execute(page_sql, page_params)
    execute(count_sql, count_params)


def bench_backend(label: str, url: str, raw_execute, plain_execute, size: int) -> dict[str, float]:
    open_clinic(url)
    assert search_index.present(db.database), "no search index"
    worst_ratio, worst_ms = 0.0, 0.0
    for term in KEYSTROKES:
        ours = measure(lambda term=term: _service(term), repeat=7)
        plain = measure(lambda term=term: _run_raw(plain_execute, _plain_sql(term)), repeat=5)
        indexed_raw = measure(lambda term=term: _run_raw(raw_execute, _page_and_count(term)), repeat=7)
        found = patients.count_patients(SYSTEM, PatientQuery(search=term, today=TODAY))
        ratio = compare(f"{label} {size // 1000}k: {term!r} ({found:,} found)", ours, plain, plain_label="plain scan")
        overhead = ours.best / indexed_raw.best if indexed_raw.best else float("nan")
        figure("    service vs the driver running the indexed query", f"{overhead:.2f}x ({indexed_raw.ms:.2f} ms)")
        worst_ratio = max(worst_ratio, ratio if len(term.replace(" ", "")) >= 3 else 0)
        worst_ms = max(worst_ms, ours.ms)
    db.close()
    return {"worst_ratio_indexed": worst_ratio, "slowest_ms": worst_ms}


def run() -> None:
    sizes = [int(s) for s in os.environ.get("TEAMDASH_BENCH_SIZES", "10000,100000").split(",")]
    postgres_admin = os.environ.get("TEAMDASH_BENCH_POSTGRES")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figure("machine", f"{os.cpu_count()} CPUs, load average {load:.2f} at start")
    for size in sizes:
        path = patients_only_clinic(size)
        raw = sqlite3.connect(path)
        sqlite_plain = sqlite3.connect(path)
        summary = bench_backend(
            "SQLite",
            f"sqlite:///{path}",
            lambda sql, params, raw=raw: raw.execute(sql, params).fetchall(),
            lambda sql, params, raw=sqlite_plain: raw.execute(sql, params).fetchall(),
            size,
        )
        figure(f"SQLite {size // 1000}k slowest keystroke (list + count)", f"{summary['slowest_ms']:.1f} ms")
        raw.close()
        sqlite_plain.close()
        if postgres_admin:
            _postgres(postgres_admin, path, size)


def _postgres(admin_url: str, source: Path, size: int) -> None:
    import psycopg2

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    name = f"teamdash_bench_search_{size}"
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    started = dt.datetime.now()
    report = transfer.transfer(SYSTEM, f"sqlite:///{source}", url)
    seconds = (dt.datetime.now() - started).total_seconds()
    figure(f"transfer {size // 1000}k patients SQLite -> PostgreSQL", f"{report.rows:,} rows in {seconds:.1f} s")
    db.close()
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    plain_conn = psycopg2.connect(url)
    plain_conn.autocommit = True
    with plain_conn.cursor() as cur:  # the same queries, the trigram index out of the planner's reach
        cur.execute("SET enable_bitmapscan = off")
        cur.execute("SET enable_indexscan = off")

    def execute(connection):
        def run(sql, params):
            with connection.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()

        return run

    summary = bench_backend("PostgreSQL", url, execute(conn), execute(plain_conn), size)
    figure(f"PostgreSQL {size // 1000}k slowest keystroke (list + count)", f"{summary['slowest_ms']:.1f} ms")
    conn.close()
    plain_conn.close()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


__all__ = ["Timing", "run"]
