"""All administrations of one instrument for one patient, newest first, to correct or
delete a measurement (with confirmation, Undo and an audit copy)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from teamdash.clinical import instruments
from teamdash.services import measurements
from teamdash.services.measurements import MeasurementResult
from teamdash.services.patients import PatientDetail
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.measurement_dialog import delete_measurement, open_measurement_dialog
from ui.dialogs.record_dialog import title_with_patient
from ui.errors import show_error
from ui.widgets import palette
from ui.widgets.table import Column, RecordTable


def _named(m: MeasurementResult) -> str:
    return "; ".join(f"{name} {'–' if rating is None else f'{rating:g}'}" for name, rating in m.named_ratings()) or "—"


def _columns(inst) -> tuple[Column, ...]:
    named = (Column(inst.item_name_words(2).capitalize(), _named),) if inst.named_items else ()
    return (
        Column("Taken", lambda m: f"{m.taken_at:%d %b %Y %H:%M}"),
        Column("Total", lambda m: inst.format(m.total) + (" (prorated)" if m.prorated else ""), numeric=True),
        Column("Band", lambda m: m.band or "—"),
        *named,
        Column("Missing items", lambda m: ", ".join(map(str, (m.details or {}).get("missing_items") or [])) or "—"),
        Column(
            "Safety",
            lambda m: ("open" if m.safety_open else "acknowledged") if m.safety else "—",
            colour=lambda m: palette.SAFETY if m.safety_open else None,
        ),
        Column("Entered by", lambda m: m.entered_by_name or m.source),
        Column("Note", lambda m: (m.note or "").replace("\n", " "), stretch=True),
    )


class MeasurementHistoryDialog(QDialog):
    def __init__(
        self,
        context: AppContext,
        patient: PatientDetail,
        instrument_id: str,
        rows: list[MeasurementResult],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.context, self.patient = context, patient
        self.instrument = instruments.get(instrument_id)
        self.setObjectName("dialog_history")
        title_with_patient(self, context, patient, f"{self.instrument.short_name} history")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{self.instrument.name}</b>"))
        self.table = RecordTable(_columns(self.instrument), self, max_rows=14)
        self.table.setObjectName("table_history")
        self.table.setMinimumWidth(760)
        self.table.edit_requested.connect(self.edit)
        self.table.delete_requested.connect(self.delete)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.edit_button = QPushButton("Correct…")
        self.edit_button.setObjectName("edit_measurement")
        self.edit_button.clicked.connect(lambda: self.edit(self.table.selected()))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("delete_measurement")
        self.delete_button.clicked.connect(lambda: self.delete(self.table.selected()))
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        writable = context.actor.can("write_clinical")
        self.edit_button.setEnabled(writable)
        self.delete_button.setEnabled(writable)
        self.set_rows(rows)
        self.table.select_first()
        context.changes.changed.connect(self._on_changes)

    def set_rows(self, rows: list[MeasurementResult]) -> None:
        self.table.set_rows(sorted(rows, key=lambda m: (m.taken_at, m.id), reverse=True))

    def edit(self, row: MeasurementResult | None) -> None:
        if row is not None and self.context.actor.can("write_clinical"):
            open_measurement_dialog(self, self.context, self.patient, existing=row)

    def delete(self, row: MeasurementResult | None) -> None:
        if row is not None and self.context.actor.can("write_clinical"):
            delete_measurement(self, self.context, row)

    def _on_changes(self, changes: Changes) -> None:
        if not changes.touches(self.patient.id) or not self.isVisible():
            return
        actor, patient_id, instrument_id = self.context.actor, self.patient.id, self.instrument.id
        self.context.jobs.run(
            lambda _p, _c: measurements.list_measurements(actor, patient_id, instrument_id),
            on_done=self.set_rows,
            on_error=lambda exc: show_error(self, exc),
        )
