"""One discipline's tab, rendered from ``resources/disciplines.toml``: the same spine
for every discipline (measures, sessions, goals) plus the special parts it lists."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from teamdash import disciplines, record as records
from teamdash.record import PatientRecord
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.panels.instruments_section import InstrumentsSection

# Instruments a special part shows in its own richer way instead of a line of its own.
SHOWN_BY_PARTS = {"sleep_diary": "sleep_diary"}


class DisciplinePanel(QScrollArea):
    """``set_record`` fills it. After a write anywhere (the change bus) it reloads its
    patient's record on the database thread, at once when visible, else when next shown."""

    record_loaded = Signal(object)  # PatientRecord, after every refresh (tests, host views)

    def __init__(self, discipline_code: str, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.discipline = disciplines.get(discipline_code)
        self.context = context
        self.record: PatientRecord | None = None
        self._stale = False
        self._loading = False
        self.setObjectName(f"panel_{discipline_code}")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        self.layout_ = QVBoxLayout(content)
        self.layout_.setContentsMargins(10, 10, 10, 10)
        self.layout_.setSpacing(10)
        self.sections: list = []
        instrument_ids = tuple(i for i in self.discipline.key_instruments
                               if SHOWN_BY_PARTS.get(i) not in self.discipline.special_parts)
        self.instruments = self._add(InstrumentsSection(instrument_ids))
        self.layout_.addStretch(1)
        self.setWidget(content)
        self.setEnabled(False)
        context.changes.changed.connect(self._on_changes)

    def _add(self, section):
        self.layout_.addWidget(section)
        self.sections.append(section)
        return section

    # --- filling ------------------------------------------------------------------------

    def set_record(self, record: PatientRecord) -> None:
        self.record = record
        self._stale = False
        self.setEnabled(True)
        for section in self.sections:
            section.set_record(record)
        self.record_loaded.emit(record)

    def patient_id(self) -> int | None:
        return self.record.patient.id if self.record else None

    # --- refreshing after writes ----------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        if self.record is None or not changes.touches(self.patient_id()):
            return
        self._stale = True
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.reload()

    def reload(self) -> None:
        if self.record is None or self._loading:
            return
        self._loading = True
        patient_id, actor, today = self.patient_id(), self.context.actor, self.context.today()
        self.context.jobs.run(
            lambda _progress, _cancelled: records.get_record(actor, patient_id, today=today),
            on_done=self._loaded,
            on_error=self._failed,
        )

    def _loaded(self, record: PatientRecord) -> None:
        self._loading = False
        if self.record is not None and record.patient.id == self.record.patient.id:
            self.set_record(record)

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        show_error(self, exc)
