"""One discipline's tab, rendered from ``resources/disciplines.toml``: the same spine
for every discipline (measures, sessions, goals) plus the special parts it lists and
its structured plan items."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from teamdash.clinical import disciplines
from teamdash.errors import NotFound
from teamdash.services import auth, chart
from teamdash.services.chart import PatientRecord
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.form import show_dialog
from ui.dialogs.history_dialog import MeasurementHistoryDialog
from ui.dialogs.measurement_dialog import open_measurement_dialog
from ui.errors import show_error
from ui.panels.body_measures import BodyMeasuresCard
from ui.panels.courses import CoursesPart
from ui.panels.flares import FlaresSection
from ui.panels.goals_section import GoalsSection
from ui.panels.graded_activity import GradedActivityPart
from ui.panels.instruments_section import InstrumentsSection
from ui.panels.plan_items import PlanItemsSection
from ui.panels.safety import SafetySection
from ui.panels.sessions_section import SessionsSection
from ui.panels.sleep_diary import SleepDiaryPart
from ui.panels.social import ReturnToWorkPart, SupportNetworkSection
from ui.widgets.cards import Card

# The widgets behind the names a discipline lists in ``special_parts``. "safety" is
# placed first (see _add_safety), the others in the order the discipline lists them.
PARTS: dict[str, Callable[[AppContext], QWidget]] = {
    "graded_activity": GradedActivityPart,
    "flares": FlaresSection,
    "courses": CoursesPart,
    "body_measures": lambda _context: BodyMeasuresCard(),
    "sleep_diary": SleepDiaryPart,
    "support_network": SupportNetworkSection,
    "return_to_work": ReturnToWorkPart,
}
SAFETY_PART = "safety"
# Instruments a special part shows in its own richer way instead of a line of its own.
SHOWN_BY_PARTS = {"sleep_diary": "sleep_diary"}
SectionT = TypeVar("SectionT", bound=QWidget)


def known_parts() -> frozenset[str]:
    return frozenset(PARTS) | {SAFETY_PART}


class DisciplinePanel(QScrollArea):
    """``set_record`` fills it. After a write anywhere (the change bus) it reloads its
    patient's record on the database thread, at once when visible, else when next shown."""

    record_loaded = Signal(object)  # PatientRecord, after every refresh (tests, host views)

    def __init__(self, discipline_code: str, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.discipline = disciplines.get(discipline_code)
        unknown = set(self.discipline.special_parts) - known_parts()
        if unknown:
            raise NotFound(
                f"disciplines.toml: discipline {discipline_code!r} lists unknown part(s) {', '.join(sorted(unknown))}"
                f" (known: {', '.join(sorted(known_parts()))})"
            )
        self.context = context
        self.record: PatientRecord | None = None
        # A host that reloads the record itself after writes and calls set_record (the
        # patient view) may turn this off to save the panel's own reload.
        self.auto_reload = True
        self._stale = False
        self._loading = False
        self.setObjectName(f"panel_{discipline_code}")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget()
        content.setObjectName("panel_content")
        self.layout_ = QVBoxLayout(content)
        self.layout_.setContentsMargins(10, 10, 10, 10)
        self.layout_.setSpacing(10)
        self.sections: list = []
        self.parts: dict[str, QWidget] = {}
        self._build()
        self.layout_.addStretch(1)
        self.setWidget(content)
        self.setEnabled(False)
        context.changes.changed.connect(self._on_changes)
        context.presentation.privacy_changed.connect(self._privacy_changed)

    # --- building -------------------------------------------------------------------------

    def _build(self) -> None:
        code, parts = self.discipline.code, self.discipline.special_parts
        self._add_safety(full=SAFETY_PART in parts)
        # The discipline's key instruments and any clinic-defined instrument of the discipline.
        instrument_ids = tuple(i for i in disciplines.measures(code) if SHOWN_BY_PARTS.get(i) not in parts)
        self.instruments = self._add(InstrumentsSection(instrument_ids))
        self.instruments.add_action(
            "Record measurement…",
            "Record any measure for this patient (Ctrl+M)",
            lambda: self.record_measurement(None),
            name="record_measurement",
        )
        self.instruments.record_requested.connect(self.record_measurement)
        self.instruments.history_requested.connect(self.show_history)
        for name in parts:
            if name != SAFETY_PART:
                self.parts[name] = self._add(PARTS[name](self.context))
        if self.discipline.plan_categories:
            self.plan_items = self._add(PlanItemsSection(code, self.context))
        self.sessions = self._add(SessionsSection(code, self.context))
        self.goals = self._add(GoalsSection(code, self.context))

    def _add_safety(self, *, full: bool) -> None:
        """Open safety flags show on every tab and cannot be hidden; the discipline that
        owns the measure shows the full history with acknowledgements in a card."""
        self.safety = SafetySection(self.context, compact=not full)
        if full:
            card = Card("Safety: PHQ-9 item 9", object_name="card_safety")
            card.body.addWidget(self.safety)
            self.layout_.addWidget(card)
        else:
            self.layout_.addWidget(self.safety)
        self.sections.append(self.safety)

    def _add(self, section: SectionT) -> SectionT:
        self.layout_.addWidget(section)
        self.sections.append(section)
        return section

    # --- filling ----------------------------------------------------------------------------

    def set_record(self, record: PatientRecord) -> None:
        self.record = record
        self._stale = False
        self.setEnabled(True)
        for section in self.sections:
            section.set_record(record)
        self.instruments.set_writable(self.may_record_measures())
        self.record_loaded.emit(record)

    def _privacy_changed(self, _on: bool) -> None:
        if self.record is not None:  # redraw names (supporters) for the new mode
            self.set_record(self.record)

    def patient_id(self) -> int | None:
        return self.record.patient.id if self.record else None

    # --- actions ------------------------------------------------------------------------------

    def may_record_measures(self) -> bool:
        """This discipline's staff record its measures; a clinician who treats the
        patient records any measure."""
        treating = self.record is not None and self.record.treating
        return auth.allows(self.context.actor, "write_clinical", discipline=self.discipline.code, treating=treating)

    def record_measurement(self, instrument_id: str | None):
        """Open the measurement form (for one instrument, or with a chooser); returns it."""
        if self.record is not None and self.may_record_measures():
            return open_measurement_dialog(
                self, self.context, self.record.patient, instrument_id=instrument_id, discipline=self.discipline.code
            )
        return None

    def show_history(self, instrument_id: str) -> MeasurementHistoryDialog | None:
        if self.record is None:
            return None
        return show_dialog(
            MeasurementHistoryDialog(
                self.context, self.record.patient, instrument_id, self.record.series(instrument_id), self
            )
        )

    # --- refreshing after writes ------------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        if not self.auto_reload or self.record is None or not changes.touches(self.patient_id()):
            return
        self._stale = True
        if self.isVisible():
            self.reload()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def reload(self) -> None:
        if self.record is None or self._loading:
            return
        self._loading = True
        self._stale = False
        patient_id, actor, today = self.record.patient.id, self.context.actor, self.context.today()
        self.context.jobs.run(
            lambda _progress, _cancelled: chart.get_record(actor, patient_id, today=today),
            on_done=self._loaded,
            on_error=self._failed,
        )

    def _loaded(self, record: PatientRecord) -> None:
        self._loading = False
        again = self._stale  # another write landed while this load was running
        if self.record is not None and record.patient.id == self.record.patient.id:
            self.set_record(record)
        if again:
            self._stale = True
            if self.isVisible():
                self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        show_error(self, exc)
