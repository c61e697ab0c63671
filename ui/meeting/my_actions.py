"""Meeting → My action items…: what the person at the workstation has taken on, across
patients; overdue ones first, marked in words and colour. Enter opens the patient,
Ctrl+D marks the item done. Patients are named by initials in presentation mode."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from teamdash.clinical import disciplines
from teamdash.services import worklist
from teamdash.services.action_items import ACTION_ITEMS
from teamdash.services.worklist import WorkItem
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.meeting.common import day
from ui.widgets import palette
from ui.widgets.table import Column, RecordTable


def _due(item: WorkItem) -> str:
    if item.action.status != "open":
        return item.action.status.capitalize()
    if item.action.due_on is None:
        return "No due date"
    return f"OVERDUE since {day(item.action.due_on)}" if item.overdue else day(item.action.due_on)


class MyActionItemsDialog(QDialog):
    def __init__(self, context: AppContext, open_patient: Callable[[int], None], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("myActionItems")
        self.context = context
        self.open_patient = open_patient
        self.items: list[WorkItem] = []
        columns = [
            Column("Due", _due, colour=lambda w: palette.OVERDUE if w.overdue else None),
            Column("Patient", lambda w: f"{w.clinic_id} · {self.context.presentation.name(w)}"),
            Column("Action", lambda w: w.action.text, stretch=True),
            Column("Discipline", lambda w: disciplines.get(w.action.discipline).short if w.action.discipline else "–"),
        ]
        self.table = RecordTable(columns, self, max_rows=16)
        self.table.setObjectName("myActionsTable")
        self.table.setAccessibleName("My action items: Enter opens the patient, Ctrl+D marks an item done")
        self.table.edit_requested.connect(self._open)
        self.summary = QLabel(self)
        self.summary.setObjectName("myActionsSummary")
        self.show_done = QCheckBox("Show &done and cancelled items", self)
        self.show_done.setAccessibleName("Show done and cancelled items")
        self.show_done.toggled.connect(lambda _on: self.reload())
        self.done_button = QPushButton("Mark &done", self)
        self.done_button.setAccessibleName("Mark the selected action item done (Ctrl+D)")
        self.done_button.clicked.connect(self.mark_done)
        self.open_button = QPushButton("&Open patient", self)
        self.open_button.setAccessibleName("Open the selected item's patient (Enter)")
        self.open_button.clicked.connect(lambda: self._open(self.table.selected()))
        close = QPushButton("Close", self)
        close.setAccessibleName("Close")
        close.clicked.connect(self.reject)
        for button in (self.done_button, self.open_button, close):
            button.setAutoDefault(False)
        QShortcut(QKeySequence("Ctrl+D"), self, self.mark_done)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_done)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.resize(860, 460)
        context.presentation.follow(self, self._retitle)
        context.presentation.privacy_changed.connect(self._privacy)
        context.changes.changed.connect(self._changed)
        self.reload()

    def _retitle(self) -> None:
        self.setWindowTitle(f"My action items — {self.context.actor.display_name}")

    def _privacy(self, _on: bool) -> None:
        self.table.set_rows(self.items)

    def _changed(self, changes: Changes) -> None:
        if "action" in changes.kinds or changes.patient_ids is None:
            self.reload()

    def reload(self) -> None:
        actor, today, closed = self.context.actor, self.context.today(), self.show_done.isChecked()
        if actor.user_id is None:
            self.summary.setText("Choose who you are (File → Switch user…) to see your action items.")
            self.table.set_rows([])
            return
        self.context.jobs.run(
            lambda _p, _c: worklist.action_items_for(actor, include_closed=closed, today=today),
            on_done=self._loaded,
            on_error=lambda exc: show_error(self, exc),
        )

    def _loaded(self, items: list[WorkItem]) -> None:
        self.items = items
        self.table.set_rows(items)
        self.table.select_first()
        open_items = [i for i in items if i.action.status == "open"]
        overdue = sum(1 for i in open_items if i.overdue)
        self.summary.setText(
            f"{len(open_items)} open action item{'s' if len(open_items) != 1 else ''}"
            + (f", {overdue} overdue" if overdue else "")
            if open_items
            else "No open action items."
        )
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _open(self, item: WorkItem | None) -> None:
        if item is not None:
            self.open_patient(item.patient_id)
            self.accept()

    def mark_done(self) -> None:
        item: WorkItem | None = self.table.selected()
        if item is None or item.action.status != "open":
            return
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: ACTION_ITEMS.update(actor, item.action.id, item.action.version, status="done"),
            on_done=lambda _r: self.context.changes.emit(Changes.of(item.patient_id, "action")),
            on_error=lambda exc: show_error(self, exc),
        )
