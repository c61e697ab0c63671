"""The team meeting driven as a team drives it, from the keyboard only: Meeting → Start
(Ctrl+Shift+T), attendees ticked with Space, the agenda in its clinical order and
reordered with Alt+Up, a decision and an action item typed, "Reviewed" with
Ctrl+Enter, Next/Previous with Alt+Right/Alt+Left (the next patient already loaded),
End meeting, the minutes saved and exported. Privacy is on in the meeting and no
visible text names a patient."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from teamdash.services import agenda, audit, checkins, meetings, patients, staff, worklist
from teamdash.services.action_items import ACTION_ITEMS
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.patients import PatientQuery
from tests.demo_facts import DEMO_TODAY, MEETING_CHAIR
from tests.ui.helpers import settle, shot
from tests.ui.privacy_walk import patient_identifiers, texts_naming_patients
from ui.app import install_extensions
from ui.changes import Changes
from ui.main_window import MainWindow
from ui.meeting import MeetingActions
from ui.meeting.entry import NewAction
from ui.meeting.minutes import MinutesDialog
from ui.meeting.my_actions import MyActionItemsDialog
from ui.meeting.screen import MeetingWindow
from ui.meeting.start import StartMeetingDialog

CTRL, SHIFT, ALT = (
    Qt.KeyboardModifier.ControlModifier,
    Qt.KeyboardModifier.ShiftModifier,
    Qt.KeyboardModifier.AltModifier,
)


def key(widget, k, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, k, modifiers)


def focused():
    return QApplication.focusWidget()


@pytest.fixture
def actor(clinic) -> Actor:
    """The case manager who chairs: saving check-ins, decisions and action items is a
    case manager's (a clinician may not)."""
    return actor_for(MEETING_CHAIR)


@pytest.fixture
def window(qtbot, ui_context):
    window = MainWindow(ui_context, database="test database")
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=15000):
        window.start()
    install_extensions(window)
    settle(qtbot, ui_context)
    window.activateWindow()
    yield window
    window.poll.stop()
    ui_context.jobs.wait()


def meeting_actions(window) -> MeetingActions:
    return window.findChild(MeetingActions)


def start_dialog(qtbot, window) -> StartMeetingDialog:
    key(window, Qt.Key.Key_T, CTRL | SHIFT)
    qtbot.waitUntil(lambda: isinstance(meeting_actions(window).last_dialog, StartMeetingDialog), timeout=5000)
    dialog = meeting_actions(window).last_dialog
    qtbot.waitUntil(lambda: dialog.loaded, timeout=15000)
    return dialog


def open_meeting_by_keyboard(qtbot, window, ui_context) -> tuple[StartMeetingDialog, MeetingWindow]:
    dialog = start_dialog(qtbot, window)
    assert focused() is dialog.attendees
    key(dialog.attendees, Qt.Key.Key_Down)
    key(dialog.attendees, Qt.Key.Key_Space)  # a second attendee
    key(dialog.attendees, Qt.Key.Key_Tab)
    assert focused() is dialog.agenda
    key(dialog.agenda, Qt.Key.Key_Return)  # Enter on the agenda starts the meeting (the default button)
    qtbot.waitUntil(lambda: meeting_actions(window).meeting_window is not None, timeout=15000)
    screen = meeting_actions(window).meeting_window
    qtbot.waitUntil(lambda: screen.shown_patient is not None, timeout=15000)
    settle(qtbot, ui_context)
    return dialog, screen


