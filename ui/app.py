"""Starting the dashboard: ``teamdash gui`` / ``python main.py``.

``run`` opens the database (asking for the passphrase of an encrypted file; on first
start creating the file, optionally encrypted, and its first administrator), asks who
is signing in, builds the main window and runs the event loop; or with ``screenshot``
renders the window offscreen to a PNG and exits (``--user`` names whose view it shows,
without a password: only offscreen). Heavy modules (openpyxl, report renderers) are
imported where they are used, never here.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from teamdash import logs
from teamdash.clinical import instruments
from teamdash.errors import DatabaseCorrupt, TeamDashError, WrongPassphrase
from teamdash.services import accounts, auth, clinic, patients
from teamdash.services.auth import SYSTEM, Actor
from ui import recovery, user_switch
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.errors import install_excepthook
from ui.jobs import JobRunner

if TYPE_CHECKING:
    from ui.main_window import MainWindow  # imported at run time after QApplication (see open_session)
    from ui.security.signin import FirstAdministratorDialog

log = logging.getLogger(__name__)

APP_NAME = "TeamDash"
SCREENSHOT_TIMEOUT_S = 60.0
SCREENSHOT_SIZE = (1600, 1000)
# The event loop ends with this code when the user chose to restore a backup.
EXIT_TO_RESTORE = 75


@dataclass
class Session:
    app: QApplication
    context: AppContext
    window: MainWindow


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not isinstance(app, QApplication):  # a QCoreApplication cannot show a window
        raise TypeError("the dashboard needs a QApplication, not a QCoreApplication")
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    return app


def open_session(
    db_url: str | None,
    actor: Actor | None,
    qsettings: QSettings | None = None,
    *,
    jobs: JobRunner | None = None,
    automatic: bool = True,
) -> Session:
    """Database, signed-in actor, context and main window (not yet shown). The
    database is opened unless it already is (the interactive start opens it first);
    ``actor`` None acts as the system (tests, screenshots). ``automatic`` off: no
    auto-lock and no automatic backup (a screenshot changes nothing). Raises
    ``TeamDashError`` when the database cannot be opened."""
    app = application()
    info = clinic.opened() or clinic.open_clinic(db_url, create=True)
    qsettings = qsettings or QSettings()
    context = AppContext(actor=actor or SYSTEM, jobs=jobs or JobRunner(app), changes=ChangeBus(app), settings=qsettings)
    from ui.main_window import MainWindow  # after QApplication: pyqtgraph reads the screen on import

    shown = info.display + (f" (read-only: {info.read_only_reason})" if info.read_only else "")
    window = MainWindow(context, database=shown)
    window.set_scale(window.scale)  # the remembered scale: fonts, stylesheet, list, timelines
    # The data-entry and exchange actions are added through the window's contract (menus,
    # current_patient_id, patient_changed, context), one event-loop turn after start so
    # their imports do not delay the first painted window.
    QTimer.singleShot(0, lambda: install_extensions(window, automatic=automatic))
    return Session(app, context, window)


def install_extensions(window: MainWindow, *, automatic: bool = True) -> None:
    """Patient → New patient… (Ctrl+N), Edit details…, Status; Record measurement…
    (Ctrl+M), Add …, Undo; File → Import…, Export…; lock, switch user, password, staff
    and audit (``user_switch``); Meeting → Start…, Past meetings…, My action items…."""
    from ui import dialogs, exchange, meeting

    dialogs.install_admin_actions(window)
    dialogs.install_actions(window)
    exchange.install_actions(window)
    user_switch.install_actions(window, automatic=automatic)
    meeting.install_actions(window)


def parse_size(size: str | None) -> tuple[int, int]:
    if not size:
        return SCREENSHOT_SIZE
    try:
        width, height = (int(part) for part in size.lower().split("x"))
    except ValueError:
        raise TeamDashError(f"--size must look like 1600x1000, not {size!r}") from None
    if not (320 <= width <= 8000 and 240 <= height <= 8000):
        raise TeamDashError(f"--size {size} is outside 320x240–8000x8000")
    return width, height


def settle(session: Session, timeout: float = SCREENSHOT_TIMEOUT_S) -> bool:
    """Run the event loop until every database job has answered and the window is
    ready; True unless the timeout passed first."""
    ready = []
    session.window.ready.connect(lambda: ready.append(True))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.app.processEvents()
        if ready and session.context.jobs.idle():
            for _ in range(3):  # layouts settle over a few passes (plots re-arrange on resize)
                session.app.processEvents()
            return True
        session.context.jobs.wait(20)
    return False


def _screenshot(
    db_url: str | None, user: str | None, path: Path, clinic_id: str | None, size: str | None, tab: str | None
) -> int:
    width, height = parse_size(size)
    with tempfile.TemporaryDirectory(prefix="teamdash-shot-") as scratch:
        # A screenshot neither reads nor changes the user's remembered window state.
        qsettings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        clinic.open_clinic(db_url, create=True)
        actor = auth.actor_for(user) if user else None  # offscreen only: whose view the picture shows
        session = open_session(db_url, actor, qsettings, automatic=False)
        patient_id = patients.find_by_clinic_id(session.context.actor, clinic_id).id if clinic_id else None
        window = session.window
        if tab and tab not in window.patient_view.tab_codes:
            raise TeamDashError(f"--tab must be one of {'|'.join(window.patient_view.tab_codes)}, not {tab!r}")
        window.resize(width, height)
        window.show()
        window.start(patient_id)
        if not settle(session):
            print("teamdash: the window did not finish loading in time", file=sys.stderr)
            return 1
        if tab:
            window.patient_view.show_tab(tab)
            settle_tab(session)
        saved = window.grab_png(path)
        window.poll.stop()
        window.close()
        session.context.jobs.shutdown()
    if not saved:
        print(f"teamdash: could not write {path}", file=sys.stderr)
        return 1
    print(f"screenshot written to {path}")
    return 0


def settle_tab(session: Session) -> None:
    for _ in range(200):
        session.app.processEvents()
        if session.context.jobs.idle():
            break
        session.context.jobs.wait(20)
    for _ in range(3):
        session.app.processEvents()


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why the dashboard cannot open a window here, or None. Checked before Qt starts:
    without a display Qt aborts the process with its own message."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    hint = "; to render a screenshot without a display use: teamdash gui --screenshot FILE.png"
    wayland, x11 = env.get("WAYLAND_DISPLAY"), env.get("DISPLAY")
    if wayland:
        socket = Path(wayland if wayland.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "/run/user")) / wayland)
        if socket.exists():
            return None
        if not x11:
            return f"no display: the Wayland display {wayland} is not running" + hint
    if not x11:
        return "no display: TeamDash needs a graphical desktop session (DISPLAY and WAYLAND_DISPLAY are not set)" + hint
    host, _, number = x11.partition(":")
    local = host in ("", "unix")
    screen = number.split(".")[0]
    if local and screen.isdigit() and not Path(f"/tmp/.X11-unix/X{screen}").exists():
        return f"no display: the X display {x11} is not running" + hint
    return None


def run(
    db_url: str | None = None,
    screenshot: Path | str | None = None,
    patient: str | None = None,
    size: str | None = None,
    tab: str | None = None,
    user: str | None = None,
) -> int:
    """The ``gui`` command. Returns the process exit code."""
    logs.configure()
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # rendering needs no display
    problem = display_problem()
    if problem:
        print(f"teamdash: error: {problem}", file=sys.stderr)
        return 2
    application()
    install_excepthook()
    if screenshot:
        try:
            return _screenshot(db_url, user, Path(screenshot), patient, size, tab)
        except TeamDashError as exc:
            print(f"teamdash: {exc}", file=sys.stderr)
            return 2
    while True:
        try:
            started = _sign_in(db_url, user)
            if started is None:
                return 0  # the person at the workstation chose Quit
            actor, jobs = started
            session = open_session(db_url, actor, jobs=jobs)
        except DatabaseCorrupt as exc:  # too damaged to open
            if _offer_backup(None, db_url, [str(exc)]):
                continue
            return 2
        except TeamDashError as exc:
            QMessageBox.critical(None, APP_NAME, str(exc))
            return 2
        session.window.show()
        session.window.start(_patient_id(session, patient))
        QTimer.singleShot(0, lambda window=session.window: show_refusals(window))
        _check_health_in_background(session, db_url)
        code = session.app.exec()
        session.context.jobs.shutdown()  # queued writes finish; the thread closes its connection
        clinic.close_clinic()
        if code != EXIT_TO_RESTORE or not _restore_newest(session.window, session.context.actor, db_url):
            return code
        session.window.deleteLater()


def _check_health_in_background(session: Session, db_url: str | None) -> None:
    """A quick check of the file on the database thread; damage is reported in words with
    the newest backup offered. Leaving to restore closes the window first."""
    window = session.window

    def checked(problems: list[str]) -> None:
        if not problems:
            return
        newest = clinic.newest_backup(db_url)
        choice = recovery.ask(window, clinic.database_file(db_url), problems, newest)
        if choice == recovery.RESTORE:
            session.app.exit(EXIT_TO_RESTORE)
        elif choice == recovery.QUIT:
            session.app.exit(2)

    session.context.jobs.run(lambda _p, _c: clinic.health_problems(), on_done=checked)


def _offer_backup(parent: QWidget | None, db_url: str | None, problems: list[str]) -> bool:
    """Before any window: the file would not open. True when a backup was restored."""
    newest = clinic.newest_backup(db_url)
    if recovery.ask(parent, clinic.database_file(db_url), problems, newest) != recovery.RESTORE:
        return False
    return _restore_newest(parent, SYSTEM, db_url)


def _restore_newest(parent: QWidget | None, actor: Actor, db_url: str | None) -> bool:
    newest = clinic.newest_backup(db_url)
    if newest is None:
        return False
    try:
        kept = clinic.restore_backup(actor, newest.path, db_url)
    except TeamDashError as exc:
        QMessageBox.critical(parent, APP_NAME, f"The backup could not be restored: {exc}")
        return False
    QMessageBox.information(parent, APP_NAME, f"Restored {newest.label}.\n\nThe damaged file was kept as:\n{kept}")
    return True


def refusal_text() -> str | None:
    """What the clinic should know about refused instrument definitions, or None."""
    refused = instruments.refusals()
    if not refused:
        return None
    lines = [
        f"{len(refused)} instrument definition{'s' if len(refused) != 1 else ''} in the clinic folder "
        f"{'was' if len(refused) == 1 else 'were'} not loaded; every other measure is available.",
        "",
    ]
    for r in refused:
        lines.append(f"• {r.file.name}: " + (f"key '{r.key}' " if r.key else "") + r.reason)
    lines += ["", f"Folder: {instruments.clinic_folder()}", "Check a file with: teamdash instruments check FILE.toml"]
    return "\n".join(lines)


def show_refusals(window: QWidget) -> QMessageBox | None:
    """Refused clinic definitions, told once at start (not a traceback, not a modal loop):
    the file, the key and the reason of each."""
    text = refusal_text()
    if text is None:
        return None
    box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, text, QMessageBox.StandardButton.Ok, window)
    box.setObjectName("instrument_refusals")
    box.setWindowTitle("Instrument definitions not loaded")
    box.open()
    return box


def _open_database(db_url: str | None) -> bool:
    """Open the database, asking for an encrypted file's passphrase; on first start
    create the file (optionally encrypted) with its first administrator. False when
    the person chose to quit."""
    from ui.security.signin import FirstAdministratorDialog, PassphraseDialog

    target = clinic.describe(db_url)
    if clinic.needs_creating(db_url):
        dialog = FirstAdministratorDialog(
            None,
            database=target.display,
            new_file=True,
            encryption_available=clinic.encryption_available(),
            create=lambda passphrase: clinic.open_clinic(
                db_url, create=True, passphrase=passphrase, encrypt=passphrase is not None
            ),
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        return _after_first_start(dialog)
    try:
        clinic.open_clinic(db_url)
    except WrongPassphrase:
        unlock = PassphraseDialog(target.display, lambda passphrase: clinic.open_clinic(db_url, passphrase=passphrase))
        if unlock.exec() != QDialog.DialogCode.Accepted:
            return False
    if not accounts.has_accounts():
        first = FirstAdministratorDialog(None, database=target.display, new_file=False, encryption_available=False)
        if first.exec() != QDialog.DialogCode.Accepted:
            return False
        return _after_first_start(first)
    return True


def _after_first_start(dialog: FirstAdministratorDialog) -> bool:
    """The demo clinic, when chosen at first start, is built before signing in."""
    if dialog.chose_demo:
        from PySide6.QtWidgets import QProgressDialog

        from teamdash import demo

        progress = QProgressDialog("Building the demo clinic…", "", 0, 0)
        progress.setCancelButton(None)
        progress.show()
        QApplication.processEvents()
        demo.generate(SYSTEM, patients=60)
        progress.close()
    return True


def _sign_in(db_url: str | None, user: str | None) -> tuple[Actor, JobRunner] | None:
    """Who is at the workstation: the sign-in dialog (the last username on this
    workstation, or ``--user``, filled in). None when they quit."""
    from ui.security.signin import SignInDialog

    if not _open_database(db_url):
        return None
    jobs = JobRunner(QApplication.instance())
    settings = QSettings()
    username = user or user_switch.remembered_username(settings)
    info = clinic.opened()
    hint = ""
    if not username and accounts.is_demo_clinic():
        from teamdash import demo

        username = "ckestrel"
        hint = f"Demo clinic: every demo account signs in with the password {demo.DEMO_PASSWORD!r}."
    dialog = SignInDialog(jobs, database=info.display if info else "", username=username, hint=hint)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.actor is None:
        jobs.wait()
        return None
    return dialog.actor, jobs


def _patient_id(session: Session, clinic_id: str | None) -> int | None:
    if not clinic_id:
        return None
    try:
        return patients.find_by_clinic_id(session.context.actor, clinic_id).id
    except TeamDashError as exc:
        QMessageBox.warning(session.window, APP_NAME, str(exc))
        return None
