"""The patient list: a table model over the paged patient-list service, and the panel
around it (search, filters, count).

Search, filters and sort change the service query and reload the model; nothing is
sorted or filtered in Python. Pages are fetched lazily (``canFetchMore``/``fetchMore``)
on the database thread, so typing never waits for SQL on the GUI thread. Each reload
carries a generation number: a late answer to an older query is dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from teamdash.clinical import disciplines, instruments
from teamdash.errors import ValidationError
from teamdash.services import patients, staff
from teamdash.services.patients import PatientQuery, PatientRow
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.jobs import Progress

FIRST_PAGE = 60  # two screens of rows on a 1080p projector; small enough to come back in a frame
PAGE = 200
SEARCH_DEBOUNCE_MS = 150
# Change kinds that cannot alter a list column or flag: the list does not reload for them.
KINDS_NOT_IN_LIST = frozenset(
    {
        "plan",
        "plan_item",
        "course",
        "practice",
        "graded_plan",
        "graded_week",
        "night",
        "sleep",
        "contact",
        "decision",
        "flare",
        "action",
    }
)

FLAGS_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # tuple of flag kinds, most urgent first
ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 2  # the PatientRow
DISPLAY, FOREGROUND, TOOLTIP, ALIGNMENT, FONT, ACCESSIBLE = (
    int(r)
    for r in (
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.AccessibleTextRole,
    )
)

BETTER, WORSE, OVERDUE, MUTED = "#2e7d32", "#c62828", "#c62828", "#6b7580"
COLOURS = {name: QColor(name) for name in (BETTER, WORSE, OVERDUE, MUTED)}


@dataclass(frozen=True)
class Column:
    key: str  # also the service's sort key
    title: str
    width: int
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft


# Most telling first: a narrow list (laptop, projector) still shows flags, who, when the
# next check-in is and how pain and disability moved; the rest scrolls into view.
COLUMNS = (
    Column("flags", "Flags", 66),
    Column("clinic_id", "ID", 82),
    Column("name", "Name", 150),
    Column("next_checkin", "Next check-in", 110),
    Column("pain", "Pain", 64),
    Column("disability", "Disability", 104),
    Column("age", "Age", 44, Qt.AlignmentFlag.AlignRight),
    Column("weeks", "Weeks", 56, Qt.AlignmentFlag.AlignRight),
    Column("status", "Status", 90),
    Column("case_manager", "Case manager", 150),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
ALIGNMENTS = tuple(int(c.align | Qt.AlignmentFlag.AlignVCenter) for c in COLUMNS)
assert set(COLUMN_KEYS) == set(patients.SORT_KEYS), "every column sorts in SQL"

# Flag kind -> (glyph, colour, label). Colour is never the only cue: each badge has a glyph
# and the tooltip spells every reason out.
FLAG_BADGES = {
    "safety": ("!", "#b71c1c", "Safety"),
    "deterioration": ("▼", "#d84315", "Deteriorating"),
    "review": ("⚑", "#1f5fa8", "Flagged for review"),
    "missed_sessions": ("✕", "#8d5a00", "Missed sessions"),
    "checkin_overdue": ("◷", "#6a3d9a", "Check-in overdue"),
    "goal_past_due": ("◎", "#00796b", "Goal past due"),
    "overdue_measure": ("…", "#546e7a", "Measure overdue"),
}


@cache
def bold_font() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


def status_label(status: str) -> str:
    return disciplines.patient_status_label(status)


def short_date(day: dt.date | None, today: dt.date) -> str:
    if day is None:
        return "–"
    if day == today:
        return "Today"
    return f"{day.day} {day:%b %Y}"


def change_text(value: float | None, change: float | None, decimals: int = 0) -> str:
    """``4 ▼2``: the latest value and how far it moved since baseline."""
    if value is None:
        return "–"
    text = f"{value:.{decimals}f}"
    if change:
        text += f"  {'▲' if change > 0 else '▼'}{abs(change):.{decimals}f}"
    return text


def verdict_colour(verdict: str | None) -> QColor | None:
    return COLOURS[BETTER] if verdict == "better" else COLOURS[WORSE] if verdict == "worse" else None


class PatientListModel(QAbstractTableModel):
    """Rows of ``patients.list_patients``, paged lazily; sort and filters in SQL."""

    loading_changed = Signal(bool)
    rows_loaded = Signal()  # after a reload or a page arrived (views and tests wait on it)
    total_changed = Signal(int)  # how many patients match the query
    failed = Signal(object)

    def __init__(self, context: AppContext, parent=None, *, query: PatientQuery | None = None):
        super().__init__(parent)
        self.context = context
        self.query = query or PatientQuery(sort="flags", limit=FIRST_PAGE)
        self.rows: list[PatientRow] = []
        self._cells: dict[tuple[int, int, int], object] = {}
        self.has_more = False
        self.total: int | None = None
        self._generation = 0
        self._fetching = False
        self._started = False  # no query runs before the first reload()
        self._roles = self._role_handlers()
        context.presentation.privacy_changed.connect(self._privacy_changed)

    # --- the query --------------------------------------------------------------------------

    def _today(self) -> dt.date:
        return self.context.today()

    def set_query(self, **changes) -> None:
        """Change search, filters or sort (``PatientQuery`` fields) and reload."""
        query = dataclasses.replace(self.query, **changes)
        if query != self.query:
            self.query = query
            if self._started:
                self.reload()

    def reload(self) -> None:
        """Start again from the first page of the current query."""
        self._started = True
        self._generation += 1
        generation = self._generation
        query = dataclasses.replace(self.query, offset=0, limit=FIRST_PAGE, today=self._today())
        actor = self.context.actor
        self._set_fetching(True)
        self.context.jobs.run(
            lambda _p, _c: patients.list_patients(actor, query),
            on_done=lambda page: self._reloaded(generation, page),
            on_error=self._failed,
        )
        self.context.jobs.run(
            lambda _p, _c: patients.count_patients(actor, query),
            on_done=lambda total: self._counted(generation, total),
            on_error=self._failed,
        )

    def refresh(self) -> None:
        """Re-read the rows already shown after a write: same rows in place when the
        order did not change, else a reset. Scroll position survives the common case."""
        if not self._started:
            return
        self._generation += 1
        generation = self._generation
        wanted = max(FIRST_PAGE, len(self.rows))
        query = dataclasses.replace(self.query, today=self._today())
        actor = self.context.actor

        def fetch(_p: Progress, _c: Callable[[], bool]) -> tuple[patients.PatientPage, int]:
            rows: list[PatientRow] = []
            offset, more = 0, True
            while more and len(rows) < wanted:
                limit = min(patients.MAX_PAGE, wanted - len(rows))
                page = patients.list_patients(actor, dataclasses.replace(query, offset=offset, limit=limit))
                rows += page.rows
                offset += len(page.rows)
                more = page.has_more
            return patients.PatientPage(tuple(rows), 0, more), patients.count_patients(actor, query)

        self._set_fetching(True)
        self.context.jobs.run(fetch, on_done=lambda result: self._refreshed(generation, *result), on_error=self._failed)

    def _reloaded(self, generation: int, page: patients.PatientPage) -> None:
        if generation != self._generation:
            return  # an older query answered late
        self.beginResetModel()
        self.rows = list(page.rows)
        self._cells.clear()
        self.has_more = page.has_more
        self.endResetModel()
        self._set_fetching(False)
        self.rows_loaded.emit()

    def _refreshed(self, generation: int, page: patients.PatientPage, total: int) -> None:
        if generation != self._generation:
            return
        new_rows = list(page.rows)
        if [r.id for r in new_rows] == [r.id for r in self.rows]:
            self.rows = new_rows
            self._cells.clear()
            if self.rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self.rows = new_rows
            self._cells.clear()
            self.endResetModel()
        self.has_more = page.has_more
        self._set_fetching(False)
        self._counted(generation, total)
        self.rows_loaded.emit()

    def _counted(self, generation: int, total: int) -> None:
        if generation == self._generation:
            self.total = total
            self.total_changed.emit(total)

    def _failed(self, exc: BaseException) -> None:
        self._set_fetching(False)
        self.failed.emit(exc)

    def _set_fetching(self, fetching: bool) -> None:
        if fetching != self._fetching:
            self._fetching = fetching
            self.loading_changed.emit(fetching)

    @property
    def loading(self) -> bool:
        return self._fetching

    # --- lazy paging ------------------------------------------------------------------------

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and self.has_more and not self._fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        generation = self._generation
        query = dataclasses.replace(self.query, offset=len(self.rows), limit=PAGE, today=self._today())
        actor = self.context.actor
        self._set_fetching(True)
        self.context.jobs.run(
            lambda _p, _c: patients.list_patients(actor, query),
            on_done=lambda page: self._appended(generation, page),
            on_error=self._failed,
        )

    def _appended(self, generation: int, page: patients.PatientPage) -> None:
        if generation != self._generation:
            return
        if page.rows:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.rows) - 1)  # last is inclusive
            self.rows += page.rows
            self.endInsertRows()
        self.has_more = page.has_more
        self._set_fetching(False)
        self.rows_loaded.emit()

    # --- sorting (in SQL) --------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(COLUMNS):
            self.set_query(sort=COLUMNS[column].key, descending=order == Qt.SortOrder.DescendingOrder)

    def sort_column(self) -> int:
        return COLUMN_KEYS.index(self.query.sort) if self.query.sort in COLUMN_KEYS else -1

    # --- the table --------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align | Qt.AlignmentFlag.AlignVCenter)
        return None

    def row_of(self, patient_id: int | None) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.id == patient_id), None)

    def patient_at(self, row: int) -> PatientRow:
        return self.rows[row]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called several times per visible cell on every paint: dispatch on the role's
        # int value (comparing with enum members is slow in PySide6) and bail out early
        # for the many roles this model does not provide.
        # Cells are computed once per loaded row and kept until the rows change: a repaint
        # asks again for every visible cell and role.
        role = int(role)
        handler = self._roles.get(role)
        if handler is None or not index.isValid():
            return None
        r, c = index.row(), index.column()
        key = (r, c, role)
        if key in self._cells:
            return self._cells[key]
        if r >= len(self.rows):
            return None
        value = self._cells[key] = handler(self.rows[r], c)
        return value

    def _role_handlers(self) -> dict:
        keys = COLUMN_KEYS
        return {
            DISPLAY: lambda row, c: self._display(row, keys[c]),
            FOREGROUND: lambda row, c: self._foreground(row, keys[c]),
            TOOLTIP: lambda row, c: self._tooltip(row, keys[c]),
            ALIGNMENT: lambda row, c: ALIGNMENTS[c],
            FONT: lambda row, c: bold_font() if keys[c] == "next_checkin" and row.checkin_overdue else None,
            FLAGS_ROLE: lambda row, c: tuple(dict.fromkeys(f.kind for f in row.flags)),
            ROW_ROLE: lambda row, c: row,
            ACCESSIBLE: lambda row, c: (
                ("; ".join(f.reason for f in row.flags) or "no flags") if keys[c] == "flags" else None
            ),
        }

    def _display(self, row: PatientRow, key: str) -> str:
        if key == "flags":
            return ""  # painted as badges by FlagDelegate
        if key == "clinic_id":
            return row.clinic_id
        if key == "name":
            if self.context.presentation.privacy:
                return row.initials
            return f"{row.family_name}, {row.given_name}"
        if key == "age":
            return "" if row.age is None else str(row.age)
        if key == "status":
            return status_label(row.status)
        if key == "weeks":
            return "" if row.weeks_in_programme is None else str(row.weeks_in_programme)
        if key == "next_checkin":
            return short_date(row.next_checkin, self._today()) if row.status == disciplines.ACTIVE_STATUS else "–"
        if key == "pain":
            return change_text(row.pain_latest, row.pain_change)
        if key == "disability":
            if row.disability_latest is None:
                return "–"
            name = instruments.get(row.disability_instrument).short_name if row.disability_instrument else ""
            return f"{name} {change_text(row.disability_latest, row.disability_change)}"
        if key == "case_manager":
            return row.case_manager or "–"
        return ""

    def _foreground(self, row: PatientRow, key: str):
        if key == "next_checkin" and row.checkin_overdue:
            return COLOURS[OVERDUE]
        if key == "pain":
            return verdict_colour(row.pain_verdict)
        if key == "disability":
            return verdict_colour(row.disability_verdict)
        if key == "status" and row.status != disciplines.ACTIVE_STATUS:
            return COLOURS[MUTED]
        return None

    def _tooltip(self, row: PatientRow, key: str) -> str | None:
        if key == "flags":
            return "\n".join(f"• {f.reason}" for f in row.flags) or "No flags"
        if key == "next_checkin" and row.checkin_overdue and row.next_checkin:
            return f"Check-in overdue by {(self._today() - row.next_checkin).days} days"
        if key == "pain" and row.pain_latest is not None:
            return _change_tip("Pain (NRS 0–10)", row.pain_change, row.pain_verdict)
        if key == "disability" and row.disability_latest is not None:
            name = instruments.get(row.disability_instrument).name if row.disability_instrument else "Disability"
            band = f"\n{row.disability_band}" if row.disability_band else ""
            return _change_tip(name, row.disability_change, row.disability_verdict) + band
        if key == "name" and not self.context.presentation.privacy:
            return row.full_name
        return None

    def _privacy_changed(self, _on: bool) -> None:
        self._cells.clear()
        if self.rows:
            column = COLUMN_KEYS.index("name")
            self.dataChanged.emit(self.index(0, column), self.index(len(self.rows) - 1, column))


def _change_tip(name: str, change: float | None, verdict: str | None) -> str:
    if change is None:
        return f"{name}: no change yet (one measurement)"
    way = {"better": "better", "worse": "worse", "unchanged": "unchanged"}.get(verdict or "", "")
    return f"{name}: {change:+g} since baseline ({way})"


class FlagDelegate(QStyledItemDelegate):
    """Flags as small badges, most urgent first (safety is always the first badge)."""

    BADGE = 17
    GAP = 3

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        # Draw the row's background/selection with no text, then the badges on top.
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        kinds = index.data(FLAGS_ROLE) or ()
        if not kinds:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        size = min(self.BADGE, option.rect.height() - 4)
        x = option.rect.left() + 4
        y = option.rect.top() + (option.rect.height() - size) // 2
        room = (option.rect.width() - 8) // (size + self.GAP)
        shown = kinds if len(kinds) <= room else kinds[: max(room - 1, 1)]
        font = QFont(option.font)
        font.setBold(True)
        font.setPixelSize(max(8, int(size * 0.72)))
        painter.setFont(font)
        for kind in shown:
            glyph, colour, _label = FLAG_BADGES.get(kind, ("?", "#546e7a", kind))
            rect = QRectF(x, y, size, size)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colour))
            if kind == "safety":
                painter.drawEllipse(rect)
            else:
                painter.drawRoundedRect(rect, 3, 3)
            painter.setPen(QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, glyph)
            x += size + self.GAP
        if len(shown) < len(kinds):
            painter.setPen(option.palette.text().color())
            painter.drawText(
                QRect(int(x), option.rect.top(), 24, option.rect.height()),
                Qt.AlignmentFlag.AlignVCenter,
                f"+{len(kinds) - len(shown)}",
            )
        painter.restore()

    def sizeHint(self, option, index) -> QSize:
        kinds = index.data(FLAGS_ROLE) or ()
        return QSize(8 + len(kinds) * (self.BADGE + self.GAP), self.BADGE + 6)


class PatientListPanel(QWidget):
    """Search box, filters, count and the table. Emits ``patient_selected`` when the
    current row changes to another patient."""

    patient_selected = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("patientList")
        self.context = context
        self.model = PatientListModel(context, self)
        self._current_id: int | None = None
        self._reveal: tuple[int, str] | None = None  # a patient to show, searching if need be
        self._scale = 1.0
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_search)
        self._build()
        self.model.rows_loaded.connect(self._restore_selection)
        self.model.rows_loaded.connect(self._reveal_if_missing)
        self.model.total_changed.connect(self._show_count)
        self.model.loading_changed.connect(self._show_loading)
        self.model.failed.connect(lambda exc: show_error(self, exc))
        context.changes.changed.connect(self._on_changes)

    # --- widgets ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setAccessibleName("Search patients by name or clinic ID")
        self.search.setPlaceholderText("Search name or ID   (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMaxLength(patients.MAX_SEARCH_CHARS)
        self.search.setAccessibleName("Search patients by name or clinic ID")
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._open_first_match)
        self.search.installEventFilter(self)
        self.status_filter = QComboBox(self)
        self.status_filter.setAccessibleName("Show patients of status")
        self.status_filter.addItem("All statuses", None)
        for status, label in disciplines.patient_status_choices():
            self.status_filter.addItem(label, status)
        self.status_filter.setCurrentIndex(self.status_filter.findData(disciplines.ACTIVE_STATUS))
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self.model.set_query(status=self.status_filter.currentData())
        )
        self.manager_filter = QComboBox(self)
        self.manager_filter.setAccessibleName("Show patients of case manager")
        self.manager_filter.addItem("All case managers", None)
        self.manager_filter.currentIndexChanged.connect(
            lambda _i: self.model.set_query(case_manager_id=self.manager_filter.currentData())
        )
        self.flagged_filter = self._toggle("Flagged", "Only patients with a flag", "flagged")
        self.due_filter = self._toggle(
            "Due for check-in",
            "Only active patients whose check-in is due or who are flagged for review",
            "due_for_checkin",
        )
        self.count_label = QLabel(self)
        self.count_label.setObjectName("countLabel")
        self.table = self._table()
        filters = QHBoxLayout()
        filters.setSpacing(6)
        filters.addWidget(self.status_filter)
        filters.addWidget(self.manager_filter, 1)
        toggles = QHBoxLayout()
        toggles.setSpacing(6)
        toggles.addWidget(self.flagged_filter)
        toggles.addWidget(self.due_filter)
        toggles.addStretch(1)
        toggles.addWidget(self.count_label)
        layout = self.box = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addLayout(filters)
        layout.addLayout(toggles)
        layout.addWidget(self.table, 1)
        # The status filter starts at "Active": set the query once, without two reloads.
        self.model.query = dataclasses.replace(self.model.query, status=disciplines.ACTIVE_STATUS)

    def _toggle(self, text: str, tip: str, field: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setCheckable(True)
        button.setProperty("chip", True)
        button.toggled.connect(lambda on: self.model.set_query(**{field: on}))
        return button

    def _table(self) -> QTableView:
        table = QTableView(self)
        table.setObjectName("patientTable")
        table.setAccessibleName("Patients")
        table.setModel(self.model)
        table.setItemDelegateForColumn(COLUMN_KEYS.index("flags"), FlagDelegate(table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setSortingEnabled(True)  # header clicks call model.sort -> SQL
        table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always there (the list nearly always scrolls): the columns' room never changes
        # when rows arrive, so the list can end exactly at a column's edge.
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for i, column in enumerate(COLUMNS):
            header.resizeSection(i, column.width)
        header.setSortIndicator(self.model.sort_column(), Qt.SortOrder.AscendingOrder)
        table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        return table

    def snap_width(self, target: int) -> int:
        """The panel width closest below ``target`` at which the list ends at a column's
        edge, so no column shows half its title ("Pa" for "Pain")."""
        header = self.table.horizontalHeader()
        margins = self.box.contentsMargins()
        table_chrome = 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()
        chrome = margins.left() + margins.right() + table_chrome
        width = chrome
        for visual in range(header.count()):
            logical = header.logicalIndex(visual)
            if header.isSectionHidden(logical):
                continue
            size = header.sectionSize(logical)
            if width + size > target and visual >= 3:
                break
            width += size
        return width

    def apply_scale(self, scale: float) -> None:
        """Rows and columns follow the UI scale (Ctrl+= / Ctrl+-), keeping the user's
        own column widths in proportion."""
        ratio = scale / self._scale
        self._scale = scale
        self.table.verticalHeader().setDefaultSectionSize(int(self.table.fontMetrics().height() * 1.75))
        header = self.table.horizontalHeader()
        if ratio != 1.0:
            for section in range(header.count()):
                header.resizeSection(section, round(header.sectionSize(section) * ratio))

    # --- behaviour --------------------------------------------------------------------------

    def start(self) -> None:
        """First load, and the case managers for the filter."""
        self.model.reload()
        self.load_case_managers()

    def load_case_managers(self) -> None:
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: staff.case_managers(actor),
            on_done=self._set_managers,
            on_error=lambda exc: show_error(self, exc),
        )

    def _set_managers(self, managers: list[staff.StaffMember]) -> None:
        chosen = self.manager_filter.currentData()
        self.manager_filter.blockSignals(True)
        self.manager_filter.clear()
        self.manager_filter.addItem("All case managers", None)
        for m in managers:
            self.manager_filter.addItem(m.full_name, m.id)
        index = self.manager_filter.findData(chosen)
        self.manager_filter.setCurrentIndex(max(index, 0))
        self.manager_filter.blockSignals(False)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _apply_search(self) -> None:
        """Query with the new search, or say under the box why it cannot be one."""
        text = self.search.text().strip()
        try:
            patients.search_words(text)
        except ValidationError as exc:
            self.search.setToolTip(str(exc))
            self.search.setProperty("invalid", True)
            self.count_label.setText(str(exc)[:1].upper() + str(exc)[1:])
            self.search.style().polish(self.search)
            return
        if self.search.property("invalid"):
            self.search.setProperty("invalid", False)
            self.search.setToolTip("")
            self.search.style().polish(self.search)
        self.model.set_query(search=text)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Down and self.model.rowCount():
                self.table.setFocus()
                if not self.table.currentIndex().isValid():
                    self.table.setCurrentIndex(self.model.index(0, 1))
                return True
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(obj, event)

    def _open_first_match(self) -> None:
        if self._debounce.isActive():  # Enter before the debounce fired: search now, then open
            self._debounce.stop()
            self._apply_search()
            self.model.rows_loaded.connect(self._open_first_once)
            return
        if self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 1))

    def _open_first_once(self) -> None:
        self.model.rows_loaded.disconnect(self._open_first_once)
        if self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 1))

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        patient_id = self.model.patient_at(current.row()).id
        if patient_id != self._current_id:
            self._current_id = patient_id
            self.patient_selected.emit(patient_id)

    def neighbours(self, patient_id: int) -> list[int]:
        """The patients just below and above in the list (below first: lists are read
        downwards)."""
        row = self.model.row_of(patient_id)
        if row is None:
            return []
        return [self.model.patient_at(r).id for r in (row + 1, row - 1) if 0 <= r < self.model.rowCount()]

    def select_patient(self, patient_id: int | None) -> None:
        """Mark the open patient in the list (if loaded) without announcing it again."""
        self._current_id = patient_id
        self._restore_selection()

    def reveal(self, patient_id: int, clinic_id: str) -> None:
        """Show this patient selected (a patient just registered or readmitted). If the
        rows the list has loaded do not hold them (they sort further down, or the filters
        hide them), the list searches for their clinic ID, across every status if need be."""
        self._current_id = patient_id
        self._reveal = (patient_id, clinic_id)
        if not self.model.loading:
            self._reveal_if_missing()

    def _reveal_if_missing(self) -> None:
        if self._reveal is None or self.model.loading:
            return
        patient_id, clinic_id = self._reveal
        self._reveal = None
        if self.model.row_of(patient_id) is not None:
            self._restore_selection()
            return
        if self.status_filter.currentData() is not None:
            self.status_filter.setCurrentIndex(0)  # all statuses
        for toggle in (self.flagged_filter, self.due_filter):
            toggle.setChecked(False)
        self.manager_filter.setCurrentIndex(0)
        self._debounce.stop()
        self.search.setText(clinic_id)
        self._debounce.stop()
        self._apply_search()

    def _restore_selection(self) -> None:
        row = self.model.row_of(self._current_id)
        selection = self.table.selectionModel()
        if row is None:
            selection.clearSelection()
            return
        index = self.model.index(row, max(self.table.currentIndex().column(), 1))
        if self.table.currentIndex().row() != row:
            selection.blockSignals(True)
            selection.setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            selection.blockSignals(False)
            self.table.viewport().update()
        self.table.scrollTo(index)

    def _show_count(self, total: int) -> None:
        q = self.model.query
        filtered = bool(q.search.strip() or q.case_manager_id is not None or q.flagged or q.due_for_checkin)
        noun = "patient" if total == 1 else "patients"
        what = status_label(q.status).lower() + " " if q.status else ""
        self.count_label.setText(f"{total:,} {'matching ' if filtered else ''}{what}{noun}")

    def _show_loading(self, loading: bool) -> None:
        self.count_label.setProperty("loading", loading)

    def _on_changes(self, changes: Changes) -> None:
        if changes.kinds and changes.kinds <= KINDS_NOT_IN_LIST:
            return
        self.model.refresh()
        if changes.patient_ids is None or "staff" in changes.kinds:
            self.load_case_managers()

    # --- settings ----------------------------------------------------------------------------

    def header_state(self):
        return self.table.horizontalHeader().saveState()

    def restore_header_state(self, state, scale: float) -> None:
        """Column order, widths and hidden columns as saved, at the scale they were saved at."""
        if state and self.table.horizontalHeader().restoreState(state):
            self._scale = scale
