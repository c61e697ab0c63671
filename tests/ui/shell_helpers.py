"""Shared by the main-window, list, timeline and screenshot tests: an application
context on a database, and waiting for the database thread the way the UI does."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from teamdash.auth import SYSTEM
from tests.conftest import DEMO_TODAY
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.jobs import JobRunner

# The offscreen platform cannot resize windows to their size hints and says so; on a
# real display this warning does not exist.
OFFSCREEN_NOISE = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SAFETY_PATIENT = 8  # demo patient with two open PHQ-9 item 9 flags


def make_context(tmp_path, actor=SYSTEM) -> AppContext:
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    return AppContext(actor=actor, jobs=JobRunner(), changes=ChangeBus(), settings=settings, fixed_today=DEMO_TODAY)


@pytest.fixture
def context(qtbot, clinic, tmp_path):
    ctx = make_context(tmp_path)
    yield ctx
    ctx.jobs.wait()


def settle(qtbot, context: AppContext, timeout: int = 15000) -> None:
    """Wait until every queued database job has answered on the GUI thread."""
    qtbot.waitUntil(context.jobs.idle, timeout=timeout)
