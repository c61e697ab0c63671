"""Outcome timelines (pyqtgraph): one small plot per measure, or several measures on a
normalised 0–100 worse→better axis.

The data comes ready-shaped from ``teamdash.timelines``; this module only maps it onto
plot items. A plot and its items are created once per instrument and reused: switching
patient calls ``setData`` on existing items, never rebuilds them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsGridLayout,
    QGraphicsItem,
    QGraphicsWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from teamdash.clinical import disciplines, instruments
from teamdash.services import timelines
from teamdash.services.chart import PatientRecord
from teamdash.services.timelines import MeasurePoint, MeasureSeries, PatientTimeline
from ui.widgets.labels import FittingLabel

pg.setConfigOptions(antialias=True, background="w", foreground="#3c4650")

MODE_PER_MEASURE = "per_measure"
MODE_NORMALISED = "normalised"
RANGE_ALL, RANGE_12M, RANGE_3M, RANGE_CUSTOM = "all", "12m", "3m", "custom"

# Severity ramp for band shading, best to worst; drawn faintly behind the data.
BAND_RAMP = ("#2e7d32", "#9a8a00", "#e07b00", "#c62828", "#7b1010")
BAND_ALPHA = 34
SAFETY_COLOUR = "#c62828"
BASELINE_COLOUR = "#4a5560"
LABEL_BACKGROUND = QColor(255, 255, 255, 190)
MCID_COLOUR = "#2e7d32"
CHECKIN_COLOUR = "#3b5b92"
CHECKIN_FILL = QColor(59, 91, 146, 110)
FLARE_COLOUR = "#d9480f"
TODAY_COLOUR = "#8a939c"
# Earlier episodes of care: greyed behind the data, labelled at the top.
EPISODE_SHADE = QColor(96, 106, 118, 46)
EPISODE_LABEL_COLOUR = "#4a5560"
ATTENDANCE_COLOUR = {"no_show": "#c62828", "cancelled": "#9aa3ab"}
# Distinct colours for measures sharing the normalised axis (Okabe–Ito, then Tableau).
PALETTE = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#7f3c8d",
    "#3969ac",
    "#11a579",
    "#e73f74",
    "#80ba5a",
    "#f2b701",
    "#008695",
    "#a5aa99",
)

# The controls' hint, longest first: the longest that fits the room is shown, in full.
HINTS = (
    "Hover a point for details · drag to pan · Ctrl+wheel to zoom",
    "Hover for details · drag to pan · Ctrl+wheel zooms",
    "Hover: details · drag: pan · Ctrl+wheel: zoom",
    "Drag to pan · Ctrl+wheel to zoom",
    "",
)
MIN_PLOT_HEIGHT = 140
MIN_COLUMN_WIDTH = 340
MAX_COLUMNS = 3
LEFT_AXIS_WIDTH = 46
TITLE_HEIGHT = 22
DATE_STRIP_PX = 26  # the shared date axes under the plots
CHECKIN_LABEL_PX = 48  # room a check-in date label needs before the next one
REFIT_PX = 48  # the timelines re-fit their height when the view changes by more than this


@cache
def _pen(colour: str, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine, alpha: int = 255) -> QPen:
    """Shared pens and brushes: pyqtgraph's symbol atlas keys on the objects themselves,
    so a fresh pen per point would re-render every symbol on every patient switch."""
    pen = pg.mkPen(_colour(colour, alpha), width=width)
    pen.setStyle(style)
    return pen


@cache
def _brush(colour: str, alpha: int = 255) -> QBrush:
    return pg.mkBrush(_colour(colour, alpha))


def _colour(hex_colour: str, alpha: int = 255) -> QColor:
    colour = QColor(hex_colour)
    colour.setAlpha(alpha)
    return colour


def _small_font(scale: float = 1.0) -> QFont:
    font = QFont()
    font.setPointSizeF(7.5 * scale)
    return font


def band_colour(severity: int, worst: int) -> QColor:
    share = severity / worst if worst else 0.0
    return _colour(BAND_RAMP[round(share * (len(BAND_RAMP) - 1))], BAND_ALPHA)


def _when(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        return f"{moment:%a %d %b %Y, %H:%M}"
    return f"{moment:%a %d %b %Y}"


def with_unit(inst: instruments.Instrument, value: float | None) -> str:
    """``1/10``, ``16 %``, ``525 m``; scores in plain points carry no unit."""
    text = inst.format(value)
    if value is None or not inst.unit or inst.unit == "points":
        return text
    return f"{text}{inst.unit}" if inst.unit.startswith("/") else f"{text} {inst.unit}"


def measurement_tip(
    series: MeasureSeries, point: MeasurePoint, episodes: tuple[timelines.EpisodeSpan, ...] = ()
) -> str:
    """The hover text of one measurement: what, when, value, band, who entered it, and
    the earlier episode it belongs to (if it does)."""
    inst = series.instrument
    lines = [f"{inst.short_name}: {with_unit(inst, point.value)}", _when(point.taken_at)]
    earlier = next((e for e in episodes if e.start_x <= point.x < e.end_x), None)
    if earlier is not None:
        lines.append(f"{earlier.detail} (an earlier episode: not part of this episode's change)")
    if point.band:
        lines.append(f"Band: {point.band}")
    if series.baseline is not None and point.measurement_id == series.baseline.measurement_id:
        lines.append("Baseline of this episode")
    lines.append(f"Entered by {point.entered_by or 'import / system'}")
    if point.safety:
        lines.append("Safety item answered positively")
    if point.note:
        lines.append(f"Note: {point.note}")
    return "\n".join(lines)


def session_tip(tick: timelines.SessionTick) -> str:
    name = disciplines.get(tick.discipline).name
    who = f" with {tick.clinician}" if tick.clinician else ""
    minutes = f", {tick.minutes} min" if tick.minutes else ""
    return f"{name} session {_when(tick.held_at)}\n{tick.kind}{who}{minutes}\n{tick.attendance.replace('_', '-')}"


def goal_tip(series: MeasureSeries, goal: timelines.GoalTarget) -> str:
    due = f" by {goal.due_on:%d %b %Y}" if goal.due_on else ""
    return f"Goal: {goal.text}\nTarget {series.format(goal.value)}{due} ({goal.status.replace('_', ' ')})"


class _DateAxis(pg.DateAxisItem):
    """A DateAxisItem whose tick positions and labels are computed once per range and
    width for all plots: the small multiples share their time range, so the other ten
    axes reuse the first one's ticks instead of redoing the calendar arithmetic."""

    _memo: OrderedDict = OrderedDict()
    MEMO_SIZE = 64

    @classmethod
    def _remember(cls, key, compute):
        if key in cls._memo:
            cls._memo.move_to_end(key)
            return cls._memo[key]
        value = cls._memo[key] = compute()
        if len(cls._memo) > cls.MEMO_SIZE:
            cls._memo.popitem(last=False)
        return value

    def _font_key(self):
        return self.fontMetrics.height(), self.fontMetrics.averageCharWidth()

    def tickValues(self, minVal, maxVal, size):
        def compute():
            values = super(_DateAxis, self).tickValues(minVal, maxVal, size)
            return self.zoomLevel, self.minSpacing, values

        self.zoomLevel, self.minSpacing, values = self._remember(
            ("values", minVal, maxVal, size, self._font_key()), compute
        )
        return [(spacing, list(ticks)) for spacing, ticks in values]

    def tickStrings(self, values, scale, spacing):
        key = ("strings", tuple(values), spacing, id(self.zoomLevel))
        return list(self._remember(key, lambda: super(_DateAxis, self).tickStrings(values, scale, spacing)))

    def generateDrawSpecs(self, p):
        """The columns' date axes have one range and one width: the first works out
        where ticks and dates go, the others draw the same."""
        font = self.style["tickFont"]
        key = (
            "specs",
            self.orientation,
            tuple(self.range),
            self.size().toTuple(),
            font.toString() if font is not None else "",
            self.style["tickLength"],
        )
        return self._remember(key, lambda: super(_DateAxis, self).generateDrawSpecs(p))


class _TimeViewBox(pg.ViewBox):
    """Drag pans in time; Ctrl+wheel zooms in time; a plain wheel scrolls the page."""

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis=0)
        else:
            ev.ignore()


TitleRun = tuple[str, str, bool]  # text, colour, bold


