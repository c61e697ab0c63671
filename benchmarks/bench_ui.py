"""The main window's responsiveness, measured the way a user meets it:

- cold start to the first painted window (and to the first patient fully drawn) with the
  demo clinic, against a bare PySide6 window started the same way in the same run;
- search: the debounce firing -> the list's rows replaced and repainted, at 10k and 100k
  patients, against the list service's own query time;
- sort: a header click -> rows replaced and repainted, at 10k and 100k;
- patient switch: selecting a patient -> header, cards and timelines updated and
  painted (10k clinic), against rebuilding the timeline plots from scratch.

Databases are generated once and cached in ``$TEAMDASH_BENCH_CACHE`` (default: the temp
directory) keyed by size and date. The 100k clinic copies the 10k clinic's patients and
their list summaries ten times with INSERT … SELECT (list queries read only patients,
their summary row and staff); the full demo generator would take ~7 minutes and ~5 GB.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Timing, absolute, compare, figure, measure, schema_tag

DEMO_TODAY = dt.date(2026, 11, 27)  # pinned so cached databases stay valid
CACHE = Path(os.environ.get("TEAMDASH_BENCH_CACHE") or tempfile.gettempdir()) / "teamdash-bench"
ROOT = Path(__file__).resolve().parent.parent
SEARCHES = ("ke", "kerr", "bramble", "TD-0042", "moss wick")
COLD_START_PATIENTS = 60  # a small clinic: start-up is measured, not the list
COLD_STARTS = 7
LIST_PATIENTS = 10_000  # the list, switching and meeting figures; also scaled up
LIST_SCALE = 10
SORTS = (("name", False), ("age", False), ("pain", True), ("flags", False), ("next_checkin", False))


# --- databases -----------------------------------------------------------------------------


def demo_db(patients: int) -> Path:
    path = CACHE / f"demo-{patients}-{DEMO_TODAY}-{schema_tag()}.sqlite3"
    if not path.exists():
        from teamdash import demo
        from teamdash.services.auth import SYSTEM
        from teamdash.services.clinic import open_clinic
        from teamdash.storage import db

        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        open_clinic(f"sqlite:///{partial}", create=True)
        demo.generate(SYSTEM, patients=patients, today=DEMO_TODAY)
        db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        partial.rename(path)
        figure(f"generated demo clinic of {patients:,}", f"{time.perf_counter() - started:.0f} s -> {path}")
    return path


def scaled_db(source: Path, copies: int) -> Path:
    """``copies`` times the source clinic's patients (new ids and clinic IDs), each with
    its list summary; staff copied once."""
    patients = sqlite3.connect(source).execute("SELECT count(*) FROM patient").fetchone()[0] * copies
    path = CACHE / f"list-{patients}-{DEMO_TODAY}-{schema_tag()}.sqlite3"
    if path.exists():
        return path
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    open_clinic(f"sqlite:///{partial}", create=True)  # schema via the migrations
    db.close()
    con = sqlite3.connect(partial)
    con.execute("ATTACH ? AS src", (str(source),))
    offset = con.execute("SELECT max(id) FROM src.patient").fetchone()[0]
    patient_cols = [r[1] for r in con.execute("PRAGMA src.table_info(patient)")]
    summary_cols = [r[1] for r in con.execute("PRAGMA src.table_info(patient_summary)")]
    with con:
        con.execute("INSERT INTO user SELECT * FROM src.user")
        for k in range(copies):
            values = [
                f"id + {k * offset}" if c == "id" else (f"clinic_id || '-{k}'" if c == "clinic_id" and k else c)
                for c in patient_cols
            ]
            con.execute(f"INSERT INTO patient ({', '.join(patient_cols)}) SELECT {', '.join(values)} FROM src.patient")
            values = [f"patient_id + {k * offset}" if c == "patient_id" else c for c in summary_cols]
            con.execute(
                f"INSERT INTO patient_summary ({', '.join(summary_cols)}) SELECT {', '.join(values)} FROM src.patient_summary"
            )
    con.execute("ANALYZE")
    con.close()
    partial.rename(path)
    return path


# --- cold start --------------------------------------------------------------------------------

BARE = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv[:1])
window = QMainWindow(); window.setCentralWidget(QLabel("hello")); window.resize(1600, 1000)
class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("painted", time.time() - float(os.environ["T0"])); sys.stdout.flush(); QTimer.singleShot(0, window.close)
        return False
spy = Painted(); window.installEventFilter(spy)
window.show()
app.exec()
"""