def test_the_whole_meeting_from_the_keyboard(qtbot, window, ui_context, tmp_path, monkeypatch):
    actor = ui_context.actor
    proposed = agenda.due_for_review(actor, today=DEMO_TODAY)

    dialog = start_dialog(qtbot, window)
    # The agenda comes in clinical order: safety, reliable deterioration, overdue, the rest.
    assert dialog.patient_ids() == [e.patient_id for e in proposed]
    ranks = [agenda.group_rank(e.group) for e in dialog.entries]
    assert ranks == sorted(ranks) and dialog.entries[0].group == "safety"
    # Attendees: the acting user is ticked; Space ticks the next one.
    assert dialog.attendee_ids() == [actor.user_id]
    key(dialog.attendees, Qt.Key.Key_Down)
    key(dialog.attendees, Qt.Key.Key_Space)
    chosen = dialog.attendee_ids()
    assert len(chosen) == 2 and actor.user_id in chosen
    # The agenda is reordered and shortened from the keyboard.
    key(dialog.attendees, Qt.Key.Key_Tab)
    assert focused() is dialog.agenda
    key(dialog.agenda, Qt.Key.Key_End)
    key(dialog.agenda, Qt.Key.Key_Up, ALT)
    expected = [e.patient_id for e in proposed]
    expected.insert(len(expected) - 2, expected.pop())
    assert dialog.patient_ids() == expected
    key(dialog.agenda, Qt.Key.Key_Delete)  # takes the moved patient off again
    expected.pop(len(expected) - 2)
    assert dialog.patient_ids() == expected
    key(dialog.agenda, Qt.Key.Key_Home)
    key(dialog.agenda, Qt.Key.Key_Return)  # Enter starts the meeting

    qtbot.waitUntil(lambda: meeting_actions(window).meeting_window is not None, timeout=15000)
    screen: MeetingWindow = meeting_actions(window).meeting_window
    qtbot.waitUntil(lambda: screen.shown_patient == expected[0], timeout=15000)
    settle(qtbot, ui_context)
    assert ui_context.presentation.privacy  # on by default in a meeting
    assert [i.patient for i in screen.meeting.items] == expected
    first = patients.get_patient(actor, expected[0])
    assert first.family_name not in screen.windowTitle() and first.clinic_id in screen.windowTitle()
    assert screen.header.name.text() == first.initials

    # The next patient was read before anyone asked for it.
    qtbot.waitUntil(lambda: expected[1] in screen.cache, timeout=15000)

    # A decision: Ctrl+D, type, Enter.
    screen.activateWindow()
    key(screen, Qt.Key.Key_D, CTRL)
    assert focused() is screen.entry.decision
    QTest.keyClicks(screen.entry.decision, "Refer to GP for a medication review")
    key(screen.entry.decision, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: "Decision: Refer to GP for a medication review" in screen.entry.entry_texts(), timeout=10000
    )
    assert screen.entry.decision.text() == ""

    # An action item: Ctrl+I, text, Tab to the owner (typed), Tab past the date, the
    # discipline (typed), Tab to the button, Space.
    owner = next(m for m in staff.list_staff(actor) if m.full_name.startswith("Casey"))
    key(screen, Qt.Key.Key_I, CTRL)
    assert focused() is screen.entry.action_text
    QTest.keyClicks(screen.entry.action_text, "Phone the GP about the safety plan")
    key(focused(), Qt.Key.Key_Tab)
    assert focused() is screen.entry.owner
    QTest.keyClicks(screen.entry.owner, "Casey")
    assert screen.entry.owner.currentData() == owner.id
    key(focused(), Qt.Key.Key_Tab)
    assert focused() is screen.entry.due
    key(focused(), Qt.Key.Key_Tab)
    assert focused() is screen.entry.discipline
    QTest.keyClicks(screen.entry.discipline, "Psy")
    assert screen.entry.discipline.currentData() == "psychology"
    key(focused(), Qt.Key.Key_Tab)
    assert focused() is screen.entry.add_action
    key(focused(), Qt.Key.Key_Space)
    qtbot.waitUntil(
        lambda: any(t.startswith("Action: Phone the GP about the safety plan") for t in screen.entry.entry_texts()),
        timeout=10000,
    )
    decisions, actions = meetings.meeting_records(SYSTEM, screen.meeting.id, expected[0])
    assert [d.text for d in decisions] == ["Refer to GP for a medication review"]
    assert [(a.text, a.owner, a.discipline, a.due_on) for a in actions] == [
        ("Phone the GP about the safety plan", owner.id, "psychology", DEMO_TODAY + dt.timedelta(days=14))
    ]

    # Reviewed: Ctrl+Enter records the check-in and moves on to the next patient.
    checkins_before = len(checkins.list_checkins(SYSTEM, expected[0]))
    key(screen, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: screen.meeting.reviewed_count == 1, timeout=10000)
    qtbot.waitUntil(lambda: screen.shown_patient == expected[1], timeout=10000)
    saved = checkins.list_checkins(SYSTEM, expected[0])
    assert len(saved) == checkins_before + 1
    assert saved[-1].held_on == DEMO_TODAY and saved[-1].snapshot["decisions"] == [
        "Refer to GP for a medication review"
    ]
    assert sorted(a["user_id"] for a in saved[-1].attendees) == sorted(dialog.attendee_ids())
    assert screen.agenda.item(0).text().startswith("1. ✓")

    # Next and previous from the keyboard; the neighbour is shown from what was preloaded.
    qtbot.waitUntil(lambda: expected[2] in screen.cache, timeout=15000)
    key(screen, Qt.Key.Key_Right, ALT)
    assert screen.shown_patient == expected[2]  # at once: no database round trip
    key(screen, Qt.Key.Key_Left, ALT)
    assert screen.shown_patient == expected[1]

    # End the meeting: Ctrl+Shift+E, Enter confirms.
    exported = tmp_path / "minutes.pdf"
    monkeypatch.setattr(
        "ui.meeting.minutes.QFileDialog.getSaveFileName", staticmethod(lambda *a, **k: (str(exported), "PDF (*.pdf)"))
    )
    QTimer.singleShot(200, lambda: key(QApplication.activeModalWidget(), Qt.Key.Key_Return))
    key(screen, Qt.Key.Key_E, CTRL | SHIFT)
    qtbot.waitUntil(lambda: isinstance(meeting_actions(window).last_dialog, MinutesDialog), timeout=10000)
    minutes_dialog = meeting_actions(window).last_dialog
    minutes = minutes_dialog.minutes
    assert minutes.final and [p.patient_id for p in minutes.reviewed] == [expected[0]]
    assert minutes.reviewed[0].decisions == ("Refer to GP for a medication review",)
    assert minutes.reviewed[0].actions[0].owner_name == owner.full_name
    assert len(minutes.patients) == len(expected)
    shown = minutes_dialog.view.toPlainText()
    assert first.clinic_id in shown and first.family_name not in shown  # privacy still on
    assert "Refer to GP for a medication review" in shown
    stored = meetings.list_meetings(SYSTEM)[0]
    assert not stored.open and stored.reviewed == 1
    assert meetings.minutes(SYSTEM, stored.id) == minutes  # saved

    # Export as PDF from the keyboard (Ctrl+E): a real PDF, names hidden, audited.
    minutes_dialog.activateWindow()
    key(minutes_dialog, Qt.Key.Key_E, CTRL)
    assert exported.exists() and exported.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(exported), "-"], capture_output=True, text=True, check=True).stdout
    assert first.clinic_id in text and "Phone the GP about the safety plan" in text and "page 1 of" in text
    assert first.family_name not in text and first.given_name not in text
    settle(qtbot, ui_context)
    event = audit.events(action_prefix="meeting.minutes.export")[0]
    assert event.details == {"format": "pdf", "privacy": True}


