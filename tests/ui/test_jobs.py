"""The database thread (ui.jobs): one worker that runs jobs in order with its own
connection, reports on the GUI thread, cancels, stops cleanly, and tells a user's error
from a bug. A temp-file SQLite database, as every test that touches threads."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication

from teamdash.errors import Cancelled, ValidationError
from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.storage.db import database as db_handle
from ui import jobs
from ui.jobs import JobRunner

WAIT_MS = 10_000


@pytest.fixture
def runner(qtbot, database):
    runner = JobRunner()
    yield runner
    runner.shutdown()


def finish(qtbot, runner: JobRunner) -> None:
    qtbot.waitUntil(runner.idle, timeout=WAIT_MS)


def test_jobs_run_in_order_on_one_thread_with_one_connection(qtbot, runner):
    seen: list[tuple[int, int, object]] = []
    results: list[int] = []

    def job(n: int):
        def work(_progress, _cancelled) -> int:
            patients.list_patients(SYSTEM, patients.PatientQuery())  # a real query on this thread
            seen.append((n, threading.get_ident(), db_handle.connection()))
            return n

        return work

    for n in range(6):
        runner.run(job(n), on_done=results.append)
    finish(qtbot, runner)
    assert [n for n, _thread, _conn in seen] == list(range(6)) == results
    assert {thread for _n, thread, _conn in seen} == {runner.thread_ident}
    assert runner.thread_ident != threading.get_ident()
    connections = {id(conn) for _n, _thread, conn in seen}
    assert len(connections) == 1
    assert id(db_handle.connection()) not in connections  # the GUI thread keeps its own


def is_closed(conn) -> bool:
    """Whether a driver connection (sqlite3 or psycopg2) was closed."""
    if isinstance(conn, sqlite3.Connection):
        try:
            conn.execute("select 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(conn.closed)


def test_the_connection_is_closed_when_the_thread_shuts_down(qtbot, runner):
    opened: list = []
    runner.run(lambda _p, _c: opened.append(db_handle.connection()))
    finish(qtbot, runner)
    assert not is_closed(opened[0])  # open while the thread lives
    assert runner.shutdown()
    assert is_closed(opened[0])
    # A job after shutdown gets a thread (and connection) of its own.
    runner.run(lambda _p, _c: opened.append(db_handle.connection()))
    finish(qtbot, runner)
    assert opened[1] is not opened[0]


def test_shutdown_runs_what_was_queued_first(qtbot, runner):
    ran: list[int] = []
    for n in range(3):
        runner.run(lambda _p, _c, n=n: ran.append(n))
    assert runner.shutdown()
    assert ran == [0, 1, 2]


def test_after_close_no_job_runs_and_no_thread_starts(qtbot, runner):
    ran: list[int] = []
    runner.run(lambda _p, _c: ran.append(1))
    assert runner.close()
    handle = runner.run(lambda _p, _c: ran.append(2))  # e.g. a leftover window's poll timer
    QCoreApplication.processEvents()
    assert ran == [1] and runner.idle() and not handle.is_cancelled()
    assert runner._thread is not None and not runner._thread.isRunning()  # no new thread was started


def test_results_progress_and_errors_arrive_on_the_gui_thread(qtbot, runner):
    gui = threading.get_ident()
    where: dict[str, int] = {}

    def work(progress, _cancelled) -> str:
        progress(1, 2)
        progress(2, 2)
        return "done"

    steps: list[tuple[int, int]] = []

    def on_progress(done: int, total: int) -> None:
        steps.append((done, total))
        where["progress"] = threading.get_ident()

    def on_done(result: str) -> None:
        where["done"] = threading.get_ident()
        assert result == "done"

    def on_error(_exc: BaseException) -> None:
        where["error"] = threading.get_ident()

    runner.run(work, on_done=on_done, on_progress=on_progress)
    runner.run(lambda _p, _c: 1 / 0, on_error=on_error)
    finish(qtbot, runner)
    assert steps == [(1, 2), (2, 2)]
    assert where == {"progress": gui, "done": gui, "error": gui}


def test_a_users_error_reaches_on_error_as_it_is_and_is_not_logged_as_a_bug(qtbot, runner, caplog):
    problem = ValidationError("is above the maximum 600", field="minutes")
    received: list[BaseException] = []

    def fail(_p, _c):
        raise problem

    with caplog.at_level(logging.INFO, logger="ui.jobs"):
        runner.run(fail, on_error=received.append)
        finish(qtbot, runner)
    assert received == [problem] and received[0] is problem
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_bug_is_logged_with_its_traceback_but_not_its_message(qtbot, runner, caplog):
    received: list[BaseException] = []

    patient = {"name": "Agnes Fennelworth"}

    def broken_job(_p, _c):
        raise KeyError(patient["name"])  # a message may quote the data a bug choked on

    with caplog.at_level(logging.INFO, logger="ui.jobs"):
        runner.run(broken_job, on_error=received.append)
        finish(qtbot, runner)
    assert isinstance(received[0], KeyError)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "broken_job" in logged and "KeyError" in logged and "Traceback" in logged
    assert "Agnes" not in logged


@pytest.mark.parametrize(("raised", "code"), [(KeyboardInterrupt(), jobs.EXIT_INTERRUPTED), (SystemExit(3), 3)])
def test_interrupts_stop_the_thread_and_the_app_not_reported_as_failures(qtbot, runner, monkeypatch, raised, code):
    exits: list[int] = []
    monkeypatch.setattr(QCoreApplication, "exit", staticmethod(exits.append))
    failures: list[BaseException] = []
    opened: list = []
    later: list[BaseException] = []
    never_ran: list[int] = []

    def interrupt(_p, _c):
        opened.append(db_handle.connection())
        raise raised

    release = threading.Event()
    runner.run(lambda _p, _c: release.wait(WAIT_MS))  # holds the queue until all are in
    with qtbot.waitSignal(runner.interrupted, timeout=WAIT_MS) as interrupted:
        runner.run(interrupt, on_error=failures.append)
        runner.run(lambda _p, _c: never_ran.append(1), on_error=later.append)
        release.set()
    qtbot.waitUntil(lambda: bool(later), timeout=WAIT_MS)
    assert interrupted.args == [raised]
    assert failures == []  # not swallowed as a job failure
    assert exits == [code]  # the application is asked to end, as on the main thread
    assert never_ran == [] and isinstance(later[0], Cancelled)
    assert is_closed(opened[0])


def test_cancel_stops_a_running_job(qtbot, runner):
    started = threading.Event()
    received: list[BaseException] = []

    def long_job(progress, cancelled):
        started.set()
        for step in range(10_000):
            if cancelled():
                raise Cancelled()
            progress(step, 10_000)
            time.sleep(0.001)  # a little work (a timed wait on an Event would never end under faketime)
        return "finished"

    done: list[str] = []
    handle = runner.run(long_job, on_done=done.append, on_error=received.append)
    assert started.wait(WAIT_MS / 1000)
    handle.cancel()
    finish(qtbot, runner)
    assert done == [] and len(received) == 1 and isinstance(received[0], Cancelled)


def test_a_job_cancelled_while_queued_never_runs(qtbot, runner):
    release = threading.Event()
    ran: list[str] = []
    received: list[BaseException] = []
    runner.run(lambda _p, _c: release.wait(WAIT_MS))
    handle = runner.run(lambda _p, _c: ran.append("second"), on_error=received.append)
    runner.run(lambda _p, _c: ran.append("third"))
    handle.cancel()
    release.set()
    finish(qtbot, runner)
    assert ran == ["third"]
    assert isinstance(received[0], Cancelled)


def test_wait_and_idle(qtbot, runner):
    release = threading.Event()
    runner.run(lambda _p, _c: release.wait(WAIT_MS))
    assert not runner.idle()
    release.set()
    assert runner.wait(WAIT_MS) is True
    finish(qtbot, runner)
    assert runner.idle()


# ``make test-shifted-clock`` runs under libfaketime, which shifts the monotonic clock too:
# Python's timed semaphore wait (sem_clockwait) then never times out, and libfaketime
# 0.9.10's --exclude-monotonic breaks every time.sleep instead. Only a wait that must run
# out is affected; the calendar the shifted run is about plays no part in it.
UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(UNDER_FAKETIME, reason="a timed wait never runs out under libfaketime's shifted monotonic clock")
def test_wait_gives_up_after_its_time(qtbot, runner):
    release = threading.Event()
    runner.run(lambda _p, _c: release.wait(WAIT_MS))
    assert runner.wait(50) is False  # still running
    release.set()
    finish(qtbot, runner)
