"""What the meeting's windows share: dates as people say them, the projector
stylesheet, the agenda's wording and the few key timelines a meeting shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDateEdit, QWidget

from teamdash.clinical import disciplines
from teamdash.services import agenda
from teamdash.services.timelines import PatientTimeline
from ui import settings as ui_settings
from ui.context import Named, Presentation
from ui.dialogs.fields import FormDateEdit

MEETING_STYLESHEET = ("styles", "meeting.qss")
KEY_TIMELINES = 6  # plots on the meeting screen: readable from the back of the room
GROUP_GLYPHS = {"safety": "!", "deterioration": "▼", "overdue": "◷", "due": "•", "added": "+"}


def day(value: dt.date | None) -> str:
    if value is None:
        return "–"
    return f"{value.day} {value:%b %Y}"


def short_day(value: dt.date | None) -> str:
    if value is None:
        return "–"
    return f"{value.day} {value:%b}"


def apply_meeting_style(widget: QWidget, scale: float) -> None:
    """The projector stylesheet on ``widget``, at the UI scale."""
    from teamdash import resources

    text = resources.path(*MEETING_STYLESHEET).read_text(encoding="utf-8")
    widget.setStyleSheet(ui_settings.scaled_stylesheet(text, scale))


def agenda_text(position: int, patient: Named, group: str, presentation: Presentation, *, reviewed: bool) -> str:
    """One agenda line: order, status, group, clinic ID and name (initials in privacy)."""
    mark = "✓" if reviewed else GROUP_GLYPHS.get(group, "•")
    return f"{position}. {mark}  {patient.clinic_id} · {presentation.name(patient)}"


def agenda_tip(group: str, reason: str | None, *, reviewed: bool) -> str:
    status = "Reviewed at this meeting" if reviewed else agenda.group_label(group)
    return f"{status}\n{reason}" if reason else status


def key_timelines(timeline: PatientTimeline, count: int = KEY_TIMELINES) -> tuple[str, ...]:
    """A few key measures, taking each discipline's first before any second, so the
    team sees pain and function, mood, sleep and work at once rather than five PT plots."""
    by_discipline: dict[str, list[str]] = {}
    for instrument_id in timeline.default_selection:
        by_discipline.setdefault(timeline.series[instrument_id].discipline, []).append(instrument_id)
    order = [by_discipline[d] for d in disciplines.codes() if d in by_discipline]
    chosen: list[str] = []
    rank = 0
    while len(chosen) < count and any(rank < len(ids) for ids in order):
        chosen += [ids[rank] for ids in order if rank < len(ids)][: count - len(chosen)]
        rank += 1
    return tuple(i for i in timeline.default_selection if i in chosen)  # in display order


def widget_shortcut(keys: str, widget: QWidget, slot: Callable[[], object]) -> QShortcut:
    """A key that acts only while ``widget`` has the keyboard (Delete in the agenda is
    not Delete in the list of typed entries)."""
    shortcut = QShortcut(QKeySequence(keys), widget)
    shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
    shortcut.activated.connect(slot)
    return shortcut


def date_edit(value: dt.date, name: str, parent: QWidget | None = None) -> QDateEdit:
    """A date field typed as day month year, with a calendar on Alt+Down."""
    edit = FormDateEdit(qdate(value), parent)  # Tab moves on, not between d/m/y
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("d MMM yyyy")
    edit.setAccessibleName(name)
    edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return edit


def qdate(value: dt.date) -> QDate:
    return QDate(value.year, value.month, value.day)


def date_of(edit: QDateEdit) -> dt.date:
    value = edit.date()
    return dt.date(value.year(), value.month(), value.day())
