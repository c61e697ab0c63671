"""Shared by the panel, dialog and undo tests: an application context on the demo clinic
acting as a demo clinician, and helpers that drive dialogs the way a user does."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from teamdash import clock
from teamdash.services import chart
from ui.context import AppContext

SAFETY_PATIENT = 8  # demo patient with two open PHQ-9 item 9 flags
PLAIN_PATIENT = 1


def settle(context: AppContext, rounds: int = 6) -> None:
    """Let queued database jobs finish and their results reach the GUI thread."""
    for _ in range(rounds):
        context.jobs.wait()
        QCoreApplication.processEvents()


def get_record(context: AppContext, patient_id: int):
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


def wait_for(qtbot, condition: Callable[[], bool]) -> None:
    qtbot.waitUntil(condition)


NOW = clock.now