TEAMDASH = """
import os, sys, time, tempfile
from pathlib import Path
from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from ui.app import application, open_session
app = application()
settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
session = open_session(os.environ["DB"], None, settings)
window = session.window
window.resize(1600, 1000)
first = []
class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not first:
            first.append(time.time() - float(os.environ["T0"]))
        return False
spy = Painted(); window.installEventFilter(spy)
def ready():
    window.repaint()
    print("painted", first[0]); print("patient", time.time() - float(os.environ["T0"])); sys.stdout.flush()
    QTimer.singleShot(0, window.close)  # closing the last window ends the app, as a user would
window.ready.connect(ready)
window.show()
window.start()
app.exec()
session.context.jobs.wait()
"""


def _run_child(code: str, db_path: Path | None = None) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DB": f"sqlite:///{db_path}" if db_path else ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its bytecode cached, as after a warm-up run here
    env["T0"] = repr(time.time())
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return {
        k: float(v)
        for k, v in (line.split() for line in done.stdout.splitlines() if line.split()[0] in ("painted", "patient"))
    }


def _best(samples: list[float]) -> Timing:
    return Timing(min(samples), statistics.median(samples))


def cold_start(db_path: Path, runs: int = 7) -> None:
    bare, first, full = [], [], []
    _run_child(BARE), _run_child(TEAMDASH, db_path)  # warm-up: bytecode written, files in the OS cache
    for _ in range(runs):  # interleaved, so both see the same machine state
        bare.append(_run_child(BARE)["painted"])
        ours = _run_child(TEAMDASH, db_path)
        first.append(ours["painted"])
        full.append(ours["patient"])
    b, f, p = _best(bare), _best(first), _best(full)
    compare("cold start: first painted window (60-patient demo)", f, b, plain_label="bare PySide6")
    figure(
        "  beyond the bare window",
        f"{(f.best - b.best) * 1000:.0f} ms (target <= 600 ms: {'OK' if f.best - b.best <= 0.6 else 'OVER'})",
    )
    compare("cold start: list + first patient's timelines drawn", p, b, plain_label="bare PySide6")
    figure(
        "  beyond the bare window",
        f"{(p.best - b.best) * 1000:.0f} ms (target <= 600 ms: {'OK' if p.best - b.best <= 0.6 else 'OVER'})",
    )


# --- in-process: list and patient switch ---------------------------------------------------------


def _context(tmp: Path):
    from PySide6.QtCore import QSettings

    from teamdash import clock
    from teamdash.services.auth import SYSTEM
    from ui.changes import ChangeBus
    from ui.context import AppContext
    from ui.jobs import JobRunner

    clock.set_clock(clock.FixedClock(DEMO_TODAY))  # the cached demo clinic's day
    return AppContext(
        actor=SYSTEM,
        jobs=JobRunner(),
        changes=ChangeBus(),
        settings=QSettings(str(tmp / "bench.ini"), QSettings.Format.IniFormat),
    )


