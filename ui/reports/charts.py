"""Charts painted with QPainter into any paint device: vectors in a PDF or on a printer,
pixels in the on-screen preview. Sizes are relative to the device's resolution, so a
chart reads the same at 300 dpi and at 96.

- ``trend``: one measure's course this episode, its severity bands behind, the
  baseline and the last check-in marked (the check-in summary's key timelines).
- ``sleep_efficiency``: the sleep diary's weekly mean efficiency against the 85 % aim.
- ``before_now``: two plain bars, at the start and now (the patient's handout).
"""

from __future__ import annotations

import datetime as dt
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from teamdash.clinical import instruments
from teamdash.errors import NotFound
from teamdash.services.checkin_summary import MeasureRow, Period, SleepSummary
from teamdash.services.handout import HandoutMeasure
from ui.reports.pdf import report_font
from ui.widgets import palette

AXIS = QColor("#6b7580")
GRID = QColor("#e3e7eb")
LINE = QColor("#1f5fa8")
BASELINE = QColor("#5f6b7a")
CHECKIN = QColor("#3b5b92")
START_BAR = QColor("#9aa5b1")
NOW_BAR = QColor("#1f5fa8")


def _unit(painter: QPainter) -> float:
    """Device pixels per CSS pixel (1/96 inch) on the painter's device."""
    device = painter.device()
    return (device.logicalDpiX() if device is not None else 96) / 96.0


def _font(painter: QPainter, pt: float, *, bold: bool = False) -> QFont:
    font = report_font(pt)
    font.setBold(bold)
    painter.setFont(font)
    return font


def _metrics(painter: QPainter, font: QFont) -> QFontMetricsF:
    device = painter.device()
    return QFontMetricsF(font, device) if device is not None else QFontMetricsF(font)


def _nice_step(span: float, ticks: int = 4) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _y_range(row: MeasureRow) -> tuple[float, float]:
    values = [v for _d, v in row.history]
    low, high = min(values), max(values)
    try:
        inst = instruments.get(row.instrument)
        lo_bound, hi_bound = inst.total_min, inst.total_max
    except NotFound:
        lo_bound = hi_bound = None
    if lo_bound is not None and hi_bound is not None and (hi_bound - lo_bound) <= 4 * max(high - low, 1e-9):
        return float(lo_bound), float(hi_bound)  # the whole scale when the course uses a good part of it
    pad = max((high - low) * 0.25, abs(high) * 0.05, 1.0)
    low, high = low - pad, high + pad
    if lo_bound is not None:
        low = max(low, lo_bound)
    if hi_bound is not None:
        high = min(high, hi_bound)
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _month_ticks(start: dt.date, end: dt.date, room: int) -> list[dt.date]:
    months = []
    day = dt.date(start.year, start.month, 1)
    while day <= end:
        if day >= start:
            months.append(day)
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    step = max(1, math.ceil(len(months) / max(1, room)))
    return months[::step]


def _caption(painter: QPainter, rect: QRectF, title: str, aside: str) -> float:
    """A chart's title line (bold name, muted detail) at the top of ``rect``; returns its height."""
    u = _unit(painter)
    bold = _font(painter, 8.5, bold=True)
    fm = _metrics(painter, bold)
    painter.setPen(QColor("#10202f"))
    painter.drawText(QPointF(rect.left(), rect.top() + fm.ascent()), title)
    width = fm.horizontalAdvance(title)
    if aside:
        _font(painter, 7.5)
        painter.setPen(AXIS)
        painter.drawText(QPointF(rect.left() + width + 5 * u, rect.top() + fm.ascent()), aside)
    return fm.height() + 2 * u


