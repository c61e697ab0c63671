"""The main window: the patient list on the left, the open patient on the right, menus,
a toolbar and a status bar; the first-start page while the database is empty.

Other parts of the UI extend it through ``menus`` (File, Patient, View, Help),
``current_patient_id()``, ``patient_changed`` and ``context``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSocketNotifier, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from teamdash import __version__, logs
from teamdash.clinical import disciplines
from teamdash.errors import ConnectionLost
from teamdash.services import audit, patients
from teamdash.services import changes as remote
from teamdash.services.patients import PatientQuery
from ui import errors as ui_errors
from ui import settings as ui_settings
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.first_start import FirstStartPage
from ui.patient_list import COLUMN_KEYS, PatientListPanel
from ui.patient_view import OVERVIEW, PatientView
from ui.settings import Settings
from ui.timeline import MODE_NORMALISED, MODE_PER_MEASURE, RANGE_3M, RANGE_12M, RANGE_ALL

log = logging.getLogger(__name__)

POLL_MS = 5000  # how often an SQLite workstation looks for writes from another one
HEARTBEAT_MS = 30_000  # with PostgreSQL notifications the poll only checks the connection
RETRY_MS = 3000  # while the connection is lost: how often to try again


@dataclass(frozen=True)
class ClinicCounts:
    total: int
    active: int
    flagged: int
    due: int


def clinic_counts(actor, today) -> ClinicCounts:
    """The status bar's figures (runs on the database thread)."""
    count = lambda **q: patients.count_patients(actor, PatientQuery(today=today, **q))  # noqa: E731
    return ClinicCounts(
        count(), count(status="active"), count(status="active", flagged=True), count(due_for_checkin=True)
    )


def first_flagged_patient(actor, today) -> int | None:
    """The patient the team would look at first: the top of the agenda order."""
    page = patients.list_patients(
        actor, PatientQuery(flagged=True, status="active", sort="flags", limit=1, today=today)
    )
    if not page.rows:
        page = patients.list_patients(actor, PatientQuery(sort="flags", limit=1, today=today))
    return page.rows[0].id if page.rows else None


