"""Helpers of the Qt tests: an application context on the demo clinic, waiting for the
database thread the way the UI does, and driving widgets the way a user does. The demo's
named patients and moment are in tests/demo_facts.py; the fixtures in conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from teamdash.services import chart
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.chart import PatientRecord
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.jobs import JobRunner

SETTLE_TIMEOUT_MS = 15_000


def make_context(tmp_path: Path, actor: Actor = SYSTEM) -> AppContext:
    """A context with its own database thread and window settings in ``tmp_path``;
    whoever makes one shuts its jobs down (the ``new_context`` fixture does)."""
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    return AppContext(actor=actor, jobs=JobRunner(), changes=ChangeBus(), settings=settings)


def settle(qtbot, context: AppContext, timeout: int = SETTLE_TIMEOUT_MS) -> None:
    """Wait until every queued database job has answered on the GUI thread (a job its
    answer queues is waited for too), then let the events those answers posted run."""
    qtbot.waitUntil(context.jobs.idle, timeout=timeout)
    QCoreApplication.processEvents()


def get_record(context: AppContext, patient_id: int) -> PatientRecord:
    return chart.get_record(context.actor, patient_id, today=context.today())


def top_dialog(qtbot, object_name: str) -> QWidget:
    """The visible top-level window with this object name (dialogs open asynchronously)."""
    found: list[QWidget] = []

    def visible() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if w.objectName() == object_name and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(visible)
    return found[-1]


def answer_next_question(button: str = "confirm_yes", seen: list[str] | None = None) -> list[str]:
    """Click ``button`` ("confirm_yes" or "cancel") in the next confirmation box, as the
    user would; the texts of the boxes seen are collected."""
    seen = [] if seen is None else seen

    def poll() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                seen.append(f"{widget.text()}\n{widget.informativeText()}")
                if button == "cancel":
                    QTest.keyClick(widget, Qt.Key.Key_Escape)
                else:
                    QTest.mouseClick(widget.findChild(QPushButton, button), Qt.MouseButton.LeftButton)
                return
        QTimer.singleShot(10, poll)

    QTimer.singleShot(0, poll)
    return seen


def press_enter(widget: QWidget) -> None:
    QTest.keyClick(widget, Qt.Key.Key_Return)


def choose(combo, text_start: str) -> None:
    """Pick a combo box entry by typing its first characters, like a keyboard user."""
    activate(combo)
    combo.setFocus()
    # A person pauses between fields; a test types at once, and Qt would append these
    # keys to the previous search ("2" then "2" = "22"). An empty search starts afresh.
    combo.view().keyboardSearch("")
    QTest.keyClicks(combo, text_start)
    QCoreApplication.processEvents()  # the user's next key comes after the screen updated


def activate(widget: QWidget) -> None:
    """Keys go to the active window only; a test has no user clicking it to the front."""
    window = widget.window()
    if not window.isActiveWindow():
        window.activateWindow()
        for _ in range(50):
            QCoreApplication.processEvents()
            if window.isActiveWindow():
                break


def type_clock(widget, digits: str) -> None:
    """Type a date or time into a date/time edit from its first section ('20261120',
    '2315'), as the keyboard user does after tabbing in."""
    activate(widget)
    widget.setFocus()
    widget.setSelectedSection(widget.sectionAt(0))  # what tabbing into the field selects
    QTest.keyClicks(widget, digits)


def type_into(widget, text: str) -> None:
    """Replace a field's text by typing."""
    activate(widget)
    widget.setFocus()
    if hasattr(widget, "selectAll"):
        widget.selectAll()
    elif hasattr(widget, "lineEdit") and widget.lineEdit() is not None:
        widget.lineEdit().selectAll()
    QTest.keyClicks(widget, text)


def shot(widget: QWidget, name: str) -> Path | None:
    """Keep a picture of ``widget`` to look at when TEAMDASH_SHOTS names a folder."""
    folder = os.environ.get("TEAMDASH_SHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(path))
    return path
