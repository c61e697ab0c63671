"""The team meeting and the screens around it: the Meeting menu (Start…, Past
meetings…, My action items…), the meeting screen, its minutes.

``install_actions(window)`` needs only the main window's contract: ``menus``,
``context``, ``open_patient``, ``scale``/``set_scale`` and ``_action``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QMenu, QWidget

from teamdash.services import meetings
from teamdash.services.meetings import MeetingResult, Minutes
from ui.context import AppContext
from ui.dialogs.form import show_dialog
from ui.errors import show_error
from ui.meeting.minutes import MinutesDialog, PastMeetingsDialog
from ui.meeting.my_actions import MyActionItemsDialog
from ui.meeting.screen import MeetingWindow
from ui.meeting.start import StartMeetingDialog

__all__ = ["MeetingActions", "MeetingWindow", "install_actions"]


class MeetingActions(QObject):
    """Owns the Meeting menu and the open meeting window (one at a time)."""

    def __init__(self, window: Any):  # the MainWindow (a QMainWindow)
        super().__init__(window)
        # The main window, through its contract (menus, context, _action, open_patient,
        # scale, set_scale): ui.meeting sits beside ui.main_window, not on top of it.
        self.host: Any = window
        self.context: AppContext = self.host.context
        self.meeting_window: MeetingWindow | None = None
        self.last_dialog: QDialog | None = None  # the dialog opened last (tests, status)
        self.menu = QMenu("&Meeting", window)
        self.menu.setObjectName("meetingMenu")
        self.host.menuBar().insertMenu(self.host.menus["View"].menuAction(), self.menu)
        self.host.menus["Meeting"] = self.menu
        self.start_action = self.host._action(
            "Start…",
            self.start,
            QKeySequence("Ctrl+Shift+T"),
            tip="Start a team meeting: attendees and the patients due for review",
            name="start_meeting",
        )
        self.past_action = self.host._action(
            "Past meetings…", self.past, tip="Minutes of earlier meetings; resume one not ended", name="past_meetings"
        )
        self.mine_action = self.host._action(
            "My action items…",
            self.my_action_items,
            QKeySequence("Ctrl+Shift+I"),
            tip="The action items you own, overdue ones first",
            name="my_action_items",
        )
        for action in (self.start_action, self.past_action, None, self.mine_action):
            self.menu.addSeparator() if action is None else self.menu.addAction(action)
        self.start_action.setEnabled(self.context.actor.can("write_checkin"))
        self.context.changes.changed.connect(
            lambda _c: self.start_action.setEnabled(self.context.actor.can("write_checkin"))
        )

    # --- starting and resuming ----------------------------------------------------------

    def start(self) -> None:
        if self.meeting_window is not None:
            self._raise()
            return
        dialog = StartMeetingDialog(self.context, self.host)
        dialog.started.connect(self.open_meeting)
        dialog.resume.connect(self.resume)
        self.last_dialog = show_dialog(dialog)

    def resume(self, meeting_id: int) -> None:
        actor = self.context.actor
        self.context.jobs.run(
            lambda _p, _c: meetings.get_meeting(actor, meeting_id),
            on_done=self._resumed,
            on_error=lambda exc: show_error(self.host, exc),
        )

    def _resumed(self, meeting: MeetingResult) -> None:
        self.open_meeting(meeting)

    def open_meeting(self, meeting: MeetingResult) -> MeetingWindow:
        # Presentation mode is on by default in a meeting (F8 switches it off); it stays
        # on afterwards, since the minutes come up on the same screen.
        self.context.presentation.set_privacy(True)
        screen = MeetingWindow(
            self.context,
            meeting,
            scale=getattr(self.host, "scale", 1.0),
            set_scale=self._set_scale,
            parent=self.host,
        )
        screen.ended.connect(self.show_minutes)
        screen.destroyed.connect(self._closed)
        self.meeting_window = screen
        screen.showMaximized()
        screen.activateWindow()
        return screen

    def _raise(self) -> None:
        if self.meeting_window is not None:
            self.meeting_window.showMaximized()
            self.meeting_window.raise_()
            self.meeting_window.activateWindow()

    def _closed(self) -> None:
        self.meeting_window = None

    def _set_scale(self, scale: float) -> None:
        self.host.set_scale(scale)
        if self.meeting_window is not None:
            self.meeting_window.apply_scale(self.host.scale)

    # --- minutes and action items ---------------------------------------------------------

    def show_minutes(self, minutes: Minutes) -> MinutesDialog:
        dialog = MinutesDialog(self.context, minutes, self.host)
        self.last_dialog = show_dialog(dialog)
        return dialog

    def past(self) -> None:
        dialog = PastMeetingsDialog(self.context, self.host)
        dialog.resume.connect(self.resume)
        self.last_dialog = show_dialog(dialog)

    def my_action_items(self) -> None:
        dialog = MyActionItemsDialog(self.context, self.host.open_patient, self.host)
        self.last_dialog = show_dialog(dialog)


def install_actions(window: QWidget) -> MeetingActions:
    """Add the Meeting menu to the main window (once)."""
    actions = window.findChild(MeetingActions)
    return actions if actions is not None else MeetingActions(window)
