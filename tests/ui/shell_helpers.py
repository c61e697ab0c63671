"""Shared by the main-window, list, timeline and screenshot tests: an application
context on a database, and waiting for the database thread the way the UI does."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from teamdash.services.auth import SYSTEM
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.jobs import JobRunner

SAFETY_PATIENT = 8  # demo patient with two open PHQ-9 item 9 flags


def make_context(tmp_path, actor=SYSTEM) -> AppContext:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    return AppContext(actor=actor, jobs=JobRunner(), changes=ChangeBus(), settings=settings)


def settle(qtbot, context: AppContext, timeout: int = 15000) -> None:
    """Wait until every queued database job has answered on the GUI thread."""
    qtbot.waitUntil(context.jobs.idle, timeout=timeout)
