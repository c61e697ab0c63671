"""The database thread (ui.jobs): what a job costs on top of the work it runs.

Ours: N jobs through ``JobRunner`` (queued to the database thread, the result back on
the GUI thread as a signal). Plain: the same work on one plain Python thread fed by a
``queue.Queue`` (the standard library doing the same, one connection). Two kinds of
work: a patient count (a tiny query, so the ratio shows the per-job overhead) and a
patient's whole chart (what the panels load). Also printed: how many connections the
jobs used (one for the thread's life; the QThreadPool it replaced opened one per job)."""

from __future__ import annotations

import queue
import sys
import threading
from functools import partial

from benchmarks.bench_storage import TODAY, demo_database
from benchmarks.common import compare, figure, measure
from teamdash import clock
from teamdash.services import chart, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db

JOBS = 500
CHARTS = 60
CLINIC_PATIENTS = 300


def _count() -> object:
    return patients.count_patients(SYSTEM)


def _chart() -> object:
    return chart.get_record(SYSTEM, 8, today=TODAY)


def run() -> None:
    from PySide6.QtCore import QCoreApplication

    from ui.jobs import JobRunner

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    clock.set_clock(clock.FixedClock(TODAY))
    open_clinic(f"sqlite:///{demo_database(CLINIC_PATIENTS)}")
    connections: set[int] = set()
    runner = JobRunner()
    jobs: queue.Queue = queue.Queue()
    answers: queue.Queue = queue.Queue()

    def plain_worker() -> None:
        while (fn := jobs.get()) is not None:
            answers.put(fn())
        db.database.close()

    worker = threading.Thread(target=plain_worker, daemon=True)
    worker.start()

    def through_runner(work, n: int) -> None:
        def job(_progress, _cancelled) -> object:
            connections.add(id(db.database.connection()))
            return work()

        done: list[object] = []
        for _ in range(n):
            runner.run(job, on_done=done.append)
        while len(done) < n:
            runner.wait(5)
            app.processEvents()

    def plain_thread(work, n: int) -> None:
        for _ in range(n):
            jobs.put(work)
        for _ in range(n):
            answers.get()

    for label, work, n, target in (
        (f"{JOBS} patient counts as database jobs", _count, JOBS, None),
        (f"{CHARTS} patient charts as database jobs", _chart, CHARTS, None),
    ):
        plain = measure(partial(plain_thread, work, n), repeat=5)
        ours = measure(partial(through_runner, work, n), repeat=5)
        ratio = compare(label, ours, plain, plain_label="queue+thread", target_ratio=target)
        figure("  overhead per job", f"{(ours.best - plain.best) / n * 1e6:.0f} µs (ratio {ratio:.2f}x)")
    figure("connections the jobs used", f"{len(connections)} (for {(JOBS + CHARTS) * 5} jobs)")
    jobs.put(None)
    worker.join()
    runner.shutdown()
    db.close()
