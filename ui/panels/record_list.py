"""A panel card listing one kind of record with Add / Edit / Delete: the table, the
buttons and their dialogs, for any kind described in ``ui.dialogs.kinds``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QWidget

from teamdash.services.chart import PatientRecord
from ui.context import AppContext
from ui.dialogs.kinds import KindUi
from ui.dialogs.record_dialog import delete_record, open_record_dialog
from ui.widgets.cards import Card, muted
from ui.widgets.table import Column, RecordTable


class RecordListCard(Card):
    def __init__(
        self,
        title: str,
        kind: KindUi,
        columns: Sequence[Column],
        rows: Callable[[PatientRecord], Sequence[Any]],
        context: AppContext,
        *,
        discipline: str | None = None,
        owner: Callable[[PatientRecord], int | None] | None = None,
        empty: str = "Nothing recorded yet.",
        summary: Callable[[PatientRecord, list[Any]], str] | None = None,  # gets the rows listed
        max_rows: int = 10,
        table_width: int | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(title, parent, object_name=f"card_{kind.key}")
        self.kind, self.context, self.discipline = kind, context, discipline
        self._rows, self._owner, self._summary = rows, owner, summary
        self.record: PatientRecord | None = None
        self.add_button = self.add_action("Add…", f"Add a {kind.noun}", self.add, name=f"add_{kind.key}")
        self.edit_button = self.add_action(
            "Edit…", f"Edit the selected {kind.noun} (Enter)", self.edit_selected, name=f"edit_{kind.key}"
        )
        self.delete_button = self.add_action(
            "Delete…", f"Delete the selected {kind.noun} (Del)", self.delete_selected, name=f"delete_{kind.key}"
        )
        self.table = RecordTable(columns, self, max_rows=max_rows)
        self.table.setObjectName(f"table_{kind.key}")
        self.table.setAccessibleName(title)
        self.table.edit_requested.connect(self.edit)
        self.table.delete_requested.connect(self.delete)
        self.empty = muted(empty)
        if table_width is None:
            self.body.addWidget(self.table)
        else:  # a narrow list (two columns) reads better than one stretched across the card
            self.table.setMaximumWidth(table_width)
            row = QHBoxLayout()
            row.addWidget(self.table)
            row.addStretch(1)
            self.body.addLayout(row)
        self.body.addWidget(self.empty)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())

    def owner_id(self) -> int | None:
        if self.record is None:
            return None
        return self._owner(self.record) if self._owner else self.record.patient.id

    def set_record(self, record: PatientRecord) -> None:
        self.record = record
        rows = list(self._rows(record))
        self.table.set_rows(rows)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.summary.setText(self._summary(record, rows) if self._summary else "")
        self._enable()

    def writable(self) -> bool:
        return self.kind.writable(self.context.actor, self.discipline, self.record)

    def _enable(self) -> None:
        writable = self.writable()
        self.add_button.setEnabled(writable and self.owner_id() is not None)
        has_selection = self.table.selected() is not None
        self.edit_button.setEnabled(writable and has_selection)
        self.delete_button.setEnabled(writable and has_selection)

    # --- actions ----------------------------------------------------------------------------

    def add(self) -> None:
        if self.record is None or self.owner_id() is None:
            return
        open_record_dialog(
            self,
            self.context,
            self.kind,
            patient=self.record.patient,
            owner_id=self.owner_id(),
            discipline=self.discipline,
            record=self.record,
        )

    def edit_selected(self) -> None:
        row = self.table.selected()
        if row is not None:
            self.edit(row)

    def edit(self, row: Any) -> None:
        if self.record is None or row is None or not self.writable():
            return
        open_record_dialog(
            self,
            self.context,
            self.kind,
            patient=self.record.patient,
            owner_id=self.owner_id(),
            discipline=self.discipline,
            record=self.record,
            existing=row,
        )

    def delete_selected(self) -> None:
        row = self.table.selected()
        if row is not None:
            self.delete(row)

    def delete(self, row: Any) -> None:
        if self.record is None or row is None or not self.writable():
            return
        delete_record(self, self.context, self.kind, row, patient_id=self.record.patient.id)
