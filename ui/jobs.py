"""The one database thread (after Anki's single database executor).

Every job the UI hands to the core runs here, one after another in the order given, on
one worker thread that owns one database connection for the life of the app: SQLite's
write lock is never raced, and no connection is opened behind anyone's back. A job is
a ``teamdash`` function taking ``progress(done, total)`` and ``cancelled()``; its
progress, result or error come back as signals on the GUI thread.

- ``JobRunner.run(fn, on_done=, on_error=, on_progress=)`` queues a job and returns its
  ``JobHandle`` (``cancel()`` asks it to stop; a job cancelled before it starts never
  runs and fails with ``Cancelled``).
- A ``TeamDashError`` (the user's error: bad input, a conflict, a cancelled job) reaches
  ``on_error`` as it is; any other ``Exception`` is a bug: logged with its traceback (no
  message text, which may hold patient data) and passed to ``on_error`` too.
- ``KeyboardInterrupt`` and ``SystemExit`` are not job failures: the thread stops, closes
  its connection and ``interrupted`` asks the application to exit.
- ``shutdown()`` runs what is queued, then closes the connection and ends the thread; the
  application waits for it before it closes the database.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, SignalInstance

from teamdash import logs
from teamdash.errors import Cancelled, TeamDashError
from teamdash.services.clinic import ThreadConnection

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
JobFn = Callable[[Progress, Callable[[], bool]], Any]

EXIT_INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl+C


class _Signals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)  # the exception


class JobHandle(QObject):
    """A queued or running job: connect to its signals, call ``cancel()`` to ask it to stop."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.signals = _Signals()
        self._cancel = threading.Event()
        self.done = False  # set on the database thread once the job has run (or was skipped)

    @property
    def progress(self) -> SignalInstance:
        return self.signals.progress

    @property
    def finished(self) -> SignalInstance:
        return self.signals.finished

    @property
    def failed(self) -> SignalInstance:
        return self.signals.failed

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()


@dataclass(frozen=True)
class _Job:
    fn: JobFn
    handle: JobHandle