def test_privacy_hides_every_name_in_the_meeting_and_on_every_tab(qtbot, window, ui_context):
    _dialog, screen = open_meeting_by_keyboard(qtbot, window, ui_context)
    names = patient_identifiers(SYSTEM)
    for index in range(3):  # a few patients, safety one first
        screen.show_index(index)
        qtbot.waitUntil(lambda i=index: screen.shown_patient == screen.meeting.items[i].patient, timeout=15000)
        settle(qtbot, ui_context)
        assert texts_naming_patients(screen, names) == []
    for width, height in ((1366, 768), (1920, 1080)):  # pictures to look at (TEAMDASH_SHOTS)
        screen.resize(width, height)
        settle(qtbot, ui_context)
        shot(screen, f"meeting-privacy-{width}x{height}")
    # The main window behind it, every tab of the open patient, and its title bar.
    window.open_patient(screen.meeting.items[0].patient)
    settle(qtbot, ui_context)
    for tab in window.patient_view.tab_codes:
        window.patient_view.show_tab(tab)
        settle(qtbot, ui_context)
        assert texts_naming_patients(window, names) == []
    # Switching privacy off shows names again: the check above can fail.
    key(screen, Qt.Key.Key_F8)
    assert not ui_context.presentation.privacy
    assert texts_naming_patients(screen, names)
    assert not screen.privacy_badge.isVisible()


def test_f8_switches_presentation_mode_everywhere(qtbot, window, ui_context):
    shown = window.patient_view.record.patient
    assert not ui_context.presentation.privacy
    assert shown.full_name in window.windowTitle()
    key(window, Qt.Key.Key_F8)
    assert ui_context.presentation.privacy and window.privacy_action.isChecked()
    assert shown.full_name not in window.windowTitle() and shown.initials in window.windowTitle()
    assert window.patient_view.header.name.text() == shown.initials
    model = window.list_panel.model
    assert model.data(model.index(0, 2)) == model.patient_at(0).initials
    assert window.privacy_label.isVisible()
    view_menu = [a.text() for a in window.menus["View"].actions()]
    assert "Presentation mode (hide names)" in view_menu
    key(window, Qt.Key.Key_F8)
    assert not ui_context.presentation.privacy and shown.full_name in window.windowTitle()


