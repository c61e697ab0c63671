"""Small building blocks shared by the panels: a titled card, a coloured chip, a
sparkline and a progress bar that says what it measures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.widgets import palette
from ui.widgets.labels import ElidedLabel


class Card(QFrame):
    """A titled section of a panel with its actions on the right of the title."""

    def __init__(self, title: str, parent: QWidget | None = None, *, object_name: str | None = None):
        super().__init__(parent)
        self.setObjectName(object_name or "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # Styled by a property, not the object name, so subclasses may rename the card.
        self.setProperty("card", True)
        self.setStyleSheet(
            f'QFrame[card="true"] {{ background: palette(base); border: 1px solid {palette.CARD_BORDER}; border-radius: 6px; }}'
        )
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 10)
        outer.setSpacing(6)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.title = QLabel(title)
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        header.addWidget(self.title)
        # Elided, with the whole text as its tooltip: a long summary ("Week of 16 Nov: 6 h
        # 50 min sleep, efficiency 84 %…") must not make the card wider than a laptop.
        self.summary = ElidedLabel()
        self.summary.setStyleSheet(f"color: {palette.NEUTRAL};")
        header.addWidget(self.summary, 1)
        self._actions = QHBoxLayout()
        self._actions.setSpacing(4)
        header.addLayout(self._actions)
        outer.addLayout(header)
        self.body = QVBoxLayout()
        self.body.setSpacing(6)
        outer.addLayout(self.body)

    def add_action(self, text: str, tip: str, slot, *, name: str | None = None) -> QPushButton:
        button = QPushButton(self)
        button.setText(text)
        button.setToolTip(tip)
        # "Add", "Edit"… are named with their card for a screen reader: "Add (Sessions)".
        button.setAccessibleName(f"{text.replace('&', '').rstrip('…').strip()} ({self.title.text()})")
        button.setAccessibleDescription(tip)
        if name:
            button.setObjectName(name)
        button.clicked.connect(slot)
        self._actions.addWidget(button)
        return button


def set_chip(label: QLabel, text: str, colour: QColor | str | None) -> None:
    """Turn ``label`` into a rounded chip; without a colour it is plain muted text."""
    label.setText(text)
    if colour is None or not text:
        label.setStyleSheet(f"color: {palette.MUTED};")
        return
    colour = QColor(colour)
    label.setStyleSheet(
        f"background: {colour.name()}; color: {palette.text_on(colour).name()}; border-radius: 9px; padding: 1px 8px;"
    )


def chip(text: str, colour: QColor | str | None, parent: QWidget | None = None) -> QLabel:
    label = QLabel(parent)
    label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    set_chip(label, text, colour)
    return label


def muted(text: str = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setStyleSheet(f"color: {palette.MUTED};")
    label.setWordWrap(True)
    return label


def progress_bar(value: int | None, text: str | None = None, colour: str | None = None) -> QProgressBar:
    bar = QProgressBar()
    set_progress(bar, value, text, colour)
    bar.setFixedHeight(16)
    bar.setMinimumWidth(120)
    return bar


def set_progress(bar: QProgressBar, value: int | None, text: str | None = None, colour: str | None = None) -> None:
    bar.setRange(0, 100)
    bar.setValue(value if value is not None else 0)
    bar.setTextVisible(True)
    bar.setFormat(text if text is not None else ("%p %" if value is not None else "no measure"))
    bar.setAlignment(Qt.AlignmentFlag.AlignCenter)
    chunk = colour or palette.BETTER
    bar.setStyleSheet(
        f"QProgressBar {{ border: 1px solid {palette.CARD_BORDER}; border-radius: 4px; background: {palette.TRACK}; "
        f"text-align: center; font-size: 11px; }} QProgressBar::chunk {{ background: {chunk}; border-radius: 3px; }}"
    )


class Sparkline(QWidget):
    """A measure's course in a few centimetres: the line over the episode, the baseline
    (hollow) and latest (filled) points, and the band or target as a faint band."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._points: list[tuple[float, float]] = []
        self._range: tuple[float, float] | None = None
        self._colour = QColor(palette.NEUTRAL)
        self._target: tuple[float, float] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(84, 30)

    def set_series(
        self,
        points: Sequence[tuple[dt.datetime, float]],
        *,
        value_range: tuple[float, float] | None = None,
        colour: QColor | str | None = None,
        target: tuple[float, float] | None = None,
    ) -> None:
        self._points = [(t.timestamp(), v) for t, v in points if v is not None]
        self._range = value_range
        self._colour = QColor(colour or palette.NEUTRAL)
        self._target = target
        self.setToolTip(self._tooltip(points))
        self.update()

    @staticmethod
    def _tooltip(points) -> str:
        if not points:
            return "No measurements this episode"
        values = [v for _, v in points]
        return f"{len(points)} measurements, {points[0][0]:%d %b %Y} – {points[-1][0]:%d %b %Y}; range {min(values):g}–{max(values):g}"

    def point_count(self) -> int:
        return len(self._points)

    def _y_range(self) -> tuple[float, float]:
        values = [v for _, v in self._points]
        low, high = self._range if self._range else (min(values), max(values))
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        return low, high

    def paintEvent(self, _event: QPaintEvent) -> None:
        if not self._points:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        low, high = self._y_range()
        t0, t1 = self._points[0][0], self._points[-1][0]
        span = (t1 - t0) or 1.0

        def at(t: float, v: float) -> QPointF:
            x = area.left() + (t - t0) / span * area.width() if t1 > t0 else area.center().x()
            return QPointF(x, area.bottom() - (v - low) / (high - low) * area.height())

        if self._target is not None:
            top, bottom = at(t0, max(self._target)), at(t0, min(self._target))
            painter.fillRect(QRectF(area.left(), top.y(), area.width(), bottom.y() - top.y()), QColor(46, 125, 50, 28))
        path = QPainterPath(at(*self._points[0]))
        for t, v in self._points[1:]:
            path.lineTo(at(t, v))
        painter.setPen(QPen(QColor(palette.MUTED), 1.4))
        painter.drawPath(path)
        painter.setPen(QPen(QColor(palette.MUTED), 1.2))
        painter.setBrush(QColor("white"))
        painter.drawEllipse(at(*self._points[0]), 2.6, 2.6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        painter.drawEllipse(at(*self._points[-1]), 3.4, 3.4)
        painter.end()


def centre_card(page: QWidget, card: QWidget) -> None:
    """Lay ``card`` out in the middle of ``page``, a little above centre (the first-start
    page and the lock screen)."""
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(card)
    row.addStretch(1)
    outer = QVBoxLayout(page)
    outer.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