def trend(painter: QPainter, rect: QRectF, row: MeasureRow, period: Period | None = None, caption: str = "") -> None:
    """The measure's values over the episode up to the period's end, under a title line
    (the measure's short name and ``caption``), so title and chart never part."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    u = _unit(painter)
    top = _caption(painter, rect, row.short_name, caption)
    rect = QRectF(rect.left(), rect.top() + top, rect.width(), rect.height() - top)
    tick_font = _font(painter, 7)
    fm = _metrics(painter, tick_font)
    if not row.history:
        painter.setPen(AXIS)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "no values")
        return
    low, high = _y_range(row)
    step = _nice_step(high - low)
    first_tick = math.ceil(low / step - 1e-9) * step
    ticks = [first_tick + i * step for i in range(int((high - first_tick) / step + 1e-9) + 1)]
    label = lambda v: f"{v:.{max(0, -int(math.floor(math.log10(step))) if step < 1 else 0)}f}"  # noqa: E731
    left = max(fm.horizontalAdvance(label(t)) for t in ticks) + 6 * u
    plot = QRectF(
        rect.left() + left, rect.top() + 4 * u, rect.width() - left - 8 * u, rect.height() - fm.height() - 10 * u
    )
    first = row.history[0][0]
    last = max(row.history[-1][0], period.end if period else row.history[-1][0])
    days = max(1, (last - first).days)
    x_of = lambda d: plot.left() + (d - first).days / days * plot.width()  # noqa: E731
    y_of = lambda v: plot.bottom() - (min(max(v, low), high) - low) / (high - low or 1) * plot.height()  # noqa: E731

    painter.save()
    painter.setClipRect(plot)
    try:
        inst = instruments.get(row.instrument)
        bands = inst.bands
    except NotFound:
        inst, bands = None, ()
    for band in bands:
        if inst is None:
            break
        colour = QColor(palette.severity_colour(inst, band.severity))
        colour.setAlphaF(0.13)
        top, bottom = y_of(min(band.high, high)), y_of(max(band.low, low))
        painter.fillRect(QRectF(plot.left(), top, plot.width(), bottom - top), colour)
    painter.restore()

    grid = QPen(GRID)
    grid.setWidthF(0.8 * u)
    painter.setPen(grid)
    for t in ticks:
        painter.drawLine(QPointF(plot.left(), y_of(t)), QPointF(plot.right(), y_of(t)))
    painter.setPen(AXIS)
    for t in ticks:
        painter.drawText(
            QRectF(rect.left(), y_of(t) - fm.height() / 2, left - 4 * u, fm.height()),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            label(t),
        )
    room = int(plot.width() // (fm.horizontalAdvance("Mmm 00") + 8 * u))
    for month in _month_ticks(first, last, room):
        x = x_of(month)
        painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3 * u))
        text = f"{month:%b}" if month.month != 1 else f"{month:%b %y}"
        painter.drawText(
            QRectF(x - 30 * u, plot.bottom() + 3 * u, 60 * u, fm.height()), Qt.AlignmentFlag.AlignHCenter, text
        )
    axis = QPen(AXIS)
    axis.setWidthF(0.8 * u)
    painter.setPen(axis)
    painter.drawLine(plot.bottomLeft(), plot.bottomRight())

    if row.baseline is not None:
        pen = QPen(BASELINE, 1.0 * u, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        y = y_of(row.baseline.value)
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.drawText(QPointF(plot.left() + 3 * u, y - 2 * u), f"Baseline {row.format(row.baseline.value)}")
    if period is not None and period.after_checkin is not None and first <= period.after_checkin <= last:
        x = x_of(period.after_checkin)
        painter.setPen(QPen(CHECKIN, 1.0 * u, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        text = "check-in"
        width = fm.horizontalAdvance(text)
        painter.drawText(QPointF(min(x + 2 * u, plot.right() - width), plot.top() + fm.ascent()), text)

    path = QPainterPath()
    points = [QPointF(x_of(d), y_of(v)) for d, v in row.history]
    path.moveTo(points[0])
    for p in points[1:]:
        path.lineTo(p)
    painter.setPen(QPen(LINE, 1.6 * u))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    painter.setBrush(QBrush(LINE))
    radius = (1.6 if len(points) > 30 else 2.4) * u
    for p in points:
        painter.drawEllipse(p, radius, radius)
    end = points[-1]
    painter.setBrush(QBrush(QColor("#ffffff")))
    painter.setPen(QPen(LINE, 1.6 * u))
    painter.drawEllipse(end, radius * 1.6, radius * 1.6)
    value_font = _font(painter, 7.5, bold=True)
    vfm = _metrics(painter, value_font)
    text = row.format(row.history[-1][1])
    width = vfm.horizontalAdvance(text)
    x = min(end.x() + 4 * u, rect.right() - width)
    y = end.y() - 4 * u if end.y() - vfm.height() > plot.top() else end.y() + vfm.ascent() + 4 * u
    painter.setPen(QColor("#10202f"))
    painter.drawText(QPointF(x, y), text)


def sleep_efficiency(painter: QPainter, rect: QRectF, sleep: SleepSummary) -> None:
    """Weekly mean sleep efficiency as bars on a 50–100 % scale, the aim as a line."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    u = _unit(painter)
    fm = _metrics(painter, _font(painter, 7))
    weeks = [w for w in sleep.weeks if w.efficiency is not None]
    left = fm.horizontalAdvance("100 %") + 6 * u
    plot = QRectF(
        rect.left() + left, rect.top() + 4 * u, rect.width() - left - 4 * u, rect.height() - fm.height() - 10 * u
    )
    low, high = 50.0, 100.0
    y_of = lambda v: plot.bottom() - (min(max(v, low), high) - low) / (high - low) * plot.height()  # noqa: E731
    painter.setPen(QPen(GRID, 0.8 * u))
    for t in (50, 75, 100):
        painter.drawLine(QPointF(plot.left(), y_of(t)), QPointF(plot.right(), y_of(t)))
        painter.setPen(AXIS)
        painter.drawText(
            QRectF(rect.left(), y_of(t) - fm.height() / 2, left - 4 * u, fm.height()),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{t} %",
        )
        painter.setPen(QPen(GRID, 0.8 * u))
    if weeks:
        slot = plot.width() / len(weeks)
        for i, w in enumerate(weeks):
            bar = QRectF(plot.left() + i * slot + slot * 0.2, y_of(w.efficiency or low), slot * 0.6, 0)
            bar.setBottom(plot.bottom())
            colour = QColor(palette.BETTER if (w.efficiency or 0) >= sleep.target else palette.OVERDUE)
            painter.fillRect(bar, colour)
            painter.setPen(AXIS)
            painter.drawText(
                QRectF(plot.left() + i * slot, plot.bottom() + 3 * u, slot, fm.height()),
                Qt.AlignmentFlag.AlignHCenter,
                f"{w.week_start:%d %b}",
            )
    painter.setPen(QPen(QColor("#10202f"), 1.0 * u, Qt.PenStyle.DashLine))
    y = y_of(sleep.target)
    painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
    painter.drawText(QPointF(plot.left() + 3 * u, y - 2 * u), f"aim {sleep.target:.0f} %")


