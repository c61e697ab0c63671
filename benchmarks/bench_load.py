"""Load: 8 workstations on one clinic for 60 s, on SQLite and on PostgreSQL (loopback).

Each workstation is a process of its own with its own connection, acting as a clinician
does between sessions, chosen at random with these weights:

- open a patient (the whole record the patient screen shows)          40 %
- list and search (a page of the list, a 3-letter search, its count)   25 %
- record a measurement (NRS pain, scored, audited, summary refreshed)  20 %
- edit a goal (read it, change its text with the version read)         15 %

Goals are drawn from a small shared set, so two workstations sometimes edit the same
goal at once: the later save gets ``Conflict`` (expected, counted apart). Anything else
that fails is an error. At the end the clinic is checked: every saved measurement and
goal edit is there exactly once with its audit event, goal versions count their edits,
each patient's summary shows their latest pain score, and ``check`` finds nothing.

    python -m benchmarks load                          # SQLite; PostgreSQL too with:
    TEAMDASH_BENCH_POSTGRES=postgresql://postgres@127.0.0.1:PORT/postgres python -m benchmarks load
    TEAMDASH_LOAD_SECONDS=20 TEAMDASH_LOAD_WORKSTATIONS=4 python -m benchmarks load
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import figure, schema_tag

MOMENT = dt.datetime(2026, 11, 27, 14, 30)
CACHE = Path(os.environ.get("TEAMDASH_BENCH_CACHE") or tempfile.gettempdir()) / "teamdash-bench"
PATIENTS = 300
SHARED_GOALS = 12  # goals everyone edits: real conflicts happen
MIX = (("open patient", 40), ("list and search", 25), ("record measurement", 20), ("edit goal", 15))
CLINICIANS = (
    "rbrightwater",
    "coakhollow",
    "athistledown",
    "qmarrowby",
    "rnightjar",
    "mquillfeather",
    "jambersmith",
    "ewrenfield",
)


def clinic_file() -> Path:
    """The demo clinic the load runs on (generated once, copied per run)."""
    from teamdash import clock, demo
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"load-{PATIENTS}-{schema_tag()}.sqlite3"
    if not path.exists():
        partial = Path(f"{path}.part")
        partial.unlink(missing_ok=True)
        with clock.use(clock.FixedClock(MOMENT)):
            open_clinic(f"sqlite:///{partial}", create=True)
            demo.generate(SYSTEM, patients=PATIENTS, today=MOMENT.date())
            db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
        partial.rename(path)
    return path


def _workstation(url: str, number: int, seconds: float, goal_ids: list[int], queue) -> None:
    """One workstation's session: operations until the time is up, then its tally."""
    from teamdash import clock
    from teamdash.errors import Conflict, TeamDashError
    from teamdash.services import chart, goals, measurements, patients
    from teamdash.services.auth import actor_for
    from teamdash.services.clinic import open_clinic
    from teamdash.services.patients import PatientQuery

    rng = random.Random(number)
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    errors: collections.Counter[str] = collections.Counter()
    conflicts = 0
    saved_measurements: list[tuple[int, float, str]] = []
    goal_edits: collections.Counter[int] = collections.Counter()
    with clock.use(clock.FixedClock(MOMENT)):
        open_clinic(url)
        actor = actor_for(CLINICIANS[number % len(CLINICIANS)])
        patient_ids = [r.id for r in patients.list_patients(actor, PatientQuery(limit=1000)).rows]
        names = [r.family_name for r in patients.list_patients(actor, PatientQuery(limit=1000)).rows]
        kinds, weights = zip(*MIX)
        deadline = time.perf_counter() + seconds
        counter = 0
        while time.perf_counter() < deadline:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                if kind == "open patient":
                    chart.get_record(actor, rng.choice(patient_ids))
                elif kind == "list and search":
                    word = rng.choice(names)[:3]
                    query = PatientQuery(search=word, limit=100, sort=rng.choice(("name", "flags", "pain")))
                    patients.list_patients(actor, query)
                    patients.count_patients(actor, query)
                elif kind == "record measurement":
                    counter += 1
                    pid = rng.choice(patient_ids)
                    # Each workstation's times are its own: no two enter the same form.
                    taken = MOMENT - dt.timedelta(days=1, seconds=number * 1_000_000 + counter)
                    result = measurements.record_measurement(
                        actor, pid, "nrs_pain", [rng.randint(0, 10)], taken_at=taken
                    )
                    saved_measurements.append((pid, result.total, result.taken_at.isoformat()))
                else:
                    goal_id = rng.choice(goal_ids)
                    current = goals.GOALS.get(actor, goal_id)
                    goals.GOALS.update(
                        actor, goal_id, current.version, text=f"Walk {rng.randint(5, 60)} minutes (ws {number})"
                    )
                    goal_edits[goal_id] += 1
            except Conflict:
                conflicts += 1
            except TeamDashError as exc:
                errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            except Exception as exc:  # noqa: BLE001 - a bug: counted and shown, the load goes on
                errors[f"BUG {type(exc).__name__}: {str(exc)[:120]}"] += 1
            latencies[kind].append(time.perf_counter() - started)
    queue.put(
        {
            "latencies": dict(latencies),
            "errors": dict(errors),
            "conflicts": conflicts,
            "measurements": saved_measurements,
            "goal_edits": dict(goal_edits),
        }
    )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_load(label: str, url: str, workstations: int, seconds: float) -> dict:
    from teamdash import clock
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db
    from teamdash.storage.models import AuditEvent, Goal, Measurement

    with clock.use(clock.FixedClock(MOMENT)):
        open_clinic(url)
        goal_ids = [g for (g,) in Goal.select(Goal.id).order_by(Goal.id).limit(SHARED_GOALS).tuples()]
        versions_before = dict(Goal.select(Goal.id, Goal.version).where(Goal.id.in_(goal_ids)).tuples())
        measurements_before = Measurement.select().count()
        events_before = collections.Counter(a for (a,) in AuditEvent.select(AuditEvent.action).tuples())
        db.close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_workstation, args=(url, n, seconds, goal_ids, queue)) for n in range(workstations)
    ]
    started = time.perf_counter()
    for p in processes:
        p.start()
    tallies = [queue.get(timeout=seconds + 300) for _ in processes]
    for p in processes:
        p.join(60)
    elapsed = time.perf_counter() - started
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    errors: collections.Counter[str] = collections.Counter()
    conflicts = 0
    saved = []
    edits: collections.Counter[int] = collections.Counter()
    for t in tallies:
        for kind, values in t["latencies"].items():
            latencies[kind].extend(values)
        errors.update(t["errors"])
        conflicts += t["conflicts"]
        saved.extend(t["measurements"])
        edits.update({int(k): v for k, v in t["goal_edits"].items()})
    everything = [v for values in latencies.values() for v in values]
    total_ops = len(everything)
    figure(f"{label}: {workstations} workstations for {seconds:g} s", f"{total_ops:,} operations")
    figure(f"{label}: operations per second", f"{total_ops / seconds:,.1f}  (wall {elapsed:.1f} s with start-up)")
    figure(
        f"{label}: all operations p50 / p95",
        f"{statistics.median(everything) * 1000:.1f} ms / {_percentile(everything, 0.95) * 1000:.1f} ms",
    )
    for kind, _weight in MIX:
        values = latencies.get(kind, [])
        figure(
            f"  {kind}",
            f"{len(values):>6,} ops   p50 {statistics.median(values) * 1000 if values else float('nan'):7.1f} ms"
            f"   p95 {_percentile(values, 0.95) * 1000:7.1f} ms",
        )
    figure(f"{label}: goal edits that lost a race (Conflict)", f"{conflicts:,} (expected: shown to the user)")
    figure(f"{label}: errors", f"{sum(errors.values()):,}")
    for message, count in errors.most_common(5):
        figure("    ", f"{count} x {message}")
    problems = _consistency(url, saved, edits, versions_before, measurements_before, events_before)
    figure(f"{label}: consistency check", "ok" if not problems else "; ".join(problems[:5]))
    return {"ops": total_ops, "errors": sum(errors.values()), "conflicts": conflicts, "problems": problems}