def test_changing_the_agenda_during_the_meeting(qtbot, window, ui_context, error_boxes):
    _dialog, screen = open_meeting_by_keyboard(qtbot, window, ui_context)
    before = [i.patient for i in screen.meeting.items]
    screen.agenda.setFocus()
    screen.agenda.setCurrentRow(2)
    key(screen.agenda, Qt.Key.Key_Up, ALT)
    qtbot.waitUntil(lambda: [i.patient for i in screen.meeting.items] != before, timeout=10000)
    after = [i.patient for i in screen.meeting.items]
    assert after == [before[0], before[2], before[1], *before[3:]]
    stored = meetings.get_meeting(SYSTEM, screen.meeting.id)
    assert [i.patient for i in stored.items] == after
    assert focused() is screen.agenda  # moving a patient keeps the keyboard on the agenda
    screen.agenda.setCurrentRow(1)
    key(screen.agenda, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: len(screen.meeting.items) == len(before) - 1 or bool(error_boxes), timeout=10000)
    assert error_boxes == []
    assert before[2] not in [i.patient for i in meetings.get_meeting(SYSTEM, screen.meeting.id).items]


def test_my_action_items_lists_overdue_first_and_marks_done(qtbot, window, ui_context):
    actor = ui_context.actor
    patient = patients.list_patients(actor, PatientQuery(limit=1)).rows[0]
    early = ACTION_ITEMS.add(
        actor, patient.id, text="Send the sleep diary forms", owner=actor.user_id, due_on="2026-11-20"
    )
    ACTION_ITEMS.add(actor, patient.id, text="Call the employer", owner=actor.user_id, due_on="2026-12-10")
    key(window, Qt.Key.Key_I, CTRL | SHIFT)
    qtbot.waitUntil(lambda: isinstance(meeting_actions(window).last_dialog, MyActionItemsDialog), timeout=5000)
    dialog = meeting_actions(window).last_dialog
    qtbot.waitUntil(lambda: dialog.table.rows_model.rowCount() == 2, timeout=10000)
    model = dialog.table.rows_model
    first_due = model.data(model.index(0, 0))
    assert first_due.startswith("OVERDUE since 20 Nov 2026")
    assert model.data(model.index(0, 2)) == "Send the sleep diary forms"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole) is not None  # red as well as the word
    assert "1 overdue" in dialog.summary.text()
    key(dialog.table, Qt.Key.Key_D, CTRL)
    qtbot.waitUntil(lambda: dialog.table.rows_model.rowCount() == 1, timeout=10000)
    assert ACTION_ITEMS.get(actor, early.id).status == "done"
    assert [w.action.text for w in worklist.action_items_for(actor, today=DEMO_TODAY)] == ["Call the employer"]
    other = patient.id
    key(dialog.table, Qt.Key.Key_Return)  # Enter opens the patient
    qtbot.waitUntil(lambda: window.current_patient_id() == other, timeout=10000)


def test_past_meetings_show_their_minutes_and_resume_an_open_one(qtbot, window, ui_context):
    actor = ui_context.actor
    entries = agenda.due_for_review(actor, today=DEMO_TODAY)
    open_one = meetings.start_meeting(actor, attendees=[actor.user_id], patient_ids=[entries[0].patient_id])
    acts = meeting_actions(window)
    acts.past()
    dialog = acts.last_dialog
    qtbot.waitUntil(lambda: dialog.minutes is not None, timeout=10000)
    assert dialog.meetings.count() == 1 and "still open" in dialog.meetings.item(0).text()
    assert "draft: the meeting is still open" in dialog.view.toPlainText()
    assert dialog.resume_button.isEnabled()
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: acts.meeting_window is not None, timeout=10000)
    assert acts.meeting_window.meeting.id == open_one.id


def test_a_meeting_patient_view_shows_the_new_action_item(qtbot, window, ui_context):
    _dialog, screen = open_meeting_by_keyboard(qtbot, window, ui_context)
    patient_id = screen.shown_patient
    screen.add_action(NewAction("Book a joint session", ui_context.actor.user_id, DEMO_TODAY, "social"))
    qtbot.waitUntil(lambda: any("Book a joint session" in t for t in screen.entry.entry_texts()), timeout=10000)
    window.open_patient(patient_id)
    qtbot.waitUntil(lambda: "Book a joint session" in window.patient_view.header.action_items.full_text, timeout=10000)
    assert "Book a joint session (Social, due today)" in window.patient_view.header.action_items.full_text


