"""Spreadsheet export and import at scale, each against the plain libraries doing the
same work, in one run (``python -m benchmarks exchange``).

Export: a database of 1,000,000 measurements (a demo clinic; sessions, goals and the
rest removed so that the measurements are the work). TeamDash's long-format export
(Patients, Staff, Measurements, the empty long sheets, About) against a bare openpyxl
write-only loop writing the same rows: the same values read with sqlite3, appended as
they come. Each runs in its own process; the peak RSS is the child's own high-water
mark (``VmHWM``) and psutil's samples of it, whichever is higher.

Import: 100,000 measurement rows for patients already registered. ``import_file``
(read, map, validate every row, score, duplicate checks, bulk insert, summaries,
audit) against reading the same file with the plain reader (openpyxl read-only /
csv) and inserting its rows with sqlite3 ``executemany`` in one transaction. Both from
an .xlsx and from a .csv.

The databases and files are built once and kept in the temp folder.
``OPENPYXL_LXML=False`` or a PYTHONPATH holding lxml switch openpyxl's XML backend;
the run prints which one it used.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import datetime as dt
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import Timing, compare, figure, schema_tag

EXPORT_ROWS = 1_000_000
IMPORT_ROWS = 100_000
EXPORT_REPEAT = int(os.environ.get("TEAMDASH_BENCH_REPEAT", "2"))  # each export run takes a minute or two
DEMO_TODAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 12, 31, 12, 0)  # after every demo measurement
CACHE = Path(tempfile.gettempdir()) / "teamdash-bench-exchange"
ROOT = Path(__file__).resolve().parent.parent
ITEMS = 24  # the widest instrument (RMDQ): the long sheet's item columns
NAMED = 5  # the most items a patient names (PSFS activities): the long sheet's item-name columns


# --- fixtures ----------------------------------------------------------------------------


def _demo_db(path: Path, patients: int) -> None:
    from teamdash import demo
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_clinic(f"sqlite:///{path}", create=True)
    demo.generate(SYSTEM, patients=patients, today=DEMO_TODAY)
    db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


@contextlib.contextmanager
def _building() -> Iterator[None]:
    """Held while the shared fixtures are checked and built: a second run started
    meanwhile waits, then finds them built (POSIX; elsewhere no lock)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: one run at a time, as before
        yield
        return
    with (CACHE / "building.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _settle(database: Path, *statements: str) -> None:
    """Run ``statements`` in one transaction, vacuum and close: the file then holds
    everything (closing the last connection checkpoints and removes its WAL), so it
    can be renamed."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        with conn:
            for statement in statements:
                conn.execute(statement)
        conn.execute("VACUUM")


def export_db() -> Path:
    """A clinic of exactly EXPORT_ROWS measurements and nothing else clinical."""
    path = CACHE / f"export-{EXPORT_ROWS}-{schema_tag()}.sqlite3"
    with _building():
        return path if path.exists() else _build_export_db(path)


def _build_export_db(path: Path) -> Path:
    print(f"building the {EXPORT_ROWS:,}-measurement clinic (once) ...", flush=True)
    building = path.with_suffix(".building")
    _demo_db(building, patients=EXPORT_ROWS // 120)
    with contextlib.closing(sqlite3.connect(building)) as conn:
        have = conn.execute("SELECT count(*) FROM measurement").fetchone()[0]
    if have < EXPORT_ROWS:
        raise RuntimeError(f"the demo clinic has {have:,} measurements, fewer than {EXPORT_ROWS:,}")
    _settle(
        building,
        *(
            f'DELETE FROM "{table}"'
            for table in (
                "decision",
                "action_item",
                "check_in",
                "session",
                "goal",
                "graded_activity_week",
                "graded_activity_plan",
                "practice_week",
                "course",
                "sleep_diary_night",
                "plan_item",
                "support_contact",
                "rtw_phase",
                "flare",
                "safety_acknowledgement",
            )
        ),
        f"DELETE FROM measurement WHERE id NOT IN (SELECT id FROM measurement ORDER BY id LIMIT {EXPORT_ROWS})",
        "DELETE FROM patient WHERE id NOT IN (SELECT DISTINCT patient_id FROM measurement)",
    )
    building.rename(path)
    return path


def import_fixtures() -> tuple[Path, Path, Path]:
    """(database with the patients and no measurements, .xlsx, .csv) of IMPORT_ROWS rows,
    with the PSFS activities the patients named (an import refuses a rated activity
    without its name)."""
    stem = f"import-{IMPORT_ROWS}-named-{schema_tag()}"
    target = CACHE / f"{stem}.sqlite3"
    xlsx, csv_path = CACHE / f"{stem}.xlsx", CACHE / f"{stem}.csv"
    with _building():
        if not (target.exists() and xlsx.exists() and csv_path.exists()):
            _build_import_fixtures(target, xlsx, csv_path)
    return target, xlsx, csv_path


def _build_import_fixtures(target: Path, xlsx: Path, csv_path: Path) -> None:
    """The import's database and files, each written under a working name and renamed
    when complete (a run stopped halfway leaves nothing that looks finished)."""
    print(f"building the {IMPORT_ROWS:,}-row import files (once) ...", flush=True)
    source = CACHE / "import-source.sqlite3"
    _demo_db(source, patients=IMPORT_ROWS // 110)
    headers = [
        "Patient ID",
        "Instrument",
        "Taken at",
        "Total",
        "Band",
        *(f"Item {n}" for n in range(1, ITEMS + 1)),
        *(f"Item {n} name" for n in range(1, NAMED + 1)),
        "Note",
    ]
    with sqlite3.connect(source) as conn:
        rows = conn.execute(
            "SELECT p.clinic_id, m.instrument, m.taken_at, m.total, m.band, m.responses, m.item_names, m.note "
            "FROM measurement m "
            "JOIN patient p ON p.id = m.patient_id ORDER BY m.id LIMIT ?",
            (IMPORT_ROWS,),
        ).fetchall()
    if len(rows) < IMPORT_ROWS:
        raise RuntimeError(f"the demo clinic has {len(rows):,} measurements, fewer than {IMPORT_ROWS:,}")
    table = []
    for clinic_id, instrument, taken_at, total, band, responses, item_names, note in rows:
        items = json.loads(responses)
        names = json.loads(item_names) if item_names else []
        table.append(
            [
                clinic_id,
                instrument,
                dt.datetime.fromisoformat(taken_at),
                total,
                band,
                *(items + [None] * ITEMS)[:ITEMS],
                *(names + [None] * NAMED)[:NAMED],
                note,
            ]
        )
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Measurements")
    ws.append(headers)
    for row in table:
        ws.append(row)
    building = {final: final.with_name(f"{final.name}.building") for final in (xlsx, csv_path, target)}
    wb.save(building[xlsx])
    with building[csv_path].open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        for row in table:
            writer.writerow(
                [
                    "" if v is None else (v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, dt.datetime) else v)
                    for v in row
                ]
            )
    shutil.copy(source, building[target])
    _settle(
        building[target],
        "DELETE FROM safety_acknowledgement",
        "DELETE FROM measurement",
        "DELETE FROM audit_event",
    )
    for final, working in building.items():  # the database last: it marks the set complete
        working.rename(final)


# --- the export children (run in their own processes) --------------------------------------------


def _child_export_ours(db_path: str, out: str) -> None:
    from teamdash.exchange.export import ExportOptions, export
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import close_clinic, open_clinic

    open_clinic(f"sqlite:///{db_path}", create=True)
    result = export(SYSTEM, out, ExportOptions(kind="long"), overwrite=True, now=NOW)  # the last run's file
    close_clinic()
    print(json.dumps({"rows": result.rows}))


def _child_export_plain(db_path: str, out: str) -> None:
    """The same sheets with the same values: sqlite3 rows appended to openpyxl."""
    from openpyxl import Workbook

    conn = sqlite3.connect(db_path)
    wb = Workbook(write_only=True)
    staff = dict(conn.execute("SELECT id, full_name FROM user"))
    ws = wb.create_sheet("Patients")
    ws.append(
        [
            "Patient ID",
            "Given name",
            "Family name",
            "Date of birth",
            "Sex",
            "Referral date",
            "Programme start",
            "Episode start",
            "Status",
            "Status since",
            "Case manager",
            "Next check-in",
            "Research consent",
            "Flagged for review",
            "Flag note",
        ]
    )
    date = dt.date.fromisoformat
    for (
        cid,
        given,
        family,
        dob,
        sex,
        referral,
        start,
        episode,
        status,
        since,
        manager,
        next_checkin,
        consent,
        flagged,
        note,
    ) in conn.execute(
        "SELECT clinic_id, given_name, family_name, date_of_birth, sex, referral_date, programme_start, episode_start, "
        "status, status_changed_on, case_manager_id, next_checkin, research_consent, flagged_for_review, flag_note "
        "FROM patient ORDER BY clinic_id"
    ):
        ws.append(
            [
                cid,
                given,
                family,
                date(dob),
                sex,
                date(referral),
                start and date(start),
                date(episode),
                status,
                since and date(since),
                staff.get(manager),
                next_checkin and date(next_checkin),
                bool(consent),
                bool(flagged),
                note,
            ]
        )
    ws = wb.create_sheet("Staff")
    ws.append(["Username", "Full name", "Role", "Discipline", "Case manager", "Active"])
    for row in conn.execute(
        "SELECT username, full_name, role, discipline_id, is_case_manager, active FROM user ORDER BY full_name"
    ):
        ws.append([*row[:4], bool(row[4]), bool(row[5])])
    ws = wb.create_sheet("Measurements")
    ws.append(
        [
            "Patient ID",
            "Instrument",
            "Measure",
            "Taken at",
            "Total",
            "Band",
            "Safety item positive",
            *(f"Item {n}" for n in range(1, ITEMS + 1)),
            "Entered by",
            "Source",
            "Note",
        ]
    )
    from teamdash.clinical import instruments

    short = {i.id: i.short_name for i in instruments.library().values()}
    clinic = dict(conn.execute("SELECT id, clinic_id FROM patient"))
    blank = [None] * ITEMS
    loads, parse = json.loads, dt.datetime.fromisoformat
    for pid, inst, taken_at, responses, total, band, safety, entered_by, source, note in conn.execute(
        "SELECT patient_id, instrument, taken_at, responses, total, band, safety, entered_by_id, source, note "
        "FROM measurement ORDER BY patient_id, instrument, taken_at, id"
    ):
        ws.append(
            [
                clinic[pid],
                inst,
                short[inst],
                parse(taken_at),
                total,
                band,
                bool(safety),
                *(loads(responses) + blank)[:ITEMS],
                staff.get(entered_by),
                source,
                note,
            ]
        )
    wb.save(out)


def _high_water_mb() -> float:
    """This process's peak resident set size (Linux VmHWM; else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(kind: str, db_path: Path, out: Path) -> tuple[float, float, str]:
    """Wall time and peak RSS (MB) of one export in a fresh interpreter."""
    import psutil

    # The child's own high-water mark: VmHWM belongs to its address space, which exec
    # starts afresh (ru_maxrss would carry over the parent's peak across fork + exec).
    code = (
        "import json; from benchmarks import bench_exchange as b; "
        f"b._child_export_{kind}({str(db_path)!r}, {str(out)!r}); "
        "print(json.dumps({'maxrss_mb': b._high_water_mb()}))"
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watched, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, watched.memory_info().rss)
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    out_text, err_text = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{kind} export failed:\n{err_text}")
    lines = [json.loads(line) for line in out_text.splitlines() if line.startswith("{")]
    maxrss = lines[-1]["maxrss_mb"]
    return seconds, max(maxrss, peak / 2**20), out_text


# --- import -------------------------------------------------------------------------------


def _fresh(template: Path) -> Path:
    """A working copy of the template, this process's own (two runs at once do not
    share one), removed when the run ends."""
    copy = CACHE / f"import-run-{os.getpid()}.sqlite3"
    _remove(copy)
    if not _fresh_copies:
        atexit.register(lambda: [_remove(c) for c in _fresh_copies])
    _fresh_copies.add(copy)
    shutil.copy(template, copy)
    return copy


_fresh_copies: set[Path] = set()


def _remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def _import_ours(template: Path, path: Path, *, cold: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds of one import into a fresh copy of the template; ``cold``:
    with no answer set scored before, as a new import would be."""
    from teamdash.exchange import importing
    from teamdash.services import measurements
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db

    copy = _fresh(template)
    open_clinic(f"sqlite:///{copy}", create=True)
    if cold:
        measurements.clear_scoring_cache()
    gc.collect()  # neither side pays for the other's garbage (as ``common.measure``)
    start, cpu = time.perf_counter(), time.process_time()
    report = importing.import_file(SYSTEM, path, kind="measurements", now=NOW)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert report.imported("measurements") == IMPORT_ROWS, report.summary()
    db.close()
    return seconds, cpu


def _import_without_scoring_and_summaries(template: Path, path: Path) -> float:
    """CPU seconds of the import (best of three) when every answer set is already
    scored (the same file imported before) and the patient-list summaries are not
    refreshed: what reading, the per-row checks and storing cost on their own."""
    from teamdash.services import list_summary

    _import_ours(template, path)  # scores every distinct answer set; the cache keeps them
    refresh = list_summary.refresh_many
    list_summary.refresh_many = lambda patient_ids, chunk=500: 0
    try:
        return min(_import_ours(template, path, cold=False)[1] for _ in range(3))
    finally:
        list_summary.refresh_many = refresh


def _import_breakdown(template: Path, path: Path) -> dict[str, float]:
    """CPU seconds of one import spent scoring distinct answer sets, storing the rows
    (insert and audit) and refreshing the patient-list summaries: what is left when the
    per-row checks are lean."""
    from teamdash.services import list_summary, measurements

    spent: dict[str, float] = {}
    wrapped = {
        # once per distinct answer set and total (``score_new``'s cache misses)
        "scoring and encoding distinct answer sets": (measurements, "_score_new"),
        "storing rows (insert, audit)": (measurements, "record_many"),
        "patient-list summaries": (list_summary, "refresh_many"),
    }
    originals = {label: getattr(module, name) for label, (module, name) in wrapped.items()}

    def timed(label: str, fn):
        def run(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - start

        return run

    for label, (module, name) in wrapped.items():
        setattr(module, name, timed(label, originals[label]))
    try:
        spent["total"] = _import_ours(template, path)[1]
    finally:
        for label, (module, name) in wrapped.items():
            setattr(module, name, originals[label])
    return spent


def _plain_rows(path: Path):
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                yield [v if v != "" else None for v in row]
        return
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = wb["Measurements"].iter_rows(values_only=True)
    next(rows)
    yield from rows
    wb.close()


def _import_plain(template: Path, path: Path) -> tuple[float, float]:
    """Read the file with the plain reader, insert its rows with sqlite3 executemany."""
    copy = _fresh(template)
    conn = sqlite3.connect(copy, isolation_level=None)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    ids = dict(conn.execute("SELECT clinic_id, id FROM patient"))
    now = NOW.strftime("%Y-%m-%d %H:%M:%S")
    conn.execute("BEGIN")
    sql = (
        "INSERT INTO measurement (patient_id, instrument, taken_at, responses, total, band, safety, entered_at, "
        "source, version, item_names) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'import', 1, ?)"
    )
    batch = []
    dumps = json.dumps
    for row in _plain_rows(path):
        taken_at = row[2] if isinstance(row[2], str) else row[2].strftime("%Y-%m-%d %H:%M:%S")
        names = row[5 + ITEMS : 5 + ITEMS + NAMED]
        named = dumps(list(names)) if any(names) else None
        batch.append((ids[row[0]], row[1], taken_at, dumps(list(row[5 : 5 + ITEMS])), row[3], row[4], now, named))
        if len(batch) == 5000:
            conn.executemany(sql, batch)
            batch = []
    conn.executemany(sql, batch)
    conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert conn.execute("SELECT count(*) FROM measurement").fetchone()[0] == IMPORT_ROWS
    conn.close()
    return seconds, cpu


def _timing(seconds: float) -> Timing:
    return Timing(seconds, seconds)


def run() -> None:
    import openpyxl

    CACHE.mkdir(parents=True, exist_ok=True)
    figure("openpyxl XML backend", "lxml" if openpyxl.LXML else "xml.etree (lxml not installed or disabled)")

    db_path = export_db()
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT count(*) FROM measurement").fetchone()[0]
        patients = conn.execute("SELECT count(*) FROM patient").fetchone()[0]
    figure("export database", f"{rows:,} measurements, {patients:,} patients")
    ours_file, plain_file = CACHE / "export-ours.xlsx", CACHE / "export-plain.xlsx"
    # Interleaved, best of EXPORT_REPEAT each: a busy machine slows one run, not the ratio.
    ours_runs, plain_runs = [], []
    for _ in range(EXPORT_REPEAT):
        ours_runs.append(_run_child("ours", db_path, ours_file))
        plain_runs.append(_run_child("plain", db_path, plain_file))
    ours_s, ours_rss = min(r[0] for r in ours_runs), max(r[1] for r in ours_runs)
    plain_s, plain_rss = min(r[0] for r in plain_runs), max(r[1] for r in plain_runs)
    compare(
        f"export {rows:,} measurements (long workbook)",
        _timing(ours_s),
        _timing(plain_s),
        target_ratio=1.2,
        plain_label="bare openpyxl",
    )
    figure("  peak RSS, TeamDash export", f"{ours_rss:7.1f} MB  target < 150 MB: {'OK' if ours_rss < 150 else 'OVER'}")
    figure("  peak RSS, bare openpyxl loop", f"{plain_rss:7.1f} MB")
    figure(
        "  file sizes",
        f"TeamDash {ours_file.stat().st_size / 2**20:.1f} MB, bare {plain_file.stat().st_size / 2**20:.1f} MB",
    )
    figure("  throughput", f"{rows / ours_s:,.0f} rows/s")

    template, xlsx, csv_path = import_fixtures()
    for label, path in (("xlsx", xlsx), ("csv", csv_path)):
        ours_runs, plain_runs = [], []
        for _ in range(3):  # interleaved, best of three
            ours_runs.append(_import_ours(template, path))
            plain_runs.append(_import_plain(template, path))
        compare(
            f"import {IMPORT_ROWS:,} measurement rows from .{label}",
            _timing(min(r[0] for r in ours_runs)),
            _timing(min(r[0] for r in plain_runs)),
            target_ratio=2.0,
            plain_label="read + sqlite3",
        )
        # CPU time is steadier than wall time on a shared machine: the same comparison.
        ours_cpu, plain_cpu = min(r[1] for r in ours_runs), min(r[1] for r in plain_runs)
        figure(
            "  the same in CPU time",
            f"ours {ours_cpu * 1000:9.2f} ms   plain {plain_cpu * 1000:9.2f} ms   ratio {ours_cpu / plain_cpu:5.2f}x",
        )
        parts = _import_breakdown(template, path)
        total = parts.pop("total")
        for part, seconds in parts.items():
            figure(f"  {part}", f"{seconds * 1000:9.2f} ms CPU ({100 * seconds / total:4.1f} % of the import)")
        rest = _import_without_scoring_and_summaries(template, path)
        figure(
            "  reading, checks and storing alone (scored before, no summaries)",
            f"{rest * 1000:9.2f} ms CPU ({rest / plain_cpu:4.2f}x plain)",
        )
