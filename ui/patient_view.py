"""The open patient: a header (identity, programme facts, flags), then tabs: an overview
(outcome timelines and one compact card per discipline plus the team's items) and one
tab per discipline, whose panels come from ``ui.panels``.

The record is read on the database thread; a late answer for a patient no longer shown
is dropped. Panels are created when their tab is first opened.
"""

from __future__ import annotations

import datetime as dt
import html
import math

from PySide6.QtCore import QDate, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QCalendarWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from teamdash.clinical import disciplines, instruments
from teamdash.clinical.analytics import Flag
from teamdash.clinical.disciplines import DisciplineDef
from teamdash.clinical.intake import BaselineChecklist
from teamdash.services import chart, episodes, goals, sessions, staff, timelines
from teamdash.services.auth import Actor
from teamdash.services.chart import PatientRecord
from teamdash.services.patients import PatientDetail
from teamdash.services.timelines import MeasureSeries, PatientTimeline
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.measurement_dialog import open_measurement_dialog
from ui.dialogs.patient_admin import reassign, set_next_checkin
from ui.dialogs.status_dialogs import EVENT_TEXT, events_for, open_history_dialog, open_status_dialog
from ui.errors import show_error
from ui.panels import DisciplinePanel, create_panel
from ui.timeline import TimelineView, with_unit
from ui.widgets.labels import ElidedLabel
from ui.widgets.palette import severity_colour

OVERVIEW = "overview"
AHEAD = 4  # patients read ahead and kept (the list's neighbours of the last few shown)
PRELOAD_AFTER_MS = 60  # read ahead once the shown patient is drawn
CARD_MEASURES = 3
CARD_GOALS = 2
BETTER, WORSE, MUTED, OVERDUE = "#2e7d32", "#c62828", "#6b7580", "#c62828"


def _esc(text: object) -> str:
    return html.escape(str(text))


def _day(day: dt.date | None, today: dt.date | None = None) -> str:
    if day is None:
        return "–"
    if today is not None and day == today:
        return "today"
    return f"{day.day} {day:%b %Y}"


