"""The Patient menu: record a measurement (Ctrl+M), add sessions, goals, flares, diary
nights, contacts, return-to-work phases and action items for the open patient, prepare
the check-in (Ctrl+K: summary, sign-off, PDF, handout), correct or delete the
measurement selected on the timeline, and Undo (Ctrl+Z)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from teamdash.services import chart, measurements
from teamdash.services.chart import PatientRecord
from ui.changes import Changes
from ui.context import AppContext, PatientWindow
from ui.dialogs import kinds
from ui.dialogs.checkin_dialog import open_checkin_window
from ui.dialogs.kinds import KindUi
from ui.dialogs.measurement_dialog import delete_measurement, open_measurement_dialog
from ui.dialogs.record_dialog import open_record_dialog
from ui.errors import show_error
from ui.undo import stack_for

# (menu text, kind, shortcut): the things a clinician adds for the open patient.
ADD_ACTIONS: tuple[tuple[str, KindUi, str | None], ...] = (
    ("Add &session…", kinds.SESSION, None),
    ("Add &goal…", kinds.GOAL, None),
    ("Log &flare…", kinds.FLARE, None),
    ("Add sleep &diary night…", kinds.NIGHT, None),
    ("Add support &contact…", kinds.CONTACT, None),
    ("Add &return-to-work phase…", kinds.RTW_PHASE, None),
    ("Add &action item…", kinds.ACTION_ITEM, None),
)


class PatientActions(QObject):
    """Owns the actions; kept alive as a child of the window."""

    opened = Signal(object)  # the dialog just opened (tests, status messages)

    def __init__(self, window: QWidget):
        super().__init__(window)
        if not isinstance(window, PatientWindow):
            raise TypeError("the Patient menu needs the main window's menus, open patient and context")
        self.window = window
        self.context: AppContext = window.context
        self.undo_stack = stack_for(self.context)
        self.selected_measurement: int | None = None
        menu = window.menus["Patient"]
        self.record_measurement = self._action("&Record measurement…", QKeySequence("Ctrl+M"), self.open_measurement)
        menu.addAction(self.record_measurement)
        self.add_actions: dict[str, QAction] = {}
        for text, kind, shortcut in ADD_ACTIONS:
            action = self._action(
                text, QKeySequence(shortcut) if shortcut else None, lambda _c=False, k=kind: self.open_add(k)
            )
            self.add_actions[kind.key] = action
            menu.addAction(action)
        menu.addSeparator()
        self.prepare_checkin = self._action("Prepare check-&in…", QKeySequence("Ctrl+K"), self.open_checkin)
        self.prepare_checkin.setObjectName("prepare_checkin")
        self.prepare_checkin.setStatusTip("The check-in summary since the last check-in, the sign-off, PDF and handout")
        menu.addAction(self.prepare_checkin)
        menu.addSeparator()
        self.correct_measurement = self._action("C&orrect selected measurement…", None, self.open_correction)
        self.delete_measurement = self._action("De&lete selected measurement…", None, self.delete_selected)
        menu.addAction(self.correct_measurement)
        menu.addAction(self.delete_measurement)
        menu.addSeparator()
        self.undo = self._action("Undo", QKeySequence(QKeySequence.StandardKey.Undo), self.undo_last)
        menu.addAction(self.undo)
        window.patient_changed.connect(self._patient_changed)
        self.undo_stack.changed.connect(self._update)
        self.context.changes.changed.connect(self._user_changed)
        connect_timeline(window, self.measurement_selected)
        self._update()

    def _action(self, text: str, shortcut: QKeySequence | None, slot: Callable) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        self.window.addAction(action)  # shortcuts work even while the menu is closed
        return action

    # --- state ----------------------------------------------------------------------------------

    def _user_changed(self, changes: Changes) -> None:
        if "user" in changes.kinds:
            self._update()

    def _patient_changed(self, _patient_id: int) -> None:
        self.selected_measurement = None
        self._update()

    def measurement_selected(self, measurement_id: int) -> None:
        self.selected_measurement = measurement_id
        self._update()

    def _update(self) -> None:
        has_patient = self.window.current_patient_id() is not None
        actor = self.context.actor
        writable = actor.can("write_clinical")
        self.record_measurement.setEnabled(has_patient and writable)
        for _text, kind, _shortcut in ADD_ACTIONS:  # hidden from roles that may not write them at all
            action = self.add_actions[kind.key]
            action.setVisible(actor.can(kind.permission))
            action.setEnabled(has_patient and actor.can(kind.permission))
        self.prepare_checkin.setEnabled(has_patient and actor.can("read"))
        for action in (self.correct_measurement, self.delete_measurement):
            action.setEnabled(has_patient and writable and self.selected_measurement is not None)
        # Undo acts on the open patient only: reversing an entry made for someone else
        # while this patient is on screen (on a projector) would go unnoticed.
        top = self.undo_stack.top()
        current = self.window.current_patient_id()
        self.undo.setEnabled(self.undo_stack.can_undo() and top is not None and top.patient_id in (None, current))
        self.undo.setText(self.undo_stack.text())

    def undo_last(self) -> None:
        if self.undo.isEnabled():
            self.undo_stack.undo(self.window)

    # --- opening dialogs --------------------------------------------------------------------------

    def _with_record(self, then: Callable[[PatientRecord], None]) -> None:
        """Load the open patient's record on the database thread, then open the dialog
        (its defaults, such as a goal's baseline, come from the record)."""
        patient_id = self.window.current_patient_id()
        if patient_id is None:
            return
        actor, today = self.context.actor, self.context.today()
        self.context.jobs.run(
            lambda _p, _c: chart.get_record(actor, patient_id, today=today),
            on_done=then,
            on_error=lambda exc: show_error(self.window, exc),
        )

    def open_measurement(self) -> None:
        self._with_record(
            lambda record: self.opened.emit(open_measurement_dialog(self.window, self.context, record.patient))
        )

    def open_add(self, kind: KindUi) -> None:
        self._with_record(
            lambda record: open_record_dialog(
                self.window, self.context, kind, patient=record.patient, record=record, on_open=self.opened.emit
            )
        )

    def open_checkin(self) -> None:
        patient_id = self.window.current_patient_id()
        if patient_id is not None and self.prepare_checkin.isEnabled():
            self.opened.emit(open_checkin_window(self.context, patient_id, self.window))

    def _selected(self, then: Callable) -> None:
        measurement_id, patient_id = self.selected_measurement, self.window.current_patient_id()
        if measurement_id is None or patient_id is None:
            return
        actor, today = self.context.actor, self.context.today()

        def load(_p, _c):  # on the database thread: only plain values captured above
            return chart.get_record(actor, patient_id, today=today), measurements.get_measurement(actor, measurement_id)

        self.context.jobs.run(load, on_done=lambda pair: then(*pair), on_error=lambda exc: show_error(self.window, exc))

    def open_correction(self) -> None:
        self._selected(
            lambda record, m: self.opened.emit(
                open_measurement_dialog(self.window, self.context, record.patient, existing=m)
            )
        )

    def delete_selected(self) -> None:
        self._selected(lambda _record, m: delete_measurement(self.window, self.context, m))


def connect_timeline(window: QWidget, slot: Callable[[int], None]) -> int:
    """Connect the window's ``measurement_selected(int)`` or, if it has none, every child
    that offers one (the timeline) to ``slot``; returns how many were connected. The integrator may also call this later for a
    timeline created after ``install_actions``."""
    own = getattr(window, "measurement_selected", None)
    if isinstance(own, SignalInstance):  # the window forwards its timelines' selections
        own.connect(slot)
        return 1
    found = 0
    candidates = [getattr(window, "timeline", None), *window.findChildren(QObject)]
    seen: set[int] = set()
    for child in candidates:
        if child is None or id(child) in seen:
            continue
        seen.add(id(child))
        signal = getattr(child, "measurement_selected", None)
        if isinstance(signal, SignalInstance):
            signal.connect(slot)
            found += 1
    return found


def install_actions(window: QWidget) -> PatientActions:
    """Add the Patient menu's data-entry actions to the main window."""
    actions = window.findChild(PatientActions)
    return actions if actions is not None else PatientActions(window)
