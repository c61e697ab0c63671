"""Who is working at this workstation: File → Switch user…, remembered per workstation.

Every write is attributed to the acting user (entered by, acknowledged by, the audit
trail). Until user accounts with passwords and auto-lock arrive, the person at the
workstation chooses their name from the active staff list; the choice is kept in the
workstation's settings and restored at the next start.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from teamdash.errors import TeamDashError
from teamdash.services import auth, staff
from teamdash.services.auth import Actor
from ui.changes import Changes
from ui.context import AppContext
from ui.errors import show_error

SETTING = "session/username"


def remembered_actor(context_settings, username: str | None) -> Actor:
    """The actor for ``--user``, else the one remembered on this workstation, else the
    system (read and write, attributed to 'TeamDash (system)')."""
    name = username or context_settings.value(SETTING, "", str)
    if not name:
        return auth.SYSTEM
    try:
        return auth.actor_for(name)
    except TeamDashError:
        if username:  # asked for explicitly: say so
            raise
        return auth.SYSTEM  # a remembered user who has left the team


class UserDialog(QDialog):
    """Pick a name from the active staff (loaded on the database thread)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Switch user")
        self.context = context
        self.chosen: staff.StaffMember | None = None
        self.people = QListWidget(self)
        self.people.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Who is working at this workstation? Entries and acknowledgements are recorded in this name.", self)
        )
        layout.addWidget(self.people)
        layout.addWidget(buttons)
        self.resize(420, 360)
        context.jobs.run(
            lambda _p, _c: staff.list_staff(context.actor), on_done=self._fill, on_error=lambda e: show_error(self, e)
        )

    def _fill(self, members: list[staff.StaffMember]) -> None:
        for member in members:
            role = member.role.replace("_", " ")
            item = QListWidgetItem(f"{member.full_name}  ·  {member.discipline or role}")
            item.setData(Qt.ItemDataRole.UserRole, member)
            self.people.addItem(item)
            if member.id == self.context.actor.user_id:
                self.people.setCurrentItem(item)
        if self.people.currentItem() is None and self.people.count():
            self.people.setCurrentRow(0)

    def accept(self) -> None:
        item = self.people.currentItem()
        if item is None:
            return
        self.chosen = item.data(Qt.ItemDataRole.UserRole)
        super().accept()


def switch_to(window, member: staff.StaffMember) -> None:
    context: AppContext = window.context
    context.actor = Actor(member.id, member.username, member.full_name, member.role)
    context.settings.setValue(SETTING, member.username)
    window.user_label.setText(f"Acting as {member.full_name}")
    # Panels re-check what this user may do; nothing else needs the database again.
    context.changes.emit(Changes(None, frozenset({"user"})))


def install_actions(window) -> None:
    def choose() -> None:
        dialog = UserDialog(window.context, window)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen is not None:
            switch_to(window, dialog.chosen)

    action = window._action(
        "Switch user…",
        choose,
        QKeySequence("Ctrl+Shift+U"),
        tip="Choose who is working at this workstation",
        name="switch_user",
    )
    file_menu = window.menus["File"]
    file_menu.insertAction(window.quit_action, action)
    file_menu.insertSeparator(window.quit_action)