def before_now(painter: QPainter, rect: QRectF, measure: HandoutMeasure) -> None:
    """Two bars a patient reads at a glance: where they started and where they are now."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    u = _unit(painter)
    label_font = _font(painter, 11)
    fm = _metrics(painter, label_font)
    labels = (measure.before_label, measure.now_label)
    label_w = max(fm.horizontalAdvance(t) for t in labels) + 10 * u
    value_font = QFont(label_font)
    value_font.setBold(True)
    vfm = _metrics(painter, value_font)
    value_w = max(vfm.horizontalAdvance(t) for t in (measure.before_text, measure.now_text)) + 8 * u
    track = QRectF(rect.left() + label_w, rect.top(), rect.width() - label_w - value_w, rect.height())
    row_h = rect.height() / 2
    span = (measure.chart_max - measure.chart_min) or 1.0
    for i, (label, value, text, colour) in enumerate(
        (
            (measure.before_label, measure.before, measure.before_text, START_BAR),
            (measure.now_label, measure.now, measure.now_text, NOW_BAR),
        )
    ):
        top = rect.top() + i * row_h
        painter.setFont(label_font)
        painter.setPen(QColor("#1f2933"))
        painter.drawText(
            QRectF(rect.left(), top, label_w - 8 * u, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            label,
        )
        bar_h = row_h * 0.56
        background = QRectF(track.left(), top + (row_h - bar_h) / 2, track.width(), bar_h)
        painter.fillRect(background, QColor("#eef1f4"))
        share = max(0.0, min(1.0, (value - measure.chart_min) / span))
        painter.fillRect(
            QRectF(background.left(), background.top(), max(2 * u, background.width() * share), bar_h), colour
        )
        painter.setFont(value_font)
        painter.drawText(
            QRectF(track.right() + 6 * u, top, value_w, row_h),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )
