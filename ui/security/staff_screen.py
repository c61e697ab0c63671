"""File → Staff… (administrators): the team's accounts and the clinic's security and
backup settings.

Staff: add a member (role, discipline, case manager, first password), edit their name,
role and discipline, reset a password (they choose their own at the next sign-in),
unlock after failed sign-ins, deactivate and reactivate. Settings: minutes before the
dashboard locks itself, the backup folder, how many daily and weekly backups are kept,
and a backup now. Every change goes through the services (which refuse anyone but an
administrator) and is an audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from teamdash.clinical import disciplines
from teamdash.errors import TeamDashError
from teamdash.services import accounts, auth, clinic_settings, maintenance, staff
from teamdash.services.staff import StaffMember
from ui.context import AppContext
from ui.errors import show_error
from ui.security.signin import POLICY, add_row, message_label, name_buttons, named_button, password_field
from ui.widgets.table import Column, RowsModel

INACTIVE_GREY = "#8a94a3"


def account_state(m: StaffMember, now: dt.datetime) -> str:
    if not m.active:
        return "deactivated"
    if m.locked(now):
        return f"locked until {m.locked_until:%H:%M}"
    if not m.has_password:
        return "no password yet"
    if m.must_change_password:
        return "must choose a password"
    return "active"


def staff_columns(context: AppContext) -> tuple[Column, ...]:
    """The staff table's columns; deactivated accounts in grey."""

    def grey(m: StaffMember) -> str | None:
        return None if m.active else INACTIVE_GREY

    def column(header: str, text: Callable[[StaffMember], str]) -> Column:
        return Column(header, text, colour=grey)

    return (
        column("Name", lambda m: m.full_name),
        column("Username", lambda m: m.username),
        column("Role", lambda m: m.role_label),
        column("Discipline", lambda m: disciplines.get(m.discipline).name if m.discipline else "—"),
        column("Case manager", lambda m: "yes" if m.is_case_manager else ""),
        column("Account", lambda m: account_state(m, context.now())),
        column("Last sign-in", lambda m: f"{m.last_sign_in_at:%d %b %Y %H:%M}" if m.last_sign_in_at else "never"),
    )


class _AccountDialog(QDialog):
    """A staff-account form: its fields, a note, a message line for refusals, Save/Cancel."""

    def _lay_out(self, form: QFormLayout, note: QLabel, min_width: int) -> None:
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.message = message_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        name_buttons(self.buttons)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(min_width)

    def save(self) -> None:
        raise NotImplementedError

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, TeamDashError):
            self.message.setText(str(exc))
            self.message.show()
        else:
            show_error(self, exc)