class _Title(QGraphicsItem):
    """A plot's one-line title as coloured runs of text. When they do not fit the plot's
    width (a meeting's column, a projector at 150 %), the ``optional`` runs (the band's
    name, which the plot's shading shows too) are left out first, then runs with a
    ``short`` wording take it ("MCID" for "MCID met", as on the cards), then the type
    may shrink a little (to ``MIN_SQUEEZE`` of its size), and only then does the last
    run shown end in …; never a word cut off mid-way. The whole title is its tooltip.
    Painted directly: a rich-text item lays its HTML out anew for every patient."""

    GAP = "  "
    MIN_SQUEEZE = 0.85

    def __init__(self, parent: QGraphicsItem):
        super().__init__(parent)
        self.max_width = 0.0
        self.runs: tuple[TitleRun, ...] = ()
        self.optional: tuple[int, ...] = ()
        self.short: dict[int, str] = {}
        self._shown_key: tuple = ()
        self._shown: list[TitleRun] = []
        self._squeeze = 1.0  # the type's size as painted, against its set size
        self._fonts: dict[bool, QFont] = {}
        self.font = QFont()
        self.font.setPointSizeF(9.0)
        self.bold = QFont(self.font)
        self.bold.setBold(True)
        self._height = float(QFontMetricsF(self.font).height())

    def set_runs(
        self,
        runs: tuple[TitleRun, ...],
        point_size: float,
        optional: tuple[int, ...] = (),
        short: dict[int, str] | None = None,
    ) -> None:
        short = short or {}
        if (
            runs == self.runs
            and (optional, short) == (self.optional, self.short)
            and point_size == self.font.pointSizeF()
        ):
            return
        if point_size != self.font.pointSizeF():
            self.prepareGeometryChange()
            self.font.setPointSizeF(point_size)
            self.bold.setPointSizeF(point_size)
            self._height = float(QFontMetricsF(self.font).height())
        self.runs = runs
        self.optional = optional
        self.short = short
        self.setToolTip(self.text())
        self.update()

    def text(self) -> str:
        return self.GAP.join(text for text, _colour, _bold in self.runs)

    def _font(self, bold: bool) -> QFont:
        return self.bold if bold else self.font

    def _width(self, runs: Sequence[TitleRun]) -> float:
        """The width the runs take, with the gaps between them (none after the last)."""
        widths = [QFontMetricsF(self._font(bold)).horizontalAdvance(text) for text, _c, bold in runs]
        gaps = [QFontMetricsF(self._font(bold)).horizontalAdvance(self.GAP) for _t, _c, bold in runs[:-1]]
        return sum(widths) + sum(gaps)

    def shown_runs(self) -> list[TitleRun]:
        """The runs as painted at the current width: optional ones left out when the
        whole title does not fit, the last one ending in … when even that is too wide
        (worked out once per title, width and size: the scene paints often)."""
        key = (self.runs, self.optional, tuple(self.short.items()), self.max_width, self.font.pointSizeF())
        if key != self._shown_key:
            self._shown_key, self._shown = key, self._fit()
        return self._shown

    def _fit(self) -> list[TitleRun]:
        self._squeeze = 1.0
        runs = list(self.runs)
        if self._width(runs) > self.max_width:
            runs = [run for i, run in enumerate(self.runs) if i not in self.optional]
        if self._width(runs) > self.max_width:
            runs = [
                (self.short.get(i, text), colour, bold)
                for i, (text, colour, bold) in enumerate(self.runs)
                if i not in self.optional
            ]
        needed = self._width(runs)
        if needed > self.max_width and self.max_width / needed >= self.MIN_SQUEEZE:
            self._squeeze = self.max_width / needed * 0.98  # text widths grow a little less than linearly
            return runs
        shown: list[TitleRun] = []
        x = 0.0
        for text, colour, bold in runs:
            metrics = QFontMetricsF(self._font(bold))
            width = metrics.horizontalAdvance(text)
            if x + width > self.max_width:
                room = self.max_width - x
                if room > metrics.horizontalAdvance("…") * 3:
                    shown.append((metrics.elidedText(text, Qt.TextElideMode.ElideRight, room), colour, bold))
                break
            shown.append((text, colour, bold))
            x += metrics.horizontalAdvance(text + self.GAP)
        return shown

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, max(self.max_width, 1.0), self._height + 4)

    def painted_font(self, bold: bool) -> QFont:
        """The font a run is painted in: the set one, or a little smaller (squeezed)."""
        if self._squeeze == 1.0:
            return self._font(bold)
        font = self._fonts.get(bold)
        size = self._font(bold).pointSizeF() * self._squeeze
        if font is None or font.pointSizeF() != size:
            font = self._fonts[bold] = QFont(self._font(bold))
            font.setPointSizeF(size)
        return font

    def paint(self, painter: QPainter, *_args) -> None:
        painter.setClipRect(self.boundingRect())
        x = 0.0
        for text, colour, bold in self.shown_runs():
            font = self.painted_font(bold)
            painter.setFont(font)
            painter.setPen(QColor(colour))
            painter.drawText(QPointF(x, 2 + QFontMetricsF(font).ascent()), text)
            x += QFontMetricsF(font).horizontalAdvance(text + self.GAP)


