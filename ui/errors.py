"""Errors shown to people: a domain error as its message, anything else as one polite
apology pointing at the log file. Never a traceback on screen."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from teamdash import logs
from teamdash.errors import ConnectionLost, TeamDashError
from teamdash.services import clinic

log = logging.getLogger(__name__)

_apologised = False

# Who shows a lost connection (the main window's status bar): while one is registered,
# a lost connection is shown there, once, instead of a dialog per failed job.
_connection_watchers: list[Callable[[ConnectionLost], None]] = []


def watch_connection(watcher: Callable[[ConnectionLost], None]) -> None:
    _connection_watchers.append(watcher)


def unwatch_connection(watcher: Callable[[ConnectionLost], None]) -> None:
    if watcher in _connection_watchers:
        _connection_watchers.remove(watcher)


def report_connection_lost(exc: BaseException) -> bool:
    """Tell the watchers about a lost connection; True when one took it."""
    known = clinic.user_error(exc)
    if not isinstance(known, ConnectionLost) or not _connection_watchers:
        return False
    for watcher in list(_connection_watchers):
        watcher(known)
    return True


def user_message(exc: BaseException) -> str | None:
    """The message for a user's own error or a database fault, None for a bug."""
    known = clinic.user_error(exc)
    return None if known is None else str(known)


def show_error(parent: QWidget | None, exc: BaseException, *, title: str = "TeamDash") -> None:
    if report_connection_lost(exc):
        return
    message = user_message(exc)
    if message is not None:
        QMessageBox.warning(parent, title, message)
        return
    log.error("unexpected error:\n%s", logs.bug_traceback(exc))
    show_apology(parent)


def show_apology(parent: QWidget | None = None) -> None:
    """Shown once per session: repeated dialogs would bury a meeting."""
    global _apologised
    if _apologised:
        return
    _apologised = True
    QMessageBox.critical(
        parent,
        "TeamDash",
        "Something went wrong inside TeamDash. Your saved data is safe; the last action may not "
        f"have completed.\n\nDetails were written to:\n{logs.log_file()}",
    )


def install_excepthook() -> None:
    """Exceptions escaping Qt slots are logged and apologised for, not printed."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, TeamDashError):
            show_error(None, exc)
            return
        log.error("unhandled exception:\n%s", logs.bug_traceback(exc.with_traceback(tb)))
        show_apology(None)

    sys.excepthook = hook
