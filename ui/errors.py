"""Errors shown to people: a domain error as its message, anything else as one polite
apology pointing at the log file. Never a traceback on screen."""

from __future__ import annotations

import logging
import sys

from PySide6.QtWidgets import QMessageBox, QWidget

from teamdash import logs
from teamdash.errors import TeamDashError
from teamdash.services import clinic

log = logging.getLogger(__name__)

_apologised = False


def user_message(exc: BaseException) -> str | None:
    """The message for a user's own error or a database fault, None for a bug."""
    known = clinic.user_error(exc)
    return None if known is None else str(known)


def show_error(parent: QWidget | None, exc: BaseException, *, title: str = "TeamDash") -> None:
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