class DatabaseThread(QThread):
    """The worker: a queue of jobs, run in order on this thread with its own connection."""

    interrupted = Signal(object)  # KeyboardInterrupt or SystemExit raised by a job

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("teamdash-database")
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._unfinished = 0
        self._changed = threading.Condition()
        self._connection = ThreadConnection()  # opened by the first job, closed when the thread ends
        self.ident: int | None = None  # threading.get_ident() of the running thread

    # --- called from the GUI thread ------------------------------------------------------

    def submit(self, job: _Job) -> None:
        with self._changed:
            self._unfinished += 1
        self._jobs.put(job)

    def stop(self) -> None:
        """End the thread once the jobs queued so far have run."""
        self._jobs.put(None)

    def wait_idle(self, msecs: int = -1) -> bool:
        """Block until every queued job has run; False if ``msecs`` passed first."""
        if threading.get_ident() == self.ident:
            raise RuntimeError("a job cannot wait for the database thread it runs on")
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, None if msecs < 0 else msecs / 1000)

    # --- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        self.ident = threading.get_ident()
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    keep_going = self._run_one(job)
                finally:
                    self._finished_one()
                if not keep_going:
                    break
        finally:
            self._connection.close()
            self._skip_queued()

    def _run_one(self, job: _Job) -> bool:
        """Run one job and report it; False when it interrupted the thread."""
        signals = job.handle.signals
        try:
            if job.handle.is_cancelled():
                raise Cancelled()
            self._connection.open()
            result = job.fn(signals.progress.emit, job.handle.is_cancelled)
        except (KeyboardInterrupt, SystemExit) as exc:
            log.warning("the database thread was interrupted by %s; it stops", type(exc).__name__)
            self.interrupted.emit(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - every failure reaches the GUI thread; bugs are logged here
            if not isinstance(exc, TeamDashError):
                log.error("a database job failed (a bug):\n%s", logs.bug_traceback(exc))
            signals.failed.emit(exc)
        else:
            signals.finished.emit(result)
        finally:
            job.handle.done = True
        return True

    def _finished_one(self) -> None:
        with self._changed:
            self._unfinished -= 1
            self._changed.notify_all()

    def _skip_queued(self) -> None:
        """After an interruption: jobs still queued never run; each says so."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.handle.done = True
                job.handle.signals.failed.emit(Cancelled("the database thread stopped before this job ran"))
                self._finished_one()


_LIVE: set[DatabaseThread] = set()  # running threads stay referenced until they end


@atexit.register
def _stop_live_threads() -> None:
    for thread in list(_LIVE):
        thread.stop()
        thread.wait()
    _LIVE.clear()


class JobRunner(QObject):
    """The UI's handle on the database thread (``context.jobs``)."""

    interrupted = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: DatabaseThread | None = None
        self._handles: set[JobHandle] = set()
        self._closed = False  # see close()
        self.interrupted.connect(self._exit_application)

    @property
    def thread_ident(self) -> int | None:
        """``threading.get_ident()`` of the database thread (None before the first job)."""
        return self._thread.ident if self._thread is not None else None

    def _worker(self) -> DatabaseThread:
        if self._thread is None or self._thread.isFinished():
            if self._thread is not None:
                _LIVE.discard(self._thread)
            self._thread = DatabaseThread()
            self._thread.interrupted.connect(self.interrupted.emit)
            _LIVE.add(self._thread)
            self._thread.start()
        return self._thread

    def run(
        self,
        fn: JobFn,
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> JobHandle:
        handle = JobHandle(self)
        if self._closed:  # a widget outliving its session: nothing more reaches the database
            log.debug("job dropped: the database thread was closed")
            return handle
        app = QCoreApplication.instance()
        if app is not None and QThread.currentThread() is not app.thread():
            handle.signals.moveToThread(app.thread())  # results always arrive on the GUI thread
        self._handles.add(handle)
        if on_progress:
            handle.progress.connect(on_progress)
        if on_done:
            handle.finished.connect(on_done)
        if on_error:
            handle.failed.connect(on_error)
        # Connected last: the job counts as pending until its own callbacks have run.
        handle.finished.connect(lambda _result: self._handles.discard(handle))
        handle.failed.connect(lambda _exc: self._handles.discard(handle))
        self._worker().submit(_Job(fn, handle))
        return handle

    def idle(self) -> bool:
        """No job queued, running, or waiting for its result to reach the GUI thread."""
        return not self._handles

    def wait(self, msecs: int = -1) -> bool:
        """Block until the queued jobs have run (their results may still be on their way
        to the GUI thread: see ``idle``); False if ``msecs`` passed first."""
        return self._thread.wait_idle(msecs) if self._thread is not None else True

    def shutdown(self, msecs: int = -1) -> bool:
        """Run what is queued, close the connection and end the thread (application exit).
        A later ``run`` starts a new thread. False if ``msecs`` passed first."""
        thread = self._thread
        if thread is None:
            return True
        if thread.isRunning():
            thread.stop()
            if not (thread.wait() if msecs < 0 else thread.wait(msecs)):
                return False
        _LIVE.discard(thread)
        return True

    def close(self, msecs: int = -1) -> bool:
        """``shutdown`` for good: jobs asked for later are dropped instead of starting a
        new thread (a window that outlives its session, say its poll timer, must not open
        a connection again). False if ``msecs`` passed first."""
        self._closed = True
        return self.shutdown(msecs)

    def _exit_application(self, exc: BaseException) -> None:
        """A job raised KeyboardInterrupt or SystemExit: the application ends, as it
        would had the main thread raised it."""
        code = EXIT_INTERRUPTED
        if isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        log.warning("stopping the application after %s on the database thread", type(exc).__name__)
        QCoreApplication.exit(code)
