"""Who is working at this workstation, and keeping the workstation safe.

Installs, on the main window: the lock screen and auto-lock (the clinic's idle minutes),
File → Lock now (Ctrl+Shift+L), Switch user… (Ctrl+Shift+U: sign-out plus sign-in for
the next person), Change my password…, and for administrators Staff… and Audit trail…;
the status bar names who is signed in; the automatic daily backup runs at start and
every hour. What a role may not do is hidden (the services refuse it anyway).

The last username signed in on this workstation is remembered to fill in the sign-in
form; nobody is signed in without a password (``--user`` only names who a screenshot
shows, offscreen).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from teamdash.errors import TeamDashError
from teamdash.services import clinic_settings, maintenance
from teamdash.services.auth import SYSTEM, Actor
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error
from ui.security.audit_screen import AuditDialog
from ui.security.lock import LockController
from ui.security.signin import ChangePasswordDialog
from ui.security.staff_screen import StaffDialog
from ui.undo import stack_for

log = logging.getLogger(__name__)

SETTING = "session/username"
BACKUP_CHECK_MS = 60 * 60 * 1000  # the daily backup is looked at every hour


def remembered_username(settings: QSettings) -> str:
    """Who signed in last on this workstation (to fill in the form), or ""."""
    return str(settings.value(SETTING, "", str) or "")


def remember(settings: QSettings, actor: Actor) -> None:
    if actor.user_id is not None:
        settings.setValue(SETTING, actor.username)


def signed_in_text(actor: Actor) -> str:
    return f"Signed in: {actor.description}"


def install_actions(window, *, automatic: bool = True) -> LockController:
    """Everything above, on ``window`` (uses ``window.context``, ``window.menus``,
    ``window.pages``, ``window.user_label``); returns the lock controller. Without
    ``automatic`` (a screenshot) neither auto-lock nor the automatic backup runs."""
    context: AppContext = window.context
    lock = LockController(window, context)
    window.lock = lock
    menu = window.menus["File"]

    def a(text, slot, shortcut=None, tip="", name=""):
        return window._action(text, slot, QKeySequence(shortcut) if shortcut else None, tip=tip, name=name)

    lock_action = a(
        "Lock now", lock.lock, "Ctrl+Shift+L", tip="Cover the window until you sign in again", name="lock_now"
    )
    switch_action = a(
        "Switch user…",
        lock.switch_user,
        "Ctrl+Shift+U",
        tip="Sign out and let the next person sign in (your open forms are kept for you)",
        name="switch_user",
    )
    password_action = a("Change my password…", lambda: _change_password(window), name="change_password")
    staff_action = a(
        "Staff…", lambda: _open(window, StaffDialog), tip="Accounts, roles, auto-lock and backups", name="staff"
    )
    audit_action = a(
        "Audit trail…", lambda: _open(window, AuditDialog), tip="Who saw and changed what", name="audit_trail"
    )
    for action in (lock_action, switch_action, password_action):
        menu.insertAction(window.quit_action, action)
    menu.insertSeparator(window.quit_action)
    for action in (staff_action, audit_action):
        menu.insertAction(window.quit_action, action)
    menu.insertSeparator(window.quit_action)

    def follow_user(changes: Changes | None = None) -> None:
        if changes is not None and "user" not in changes.kinds:
            return
        actor = context.actor
        window.user_label.setText(signed_in_text(actor))
        password_action.setVisible(actor.user_id is not None)
        staff_action.setVisible(actor.can("manage_users"))
        audit_action.setVisible(actor.can("view_audit"))
        lock_action.setEnabled(actor.user_id is not None)

    def user_changed(previous: Actor, current: Actor) -> None:
        stack_for(context).switch_user(previous, current)
        remember(context.settings, current)
        # Panels re-check what this user may do; the open record is seen by them now.
        context.changes.emit(Changes(None, frozenset({"user", "refresh"})))

    lock.user_changed.connect(user_changed)
    context.changes.changed.connect(follow_user)

    def follow_settings(changes: Changes) -> None:
        if "settings" in changes.kinds:
            _apply_settings(window)

    context.changes.changed.connect(follow_settings)
    follow_user()
    remember(context.settings, context.actor)
    _apply_settings(window)
    if automatic and context.actor.user_id is not None:  # the system account (tests) does not lock
        lock.start()
    if automatic:
        _schedule_backups(window)
    return lock


def _open(window, dialog_class) -> None:
    dialog = dialog_class(window.context, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()


def _change_password(window) -> None:
    context: AppContext = window.context
    dialog = ChangePasswordDialog(context.jobs, context.actor, parent=window)
    if dialog.exec():
        QMessageBox.information(window, "TeamDash", "Your password was changed.")


def _apply_settings(window) -> None:
    context: AppContext = window.context
    context.jobs.run(
        lambda _p, _c: clinic_settings.current(),
        on_done=lambda current: window.lock.set_idle_minutes(current.lock_minutes),
        on_error=lambda exc: log.warning("clinic settings not read: %s", exc),
    )


def _schedule_backups(window) -> None:
    """Today's automatic backup (if not taken yet), now and every hour."""
    context: AppContext = window.context

    def check() -> None:
        def failed(exc: BaseException) -> None:
            log.warning("automatic backup failed: %s", exc)
            if isinstance(exc, TeamDashError):
                window.statusBar().showMessage(f"Automatic backup failed: {exc}", 15000)
            else:
                show_error(window, exc)

        context.jobs.run(lambda _p, _c: maintenance.daily_backup(SYSTEM), on_done=_backed_up(window), on_error=failed)

    timer = QTimer(window)
    timer.setInterval(BACKUP_CHECK_MS)
    timer.timeout.connect(check)
    timer.start()
    window.backup_timer = timer
    QTimer.singleShot(0, check)


def _backed_up(window):
    def done(result) -> None:
        if result is not None:
            window.statusBar().showMessage(f"Today's backup was written and verified: {result.path.name}", 10000)

    return done
