"""The instruments part of every discipline panel: one line per measure with its latest
value, coloured band, change from baseline and from the last check-in (with MCID and
reliable-change verdicts side by side), a sparkline and the next due date; for
patient-named items (PSFS) a table of each activity's change below the line."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from teamdash.clinical import instruments
from teamdash.services.chart import PatientRecord
from ui.panels.instrument_rows import (
    InstrumentRow,
    describe_change,
    describe_items,
    instrument_row,
    reliability_text,
)
from ui.widgets import palette
from ui.widgets.cards import Card, Sparkline, muted, set_chip

HEADERS = ("Measure", "Latest", "Band", "Since baseline", "Since last check-in", "Course", "Next due", "")
COMPACT_EM = 90  # narrower than this many 'M's: the Course column is left out
BAND_EM = 16  # the band column's widest, in 'M's


def unit_suffix(unit: str | None) -> str:
    """'7 %', '525 m', '1/10'; 'points' goes without saying."""
    if not unit or unit == "points":
        return ""
    return unit if unit.startswith("/") else f" {unit}"


def _pretty(name: str) -> str:
    return name.replace("_pct", " %").replace("_min", " (min)").replace("_", " ").capitalize()


def score_details(inst, measurement) -> str:
    """Subscales, components and derived scores of the latest administration (PCS
    subscales, PSQI components, WPAI's four percentages) for the value's tooltip."""
    details = measurement.details or {}
    lines = [
        f"{inst.name}",
        f"Taken {measurement.taken_at:%d %b %Y %H:%M}"
        + (f" by {measurement.entered_by_name}" if measurement.entered_by_name else ""),
    ]
    for group in ("subscales", "components", "derived"):
        for name, value in (details.get(group) or {}).items():
            if value is not None:
                lines.append(
                    f"{_pretty(name)}: {value:.{max(inst.decimals, 0)}f}"
                    if isinstance(value, float)
                    else f"{_pretty(name)}: {value}"
                )
    missing = details.get("missing_items") or []
    if missing:
        lines.append(f"Items left blank: {', '.join(map(str, missing))}")
    if details.get("prorated"):
        answered = len(inst.items) - len(missing)
        lines.append(f"Total prorated from {answered} of {len(inst.items)} items (sum / answered × {len(inst.items)})")
    for name, rating in measurement.named_ratings():
        lines.append(f"{name}: {'not rated' if rating is None else f'{rating:g}'}")
    return "\n".join(lines)


def measure_tooltip(inst) -> str:
    """The measure's name, recall period, reliability and any unverified rule."""
    lines = [inst.name]
    if inst.recall:
        lines.append(f"Recall period: {inst.recall}")
    lines.append(reliability_text(inst))
    lines += [f"Unverified: {text}" for text in inst.unverified]
    if inst.origin == "clinic":
        lines.append(f"Clinic definition: {inst.path}")
    return "\n".join(lines)


def _change_label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setMinimumWidth(100)
    return label


class InstrumentLine:
    """The widgets of one instrument's line, created once and refilled per record."""

    def __init__(self, section: InstrumentsSection, instrument_id: str):
        self.instrument_id = instrument_id
        self.name = QLabel()
        self.name.setWordWrap(True)
        bold = QFont(self.name.font())
        bold.setBold(True)
        self.name.setFont(bold)
        self.count = muted()
        self.value = QLabel()
        big = QFont(self.value.font())
        big.setBold(True)
        big.setPointSizeF(big.pointSizeF() * 1.25)
        self.value.setFont(big)
        self.taken = muted()
        self.band = QLabel()
        self.band.setWordWrap(True)
        self.band.setMaximumWidth(BAND_EM * self.band.fontMetrics().horizontalAdvance("M"))
        self.from_baseline = _change_label()
        self.from_checkin = _change_label()
        self.sparkline = Sparkline()
        self.due = QLabel()
        short = instruments.get(instrument_id).short_name
        self.record = QPushButton()
        self.record.setText("Record…")
        self.record.setObjectName(f"record_{instrument_id}")
        self.record.setAccessibleName(f"Record {short}")
        self.record.clicked.connect(lambda: section.record_requested.emit(instrument_id))
        self.history = QPushButton()
        self.history.setText("History…")
        self.history.setObjectName(f"history_{instrument_id}")
        self.history.setAccessibleName(f"{short} history")
        self.history.clicked.connect(lambda: section.history_requested.emit(instrument_id))
        # Patient-named items (PSFS): each activity's change, below the line.
        self.items: QLabel | None = None
        if section.named.get(instrument_id):
            self.items = QLabel()
            self.items.setObjectName(f"items_{instrument_id}")
            self.items.setTextFormat(Qt.TextFormat.RichText)
            self.items.setWordWrap(True)

    def place(self, grid: QGridLayout, row: int) -> int:
        """Put the line's widgets on ``row`` (and the activity table below it); returns
        the next free row."""
        name_box = QVBoxLayout()
        name_box.setSpacing(0)
        name_box.addWidget(self.name)
        name_box.addWidget(self.count)
        value_box = QVBoxLayout()
        value_box.setSpacing(0)
        value_box.addWidget(self.value)
        value_box.addWidget(self.taken)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        buttons.addWidget(self.record)
        buttons.addWidget(self.history)
        grid.addLayout(name_box, row, 0)
        grid.addLayout(value_box, row, 1)
        grid.addWidget(self.band, row, 2, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        grid.addWidget(self.from_baseline, row, 3)
        grid.addWidget(self.from_checkin, row, 4)
        grid.addWidget(self.sparkline, row, 5)
        grid.addWidget(self.due, row, 6)
        grid.addLayout(buttons, row, 7)
        if self.items is not None:
            grid.addWidget(self.items, row + 1, 1, 1, 6)
            return row + 2
        return row + 1

    def show(self, data: InstrumentRow) -> None:
        inst = data.instrument
        self.name.setText(inst.short_name)
        self.name.setToolTip(measure_tooltip(inst))
        count = f"n = {data.count}" if data.count else "not recorded"
        if inst.unverified:
            count += " · rule unverified"
        self.count.setText(count)
        self.count.setToolTip(
            "Administrations this episode" + "".join(f"\nUnverified: {text}" for text in inst.unverified)
        )
        latest = data.latest
        self.value.setText(f"{inst.format(latest.total)}{unit_suffix(inst.unit)}" if latest else "–")
        self.value.setToolTip(score_details(inst, latest) if latest else "")
        taken = f"{latest.taken_at:%d %b %Y}" if latest else ""
        if latest is not None and latest.prorated:
            taken += " · prorated"
        self.taken.setText(taken)
        if latest and latest.band:
            set_chip(self.band, latest.band, palette.severity_colour(inst, latest.band_severity))
            # Short bands stay on one line; only a long one ("No clinically significant
            # insomnia") wraps inside the column.
            self.band.setWordWrap(len(latest.band) > 16)
            # A band whose threshold is unverified (PCS 30) says so where it is shown.
            self.band.setToolTip("\n".join(f"Unverified: {text}" for text in inst.unverified))
        else:
            # Many measures have no validated bands (instruments.md): say so quietly.
            set_chip(self.band, "—" if latest else "", None)
            self.band.setToolTip("" if inst.bands else f"{inst.short_name} has no validated severity bands")
        self.from_baseline.setText(_change_html(data, data.from_baseline, "baseline"))
        self.from_checkin.setText(_change_html(data, data.from_checkin, "check-in"))
        colour = palette.severity_colour(inst, latest.band_severity) if latest and latest.band else palette.NEUTRAL
        span = (inst.total_min, inst.total_max) if inst.total_min is not None and inst.total_max is not None else None
        self.sparkline.set_series(data.history, value_range=span, colour=colour)
        self._show_due(data)
        self.history.setEnabled(data.count > 0)
        if self.items is not None:
            self.items.setText(_items_html(data))
            self.items.setVisible(bool(data.progress.items_from_baseline))

    def _show_due(self, data: InstrumentRow) -> None:
        if data.due_on is None:
            self.due.setText("")
            self.due.setStyleSheet("")
        elif data.overdue:
            self.due.setText(f"Overdue since\n{data.due_on:%d %b %Y}")
            self.due.setStyleSheet(f"color: {palette.OVERDUE}; font-weight: bold;")
        else:
            self.due.setText(f"{data.due_on:%d %b %Y}")
            self.due.setStyleSheet("")


def _change_html(data: InstrumentRow, change, since: str) -> str:
    text = describe_change(data.instrument, change)
    if text is None:
        reason = "" if data.latest is None or change is None else (change.reason or "")
        return f"<span style='color:{palette.MUTED}'>{escape(reason)}</span>"
    colour = palette.TONES[text.tone]
    verdicts = " · ".join(text.verdicts)
    detail = f"<br><span style='color:{palette.NEUTRAL}; font-size:small'>{escape(verdicts)}</span>" if verdicts else ""
    return f"<b style='color:{colour}'>{text.headline}</b> {change.verdict or ''}{detail}"


def _items_html(data: InstrumentRow) -> str:
    """A small table of each patient-named item (PSFS activity): rating at baseline, at
    the last check-in and now, its change and the single-activity verdict."""
    inst = data.instrument
    lines = describe_items(inst, data.progress)
    if not lines:
        return ""
    since_checkin = any(line.since_checkin for line in lines)  # no new value since the check-in: no column
    headers = [inst.item_name_label, "Baseline", "Check-in", "Latest", "Since baseline"]
    headers += ["Since check-in", ""] if since_checkin else [""]
    head = "".join(
        f"<th align='left' style='padding-right:12px; color:{palette.MUTED}; font-weight:normal'>{h}</th>"
        for h in headers
    )
    rows = []
    for line in lines:
        colour = palette.TONES[line.tone]
        cells = [
            escape(line.name),
            line.baseline,
            line.at_checkin,
            line.latest,
            f"<b style='color:{colour}'>{line.since_baseline}</b>",
            *([line.since_checkin] if since_checkin else []),
            f"<span style='color:{palette.NEUTRAL}'>{escape(line.verdict)}</span>",
        ]
        rows.append("<tr>" + "".join(f"<td style='padding-right:12px'>{c}</td>" for c in cells) + "</tr>")
    return f"<table cellspacing='0' cellpadding='1'><tr>{head}</tr>{''.join(rows)}</table>"


class InstrumentsSection(Card):
    record_requested = Signal(str)  # instrument id
    history_requested = Signal(str)

    def __init__(self, instrument_ids: tuple[str, ...], parent: QWidget | None = None):
        super().__init__("Measures", parent, object_name="instruments_card")
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(8)
        headers = [muted(text) for text in HEADERS]
        for column, header in enumerate(headers):
            self.grid.addWidget(header, 0, column)
        self.named = {i: instruments.get(i).named_items for i in instrument_ids}
        self.lines = {i: InstrumentLine(self, i) for i in instrument_ids}
        row = 1
        for line in self.lines.values():
            row = line.place(self.grid, row)
        self.grid.setColumnMinimumWidth(0, 96)
        self.grid.setColumnStretch(3, 2)
        self.grid.setColumnStretch(4, 2)
        self.body.addLayout(self.grid)
        self.course_header = headers[HEADERS.index("Course")]
        self.compact = False
        self._em = 0

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # On a laptop or a projector at 150 % the sparklines give way (the timelines on
        # the Overview show the course) so that no column, value or button is cut.
        em = self.fontMetrics().horizontalAdvance("M")
        if em != self._em:  # the UI scale changed: the band column follows the type size
            self._em = em
            for line in self.lines.values():
                line.band.setMaximumWidth(BAND_EM * em)
        compact = self.width() < COMPACT_EM * em
        if compact != self.compact:
            self.compact = compact
            self.course_header.setVisible(not compact)
            for line in self.lines.values():
                line.sparkline.setVisible(not compact)

    def set_writable(self, writable: bool) -> None:
        for line in self.lines.values():
            line.record.setEnabled(writable)
        for button in self.findChildren(QPushButton, "record_measurement"):
            button.setEnabled(writable)

    def set_record(self, record: PatientRecord) -> None:
        rows = [instrument_row(record, i) for i in self.lines]
        for data in rows:
            self.lines[data.instrument.id].show(data)
        overdue = sum(1 for r in rows if r.overdue)
        self.summary.setText(f"{overdue} overdue" if overdue else "")
        self.summary.setStyleSheet(f"color: {palette.OVERDUE}; font-weight: bold;" if overdue else "")
