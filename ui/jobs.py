"""The one place long jobs run: a ``teamdash`` function taking ``progress(done, total)``
and ``cancelled()`` runs on a worker thread; results, progress and errors come back as
signals on the GUI thread. Database jobs share one single-thread pool (one database
executor, after Anki), so they never race each other for the SQLite write lock."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]


class _Signals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)  # the exception


class JobHandle(QObject):
    """A running job: connect to its signals, call ``cancel()`` to ask it to stop."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.signals = _Signals()
        self._cancel = threading.Event()
        self.done = False

    @property
    def progress(self):
        return self.signals.progress

    @property
    def finished(self):
        return self.signals.finished

    @property
    def failed(self):
        return self.signals.failed

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()


class _Runnable(QRunnable):
    def __init__(self, fn: JobFn, handle: JobHandle):
        super().__init__()
        self.fn, self.handle = fn, handle
        self.setAutoDelete(True)

    def run(self) -> None:
        signals = self.handle.signals
        try:
            result = self.fn(lambda done, total: signals.progress.emit(done, total), self.handle.is_cancelled)
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI thread, never lost
            if not hasattr(exc, "message"):
                log.error("job failed: %s", "".join(traceback.format_exception(exc)))
            signals.failed.emit(exc)
        else:
            signals.finished.emit(result)
        finally:
            self.handle.done = True


class JobRunner(QObject):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.db_pool = QThreadPool(self)
        self.db_pool.setMaxThreadCount(1)
        self._handles: set[JobHandle] = set()

    def run(
        self,
        fn: JobFn,
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> JobHandle:
        handle = JobHandle(self)
        self._handles.add(handle)
        if on_progress:
            handle.progress.connect(on_progress)
        if on_done:
            handle.finished.connect(on_done)
        if on_error:
            handle.failed.connect(on_error)
        handle.finished.connect(lambda _r: self._handles.discard(handle))
        handle.failed.connect(lambda _e: self._handles.discard(handle))
        self.db_pool.start(_Runnable(fn, handle))
        return handle

    def idle(self) -> bool:
        """No job queued, running, or waiting for its result to reach the GUI thread."""
        return not self._handles

    def wait(self, msecs: int = -1) -> bool:
        """Block until queued jobs finish (tests, shutdown)."""
        return self.db_pool.waitForDone(msecs)