def _set_style_property(widget: QWidget, name: str, value) -> None:
    """A property the stylesheet selects on; re-polishing only when it changed, since a
    re-polish re-lays out and repaints around the widget."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class ElidingToolButton(QToolButton):
    """A tool button whose text is cut with … when the header is narrow, so a long case
    manager's name never widens the window; ``full_text`` keeps the whole text, which is
    also its accessible name and, with what a click does (``action_tip``), its tooltip."""

    MIN_WIDTH = 72
    SLACK = 3  # px: text measured in whole pixels may need a fraction more to draw uncut

    def __init__(self, parent: QWidget | None = None, action_tip: str = ""):
        super().__init__(parent)
        self.full_text = ""
        self.action_tip = action_tip
        self.setAccessibleDescription(action_tip)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # may shrink to MIN_WIDTH

    def set_full_text(self, text: str) -> None:
        if text != self.full_text:
            self.full_text = text
            self.setText(text)
            self.setAccessibleName(text)
            self.setToolTip(f"{text}\n{self.action_tip}" if self.action_tip else text)
            self.updateGeometry()
            self._elide()

    def _chrome(self) -> int:
        """Width the button adds around its text (padding, frame)."""
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(self.text())

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self._chrome() + self.fontMetrics().horizontalAdvance(self.full_text) + self.SLACK
        return QSize(width, hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self.MIN_WIDTH, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(self.width() - self._chrome(), 10)
        if room >= self.fontMetrics().horizontalAdvance(self.full_text):
            shown = self.full_text
        else:
            shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, room)
        if shown != self.text():
            self.setText(shown)


# --- header ------------------------------------------------------------------------------------


class PatientHeader(QFrame):
    """Who the patient is and what needs attention. Flags cannot be hidden; in privacy
    mode initials and ID replace the name and date of birth.

    The case manager and next check-in buttons sit beside the name when the header is
    wide enough for the name and both in full; on a narrower header (the meeting's
    column, a projector at 150 %) they move to a line of their own under it, so the
    name is never squeezed and no button is cut."""

    MAX_OTHER_FLAGS = 3
    NAME_MIN_CHARS = 12  # the name keeps at least this much room (initials always fit)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("patientHeader")
        self.context = context
        self.record: PatientRecord | None = None
        self.clinic_id = QLabel(self)
        self.clinic_id.setObjectName("clinicId")
        self.name = ElidedLabel("", self)  # a long name is cut rather than widening the window
        self.name.setObjectName("patientName")
        # Case manager, next check-in and status are shown as buttons: each opens the
        # changes a case manager makes from here (undoable, like every write).
        self.manager_button = self._menu_button("caseManagerButton", "Reassign the case manager")
        self.checkin_button = self._menu_button("checkinButton", "Set the next check-in")
        self.status = self._menu_button("statusChip", "Change the status: on hold, discharge, drop-out, readmission")
        # the two buttons travel together: beside the name, or on a line of their own
        self.admin_buttons = QWidget(self)
        self.admin_buttons.setObjectName("headerAdminButtons")
        admin_row = QHBoxLayout(self.admin_buttons)
        admin_row.setContentsMargins(0, 0, 0, 0)
        admin_row.setSpacing(10)
        admin_row.addWidget(self.manager_button)
        admin_row.addWidget(self.checkin_button)
        self.buttons_inline = True
        self.managers: list[staff.StaffMember] | None = None
        self.calendar = QCalendarWidget(self)
        self.calendar.setObjectName("checkinCalendar")
        self.calendar.setGridVisible(False)
        self.calendar.activated.connect(lambda day: self._checkin_chosen(day.toPython()))
        self.calendar.clicked.connect(lambda day: self._checkin_chosen(day.toPython()))
        # Owned by the header, not the menu: refilling the menu must not delete the calendar.
        self.calendar_action = QWidgetAction(self)
        self.calendar_action.setDefaultWidget(self.calendar)
        self.facts = ElidedLabel("", self)
        self.facts.setObjectName("patientFacts")
        self.programme = ElidedLabel("", self)
        self.programme.setObjectName("patientFacts")
        self.action_items = ElidedLabel("", self)  # the open action items (not QWidget.actions())
        self.action_items.setObjectName("patientActions")
        self.flag_box = QVBoxLayout()
        self.flag_box.setSpacing(3)
        self.flag_labels: list[QLabel] = []
        self.safety_pool: list[QLabel] = []
        self.flag_pool: list[QLabel] = []
        self._flag_lines: list[tuple[str, str]] = []
        self.top = top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.clinic_id)
        top.addWidget(self.name, 1)
        top.addWidget(self.admin_buttons)
        top.addWidget(self.status)
        self.second = QHBoxLayout()  # the buttons' own line on a narrow header
        self.second.setSpacing(10)
        self.second.addStretch(1)
        layout = self.box = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(self.second)
        layout.addWidget(self.facts)
        layout.addWidget(self.programme)
        layout.addWidget(self.action_items)
        layout.addLayout(self.flag_box)
        context.presentation.privacy_changed.connect(self._privacy_changed)
        context.changes.changed.connect(self._staff_changed)

    def _staff_changed(self, changes: Changes) -> None:
        if "staff" in changes.kinds:
            self._load_managers()

    def _menu_button(self, name: str, tip: str) -> ElidingToolButton:
        button = ElidingToolButton(self, tip)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setMenu(QMenu(button))
        button.setAutoRaise(True)
        return button

    @property
    def writable(self) -> bool:
        return self.context.actor.can("write_patient")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_admin_buttons()

    def _place_admin_buttons(self) -> None:
        """Beside the name when the name and both buttons fit in full, else on their own
        line (decided from the header's width and the texts alone: no back and forth)."""
        margins = self.box.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        spacing = self.top.spacing()
        name = self.name.fontMetrics().horizontalAdvance(self.name.full_text) + 4
        needed = sum(
            w.sizeHint().width() + spacing
            for w in (self.clinic_id, self.admin_buttons, self.status)
            if not w.isHidden()
        )
        inline = name + needed <= room
        if inline == self.buttons_inline:
            return
        self.buttons_inline = inline
        if inline:
            self.second.removeWidget(self.admin_buttons)
            self.top.insertWidget(2, self.admin_buttons)
        else:
            self.top.removeWidget(self.admin_buttons)
            self.second.insertWidget(0, self.admin_buttons)

    def show_action_items(self, shown: bool) -> None:
        """The line of open action items (the meeting screen lists them on its own)."""
        self.action_items.setVisible(shown)

    def _privacy_changed(self, _on: bool) -> None:
        # A bound method: the connection ends with the header (the meeting screen's
        # header goes when the meeting ends; the presentation state lives on).
        if self.record is not None:
            self.set_record(self.record)

    def set_record(self, record: PatientRecord, *, panels: bool = True) -> None:
        self.record = record
        p = record.patient
        privacy = self.context.presentation.privacy
        self.clinic_id.setText(p.clinic_id)
        self.name.setText(p.initials if privacy else p.full_name)
        metrics = self.name.fontMetrics()
        self.name.setMinimumWidth(
            min(metrics.horizontalAdvance(self.name.full_text), metrics.averageCharWidth() * self.NAME_MIN_CHARS) + 4
        )
        self._set_admin_buttons(record)
        self._place_admin_buttons()
        self.facts.setText(" · ".join(self._identity_facts(record, privacy)))
        self.programme.setText(" · ".join(self._programme_facts(record)))
        self.action_items.setText(self._actions_text(record))
        _set_style_property(self.action_items, "overdue", any(a.overdue(record.today) for a in record.open_actions))
        self._set_flags(record.flags)

    @staticmethod
    def _identity_facts(record: PatientRecord, privacy: bool) -> list[str]:
        p = record.patient
        facts = [f"{p.age} years" if p.age is not None else "age unknown"]
        if p.sex and p.sex != "unknown":
            facts.append(p.sex)
        if not privacy:
            facts.append(f"born {_day(p.date_of_birth)}")
        if p.programme_start is not None and p.programme_start > record.today:
            facts.append(f"referred {_day(p.referral_date)}, programme starts {_day(p.programme_start)}")
        elif p.weeks_in_programme is not None:
            facts.append(f"week {p.weeks_in_programme} of programme")
        else:
            facts.append(f"referred {_day(p.referral_date)}, programme not started")
        if record.earlier_episodes:
            facts.append(f"episode {p.episode_number}, readmitted {_day(p.referral_date)}")
        return facts

    @staticmethod
    def _programme_facts(record: PatientRecord) -> list[str]:
        p = record.patient
        phase = record.current_rtw_phase
        facts = [
            f"Return to work: {phase.label} since {_day(phase.started_on)}"
            if phase
            else "Return to work: no plan recorded"
        ]
        if phase and phase.hours_per_week:
            facts[-1] += f" ({phase.hours_per_week:g} h/week)"
        if p.status != "active":
            since = f"{episodes.label(p.status)} since {_day(p.status_changed_on)}"
            reason = episodes.label(p.status_reason).lower()
            facts.insert(0, f"{since}: {reason}" if reason else since)
        last = record.last_checkin
        if last:
            facts.append(f"last check-in {_day(last.held_on)}")
        if record.flares:
            flare = max(record.flares, key=lambda f: f.started_on)
            facts.append(f"last flare {_day(flare.started_on)} ({flare.severity}/10)")
        return facts

    # --- case manager, next check-in, status ------------------------------------------------

    def _set_admin_buttons(self, record: PatientRecord) -> None:
        p, today = record.patient, record.today
        self.manager_button.set_full_text(f"Case manager: {p.case_manager_name or 'not assigned'}")
        _set_style_property(self.manager_button, "missing", p.case_manager is None and not p.ended)
        if p.ended:
            self.checkin_button.hide()
        else:
            self.checkin_button.show()
            if p.next_checkin is None:
                text = "Next check-in: not booked"
            elif p.next_checkin < today and p.status == "active":
                text = f"Check-in overdue since {_day(p.next_checkin)}"
            else:
                text = f"Next check-in: {_day(p.next_checkin, today)}"
            self.checkin_button.set_full_text(text)
            overdue = p.status == "active" and p.next_checkin is not None and p.next_checkin < today
            _set_style_property(self.checkin_button, "overdue", overdue)
        episode = f" · episode {p.episode_number}" if p.episode_number > 1 else ""
        self.status.set_full_text(f"{episodes.label(p.status)}{episode}")
        since = f" since {_day(p.status_changed_on)}" if p.status != "active" and p.status_changed_on else ""
        reason = f": {episodes.label(p.status_reason).lower()}" if p.status_reason else ""
        note = f"\n{p.status_note}" if p.status_note else ""
        self.status.setToolTip(
            f"{episodes.label(p.status)}{since}{reason}{note}\nClick to change the status or see its history"
        )
        _set_style_property(self.status, "status", p.status)
        for button in (self.manager_button, self.checkin_button):
            button.setEnabled(self.writable)
        self._fill_status_menu(p)
        self._fill_checkin_menu(p)
        if self.writable and self.managers is None:
            self._load_managers()
        self._fill_manager_menu()

    def _load_managers(self) -> None:
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: staff.case_managers(actor),
            on_done=self._managers_loaded,
            on_error=lambda exc: show_error(self, exc),
        )

    def _managers_loaded(self, managers: list[staff.StaffMember]) -> None:
        self.managers = managers
        self._fill_manager_menu()

    def _fill_manager_menu(self) -> None:
        menu = self.manager_button.menu()
        menu.clear()
        if self.record is None:
            return
        current = self.record.patient.case_manager
        for manager_id, name in [(m.id, m.full_name) for m in self.managers or ()] + [(None, "Not assigned")]:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(manager_id == current)
            action.triggered.connect(lambda _c=False, m=manager_id: self._reassign(m))

    def _reassign(self, manager_id: int | None) -> None:
        if self.record is not None:
            reassign(self, self.context, self.record.patient, manager_id)

    def _fill_checkin_menu(self, p: PatientDetail) -> None:
        menu = self.checkin_button.menu()
        menu.clear()
        today = self.record.today if self.record else self.context.today()
        for weeks in (2, 4, 6):
            day = today + dt.timedelta(weeks=weeks)
            action = menu.addAction(f"In {weeks} weeks ({_day(day)})")
            action.triggered.connect(lambda _c=False, d=day: self._checkin_chosen(d))
        menu.addSeparator()
        selected = p.next_checkin or today + dt.timedelta(weeks=4)
        self.calendar.setSelectedDate(QDate(selected.year, selected.month, selected.day))
        self.calendar.setMinimumDate(QDate(p.referral_date.year, p.referral_date.month, p.referral_date.day))
        menu.addAction(self.calendar_action)
        if p.next_checkin is not None:
            menu.addSeparator()
            clear = menu.addAction("No check-in booked")
            clear.triggered.connect(lambda: self._checkin_chosen(None))

    def _checkin_chosen(self, day: dt.date | None) -> None:
        self.checkin_button.menu().close()
        if self.record is not None:
            set_next_checkin(self, self.context, self.record.patient, day)

    def _fill_status_menu(self, p) -> None:
        menu = self.status.menu()
        menu.clear()
        if self.writable:
            for event in events_for(p):
                text = "Readmit (new episode)…" if event == episodes.READMITTED else f"{EVENT_TEXT[event][0]}…"
                action = menu.addAction(text)
                action.setObjectName(f"status_{event}")
                action.triggered.connect(lambda _c=False, e=event: self._change_status(e))
            menu.addSeparator()
        history = menu.addAction("Status history…")
        history.triggered.connect(self._show_history)

    def _change_status(self, event: str) -> None:
        if self.record is not None:
            open_status_dialog(self.window(), self.context, self.record.patient, event)

    def _show_history(self) -> None:
        if self.record is not None:
            open_history_dialog(self.window(), self.context, self.record.patient)

    @staticmethod
    def _actions_text(record: PatientRecord) -> str:
        actions = sorted(record.open_actions, key=lambda a: (a.due_on or dt.date.max, a.id))
        if not actions:
            return "No open action items"

        def one(a) -> str:
            about = [disciplines.get(a.discipline).short] if a.discipline else []
            if a.due_on is not None:
                about.append(f"due {_day(a.due_on, record.today)}{', overdue' if a.overdue(record.today) else ''}")
            return f"{a.text} ({', '.join(about)})" if about else a.text

        noun = "action item" if len(actions) == 1 else "action items"
        return f"{len(actions)} open {noun}: " + "; ".join(one(a) for a in actions)

    def _set_flags(self, flags: tuple[Flag, ...]) -> None:
        safety = [f for f in flags if f.kind == "safety"]
        others = [f for f in flags if f.kind != "safety"]
        shown = safety + others[: self.MAX_OTHER_FLAGS]
        hidden = others[self.MAX_OTHER_FLAGS :]
        lines = [(f"⚠  {f.reason}" if f.kind == "safety" else f"•  {f.reason}", f.kind) for f in shown]
        if hidden:
            lines.append((f"+ {len(hidden)} more: " + "; ".join(f.reason for f in hidden), "more"))
        if not lines:  # said in words, and the header keeps its height from one patient to the next
            lines.append(("✓  No open flags", "none"))
        if lines == self._flag_lines:
            return  # same flags (the usual refresh): no new labels, no relayout of the window
        self._flag_lines = lines
        # Labels are kept and reused, safety ones apart from the others (their style
        # differs): creating and styling new labels on every switch cost a relayout.
        safety_lines = [line for line in lines if line[1] == "safety"]
        other_lines = [line for line in lines if line[1] != "safety"]
        self._fill_pool(self.safety_pool, safety_lines, safety=True)
        self._fill_pool(self.flag_pool, other_lines, safety=False)
        self.flag_labels = self.safety_pool[: len(safety_lines)] + self.flag_pool[: len(other_lines)]

    def _fill_pool(self, pool: list[QLabel], lines: list[tuple[str, str]], *, safety: bool) -> None:
        while len(pool) < len(lines):
            label = self._flag_label(safety)
            pool.append(label)
            self.flag_box.insertWidget(len(self.safety_pool) - 1 if safety else self.flag_box.count(), label)
        for i, label in enumerate(pool):
            if i < len(lines):
                text, kind = lines[i]
                label.setText(text)
                _set_style_property(label, "kind", kind)
            label.setVisible(i < len(lines))

    def _flag_label(self, safety: bool) -> QLabel:
        """A safety flag wraps so none of it is ever cut; other flags keep to one line."""
        if safety:
            label = QLabel(self)
            label.setWordWrap(True)
            label.setObjectName("safetyFlag")
        else:
            label = ElidedLabel("", self)
            label.setObjectName("flag")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def flag_texts(self) -> list[str]:
        return [getattr(label, "full_text", label.text()) for label in self.flag_labels]


