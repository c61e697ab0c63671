"""Acknowledge a positive safety item (PHQ-9 item 9): who saw it, when, and what they
did. The flag stays on the measurement for ever; the acknowledgement ends its 'open'
state. It is a clinical record, so it is not offered for Undo."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from teamdash.clinical import instruments
from teamdash.services import measurements
from teamdash.services.measurements import MeasurementResult
from teamdash.services.patients import PatientDetail
from ui.context import AppContext
from ui.dialogs.fields import Field
from ui.dialogs.form import FormDialog
from ui.dialogs.record_dialog import patient_label, title_with_patient
from ui.dialogs.writes import run_write


def flag_reason(measurement: MeasurementResult) -> str:
    flags = (measurement.details or {}).get("flags") or []
    reasons = [f["reason"] for f in flags if f.get("kind") == "safety"]
    inst = instruments.get(measurement.instrument)
    return reasons[0] if reasons else f"{inst.short_name}: a safety item was answered positively"


def flag_item(measurement: MeasurementResult) -> str:
    """'PHQ-9 item 9': which answer raised the flag."""
    flags = (measurement.details or {}).get("flags") or []
    items = [f["item"] for f in flags if f.get("kind") == "safety"]
    name = instruments.get(measurement.instrument).short_name
    return f"{name} item {items[0]}" if items else f"{name} safety item"


class AcknowledgeDialog(FormDialog):
    def __init__(
        self, context: AppContext, patient: PatientDetail, measurement: MeasurementResult, parent: QWidget | None = None
    ):
        inst = instruments.get(measurement.instrument)
        intro = (
            f"<b>{inst.short_name} of {measurement.taken_at:%d %b %Y %H:%M}</b><br>{flag_reason(measurement)}.<br><br>"
            f"Acknowledging records that <b>{context.actor.display_name}</b> reviewed this now and what was done. "
            "The flag stays visible in the record."
        )
        fields = [
            Field(
                "action_taken",
                "Action taken",
                "note",
                hint="e.g. risk assessed by phone, safety plan agreed, GP informed; crisis line given",
            )
        ]
        super().__init__(f"Acknowledge safety flag — {patient_label(patient, context)}", fields, parent, intro=intro)
        title_with_patient(self, context, patient, "Acknowledge safety flag")
        self.setObjectName("dialog_acknowledge")
        self.save_button.setText("Acknowledge")
        self.context, self.patient, self.measurement = context, patient, measurement
        self.result_row: MeasurementResult | None = None

    def write(self, values: dict[str, Any]) -> None:
        measurement_id, action = self.measurement.id, values["action_taken"]
        run_write(
            self.context,
            lambda actor: measurements.acknowledge_safety(actor, measurement_id, action),
            patient_id=self.patient.id,
            kinds=("measurement", "safety"),
            on_done=self._saved,
            on_error=self.show_failure,
        )

    def _saved(self, result: MeasurementResult) -> None:
        self.result_row = result
        self.succeeded(result)
