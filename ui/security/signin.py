"""Signing in: the sign-in form (in the start dialog and on the lock screen), changing
a password (forced after an administrator's reset), the first administrator, and the
passphrase of an encrypted database.

Password checks run on the database thread (argon2 takes a noticeable fraction of a
second by design); the form stays responsive and says what went wrong under the
fields: a wrong password, a lockout and for how long, a deactivated account.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from teamdash import demo
from teamdash.errors import TeamDashError, ValidationError
from teamdash.services import accounts, staff
from teamdash.services.accounts import SignIn
from teamdash.services.auth import Actor
from ui.errors import show_error
from ui.jobs import JobRunner
from ui.widgets import palette

ERROR_STYLE = f"color: {palette.WORSE};"
POLICY = f"At least {accounts.MIN_LENGTH} characters; not your username or your name. A short sentence works well."


def password_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


def add_row(form: QFormLayout, label: str, field: QWidget) -> None:
    """A form row whose field is named for screen readers after its label (and the
    label focuses the field: Alt and its underlined letter)."""
    caption = QLabel(label)
    caption.setBuddy(field)
    field.setAccessibleName(label.replace("&", ""))
    form.addRow(caption, field)


def named_button(text: str, name: str = "") -> QPushButton:
    """A push button with an accessible name that reads as its caption."""
    button = QPushButton(text)
    if name:
        button.setObjectName(name)
    button.setAccessibleName(text.replace("&", "").rstrip("…"))
    return button


def name_buttons(box: QDialogButtonBox) -> None:
    for button in box.buttons():
        button.setAccessibleName(button.text().replace("&", ""))


def message_label(name: str = "message") -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


class SignInForm(QWidget):
    """Username and password, checked on the database thread. ``fixed_username``
    shows whose session it is (the lock screen) instead of asking."""

    signed_in = Signal(object)  # SignIn

    def __init__(
        self, jobs: JobRunner, *, username: str = "", fixed_username: bool = False, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.jobs = jobs
        self.busy = False
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.username.setReadOnly(fixed_username)
        self.username.setPlaceholderText("your username")
        self.password = password_field("password")
        self.password.setPlaceholderText("password")
        self.message = message_label()
        self.button = named_button("Sign in", "primary")
        self.button.setDefault(True)
        self.button.clicked.connect(self.submit)
        self.password.returnPressed.connect(self.submit)
        self.username.returnPressed.connect(lambda: self.password.setFocus())
        form = QFormLayout()
        add_row(form, "&Username", self.username)
        add_row(form, "&Password", self.password)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)

    def focus(self) -> None:
        (self.password if self.username.text() else self.username).setFocus()

    def set_button_text(self, text: str) -> None:
        """ "Sign in" or "Unlock", read out as shown."""
        self.button.setText(text)
        self.button.setAccessibleName(text)

    def set_username(self, username: str, *, fixed: bool) -> None:
        self.username.setText(username)
        self.username.setReadOnly(fixed)
        self.password.clear()
        self.message.hide()

    def submit(self) -> None:
        if self.busy:
            return
        username, password = self.username.text(), self.password.text()
        self.busy = True
        self.button.setEnabled(False)
        self.message.hide()
        self.jobs.run(lambda _p, _c: accounts.sign_in(username, password), on_done=self._done, on_error=self._failed)

    def _done(self, result: SignIn) -> None:
        self.busy = False
        self.button.setEnabled(True)
        self.password.clear()
        self.signed_in.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.button.setEnabled(True)
        self.password.clear()
        self.password.setFocus()
        if isinstance(exc, TeamDashError):
            self.message.setText(str(exc))
            self.message.show()
        else:
            show_error(self, exc)


class SignInDialog(QDialog):
    """Who is at the workstation: shown at start and for "Switch user"."""

    def __init__(
        self, jobs: JobRunner, *, database: str = "", username: str = "", hint: str = "", parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in to TeamDash")
        self.jobs = jobs
        self.actor: Actor | None = None
        title = QLabel("Sign in to TeamDash")
        title.setObjectName("welcomeTitle")
        where = QLabel(f"<span style='color:#6b7580'>{database}</span>" if database else "")
        where.setWordWrap(True)
        self.hint = QLabel(hint)
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.hint.setVisible(bool(hint))
        self.form = SignInForm(jobs, username=username)
        self.form.signed_in.connect(self._signed_in)
        cancel = named_button("Quit", "quit")
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # grows with a message
        layout.setContentsMargins(28, 22, 28, 22)
        layout.addWidget(title)
        layout.addWidget(where)
        layout.addWidget(self.hint)
        layout.addSpacing(6)
        layout.addWidget(self.form)
        layout.addWidget(cancel, 0, Qt.AlignmentFlag.AlignLeft)
        self.setMinimumWidth(440)
        self.form.focus()

    def _signed_in(self, result: SignIn) -> None:
        if result.must_change_password:
            change = ChangePasswordDialog(self.jobs, result.actor, forced=True, parent=self)
            if change.exec() != QDialog.DialogCode.Accepted:
                self.form.message.setText("Choose a new password to sign in.")
                self.form.message.show()
                return
        self.actor = result.actor
        self.accept()


class ChangePasswordDialog(QDialog):
    """Change one's own password (File → Change my password…, or forced after a reset)."""

    def __init__(self, jobs: JobRunner, actor: Actor, *, forced: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("changePasswordDialog")
        self.setWindowTitle("Choose a new password" if forced else "Change my password")
        self.jobs, self.actor = jobs, actor
        intro = QLabel(
            f"{actor.display_name}: an administrator set your password. Choose your own to continue."
            if forced
            else f"Change the password of {actor.display_name} ({actor.username})."
        )
        intro.setWordWrap(True)
        self.current = password_field("current")
        self.new = password_field("new")
        self.repeat = password_field("repeat")
        policy = QLabel(POLICY)
        policy.setObjectName("muted")
        policy.setWordWrap(True)
        self.message = message_label()
        form = QFormLayout()
        add_row(form, "&Current password", self.current)
        add_row(form, "&New password", self.new)
        add_row(form, "New password &again", self.repeat)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        name_buttons(self.buttons)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(policy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def save(self) -> None:
        if self.new.text() != self.repeat.text():
            self._show("The two new passwords differ.")
            return
        actor, current, new = self.actor, self.current.text(), self.new.text()
        self.buttons.setEnabled(False)
        self.jobs.run(
            lambda _p, _c: accounts.change_password(actor, current, new),
            on_done=lambda _r: self.accept(),
            on_error=self._failed,
        )

    def _show(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, TeamDashError):
            self._show(str(exc))
        else:
            show_error(self, exc)


class FirstAdministratorDialog(QDialog):
    """First start: a new (or account-less) database gets its administrator, who adds
    everyone else in File → Staff…. A new file may be encrypted here. Or: the demo clinic,
    whose accounts sign in with the demo password."""

    def __init__(
        self,
        jobs: JobRunner | None,
        *,
        database: str,
        new_file: bool,
        encryption_available: bool,
        create: Callable[[str | None], object] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("firstAdministratorDialog")
        self.setWindowTitle("Set up TeamDash")
        self.jobs = jobs
        self.create_database = create  # opens (creates) the database, encrypted with the passphrase given
        self.new_file = new_file
        self.chose_demo = False
        self.actor: Actor | None = None
        title = QLabel("Set up this clinic's TeamDash")
        title.setObjectName("welcomeTitle")
        where = QLabel(
            f"{'A new clinic database will be created' if new_file else 'This clinic database has no accounts yet'}:"
            f"<br><span style='color:#6b7580'>{database}</span>"
        )
        where.setWordWrap(True)
        intro = QLabel(
            "Create the administrator: they add the team's accounts (File → Staff…), reset passwords and read the "
            "audit trail. Each member of staff then signs in with their own username and password."
        )
        intro.setWordWrap(True)
        self.full_name = QLineEdit()
        self.full_name.setObjectName("full_name")
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.password = password_field("password")
        self.repeat = password_field("repeat")
        form = QFormLayout()
        add_row(form, "&Full name", self.full_name)
        add_row(form, "&Username", self.username)
        add_row(form, "&Password", self.password)
        add_row(form, "Password &again", self.repeat)
        policy = QLabel(POLICY)
        policy.setObjectName("muted")
        policy.setWordWrap(True)
        self.encrypt = QCheckBox("Encrypt the database file with a passphrase (SQLCipher)")
        self.encrypt.setObjectName("encrypt")
        self.encrypt.setAccessibleName(self.encrypt.text())
        self.passphrase = password_field("passphrase")
        self.passphrase_repeat = password_field("passphrase_repeat")
        crypto = QFormLayout()
        add_row(crypto, "Pa&ssphrase", self.passphrase)
        add_row(crypto, "Passphrase a&gain", self.passphrase_repeat)
        self.crypto_box = QWidget()
        self.crypto_box.setLayout(crypto)
        self.crypto_box.setVisible(False)
        self.encrypt.toggled.connect(self.crypto_box.setVisible)
        crypto_note = QLabel(
            "Everyone who starts TeamDash on this file will need the passphrase, and a lost passphrase cannot be "
            "recovered: keep it somewhere safe. "
            + ("" if encryption_available else "(SQLCipher is not installed: pip install 'teamdash[encryption]')")
        )
        crypto_note.setObjectName("muted")
        crypto_note.setWordWrap(True)
        self.encrypt.setEnabled(encryption_available)
        self.message = message_label()
        self.create_button = named_button("Create the administrator", "primary")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.save)
        self.demo_button = named_button("Try the demo clinic instead", "demo")
        self.demo_button.setToolTip(
            f"A synthetic clinic; every demo account (e.g. ckestrel, an administrator) signs in with {demo.DEMO_PASSWORD!r}"
        )
        self.demo_button.clicked.connect(self.use_demo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(26, 20, 26, 20)
        for widget in (title, where, intro):
            layout.addWidget(widget)
        layout.addLayout(form)
        layout.addWidget(policy)
        if new_file:
            layout.addWidget(self.encrypt)
            layout.addWidget(self.crypto_box)
            layout.addWidget(crypto_note)
        layout.addWidget(self.message)
        layout.addWidget(self.create_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        # A fixed width lets the wrapped paragraphs take the height they need.
        self.setFixedWidth(560)

    def _show(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _open(self) -> bool:
        """Create the database file (encrypted if chosen)."""
        if self.create_database is None:
            return True
        passphrase = None
        if self.new_file and self.encrypt.isChecked():
            if self.passphrase.text() != self.passphrase_repeat.text():
                self._show("The two passphrases differ.")
                return False
            passphrase = self.passphrase.text()
        try:
            self.create_database(passphrase)
        except TeamDashError as exc:
            self._show(str(exc))
            return False
        self.new_file = False
        self.encrypt.setEnabled(False)
        return True

    def save(self) -> None:
        if self.password.text() != self.repeat.text():
            self._show("The two passwords differ.")
            return
        if not self._open():
            return
        try:
            member = staff.create_first_administrator(
                username=self.username.text(), full_name=self.full_name.text(), password=self.password.text()
            )
            self.actor = accounts.sign_in(member.username, self.password.text()).actor
        except ValidationError as exc:
            self._show(str(exc))
            return
        except TeamDashError as exc:
            self._show(str(exc))
            return
        self.accept()

    def use_demo(self) -> None:
        if not self._open():
            return
        self.chose_demo = True
        self.accept()


class PassphraseDialog(QDialog):
    """The passphrase of an encrypted database, asked for before anything is read."""

    def __init__(self, database: str, try_open: Callable[[str], object], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("passphraseDialog")
        self.setWindowTitle("Encrypted clinic database")
        self.try_open = try_open
        text = QLabel(f"This clinic database is encrypted:<br><span style='color:#6b7580'>{database}</span>")
        text.setWordWrap(True)
        self.passphrase = password_field("passphrase")
        self.passphrase.returnPressed.connect(self.submit)
        self.message = message_label()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        name_buttons(buttons)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        add_row(form, "&Passphrase", self.passphrase)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def submit(self) -> None:
        try:
            self.try_open(self.passphrase.text())
        except TeamDashError as exc:
            self.passphrase.clear()
            self.message.setText(str(exc))
            self.message.show()
            return
        self.accept()