def _wait(signal, start) -> None:
    """Run ``start()`` and the event loop until ``signal`` fires (the GUI thread sleeps in
    Qt meanwhile, leaving the GIL to the database thread, as in the real app)."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    fired: list[bool] = []

    def done(*_args) -> None:
        fired.append(True)
        loop.quit()

    signal.connect(done)
    start()
    if not fired:  # a patient read ahead is shown at once, inside start()
        loop.exec()
    signal.disconnect(done)


def _settle(app, context) -> None:
    while not context.jobs.idle():
        context.jobs.wait(50)
        app.processEvents()


def list_figures(db_path: Path, label: str, search_ms: float, sort_ms: float) -> None:
    from PySide6.QtWidgets import QApplication

    from teamdash.services import patients
    from teamdash.services.clinic import open_clinic
    from teamdash.services.patients import PatientQuery
    from teamdash.storage import db
    from ui import patient_list
    from ui.patient_list import COLUMN_KEYS, PatientListPanel

    app = QApplication.instance()
    open_clinic(f"sqlite:///{db_path}", create=True)
    with tempfile.TemporaryDirectory() as tmp:
        context = _context(Path(tmp))
        panel = PatientListPanel(context)
        panel.resize(620, 1000)
        panel.show()
        panel.start()
        _settle(app, context)
        model = panel.model
        total = model.total

        def search(term: str) -> None:
            _wait(model.rows_loaded, lambda: model.set_query(search=term))
            panel.table.viewport().repaint()

        def clear() -> None:
            model.set_query(search="")
            _settle(app, context)

        ours, plain = [], []
        for term in SEARCHES:
            ours.append(measure(lambda term=term: search(term), setup=clear))
            query = PatientQuery(
                search=term, status="active", sort="flags", limit=patient_list.FIRST_PAGE, today=DEMO_TODAY
            )
            plain.append(measure(lambda query=query: patients.list_patients(context.actor, query)))
        for term, t, p in zip(SEARCHES, ours, plain):
            compare(f"search {term!r} -> list updated ({label})", t, p, plain_label="service")
        worst = max(ours, key=lambda t: t.best)
        absolute(
            f"search keystroke -> list updated ({label}), slowest term",
            worst,
            target_ms=search_ms,
            note=f"{total:,} active patients; plus the {patient_list.SEARCH_DEBOUNCE_MS} ms debounce by design",
        )

        sorts = []
        for key, descending in SORTS:
            order = 1 if descending else 0

            def sort(key=key, order=order) -> None:
                from PySide6.QtCore import Qt

                _wait(model.rows_loaded, lambda: model.sort(COLUMN_KEYS.index(key), Qt.SortOrder(order)))
                panel.table.viewport().repaint()

            def reset() -> None:
                model.set_query(sort="clinic_id", descending=False)
                _settle(app, context)

            sorts.append((key, measure(sort, setup=reset)))
        worst_key, worst_sort = max(sorts, key=lambda s: s[1].best)
        absolute(
            f"sort -> list updated ({label}), slowest key", worst_sort, target_ms=sort_ms, note=f"slowest: {worst_key}"
        )
        figure("  each key (best ms)", ", ".join(f"{k} {t.ms:.1f}" for k, t in sorts))
        panel.close()
        context.jobs.wait()
    db.close()


def switch_figures(db_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from teamdash.services import chart, patients, timelines
    from teamdash.services.clinic import open_clinic
    from teamdash.services.patients import PatientQuery
    from teamdash.storage import db
    from ui.main_window import MainWindow
    from ui.timeline import TimelineView

    app = QApplication.instance()
    open_clinic(f"sqlite:///{db_path}", create=True)
    with tempfile.TemporaryDirectory() as tmp:
        context = _context(Path(tmp))
        window = MainWindow(context, database=str(db_path))
        window.resize(1600, 1000)
        window.show()
        _wait(window.ready, window.start)
        _settle(app, context)
        ids = [
            r.id
            for r in patients.list_patients(context.actor, PatientQuery(sort="name", limit=40, today=DEMO_TODAY)).rows
        ]
        cycle = itertools.cycle(ids)
        view = window.patient_view
        cpu = {"fill": [], "paint": []}
        fill = view.set_record

        def timed_fill(rec, **kw) -> None:  # GUI-thread CPU: load-independent on a busy machine
            start = time.thread_time()
            fill(rec, **kw)
            cpu["fill"].append(time.thread_time() - start)

        view.set_record = timed_fill

        def switch() -> None:
            _wait(view.record_shown, lambda: window.open_patient(next(cycle)))
            start = time.thread_time()
            app.processEvents()  # the layout pass and the paint that follow, as in the running app
            cpu["paint"].append(time.thread_time() - start)

        total = measure(switch, repeat=30)
        plots = len(view.timeline.shown_series())
        absolute(
            "patient switch -> header, cards, timelines painted",
            total,
            target_ms=25,
            note=f"{LIST_PATIENTS:,}-patient clinic, {plots} plots (key measures), 1600x1000",
        )
        figure(
            "  GUI thread CPU: fill widgets / layout + paint",
            f"{min(cpu['fill']) * 1000:.1f} / {min(cpu['paint']) * 1000:.1f} ms best, "
            f"{statistics.median(cpu['fill']) * 1000:.1f} / {statistics.median(cpu['paint']) * 1000:.1f} ms median",
        )
        fetch = measure(lambda: chart.get_record(context.actor, next(cycle), today=DEMO_TODAY), repeat=20)
        figure("  read the record (database thread)", f"{fetch.ms:.1f} ms best, {fetch.median * 1000:.1f} ms median")
        records = [chart.get_record(context.actor, i, today=DEMO_TODAY) for i in ids[:20]]
        shape = measure(lambda: timelines.build(records[0]), repeat=20)
        figure("  shape the timeline data (teamdash.timelines)", f"{shape.ms:.2f} ms best")

        def step_down() -> None:  # Alt+Down in the list: the patient below was read ahead
            _wait(view.record_shown, lambda: window._step_patient(1))
            app.processEvents()

        def reading() -> None:  # the time a person looks at a patient: the read-ahead lands
            _settle(app, context)
            model = window.list_panel.model
            row = model.row_of(window.current_patient_id())
            if row is None or row + 1 >= min(30, len(model.rows)):  # back to the top for the next steps
                window.open_patient(model.patient_at(0).id)
                row = 0
            below = model.patient_at(row + 1).id
            deadline = time.monotonic() + 10
            while below not in view._ahead and time.monotonic() < deadline:
                app.processEvents()
                context.jobs.wait(10)
            _settle(app, context)

        ahead = measure(step_down, repeat=30, setup=reading)
        absolute("patient switch to the next in the list (read ahead)", ahead, target_ms=25, note="Alt+Down")

        view.timeline.set_selection(("nrs_pain", "odi", "phq9", "pseq"))
        four = measure(switch, repeat=30)
        absolute("patient switch, 4 measures chosen", four, target_ms=25)
        view.timeline.set_selection(None)

        rec_cycle = itertools.cycle(records)

        def in_place() -> None:
            view.timeline.set_record(next(rec_cycle))
            app.processEvents()

        def rebuilt() -> None:
            fresh = TimelineView(view)
            fresh.resize(view.timeline.size())
            fresh.show()
            fresh.set_record(next(rec_cycle))
            app.processEvents()
            fresh.hide()
            fresh.deleteLater()

        update = measure(in_place, repeat=20)
        rebuild = measure(rebuilt, repeat=10)
        app.processEvents()
        compare("timelines alone: update in place vs rebuild plots", update, rebuild, plain_label="rebuild")
        window.poll.stop()
        window.close()
        context.jobs.wait()
    db.close()


def meeting_figures(db_path: Path) -> None:
    """The meeting screen's Next: the next patient was read on the database thread while
    the team talked about this one (preloaded), against reading it only when asked."""
    from PySide6.QtWidgets import QApplication

    from teamdash.services import agenda
    from teamdash.services.clinic import open_clinic
    from teamdash.services.meetings import AgendaItem, MeetingResult
    from teamdash.storage import db
    from ui.meeting.screen import MeetingWindow

    app = QApplication.instance()
    open_clinic(f"sqlite:///{db_path}", create=True)
    with tempfile.TemporaryDirectory() as tmp:
        context = _context(Path(tmp))
        due = agenda.due_for_review(context.actor, today=DEMO_TODAY)[:40]
        # Read-only: the screen is given the meeting as the service would return it,
        # so the cached clinic gets no meeting rows.
        meeting = MeetingResult(
            id=-1,
            started_at=dt.datetime.combine(DEMO_TODAY, dt.time(14, 0)),
            ended_at=None,
            started_by=None,
            started_by_name=None,
            attendees=(),
            items=tuple(
                AgendaItem(
                    n, -1, e.patient_id, e.clinic_id, e.given_name, e.family_name, n, e.group, e.reason, None, None, 1
                )
                for n, e in enumerate(due)
            ),
            version=1,
        )
        screen = MeetingWindow(context, meeting)
        screen.resize(1600, 1000)
        screen.show()
        _settle(app, context)

        def cold() -> None:  # Next, reading the patient only now
            screen.cache.clear()
            _wait(screen.patient_shown, screen.next_patient)
            app.processEvents()

        def ready_next() -> None:  # the team talks about this patient: the next one is read meanwhile
            if screen.index >= len(meeting.items) - 2:
                screen.show_index(0)
            following = meeting.items[screen.index + 1].patient
            deadline = time.monotonic() + 10
            while following not in screen.cache and time.monotonic() < deadline:
                app.processEvents()
                context.jobs.wait(10)
            _settle(app, context)

        def timed_preloaded() -> None:
            expected = meeting.items[screen.index + 1].patient
            start = time.perf_counter()
            screen.next_patient()
            app.processEvents()
            times.append(time.perf_counter() - start)
            assert screen.shown_patient == expected, "the next patient was not shown at once"

        times: list[float] = []
        for _ in range(25):
            ready_next()
            timed_preloaded()
        warm = Timing(min(times), statistics.median(times))
        fresh = measure(cold, repeat=15, setup=ready_next)
        absolute("meeting: Next patient, preloaded", warm, target_ms=25, note="1600x1000, 6 key timelines")
        compare("meeting: Next preloaded vs read when asked", warm, fresh, plain_label="cold")
        screen.close()
        context.jobs.wait()
    db.close()


def run() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - keeps Qt alive
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figure("machine", f"{os.cpu_count()} CPUs, load average {load:.2f} at start (other work inflates wall times)")
    small = demo_db(COLD_START_PATIENTS)
    cold_start(small, COLD_STARTS)
    ten = demo_db(LIST_PATIENTS)
    hundred = scaled_db(ten, LIST_SCALE)
    list_figures(ten, f"{LIST_PATIENTS:,} patients", search_ms=16, sort_ms=50)
    list_figures(hundred, f"{LIST_PATIENTS * LIST_SCALE:,} patients", search_ms=50, sort_ms=100)
    switch_figures(ten)
    meeting_figures(ten)
