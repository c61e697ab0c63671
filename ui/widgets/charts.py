"""Small pyqtgraph charts for the panels: a dated x axis, no mouse panning (a panel is
read, not explored), white background for the projector, sized to sit in a card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from ui.widgets import palette


def epoch(day: dt.date | dt.datetime) -> float:
    if not isinstance(day, dt.datetime):
        day = dt.datetime.combine(day, dt.time(12, 0))
    return day.timestamp()


DAY = 86400
# Tick steps in days, the first that leaves room for every label wins: daily diaries,
# weekly plans, monthly measures.
STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364)
LABEL_WIDTH = 64  # pixels per "07 Apr" label with breathing room


class DayAxis(pg.AxisItem):
    """Dates as '07 Apr' (or 'Apr 2026' for long spans) at day, week or month steps that
    never overlap: pyqtgraph's DateAxisItem crowds a narrow chart with mixed labels."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self._step_days = 7

    def tickValues(self, minVal: float, maxVal: float, size: float):
        if maxVal <= minVal or size <= 0:
            return []
        fits = max(2, int(size / LABEL_WIDTH))
        span = (maxVal - minVal) / DAY
        step = next((s for s in STEPS if span / s <= fits), STEPS[-1])
        self._step_days = step
        first = dt.datetime.fromtimestamp(minVal).date()
        if step >= 7:  # weeks start on Monday, longer steps on the 1st of a month
            first -= dt.timedelta(days=first.weekday())
        if step >= 28:
            first = first.replace(day=1)
        ticks, day = [], first
        while (value := epoch(day) - 12 * 3600) <= maxVal:
            if value >= minVal:
                ticks.append(value)
            day = _add_months(day, step // 28) if step >= 28 else day + dt.timedelta(days=step)
        return [(step * DAY, ticks)]

    def tickStrings(self, values, scale, spacing):
        form = "%b %Y" if self._step_days >= 91 else "%d %b"
        return [dt.datetime.fromtimestamp(v).strftime(form) for v in values]


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + max(1, months)
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


class SmallChart(pg.PlotWidget):
    def __init__(
        self,
        *,
        height: int = 170,
        y_label: str | None = None,
        min_width: int = 240,
        name: str | None = None,
        parent=None,
    ):
        super().__init__(parent, background="w", axisItems={"bottom": DayAxis()})
        # A picture, not a control: named for a screen reader, left out of the Tab order.
        self.setAccessibleName(name or f"Chart of {y_label or 'values'} over time")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedHeight(height)
        self.setMinimumWidth(min_width)
        plot = self.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.showGrid(x=False, y=True, alpha=0.15)
        font = QFont()
        font.setPointSizeF(8)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTickFont(font)
            axis.setPen(pg.mkPen(palette.MUTED))
            axis.setTextPen(pg.mkPen("#3b4552"))
        if y_label:
            plot.setLabel("left", y_label, color="#3b4552", size="8pt")
        self.legend: pg.LegendItem | None = None

    def add_legend(self) -> None:
        # Bottom right: the lines of these charts rise towards the top right.
        legend = self.getPlotItem().addLegend(offset=(-8, -8), labelTextSize="8pt", labelTextColor="#3b4552")
        legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        self.legend = legend

    def line(
        self,
        days: Sequence[dt.date | dt.datetime],
        values: Sequence[float | None],
        *,
        colour: str,
        name: str | None = None,
        dashed: bool = False,
        symbol: str | None = "o",
        step: bool = False,
    ) -> pg.PlotDataItem:
        xs = [epoch(d) for d in days]
        ys = [float("nan") if v is None else float(v) for v in values]
        pen = pg.mkPen(
            QColor(colour), width=2, style=pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine
        )
        item = self.plot(
            xs,
            ys,
            pen=pen,
            name=name,
            connect="finite",
            symbol=symbol,
            symbolSize=6,
            symbolBrush=QColor(colour),
            symbolPen=pg.mkPen(QColor(colour)),
            stepMode="left" if step else None,
        )
        return item

    def bars(
        self,
        days: Sequence[dt.date],
        values: Sequence[float],
        *,
        colour: str,
        width_days: float = 5.0,
        name: str | None = None,
    ) -> pg.BarGraphItem:
        item = pg.BarGraphItem(
            x=[epoch(d) for d in days],
            height=list(values),
            width=width_days * 86400,
            brush=QColor(colour),
            pen=pg.mkPen(QColor(colour)),
            name=name,
        )
        self.addItem(item)
        return item

    def hline(self, value: float, *, colour: str, label: str | None = None) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=value,
            angle=0,
            movable=False,
            pen=pg.mkPen(QColor(colour), width=1, style=pg.QtCore.Qt.PenStyle.DotLine),
            label=label,
            labelOpts={"position": 0.02, "color": colour, "anchors": [(0, 1), (0, 1)]},
        )
        self.addItem(line)
        return line

    def band(self, low: float, high: float, *, colour: str = "#2e7d32", alpha: int = 28) -> None:
        colour_ = QColor(colour)
        colour_.setAlpha(alpha)
        region = pg.LinearRegionItem(
            values=(low, high), orientation="horizontal", movable=False, brush=colour_, pen=pg.mkPen(None)
        )
        region.setZValue(-10)
        self.addItem(region)

    def reset(self) -> None:
        self.getPlotItem().clear()
        if self.legend is not None:
            self.legend.clear()