# --- baseline checklist ------------------------------------------------------------------------


class BaselineStrip(QFrame):
    """The intake measures of the current episode still missing, per discipline; each
    is a link that opens the measurement form for it. Hidden once all are recorded, and
    for a patient whose episode has ended."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("baselineStrip")
        self.context = context
        self.record: PatientRecord | None = None
        self.checklist: BaselineChecklist | None = None
        self.title = QLabel(self)
        self.title.setObjectName("baselineTitle")
        self.body = QLabel(self)
        self.body.setObjectName("baselineBody")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.body.linkActivated.connect(self._record_measure)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.hide()

    def set_record(self, record: PatientRecord) -> None:
        self.record = record
        self.checklist = checklist = record.baseline_checklist()
        if record.patient.ended or checklist.complete:
            self.hide()
            return
        p = record.patient
        episode = f"episode {p.episode_number}, " if p.episode_number > 1 else ""
        noun = "measure" if checklist.due_count == 1 else "measures"
        self.title.setText(
            f"Baseline: {checklist.due_count} {noun} due ({episode}from {_day(checklist.episode_start)})"
        )
        linked = self.context.actor.can("write_clinical")
        lines = []
        for part in checklist.disciplines:
            if not part.due:
                continue
            items = ", ".join(self._item(item.alternatives, linked) for item in part.due)
            done = len(part.items) - len(part.due)
            recorded = f" <span style='color:{MUTED}'>({done} of {len(part.items)} recorded)</span>" if done else ""
            lines.append(
                f"<b style='color:{part.discipline.colour}'>{_esc(part.discipline.name)}</b>: {items}{recorded}"
            )
        self.body.setText("<br>".join(lines))
        self.show()

    @staticmethod
    def _item(alternatives: tuple[str, ...], linked: bool) -> str:
        names = []
        for instrument_id in alternatives:
            short = _esc(instruments.get(instrument_id).short_name)
            names.append(f"<a href='measure:{instrument_id}'>{short}</a>" if linked else short)
        return " or ".join(names)

    def _record_measure(self, link: str) -> None:
        if self.record is None or not link.startswith("measure:"):
            return
        open_measurement_dialog(self.window(), self.context, self.record.patient, instrument_id=link.split(":", 1)[1])

    def due_text(self) -> str:
        parent = self.parentWidget()
        shown = parent is not None and self.isVisibleTo(parent)
        return self.checklist.due_text() if self.checklist and shown else ""


# --- overview cards --------------------------------------------------------------------------


class RichBody(QWidget):
    """Wrapped rich text as tall as its text needs at its width, laid out once per new
    text or width. (A word-wrapped rich-text QLabel lays its text out again for every
    size question the layout asks; five cards of it were a tenth of a patient switch.)"""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = QTextDocument(self)
        self.doc.setDocumentMargin(0)
        self._html = ""
        self._width = -1
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._html

    def plain_text(self) -> str:
        return self.doc.toPlainText()

    def setText(self, html: str) -> None:
        if html == self._html:
            return
        self._html = html
        self.doc.setHtml(html)
        self._fit(force=True)
        self.update()

    def _fit(self, *, force: bool = False) -> None:
        if not force and self.width() == self._width:
            return
        self._width = self.width()
        self.doc.setDefaultFont(self.font())
        self.doc.setTextWidth(max(1, self._width))
        height = math.ceil(self.doc.size().height())
        if height != self.maximumHeight() or height != self.minimumHeight():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit(force=True)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        context = QAbstractTextDocumentLayout.PaintContext()
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.WindowText))
        context.palette = palette
        self.doc.documentLayout().draw(painter, context)


class _Card(QFrame):
    clicked = Signal()

    def __init__(self, title: str, colour: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("card")
        self.setStyleSheet(f"#card {{ border-top: 4px solid {colour}; }}")
        self.title = QLabel(title, self)
        self.title.setObjectName("cardTitle")
        # The title takes what the attendance figure leaves (and says "PT" when
        # "Physical therapy" does not fit): the figure is never squeezed.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.aside = QLabel(self)
        self.aside.setObjectName("cardAside")
        head = QHBoxLayout()
        head.setSpacing(6)
        head.addWidget(self.title, 1)
        head.addWidget(self.aside)
        self.body = RichBody(self)
        self.body.setObjectName("cardBody")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.body, 1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _measure_line(series: MeasureSeries) -> str:
    inst = series.instrument
    latest = series.latest
    colour = (
        severity_colour(inst, latest.band_severity).name() if latest and latest.band_severity is not None else MUTED
    )
    parts = [f"<b>{_esc(inst.short_name)}</b> {_esc(with_unit(inst, latest.value if latest else None))}"]
    if latest and latest.band:
        parts.append(f"<span style='color:{colour}'>● {_esc(latest.band)}</span>")
    change = series.change
    if change.points and change.verdict in ("better", "worse") and latest is not series.baseline:
        tone = BETTER if change.verdict == "better" else WORSE
        arrow = "▲" if change.points > 0 else "▼"
        mcid = " MCID" if change.mcid_met else ""
        # beside MCID, whether the change is more than measurement error
        reliable = {"no reliable change": " · not reliable"}.get(
            change.rci_verdict or "", " · reliable" if change.rci_verdict else ""
        )
        parts.append(
            f"<span style='color:{tone}'>{arrow}{_esc(inst.format(abs(change.points)))}{mcid}{reliable}</span>"
        )
    return " ".join(parts)


def card_measures(discipline: DisciplineDef, timeline: PatientTimeline) -> list[MeasureSeries]:
    """The discipline's key measures the patient has, most important first."""
    library = instruments.library()
    ids = [i for i in discipline.key_instruments if i in timeline.series]
    ids.sort(key=lambda i: not library[i].key_measure)  # stable: listed order within each group
    return [timeline.series[i] for i in ids[:CARD_MEASURES]]


