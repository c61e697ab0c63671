"""Starting the dashboard: ``teamdash gui`` / ``python main.py``.

``run`` opens the database, builds the main window and runs the event loop, or with
``screenshot`` renders the window offscreen to a PNG and exits. Heavy modules
(openpyxl, report renderers) are imported where they are used, never here.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from teamdash import logs
from teamdash.errors import TeamDashError
from teamdash.services import clinic, patients
from ui import user_switch
from ui.changes import ChangeBus
from ui.context import AppContext
from ui.errors import install_excepthook
from ui.jobs import JobRunner

log = logging.getLogger(__name__)

APP_NAME = "TeamDash"
SCREENSHOT_TIMEOUT_S = 60.0
SCREENSHOT_SIZE = (1600, 1000)


@dataclass
class Session:
    app: QApplication
    context: AppContext
    window: "MainWindow"  # noqa: F821 - imported lazily below


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    return app


def open_session(db_url: str | None, user: str | None, qsettings: QSettings | None = None) -> Session:
    """Database, acting user, context and main window (not yet shown). Raises
    ``TeamDashError`` when the database cannot be opened or the user is unknown."""
    app = application()
    info = clinic.open_clinic(db_url, create=True)  # first start creates it and says where
    qsettings = qsettings or QSettings()
    actor = user_switch.remembered_actor(qsettings, user)
    context = AppContext(actor=actor, jobs=JobRunner(app), changes=ChangeBus(app), settings=qsettings)
    from ui.main_window import MainWindow  # after QApplication: pyqtgraph reads the screen on import

    window = MainWindow(context, database=info.display)
    window.set_scale(window.scale)  # the remembered scale: fonts, stylesheet, list, timelines
    # The data-entry and exchange actions are added through the window's contract (menus,
    # current_patient_id, patient_changed, context), one event-loop turn after start so
    # their imports do not delay the first painted window.
    QTimer.singleShot(0, lambda: install_extensions(window))
    return Session(app, context, window)


def install_extensions(window) -> None:
    """Patient → Record measurement… (Ctrl+M), Add …, Undo; File → Import…, Export…;
    Meeting → Start…, Past meetings…, My action items…."""
    from ui import dialogs, exchange, meeting

    dialogs.install_actions(window)
    exchange.install_actions(window)
    user_switch.install_actions(window)
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
        session = open_session(db_url, user, qsettings)
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
        session.context.jobs.wait()
        window.close()
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
    application()
    install_excepthook()
    try:
        if screenshot:
            return _screenshot(db_url, user, Path(screenshot), patient, size, tab)
        session = open_session(db_url, user)
    except TeamDashError as exc:
        if screenshot:
            print(f"teamdash: {exc}", file=sys.stderr)
        else:
            QMessageBox.critical(None, APP_NAME, str(exc))
        return 2
    session.window.show()
    session.window.start(_patient_id(session, patient))
    code = session.app.exec()
    session.context.jobs.wait()
    clinic.close_clinic()
    return code


def _patient_id(session: Session, clinic_id: str | None) -> int | None:
    if not clinic_id:
        return None
    try:
        return patients.find_by_clinic_id(session.context.actor, clinic_id).id
    except TeamDashError as exc:
        QMessageBox.warning(session.window, APP_NAME, str(exc))
        return None
