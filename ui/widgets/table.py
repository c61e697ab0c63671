"""A small read-only table of records for the panels: a ``QAbstractTableModel`` over
frozen result objects with columns declared as data, progress bars painted in place,
and the keyboard a clinician expects (Enter edits, Delete deletes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QPainter, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from ui.widgets import palette

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class Column:
    header: str
    text: Callable[[Any], str]
    colour: Callable[[Any], str | None] | None = None  # text colour
    background: Callable[[Any], str | None] | None = None
    tooltip: Callable[[Any], str | None] | None = None
    progress: Callable[[Any], int | None] | None = None  # painted as a bar with the text on it
    numeric: bool = False  # right-aligned
    stretch: bool = False  # takes the spare width (free text)
    explain: str | None = None  # the header's tooltip (abbreviations such as SOL, WASO)


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: Sequence[Column], parent=None):
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].explain
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour:
            colour = column.colour(row)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.BackgroundRole and column.background:
            colour = column.background(row)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip(row) if column.tooltip else column.text(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == PROGRESS_ROLE and column.progress:
            return column.progress(row)
        if role == ROW_ROLE:
            return row
        return None


class ProgressDelegate(QStyledItemDelegate):
    """A thin bar behind the cell's text for columns that declare ``progress``."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        if index.data(PROGRESS_ROLE) is not None:
            hint.setWidth(max(hint.width() + 24, 90))
        return hint

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        painter.save()
        track = QRect(option.rect.adjusted(4, 5, -4, -5))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(palette.TRACK))
        painter.drawRoundedRect(track, 3, 3)
        filled = QRect(track)
        filled.setWidth(int(track.width() * max(0, min(100, value)) / 100))
        painter.setBrush(QColor(palette.BETTER if value >= 100 else "#4f8fcb"))
        painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(QColor("#1b1f24"))
        painter.drawText(track, Qt.AlignmentFlag.AlignCenter, index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.restore()


class RecordTable(QTableView):
    """Rows of one kind of record. Height follows the rows (up to ``max_rows``) so a
    panel scrolls as one page instead of nesting scroll bars."""

    edit_requested = Signal(object)  # the row object
    delete_requested = Signal(object)

    def __init__(self, columns: Sequence[Column], parent=None, *, max_rows: int = 12):
        super().__init__(parent)
        self.max_rows = max_rows
        self.rows_model = RowsModel(columns, self)
        self.setModel(self.rows_model)
        self.setItemDelegate(ProgressDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for n, column in enumerate(columns):
            if column.stretch:
                header.setSectionResizeMode(n, QHeaderView.ResizeMode.Stretch)
        if not any(c.stretch for c in columns):
            header.setStretchLastSection(True)
        self.doubleClicked.connect(lambda index: self.edit_requested.emit(self.row_at(index.row())))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def set_rows(self, rows: Sequence[Any]) -> None:
        selected = self.selected()
        self.rows_model.set_rows(rows)
        self._fit_height()
        if selected is not None:  # keep the selection on the same record after a refresh
            for n, row in enumerate(rows):
                if getattr(row, "id", None) == getattr(selected, "id", object()):
                    self.selectRow(n)
                    break

    def _fit_height(self) -> None:
        shown = max(1, min(self.rows_model.rowCount(), self.max_rows))
        height = (
            self.horizontalHeader().sizeHint().height()
            + shown * self.verticalHeader().defaultSectionSize()
            + 2 * self.frameWidth()
        )
        # A narrow window scrolls wide tables sideways: keep the last row above the bar.
        if self.horizontalHeader().length() > self.viewport().width():
            height += self.horizontalScrollBar().sizeHint().height()
        if height + 2 != self.height():
            self.setFixedHeight(height + 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def row_at(self, n: int) -> Any:
        return self.rows_model.rows[n] if 0 <= n < len(self.rows_model.rows) else None

    def selected(self) -> Any:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self.row_at(rows[0].row()) if rows else None

    def select_first(self) -> None:
        if self.rows_model.rowCount():
            self.selectRow(0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        row = self.selected()
        if row is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_requested.emit(row)
            return
        if row is not None and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_requested.emit(row)
            return
        super().keyPressEvent(event)