def _consistency(url, saved, edits, versions_before, measurements_before, events_before) -> list[str]:
    import peewee as pw

    from teamdash import clock
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db, health
    from teamdash.storage.models import AuditEvent, Goal, Measurement, PatientSummary

    problems = []
    with clock.use(clock.FixedClock(MOMENT)):
        open_clinic(url)
        measured = Measurement.select().count() - measurements_before
        if measured != len(saved):
            problems.append(f"{measured} measurements stored, {len(saved)} saved")
        events = collections.Counter(a for (a,) in AuditEvent.select(AuditEvent.action).tuples())
        if events["measurement.create"] - events_before["measurement.create"] != len(saved):
            problems.append("measurement audit events do not match the measurements saved")
        edited = sum(edits.values())
        goal_events = sum(v for k, v in events.items() if k.startswith("goal.")) - sum(
            v for k, v in events_before.items() if k.startswith("goal.")
        )
        if goal_events != edited:
            problems.append(f"{goal_events} goal audit events for {edited} edits")
        for goal_id, version in Goal.select(Goal.id, Goal.version).where(Goal.id.in_(list(versions_before))).tuples():
            if version != versions_before[goal_id] + edits.get(goal_id, 0):
                problems.append(
                    f"goal {goal_id} is at version {version}, expected {versions_before[goal_id] + edits.get(goal_id, 0)}"
                )
        latest = (
            Measurement.select(Measurement.patient, Measurement.total)
            .where(Measurement.instrument == "nrs_pain")
            .order_by(Measurement.patient, Measurement.taken_at.desc(), Measurement.id.desc())
            .distinct(Measurement.patient)
            if isinstance(db.database.obj, pw.PostgresqlDatabase)
            else None
        )
        stored = dict(PatientSummary.select(PatientSummary.patient, PatientSummary.pain_latest).tuples())
        if latest is not None:
            wrong = [pid for pid, total in latest.tuples() if stored.get(pid) != total]
        else:
            rows = db.database.execute_sql(
                "SELECT patient_id, total FROM measurement m WHERE instrument = 'nrs_pain' AND taken_at = "
                "(SELECT MAX(taken_at) FROM measurement WHERE patient_id = m.patient_id AND instrument = 'nrs_pain')"
            ).fetchall()
            wrong = [pid for pid, total in rows if stored.get(pid) != total]
        if wrong:
            problems.append(f"{len(wrong)} patient summaries do not show the latest pain score")
        problems += health.problems()
        db.close()
    return problems


