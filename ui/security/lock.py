"""Auto-lock and the lock screen.

``IdleMonitor`` watches the keyboard and mouse (an application-wide event filter; only
events from the window system count, not repaints). ``LOCK_WARNING_S`` before the
limit a small always-on-top warning counts down; any key or mouse movement dismisses it.
At the limit the ``LockController`` locks the workstation:

- the main window shows the lock page instead of the list and the patient (its title
  becomes "TeamDash — locked" and stays so whatever sets it meanwhile; menus, toolbar
  and status bar are hidden; shortcuts do nothing), so neither the screen, a
  screenshot nor a taskbar preview shows a patient;
- every other window (an open form, its unsaved entries included) is hidden, kept as it
  is for the user who opened it;
- the same user's password unlocks and brings their windows back; another user's
  sign-in ends the first user's session (their open forms stay hidden, kept for them
  until they sign in again) and starts the new one.

The idle clock is injectable (``clock=``), so tests lock without waiting.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from teamdash.services import accounts
from teamdash.services.accounts import SignIn
from teamdash.services.auth import Actor
from ui.context import AppContext
from ui.security.signin import ChangePasswordDialog, SignInForm, named_button
from ui.widgets.cards import centre_card

log = logging.getLogger(__name__)

LOCK_WARNING_S = 30
DEFAULT_IDLE_MINUTES = 5
LOCKED_TITLE = "TeamDash — locked"

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.TabletPress,
}


class IdleMonitor(QObject):
    """Seconds since the last key press or mouse movement, checked once a second."""

    warning = Signal(int)  # seconds left before locking
    active_again = Signal()  # activity after a warning
    idle = Signal()  # the limit was reached

    def __init__(self, limit_s: float, *, clock: Callable[[], float] = time.monotonic, parent: QObject | None = None):
        super().__init__(parent)
        self.limit_s = limit_s
        self.clock = clock
        self.last = clock()
        self.warned = False
        self.running = False
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        self.last = self.clock()
        self.warned = False
        self.running = True
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer.start()

    def stop(self) -> None:
        self.running = False
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def set_limit(self, limit_s: float) -> None:
        self.limit_s = limit_s

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and event.spontaneous():
            self.touch()
        return False

    def touch(self) -> None:
        """Someone is at the keyboard."""
        self.last = self.clock()
        if self.warned:
            self.warned = False
            self.active_again.emit()

    def left(self) -> float:
        return self.limit_s - (self.clock() - self.last)

    def check(self) -> None:
        if not self.running:
            return
        left = self.left()
        if left <= 0:
            self.warned = False
            self.idle.emit()
        elif left <= LOCK_WARNING_S:
            self.warned = True
            self.warning.emit(math.ceil(left))


class LockWarning(QDialog):
    """The countdown before locking: small, on top, dismissed by any activity."""

    lock_now = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("lockWarning")
        self.setWindowTitle("TeamDash will lock")
        self.setModal(False)
        self.text = QLabel()
        self.text.setObjectName("lockCountdown")
        self.text.setWordWrap(True)
        button = named_button("Lock now", "lockNow")
        button.clicked.connect(self.lock_now.emit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        layout.addLayout(row)
        self.setMinimumWidth(360)

    def count(self, seconds: int) -> None:
        self.text.setText(
            f"<b>TeamDash locks in {seconds} s</b> to keep patient data private on this shared workstation.<br>"
            "Move the mouse or press a key to keep working."
        )


class LockPage(QWidget):
    """What the main window shows while locked: whose session it is, their password;
    or another user's sign-in. Nothing about any patient."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lockPage")
        self.title = QLabel("TeamDash is locked")
        self.title.setObjectName("welcomeTitle")
        self.who = QLabel()
        self.who.setObjectName("lockWho")
        self.who.setWordWrap(True)
        self.form = SignInForm(context.jobs, fixed_username=True)
        self.form.set_button_text("Unlock")
        self.other = named_button("Sign in as someone else", "signInOther")
        self.other.setFlat(True)
        self.other.clicked.connect(self.sign_in_other)
        card = QFrame()
        card.setObjectName("welcomeCard")
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.addWidget(self.title)
        inner.addWidget(self.who)
        inner.addSpacing(8)
        inner.addWidget(self.form)
        inner.addWidget(self.other, 0, Qt.AlignmentFlag.AlignLeft)
        card.setFixedWidth(460)
        centre_card(self, card)
        self.owner: Actor | None = None

    def show_for(self, owner: Actor | None, *, switching: bool = False) -> None:
        self.owner = owner
        if owner is None or owner.user_id is None or switching:
            self.title.setText("Sign in to TeamDash" if switching else "TeamDash is locked")
            self.who.setText(
                "Sign in with your own username and password."
                + (f" {owner.display_name}'s unsaved work is kept for them." if owner and owner.user_id else "")
            )
            self.form.set_username("", fixed=False)
            self.form.set_button_text("Sign in")
            self.other.hide()
        else:
            self.title.setText("TeamDash is locked")
            self.who.setText(f"{owner.display_name} was signed in. Enter the password to continue.")
            self.form.set_username(owner.username, fixed=True)
            self.form.set_button_text("Unlock")
            self.other.show()
        self.form.focus()

    def sign_in_other(self) -> None:
        self.show_for(self.owner, switching=True)


