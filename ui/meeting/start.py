"""Meeting → Start…: who is here, and which patients the team will go through.

The agenda comes proposed (patients due for review, safety first, then reliable
deterioration, then overdue check-ins, then the rest: ``services.agenda``); the team
reorders it (Alt+Up / Alt+Down), removes patients (Delete) and adds others by clinic ID.
Everything works from the keyboard: Space ticks an attendee, Enter starts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from teamdash.errors import TeamDashError
from teamdash.services import agenda, meetings, patients, staff
from teamdash.services.agenda import AgendaEntry
from teamdash.services.meetings import MeetingResult, MeetingSummary
from ui.context import AppContext
from ui.errors import show_error
from ui.meeting.common import agenda_text, agenda_tip, day, widget_shortcut

ENTRY_ROLE = int(Qt.ItemDataRole.UserRole)


class StartMeetingDialog(QDialog):
    """Attendees and agenda; ``started`` carries the new meeting, ``resume`` an open one."""

    started = Signal(object)  # MeetingResult
    resume = Signal(int)  # meeting id

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startMeeting")
        self.setWindowTitle("Start a team meeting")
        self.context = context
        self.entries: list[AgendaEntry] = []
        self.open_meeting: MeetingSummary | None = None
        self.loaded = False
        self._build()
        context.presentation.privacy_changed.connect(self._privacy_changed)
        self._load()

    # --- building ---------------------------------------------------------------------

    def _build(self) -> None:
        self.resume_banner = QLabel(self)
        self.resume_banner.setWordWrap(True)
        self.resume_banner.setObjectName("resumeBanner")
        self.resume_button = QPushButton("Resume that meeting", self)
        self.resume_button.setAccessibleName("Resume the meeting that was not ended")
        self.resume_button.clicked.connect(self._resume)
        resume_row = QHBoxLayout()
        resume_row.addWidget(self.resume_banner, 1)
        resume_row.addWidget(self.resume_button)
        self.resume_banner.hide()
        self.resume_button.hide()

        self.attendees = QListWidget(self)
        self.attendees.setObjectName("attendees")
        self.attendees.setAccessibleName("Attendees: Space ticks or unticks a name")
        attendees_label = QLabel("&Attendees (Space ticks a name)", self)
        attendees_label.setBuddy(self.attendees)

        self.agenda = QListWidget(self)
        self.agenda.setObjectName("agendaDraft")
        self.agenda.setAccessibleName("Agenda: Alt+Up and Alt+Down move a patient, Delete removes one")
        self.agenda.setWordWrap(True)  # every reason in full, never a sideways scroll
        self.agenda.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.agenda_label = QLabel("A&genda", self)
        self.agenda_label.setBuddy(self.agenda)
        order = QLabel("Safety first, then reliable deterioration, then overdue check-ins, then the rest.", self)
        order.setWordWrap(True)
        order.setObjectName("muted")
        self.up_button = self._button("Move up", "Move the patient up (Alt+Up)", lambda: self.move_patient(-1))
        self.down_button = self._button("Move down", "Move the patient down (Alt+Down)", lambda: self.move_patient(1))
        self.remove_button = self._button("Remove", "Take the patient off the agenda (Delete)", self.remove)
        self.add_id = QLineEdit(self)
        self.add_id.setObjectName("addClinicId")
        self.add_id.setPlaceholderText("Clinic ID, e.g. TD-00042")
        self.add_id.setAccessibleName("Clinic ID of a patient to add to the agenda")
        add_label = QLabel("A&dd patient:", self)
        add_label.setBuddy(self.add_id)
        self.add_button = self._button("Add", "Add the patient with this clinic ID to the agenda", self.add_patient)
        self.add_id.returnPressed.connect(self.add_patient)
        for keys, slot in (
            ("Alt+Up", lambda: self.move_patient(-1)),
            ("Alt+Down", lambda: self.move_patient(1)),
            ("Delete", self.remove),
        ):
            widget_shortcut(keys, self.agenda, slot)

        self.message = QLabel(self)
        self.message.setObjectName("formError")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.hide()
        self.buttons = QDialogButtonBox(self)
        self.start_button = self.buttons.addButton("Start meeting", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("primary")
        self.start_button.setAccessibleName("Start the meeting")
        self.start_button.setDefault(True)
        self.start_button.setEnabled(False)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)

        moves = QHBoxLayout()
        for button in (self.up_button, self.down_button, self.remove_button):
            moves.addWidget(button)
        moves.addStretch(1)
        adding = QHBoxLayout()
        adding.addWidget(add_label)
        adding.addWidget(self.add_id, 1)
        adding.addWidget(self.add_button)
        left = QVBoxLayout()
        left.addWidget(attendees_label)
        left.addWidget(self.attendees, 1)
        right = QVBoxLayout()
        right.addWidget(self.agenda_label)
        right.addWidget(order)
        right.addWidget(self.agenda, 1)
        right.addLayout(moves)
        right.addLayout(adding)
        columns = QGridLayout()
        columns.addLayout(left, 0, 0)
        columns.addLayout(right, 0, 1)
        columns.setColumnStretch(0, 2)
        columns.setColumnStretch(1, 5)
        layout = QVBoxLayout(self)
        layout.addLayout(resume_row)
        layout.addLayout(columns, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(980, 600)
        QWidget.setTabOrder(self.attendees, self.agenda)

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # --- loading ---------------------------------------------------------------------

    def _load(self) -> None:
        actor, today = self.context.actor, self.context.today()

        def load(_p, _c):
            return (
                staff.list_staff(actor),
                agenda.due_for_review(actor, today=today),
                meetings.list_meetings(actor, open_only=True, limit=1),
            )

        self.context.jobs.run(load, on_done=self._loaded, on_error=lambda exc: show_error(self, exc))

    def _loaded(self, loaded) -> None:
        people, entries, open_meetings = loaded
        me = self.context.actor.user_id
        for member in people:
            what = member.discipline or member.role.replace("_", " ")
            item = QListWidgetItem(f"{member.full_name}  ·  {what}")
            item.setData(ENTRY_ROLE, member.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if member.id == me else Qt.CheckState.Unchecked)
            self.attendees.addItem(item)
        if self.attendees.count():
            self.attendees.setCurrentRow(0)
        self.entries = list(entries)
        self._show_agenda()
        if open_meetings:
            self.open_meeting = open_meetings[0]
            m = self.open_meeting
            self.resume_banner.setText(
                f"The meeting of {day(m.started_at.date())}, {m.started_at:%H:%M} was not ended "
                f"({m.reviewed} of {m.patients} patients reviewed)."
            )
            self.resume_banner.show()
            self.resume_button.show()
        self.loaded = True
        self.start_button.setEnabled(True)
        self.attendees.setFocus()

    # --- the agenda ---------------------------------------------------------------------

    def _privacy_changed(self, _on: bool) -> None:
        self._show_agenda()

    def _show_agenda(self) -> None:
        current = self.agenda.currentRow()
        self.agenda.clear()
        for n, entry in enumerate(self.entries, start=1):
            item = QListWidgetItem(
                f"{agenda_text(n, entry, entry.group, self.context.presentation, reviewed=False)}"
                f"  —  {entry.group_label}: {entry.reasons[0] if entry.reasons else ''}"
            )
            item.setToolTip(agenda_tip(entry.group, entry.reason, reviewed=False))
            item.setData(ENTRY_ROLE, entry.patient_id)
            self.agenda.addItem(item)
        self.agenda_label.setText(f"A&genda: {len(self.entries)} patient{'s' if len(self.entries) != 1 else ''}")
        if self.entries:
            self.agenda.setCurrentRow(max(0, min(current, len(self.entries) - 1)))

    def patient_ids(self) -> list[int]:
        return [e.patient_id for e in self.entries]

    def attendee_ids(self) -> list[int]:
        return [
            self.attendees.item(i).data(ENTRY_ROLE)
            for i in range(self.attendees.count())
            if self.attendees.item(i).checkState() == Qt.CheckState.Checked
        ]

    def move_patient(self, step: int) -> None:
        row = self.agenda.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < len(self.entries):
            return
        self.entries.insert(target, self.entries.pop(row))
        self._show_agenda()
        self.agenda.setCurrentRow(target)

    def remove(self) -> None:
        row = self.agenda.currentRow()
        if 0 <= row < len(self.entries):
            del self.entries[row]
            self._show_agenda()

    def add_patient(self) -> None:
        clinic_id = self.add_id.text().strip()
        if not clinic_id:
            return
        actor, today = self.context.actor, self.context.today()

        def find(_p, _c) -> AgendaEntry:
            patient = patients.find_by_clinic_id(actor, clinic_id)
            return agenda.entries_for(actor, [patient.id], today=today)[0]

        self.context.jobs.run(find, on_done=self._added, on_error=self._failed)

    def _added(self, entry: AgendaEntry) -> None:
        self.message.hide()
        if entry.patient_id not in self.patient_ids():
            row = self.agenda.currentRow()
            self.entries.insert(row + 1 if row >= 0 else len(self.entries), entry)
        self._show_agenda()
        self.agenda.setCurrentRow(self.patient_ids().index(entry.patient_id))
        self.add_id.clear()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, TeamDashError):  # the user's to fix: said here, next to the agenda
            self.message.setText(str(exc))
            self.message.show()
        else:
            show_error(self, exc)

    # --- starting -----------------------------------------------------------------------

    def start(self) -> None:
        if not self.loaded:
            return
        attendees, patient_ids = self.attendee_ids(), self.patient_ids()
        actor = self.context.actor
        self.start_button.setEnabled(False)

        def started(meeting: MeetingResult) -> None:
            self.started.emit(meeting)
            self.accept()

        def failed(exc: BaseException) -> None:
            self.start_button.setEnabled(True)
            self._failed(exc)

        self.context.jobs.run(
            lambda _p, _c: meetings.start_meeting(actor, attendees=attendees, patient_ids=patient_ids),
            on_done=started,
            on_error=failed,
        )

    def _resume(self) -> None:
        if self.open_meeting is not None:
            self.resume.emit(self.open_meeting.id)
            self.accept()