class TimePlot(pg.GraphicsWidget):
    """A title, a value axis, a date axis and a view: what a PlotItem offers here,
    without the context menu PlotItem builds for every plot (a form with some forty
    widgets, most of a PlotItem's construction time, never shown: the menu is off)."""

    def __init__(self, *, clip_children: bool = True):
        super().__init__()
        self.vb = _TimeViewBox(enableMenu=False)  # its menu too costs more than the whole view
        # Without clipping, every item in the view must clip itself (see _clip_to_view).
        self.vb.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, clip_children)
        self.vb.setMouseEnabled(x=True, y=False)
        self.axes = {"left": pg.AxisItem("left"), "bottom": _DateAxis(orientation="bottom")}
        # The title sits above the view, outside the layout: a pyqtgraph LabelItem sets
        # its minimum size to its text, so a longer title on the next patient re-laid out
        # the whole grid (every view box resized, every value axis redrawn).
        self.title_label = _Title(self)
        self.title_label.setPos(2 + LEFT_AXIS_WIDTH, 1)
        self.title_height: float = TITLE_HEIGHT
        grid = QGraphicsGridLayout()
        grid.setContentsMargins(2, 2 + TITLE_HEIGHT, 6, 2)
        grid.setSpacing(0)
        grid.addItem(self.axes["left"], 0, 0)
        grid.addItem(self.vb, 0, 1)
        grid.addItem(self.axes["bottom"], 1, 1)
        grid.setRowStretchFactor(0, 100)
        grid.setColumnStretchFactor(1, 100)
        self.setLayout(grid)
        for axis in self.axes.values():
            axis.linkToView(self.vb)
            axis.setZValue(0.5)
        self.axes["left"].setWidth(LEFT_AXIS_WIDTH)

    def getViewBox(self) -> pg.ViewBox:
        return self.vb

    def getAxis(self, name: str) -> pg.AxisItem:
        return self.axes[name]

    def addItem(self, item, ignoreBounds: bool = False) -> None:
        self.vb.addItem(item, ignoreBounds=ignoreBounds)

    def set_title(
        self,
        runs: tuple[TitleRun, ...],
        point_size: float,
        optional: tuple[int, ...] = (),
        short: dict[int, str] | None = None,
    ) -> None:
        self.title_label.set_runs(runs, point_size, optional, short)

    def title(self) -> str:
        return self.title_label.text()

    def set_title_space(self, height: float, left: float) -> None:
        self.title_height = height
        self.title_label.setPos(2 + left, 1)
        self.layout().setContentsMargins(2, 2 + height, 6, 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.title_label.prepareGeometryChange()
        self.title_label.max_width = max(0.0, self.size().width() - self.title_label.pos().x() - 6)

    def setLabel(self, axis: str, text: str) -> None:
        self.axes[axis].setLabel(text)


def _style_plot(plot: TimePlot, scale: float) -> None:
    font = QFont()
    font.setPointSizeF(8.0 * scale)
    for name in ("left", "bottom"):
        plot.getAxis(name).setStyle(tickFont=font)
    plot.getAxis("left").setWidth(int(LEFT_AXIS_WIDTH * scale))
    plot.set_title_space(TITLE_HEIGHT * scale, LEFT_AXIS_WIDTH * scale)


def _clip_to_view(item: pg.GraphicsObject, painter: QPainter) -> None:
    """Clip ``painter`` to the item's view with a plain device rectangle. The measure
    plots' views do not clip their children (Qt clips to a view's shape with an
    antialiased path mask, which made every line, point and tick under it several
    times dearer to draw); their items clip themselves this way instead."""
    view = item.getViewBox()
    if view is None:
        return
    transform = painter.transform()
    # Whole pixels: a fractional clip under antialiasing is a mask again.
    device = transform.mapRect(item.mapRectFromItem(view, view.boundingRect())).toAlignedRect()
    painter.resetTransform()
    painter.setClipRect(device, Qt.ClipOperation.IntersectClip)
    painter.setTransform(transform)


class ClippedCurve(pg.PlotCurveItem):
    def paint(self, painter: QPainter, *args) -> None:
        painter.save()
        try:
            _clip_to_view(self, painter)
            super().paint(painter, *args)
        finally:
            painter.restore()


class ClippedScatter(pg.ScatterPlotItem):
    """Also remembers its bounding rectangle until its points or the view change: the
    scene asks for it many times per paint, and pyqtgraph works it out in Python anew
    each time."""

    _rect: QRectF | None = None

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            self._rect = super().boundingRect()
        return QRectF(self._rect)

    def prepareGeometryChange(self) -> None:
        self._rect = None
        super().prepareGeometryChange()

    def updateSpots(self, *args, **kwargs) -> None:
        self._rect = None  # the spot size (padding) may change
        super().updateSpots(*args, **kwargs)

    def paint(self, painter: QPainter, *args) -> None:
        painter.save()
        try:
            _clip_to_view(self, painter)
            super().paint(painter, *args)
        finally:
            painter.restore()


class Spot(NamedTuple):
    """One mark of a ``Marks`` item (what tests and callers read back)."""

    x: float
    y: float
    payload: object
    symbol_name: str

    def data(self) -> object:
        return self.payload

    def symbol(self) -> str:
        return self.symbol_name

    def pos(self) -> QPointF:
        return QPointF(self.x, self.y)


def _symbol_pixmap(symbol: str, size: float, pen: QPen, brush: QBrush, ratio: float) -> QPixmap:
    """A symbol drawn once per style and device pixel ratio, stamped for every mark."""
    no_fill = brush.style() == Qt.BrushStyle.NoBrush
    return _stamp(symbol, size, pen.color().rgba(), pen.widthF(), None if no_fill else brush.color().rgba(), ratio)


@cache
def _stamp(symbol: str, size: float, pen_rgba: int, pen_width: float, fill_rgba: int | None, ratio: float) -> QPixmap:
    pen = QPen(QColor.fromRgba(pen_rgba), pen_width)
    brush = QBrush(QColor.fromRgba(fill_rgba)) if fill_rgba is not None else QBrush(Qt.BrushStyle.NoBrush)
    side = math.ceil((size + pen.widthF() + 2) * ratio)
    pixmap = QPixmap(side, side)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(side / ratio / 2, side / ratio / 2)
    painter.scale(size, size)
    outline = QPen(pen)
    outline.setCosmetic(True)
    painter.setPen(outline)
    painter.setBrush(brush)
    painter.drawPath(pg.graphicsItems.ScatterPlotItem.Symbols[symbol])
    painter.end()
    return pixmap


class _ViewFilling(pg.GraphicsObject):
    """An item as large as its view box: it draws only what the view shows (marks
    outside it are never drawn), and its bounds follow the view as it pans and zooms."""

    def _view(self) -> tuple[float, float, float, float]:
        view = self.getViewBox()
        if view is None:
            return 0.0, 1.0, 0.0, 1.0
        (x0, x1), (y0, y1) = view.viewRange()
        return x0, x1, y0, y1

    def boundingRect(self) -> QRectF:
        x0, x1, y0, y1 = self._view()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()


class Marks(_ViewFilling):
    """Points of one style (measurements, positive safety items, goal targets, flares,
    the selected measurement), with hover text and click. Stamps a pre-drawn symbol at
    each point in device pixels; pyqtgraph's scatter item builds and styles a spot
    object per point in Python, which was most of a patient switch's cost."""

    HIT_PX = 6

    def __init__(
        self,
        *,
        symbol: str = "o",
        size: float = 8,
        pen: QPen | None = None,
        brush: QBrush | None = None,
        tip: Callable[[float, float, object], str] | None = None,
        on_click: Callable[[object], None] | None = None,
        hover_size: float | None = None,
    ):
        super().__init__()
        self.symbol, self.size = symbol, size
        self.pen = pen if pen is not None else _pen("#ffffff")
        self.brush = brush if brush is not None else QBrush(Qt.BrushStyle.NoBrush)
        self.tip, self.on_click, self.hover_size = tip, on_click, hover_size
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.payloads: list[object] = []
        self.hovered: int | None = None
        self._tip_shown = False
        self.setAcceptHoverEvents(tip is not None or hover_size is not None)

    # --- data ---------------------------------------------------------------------------

    def set_points(
        self,
        x: Sequence[float] | np.ndarray,
        y: Sequence[float | None] | np.ndarray,
        payloads: Sequence[object] | None = None,
        *,
        brush: QBrush | None = None,
    ) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        payloads = list(payloads) if payloads is not None else [None] * len(x)
        if brush is not None:
            self.brush = brush
        self.x, self.y, self.payloads, self.hovered = x, y, payloads, None
        self.setVisible(bool(len(x)))  # an empty item is skipped by painting altogether
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y

    def points(self) -> list[Spot]:
        return [Spot(float(x), float(y), d, self.symbol) for x, y, d in zip(self.x, self.y, self.payloads)]

    # --- geometry and painting ----------------------------------------------------------

    def paint(self, painter: QPainter, *_args) -> None:
        if not len(self.x):
            return
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        to_device = painter.transform()
        painter.save()
        _clip_to_view(self, painter)
        painter.resetTransform()
        stamp = _symbol_pixmap(self.symbol, self.size, self.pen, self.brush, ratio)
        half = stamp.width() / ratio / 2
        px = self.x * to_device.m11() + to_device.dx()
        py = self.y * to_device.m22() + to_device.dy()
        for x, y in zip(px, py):
            painter.drawPixmap(QPointF(x - half, y - half), stamp)
        if self.hovered is not None and self.hover_size:
            big = _symbol_pixmap(self.symbol, self.hover_size, self.pen, self.brush, ratio)
            h = big.width() / ratio / 2
            painter.drawPixmap(QPointF(px[self.hovered] - h, py[self.hovered] - h), big)
        painter.restore()

    # --- hover and click ----------------------------------------------------------------

    def index_at(self, pos: QPointF) -> int | None:
        """The mark nearest to ``pos`` (view coordinates) within a few pixels."""
        if not len(self.x):
            return None
        per_px_x, per_px_y = self.pixelWidth(), self.pixelHeight()
        if not per_px_x or not per_px_y:
            return None
        dx = (self.x - pos.x()) / per_px_x
        dy = (self.y - pos.y()) / per_px_y
        distance = dx * dx + dy * dy
        nearest = int(np.argmin(distance))
        reach = max(self.HIT_PX, self.size / 2 + 2)
        return nearest if distance[nearest] <= reach * reach else None

    def hoverEvent(self, ev) -> None:
        view = self.getViewBox()
        index = None if ev.isExit() else self.index_at(ev.pos())
        if index != self.hovered:
            self.hovered = index
            self.update()
        if view is None or self.tip is None:
            return
        if index is not None:
            view.setToolTip(self.tip(float(self.x[index]), float(self.y[index]), self.payloads[index]))
            self._tip_shown = True
        elif self._tip_shown:
            view.setToolTip("")
            self._tip_shown = False

    def mouseClickEvent(self, ev) -> None:
        index = self.index_at(ev.pos()) if ev.button() == Qt.MouseButton.LeftButton else None
        if index is None or self.on_click is None:
            ev.ignore()
            return
        ev.accept()
        self.on_click(self.payloads[index])


def _set_points(item: pg.ScatterPlotItem, **data) -> None:
    """``setData`` unless the item is empty and stays empty (most flare and goal items);
    an empty item is hidden, so painting skips it."""
    if len(data["x"]) or len(item.data):
        item.setData(**data)
    item.setVisible(bool(len(data["x"])))


def _pool(plot: TimePlot, pool: list, count: int, factory: Callable[[], pg.GraphicsObject]) -> list:
    """Grow ``pool`` to ``count`` items on ``plot``; hide the ones not needed."""
    while len(pool) < count:
        item = factory()
        plot.addItem(item)
        pool.append(item)
    for i, item in enumerate(pool):
        item.setVisible(i < count)
    return pool[:count]


class SessionTicks(_ViewFilling):
    """A discipline's sessions as short vertical ticks in a lane below the data, coloured
    by attendance, each with its hover text. One item drawing plain lines in device
    pixels: a scatter item builds a styled spot per session, which made the ticks the
    dearest part of a patient switch."""

    TICK_PX = 7
    HOVER_PX = 4

    def __init__(self) -> None:
        super().__init__()
        self.ticks: tuple[timelines.SessionTick, ...] = ()
        self.x = np.zeros(0)
        self.y = 0.0
        self._groups: list[tuple[QColor, np.ndarray]] = []
        self._tip_shown = False
        self.scale = 1.0
        self.setAcceptHoverEvents(True)
        self.setZValue(5)

    def set_ticks(self, ticks: list[timelines.SessionTick], y: float) -> None:
        if tuple(ticks) == self.ticks and y == self.y:
            return
        self.ticks, self.y = tuple(ticks), y
        self.x = np.array([t.x for t in ticks], dtype=float)
        colours = [ATTENDANCE_COLOUR.get(t.attendance, t.colour) for t in ticks]
        self._groups = [
            (QColor(colour), self.x[[i for i, c in enumerate(colours) if c == colour]])
            for colour in dict.fromkeys(colours)
        ]
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, np.full(len(self.x), self.y)

    def paint(self, painter: QPainter, *_args) -> None:
        if not len(self.x):
            return
        to_device = painter.transform()
        painter.save()
        _clip_to_view(self, painter)
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        centre = to_device.map(QPointF(0.0, self.y)).y()
        height = self.TICK_PX * self.scale
        top = round(centre - height / 2)
        width = max(1, round(1.5 * self.scale))
        scale, shift = to_device.m11(), to_device.dx()
        for colour, xs in self._groups:
            for px in np.round(xs * scale + shift):
                painter.fillRect(QRectF(px, top, width, height), colour)  # the fast path: no stroker
        painter.restore()

    def ticks_at(self, pos: QPointF) -> list[timelines.SessionTick]:
        """The sessions under a point of the view (in data coordinates)."""
        if not len(self.x) or self.getViewBox() is None:
            return []
        per_px_x, per_px_y = self.pixelWidth(), self.pixelHeight()
        if not per_px_x or abs(pos.y() - self.y) > self.TICK_PX * per_px_y:
            return []
        near = np.nonzero(np.abs(self.x - pos.x()) <= self.HOVER_PX * per_px_x)[0]
        return [self.ticks[i] for i in near]

    def hoverEvent(self, ev) -> None:
        view = self.getViewBox()
        if view is None:
            return
        found = [] if ev.isExit() else self.ticks_at(ev.pos())
        if found:
            tips = [session_tip(t) for t in found[:3]]
            if len(found) > 3:
                tips.append(f"({len(found) - 3} others…)")
            view.setToolTip("\n\n".join(tips))
            self._tip_shown = True
        elif self._tip_shown:
            view.setToolTip("")
            self._tip_shown = False


def _flare_tip(_x: float, _y: float, flare: object) -> str:
    assert isinstance(flare, timelines.FlareMarker)  # the flare marks' payloads
    return flare.text


class _Markers:
    """Session ticks (below the data) and flare marks (above it), both with hover text."""

    def __init__(self, plot: TimePlot):
        self.sessions = SessionTicks()
        self.flares = Marks(symbol="t", size=10, pen=_pen("#ffffff", 0.8), brush=_brush(FLARE_COLOUR), tip=_flare_tip)
        for item in (self.sessions, self.flares):
            item.setZValue(5)
            plot.addItem(item, ignoreBounds=item is self.sessions)

    def update(
        self, timeline: PatientTimeline, sessions: list[timelines.SessionTick], lanes: tuple[float, float]
    ) -> None:
        """``lanes``: the y of the session ticks and of the flare marks."""
        session_y, flare_y = lanes
        self.sessions.set_ticks(sessions, session_y)
        self.flares.set_points([f.x for f in timeline.flares], np.full(len(timeline.flares), flare_y), timeline.flares)


def lanes(y_range: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The view's y range with a lane below the data for session ticks and one above
    for flares, so markers never sit on top of a measurement; and the lanes' y."""
    lo, hi = y_range
    span = (hi - lo) or 1.0
    view = (lo - 0.16 * span, hi + 0.1 * span)
    return view, (lo - 0.09 * span, hi + 0.05 * span)


def checkin_labels(
    checkins, x0: float, x1: float, width_px: float, spacing_px: float = CHECKIN_LABEL_PX
) -> list[timelines.CheckInMarker]:
    """The check-ins whose date fits above their line at this zoom: in view, and clear of
    the previous dated one. A date sits right of its line, or left of it by the plot's
    right edge (``Backdrop.paint``): ``spacing_px`` is the room a date takes either way."""
    if x1 <= x0 or width_px <= 0:
        return []
    px_per_second = width_px / (x1 - x0)
    shown, last_right = [], -math.inf
    for marker in checkins:
        px = (marker.x - x0) * px_per_second
        if not 0 <= px <= width_px:
            continue
        left = px if px + spacing_px <= width_px else px - spacing_px
        if left >= last_right:
            shown.append(marker)
            last_right = left + spacing_px
    return shown


class Backdrop(_ViewFilling):
    """Everything behind a plot's data, drawn by one item: severity bands, check-in
    lines with their dates, today, and the baseline and MCID lines with their values.

    One cheap item instead of a LinearRegionItem per band and an InfiniteLine (with a
    TextItem label) per line: those re-measure themselves on every pan and re-position
    their labels during paint, which costs a second frame on each patient switch.
    Text is drawn in device pixels, so it stays crisp and upright at any zoom."""

    def __init__(self, bands: tuple[timelines.BandRegion, ...], decimals: int = 0):
        super().__init__()
        self.bands = bands
        self.band_brushes = [QBrush(band_colour(b.severity, b.worst_severity)) for b in bands]
        self.decimals = decimals
        self.checkins: tuple[timelines.CheckInMarker, ...] = ()
        self.dated = False  # top-row plots carry the check-in dates
        self.today_x: float | None = None
        self.baseline: float | None = None
        self.mcid: float | None = None
        self.episodes: tuple[timelines.EpisodeSpan, ...] = ()
        self.lines_from: float | None = None
        self.font = _small_font()
        self.line_px = 1.0  # check-in line width in device pixels (follows the UI scale)
        self.setZValue(-10)
        if bands:
            self.setToolTip("\n".join(f"{b.label}: {b.low:g}–{b.high:g}" for b in bands))

    def set_state(
        self,
        *,
        checkins,
        dated: bool,
        today_x: float,
        baseline: float | None,
        mcid: float | None,
        episodes: tuple[timelines.EpisodeSpan, ...] = (),
        episode_start_x: float | None = None,
    ) -> None:
        self.checkins, self.dated, self.today_x, self.baseline, self.mcid = checkins, dated, today_x, baseline, mcid
        self.episodes = episodes
        # After a readmission the baseline and MCID lines start where the current episode does.
        self.lines_from = episode_start_x if episodes else None
        self.update()

    def dated_checkins(self) -> list[timelines.CheckInMarker]:
        """The check-ins whose date this plot shows at the current zoom."""
        if not self.dated:
            return []
        x0, x1, _y0, _y1 = self._view()
        view = self.getViewBox()
        width = view.width() if view is not None else 0.0
        # The widest date ("28 Aug") at the current type size, and a little air.
        spacing = max(CHECKIN_LABEL_PX, QFontMetricsF(self.font).horizontalAdvance("28 Aug") + 10)
        return checkin_labels(self.checkins, x0, x1, width, spacing)

    def paint(self, painter: QPainter, *_args) -> None:
        x0, x1, y0, y1 = self._view()
        # Drawn in device pixels: lines at epoch-second x through a view transform took
        # the painter's slow path, a tenth of a millisecond per check-in line.
        to_device = painter.transform()
        left, top = to_device.map(QPointF(x0, y1)).toTuple()
        right, bottom = to_device.map(QPointF(x1, y0)).toTuple()
        scale_x, shift_x, scale_y, shift_y = to_device.m11(), to_device.dx(), to_device.m22(), to_device.dy()
        painter.save()
        _clip_to_view(self, painter)
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        for band, brush in zip(self.bands, self.band_brushes):
            y_low, y_high = band.low * scale_y + shift_y, band.high * scale_y + shift_y
            painter.setBrush(brush)
            painter.drawRect(QRectF(left, min(y_low, y_high), right - left, abs(y_low - y_high)))
        painter.setBrush(QBrush(EPISODE_SHADE))
        for span in self.episodes:  # earlier episodes of care, shaded
            span_left = max(left, span.start_x * scale_x + shift_x)
            span_right = min(right, span.end_x * scale_x + shift_x)
            if span_right > span_left:
                painter.drawRect(QRectF(span_left, top, span_right - span_left, bottom - top))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # Solid lines as filled rectangles and dashed ones with 1 px pens: a wider or
        # fractional pen goes through Qt's general stroker, ~1 ms per long line.
        line = max(1.0, round(self.line_px))
        for marker in self.checkins:
            x = round(marker.x * scale_x + shift_x)
            if left <= x <= right:
                painter.fillRect(QRectF(x, top, line, bottom - top), CHECKIN_FILL)
        if self.today_x is not None:
            painter.setPen(_pen(TODAY_COLOUR, 1, Qt.PenStyle.DotLine))
            today_px = round(self.today_x * scale_x + shift_x) + 0.5
            painter.drawLine(QLineF(today_px, top, today_px, bottom))
        start = max(x0, self.lines_from) if self.lines_from is not None else x0
        start_px = start * scale_x + shift_x
        for value, colour, style in (
            (self.baseline, BASELINE_COLOUR, Qt.PenStyle.DashDotLine),
            (self.mcid, MCID_COLOUR, Qt.PenStyle.DashLine),
        ):
            if value is not None and start < x1:
                painter.setPen(_pen(colour, 1, style))
                y = round(value * scale_y + shift_y) + 0.5
                painter.drawLine(QLineF(start_px, y, right, y))
        painter.setTransform(to_device)
        self._paint_text(painter, x0, x1, y1, start)
        painter.restore()

    def _paint_text(self, painter: QPainter, x0: float, x1: float, y1: float, start: float) -> None:
        """Check-in dates, episode names, and the baseline and MCID values (labelled where
        their lines begin, ``start``, and end)."""
        to_device = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        metrics = painter.fontMetrics()
        labels = [
            (to_device.map(QPointF(m.x, y1)) + QPointF(3, 1), m.label.removeprefix("Check-in "), CHECKIN_COLOUR, False)
            for m in self.dated_checkins()
        ]
        if self.baseline is not None and start < x1:
            text = f"Baseline {self.baseline:.{self.decimals}f}"
            at = to_device.map(QPointF(start, self.baseline))
            room = to_device.map(QPointF(x1, self.baseline)).x() - at.x()
            # A short current episode (just readmitted) leaves no room after the line's
            # start: the value is then written at the right end, below the line.
            baseline_at_end = room < metrics.horizontalAdvance(text) + 10
            if not baseline_at_end:
                labels.append((at + QPointF(4, -metrics.height() - 1), text, BASELINE_COLOUR, False))
            else:
                # Both values at the right end: each written on the side away from the other line.
                above = self.mcid is None or self.baseline >= self.mcid
                end = to_device.map(QPointF(x1, self.baseline))
                labels.append((end + QPointF(-4, -metrics.height() - 1 if above else 1), text, BASELINE_COLOUR, True))
        else:
            baseline_at_end = False
        if self.mcid is not None and start < x1:
            at = to_device.map(QPointF(x1, self.mcid))
            below = baseline_at_end and self.baseline is not None and self.mcid < self.baseline
            labels.append(
                (
                    at + QPointF(-4, 1 if below else -metrics.height() - 1),
                    f"MCID {self.mcid:.{self.decimals}f}",
                    MCID_COLOUR,
                    True,
                )
            )
        for span in self.episodes:
            left = to_device.map(QPointF(max(span.start_x, x0), y1))
            right = to_device.map(QPointF(min(span.end_x, x1), y1))
            if right.x() - left.x() >= metrics.horizontalAdvance(span.label) + 8:
                top = metrics.height() + 3 if self.dated else 1  # below the check-in dates
                labels.append((left + QPointF(4, top), span.label, EPISODE_LABEL_COLOUR, False))
        right_edge = to_device.map(QPointF(x1, y1)).x()
        for top_left, text, colour, from_right in labels:
            rect = QRectF(metrics.boundingRect(text)).adjusted(-2, 0, 2, 0)
            rect.moveTopLeft(top_left - QPointF(rect.width(), 0) if from_right else top_left)
            if rect.right() > right_edge:  # a date by the right edge goes to the left of its line
                rect.moveRight(top_left.x() - 6)
            painter.fillRect(rect, LABEL_BACKGROUND)  # legible over bands and points
            painter.setPen(QColor(colour))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class _AxisCell(pg.GraphicsWidget):
    """One column's date axis in the strip under the plots, laid out like a plot (same
    margins, a blank where the plot's value axis is) so its dates line up with them."""

    def __init__(self) -> None:
        super().__init__()
        self.axis = _DateAxis(orientation="bottom")
        self.view: pg.ViewBox | None = None
        self.spacer = QGraphicsWidget(self)
        self._spacer_width(LEFT_AXIS_WIDTH)
        grid = QGraphicsGridLayout()
        grid.setContentsMargins(2, 0, 6, 0)
        grid.setSpacing(0)
        grid.addItem(self.spacer, 0, 0)
        grid.addItem(self.axis, 0, 1)
        grid.setColumnStretchFactor(1, 100)
        self.setLayout(grid)

    def follow(self, view: pg.ViewBox) -> None:
        """Show the time range of ``view``. Not pyqtgraph's ``linkToView``: an axis
        linked across two graphics views made the plots' view paint twice per switch."""
        if self.view is not None:
            self.view.sigXRangeChanged.disconnect(self._range_changed)
        self.view = view
        view.sigXRangeChanged.connect(self._range_changed)
        self._range_changed(view, view.viewRange()[0])

    def _range_changed(self, _view: pg.ViewBox, x_range) -> None:
        self.axis.setRange(*x_range)

    def set_scale(self, scale: float) -> None:
        font = QFont()
        font.setPointSizeF(8.0 * scale)
        self.axis.setStyle(tickFont=font)
        self._spacer_width(int(LEFT_AXIS_WIDTH * scale))

    def _spacer_width(self, width: int) -> None:
        self.spacer.setMinimumWidth(width)
        self.spacer.setMaximumWidth(width)


class MeasurePlot:
    """One measure: bands, baseline and MCID lines, goal targets, points and markers."""

    def __init__(self, instrument: instruments.Instrument, on_click: Callable[[int], None]):
        self.instrument = instrument
        self.plot = TimePlot(clip_children=False)
        self.plot.getAxis("bottom").hide()  # the column's date axis is in the strip under the plots
        self.series: MeasureSeries | None = None
        self.scale = 1.0
        self._y_view: tuple[float, float] | None = None
        self.backdrop = Backdrop(timelines.band_regions(instrument), instrument.decimals)
        self.plot.addItem(self.backdrop, ignoreBounds=True)
        self.markers = _Markers(self.plot)
        self.curve = ClippedCurve(connect="finite")
        clicked = lambda point: on_click(point.measurement_id)  # noqa: E731
        self.points = Marks(size=8, hover_size=11, pen=_pen("#ffffff"), tip=self._tip, on_click=clicked)
        self.safety = Marks(  # positive safety items: red stars
            symbol="star",
            size=12,
            hover_size=15,
            pen=_pen("#7b1010", 1.5),
            brush=_brush(SAFETY_COLOUR),
            tip=self._tip,
            on_click=clicked,
        )
        self.selected = Marks(size=17, pen=_pen("#111111", 2))
        self.goal_lines: list[pg.PlotCurveItem] = []
        self.goal_ends = Marks(symbol="d", size=10, tip=self._goal_tip)
        for item, z in ((self.curve, 2), (self.goal_ends, 3), (self.points, 4), (self.safety, 4.5), (self.selected, 6)):
            item.setZValue(z)
            self.plot.addItem(item)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """Every plotted measurement (plain and safety-positive), in time order."""
        xs = np.concatenate([self.points.getData()[0], self.safety.getData()[0]])
        ys = np.concatenate([self.points.getData()[1], self.safety.getData()[1]])
        order = np.argsort(xs, kind="stable")
        return xs[order], ys[order]

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.backdrop.font = _small_font(scale)
        _style_plot(self.plot, scale)

    # The marks get their points in ``update``, which sets ``series`` first.

    def _tip(self, _x: float, _y: float, point: object) -> str:
        assert self.series is not None and isinstance(point, MeasurePoint)
        return measurement_tip(self.series, point, self.backdrop.episodes)

    def _goal_tip(self, _x: float, _y: float, goal: object) -> str:
        assert self.series is not None and isinstance(goal, timelines.GoalTarget)
        return goal_tip(self.series, goal)

    def _goal_line(self) -> pg.PlotCurveItem:
        assert self.series is not None
        return ClippedCurve(pen=_pen(self.series.colour, 1.6, Qt.PenStyle.DashLine))

    def update(self, series: MeasureSeries, timeline: PatientTimeline, labelled: bool) -> None:
        self.series = series
        colour = series.colour
        valued = [p for p in series.points if p.value is not None and not p.safety]
        flagged = [p for p in series.points if p.value is not None and p.safety]
        self.curve.setData(
            np.array(series.line_x, dtype=float),
            np.array(series.line_y, dtype=float),
            pen=_pen(colour, 2, alpha=200),
            connect="finite",
        )
        self.points.set_points([p.x for p in valued], [p.value for p in valued], valued, brush=_brush(colour))
        self.safety.set_points([p.x for p in flagged], [p.value for p in flagged], flagged)
        self.selected.set_points([], [])
        self.backdrop.set_state(
            checkins=timeline.checkins,
            dated=labelled,
            today_x=timeline.today_x,
            baseline=series.baseline.value if series.baseline else None,
            mcid=series.mcid_threshold,
            episodes=timeline.earlier_episodes,
            episode_start_x=timeline.episode_start_x,
        )
        self._update_goals(series)
        own = [s for s in timeline.sessions if s.discipline == series.discipline]
        view, marker_lanes = lanes(series.y_range)
        if view != self._y_view:
            self._y_view = view
            self.plot.getViewBox().setYRange(*view, padding=0)
        self.markers.update(timeline, own, marker_lanes)
        title = self.title(series)
        # On a narrow plot the band's name gives way first (the shading shows the band),
        # then the change takes the cards' shorter wording.
        band = 2 if series.latest is not None and series.latest.band else None
        short = self.short_change(series)
        self.plot.set_title(
            title,
            9.0 * self.scale,
            () if band is None else (band,),
            {len(title) - 1: short} if short is not None else None,
        )

    def _update_goals(self, series: MeasureSeries) -> None:
        lines = _pool(self.plot, self.goal_lines, len(series.goals), self._goal_line)
        for line, goal in zip(lines, series.goals):
            line.setData(
                np.array([goal.start_x, goal.end_x]),
                np.array([goal.value, goal.value]),
                pen=_pen(series.colour, 1.6, Qt.PenStyle.DashLine),
            )
            line.setZValue(3)
        self.goal_ends.set_points([g.end_x for g in series.goals], [g.value for g in series.goals], series.goals)
        self.goal_ends.pen, self.goal_ends.brush = _pen(series.colour, 1.6), _brush("#ffffff")

    @staticmethod
    def _change_words(series: MeasureSeries, mcid_met: str) -> str | None:
        inst, change = series.instrument, series.change
        if change.points is None or change.verdict not in ("better", "worse") or series.latest is series.baseline:
            return None
        arrow = "▲" if change.points > 0 else "▼"
        mcid = mcid_met if change.mcid_met else ""
        # reliable change beside MCID: one says it matters, the other that it beats noise
        rci = {"no reliable change": " · not reliable"}.get(
            change.rci_verdict or "", " · reliable" if change.rci_verdict else ""
        )
        return f"{arrow}{inst.format(abs(change.points))}{mcid}{rci}"

    @staticmethod
    def title(series: MeasureSeries) -> tuple[TitleRun, ...]:
        """Name, latest value, band and the change since baseline, as coloured runs."""
        inst = series.instrument
        runs: list[TitleRun] = [(inst.short_name, "#14212e", True)]
        if series.latest is not None:
            runs.append((with_unit(inst, series.latest.value), "#3c4650", False))
            if series.latest.band:
                runs.append((series.latest.band, "#5b6670", False))
        words = MeasurePlot._change_words(series, " · MCID met")
        if words is not None:
            runs.append((words, "#2e7d32" if series.change.verdict == "better" else "#c62828", False))
        return tuple(runs)

    @staticmethod
    def short_change(series: MeasureSeries) -> str | None:
        """The change as the discipline cards word it ("▼3 MCID · reliable"): the
        title's wording on a narrow plot."""
        return MeasurePlot._change_words(series, " MCID")

    def select(self, measurement_id: int | None) -> bool:
        point = next(
            (p for p in (self.series.points if self.series else ()) if p.measurement_id == measurement_id), None
        )
        if point is None or point.value is None:
            self.selected.set_points([], [])
            return False
        self.selected.set_points([point.x], [point.value])
        return True


class NormalisedPlot:
    """Several measures on one 0–100 axis, 0 = worst possible, 100 = best possible."""

    def __init__(self, on_click: Callable[[int], None]):
        self.plot = TimePlot()
        self.plot.setLabel("left", "worse  ←  0–100  →  better")
        self.plot.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)]])  # not the marker lanes
        self.on_click = on_click
        self.backdrop = Backdrop(())
        self.plot.addItem(self.backdrop, ignoreBounds=True)
        self.markers = _Markers(self.plot)
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.ScatterPlotItem, list[pg.PlotDataItem]]] = {}
        self.series: dict[str, MeasureSeries] = {}
        self.legend = pg.LegendItem(colCount=6, labelTextSize="8pt", verSpacing=-4, horSpacing=14)
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.selected = pg.ScatterPlotItem(size=17, pen=pg.mkPen("#111111", width=2), brush=None)
        self.selected.setZValue(6)
        self.plot.addItem(self.selected)

    def _items_for(self, series: MeasureSeries):
        if series.id not in self.curves:
            curve = pg.PlotDataItem(connect="finite")
            points = pg.ScatterPlotItem(
                size=7,
                hoverable=True,
                hoverSize=10,
                tip=lambda x, y, data: (
                    measurement_tip(self.series[data[0]], data[1], self.backdrop.episodes)
                    + f"\nNormalised: {y:.0f}/100"
                ),
            )
            points.sigClicked.connect(
                lambda _item, spots, _ev: spots and self.on_click(spots[0].data()[1].measurement_id)
            )
            for item, z in ((curve, 2), (points, 4)):
                item.setZValue(z)
                self.plot.addItem(item)
            self.curves[series.id] = (curve, points, [])
        return self.curves[series.id]

    def update(self, shown: list[MeasureSeries], timeline: PatientTimeline) -> None:
        self.series = {s.id: s for s in shown}
        self.legend.clear()
        for key, (curve, points, goals) in self.curves.items():
            visible = key in self.series
            for item in (curve, points, *goals):
                item.setVisible(visible)
        for index, series in enumerate(shown):
            colour = PALETTE[index % len(PALETTE)]
            curve, points, goals = self._items_for(series)
            curve.setData(
                np.array(series.line_x, dtype=float), np.array(series.line_norm, dtype=float), pen=_pen(colour, 2)
            )
            valued = [p for p in series.points if p.normalised is not None]
            points.setData(
                x=np.array([p.x for p in valued], dtype=float),
                y=np.array([p.normalised for p in valued], dtype=float),
                brush=[_brush(SAFETY_COLOUR if p.safety else colour) for p in valued],
                pen=_pen("#ffffff"),
                symbol=["star" if p.safety else "o" for p in valued],
                data=[(series.id, p) for p in valued],
            )
            self._update_goals(series, goals, colour)
            self.legend.addItem(curve, series.instrument.short_name)
        self.selected.setData([], [])
        view, marker_lanes = lanes((0.0, 100.0))
        self.plot.getViewBox().setYRange(*view, padding=0)
        self.backdrop.set_state(
            checkins=timeline.checkins,
            dated=True,
            today_x=timeline.today_x,
            baseline=None,
            mcid=None,
            episodes=timeline.earlier_episodes,
        )
        self.markers.update(timeline, list(timeline.sessions), marker_lanes)

    def _update_goals(self, series: MeasureSeries, pool: list, colour: str) -> None:
        targets = [g for g in series.goals if g.normalised is not None]
        factory = lambda: pg.PlotDataItem()  # noqa: E731
        for line, goal in zip(_pool(self.plot, pool, len(targets), factory), targets):
            line.setData(
                [goal.start_x, goal.end_x],
                [goal.normalised, goal.normalised],
                pen=_pen(colour, 1.4, Qt.PenStyle.DashLine),
            )
            line.setZValue(3)

    def select(self, measurement_id: int | None) -> bool:
        for series in self.series.values():
            for p in series.points:
                if p.measurement_id == measurement_id and p.normalised is not None:
                    self.selected.setData([p.x], [p.normalised])
                    return True
        self.selected.setData([], [])
        return False