def next_session(record: PatientRecord, discipline: str, now: dt.datetime) -> sessions.SessionResult | None:
    upcoming = [
        s for s in record.sessions if s.discipline == discipline and s.held_at > now and s.attendance != "cancelled"
    ]
    return min(upcoming, key=lambda s: s.held_at) if upcoming else None


class DisciplineCard(_Card):
    """One discipline at a glance: key measures with band and change, attendance, next
    session, open goals. Clicking opens the discipline's tab."""

    def __init__(self, discipline: DisciplineDef, parent: QWidget | None = None):
        super().__init__(discipline.name, discipline.colour, parent)
        self.discipline = discipline
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Open the {discipline.name} tab")
        self.setMinimumWidth(140)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # "Physical therapy" would be cut on a narrow card: say "PT" instead.
        room = self.contentsRect().width() - self.aside.sizeHint().width() - 30
        fits = self.title.fontMetrics().horizontalAdvance(self.discipline.name) <= room
        self.title.setText(self.discipline.name if fits else self.discipline.short)

    def set_record(self, record: PatientRecord, timeline: PatientTimeline, now: dt.datetime) -> None:
        code = self.discipline.code
        attendance = sessions.attendance(list(record.sessions), code, until=now)
        due = attendance.attended + attendance.no_show + attendance.cancelled
        self.aside.setText(f"{attendance.attended}/{due}" if due else "")
        self.aside.setToolTip(f"{attendance.attended} of {due} sessions attended" if due else "")
        lines = [_measure_line(s) for s in card_measures(self.discipline, timeline)] or [
            f"<span style='color:{MUTED}'>No measures yet</span>"
        ]
        coming = next_session(record, code, now)
        lines.append(
            f"Next {coming.held_at:%a} {coming.held_at.day} {coming.held_at:%b}: {_esc(coming.kind)}"
            if coming
            else f"<span style='color:{MUTED}'>No session booked</span>"
        )
        lines += self._goal_lines(record, timeline)
        text = "<br>".join(lines)
        if text != self.body.text():  # a rich-text relayout is the dear part of a card
            self.body.setText(text)

    def _goal_lines(self, record: PatientRecord, timeline: PatientTimeline) -> list[str]:
        open_goals = [g for g in record.goals if g.discipline == self.discipline.code and g.status == "active"]
        if not open_goals:
            return [f"<span style='color:{MUTED}'>No open goals</span>"]
        lines = [f"<b>{len(open_goals)} open goal{'s' if len(open_goals) != 1 else ''}</b>"]
        for goal in open_goals[:CARD_GOALS]:
            series = timeline.series.get(goal.instrument) if goal.instrument else None
            done = goals.progress(goal, series.latest.value if series and series.latest else None)
            late = goal.past_due(record.today)
            progress = f" <span style='color:{MUTED}'>{done}%</span>" if done is not None else ""
            due = f" <span style='color:{OVERDUE}'>past due</span>" if late else ""
            lines.append(f"◦ {_esc(goal.text)}{progress}{due}")
        return lines