@dataclass
class _Parked:
    """What a user left open when the workstation locked: windows kept, hidden."""

    windows: list[QWidget] = field(default_factory=list)


class LockController(QObject):
    """Locks and unlocks one main window (see the module docstring)."""

    locked_changed = Signal(bool)
    user_changed = Signal(object, object)  # previous Actor, new Actor

    def __init__(
        self,
        window: QMainWindow,
        context: AppContext,
        *,
        idle_minutes: float = DEFAULT_IDLE_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        pages_attr: str = "pages",
    ):
        super().__init__(window)
        self.window = window
        self.context = context
        self.locked = False
        self.owner: Actor | None = None
        self.parked: dict[tuple[int | None, str], _Parked] = {}
        self._restore: list[tuple[QWidget, bool]] = []
        self._title = window.windowTitle()
        self._page_before: QWidget | None = None
        self._allowed_actions: set[QAction] = set()
        self._polling = False
        self._own_dialog: QWidget | None = None  # a dialog of the lock itself (forced password change)
        self.pages = getattr(window, pages_attr)
        self.page = LockPage(context, window)
        self.pages.addWidget(self.page)
        self.page.form.signed_in.connect(self._signed_in)
        self.warning = LockWarning(window)
        self.warning.lock_now.connect(self.lock)
        self.monitor = IdleMonitor(idle_minutes * 60, clock=clock, parent=self)
        self.monitor.warning.connect(self._warn)
        self.monitor.active_again.connect(self.warning.hide)
        self.monitor.idle.connect(self.lock)
        guards = getattr(window, "close_guards", None)
        if guards is not None:  # quitting would discard forms kept for someone: ask first
            guards.append(self._may_close)

    # --- the idle clock ----------------------------------------------------------------------

    def start(self) -> None:
        self.monitor.start()

    def set_idle_minutes(self, minutes: float) -> None:
        self.monitor.set_limit(minutes * 60)

    def allow(self, action: QAction) -> None:
        """An action that works while locked (none does by default)."""
        self._allowed_actions.add(action)

    def _warn(self, seconds: int) -> None:
        if self.locked:
            return
        self.warning.count(seconds)
        if not self.warning.isVisible():
            geometry = self.window.geometry()
            self.warning.adjustSize()
            self.warning.move(geometry.center().x() - self.warning.width() // 2, geometry.top() + 80)
            self.warning.show()

    # --- locking -------------------------------------------------------------------------------

    def lock(self, *, switching: bool = False) -> None:
        """Cover the window and hide every other window, now."""
        if self.locked:
            if switching:
                self.page.show_for(self.owner, switching=True)
            return
        self.locked = True
        self.owner = self.context.actor
        self.warning.hide()
        self.monitor.stop()
        self._park_windows(self.owner)
        window = self.window
        self._title = window.windowTitle()
        window.setWindowTitle(LOCKED_TITLE)
        self._page_before = self.pages.currentWidget()
        self._restore = []
        for bar in (window.menuBar(), window.statusBar(), *window.findChildren(QWidget, "mainToolbar")):
            self._restore.append((bar, bar.isVisible()))
            bar.hide()
        self.pages.setCurrentWidget(self.page)
        self.page.show_for(self.owner, switching=switching)
        poll = getattr(window, "poll", None)
        self._polling = poll is not None and poll.isActive()
        if poll is not None and self._polling:
            poll.stop()  # nothing reloads behind the lock
        _application().installEventFilter(self)
        log.info("workstation locked%s", " to switch user" if switching else "")
        self.locked_changed.emit(True)

    def switch_user(self) -> None:
        """File → Switch user: lock, with the sign-in for the next person."""
        self.lock(switching=True)

    def _park_windows(self, owner: Actor) -> None:
        parked = self.parked.setdefault(_key(owner), _Parked())
        for widget in QApplication.topLevelWidgets():
            if widget is self.window or widget is self.warning or not widget.isVisible():
                continue
            if widget.windowType() in (Qt.WindowType.ToolTip, Qt.WindowType.Popup):
                widget.hide()
                continue
            parked.windows.append(widget)
            widget.hide()  # kept as it is: unsaved entries included

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While locked: no shortcut fires, and a window that opens (a job finishing)
        is parked for its user at once."""
        if not self.locked:
            return False
        kind = event.type()
        if kind == QEvent.Type.WindowTitleChange and watched is self.window:
            self._keep_locked_title()
            return False
        if kind == QEvent.Type.Shortcut and isinstance(watched, QAction) and watched not in self._allowed_actions:
            return True
        if kind == QEvent.Type.Show and isinstance(watched, QWidget) and self._parks(watched):
            assert self.owner is not None
            self.parked.setdefault(_key(self.owner), _Parked()).windows.append(watched)
            QTimer.singleShot(0, watched.hide)
        return False

    def _keep_locked_title(self) -> None:
        """The window's title stays the lock's while locked, whoever sets it (a patient
        read before the lock arriving, presentation mode, a meeting): the new title is
        kept for when the window is unlocked."""
        title = self.window.windowTitle()
        if title != LOCKED_TITLE:
            self._title = title
            self.window.setWindowTitle(LOCKED_TITLE)

    def _may_close(self) -> bool:
        """Quitting while forms are kept for someone (or while locked, for the person
        who locked) discards them: only after asking."""
        kept = sum(self.kept_for_others().values())
        if not kept:
            return True
        answer = QMessageBox.question(
            self.window,
            "TeamDash",
            f"{kept} unsaved form{'s are' if kept != 1 else ' is'} kept for someone who is not signed in. "
            "Quitting now discards what they typed. Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _parks(self, widget: QWidget) -> bool:
        """A window that opened while locked and is not the lock's own."""
        if not widget.isWindow() or self.owner is None:
            return False
        if any(widget is own for own in (self.window, self.warning, self._own_dialog)):
            return False
        return widget.windowType() not in (Qt.WindowType.ToolTip, Qt.WindowType.Popup)

    # --- unlocking -----------------------------------------------------------------------------

    def _signed_in(self, result: SignIn) -> None:
        if result.must_change_password:
            change = ChangePasswordDialog(self.context.jobs, result.actor, forced=True, parent=self.window)
            self._own_dialog = change
            accepted = change.exec() == QDialog.DialogCode.Accepted
            self._own_dialog = None
            if not accepted:
                self.page.form.message.setText("Choose a new password to sign in.")
                self.page.form.message.show()
                return
        previous, actor = self.owner, result.actor
        same = previous is not None and _key(previous) == _key(actor)
        if not same and previous is not None and previous.user_id is not None:
            self.context.jobs.run(lambda _p, _c: accounts.sign_out(previous))
        self.unlock(actor)
        if not same:
            self.user_changed.emit(previous, actor)

    def unlock(self, actor: Actor) -> None:
        """Remove the cover for ``actor`` (already authenticated) and bring back what
        they left open."""
        if not self.locked:
            return
        _application().removeEventFilter(self)
        self.locked = False
        self.context.actor = actor
        window = self.window
        window.setWindowTitle(self._title)
        for bar, visible in self._restore:
            bar.setVisible(visible)
        self.pages.setCurrentWidget(self._page_before or self.pages.widget(0))
        parked = self.parked.pop(_key(actor), _Parked())
        for widget in parked.windows:
            try:
                widget.show()
            except RuntimeError:  # deleted while hidden (closed by code)
                continue
        poll = getattr(window, "poll", None)
        if poll is not None and self._polling:
            poll.start()
        self.owner = None
        self.monitor.start()
        log.info("workstation unlocked")
        self.locked_changed.emit(False)

    def shutdown(self) -> None:
        """The window is going away: stop watching the application."""
        self.monitor.stop()
        self.warning.hide()
        if self.locked:
            _application().removeEventFilter(self)
            self.locked = False

    def kept_for_others(self) -> dict[tuple[int | None, str], int]:
        """Windows kept for users who are not signed in: {user: number of windows}."""
        return {key: len(p.windows) for key, p in self.parked.items() if p.windows}


def _application() -> QCoreApplication:
    app = QApplication.instance()
    assert app is not None, "the lock needs the running application"
    return app


def _key(actor: Actor) -> tuple[int | None, str]:
    return (actor.user_id, actor.username)