class MainWindow(QMainWindow):
    patient_changed = Signal(int)
    measurement_selected = Signal(int)  # a point clicked on a timeline (for editing)
    ready = Signal()  # first counts known and, if any, the first patient shown

    def __init__(
        self, context: AppContext, *, database: str, settings: Settings | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("TeamDash")
        self.context = context
        self.settings = settings or Settings(context.settings)
        self.database = database
        self.menus: dict[str, QMenu] = {}
        # Each says whether the window may close now (asking the user if needed).
        self.close_guards: list[Callable[[], bool]] = []
        self.counts: ClinicCounts | None = None
        self._patient_id: int | None = None
        self._known_event: int | None = None
        self._feed: remote.ChangeFeed | None = None
        self._notifier: QSocketNotifier | None = None
        self.offline: str | None = None  # why the connection is lost, None while it works
        self._requested_patient: int | None = None
        self._list_width = 520
        self.scale = self.settings.scale()

        self.list_panel = PatientListPanel(context, self)
        self.patient_view = PatientView(context, self)
        self.first_start = FirstStartPage(context, database, self._import_action, self)
        self.no_patient = QLabel("Select a patient in the list, or press Ctrl+F to search.", self)
        self.no_patient.setObjectName("emptyState")
        self.no_patient.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.right = QStackedWidget(self)
        self.right.addWidget(self.no_patient)
        self.right.addWidget(self.patient_view)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.list_panel)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.first_start)
        self.setCentralWidget(self.pages)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore()
        self._sync_tab_actions()
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self._poll_other_workstations)
        self._restored_timer = QTimer(self)
        self._restored_timer.setSingleShot(True)
        self._restored_timer.timeout.connect(self.connection_label.hide)
        ui_errors.watch_connection(self.connection_lost)

    # --- the API other parts use --------------------------------------------------------------

    def current_patient_id(self) -> int | None:
        return self._patient_id

    def open_patient(self, patient_id: int) -> None:
        if patient_id == self._patient_id and self.right.currentWidget() is self.patient_view:
            return
        self._patient_id = patient_id
        self.right.setCurrentWidget(self.patient_view)
        self.patient_view.show_patient(patient_id)
        self.list_panel.select_patient(patient_id)
        self.patient_changed.emit(patient_id)
        # The patients above and below in the list are read now: Alt+Up/Down (or the
        # arrow keys in the list) then show them without a wait.
        self.patient_view.preload(self.list_panel.neighbours(patient_id))

    def reveal_patient(self, patient_id: int, clinic_id: str | None = None) -> None:
        """Open a patient and show them selected in the list, searching for their clinic
        ID when the list's current rows and filters do not hold them."""
        self.open_patient(patient_id)
        if clinic_id:
            self.list_panel.reveal(patient_id, clinic_id)

    # --- building -----------------------------------------------------------------------------

    def _action(
        self, text: str, slot, shortcut=None, *, tip: str = "", checkable: bool = False, name: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(
                f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})" if shortcut else tip
            )
        action.setCheckable(checkable)
        action.setObjectName(name or text.lower().replace(" ", "_").strip("…."))
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even with the toolbar hidden
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.quit_action = a("Quit", self.close, QKeySequence.StandardKey.Quit, tip="Close TeamDash")
        self.find_action = a(
            "Find patient…",
            self.list_panel.focus_search,
            QKeySequence.StandardKey.Find,
            tip="Search the patient list by name or ID",
            name="find_patient",
        )
        self.previous_action = a(
            "Previous patient", lambda: self._step_patient(-1), "Alt+Up", tip="Open the patient above in the list"
        )
        self.next_action = a(
            "Next patient", lambda: self._step_patient(1), "Alt+Down", tip="Open the patient below in the list"
        )
        self.refresh_action = a(
            "Refresh", self.refresh, QKeySequence.StandardKey.Refresh, tip="Reload the list and the open patient"
        )
        self.tab_actions = []
        names = [("Overview", OVERVIEW)] + [(d.name, d.code) for d in disciplines.all_disciplines()]
        for number, (label, code) in enumerate(names, start=1):
            self.tab_actions.append(
                a(
                    label,
                    lambda _=False, code=code: self._show_tab(code),
                    f"Ctrl+{number}",
                    tip=f"Show the {label} tab",
                    checkable=True,
                    name=f"tab_{code}",
                )
            )
        self.per_measure_action = a(
            "Timelines: one plot per measure",
            lambda: self._set_timeline_mode(MODE_PER_MEASURE),
            checkable=True,
            name="timeline_per_measure",
        )
        self.normalised_action = a(
            "Timelines: normalised 0–100",
            lambda: self._set_timeline_mode(MODE_NORMALISED),
            checkable=True,
            name="timeline_normalised",
        )
        self.mode_toggle_action = a(
            "Switch timeline view",
            self._toggle_timeline_mode,
            "Ctrl+T",
            tip="Switch between one plot per measure and the normalised view",
        )
        timeline = self.patient_view.timeline
        self.fit_action = a(
            "Fit all", lambda: timeline.show_range(RANGE_ALL), "Ctrl+Shift+A", tip="Show the whole record"
        )
        self.year_action = a("Last 12 months", lambda: timeline.show_range(RANGE_12M), "Ctrl+Shift+Y")
        self.quarter_action = a("Last 3 months", lambda: timeline.show_range(RANGE_3M), "Ctrl+Shift+M")
        self.zoom_in_action = a(
            "Larger text",
            lambda: self.set_scale(self.scale + ui_settings.SCALE_STEP),
            ["Ctrl+=", "Ctrl++"],
            tip="Scale the whole window up (projector)",
            name="zoom_in",
        )
        self.zoom_out_action = a(
            "Smaller text",
            lambda: self.set_scale(self.scale - ui_settings.SCALE_STEP),
            "Ctrl+-",
            tip="Scale the whole window down",
            name="zoom_out",
        )
        self.zoom_reset_action = a("Actual size", lambda: self.set_scale(1.0), "Ctrl+0", name="zoom_reset")
        self.privacy_action = a(
            "Presentation mode (hide names)",
            self._toggle_privacy,
            "F8",
            tip="Initials and clinic ID instead of names and dates of birth, on every screen",
            checkable=True,
            name="privacy",
        )
        # One key everywhere: in the meeting window and in dialogs too.
        self.privacy_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.list_action = a(
            "Patient list", self._toggle_list, "Ctrl+L", checkable=True, tip="Show or hide the patient list"
        )
        self.list_action.setChecked(True)
        self.full_screen_action = a(
            "Full screen", self._toggle_full_screen, QKeySequence.StandardKey.FullScreen, checkable=True
        )
        self.shortcuts_action = a("Keyboard shortcuts", self._show_shortcuts, QKeySequence.StandardKey.HelpContents)
        self.log_action = a("Where is the log file?", self._show_log_location)
        self.about_action = a("About TeamDash", self._show_about)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        for name in ("File", "Patient", "View", "Help"):
            self.menus[name] = bar.addMenu(f"&{name}")
        self.menus["File"].addAction(self.quit_action)
        patient = self.menus["Patient"]
        for action in (self.find_action, self.previous_action, self.next_action):
            patient.addAction(action)
        patient.addSeparator()
        for action in self.tab_actions:
            patient.addAction(action)
        patient.addSeparator()
        view = self.menus["View"]
        view.addAction(self.privacy_action)
        view.addSeparator()
        for action in (self.per_measure_action, self.normalised_action, self.mode_toggle_action):
            view.addAction(action)
        view.addSeparator()
        for action in (self.fit_action, self.year_action, self.quarter_action):
            view.addAction(action)
        view.addSeparator()
        for action in (self.zoom_in_action, self.zoom_out_action, self.zoom_reset_action):
            view.addAction(action)
        view.addSeparator()
        for action in (self.list_action, self.full_screen_action, self.refresh_action):
            view.addAction(action)
        for action in (self.shortcuts_action, self.log_action, self.about_action):
            self.menus["Help"].addAction(action)

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Main toolbar", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.previous_action.setIconText("▲ Previous")
        self.next_action.setIconText("▼ Next")
        self.find_action.setIconText("Find")
        self.refresh_action.setIconText("⟳ Refresh")
        self.zoom_out_action.setIconText("A−")
        self.zoom_in_action.setIconText("A+")
        for action in (
            self.find_action,
            self.previous_action,
            self.next_action,
            None,
            self.refresh_action,
            None,
            self.zoom_out_action,
            self.zoom_in_action,
        ):
            if action is None:
                self.toolbar.addSeparator()
            else:
                self.toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        for action in self.toolbar.actions():  # "A+" means nothing to a screen reader: the action's name does
            button = self.toolbar.widgetForAction(action)
            if button is not None:
                button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
                button.setAccessibleDescription(action.toolTip())

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.database_label = QLabel(f"Database: {self.database}", self)
        self.database_label.setObjectName("statusDatabase")
        self.connection_label = QLabel("", self)
        self.connection_label.setObjectName("statusConnection")
        self.connection_label.hide()
        self.counts_label = QLabel("", self)
        self.user_label = QLabel(f"Signed in: {self.context.actor.description}", self)
        self.user_label.setObjectName("statusUser")
        self.privacy_label = QLabel("Presentation mode: names hidden (F8)", self)
        self.privacy_label.setObjectName("privacyOn")
        self.privacy_label.hide()
        status.addWidget(self.database_label, 1)
        status.addPermanentWidget(self.privacy_label)
        status.addWidget(self.connection_label)
        status.addPermanentWidget(self.counts_label)
        status.addPermanentWidget(self.user_label)

    def _connect(self) -> None:
        self.list_panel.patient_selected.connect(self.open_patient)
        self.patient_view.measurement_selected.connect(self.measurement_selected)
        self.patient_view.record_shown.connect(self._record_shown)
        self.patient_view.tabs.currentChanged.connect(lambda _i: self._sync_tab_actions())
        self.first_start.demo_loaded.connect(lambda _n: self._after_demo())
        self.context.changes.changed.connect(self._on_changes)
        self.context.presentation.privacy_changed.connect(self._privacy_changed)
        timeline = self.patient_view.timeline
        timeline.mode_changed.connect(self._timeline_mode_changed)
        timeline.selection_changed.connect(self.settings.save_timeline_measures)

    # --- settings -----------------------------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        if (geometry := s.geometry()) is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if (state := s.window_state()) is not None:
            self.restoreState(state)
        main_split = s.splitter("main")
        self._default_splits = main_split is None
        if main_split is not None:
            self.splitter.restoreState(main_split)
        if (overview_split := s.splitter("overview")) is not None:
            self.patient_view.overview.restoreState(overview_split)
            self.patient_view.auto_split = False
        self.list_panel.restore_header_state(s.list_header(), s.scale())
        sort = s.list_sort()
        if sort and sort[0] in COLUMN_KEYS:
            model = self.list_panel.model
            model.query = dataclasses.replace(model.query, sort=sort[0], descending=sort[1])
            order = Qt.SortOrder.DescendingOrder if sort[1] else Qt.SortOrder.AscendingOrder
            self.list_panel.table.horizontalHeader().setSortIndicator(COLUMN_KEYS.index(sort[0]), order)
        timeline = self.patient_view.timeline
        timeline.custom_selection = s.timeline_measures()
        self._set_timeline_mode(s.timeline_mode() or MODE_PER_MEASURE)
        self.list_action.setChecked(self.splitter.sizes()[0] > 0 if s.splitter("main") is not None else True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._default_splits:  # first run: proportions of the actual window
            self._default_splits = False
            width = self.list_panel.snap_width(self.list_width_for(self.width(), self.scale))
            self.splitter.setSizes([width, self.width() - width])

    @staticmethod
    def list_width_for(window_width: int, scale: float = 1.0) -> int:
        """The list gets a bit over a third: room for flags, ID, name, next check-in and
        pain on a 1366 px laptop, more on a larger screen; never so little that names
        are cut. The list then ends at a column's edge (no half-shown column)."""
        return max(int(380 * scale), min(int(680 * scale), int(window_width * 0.37)))

    def save_settings(self) -> None:
        s = self.settings
        s.save_window(self.saveGeometry(), self.saveState())
        s.save_splitter("main", self.splitter.saveState())
        s.save_splitter("overview", self.patient_view.overview.saveState())
        s.save_list_header(self.list_panel.header_state())
        s.save_scale(self.scale)
        s.save_last_patient(self._patient_id)  # on close, not per switch or search: no file writes while browsing
        s.save_list_sort(self.list_panel.model.query.sort, self.list_panel.model.query.descending)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(guard() for guard in self.close_guards):
            event.ignore()  # e.g. a form kept for someone who is not signed in
            return
        self.poll.stop()
        ui_errors.unwatch_connection(self.connection_lost)
        self._close_feed()
        self.save_settings()
        super().closeEvent(event)

    # --- starting and refreshing ----------------------------------------------------------------

    def start(self, patient_id: int | None = None) -> None:
        """Load the list and the counts; open ``patient_id``, else the last patient, else
        the first flagged one. Called once the window is shown."""
        self._requested_patient = patient_id or self.settings.last_patient()
        self.list_panel.start()
        self._load_counts(open_first=True)
        self._read_event_counter()
        self._open_feed()
        self.poll.start()

    def _load_counts(self, *, open_first: bool = False) -> None:
        actor, today = self.context.actor, self.context.today()
        self.context.jobs.run(
            lambda _p, _c: clinic_counts(actor, today),
            on_done=lambda counts: self._counted(counts, open_first),
            on_error=lambda exc: show_error(self, exc),
        )

    def _counted(self, counts: ClinicCounts, open_first: bool) -> None:
        self.counts = counts
        self.counts_label.setText(
            f"{counts.total:,} patients · {counts.active:,} active · {counts.flagged:,} flagged · "
            f"{counts.due:,} due for check-in"
        )
        empty = counts.total == 0
        leaving_first_start = not empty and self.pages.currentWidget() is self.first_start
        open_first = open_first or leaving_first_start  # e.g. right after an import
        self.pages.setCurrentWidget(self.first_start if empty else self.splitter)
        for action in (self.find_action, self.previous_action, self.next_action, *self.tab_actions):
            action.setEnabled(not empty)
        if empty:
            self.ready.emit()
        elif open_first and self._patient_id is None:
            self._open_initial_patient()

    def _open_initial_patient(self) -> None:
        wanted = self._requested_patient
        actor, today = self.context.actor, self.context.today()

        def choose(_p, _c) -> int | None:
            if wanted is not None:
                try:
                    return patients.get_patient(actor, wanted, today=today).id
                except Exception:  # noqa: BLE001 - deleted since last time: fall back
                    pass
            return first_flagged_patient(actor, today)

        def chosen(patient_id: int | None) -> None:
            if patient_id is None:
                self.ready.emit()
            elif self._patient_id is None:
                self.open_patient(patient_id)

        self.context.jobs.run(choose, on_done=chosen, on_error=lambda exc: show_error(self, exc))

    def _record_shown(self, _record) -> None:
        self._update_title()
        self.ready.emit()

    def _update_title(self) -> None:
        """The open patient in the title bar (and the task bar): initials in privacy mode."""
        record = self.patient_view.record
        if record is not None and self.right.currentWidget() is self.patient_view:
            self.setWindowTitle(f"TeamDash — {self.context.presentation.label(record.patient)}")
        else:
            self.setWindowTitle("TeamDash")

    def _toggle_privacy(self) -> None:
        self.context.presentation.set_privacy(self.privacy_action.isChecked())

    def _privacy_changed(self, on: bool) -> None:
        self.privacy_action.setChecked(on)
        self.privacy_label.setVisible(on)
        self._update_title()

    def _after_demo(self) -> None:
        self._patient_id = None
        self._requested_patient = None
        self._load_counts(open_first=True)

    def refresh(self) -> None:
        self.context.changes.emit(Changes(None, frozenset({"refresh"})))

    def _on_changes(self, changes: Changes) -> None:
        self._load_counts()
        self._read_event_counter()

    def _read_event_counter(self) -> None:
        self.context.jobs.run(lambda _p, _c: audit.latest_event_id(), on_done=self._set_known_event)

    def _set_known_event(self, event_id: int) -> None:
        self._known_event = max(event_id, self._known_event or 0)

    # --- other workstations, and the connection ------------------------------------------------

    def _poll_other_workstations(self) -> None:
        """SQLite: look for other workstations' writes. PostgreSQL: they are announced
        (``_feed_ready``); this only checks the connection. While it is lost: try again."""
        if self.offline is not None:
            self.context.jobs.run(
                lambda _p, _c: remote.ping(), on_done=lambda _r: self._back_online(), on_error=self._still_offline
            )
            return
        self._fetch_remote_changes()

    def _fetch_remote_changes(self) -> None:
        actor, known = self.context.actor, self._known_event
        if known is None:
            self._read_event_counter()
            return
        self.context.jobs.run(
            lambda _p, _c: remote.changes_since(actor, known), on_done=self._remote_changes, on_error=self._poll_failed
        )

    def _remote_changes(self, found: remote.RemoteChanges) -> None:
        """Another workstation wrote: the list, the open patient and any open form on a
        changed record refresh or say so (one signal, patients and records named)."""
        if self._known_event is not None and found.latest_event_id > self._known_event and found.any:
            log.info("changes from another workstation: refreshing")
            self._known_event = found.latest_event_id
            self.context.changes.emit(Changes(found.patient_ids, frozenset({"remote"}), found.records))
        self._set_known_event(found.latest_event_id)

    def _poll_failed(self, exc: BaseException) -> None:
        if not ui_errors.report_connection_lost(exc):
            log.warning("looking for other workstations' changes failed: %s", exc)

    def _open_feed(self) -> None:
        self.context.jobs.run(lambda _p, _c: remote.open_feed(), on_done=self._feed_opened, on_error=self._poll_failed)

    def _feed_opened(self, feed: remote.ChangeFeed | None) -> None:
        self._close_feed()
        if feed is None:  # SQLite: polled
            self.poll.setInterval(POLL_MS)
            return
        self._feed = feed
        self._notifier = QSocketNotifier(feed.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._feed_ready)
        self.poll.setInterval(HEARTBEAT_MS)
        self._fetch_remote_changes()  # whatever was committed before listening began

    def _feed_ready(self, *_args) -> None:
        """Notifications arrived (a non-blocking read of what the socket holds)."""
        if self._feed is None:
            return
        try:
            notes = self._feed.drain()
        except ConnectionLost as exc:
            self._close_feed()
            self.connection_lost(exc)
            return
        if notes:
            self._fetch_remote_changes()

    def _close_feed(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        if self._feed is not None:
            self._feed.close()
            self._feed = None

    def connection_lost(self, exc: ConnectionLost) -> None:
        """The status bar says so; TeamDash retries every few seconds. Open forms keep
        their input (their save failed with the same message and nothing was written)."""
        self.connection_label.setToolTip(str(exc))
        if self.offline is not None:
            return
        self.offline = str(exc)
        log.warning("connection to the database lost; retrying")
        self._restored_timer.stop()
        self.connection_label.setProperty("state", "lost")
        self.connection_label.setStyleSheet("color: #b00020; font-weight: bold;")
        self.connection_label.setText("⚠ Connection to the database lost · retrying · unsaved input is kept")
        self.connection_label.show()
        self._close_feed()
        self.poll.setInterval(RETRY_MS)
        if not self.poll.isActive():
            self.poll.start()

    def _still_offline(self, exc: BaseException) -> None:
        self.connection_label.setToolTip(str(exc))

    def _back_online(self) -> None:
        if self.offline is None:
            return
        self.offline = None
        log.info("connection to the database restored")
        self.connection_label.setProperty("state", "restored")
        self.connection_label.setStyleSheet("")
        self.connection_label.setText("Connection restored")
        self.connection_label.setToolTip("")
        self._restored_timer.start(8000)
        self.poll.setInterval(POLL_MS)
        self._open_feed()
        self.refresh()  # whatever others saved meanwhile

    # --- actions ------------------------------------------------------------------------------

    def _step_patient(self, step: int) -> None:
        table, model = self.list_panel.table, self.list_panel.model
        row = model.row_of(self._patient_id)
        target = 0 if row is None else row + step
        if 0 <= target < model.rowCount():
            table.setCurrentIndex(model.index(target, max(table.currentIndex().column(), 1)))
        elif target >= model.rowCount() and model.canFetchMore():
            model.fetchMore()

    def _show_tab(self, code: str) -> None:
        if self.right.currentWidget() is self.patient_view:
            self.patient_view.show_tab(code)
        self._sync_tab_actions()  # a checkable action unticks itself when triggered twice

    def _sync_tab_actions(self) -> None:
        current = self.patient_view.current_tab()
        for action in self.tab_actions:
            action.setChecked(action.objectName() == f"tab_{current}")

    def _set_timeline_mode(self, mode: str) -> None:
        self.patient_view.timeline.set_mode(mode)

    def _toggle_timeline_mode(self) -> None:
        current = self.patient_view.timeline.mode
        self._set_timeline_mode(MODE_NORMALISED if current == MODE_PER_MEASURE else MODE_PER_MEASURE)

    def _timeline_mode_changed(self, mode: str) -> None:
        self.per_measure_action.setChecked(mode == MODE_PER_MEASURE)
        self.normalised_action.setChecked(mode == MODE_NORMALISED)
        self.settings.save_timeline_mode(mode)

    def _toggle_list(self) -> None:
        sizes = self.splitter.sizes()
        if self.list_action.isChecked():
            self.splitter.setSizes([self._list_width, max(sum(sizes) - self._list_width, 400)])
        else:
            self._list_width = sizes[0] or self._list_width
            self.splitter.setSizes([0, sum(sizes)])

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def set_scale(self, scale: float) -> None:
        """Scale the whole UI (fonts, paddings, timelines) for a projector or a small screen."""
        self.scale = ui_settings.clamp_scale(scale)
        app = QApplication.instance()
        if isinstance(app, QApplication):  # always, while a window exists
            ui_settings.apply_scale(app, self.scale)
        self.list_panel.apply_scale(self.scale)
        self.patient_view.timeline.apply_scale(self.scale)
        self.zoom_reset_action.setText(f"Actual size (now {round(self.scale * 100)} %)")

    def _import_action(self) -> QAction | None:
        """File → Import…, when the import feature has added it."""
        for action in self.menus["File"].actions():
            if action.objectName() == "import" or action.text().replace("&", "").lower().startswith("import"):
                return action
        return None

    def _show_shortcuts(self) -> None:
        lines = []
        for menu in self.menus.values():
            for action in menu.actions():
                if action.shortcut().isEmpty():
                    continue
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                lines.append(
                    f"<tr><td style='padding-right:18px'><b>{keys}</b></td><td>{action.text().replace('&', '')}</td></tr>"
                )
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{''.join(lines)}</table>")

    def _show_log_location(self) -> None:
        QMessageBox.information(
            self,
            "Log file",
            f"TeamDash writes its log to:\n{logs.log_file()}\n\n"
            "Log lines hold record ids and actions, never names or scores.",
        )

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About TeamDash",
            f"<b>TeamDash {__version__}</b><br>Dashboard for a multidisciplinary chronic low back pain team."
            f"<br><br>Database: {self.database}",
        )

    # --- screenshots --------------------------------------------------------------------------

    def grab_png(self, path) -> bool:
        return self.grab().save(str(path), "PNG")