class TimelineView(QWidget):
    """The outcome timelines of the open patient, with their controls."""

    measurement_selected = Signal(int)
    selection_changed = Signal(object)  # the instrument ids the user chose, None = key measures
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("timeline")
        self.timeline: PatientTimeline | None = None
        self.plots: dict[str, MeasurePlot] = {}
        self.normalised = NormalisedPlot(self._clicked)
        self.mode = MODE_PER_MEASURE
        self.range_preset = RANGE_ALL
        self.scale = 1.0
        self.custom_selection: tuple[str, ...] | None = None
        # Which measures to show when the user has not chosen (default: the patient's
        # key measures); the meeting screen shows a few, one discipline after another.
        self.pick: Callable[[PatientTimeline], tuple[str, ...]] | None = None
        self.selected_measurement: int | None = None
        self._layout_key: tuple | None = None
        self._rows = 1
        self._fitted_for = 0
        self._syncing = False
        self._build_controls()
        self._build_canvas()
        for vb in self._all_viewboxes():
            vb.sigRangeChangedManually.connect(lambda _mask, vb=vb: self._panned(vb))

    # --- widgets ---------------------------------------------------------------------------

    def _segment(self, group: QButtonGroup, text: str, key: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setProperty("key", key)
        button.setProperty("segment", True)
        group.addButton(button)
        return button

    def _build_controls(self) -> None:
        self.mode_group = QButtonGroup(self)
        self.per_measure_button = self._segment(
            self.mode_group, "Per measure", MODE_PER_MEASURE, "One plot per measure, in its own units"
        )
        self.normalised_button = self._segment(
            self.mode_group,
            "Normalised",
            MODE_NORMALISED,
            "All selected measures on one 0–100 axis: 0 = worst possible, 100 = best possible",
        )
        self.per_measure_button.setChecked(True)
        self.mode_group.buttonClicked.connect(lambda b: self.set_mode(b.property("key")))
        self.measures_button = QToolButton(self)
        self.measures_button.setAccessibleName("Choose the measures shown")
        self.measures_button.setText("Measures")
        self.measures_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.measures_menu = QMenu(self)
        self.measures_button.setMenu(self.measures_menu)
        self.range_group = QButtonGroup(self)
        self.range_buttons = {
            RANGE_ALL: self._segment(self.range_group, "Fit all", RANGE_ALL, "Show the whole record"),
            RANGE_12M: self._segment(self.range_group, "12 mo", RANGE_12M, "Show the last 12 months"),
            RANGE_3M: self._segment(self.range_group, "3 mo", RANGE_3M, "Show the last 3 months"),
        }
        self.range_buttons[RANGE_ALL].setChecked(True)
        self.range_group.buttonClicked.connect(lambda b: self.show_range(b.property("key")))
        self.hint = FittingLabel(HINTS, self)
        self.hint.setObjectName("hint")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(0)
        for b in (self.per_measure_button, self.normalised_button):
            bar.addWidget(b)
        bar.addSpacing(10)
        bar.addWidget(self.measures_button)
        bar.addSpacing(12)
        bar.addWidget(self.hint, 1)
        for b in self.range_buttons.values():
            bar.addWidget(b)
        self._bar = bar

    def _build_canvas(self) -> None:
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setObjectName("timelineCanvas")
        self.canvas.setAccessibleName("Outcome timelines: hover a point for its details, click to select it")
        self.canvas.ci.setContentsMargins(0, 0, 0, 0)
        self.canvas.ci.setSpacing(4)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always shown: a scroll bar coming and going would change the width and re-lay out every plot.
        self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.scroll_area.setWidget(self.canvas)
        self.date_strip = pg.GraphicsLayoutWidget()
        self.date_strip.setObjectName("timelineDates")
        self.date_strip.setAccessibleName("Dates of the timelines")
        self.date_strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.date_strip.ci.setContentsMargins(0, 0, 0, 0)
        self.date_strip.ci.setSpacing(4)
        self.date_strip.setFixedHeight(DATE_STRIP_PX)
        self.date_strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.date_strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.date_cells: list[_AxisCell] = []
        dates_row = QHBoxLayout()
        dates_row.setContentsMargins(0, 0, 0, 0)
        dates_row.setSpacing(0)
        dates_row.addWidget(self.date_strip, 1)
        self.dates_gutter = QWidget(self)  # under the plots' scroll bar
        dates_row.addWidget(self.dates_gutter)
        plots_page = QWidget(self)
        page = QVBoxLayout(plots_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addWidget(self.scroll_area, 1)
        page.addLayout(dates_row)
        self.plots_page = plots_page
        self.empty = QLabel("No measurements recorded for this patient yet.", self)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(plots_page)
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(self._bar)
        layout.addWidget(self.stack, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(800, 560)

    # --- data --------------------------------------------------------------------------------

    def set_record(self, record: PatientRecord) -> None:
        self.set_timeline(timelines.build(record))

    def set_timeline(self, timeline: PatientTimeline) -> None:
        same_patient = self.timeline is not None and self.timeline.patient_id == timeline.patient_id
        self.timeline = timeline
        if not same_patient:
            self.selected_measurement = None
        self._rebuild_measures_menu()
        self._refresh()
        if not same_patient or self.range_preset != RANGE_CUSTOM:
            self.show_range(self.range_preset if self.range_preset != RANGE_CUSTOM else RANGE_ALL)

    def clear(self) -> None:
        self.timeline = None
        self.canvas.ci.clear()
        self._layout_key = None
        self.stack.setCurrentWidget(self.empty)

    def shown_series(self) -> list[MeasureSeries]:
        """The series currently selected for display, in display order."""
        if self.timeline is None:
            return []
        if self.custom_selection is not None:
            wanted = self.custom_selection
        elif self.pick is not None:
            wanted = self.pick(self.timeline)
        else:
            wanted = self.timeline.default_selection
        shown = self.timeline.selected(wanted)
        if self.mode == MODE_NORMALISED:
            shown = [s for s in shown if s.instrument.direction is not None]
        return shown

    def _refresh(self) -> None:
        timeline = self.timeline
        shown = self.shown_series() if timeline else []
        if not shown or timeline is None:
            self.empty.setText(
                "No measurements recorded for this patient yet."
                if timeline and not timeline.series
                else "No measure selected: choose some under “Measures”."
            )
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.plots_page)
        self._arrange(shown)
        if self.mode == MODE_NORMALISED:
            self.normalised.update(shown, timeline)
            self.normalised.select(self.selected_measurement)
            return
        columns = self._columns(len(shown))
        for index, series in enumerate(shown):
            plot = self.plot_for(series.id)
            plot.update(series, timeline, labelled=index < columns)
            plot.select(self.selected_measurement)

    def plot_for(self, instrument_id: str) -> MeasurePlot:
        if instrument_id not in self.plots:
            plot = MeasurePlot(instruments.get(instrument_id), self._clicked)
            vb = plot.plot.getViewBox()
            vb.sigRangeChangedManually.connect(lambda _mask, vb=vb: self._panned(vb))
            if self.scale != 1.0:
                plot.set_scale(self.scale)
            self.plots[instrument_id] = plot
        return self.plots[instrument_id]

    # --- layout ------------------------------------------------------------------------------

    def _columns(self, count: int) -> int:
        width = self.scroll_area.viewport().width() or self.width()
        return max(1, min(MAX_COLUMNS, count, width // MIN_COLUMN_WIDTH))

    def _arrange(self, shown: list[MeasureSeries]) -> None:
        """Lay the plots out in a grid; only when the set, mode or column count changed."""
        columns = 1 if self.mode == MODE_NORMALISED else self._columns(len(shown))
        key = (self.mode, tuple(s.id for s in shown), columns)
        if key == self._layout_key:
            return
        self._layout_key = key
        layout = self.canvas.ci
        layout.clear()
        if self.mode == MODE_NORMALISED:
            self.date_strip.setVisible(False)  # the one plot has its own date axis
            layout.addItem(self.normalised.plot, 0, 0)
            layout.addItem(self.normalised.legend, 1, 0)
            layout.layout.setRowStretchFactor(0, 100)
            layout.layout.setRowStretchFactor(1, 0)
            self._rows = 2  # the plot and its legend share what two rows would
            self._fit_height()
            return
        for index, series in enumerate(shown):
            layout.addItem(self.plot_for(series.id).plot, index // columns, index % columns)
        self._arrange_dates(shown, columns)
        self._rows = math.ceil(len(shown) / columns)
        self._fit_height()

    def _arrange_dates(self, shown: list[MeasureSeries], columns: int) -> None:
        """One date axis per column, in a strip under the scrolling plots, always in
        view: the plots share their time range, so an axis under each would only repeat
        the same dates (and cost a layout and a paint each on every patient switch)."""
        strip = self.date_strip.ci
        strip.clear()
        while len(self.date_cells) < columns:
            cell = _AxisCell()
            cell.set_scale(self.scale)
            self.date_cells.append(cell)
        for column in range(columns):
            cell = self.date_cells[column]
            cell.follow(self.plot_for(shown[column].id).plot.getViewBox())
            strip.addItem(cell, 0, column)
        self.date_strip.setVisible(True)

    def _fit_height(self) -> None:
        """Give the plots the height in view (at least a readable minimum each, scrolling
        beyond). The canvas keeps that height until the view changes by more than a line
        or two: the header growing by one flag line must not re-lay out and repaint every
        plot on a patient switch."""
        available = self.scroll_area.viewport().height()
        self._fitted_for = available
        row = max(int(MIN_PLOT_HEIGHT * self.scale), available // max(self._rows, 1))
        self.canvas.setFixedHeight(row * max(self._rows, 1))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        bar = self.scroll_area.verticalScrollBar()
        self.dates_gutter.setFixedWidth(bar.width() if bar.isVisible() else bar.sizeHint().width())
        if self.timeline is None:
            return
        if abs(self.scroll_area.viewport().height() - self._fitted_for) > REFIT_PX:
            self._fit_height()
        if self.mode == MODE_PER_MEASURE:
            shown = self.shown_series()
            if shown and self._layout_key and self._layout_key[2] != self._columns(len(shown)):
                self._refresh()  # new column count: re-label the top row too

    # --- mode, selection, range --------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        if mode not in (MODE_PER_MEASURE, MODE_NORMALISED):
            raise ValueError(mode)
        x_range = self.x_range()
        self.mode = mode
        (self.per_measure_button if mode == MODE_PER_MEASURE else self.normalised_button).setChecked(True)
        self._refresh()
        if x_range is not None:
            self._apply_x_range(*x_range)
        self.mode_changed.emit(mode)

    def set_selection(self, instrument_ids: Iterable[str] | None) -> None:
        """Show these measures (None: the patient's key measures)."""
        self.custom_selection = None if instrument_ids is None else tuple(instrument_ids)
        x_range = self.x_range()
        self._sync_measures_menu()
        self._refresh()
        if x_range is not None:
            self._apply_x_range(*x_range)
        self.selection_changed.emit(self.custom_selection)

    def _rebuild_measures_menu(self) -> None:
        menu = self.measures_menu
        menu.clear()
        if self.timeline is None:
            return
        reset = menu.addAction("Key measures of this patient")
        reset.triggered.connect(lambda: self.set_selection(None))
        current_discipline = None
        for series in self.timeline.series.values():
            if series.discipline != current_discipline:
                current_discipline = series.discipline
                menu.addSection(disciplines.get(current_discipline).name)
            action = QAction(f"{series.instrument.short_name}  ({len(series.points)})", menu)
            action.setCheckable(True)
            action.setData(series.id)
            action.toggled.connect(self._measure_toggled)
            menu.addAction(action)
        self._sync_measures_menu()

    def _sync_measures_menu(self) -> None:
        """Tick the measures shown (without re-announcing them) and count them on the button."""
        if self.timeline is None:
            return
        if self.custom_selection is not None:
            wanted = set(self.custom_selection)
        else:
            wanted = set(self.pick(self.timeline) if self.pick is not None else self.timeline.default_selection)
        for action in self.measures_menu.actions():
            if action.isCheckable():
                action.blockSignals(True)
                action.setChecked(action.data() in wanted)
                action.blockSignals(False)
        self.measures_button.setText(f"Measures ({len(wanted & set(self.timeline.series))})")

    def _measure_toggled(self) -> None:
        chosen = tuple(a.data() for a in self.measures_menu.actions() if a.isCheckable() and a.isChecked())
        self.set_selection(chosen)

    def show_range(self, preset: str) -> None:
        if self.timeline is None:
            return
        today = dt.date.fromtimestamp(self.timeline.today_x)
        if preset == RANGE_ALL:
            lo, hi = self.timeline.fit_range
        elif preset == RANGE_12M:
            lo, hi = timelines.last_months(today, 12)
        elif preset == RANGE_3M:
            lo, hi = timelines.last_months(today, 3)
        else:
            raise ValueError(preset)
        self.range_preset = preset
        self.range_buttons[preset].setChecked(True)
        self._apply_x_range(lo, hi)

    def x_range(self) -> tuple[float, float] | None:
        vb = next(iter(self._visible_viewboxes()), None)
        return tuple(vb.viewRange()[0]) if vb is not None else None

    def _all_viewboxes(self):
        return [self.normalised.plot.getViewBox(), *(p.plot.getViewBox() for p in self.plots.values())]

    def _visible_viewboxes(self):
        if self.timeline is None:
            return []
        if self.mode == MODE_NORMALISED:
            return [self.normalised.plot.getViewBox()]
        return [self.plots[s.id].plot.getViewBox() for s in self.shown_series() if s.id in self.plots]

    def _apply_x_range(self, lo: float, hi: float) -> None:
        self._syncing = True
        try:
            for vb in self._visible_viewboxes():
                vb.setXRange(lo, hi, padding=0)
                # Apply the new range now rather than while painting: pyqtgraph applies it
                # lazily in the paint, and the date strip and item geometry it then
                # updates made the plots paint a second time.
                vb.prepareForPaint()
        finally:
            self._syncing = False

    def _panned(self, vb: pg.ViewBox) -> None:
        """A user dragged or Ctrl+wheeled one plot: the others follow (pyqtgraph's own X
        link lines views up by screen position, which is wrong for side-by-side columns),
        and no preset button claims the range any more. Only the user's own moves count:
        layout passes that nudge a range are not a choice of range."""
        if self._syncing:
            return
        x_range = vb.viewRange()[0]
        self.range_preset = RANGE_CUSTOM
        checked = self.range_group.checkedButton()
        if checked is not None:
            self.range_group.setExclusive(False)
            checked.setChecked(False)
            self.range_group.setExclusive(True)
        self._syncing = True
        try:
            for other in self._visible_viewboxes():
                if other is not vb:
                    other.setXRange(*x_range, padding=0)
        finally:
            self._syncing = False

    # --- measurement selection ---------------------------------------------------------------

    def _clicked(self, measurement_id: int) -> None:
        self.select_measurement(measurement_id)
        self.measurement_selected.emit(measurement_id)

    def select_measurement(self, measurement_id: int | None) -> None:
        self.selected_measurement = measurement_id
        if self.mode == MODE_NORMALISED:
            self.normalised.select(measurement_id)
            return
        for series in self.shown_series():
            self.plots[series.id].select(measurement_id)

    # --- scale -------------------------------------------------------------------------------

    def apply_scale(self, scale: float) -> None:
        """Tick, title and label fonts follow the UI scale (Ctrl+= / Ctrl+-)."""
        self.scale = scale
        _style_plot(self.normalised.plot, scale)
        self.normalised.backdrop.font = _small_font(scale)
        for plot in self.plots.values():
            plot.set_scale(scale)
        for cell in self.date_cells:
            cell.set_scale(scale)
        self.date_strip.setFixedHeight(int(DATE_STRIP_PX * scale))
        if self.timeline is not None:
            self._layout_key = None
            self._refresh()
