"""Social work: the support network (person, relationship, involved in goals, contact)
and the phased return-to-work plan (phase, hours per week, modified duties, employer
contact) with its phase history on a small timeline."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from teamdash.clinical import programme
from teamdash.services.chart import PatientRecord
from teamdash.services.plans import RtwPhaseResult
from ui.context import AppContext
from ui.dialogs.kinds import CONTACT, RTW_PHASE
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.table import Column


def phase_colour(code: int) -> QColor:
    """Off work (red) through phased return (amber) to full return (green); grey off
    the scale ("Not in paid work")."""
    share = programme.rtw_scale_position(code)
    if share is None:
        return QColor(palette.MUTED)
    steps = palette.SEVERITY_STEPS[::-1]  # red → green
    return QColor(steps[round(share * (len(steps) - 1))])


def phase_spans(phases: tuple[RtwPhaseResult, ...], today: dt.date) -> list[tuple[RtwPhaseResult, dt.date, dt.date]]:
    """Each phase from its start to the next one's (the last one to today)."""
    ordered = sorted(phases, key=lambda p: (p.started_on, p.id))
    ends = [p.started_on for p in ordered[1:]] + [max(today, ordered[-1].started_on) if ordered else today]
    return [(p, p.started_on, end) for p, end in zip(ordered, ends)]


class PhaseTimeline(QWidget):
    """A bar over time, one coloured segment per phase, labelled with the phase's code,
    its label in the tooltip; start dates underneath."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.spans: list[tuple[RtwPhaseResult, dt.date, dt.date]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(500, 58)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 58)

    def set_phases(self, phases: tuple[RtwPhaseResult, ...], today: dt.date) -> None:
        self.spans = phase_spans(phases, today) if phases else []
        self.setToolTip(
            "\n".join(
                f"{start:%d %b %Y}: {p.label}" + (f", {p.hours_per_week:g} h/week" if p.hours_per_week else "")
                for p, start, _ in self.spans
            )
        )
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        if not self.spans:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        first, last = self.spans[0][1], self.spans[-1][2]
        total = max(1, (last - first).days)
        bar = QRectF(4, 6, self.width() - 8, 22)
        metrics = QFontMetrics(painter.font())
        for phase, start, end in self.spans:
            x0 = bar.left() + (start - first).days / total * bar.width()
            x1 = bar.left() + max(1, (end - start).days) / total * bar.width() + (x0 - bar.left())
            segment = QRectF(x0, bar.top(), max(2.0, x1 - x0), bar.height())
            colour = phase_colour(phase.phase)
            painter.fillRect(segment, colour)
            painter.setPen(QPen(QColor("white"), 1))
            painter.drawLine(segment.topLeft(), segment.bottomLeft())
            text = str(phase.phase) if programme.rtw_on_scale(phase.phase) else "–"
            if segment.width() > metrics.horizontalAdvance(text) + 4:
                painter.setPen(palette.text_on(colour))
                painter.drawText(segment, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QColor(palette.NEUTRAL))
        previous_right = -1e9
        for _phase, start, _ in self.spans:
            x = bar.left() + (start - first).days / total * bar.width()
            label = f"{start:%d %b %y}"
            if x > previous_right + 6 and x + metrics.horizontalAdvance(label) <= self.width():
                painter.drawText(int(x), int(bar.bottom() + metrics.ascent() + 4), label)
                previous_right = x + metrics.horizontalAdvance(label)
        painter.end()


RTW_COLUMNS = (
    Column("From", lambda p: f"{p.started_on:%d %b %Y}"),
    Column(
        "Phase",
        lambda p: f"{p.phase} · {p.label}" if programme.rtw_on_scale(p.phase) else p.label,
        colour=lambda p: phase_colour(p.phase).darker(120).name(),
    ),
    Column("Hours/week", lambda p: "—" if p.hours_per_week is None else f"{p.hours_per_week:g}", numeric=True),
    Column("Modified duties", lambda p: (p.modified_duties or "—").replace("\n", " "), stretch=True),
    Column("Employer contact", lambda p: p.employer_contact or "—"),
)


class ReturnToWorkPart(RecordListCard):
    def __init__(self, context: AppContext):
        super().__init__(
            "Return to work",
            RTW_PHASE,
            RTW_COLUMNS,
            rows=lambda record: sorted(record.rtw_phases, key=lambda p: (p.started_on, p.id), reverse=True),
            context=context,
            discipline="social",
            empty="No return-to-work plan yet.",
            max_rows=8,
        )
        self.current = QLabel()
        self.current.setObjectName("rtw_current")
        self.current.setWordWrap(True)
        self.timeline = PhaseTimeline()
        self.timeline.setObjectName("rtw_timeline")
        self.body.insertWidget(0, self.current)
        self.body.insertWidget(1, self.timeline)

    def set_record(self, record: PatientRecord) -> None:
        super().set_record(record)
        current = record.current_rtw_phase
        self.timeline.set_phases(record.rtw_phases, record.today)
        self.timeline.setVisible(bool(record.rtw_phases))
        self.current.setVisible(current is not None)
        if current is not None:
            duties = f"<br>Modified duties: {current.modified_duties}" if current.modified_duties else ""
            employer = f"<br>Employer contact: {current.employer_contact}" if current.employer_contact else ""
            hours = f" · {current.hours_per_week:g} hours/week" if current.hours_per_week else ""
            weeks = programme.weeks_in_phase(current.started_on, record.today)
            since = f"since {current.started_on:%d %b %Y} ({weeks} week{'s' if weeks != 1 else ''})"
            self.current.setText(
                f"<span style='font-size:large'><b>{current.label}</b></span>{hours} "
                f"<span style='color:{palette.NEUTRAL}'>{since}</span>{duties}{employer}"
            )


def initials(name: str) -> str:
    return "".join(part[0].upper() + "." for part in name.split() if part[:1].isalpha()) or "—"


def contact_columns(context: AppContext) -> tuple[Column, ...]:
    """Supporters are named in full, except in presentation (privacy) mode on a shared
    screen, where their initials stand in, as the patient's do."""
    person = Column("Person", lambda c: initials(c.name) if context.presentation.privacy else c.name)
    return (person, *CONTACT_COLUMNS)


CONTACT_COLUMNS = (
    Column("Relationship", lambda c: c.relationship),
    Column(
        "Involved in goals",
        lambda c: "yes" if c.involved_in_goals else "no",
        colour=lambda c: palette.BETTER if c.involved_in_goals else palette.MUTED,
    ),
    Column(
        "On handout",
        lambda c: "yes" if c.on_handout else "no",
        colour=lambda c: palette.BETTER if c.on_handout else palette.MUTED,
    ),
    Column("Contact", lambda c: c.contact or "—"),
    Column("Note", lambda c: (c.note or "").replace("\n", " "), stretch=True),
)


class SupportNetworkSection(RecordListCard):
    def __init__(self, context: AppContext):
        super().__init__(
            "Support network",
            CONTACT,
            contact_columns(context),
            rows=lambda record: list(record.contacts),
            context=context,
            discipline="social",
            empty="No supporters recorded yet.",
            summary=lambda _record, rows: (
                f"{sum(1 for c in rows if c.involved_in_goals)} of {len(rows)} involved in goals" if rows else ""
            ),
        )
