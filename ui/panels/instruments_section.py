"""The instruments part of every discipline panel: one line per measure with its latest
value, coloured band, change from baseline and from the last check-in (with MCID and
reliable-change verdicts), a sparkline and the next due date."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from teamdash.clinical import instruments
from teamdash.services.chart import PatientRecord
from ui.panels.instrument_rows import InstrumentRow, describe_change, instrument_row
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

    def place(self, grid: QGridLayout, row: int) -> None:
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

    def show(self, data: InstrumentRow) -> None:
        inst = data.instrument
        self.name.setText(inst.short_name)
        self.name.setToolTip(inst.name)
        self.count.setText(f"n = {data.count}" if data.count else "not recorded")
        self.count.setToolTip("Administrations this episode")
        latest = data.latest
        self.value.setText(f"{inst.format(latest.total)}{unit_suffix(inst.unit)}" if latest else "–")
        self.value.setToolTip(score_details(inst, latest) if latest else "")
        self.taken.setText(f"{latest.taken_at:%d %b %Y}" if latest else "")
        if latest and latest.band:
            set_chip(self.band, latest.band, palette.severity_colour(inst, latest.band_severity))
            # Short bands stay on one line; only a long one ("No clinically significant
            # insomnia") wraps inside the column.
            self.band.setWordWrap(len(latest.band) > 16)
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
        if data.latest is None:
            reason = ""
        elif since == "baseline":
            reason = "baseline only" if data.count == 1 else "no change"
        elif data.at_checkin is not None and data.at_checkin.id == data.latest.id:
            reason = "no new value since the check-in"
        else:
            reason = "no value at the last check-in" if data.at_checkin is None else ""
        return f"<span style='color:{palette.MUTED}'>{reason}</span>"
    colour = palette.TONES[text.tone]
    verdicts = " · ".join(text.verdicts)
    detail = f"<br><span style='color:{palette.NEUTRAL}; font-size:small'>{verdicts}</span>" if verdicts else ""
    return f"<b style='color:{colour}'>{text.headline}</b> {change.verdict or ''}{detail}"


class InstrumentsSection(Card):
    record_requested = Signal(str)  # instrument id
    history_requested = Signal(str)

    def __init__(self, instrument_ids: tuple[str, ...], parent: QWidget | None = None):
        super().__init__("Measures", parent, object_name="instruments_card")
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(8)
        for column, text in enumerate(HEADERS):
            header = muted(text)
            self.grid.addWidget(header, 0, column)
        self.lines = {i: InstrumentLine(self, i) for i in instrument_ids}
        for row, line in enumerate(self.lines.values(), start=1):
            line.place(self.grid, row)
        self.grid.setColumnMinimumWidth(0, 96)
        self.grid.setColumnStretch(3, 2)
        self.grid.setColumnStretch(4, 2)
        self.body.addLayout(self.grid)
        self.course_header = self.grid.itemAtPosition(0, HEADERS.index("Course")).widget()
        self.compact = False
        self._em = 0

    def resizeEvent(self, event) -> None:
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