class Cards(QScrollArea):
    """One card per discipline: one row when there is room, else rows of three. Scrolls
    rather than clipping when the window is short."""

    open_tab = Signal(str)
    ONE_ROW_FROM = 760  # px of width

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cards")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.content = content = QWidget(self)
        content.setObjectName("cardsContent")
        self.discipline_cards = {d.code: DisciplineCard(d, content) for d in disciplines.all_disciplines()}
        for code, card in self.discipline_cards.items():
            card.clicked.connect(lambda code=code: self.open_tab.emit(code))
        self.grid = QGridLayout(content)
        self.grid.setContentsMargins(10, 6, 10, 8)
        self.grid.setSpacing(8)
        self.setWidget(content)
        self._columns = 0
        self._arrange()

    def cards(self) -> list[DisciplineCard]:
        return list(self.discipline_cards.values())

    def _arrange(self) -> None:
        columns = len(self.cards()) if self.width() >= self.ONE_ROW_FROM else 3
        if columns == self._columns:
            return
        self._columns = columns
        for card in self.cards():
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards()):
            self.grid.addWidget(card, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
        for c in range(len(self.cards())):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def set_record(self, record: PatientRecord, timeline: PatientTimeline, now: dt.datetime) -> None:
        for card in self.cards():
            card.set_record(record, timeline, now)

    def content_height(self) -> int:
        """The height the cards need at the current width (wrapped lines included)."""
        content = self.content
        width = self.viewport().width()
        return content.heightForWidth(width) if content.hasHeightForWidth() else content.sizeHint().height()


# --- the view ------------------------------------------------------------------------------------


def read_record(actor: Actor, patient_id: int, today: dt.date) -> tuple[PatientRecord, PatientTimeline]:
    """On the database thread: the record and its timeline data, ready to show."""
    record = chart.get_record(actor, patient_id, today=today)
    return record, timelines.build(record)


class PatientView(QWidget):
    """Header and tabs for one patient; ``show_patient`` loads, ``set_record`` fills."""

    record_shown = Signal(object)  # PatientRecord, after the view shows it
    measurement_selected = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("patientView")
        self.context = context
        self.patient_id: int | None = None
        self.record: PatientRecord | None = None
        self.timeline_data: PatientTimeline | None = None
        self._generation = 0
        # Neighbours read ahead (record, timeline data), the few most recent; those being
        # read; those written to while being read (their answer is dropped).
        self._ahead: dict[int, tuple[PatientRecord, PatientTimeline]] = {}
        self._reading: set[int] = set()
        self._dropped: set[int] = set()
        self.auto_split = True  # size the overview's split to the cards once (unless restored)
        self.header = PatientHeader(context, self)
        self.timeline = TimelineView(self)
        self.timeline.measurement_selected.connect(self.measurement_selected)
        self.cards = Cards(self)
        self.cards.open_tab.connect(self.show_tab)
        self.baseline = BaselineStrip(context, self)
        self.overview = QSplitter(Qt.Orientation.Vertical, self)
        self.overview.setObjectName("overviewSplitter")
        self.overview.setChildrenCollapsible(False)
        self.overview.addWidget(self._padded(self.baseline, self.timeline))
        self.overview.addWidget(self.cards)
        self.overview.setStretchFactor(0, 3)
        self.overview.setStretchFactor(1, 1)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("patientTabs")
        self.tabs.tabBar().setAccessibleName("Sections of the patient's record")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.overview, "Overview")
        self.tab_codes = [OVERVIEW]
        self.panels: dict[str, DisciplinePanel] = {}
        self._holders: dict[str, QVBoxLayout] = {}  # each discipline tab's layout, for its panel
        self._panel_records: dict[str, PatientRecord] = {}  # the record each panel was given
        for d in disciplines.all_disciplines():
            holder = QWidget()
            self._holders[d.code] = QVBoxLayout(holder)
            self._holders[d.code].setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(holder, d.name)
            self.tab_codes.append(d.code)
        self.tabs.currentChanged.connect(lambda _i: self._fill_current_panel())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        context.changes.changed.connect(self._on_changes)

    @staticmethod
    def _padded(*widgets: QWidget) -> QWidget:
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(10, 8, 10, 4)
        for widget in widgets:
            layout.addWidget(widget, 1 if widget is widgets[-1] else 0)
        return holder

    # --- loading --------------------------------------------------------------------------------

    def show_patient(self, patient_id: int) -> None:
        """Show a patient: at once when read ahead (``preload``), else once read on the
        database thread."""
        self.patient_id = patient_id
        ahead = self._ahead.pop(patient_id, None)
        if ahead is not None and ahead[0].today == self.context.today():
            self._generation += 1  # an answer still on its way for another patient is dropped
            self.set_record(ahead[0], timeline=ahead[1])
        else:
            self._load(patient_id)

    def preload(self, patient_ids: list[int]) -> None:
        """Read these patients (the list's neighbours of the one shown) on the database
        thread, so that moving to one of them shows it without waiting. Started once
        the patient on screen is drawn: a read running meanwhile would slow the drawing
        (Python's threads take turns)."""
        wanted = list(patient_ids)
        QTimer.singleShot(PRELOAD_AFTER_MS, self, lambda: self._preload([p for p in wanted if p != self.patient_id]))

    def _preload(self, patient_ids: list[int]) -> None:
        actor, today = self.context.actor, self.context.today()
        for patient_id in patient_ids:
            if patient_id == self.patient_id or patient_id in self._ahead or patient_id in self._reading:
                continue
            self._start_reading_ahead(patient_id, actor, today)

    def _start_reading_ahead(self, patient_id: int, actor: Actor, today: dt.date) -> None:
        self._reading.add(patient_id)
        self.context.jobs.run(
            lambda _p, _c: read_record(actor, patient_id, today),
            on_done=lambda result: self._read_ahead(patient_id, result),
            on_error=lambda _exc: self._reading.discard(patient_id),  # shown when asked for
        )

    def _read_ahead(self, patient_id: int, result: tuple[PatientRecord, PatientTimeline]) -> None:
        self._reading.discard(patient_id)
        if patient_id in self._dropped:
            self._dropped.discard(patient_id)  # written to while on its way: stale
            return
        self._ahead[patient_id] = result
        while len(self._ahead) > AHEAD:
            self._ahead.pop(next(iter(self._ahead)))

    def _load(self, patient_id: int, *, panels: bool = True) -> None:
        self._generation += 1
        generation = self._generation
        actor, today = self.context.actor, self.context.today()
        self.context.jobs.run(
            lambda _p, _c: read_record(actor, patient_id, today),
            on_done=lambda result: self._loaded(generation, result, panels),
            on_error=self._failed,
        )

    def _loaded(self, generation: int, result: tuple[PatientRecord, PatientTimeline], panels: bool) -> None:
        if generation == self._generation:
            self.set_record(result[0], panels=panels, timeline=result[1])

    def _failed(self, exc: BaseException) -> None:
        show_error(self, exc)

    def set_record(
        self, record: PatientRecord, *, panels: bool = True, timeline: PatientTimeline | None = None
    ) -> None:
        self.record = record
        self.patient_id = record.patient.id
        self.timeline_data = timeline if timeline is not None else timelines.build(record)
        self.header.set_record(record)
        self.baseline.set_record(record)
        self.timeline.set_timeline(self.timeline_data)
        self.cards.set_record(record, self.timeline_data, self._now())
        if self.auto_split:
            QTimer.singleShot(0, self._fit_cards)
        if panels:
            self._fill_current_panel()
        self.record_shown.emit(record)

    def _fit_cards(self) -> None:
        """First patient without a remembered split: the cards get the height they need,
        at most 40 % of the overview; the timelines get the rest."""
        total = sum(self.overview.sizes())
        if not self.auto_split or total <= 0 or not self.isVisible():
            return
        self.auto_split = False
        cards = min(self.cards.content_height() + 2, int(total * 0.4))
        self.overview.setSizes([total - cards, cards])

    def _now(self) -> dt.datetime:
        return self.context.now()

    def _on_changes(self, changes: Changes) -> None:
        if changes.patient_ids is None or "staff" in changes.kinds:
            self._dropped |= self._reading
            self._ahead.clear()
        else:
            self._dropped |= self._reading & changes.patient_ids
            for patient_id in changes.patient_ids:
                self._ahead.pop(patient_id, None)
        # Staff names appear in the header and hover texts, whoever the change was for.
        if self.patient_id is not None and (changes.touches(self.patient_id) or "staff" in changes.kinds):
            self._load(self.patient_id, panels=False)  # panels reload themselves on the same signal

    # --- tabs -----------------------------------------------------------------------------------

    def current_tab(self) -> str:
        return self.tab_codes[self.tabs.currentIndex()]

    def show_tab(self, code: str) -> None:
        if code not in self.tab_codes:
            raise ValueError(f"unknown tab {code!r}; choose one of {', '.join(self.tab_codes)}")
        self.tabs.setCurrentIndex(self.tab_codes.index(code))

    def panel(self, code: str) -> DisciplinePanel:
        """The discipline's panel, created on first use."""
        if code not in self.panels:
            holder = self._holders[code]
            panel = create_panel(code, self.context, holder.parentWidget())
            holder.addWidget(panel)
            self.panels[code] = panel
        return self.panels[code]

    def _fill_current_panel(self) -> None:
        code = self.current_tab()
        if code == OVERVIEW or self.record is None:
            return
        panel = self.panel(code)
        if self._panel_records.get(code) is not self.record:
            self._panel_records[code] = self.record
            panel.set_record(self.record)
