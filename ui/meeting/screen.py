"""The team meeting: one patient at a time, laid out for a projector.

Left, the agenda (what is done is ticked); in the middle the patient's header, a few
key timelines and one card per discipline; on the right the open action items, the plan
from the last check-in and what the team types now (``entry.EntryPanel``).

The next and the previous patient are read on the database thread while the team is
still talking about this one, so moving on shows the next patient at once. Names follow
presentation mode (on when a meeting starts; F8 switches it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from teamdash.services import chart, meetings, patients, staff, timelines
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS, ActionItemResult, DecisionResult
from teamdash.services.auth import Actor
from teamdash.services.chart import PatientRecord
from teamdash.services.meetings import MeetingResult, Minutes
from teamdash.services.timelines import PatientTimeline
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.confirm import confirm
from ui.errors import show_error
from ui.meeting.common import agenda_text, agenda_tip, apply_meeting_style, day, key_timelines, widget_shortcut
from ui.meeting.entry import EntryPanel, NewAction
from ui.patient_view import Cards, PatientHeader
from ui.timeline import TimelineView

ITEM_ROLE = int(Qt.ItemDataRole.UserRole)
PRELOAD_AFTER_MS = 60  # read the neighbours once the patient on screen is drawn
TIMELINE_TYPE = 1.2  # the timelines' titles and ticks a size up from the desk screens


@dataclass(frozen=True)
class Brief:
    """What the screen shows for one patient, read in one go on the database thread."""

    record: PatientRecord
    timeline: PatientTimeline
    decisions: list[DecisionResult]
    actions: list[ActionItemResult]


def read_brief(actor: Actor, meeting_id: int, patient_id: int, today: dt.date) -> Brief:
    record = chart.get_record(actor, patient_id, today=today)
    decisions, actions = meetings.meeting_records(actor, meeting_id, patient_id)
    return Brief(record, timelines.build(record), decisions, actions)


class MeetingWindow(QMainWindow):
    ended = Signal(object)  # Minutes, once the meeting has ended
    patient_shown = Signal(int)  # patient id, after the screen shows them (tests, benchmarks)

    def __init__(
        self,
        context: AppContext,
        meeting: MeetingResult,
        *,
        scale: float = 1.0,
        set_scale: Callable[[float], None] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setObjectName("meetingWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.context = context
        self.meeting = meeting
        self.scale = scale
        self._set_app_scale = set_scale
        self.cache: dict[int, Brief] = {}
        self._loading: set[int] = set()
        self._want: int | None = None  # the patient to show as soon as their brief arrives
        self.shown_patient: int | None = None
        self.index = 0
        self.busy = False
        self.closed = False
        self._build()
        self._shortcuts()
        self.apply_scale(scale)
        self._show_agenda()
        context.changes.changed.connect(self._on_changes)
        context.presentation.privacy_changed.connect(self._privacy_changed)
        self._privacy_changed(context.presentation.privacy)
        self._load_staff()
        first = next((n for n, item in enumerate(meeting.items) if not item.reviewed), 0)
        self.show_index(first)

    # --- building ---------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget(self)
        central.setObjectName("meetingCentral")
        self.setCentralWidget(central)

        bar = QFrame(central)
        bar.setObjectName("meetingBar")
        self.title = QLabel(bar)
        self.title.setObjectName("meetingTitle")
        self.position = QLabel(bar)
        self.position.setObjectName("meetingPosition")
        self.privacy_badge = QLabel("Names hidden (F8)", bar)
        self.privacy_badge.setObjectName("privacyBadge")
        self.previous_button = self._bar_button(bar, "◀ Previous", "Previous patient (Alt+Left)", self.previous_patient)
        self.next_button = self._bar_button(bar, "Next ▶", "Next patient (Alt+Right)", self.next_patient)
        self.end_button = self._bar_button(
            bar, "End meeting…", "End the meeting and save its minutes (Ctrl+Shift+E)", self.end_meeting
        )
        self.end_button.setObjectName("endMeeting")
        top = QHBoxLayout(bar)
        top.setContentsMargins(10, 6, 10, 6)
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.position)
        top.addStretch(1)
        top.addWidget(self.privacy_badge)
        top.addSpacing(10)
        for button in (self.previous_button, self.next_button, self.end_button):
            top.addWidget(button)

        self.agenda = QListWidget(central)
        self.agenda.setObjectName("agenda")
        self.agenda.setAccessibleName(
            "Agenda (Ctrl+G): Enter shows a patient, Alt+Up and Alt+Down move, Delete removes"
        )
        self.agenda.setWordWrap(False)
        self.agenda.itemActivated.connect(lambda item: self.show_index(self.agenda.row(item)))
        self.add_button = self._plain_button(central, "Add…", "Add a patient by clinic ID (Insert)", self.add_patient)
        self.remove_button = self._plain_button(
            central, "Remove", "Take the patient off the agenda (Delete)", self.remove_patient
        )
        agenda_box = QWidget(central)
        agenda_box.setObjectName("agendaBox")
        agenda_layout = QVBoxLayout(agenda_box)
        agenda_layout.setContentsMargins(8, 8, 0, 8)
        agenda_layout.setSpacing(4)
        self.agenda_title = QLabel("Agenda", agenda_box)
        self.agenda_title.setObjectName("sectionTitle")
        agenda_layout.addWidget(self.agenda_title)
        agenda_layout.addWidget(self.agenda, 1)
        agenda_buttons = QHBoxLayout()
        agenda_buttons.addWidget(self.add_button)
        agenda_buttons.addWidget(self.remove_button)
        agenda_layout.addLayout(agenda_buttons)

        self.header = PatientHeader(self.context, central)
        self.header.show_action_items(False)  # the right-hand column lists them, overdue ones marked
        self.timeline = TimelineView(central)
        self.timeline.pick = key_timelines
        self.cards = Cards(central)
        self.cards.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loading = QLabel("Loading…", central)
        self.loading.setObjectName("meetingEmpty")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.middle = QSplitter(Qt.Orientation.Vertical, central)
        self.middle.setObjectName("meetingMiddle")
        self.middle.setChildrenCollapsible(False)
        self.middle.addWidget(self.timeline)
        self.middle.addWidget(self.cards)
        self.middle.setStretchFactor(0, 3)
        self.middle.setStretchFactor(1, 2)
        self.view_stack = QStackedWidget(central)
        self.view_stack.addWidget(self.middle)
        self.view_stack.addWidget(self.loading)
        centre = QWidget(central)
        centre.setObjectName("meetingPatient")
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(6, 8, 6, 8)
        centre_layout.setSpacing(6)
        centre_layout.addWidget(self.header)
        centre_layout.addWidget(self.view_stack, 1)

        held_on = self.meeting.held_on
        self.entry = EntryPanel(held_on, meetings.default_next_checkin(held_on), central)
        self.entry.decision_entered.connect(self.add_decision)
        self.entry.action_entered.connect(self.add_action)
        self.entry.remove_requested.connect(self.remove_entry)
        self.entry.reviewed_requested.connect(self.mark_reviewed)

        self.columns = QSplitter(Qt.Orientation.Horizontal, central)
        self.columns.setObjectName("meetingColumns")
        self.columns.setChildrenCollapsible(False)
        self.columns.addWidget(agenda_box)
        self.columns.addWidget(centre)
        self.columns.addWidget(self.entry)
        self.columns.setStretchFactor(0, 0)
        self.columns.setStretchFactor(1, 1)
        self.columns.setStretchFactor(2, 0)
        self._sized = False
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.columns, 1)

    def _bar_button(self, parent: QWidget, text: str, tip: str, slot) -> QPushButton:
        button = self._plain_button(parent, text, tip, slot)
        button.setAccessibleName(tip)
        return button

    def _plain_button(self, parent: QWidget, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, parent)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    def _shortcuts(self) -> None:
        keys: list[tuple[str, Callable[[], None]]] = [
            ("Alt+Right", self.next_patient),
            ("Ctrl+PgDown", self.next_patient),
            ("Alt+Left", self.previous_patient),
            ("Ctrl+PgUp", self.previous_patient),
            ("Ctrl+D", self.entry.focus_decision),
            ("Ctrl+I", self.entry.focus_action),
            ("Ctrl+Return", self.entry._reviewed),
            ("Ctrl+Enter", self.entry._reviewed),
            ("Ctrl+G", lambda: self.agenda.setFocus(Qt.FocusReason.ShortcutFocusReason)),
            ("Ctrl+Shift+E", self.end_meeting),
            ("F11", self._toggle_full_screen),
            ("Ctrl+=", lambda: self._zoom(+0.1)),
            ("Ctrl++", lambda: self._zoom(+0.1)),
            ("Ctrl+-", lambda: self._zoom(-0.1)),
        ]
        for key, slot in keys:
            QShortcut(QKeySequence(key), self, slot)
        widget_shortcut("Alt+Up", self.agenda, lambda: self.move_patient(-1))
        widget_shortcut("Alt+Down", self.agenda, lambda: self.move_patient(1))
        widget_shortcut("Delete", self.agenda, self.remove_patient)
        QShortcut(QKeySequence("Insert"), self, self.add_patient)

    # --- the agenda -------------------------------------------------------------------

    def _show_agenda(self) -> None:
        presentation = self.context.presentation
        self.agenda.blockSignals(True)
        self.agenda.clear()
        for n, item in enumerate(self.meeting.items, start=1):
            line = QListWidgetItem(agenda_text(n, item, item.agenda_group, presentation, reviewed=item.reviewed))
            line.setToolTip(agenda_tip(item.agenda_group, item.reason, reviewed=item.reviewed))
            line.setData(ITEM_ROLE, item.patient)
            self.agenda.addItem(line)
        if 0 <= self.index < self.agenda.count():
            self.agenda.setCurrentRow(self.index)
        self.agenda.blockSignals(False)
        done, total = self.meeting.reviewed_count, len(self.meeting.items)
        self.agenda_title.setText(f"Agenda ({done} of {total} reviewed)")
        self._update_titles()

    def _update_titles(self) -> None:
        m = self.meeting
        self.title.setText(f"Team meeting {day(m.held_on)} · {len(m.attendees)} attending")
        total = len(m.items)
        item = m.items[self.index] if 0 <= self.index < total else None
        self.position.setText(f"Patient {self.index + 1} of {total}" if item else "")
        patient = f" — {self.context.presentation.label(item)}" if item else ""
        self.setWindowTitle(f"Team meeting {day(m.held_on)}{patient}")
        self.previous_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < total - 1)

    def current_patient(self) -> int | None:
        return self.meeting.items[self.index].patient if 0 <= self.index < len(self.meeting.items) else None

    # --- moving between patients ----------------------------------------------------------

    def next_patient(self) -> None:
        if self.index < len(self.meeting.items) - 1:
            self.show_index(self.index + 1)

    def previous_patient(self) -> None:
        if self.index > 0:
            self.show_index(self.index - 1)

    def show_index(self, index: int) -> None:
        if not self.meeting.items:
            return
        self.index = max(0, min(index, len(self.meeting.items) - 1))
        self.agenda.blockSignals(True)
        self.agenda.setCurrentRow(self.index)
        self.agenda.blockSignals(False)
        self._update_titles()
        patient_id = self.current_patient()
        if patient_id is None:
            return
        if patient_id in self.cache:
            self._display(patient_id)
        else:
            self._want = patient_id
            self.view_stack.setCurrentWidget(self.loading)
            self._request(patient_id)
        QTimer.singleShot(PRELOAD_AFTER_MS, self, self._preload)

    def _preload(self) -> None:
        """Read the neighbours (once this patient is drawn: a read running meanwhile
        would slow the drawing), so Next and Previous cost no visible wait."""
        if self.closed:
            return
        for n in (self.index + 1, self.index - 1):
            if 0 <= n < len(self.meeting.items):
                patient_id = self.meeting.items[n].patient
                if patient_id not in self.cache:
                    self._request(patient_id)

    def _request(self, patient_id: int) -> None:
        if patient_id in self._loading:
            return
        self._loading.add(patient_id)
        actor, today, meeting_id = self.context.actor, self.context.today(), self.meeting.id
        self.context.jobs.run(
            lambda _p, _c: read_brief(actor, meeting_id, patient_id, today),
            on_done=lambda brief: self._arrived(patient_id, brief),
            on_error=lambda exc: self._failed_load(patient_id, exc),
        )

    def _arrived(self, patient_id: int, brief: Brief) -> None:
        self._loading.discard(patient_id)
        if self.closed:
            return  # the meeting screen was closed while this patient was being read
        self.cache[patient_id] = brief
        if patient_id == self._want or patient_id == self.current_patient() == self.shown_patient:
            self._display(patient_id)

    def _failed_load(self, patient_id: int, exc: BaseException) -> None:
        self._loading.discard(patient_id)
        show_error(self, exc)

    def _display(self, patient_id: int) -> None:
        if patient_id != self.current_patient():
            return
        brief = self.cache[patient_id]
        self._want = None
        self.shown_patient = patient_id
        item = self.meeting.item_for(patient_id)
        self.header.set_record(brief.record)
        self.timeline.set_timeline(brief.timeline)
        self.cards.set_record(brief.record, brief.timeline, self.context.now())
        self.entry.set_patient(
            brief.record,
            brief.decisions,
            brief.actions,
            meeting_id=self.meeting.id,
            reviewed=bool(item and item.reviewed),
        )
        self.view_stack.setCurrentWidget(self.middle)
        if not self._sized:
            self._size_columns()
        self.patient_shown.emit(patient_id)

    def _size_columns(self) -> None:
        """Agenda and entry columns as narrow as reads well; the patient gets the rest,
        and the cards the height they need (at most two fifths)."""
        width = self.columns.width()
        if width <= 0:
            return
        self._sized = True
        em = self.fontMetrics().horizontalAdvance("M")
        agenda = max(150, min(int(15 * em * self.scale), int(width * 0.17)))
        entry = max(300, min(int(34 * em * self.scale), int(width * 0.3)))
        self.columns.setSizes([agenda, width - agenda - entry, entry])
        total = sum(self.middle.sizes())
        if total > 0:
            cards = min(self.cards.content_height() + 4, int(total * 0.4))
            self.middle.setSizes([total - cards, cards])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.shown_patient is not None:
            self._size_columns()

    # --- after writes -----------------------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        if changes.patient_ids is None:
            stale = list(self.cache)
        else:
            stale = [p for p in self.cache if p in changes.patient_ids]
        for patient_id in stale:
            del self.cache[patient_id]
        current = self.current_patient()
        if current in stale:
            self._request(current)  # shown again when it arrives; the old one stays meanwhile

    def _write(self, patient_id: int, kind: str, work: Callable[[Actor], object], then=None) -> None:
        if self.busy:
            return
        self.busy = True
        actor = self.context.actor

        def done(result) -> None:
            self.busy = False
            if then is not None and not self.closed:
                then(result)
            self.context.changes.emit(Changes.of(patient_id, kind))

        def failed(exc: BaseException) -> None:
            self.busy = False
            show_error(self, exc)

        self.context.jobs.run(lambda _p, _c: work(actor), on_done=done, on_error=failed)

    def add_decision(self, text: str) -> None:
        patient_id, meeting_id = self.current_patient(), self.meeting.id
        if patient_id is None:
            return
        self._write(
            patient_id,
            "decision",
            lambda actor: meetings.add_decision(actor, meeting_id, patient_id, text),
            lambda _r: self.entry.decision_saved(),
        )

    def add_action(self, new: NewAction) -> None:
        patient_id, meeting_id = self.current_patient(), self.meeting.id
        if patient_id is None:
            return
        self._write(
            patient_id,
            "action",
            lambda actor: meetings.add_action_item(
                actor,
                meeting_id,
                patient_id,
                text=new.text,
                owner=new.owner,
                due_on=new.due_on,
                discipline=new.discipline,
            ),
            lambda _r: self.entry.action_saved(),
        )

    def remove_entry(self, row: DecisionResult | ActionItemResult) -> None:
        kind = DECISIONS if isinstance(row, DecisionResult) else ACTION_ITEMS
        self._write(
            row.patient,
            "decision" if kind is DECISIONS else "action",
            lambda actor: kind.delete(actor, row.id, row.version),
        )

    def mark_reviewed(self, next_checkin: dt.date, note: str) -> None:
        patient_id, meeting_id = self.current_patient(), self.meeting.id
        if patient_id is None:
            return

        def reviewed(meeting: MeetingResult) -> None:
            self.meeting = meeting
            self._show_agenda()
            following = next(
                (n for n in range(self.index + 1, len(meeting.items)) if not meeting.items[n].reviewed), None
            )
            if following is not None:
                self.show_index(following)

        self._write(
            patient_id,
            "checkin",
            lambda actor: meetings.mark_reviewed(actor, meeting_id, patient_id, next_checkin=next_checkin, note=note),
            reviewed,
        )

    # --- changing the agenda -------------------------------------------------------------

    def _set_agenda(self, patient_ids: list[int], then_show: int | None) -> None:
        actor, meeting = self.context.actor, self.meeting

        def done(result: MeetingResult) -> None:
            self.meeting = result
            current = then_show if then_show is not None else self.current_patient()
            self.index = next((n for n, i in enumerate(result.items) if i.patient == current), 0)
            self._show_agenda()
            self.show_index(self.index)

        self.context.jobs.run(
            lambda _p, _c: meetings.set_agenda(actor, meeting.id, meeting.version, patient_ids),
            on_done=done,
            on_error=lambda exc: show_error(self, exc),
        )

    def move_patient(self, step: int) -> None:
        row = self.agenda.currentRow()
        ids = [i.patient for i in self.meeting.items]
        target = row + step
        if row < 0 or not 0 <= target < len(ids):
            return
        ids.insert(target, ids.pop(row))
        self._set_agenda(ids, then_show=self.current_patient())

    def remove_patient(self) -> None:
        row = self.agenda.currentRow()
        if row < 0 or row >= len(self.meeting.items) or len(self.meeting.items) == 1:
            return
        ids = [i.patient for i in self.meeting.items]
        removed = ids.pop(row)
        keep = self.current_patient() if self.current_patient() != removed else ids[min(row, len(ids) - 1)]
        self._set_agenda(ids, then_show=keep)

    def add_patient(self) -> None:
        clinic_id, ok = QInputDialog.getText(self, "Add a patient to the agenda", "Clinic ID:")
        if not ok or not clinic_id.strip():
            return
        actor = self.context.actor
        ids = [i.patient for i in self.meeting.items]

        def found(patient) -> None:
            if patient.id in ids:
                self.show_index(ids.index(patient.id))
                return
            ids.insert(self.index + 1, patient.id)
            self._set_agenda(ids, then_show=patient.id)

        self.context.jobs.run(
            lambda _p, _c: patients.find_by_clinic_id(actor, clinic_id),
            on_done=found,
            on_error=lambda exc: show_error(self, exc),
        )

    # --- ending -----------------------------------------------------------------------------

    def end_meeting(self) -> None:
        left = len(self.meeting.items) - self.meeting.reviewed_count
        detail = (
            f"{left} patient{'s' if left != 1 else ''} not reviewed: they are listed in the minutes as not reviewed."
            if left
            else "Every patient on the agenda was reviewed."
        )
        if not confirm(
            self, "End the meeting", "End the meeting and save its minutes?", action="End meeting", detail=detail
        ):
            return
        actor, meeting = self.context.actor, self.meeting

        def ended(minutes: Minutes) -> None:
            self.meeting = dataclasses.replace(meeting, ended_at=minutes.ended_at)
            self.ended.emit(minutes)
            self.context.changes.emit(Changes(None, frozenset({"meeting"})))
            self.close()

        self.context.jobs.run(
            lambda _p, _c: meetings.end_meeting(actor, meeting.id, meeting.version),
            on_done=ended,
            on_error=lambda exc: show_error(self, exc),
        )

    # --- the rest ------------------------------------------------------------------------------

    def _load_staff(self) -> None:
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: staff.list_staff(actor),
            on_done=lambda members: self.entry.set_staff(members, actor.user_id),
            on_error=lambda exc: show_error(self, exc),
        )

    def _privacy_changed(self, on: bool) -> None:
        self.privacy_badge.setVisible(on)
        self._show_agenda()

    def _toggle_full_screen(self) -> None:
        self.showMaximized() if self.isFullScreen() else self.showFullScreen()

    def _zoom(self, step: float) -> None:
        if self._set_app_scale is not None:
            self._set_app_scale(self.scale + step)

    def apply_scale(self, scale: float) -> None:
        self.scale = scale
        apply_meeting_style(self, scale)
        self.timeline.apply_scale(scale * TIMELINE_TYPE)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed = True
        self.context.changes.changed.disconnect(self._on_changes)
        self.context.presentation.privacy_changed.disconnect(self._privacy_changed)
        super().closeEvent(event)
