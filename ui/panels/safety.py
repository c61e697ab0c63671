"""Safety flags from positive safety items (PHQ-9 item 9). An open flag is shown in red
with its Acknowledge button and cannot be hidden; an acknowledged one stays in the
record with who acknowledged it, when, and the action taken."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from teamdash.services import auth
from teamdash.services.chart import PatientRecord
from teamdash.services.measurements import MeasurementResult
from ui.context import AppContext
from ui.dialogs.form import show_dialog
from ui.dialogs.safety_dialog import AcknowledgeDialog, flag_item, flag_reason
from ui.widgets import palette
from ui.widgets.cards import muted


def box_style(name: str, opened: bool) -> str:
    if opened:
        return (
            f"QFrame#{name} {{ background: {palette.SAFETY_BACKGROUND}; border: 2px solid {palette.SAFETY};"
            " border-radius: 6px; }"
        )
    return (
        f"QFrame#{name} {{ background: {palette.ACKNOWLEDGED_BACKGROUND}; border: 1px solid {palette.CARD_BORDER};"
        " border-radius: 6px; }"
    )


def safety_measurements(record: PatientRecord) -> list[MeasurementResult]:
    """Every measurement with a positive safety item, open ones first, newest first."""
    flagged = sorted((m for m in record.measurements if m.safety), key=lambda m: m.taken_at, reverse=True)
    return [m for m in flagged if m.safety_open] + [m for m in flagged if not m.safety_open]


class FlagBox(QFrame):
    def __init__(self, measurement: MeasurementResult, on_acknowledge, *, writable: bool):
        super().__init__()
        name = f"safety_{measurement.id}"
        self.setObjectName(name)
        opened = measurement.safety_open
        self.setStyleSheet(box_style(name, opened))
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 8, 10, 8)
        text = QLabel()
        text.setWordWrap(True)
        text.setObjectName("safety_text")
        reason = flag_reason(measurement)
        if opened:
            text.setText(
                f"<span style='color:{palette.SAFETY}; font-weight:bold; font-size:large'>⚠ Safety flag — not yet "
                f"acknowledged</span><br><b>{measurement.taken_at:%d %b %Y %H:%M}</b>: {reason}"
            )
        else:
            text.setText(
                f"<b>Safety flag of {measurement.taken_at:%d %b %Y}</b> — acknowledged by "
                f"<b>{measurement.acknowledged_by or 'unknown'}</b> on {measurement.acknowledged_at:%d %b %Y %H:%M}"
                f"<br>Action taken: {measurement.action_taken or '—'}<br>"
                f"<span style='color:{palette.NEUTRAL}'>{reason}</span>"
            )
        row.addWidget(text, 1)
        if opened:
            button = QPushButton("Acknowledge…")
            button.setObjectName(f"acknowledge_{measurement.id}")
            button.setAccessibleName(f"Acknowledge the safety flag of {measurement.taken_at:%d %b %Y}")
            button.setEnabled(writable)
            button.setToolTip("Record that you reviewed this and what was done")
            button.clicked.connect(lambda: on_acknowledge(measurement))
            row.addWidget(button)


class FlagStrip(QFrame):
    """One slim red bar for the other tabs: how many flags are open and when, with the
    acknowledgement of the newest one a click away. Never hidden while a flag is open."""

    def __init__(self, open_flags: list[MeasurementResult], on_acknowledge, *, writable: bool):
        super().__init__()
        self.setObjectName("safety_strip")
        self.setStyleSheet(box_style("safety_strip", True))
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        dates = ", ".join(f"{m.taken_at:%d %b %Y}" for m in open_flags)
        count = len(open_flags)
        text = QLabel(
            f"<span style='color:{palette.SAFETY}; font-weight:bold'>⚠ {count} safety flag{'s' if count != 1 else ''}"
            f" not yet acknowledged</span> — {flag_item(open_flags[0])} positive on {dates}"
        )
        text.setObjectName("safety_text")
        text.setWordWrap(True)
        text.setToolTip("\n\n".join(flag_reason(m) for m in open_flags))
        row.addWidget(text, 1)
        newest = open_flags[0]
        button = QPushButton("Acknowledge…")
        button.setObjectName(f"acknowledge_{newest.id}")
        button.setAccessibleName(f"Acknowledge the safety flag of {newest.taken_at:%d %b %Y}")
        button.setToolTip(f"Acknowledge the flag of {newest.taken_at:%d %b %Y}")
        button.setEnabled(writable)
        button.clicked.connect(lambda: on_acknowledge(newest))
        row.addWidget(button)


class SafetySection(QWidget):
    """``compact``: only open flags, nothing when there are none (the other tabs);
    otherwise the full history with a quiet line when there is nothing (psychology)."""

    def __init__(self, context: AppContext, *, compact: bool):
        super().__init__()
        self.setObjectName("safety_compact" if compact else "safety_full")
        self.context, self.compact = context, compact
        self.record: PatientRecord | None = None
        self.boxes: list[QFrame] = []
        self.shown: list[MeasurementResult] = []
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(6)
        self.none = muted("No positive safety item (PHQ-9 item 9) recorded.")
        self.layout_.addWidget(self.none)

    def set_record(self, record: PatientRecord) -> None:
        self.record = record
        for box in self.boxes:
            box.deleteLater()
        self.boxes = []
        shown = safety_measurements(record)
        if self.compact:
            shown = [m for m in shown if m.safety_open]
        self.shown = shown
        # Acknowledging a PHQ-9 item 9: psychology, or a clinician who treats the patient.
        writable = auth.allows(self.context.actor, "write_clinical", discipline="psychology", treating=record.treating)
        if self.compact and shown:
            self.boxes.append(FlagStrip(shown, self.acknowledge, writable=writable))
        elif not self.compact:
            self.boxes.extend(FlagBox(m, self.acknowledge, writable=writable) for m in shown)
        for box in self.boxes:
            self.layout_.addWidget(box)
        self.none.setVisible(not shown and not self.compact)
        self.setVisible(bool(shown) or not self.compact)

    def open_count(self) -> int:
        """Open (unacknowledged) flags on show."""
        return sum(1 for m in self.shown if m.safety_open)

    def acknowledge(self, measurement: MeasurementResult) -> AcknowledgeDialog | None:
        if self.record is None:
            return None
        return show_dialog(AcknowledgeDialog(self.context, self.record.patient, measurement, self))