class MemberDialog(_AccountDialog):
    """Add a member of staff, or edit one (name, role, discipline, case manager)."""

    def __init__(self, context: AppContext, member: StaffMember | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("memberDialog")
        self.context, self.member = context, member
        self.setWindowTitle("Add a member of staff" if member is None else f"Edit {member.full_name}")
        self.full_name = QLineEdit(member.full_name if member else "")
        self.full_name.setObjectName("full_name")
        self.username = QLineEdit(member.username if member else "")
        self.username.setObjectName("username")
        self.username.setEnabled(member is None)
        self.role = QComboBox()
        self.role.setObjectName("role")
        for code in auth.ROLES:
            self.role.addItem(auth.ROLE_LABELS[code], code)
        self.role.setCurrentIndex(self.role.findData(member.role if member else auth.CLINICIAN))
        self.discipline = QComboBox()
        self.discipline.setObjectName("discipline")
        self.discipline.addItem("— none —", None)
        for d in disciplines.all_disciplines():
            self.discipline.addItem(d.name, d.code)
        self.discipline.setCurrentIndex(max(0, self.discipline.findData(member.discipline if member else None)))
        self.case_manager = QCheckBox("May be a patient's case manager")
        self.case_manager.setObjectName("case_manager")
        self.case_manager.setChecked(bool(member and member.is_case_manager))
        self.password = password_field("password")
        self.repeat = password_field("repeat")
        form = QFormLayout()
        add_row(form, "&Full name", self.full_name)
        add_row(form, "&Username", self.username)
        add_row(form, "&Role", self.role)
        add_row(form, "&Discipline", self.discipline)
        self.case_manager.setAccessibleName(self.case_manager.text())
        form.addRow("", self.case_manager)
        if member is None:
            add_row(form, "First &password", self.password)
            add_row(form, "First password &again", self.repeat)
        help_text = QLabel(
            "Clinicians write their own discipline's records, and measures and flares of the patients they treat. "
            "Case managers write check-ins, action items and patient administration. Read-only users write nothing. "
            "Administrators manage accounts, restore backups and run de-identified exports."
            + (f"<br><br>{POLICY} They choose their own password at the first sign-in." if member is None else "")
        )
        self._lay_out(form, help_text, 480)

    def save(self) -> None:
        if self.member is None and self.password.text() != self.repeat.text():
            self._failed(TeamDashError("The two passwords differ."))
            return
        actor, member = self.context.actor, self.member
        values = {
            "full_name": self.full_name.text(),
            "role": self.role.currentData(),
            "discipline": self.discipline.currentData(),
            "is_case_manager": self.case_manager.isChecked(),
        }
        if member is None:
            username, password = self.username.text(), self.password.text()

            def write(_p, _c):
                return staff.create_user(actor, username=username, password=password, **values)
        else:

            def write(_p, _c):
                return staff.update_user(actor, member.id, member.version, **values)

        self.buttons.setEnabled(False)
        self.context.jobs.run(write, on_done=lambda _m: self.accept(), on_error=self._failed)


class ResetPasswordDialog(_AccountDialog):
    def __init__(self, context: AppContext, member: StaffMember, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("resetPasswordDialog")
        self.setWindowTitle(f"Reset the password of {member.full_name}")
        self.context, self.member = context, member
        self.password = password_field("password")
        self.repeat = password_field("repeat")
        form = QFormLayout()
        add_row(form, "&New password", self.password)
        add_row(form, "New password &again", self.repeat)
        note = QLabel(f"{POLICY} {member.full_name} chooses their own at the next sign-in; a lockout is lifted.")
        self._lay_out(form, note, 440)

    def save(self) -> None:
        if self.password.text() != self.repeat.text():
            self.message.setText("The two passwords differ.")
            self.message.show()
            return
        actor, member_id, password = self.context.actor, self.member.id, self.password.text()
        self.buttons.setEnabled(False)
        self.context.jobs.run(
            lambda _p, _c: accounts.reset_password(actor, member_id, password),
            on_done=lambda _r: self.accept(),
            on_error=self._failed,
        )


class SettingsTab(QWidget):
    """Auto-lock and backups, clinic-wide."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.lock_minutes = QSpinBox()
        self.lock_minutes.setObjectName("lock_minutes")
        self.lock_minutes.setRange(1, 120)
        self.lock_minutes.setSuffix(" min")
        self.folder = QLineEdit()
        self.folder.setObjectName("backup_folder")
        browse = named_button("Choose…")
        browse.setAccessibleName("Choose the backup folder")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.keep_daily = QSpinBox()
        self.keep_daily.setObjectName("backup_keep_daily")
        self.keep_daily.setRange(1, 365)
        self.keep_weekly = QSpinBox()
        self.keep_weekly.setObjectName("backup_keep_weekly")
        self.keep_weekly.setRange(0, 520)
        for spin in (self.lock_minutes, self.keep_daily, self.keep_weekly):
            spin.setMaximumWidth(160)
        form = QFormLayout()
        add_row(form, "&Lock after inactivity", self.lock_minutes)
        folder_label = QLabel("Backup &folder")
        folder_label.setBuddy(self.folder)
        self.folder.setAccessibleName("Backup folder")
        form.addRow(folder_label, folder_row)
        add_row(form, "&Daily backups kept", self.keep_daily)
        add_row(form, "&Weekly backups kept", self.keep_weekly)
        note = QLabel(
            "TeamDash takes one verified backup a day (when it starts and every hour while it runs) into the backup "
            "folder and keeps the newest of each of the last days and weeks. Restoring a backup: "
            "teamdash restore FILE --as ADMINISTRATOR."
        )
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        save = named_button("Save settings", "save_settings")
        save.clicked.connect(self.save)
        backup_now = named_button("Back up now", "backup_now")
        backup_now.clicked.connect(self.backup_now)
        buttons = QHBoxLayout()
        buttons.addWidget(backup_now)
        buttons.addStretch(1)
        buttons.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.load()

    def load(self) -> None:
        self.context.jobs.run(
            lambda _p, _c: clinic_settings.current(), on_done=self._show, on_error=lambda e: show_error(self, e)
        )

    def _show(self, current: clinic_settings.ClinicSettings) -> None:
        self.lock_minutes.setValue(current.lock_minutes)
        self.folder.setText(current.backup_folder or "")
        self.folder.setPlaceholderText(str(current.backup_path))
        self.keep_daily.setValue(current.backup_keep_daily)
        self.keep_weekly.setValue(current.backup_keep_weekly)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Backup folder", self.folder.text() or self.folder.placeholderText()
        )
        if folder:
            self.folder.setText(folder)

    def save(self) -> None:
        actor = self.context.actor
        values = {
            "lock_minutes": self.lock_minutes.value(),
            "backup_folder": self.folder.text().strip() or None,
            "backup_keep_daily": self.keep_daily.value(),
            "backup_keep_weekly": self.keep_weekly.value(),
        }

        def write(_p, _c) -> clinic_settings.ClinicSettings:
            current = clinic_settings.current()
            for key, value in values.items():
                if getattr(current, key) != value:
                    current = clinic_settings.change(actor, key, value)
            return current

        self.context.jobs.run(write, on_done=self._saved, on_error=lambda e: show_error(self, e))

    def _saved(self, current: clinic_settings.ClinicSettings) -> None:
        self._show(current)
        self.status.setText("Settings saved.")
        from ui.changes import Changes

        self.context.changes.emit(Changes(None, frozenset({"settings"})))

    def backup_now(self) -> None:
        actor = self.context.actor
        self.status.setText("Backing up…")

        def failed(exc: BaseException) -> None:
            self.status.setText("")
            show_error(self, exc)

        self.context.jobs.run(
            lambda _p, _c: maintenance.daily_backup(actor, force=True),
            on_done=lambda done: self.status.setText(
                f"Backup written and verified: {done.path}" if done else "Nothing to back up."
            ),
            on_error=failed,
        )


class StaffDialog(QDialog):
    """File → Staff… for administrators."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("staffDialog")
        self.setWindowTitle("Staff and security")
        self.context = context
        self.model = RowsModel(staff_columns(context), self)
        self.table = QTableView()
        self.table.setObjectName("staffTable")
        self.table.setAccessibleName("Staff accounts")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.edit())
        self.show_inactive = QCheckBox("Show deactivated accounts")
        self.show_inactive.setObjectName("show_inactive")
        self.show_inactive.setAccessibleName(self.show_inactive.text())
        self.show_inactive.toggled.connect(lambda _on: self.reload())
        self.add_button = self._button("Add…", "add_member", self.add)
        self.edit_button = self._button("Edit…", "edit_member", self.edit)
        self.reset_button = self._button("Reset password…", "reset_password", self.reset)
        self.unlock_button = self._button("Unlock", "unlock", self.unlock)
        self.active_button = self._button("Deactivate", "toggle_active", self.toggle_active)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.reset_button, self.unlock_button, self.active_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.show_inactive)
        staff_tab = QWidget()
        staff_layout = QVBoxLayout(staff_tab)
        staff_layout.addLayout(buttons)
        staff_layout.addWidget(self.table)
        self.settings = SettingsTab(context)
        self.tabs = QTabWidget()
        self.tabs.tabBar().setAccessibleName("Staff, or auto-lock and backups")
        self.tabs.addTab(staff_tab, "Staff")
        self.tabs.addTab(self.settings, "Auto-lock and backups")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        name_buttons(close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(close)
        self.resize(980, 560)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        self.reload()

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = named_button(text, name)
        button.clicked.connect(slot)
        return button

    def selected(self) -> StaffMember | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _enable(self) -> None:
        member = self.selected()
        for b in (self.edit_button, self.reset_button, self.active_button):
            b.setEnabled(member is not None)
        self.unlock_button.setEnabled(member is not None and member.locked(self.context.now()))
        self.active_button.setText("Reactivate" if member is not None and not member.active else "Deactivate")
        self.active_button.setAccessibleName(self.active_button.text())

    def reload(self, keep: int | None = None) -> None:
        actor, inactive = self.context.actor, self.show_inactive.isChecked()
        self.context.jobs.run(
            lambda _p, _c: staff.list_staff(actor, include_inactive=inactive),
            on_done=lambda rows: self._fill(rows, keep),
            on_error=lambda e: show_error(self, e),
        )

    def _fill(self, rows: list[StaffMember], keep: int | None) -> None:
        self.model.set_rows(rows)
        for i, m in enumerate(rows):
            if m.id == keep:
                self.table.selectRow(i)
        self._enable()

    def add(self) -> None:
        dialog = MemberDialog(self.context, None, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.reload()

    def edit(self) -> None:
        member = self.selected()
        if member is not None and MemberDialog(self.context, member, self).exec() == QDialog.DialogCode.Accepted:
            self.reload(member.id)

    def reset(self) -> None:
        member = self.selected()
        if member is not None and ResetPasswordDialog(self.context, member, self).exec() == QDialog.DialogCode.Accepted:
            self.reload(member.id)

    def _run(self, fn, member: StaffMember) -> None:
        self.context.jobs.run(fn, on_done=lambda _r: self.reload(member.id), on_error=lambda e: show_error(self, e))

    def unlock(self) -> None:
        member, actor = self.selected(), self.context.actor
        if member is not None:
            self._run(lambda _p, _c: accounts.unlock(actor, member.id), member)

    def toggle_active(self) -> None:
        member, actor = self.selected(), self.context.actor
        if member is not None:
            self._run(lambda _p, _c: staff.set_active(actor, member.id, not member.active), member)
