"""Patient administration in the Patient menu: New patient… (Ctrl+N), Edit details…
(Ctrl+E), reassign the case manager, set the next check-in, the status changes (on hold,
resume, discharge, drop-out, readmission), the status history and the clinic's ID
pattern. The patient header offers the same writes as quick menus (``reassign`` and
``set_next_checkin`` here); every one goes through the services and can be undone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from teamdash.errors import ValidationError
from teamdash.services import episodes, patients, staff
from teamdash.services.patients import PatientDetail
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.fields import Field
from ui.dialogs.form import FormDialog, show_dialog
from ui.dialogs.patient_form import open_patient_dialog, open_pattern_dialog
from ui.dialogs.record_dialog import patient_label, title_with_patient
from ui.dialogs.status_dialogs import events_for, open_history_dialog, open_status_dialog
from ui.dialogs.writes import run_write
from ui.errors import show_error
from ui.undo import UndoEntry

PERMISSION = "write_patient"
STATUS_ACTIONS = (
    (episodes.ON_HOLD, "Put on &hold…"),
    (episodes.RESUMED, "&Resume programme…"),
    (episodes.DISCHARGED, "&Discharge…"),
    (episodes.DROPPED_OUT, "Record &drop-out…"),
    (episodes.READMITTED, "Re&admit (new episode)…"),
)


# --- writes shared by the menu and the patient header ----------------------------------------------


def update_details(
    parent: QWidget | None,
    context: AppContext,
    patient: PatientDetail,
    changes: dict[str, Any],
    description: str,
    *,
    on_done: Callable[[PatientDetail], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> None:
    """Save ``changes`` to the patient as shown (its version); undoable as ``description``."""
    patient_id, version = patient.id, patient.version
    previous = {name: getattr(patient, name) for name in changes}
    run_write(
        context,
        lambda actor: patients.update_patient(actor, patient_id, version, **changes),
        patient_id=patient_id,
        kinds=("patient",),
        undo=lambda saved: UndoEntry(
            description,
            patient_id,
            ("patient",),
            lambda actor: patients.undo_update(
                actor, patient_id, written={name: getattr(saved, name) for name in changes}, previous=previous
            ),
        ),
        on_done=on_done,
        on_error=on_error or (lambda exc: show_error(parent, exc)),
    )


def reassign(parent: QWidget | None, context: AppContext, patient: PatientDetail, manager_id: int | None) -> None:
    if manager_id != patient.case_manager:
        update_details(parent, context, patient, {"case_manager": manager_id}, "Reassign case manager")


def set_next_checkin(parent: QWidget | None, context: AppContext, patient: PatientDetail, day: dt.date | None) -> None:
    if day != patient.next_checkin:
        update_details(parent, context, patient, {"next_checkin": day}, "Set next check-in")


class DetailDialog(FormDialog):
    """One patient detail changed from the keyboard (case manager, next check-in)."""

    def __init__(
        self,
        context: AppContext,
        patient: PatientDetail,
        field: Field,
        description: str,
        parent: QWidget | None = None,
    ):
        super().__init__(description, [field], parent)
        title_with_patient(self, context, patient, description)
        self.setObjectName(f"dialog_{field.name}")
        self.context, self.patient, self.description = context, patient, description
        self.set_values({field.name: getattr(patient, field.name)})

    def write(self, values: dict[str, Any]) -> bool | None:
        changes = {k: v for k, v in values.items() if v != getattr(self.patient, k)}
        if not changes:
            self.set_busy(False)
            self.accept()
            return None
        update_details(
            self,
            self.context,
            self.patient,
            changes,
            self.description,
            on_done=self.succeeded,
            on_error=self.show_failure,
        )
        return None


def open_reassign_dialog(parent: QWidget | None, context: AppContext, patient: PatientDetail) -> None:
    actor = context.actor

    def build(managers: list[staff.StaffMember]) -> None:
        choices = ((None, "— not assigned —"), *((m.id, m.full_name) for m in managers))
        field = Field("case_manager", "Case manager", "choice", choices, required=False)
        show_dialog(DetailDialog(context, patient, field, "Reassign case manager", parent))

    context.jobs.run(
        lambda _p, _c: staff.case_managers(actor), on_done=build, on_error=lambda exc: show_error(parent, exc)
    )


def open_checkin_dialog(parent: QWidget | None, context: AppContext, patient: PatientDetail) -> None:
    field = Field(
        "next_checkin", "Next check-in", "optional_date", required=False, hint="Leave empty when none is booked"
    )
    show_dialog(DetailDialog(context, patient, field, "Set next check-in", parent))


# --- the menu ------------------------------------------------------------------------------------------


class AdminActions(QObject):
    """Owns the administration actions; kept alive as a child of the window."""

    opened = Signal(object)  # a dialog just opened (tests, status messages)

    def __init__(self, window: Any):
        """``window``: the main window's contract (``menus``, ``context``,
        ``current_patient_id()``, ``patient_changed``, ``open_patient``, and
        ``reveal_patient`` where the list can show the patient)."""
        super().__init__(window)
        self.window = window
        self.context: AppContext = window.context
        self.patient: PatientDetail | None = None  # the open patient, as last read
        menu: QMenu = window.menus["Patient"]
        first = menu.actions()[0] if menu.actions() else None
        self.new_patient = self._action("&New patient…", "Ctrl+N", self.open_new)
        self.edit_details = self._action("&Edit details…", "Ctrl+E", lambda: self._with_patient(self._edit))
        self.reassign = self._action(
            "Reassign &case manager…",
            None,
            lambda: self._with_patient(lambda p: open_reassign_dialog(window, self.context, p)),
        )
        self.checkin = self._action(
            "Set next chec&k-in…",
            None,
            lambda: self._with_patient(lambda p: open_checkin_dialog(window, self.context, p)),
        )
        self.status_menu = QMenu("&Status", window)
        self.status_actions: dict[str, QAction] = {}
        for event, text in STATUS_ACTIONS:
            action = self._action(
                text, None, lambda _c=False, e=event: self._with_patient(lambda p: self._status(p, e))
            )
            self.status_actions[event] = action
            self.status_menu.addAction(action)
        self.history = self._action(
            "Status &history…",
            None,
            lambda: self._with_patient(
                lambda p: open_history_dialog(window, self.context, p, on_open=self.opened.emit)
            ),
        )
        self.pattern = self._action("Clinic &ID pattern…", None, lambda: open_pattern_dialog(window, self.context))
        for action in (self.new_patient, self.edit_details, self.reassign, self.checkin):
            self._place(menu, first, action)
        self._place(menu, first, self.status_menu.menuAction())
        for action in (self.history, self.pattern):
            self._place(menu, first, action)
        if first is not None:
            menu.insertSeparator(first)
        window.patient_changed.connect(self._patient_changed)
        self.context.changes.changed.connect(self._on_changes)
        self._update()

    @staticmethod
    def _place(menu: QMenu, before: QAction | None, action: QAction) -> None:
        """Administration comes first in the Patient menu."""
        if before is None:
            menu.addAction(action)
        else:
            menu.insertAction(before, action)

    def _action(self, text: str, shortcut: str | None, slot: Callable) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(
            "admin_" + text.replace("&", "").rstrip("…").lower().replace(" ", "_").replace("(", "").replace(")", "")
        )
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.window.addAction(action)  # shortcuts work even while the menu is closed
        return action

    # --- state ------------------------------------------------------------------------------------

    def _patient_changed(self, _patient_id: int) -> None:
        self.patient = None
        self._update()
        self._reload()

    def _on_changes(self, changes: Changes) -> None:
        current = self.window.current_patient_id()
        if current is not None and changes.touches(current):
            self._reload()

    def _reload(self) -> None:
        patient_id = self.window.current_patient_id()
        if patient_id is None:
            return
        actor = self.context.actor

        def loaded(detail: PatientDetail) -> None:
            if detail.id == self.window.current_patient_id():
                self.patient = detail
                self._update()

        self.context.jobs.run(
            lambda _p, _c: patients.get_patient(actor, patient_id), on_done=loaded, on_error=lambda _e: None
        )

    def _update(self) -> None:
        writable = self.context.actor.can(PERMISSION)
        has_patient = self.window.current_patient_id() is not None
        self.new_patient.setEnabled(writable)
        self.pattern.setEnabled(writable)
        for action in (self.edit_details, self.reassign, self.checkin):
            action.setEnabled(writable and has_patient)
        self.history.setEnabled(has_patient)
        possible = events_for(self.patient) if self.patient is not None else ()
        for event, action in self.status_actions.items():
            action.setEnabled(writable and event in possible)
        self.status_menu.setEnabled(writable and has_patient)

    # --- opening ------------------------------------------------------------------------------------

    def _with_patient(self, then: Callable[[PatientDetail], None]) -> None:
        """Read the open patient fresh (its current version) on the database thread, then act."""
        patient_id = self.window.current_patient_id()
        if patient_id is None:
            return
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: patients.get_patient(actor, patient_id),
            on_done=then,
            on_error=lambda exc: show_error(self.window, exc),
        )

    def open_new(self) -> None:
        if not self.new_patient.isEnabled():
            return
        open_patient_dialog(
            self.window,
            self.context,
            open_patient=self._open_existing,
            on_saved=self._registered,
            on_open=self.opened.emit,
        )

    def _open_existing(self, patient_id: int, clinic_id: str) -> None:
        self._reveal(patient_id, clinic_id)

    def _registered(self, detail: PatientDetail) -> None:
        self._reveal(detail.id, detail.clinic_id)

    def _reveal(self, patient_id: int, clinic_id: str) -> None:
        """Open the patient and show them selected in the list (the window's own way,
        where it has one)."""
        reveal = getattr(self.window, "reveal_patient", None)
        if reveal is not None:
            reveal(patient_id, clinic_id)
        else:
            self.window.open_patient(patient_id)

    def _edit(self, patient: PatientDetail) -> None:
        open_patient_dialog(
            self.window, self.context, existing=patient, open_patient=self._open_existing, on_open=self.opened.emit
        )

    def _status(self, patient: PatientDetail, event: str) -> None:
        if event not in events_for(patient):  # changed on another workstation since the menu was set
            now = episodes.label(patient.status).lower()
            show_error(
                self.window, ValidationError(f"{patient_label(patient, self.context)} is now {now}", field="event")
            )
            return
        open_status_dialog(self.window, self.context, patient, event, on_open=self.opened.emit)


def install_admin_actions(window: Any) -> AdminActions:
    """Add patient administration to the main window's Patient menu (once)."""
    actions = window.findChild(AdminActions)
    return actions if actions is not None else AdminActions(window)
