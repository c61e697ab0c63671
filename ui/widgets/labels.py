"""Labels that never ask for more room than they are given."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of text cut with … to the width available; the full text is the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        if text == self.full_text and text:
            return
        self.full_text = text
        self.setToolTip(text)
        super().setText(text)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        elided = QFontMetrics(self.font()).elidedText(self.full_text, Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().windowText().color())
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), elided)


class FittingLabel(QLabel):
    """Shows the longest of several wordings that fits its width, never a cut one
    (a hint on a laptop or a projector at 150 %); the longest is always its tooltip."""

    def __init__(self, wordings: tuple[str, ...], parent: QWidget | None = None):
        super().__init__(wordings[0], parent)
        self.wordings = wordings
        self.setToolTip(wordings[0])
        self.setMinimumWidth(0)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _fit(self) -> None:
        room = self.contentsRect().width()
        metrics = QFontMetrics(self.font())
        chosen = next((w for w in self.wordings if metrics.horizontalAdvance(w) <= room), "")
        if chosen != self.text():
            super().setText(chosen)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), max(self.width(), 0)), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit()
