"""A card showing one of the patient's plans (a graded activity plan, a course): a
chooser when there are several, New / Edit / Delete of the chosen one, an empty state.
Subclasses say which plans the record holds and how one is shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from teamdash.services.chart import PatientRecord
from ui.context import AppContext
from ui.dialogs.kinds import KindUi
from ui.dialogs.record_dialog import delete_record, open_record_dialog
from ui.widgets.cards import Card, muted

# (button text, tooltip, object name) for New, Edit and Delete
Buttons = tuple[tuple[str, str, str], tuple[str, str, str], tuple[str, str, str]]


class ChosenPlanCard(Card):
    kind: KindUi  # the record-dialog kind of the plan (each subclass names it)
    discipline = ""

    def __init__(
        self,
        context: AppContext,
        on_changed: Callable[[], None],
        *,
        title: str,
        object_name: str,
        chooser_name: str,
        buttons: Buttons,
        empty: str,
    ):
        super().__init__(title, object_name=object_name)
        self.context = context
        self.record: PatientRecord | None = None
        self._on_changed = on_changed
        self.chooser = QComboBox()
        self.chooser.setObjectName(chooser_name)
        self.chooser.setAccessibleName(f"Choose from {title.lower()}")
        self.chooser.currentIndexChanged.connect(lambda _i: self._show_selected())
        self._actions.addWidget(self.chooser)
        (add, edit, delete) = buttons
        self.add_button = self.add_action(add[0], add[1], self.add, name=add[2])
        self.edit_button = self.add_action(edit[0], edit[1], self.edit, name=edit[2])
        self.delete_button = self.add_action(delete[0], delete[1], self.delete, name=delete[2])
        self.empty = muted(empty)
        self.body.addWidget(self.empty)
        self.content = QWidget()  # filled by the subclass
        self.body.addWidget(self.content)

    # --- what subclasses provide ---------------------------------------------------------------

    def plans(self, record: PatientRecord) -> Sequence:
        """The record's plans of this kind, each with its child rows."""
        raise NotImplementedError

    def plan_of(self, item):
        """The plan row (id, status, started_on) of one of ``plans()``."""
        raise NotImplementedError

    def label(self, item) -> str:
        raise NotImplementedError

    def show_plan(self, item) -> None:
        raise NotImplementedError

    # --- choosing --------------------------------------------------------------------------------

    def selected(self):
        if self.record is None:
            return None
        chosen_id = self.chooser.currentData()
        return next((p for p in self.plans(self.record) if self.plan_of(p).id == chosen_id), None)

    def set_record(self, record: PatientRecord) -> None:
        keep = self.chooser.currentData()
        self.record = record
        items = self.plans(record)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for item in items:
            self.chooser.addItem(self.label(item), self.plan_of(item).id)
        # Keep the plan the user chose; otherwise show the newest active one.
        active = [p for p in items if self.plan_of(p).status == "active"] or list(items)
        ids = [self.plan_of(p).id for p in items]
        wanted = keep if keep in ids else (self.plan_of(active[-1]).id if active else None)
        self.chooser.setCurrentIndex(max(0, self.chooser.findData(wanted)))
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(items) > 1)
        self._show_selected()

    def _show_selected(self) -> None:
        chosen = self.selected()
        writable = self.kind.writable(self.context.actor, self.discipline or None, self.record)
        self.add_button.setEnabled(writable and self.record is not None)
        self.edit_button.setEnabled(writable and chosen is not None)
        self.delete_button.setEnabled(writable and chosen is not None)
        self.empty.setVisible(chosen is None)
        self.content.setVisible(chosen is not None)
        if chosen is not None:
            self.show_plan(chosen)
        self._on_changed()

    # --- actions ---------------------------------------------------------------------------------

    def add(self) -> None:
        if self.record is not None:
            open_record_dialog(
                self,
                self.context,
                self.kind,
                patient=self.record.patient,
                record=self.record,
                discipline=self.discipline,
            )

    def edit(self) -> None:
        chosen, record = self.selected(), self.record
        if chosen is not None and record is not None:
            open_record_dialog(
                self,
                self.context,
                self.kind,
                patient=record.patient,
                record=record,
                discipline=self.discipline,
                existing=self.plan_of(chosen),
            )

    def delete(self) -> None:
        chosen, record = self.selected(), self.record
        if chosen is not None and record is not None:
            delete_record(self, self.context, self.kind, self.plan_of(chosen), patient_id=record.patient.id)


def content_row(card: ChosenPlanCard) -> QHBoxLayout:
    """The horizontal layout of the card's content (figures left, chart right)."""
    row = QHBoxLayout(card.content)
    row.setContentsMargins(0, 0, 0, 0)
    return row
