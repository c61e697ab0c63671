"""Every screen on a 1366×768 laptop and on a 1920×1080 projector at 150 %: no button
cut off, no hint or label truncated, no panel needing a sideways scroll bar, no list
column showing half its title. And every interactive widget of the main window, each
tab of the patient view, the meeting screen and its dialogs has an accessible name."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from teamdash.services import agenda, meetings
from tests.demo_facts import DEMO_TODAY
from tests.ui import layout_checks as lc
from tests.ui.helpers import settle
from ui.app import install_extensions
from ui.main_window import MainWindow
from ui.meeting import MeetingActions
from ui.meeting.minutes import MinutesDialog, PastMeetingsDialog
from ui.meeting.my_actions import MyActionItemsDialog
from ui.meeting.start import StartMeetingDialog
from ui.patient_list import COLUMN_KEYS

SCREENS = [pytest.param((1366, 768), 1.0, id="laptop-1366x768"), pytest.param((1920, 1080), 1.5, id="projector-150")]


def open_window(qtbot, context, size, scale) -> MainWindow:
    window = MainWindow(context, database="test database")
    qtbot.addWidget(window)
    window.resize(*size)
    window.set_scale(scale)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=15000):
        window.start()
    install_extensions(window)
    settle(qtbot, context)
    return window


def problems(widget) -> list[str]:
    for _ in range(3):  # layouts settle over a few passes, as a person would see them
        QApplication.processEvents()
    return lc.cut_buttons(widget) + lc.cut_labels(widget) + lc.sideways_scrolling(widget)


@pytest.fixture(autouse=True)
def restore_scale():
    """The scale is the application's (font and stylesheet): put them back as they were."""
    app = QApplication.instance()
    font, sheet = app.font(), app.styleSheet()
    yield
    app.setFont(font)
    app.setStyleSheet(sheet)


@pytest.mark.parametrize(("size", "scale"), SCREENS)
def test_every_tab_of_the_patient_fits(qtbot, ui_context, size, scale):
    window = open_window(qtbot, ui_context, size, scale)
    assert lc.half_shown_columns(window.list_panel.table) == []
    if scale == 1.0:  # on the laptop the list shows pain in full ("Pain", not "Pa")
        header = window.list_panel.table.horizontalHeader()
        pain = COLUMN_KEYS.index("pain")
        viewport = window.list_panel.table.viewport().width()
        assert header.sectionViewportPosition(pain) + header.sectionSize(pain) <= viewport
    for tab in window.patient_view.tab_codes:
        window.patient_view.show_tab(tab)
        settle(qtbot, ui_context)
        assert problems(window) == [], tab
    window.poll.stop()


@pytest.mark.parametrize(("size", "scale"), SCREENS)
def test_the_meeting_screen_fits(qtbot, ui_context, size, scale):
    window = open_window(qtbot, ui_context, size, scale)
    actor = ui_context.actor
    entries = agenda.due_for_review(actor, today=DEMO_TODAY)
    meeting = meetings.start_meeting(actor, attendees=[actor.user_id], patient_ids=[e.patient_id for e in entries])
    screen = window.findChild(MeetingActions).open_meeting(meeting)
    screen.showNormal()
    screen.resize(*size)
    for index in (0, 1):
        screen.show_index(index)
        qtbot.waitUntil(lambda i=index: screen.shown_patient == meeting.items[i].patient, timeout=15000)
        settle(qtbot, ui_context)
        assert problems(screen) == []
    window.poll.stop()


def test_the_main_window_and_every_tab_name_their_controls(qtbot, ui_context):
    window = open_window(qtbot, ui_context, (1366, 768), 1.0)
    assert lc.unnamed(window) == []
    for tab in window.patient_view.tab_codes:
        window.patient_view.show_tab(tab)
        settle(qtbot, ui_context)
        assert lc.unnamed(window) == [], tab
    window.poll.stop()


def test_the_meeting_and_its_dialogs_name_their_controls(qtbot, ui_context):
    window = open_window(qtbot, ui_context, (1366, 768), 1.0)
    acts = window.findChild(MeetingActions)
    acts.start()
    start = acts.last_dialog
    assert isinstance(start, StartMeetingDialog)
    qtbot.waitUntil(lambda: start.loaded, timeout=15000)
    assert lc.unnamed(start) == []
    start.reject()
    actor = ui_context.actor
    entries = agenda.due_for_review(actor, today=DEMO_TODAY)
    meeting = meetings.start_meeting(actor, attendees=[actor.user_id], patient_ids=[e.patient_id for e in entries[:3]])
    screen = acts.open_meeting(meeting)
    qtbot.waitUntil(lambda: screen.shown_patient is not None, timeout=15000)
    settle(qtbot, ui_context)
    assert lc.unnamed(screen) == []
    minutes = meetings.end_meeting(actor, meeting.id, meeting.version)
    for dialog in (MinutesDialog(ui_context, minutes, window), PastMeetingsDialog(ui_context, window)):
        dialog.show()
        settle(qtbot, ui_context)
        assert lc.unnamed(dialog) == []
        dialog.close()
    mine = MyActionItemsDialog(ui_context, window.open_patient, window)
    mine.show()
    settle(qtbot, ui_context)
    assert lc.unnamed(mine) == []
    mine.close()
    window.poll.stop()


def test_the_sign_in_and_security_screens_name_their_controls(qtbot, ui_context):
    """Sign-in, password, first start, passphrase, staff, settings and audit screens
    (the lock page is part of the main window, checked above)."""
    from ui.security.audit_screen import AuditDialog
    from ui.security.signin import ChangePasswordDialog, FirstAdministratorDialog, PassphraseDialog, SignInDialog
    from ui.security.staff_screen import MemberDialog, StaffDialog

    dialogs = [
        SignInDialog(ui_context.jobs, database="test database"),
        ChangePasswordDialog(ui_context.jobs, ui_context.actor),
        FirstAdministratorDialog(None, database="test database", new_file=True, encryption_available=True),
        PassphraseDialog("test database", lambda _passphrase: None),
        StaffDialog(ui_context),
        MemberDialog(ui_context),
        AuditDialog(ui_context),
    ]
    for dialog in dialogs:
        qtbot.addWidget(dialog)
        dialog.show()
        settle(qtbot, ui_context)
        assert lc.unnamed(dialog) == [], type(dialog).__name__
        dialog.close()


def test_the_checks_find_what_they_look_for(qtbot):
    """A cut button, a truncated label and a nameless field are reported."""
    from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

    root = QWidget()
    qtbot.addWidget(root)
    layout = QVBoxLayout(root)
    button = QPushButton("A button with a long caption")
    label = QLabel("A hint that is far too long to fit")
    field = QLineEdit()
    for w in (button, label, field):
        layout.addWidget(w)
    root.show()
    button.setFixedWidth(40)
    label.setFixedWidth(40)
    qtbot.waitExposed(root)
    assert lc.cut_buttons(root) and lc.cut_labels(root)
    assert any("QLineEdit" in u for u in lc.unnamed(root))
    field.setAccessibleName("Field")
    button.setAccessibleName("Button")
    assert lc.unnamed(root) == []
