"""Shared by the panel, dialog and undo tests: an application context on the demo clinic
acting as a demo clinician, and helpers that drive dialogs the way a user does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QWidget

from teamdash import record as records
from teamdash.auth import Actor, actor_for
from tests.conftest import DEMO_TODAY
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.jobs import JobRunner

# The offscreen platform cannot resize windows to their size hints and says so for every
# message box and dialog; on a real display this warning does not exist.
OFFSCREEN_NOISE = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SAFETY_PATIENT = 8  # demo patient with two open PHQ-9 item 9 flags
PLAIN_PATIENT = 1


@pytest.fixture(autouse=True)
def error_boxes(monkeypatch) -> list[str]:
    """Error and apology boxes are recorded instead of blocking the test in a modal
    loop; a test that expects none asserts the list is empty (see ``no_errors``)."""
    shown: list[str] = []
    import ui.errors

    monkeypatch.setattr(ui.errors.QMessageBox, "warning", staticmethod(lambda _p, _t, text, *a, **k: shown.append(text)))
    monkeypatch.setattr(ui.errors.QMessageBox, "critical", staticmethod(lambda _p, _t, text, *a, **k: shown.append(text)))
    return shown


@pytest.fixture
def actor(clinic) -> Actor:
    return actor_for("athistledown")  # a psychologist: a clinician who may write clinical data


@pytest.fixture
def ui_context(qtbot, clinic, actor, tmp_path):
    jobs = JobRunner()
    context = AppContext(actor=actor, jobs=jobs, changes=ChangeBus(),
                         settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), fixed_today=DEMO_TODAY)
    yield context
    jobs.wait()
    QCoreApplication.processEvents()
    for widget in QApplication.topLevelWidgets():  # dialogs a test left open
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()
            widget.deleteLater()
    QCoreApplication.processEvents()


def settle(context: AppContext, rounds: int = 6) -> None:
    """Let queued database jobs finish and their results reach the GUI thread."""
    for _ in range(rounds):
        context.jobs.wait()
        QCoreApplication.processEvents()


def get_record(context: AppContext, patient_id: int):
    return records.get_record(context.actor, patient_id, today=context.today())


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


def wait_for(qtbot, condition: Callable[[], bool]) -> None:
    qtbot.waitUntil(condition)


NOW = dt.datetime.now