def test_a_viewer_cannot_start_a_meeting(qtbot, window, ui_context):
    ui_context.actor = Actor(None, "viewer", "A Viewer", "viewer")
    ui_context.changes.emit(Changes(None, frozenset({"user"})))
    assert not meeting_actions(window).start_action.isEnabled()


def test_ending_asks_first(qtbot, window, ui_context, monkeypatch):
    _dialog, screen = open_meeting_by_keyboard(qtbot, window, ui_context)
    monkeypatch.setattr("ui.meeting.screen.confirm", lambda *a, **k: False)
    screen.end_meeting()
    settle(qtbot, ui_context)
    assert meetings.list_meetings(SYSTEM, open_only=True)  # still open
    assert screen.isVisible()


def test_the_minutes_pdf_has_every_part_and_its_pages_render(qtbot, ui_context, tmp_path):
    """A long meeting: several pages, each with its footer; the text holds attendees,
    decisions and action items; names only when privacy is off; pdftoppm renders it."""
    from PySide6.QtGui import QImage

    from ui.meeting.minutes import minutes_html
    from ui.meeting.pdf import write_minutes_pdf

    actor = ui_context.actor
    entries = agenda.due_for_review(actor, today=DEMO_TODAY)
    team = staff.list_staff(actor)
    meeting = meetings.start_meeting(
        actor, attendees=[m.id for m in team[:4]], patient_ids=[e.patient_id for e in entries]
    )
    for item in meeting.items:
        for n in range(3):
            meetings.add_decision(
                actor, meeting.id, item.patient, f"Decision {n + 1} for {item.clinic_id}: keep pacing"
            )
        meetings.add_action_item(
            actor, meeting.id, item.patient, text=f"Follow up {item.clinic_id}", owner=team[1].id, discipline="sleep"
        )
        meetings.mark_reviewed(actor, meeting.id, item.patient)
    current = meetings.get_meeting(actor, meeting.id)
    minutes = meetings.end_meeting(actor, meeting.id, current.version)
    first = patients.get_patient(actor, meeting.items[0].patient)

    hidden, named = tmp_path / "hidden.pdf", tmp_path / "named.pdf"
    pages = write_minutes_pdf(minutes, hidden, privacy=True, html=minutes_html(minutes, True))
    write_minutes_pdf(minutes, named, privacy=False, html=minutes_html(minutes, False))
    assert pages >= 2
    raw = subprocess.run(["pdftotext", str(hidden), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(raw.split())  # lines wrap where the page is full
    assert text.count("Team meeting minutes · 27 Nov 2026") == pages and f"page {pages} of {pages}" in text
    assert all(m.full_name in text for m in team[:4])
    assert "Decision 3 for TD-00008: keep pacing" in text and f"Follow up {first.clinic_id}" in text
    assert team[1].full_name in text and "Sleep medicine" in text and "Next check-in" in text
    assert first.family_name not in text and f"{first.clinic_id} · {first.initials}" in text
    shown = subprocess.run(["pdftotext", str(named), "-"], capture_output=True, text=True, check=True).stdout
    assert first.full_name in " ".join(shown.split())
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(hidden), str(tmp_path / "page")], check=True
    )
    image = QImage(str(next(tmp_path.glob("page*.png"))))
    assert image.width() > 400 and image.height() > image.width()  # an A4 page, portrait
    with pytest.raises(OSError, match="does not exist"):
        write_minutes_pdf(minutes, tmp_path / "missing" / "x.pdf", privacy=True, html="")


def test_an_action_item_added_outside_a_meeting_takes_a_discipline_too(qtbot, window, ui_context):
    from tests.ui.helpers import choose, top_dialog, type_into
    from ui.dialogs import PatientActions

    actions = window.findChild(PatientActions)
    patient_id = window.current_patient_id()
    actions.add_actions["action"].trigger()
    dialog = top_dialog(qtbot, "dialog_action")
    type_into(dialog.editors["text"].widget, "Send the pacing leaflet")
    choose(dialog.editors["discipline"].widget, "Physical")
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    added = [a for a in ACTION_ITEMS.list(SYSTEM, patient_id) if a.text == "Send the pacing leaflet"]
    assert [(a.discipline, a.owner, a.meeting) for a in added] == [("pt", ui_context.actor.user_id, None)]
