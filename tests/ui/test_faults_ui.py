"""The dashboard meets the same faults as the command line and answers in words: a
damaged file is found in the background and the newest backup offered; a read-only file
is named in the status bar and a write says why it was refused; a search that cannot be
a name says so under the box."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication

from teamdash.services import patients
from teamdash.storage import db
from tests.damage import corrupt, settled_copy
from tests.ui.helpers import settle
from ui import app as ui_app
from ui import recovery


@pytest.fixture
def settled(_demo_template, tmp_path) -> Path:
    return settled_copy(_demo_template, tmp_path / "clinic.sqlite3")


@pytest.fixture
def session_for(qtbot, tmp_path):
    """Open the dashboard on a database the way ``teamdash gui`` does."""
    opened = []
    application = QApplication.instance()
    font, sheet = application.font(), application.styleSheet()

    def open_(path: Path, *, wait: bool = True) -> ui_app.Session:
        session = ui_app.open_session(
            f"sqlite:///{path}", None, QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat)
        )
        qtbot.addWidget(session.window)
        session.window.resize(1300, 850)
        session.window.show()
        session.window.start()
        opened.append(session)
        if wait:
            assert ui_app.settle(session, timeout=30)
        return session

    yield open_
    for session in opened:  # answers still queued arrive now, while error boxes are still recorded
        session.window.poll.stop()
        session.context.jobs.shutdown()
        for _ in range(5):
            QCoreApplication.processEvents()
        session.window.close()
    application.setFont(font)
    application.setStyleSheet(sheet)


def test_damage_is_found_in_the_background_and_the_newest_backup_offered(
    qtbot, settled, tmp_path, monkeypatch, session_for
):
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    good = backup_dir / "clinic-2026-11-26.sqlite3"
    shutil.copy(settled, good)
    monkeypatch.setattr("teamdash.paths.backup_dir", lambda: backup_dir)
    corrupt(settled, "measurement")
    asked = []
    monkeypatch.setattr(recovery, "ask", lambda parent, path, problems, newest: asked.append((path, problems, newest)) or recovery.CONTINUE)  # fmt: skip
    session = session_for(settled, wait=False)  # the damaged table may fail the first load too
    ui_app._check_health_in_background(session, f"sqlite:///{settled}")
    qtbot.waitUntil(lambda: bool(asked), timeout=15000)
    path, problems, newest = asked[0]
    assert path == settled and problems and newest is not None and newest.path == good


def test_the_damage_dialog_says_what_was_found_and_what_restoring_does(settled, tmp_path):
    headline, details = recovery.damage_text(settled, ["page 7: btreeInitPage() returns error code 11"] * 7, None)
    assert headline == "The database file is damaged."
    assert "btreeInitPage" in details and "… and 2 more" in details and "No backup" in details
    shutil.copy(settled, tmp_path / "b.sqlite3")
    from teamdash.storage import backups

    newest = backups.latest(settled, folders=[tmp_path])
    _, details = recovery.damage_text(settled, ["x"], newest)
    assert "b.sqlite3" in details and "kept beside it" in details and "nothing is deleted" in details


def test_a_read_only_file_is_named_in_the_status_bar_and_writes_say_why(
    qtbot, settled, monkeypatch, session_for, error_boxes
):
    monkeypatch.setattr(db, "_read_only_reason", lambda path: "the file is read-only")
    session = session_for(settled)
    assert "(read-only: the file is read-only)" in session.window.database_label.text()
    actor = session.context.actor
    detail = patients.find_by_clinic_id(actor, "TD-00001")
    failures = []
    session.context.jobs.run(
        lambda _p, _c: patients.update_patient(actor, detail.id, detail.version, given_name="X"),
        on_error=failures.append,
    )
    settle(qtbot, session.context)
    from ui.errors import show_error

    show_error(session.window, failures[0])
    assert error_boxes and "read-only" in error_boxes[-1] and "nothing was changed" in error_boxes[-1]
    with sqlite3.connect(f"file:{settled}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT given_name FROM patient WHERE clinic_id='TD-00001'").fetchone()[0] != "X"


def test_a_search_that_cannot_be_a_name_is_explained_under_the_box(qtbot, context):
    from ui.patient_list import PatientListPanel

    panel = PatientListPanel(context)
    qtbot.addWidget(panel)
    panel.show()
    before = panel.model.query
    panel.search.setText(" ".join(["word"] * 9))
    panel._apply_search()
    assert panel.count_label.text() == "Search has 9 words; use at most 8 (every word must match)"
    assert panel.search.property("invalid") is True and panel.model.query == before
    panel.search.setText("word")
    panel._apply_search()
    assert panel.search.property("invalid") is False and panel.model.query.search == "word"
    assert panel.search.maxLength() == patients.MAX_SEARCH_CHARS