def run() -> None:
    import shutil

    seconds = float(os.environ.get("TEAMDASH_LOAD_SECONDS", "60"))
    workstations = int(os.environ.get("TEAMDASH_LOAD_WORKSTATIONS", "8"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figure("machine", f"{os.cpu_count()} CPUs, load average {load:.2f} at start (workstations share the CPUs)")
    source = clinic_file()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "clinic.sqlite3"
        shutil.copy(source, copy)
        run_load("SQLite", f"sqlite:///{copy}", workstations, seconds)
        admin = os.environ.get("TEAMDASH_BENCH_POSTGRES")
        if admin:
            run_load("PostgreSQL", _postgres_copy(admin, source), workstations, seconds)
        else:
            figure("PostgreSQL", "not measured: set TEAMDASH_BENCH_POSTGRES=postgresql://user@host:port/db")


def _postgres_copy(admin_url: str, source: Path) -> str:
    import psycopg2

    from teamdash import clock
    from teamdash.services import transfer
    from teamdash.services.auth import SYSTEM
    from teamdash.storage import db

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS teamdash_bench_load WITH (FORCE)")
        cur.execute("CREATE DATABASE teamdash_bench_load")
    admin.close()
    url = f"{admin_url.rpartition('/')[0]}/teamdash_bench_load"
    with clock.use(clock.FixedClock(MOMENT)):
        transfer.transfer(SYSTEM, f"sqlite:///{source}", url)
        db.database.execute_sql("ANALYZE")
        db.close()
    return url
