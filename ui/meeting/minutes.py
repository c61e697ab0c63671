"""A meeting's minutes on screen and as a PDF: attendees, the patients reviewed with
their decisions, action items (owner, due date, discipline) and next check-in, and the
patients left for another meeting. Patients are named by initials and clinic ID in
presentation mode, and always in a PDF made while it is on.

``MinutesDialog`` shows one meeting's minutes; ``PastMeetingsDialog`` lists the
meetings (newest first) with their minutes, to read again, export, or resume a meeting
that was never ended.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from teamdash.clinical import disciplines
from teamdash.services import meetings
from teamdash.services.meetings import MeetingSummary, Minutes, MinutesPatient
from ui.context import AppContext
from ui.errors import show_error
from ui.meeting.common import day
from ui.meeting.pdf import write_minutes_pdf

ROLE = int(Qt.ItemDataRole.UserRole)


def _e(text: object) -> str:
    return html.escape(str(text))


def patient_name(patient: MinutesPatient, privacy: bool) -> str:
    return f"{patient.clinic_id} · {patient.initials if privacy else patient.full_name}"


def minutes_title(minutes: Minutes) -> str:
    return f"Team meeting of {day(minutes.held_on)}"


def _times(minutes: Minutes) -> str:
    start = f"{minutes.started_at:%H:%M}"
    return f"{start}–{minutes.ended_at:%H:%M}" if minutes.ended_at else f"from {start} (not ended)"


def minutes_html(minutes: Minutes, privacy: bool) -> str:
    """The minutes as HTML for the screen and the PDF (one text, two renderings)."""
    parts = [
        f"<h1>{_e(minutes_title(minutes))}</h1>",
        f"<p class='meta'>{_e(_times(minutes))}"
        + (f" · chaired by {_e(minutes.chaired_by)}" if minutes.chaired_by else "")
        + ("" if minutes.final else " · <b>draft: the meeting is still open</b>")
        + "</p>",
        "<h2>Attendees</h2><p>"
        + ", ".join(
            _e(a.name) + (f" ({_e(disciplines.get(a.discipline).short)})" if a.discipline else "")
            for a in minutes.attendees
        )
        + "</p>",
        f"<p>{len(minutes.patients)} patient{'s' if len(minutes.patients) != 1 else ''} on the agenda, "
        f"{len(minutes.reviewed)} reviewed; {minutes.decision_count} decision{'s' if minutes.decision_count != 1 else ''}, "
        f"{minutes.action_count} action item{'s' if minutes.action_count != 1 else ''}.</p>",
    ]
    if minutes.reviewed:
        parts.append("<h2>Patients reviewed</h2>")
        parts += [_patient_html(p, privacy) for p in minutes.reviewed]
    if minutes.not_reviewed:
        parts.append("<h2>Not reviewed: for another meeting</h2>")
        parts += [_patient_html(p, privacy) for p in minutes.not_reviewed]
    return _STYLE + "".join(parts)


_STYLE = """<style>
h1 { font-size: 17pt; margin-bottom: 2px; }
h2 { font-size: 13pt; margin-top: 14px; margin-bottom: 4px; border-bottom: 1px solid #8a96a3; }
h3 { font-size: 11.5pt; margin-top: 10px; margin-bottom: 2px; }
p.meta { color: #3e4a56; margin-top: 0px; }
p.reason { color: #4a5560; margin-top: 0px; margin-bottom: 2px; }
td, th { padding: 2px 6px; }
th { text-align: left; background: #e8edf2; }
</style>"""


def _patient_html(p: MinutesPatient, privacy: bool) -> str:
    out = [f"<h3>{_e(patient_name(p, privacy))} <span style='font-weight:normal'>({_e(p.group_label)})</span></h3>"]
    if p.reason:
        out.append(f"<p class='reason'>On the agenda for: {_e(p.reason)}</p>")
    if p.decisions:
        out.append("<p><b>Decisions</b></p><ul>" + "".join(f"<li>{_e(d)}</li>" for d in p.decisions) + "</ul>")
    if p.actions:
        rows = "".join(
            f"<tr><td>{_e(a.text)}</td><td>{_e(a.owner_name or 'no owner')}</td>"
            f"<td>{_e(day(a.due_on)) if a.due_on else '–'}</td><td>{_e(a.discipline_name or '–')}</td></tr>"
            for a in p.actions
        )
        out.append(
            "<p><b>Action items</b></p><table cellspacing='0' width='100%'>"
            "<tr><th>Action</th><th>Owner</th><th>Due</th><th>Discipline</th></tr>" + rows + "</table>"
        )
    if p.reviewed:
        if not p.decisions and not p.actions:
            out.append("<p>Reviewed: no change to the plan.</p>")
        out.append(f"<p>Next check-in: <b>{_e(day(p.next_checkin))}</b></p>")
    return "".join(out)


def export_minutes(parent: QWidget, context: AppContext, minutes: Minutes) -> Path | None:
    """Ask where, write the PDF (names hidden in presentation mode), audit the export."""
    suggested = f"minutes-{minutes.held_on.isoformat()}.pdf"
    chosen, _filter = QFileDialog.getSaveFileName(parent, "Export the minutes as PDF", suggested, "PDF (*.pdf)")
    if not chosen:
        return None
    path = Path(chosen if chosen.lower().endswith(".pdf") else f"{chosen}.pdf")
    privacy = context.presentation.privacy
    try:
        write_minutes_pdf(minutes, path, privacy=privacy, html=minutes_html(minutes, privacy))
    except OSError as exc:
        show_error(parent, exc)
        return None
    actor = context.actor
    context.jobs.run(
        lambda _p, _c: meetings.record_minutes_export(actor, minutes.meeting_id, fmt="pdf", privacy=privacy),
        on_error=lambda exc: show_error(parent, exc),
    )
    return path


class MinutesView(QTextBrowser):
    """The minutes, re-rendered when presentation mode changes."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("minutes")
        self.setAccessibleName("Minutes of the meeting")
        self.context = context
        self.minutes: Minutes | None = None
        self.setOpenLinks(False)
        context.presentation.follow(self, self._render)

    def set_minutes(self, minutes: Minutes | None) -> None:
        self.minutes = minutes
        self._render()

    def _render(self) -> None:
        if self.minutes is None:
            self.setHtml("<p>Choose a meeting.</p>")
        else:
            self.setHtml(minutes_html(self.minutes, self.context.presentation.privacy))


class MinutesDialog(QDialog):
    def __init__(self, context: AppContext, minutes: Minutes, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("minutesDialog")
        self.setWindowTitle(f"Minutes: {minutes_title(minutes)}")
        self.context, self.minutes = context, minutes
        self.view = MinutesView(context, self)
        self.view.set_minutes(minutes)
        buttons = QDialogButtonBox(self)
        self.export_button = buttons.addButton("Export PDF…", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setAccessibleName("Export the minutes as PDF (Ctrl+E)")
        self.export_button.clicked.connect(self.export)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        QShortcut(QKeySequence("Ctrl+E"), self, self.export)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(760, 640)
        self.exported: Path | None = None

    def export(self) -> None:
        self.exported = export_minutes(self, self.context, self.minutes) or self.exported


class PastMeetingsDialog(QDialog):
    """Meeting → Past meetings…: every meeting, its minutes, export, resume."""

    resume = Signal(int)  # meeting id

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pastMeetings")
        self.setWindowTitle("Past meetings")
        self.context = context
        self.minutes: Minutes | None = None
        self.meetings = QListWidget(self)
        self.meetings.setObjectName("meetingList")
        self.meetings.setAccessibleName("Meetings, newest first")
        self.meetings.currentItemChanged.connect(lambda item, _old: self._chosen(item))
        self.meetings.setWordWrap(True)
        self.meetings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view = MinutesView(context, self)
        self.export_button = QPushButton("Export PDF…", self)
        self.export_button.setAccessibleName("Export these minutes as PDF (Ctrl+E)")
        self.export_button.clicked.connect(self.export)
        self.resume_button = QPushButton("Resume meeting", self)
        self.resume_button.setAccessibleName("Resume this meeting (it was not ended)")
        self.resume_button.clicked.connect(self._resume)
        close = QPushButton("Close", self)
        close.setAccessibleName("Close")
        close.clicked.connect(self.reject)
        for button in (self.export_button, self.resume_button, close):
            button.setAutoDefault(False)
        QShortcut(QKeySequence("Ctrl+E"), self, self.export)
        self.empty = QLabel("No team meeting has been held yet.", self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.meetings)
        split.addWidget(self.view)
        split.setSizes([300, 620])
        row = QHBoxLayout()
        row.addWidget(self.empty)
        row.addStretch(1)
        row.addWidget(self.export_button)
        row.addWidget(self.resume_button)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        self.resize(980, 640)
        self._set_enabled()
        actor = context.actor
        context.jobs.run(
            lambda _p, _c: meetings.list_meetings(actor), on_done=self._listed, on_error=lambda e: show_error(self, e)
        )

    def _listed(self, summaries: list[MeetingSummary]) -> None:
        for m in summaries:
            when = f"{day(m.started_at.date())}, {m.started_at:%H:%M}"
            status = "still open" if m.open else f"{m.reviewed} of {m.patients} reviewed"
            item = QListWidgetItem(f"{when} · {m.attendees} attending · {status}")
            item.setData(ROLE, m)
            self.meetings.addItem(item)
        self.empty.setVisible(not summaries)
        if summaries:
            self.meetings.setCurrentRow(0)
            self.meetings.setFocus()

    def _chosen(self, item: QListWidgetItem | None) -> None:
        summary: MeetingSummary | None = item.data(ROLE) if item is not None else None
        self.minutes = None
        self.view.set_minutes(None)
        self._set_enabled()
        if summary is None:
            return
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: meetings.minutes(actor, summary.id),
            on_done=self._shown,
            on_error=lambda exc: show_error(self, exc),
        )

    def _shown(self, minutes: Minutes) -> None:
        current = self.selected()
        if current is None or current.id != minutes.meeting_id:
            return  # another meeting was chosen meanwhile
        self.minutes = minutes
        self.view.set_minutes(minutes)
        self._set_enabled()

    def selected(self) -> MeetingSummary | None:
        item = self.meetings.currentItem()
        return item.data(ROLE) if item is not None else None

    def _set_enabled(self) -> None:
        summary = self.selected()
        self.export_button.setEnabled(self.minutes is not None)
        self.resume_button.setEnabled(summary is not None and summary.open)

    def export(self) -> None:
        if self.minutes is not None:
            export_minutes(self, self.context, self.minutes)

    def _resume(self) -> None:
        summary = self.selected()
        if summary is not None and summary.open:
            self.resume.emit(summary.id)
            self.accept()
