"""Patient → Prepare check-in… (Ctrl+K) driven as a case manager would: the summary
shown, the check-in typed and saved with its frozen snapshot, past check-ins opened
read-only with what changed since marked, PDF, print and plain-text output (each an
audit event), and privacy mode leaving the name out everywhere."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from teamdash.services import audit, checkin_summary, checkin_text, checkins, measurements, patients, plans
from teamdash.services.auth import Actor, actor_for
from teamdash.services.staff import create_user
from tests.demo_facts import DEMO_TODAY
from tests.ui.helpers import activate, answer_next_question, settle, shot, top_dialog
from tests.ui.pdf_helpers import needs_poppler, pdf_text
from tests.ui.test_undo import FakeMainWindow
from ui.changes import Changes
from ui.dialogs import install_actions
from ui.dialogs.checkin_dialog import CheckinWindow
from ui.reports.pdf import Units

PATIENT = 8  # TD-00008: an improver, with an open safety flag and three support contacts


@pytest.fixture
def manager_context(clinic, new_context):
    return new_context(actor_for("mquillfeather"))  # a case manager


def open_window(qtbot, context, patient_id: int = PATIENT) -> CheckinWindow:
    window = CheckinWindow(context, patient_id)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitUntil(lambda: window.summary is not None and context.jobs.idle(), timeout=15000)
    settle(qtbot, context)
    return window


def preview_text(window: CheckinWindow) -> str:
    return " ".join(window.preview.toPlainText().split())


def test_ctrl_k_opens_the_preparation_screen_for_the_open_patient(qtbot, manager_context):
    main = FakeMainWindow(manager_context)
    qtbot.addWidget(main)
    main.show()
    actions = install_actions(main)
    assert actions.prepare_checkin.shortcut().toString() == "Ctrl+K"
    assert "Prepare check-&in…" in [a.text() for a in main.menus["Patient"].actions()]
    assert not actions.prepare_checkin.isEnabled()  # no patient open
    main.open_patient(PATIENT)
    activate(main)
    QTest.keyClick(main, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    window = top_dialog(qtbot, "checkinWindow")
    qtbot.waitUntil(lambda: window.summary is not None, timeout=15000)
    settle(qtbot, manager_context)
    summary = window.summary
    for width, height in ((1366, 768), (1920, 1080)):  # pictures to look at (TEAMDASH_SHOTS)
        window.resize(width, height)
        settle(qtbot, manager_context)
        shot(window, f"prepare-checkin-{width}x{height}")
    assert summary.patient.clinic_id == "TD-00008"
    assert window.windowTitle() == f"Prepare check-in — {summary.patient.full_name} · TD-00008"
    text = preview_text(window)
    odi = summary.measure("odi")
    for expected in ("Check-in summary (draft, not saved)", "TD-00008", "Measures", "Baseline", odi.baseline.text):
        assert expected in text
    assert summary.period.after_checkin is not None
    assert window.status.text() == f"Summary {summary.period.label}."
    past = checkins.list_checkins(manager_context.actor, PATIENT)
    assert [window.choice.itemData(i) for i in range(window.choice.count())] == [-1, *[c.id for c in reversed(past)]]
    assert window.held_on.date().toPython() == DEMO_TODAY
    assert window.next_checkin.date().toPython() == DEMO_TODAY + dt.timedelta(weeks=6)
    checked = [
        window.attendees.item(i).text()
        for i in range(window.attendees.count())
        if window.attendees.item(i).checkState() == Qt.CheckState.Checked
    ]
    assert checked == ["Morgan Quillfeather"]  # the case manager at the keyboard
    window.dirty = False
    window.close()


def test_typing_and_saving_a_checkin(qtbot, manager_context):
    window = open_window(qtbot, manager_context)
    changes: list[Changes] = []
    manager_context.changes.changed.connect(changes.append)
    contacts = plans.CONTACTS.list(manager_context.actor, PATIENT)
    window.narrative.setFocus()
    qtbot.keyClicks(window.narrative, "Walking further; flare plan used early.")
    window.plan.setFocus()
    qtbot.keyClicks(window.plan, "Walk 35 minutes a day")
    for i in range(window.attendees.count()):
        if window.attendees.item(i).text().startswith("Riley Brightwater"):
            window.attendees.item(i).setCheckState(Qt.CheckState.Checked)
    window.supporters.item(0).setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: "Walk 35 minutes a day" in preview_text(window))  # the preview follows the typing
    assert window.dirty
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.saved is not None, timeout=15000)
    settle(qtbot, manager_context)
    saved = checkins.list_checkins(manager_context.actor, PATIENT)[-1]
    assert (saved.held_on, saved.narrative, saved.plan) == (
        DEMO_TODAY,
        "Walking further; flare plan used early.",
        "Walk 35 minutes a day",
    )
    assert [a["name"] for a in saved.attendees] == ["Morgan Quillfeather", "Riley Brightwater"]
    assert checkin_summary.from_snapshot(saved.snapshot).patient.clinic_id == "TD-00008"
    assert patients.get_patient(manager_context.actor, PATIENT).next_checkin == DEMO_TODAY + dt.timedelta(weeks=6)
    assert plans.CONTACTS.get(manager_context.actor, contacts[0].id).on_handout
    assert any(c.touches(PATIENT) and "checkin" in c.kinds for c in changes)
    # The window now shows the saved check-in, read-only.
    assert window.choice.currentData() == saved.id
    assert window.narrative.isReadOnly() and not window.save_button.isVisible()
    assert "Saved check-in of" in window.readonly_note.text() and "read-only" in window.readonly_note.text()
    assert window.status.text().startswith(f"Check-in of {DEMO_TODAY:%d %b %Y} saved")
    assert not window.dirty
    window.close()
    assert not window.isVisible()  # nothing unsaved: no question


def test_a_past_checkin_opens_read_only_and_marks_what_changed(qtbot, manager_context):
    actor = manager_context.actor
    saved = checkin_summary.save_checkin(
        actor,
        PATIENT,
        held_on=DEMO_TODAY,
        attendees=[actor.user_id],
        narrative="Signed off",
        plan="Keep going",
        next_checkin=DEMO_TODAY + dt.timedelta(weeks=5),
    )
    odi = max(measurements.list_measurements(actor, PATIENT, "odi"), key=lambda m: m.taken_at)
    # corrected afterwards by the physiotherapist (a case manager writes no PT records)
    measurements.update_measurement(actor_for("rbrightwater"), odi.id, odi.version, responses=[5] * 10)
    window = open_window(qtbot, manager_context)
    window.choice.setCurrentIndex(window.choice.findData(saved.checkin.id))
    qtbot.waitUntil(lambda: window.saved is not None, timeout=15000)
    text = preview_text(window)
    assert "Changed since this check-in" in text
    assert f"was {saved.summary.measure('odi').current.text}" in text
    assert "current now 100 %" in text
    assert window.status.text().startswith("Saved check-in, read-only. Changed since this check-in: 1 item")
    assert window.narrative.toPlainText() == "Signed off" and window.narrative.isReadOnly()
    assert not window.attendees.isEnabled() and not window.since_edit.isVisible()
    # Back to the new check-in: the form is editable again.
    window.choice.setCurrentIndex(0)
    assert not window.narrative.isReadOnly() and window.save_button.isEnabled()
    assert "draft, not saved" in preview_text(window)


@needs_poppler
def test_summary_and_handout_pdfs_from_the_screen(qtbot, manager_context, tmp_path, monkeypatch):
    window = open_window(qtbot, manager_context)
    window.narrative.setPlainText("Steady gains in walking.")
    window.page_size.setCurrentText("Letter")
    target = tmp_path / "td8.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    QTest.mouseClick(window.pdf_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    text = pdf_text(target)
    assert "TD-00008" in text and "Steady gains in walking." in text and "Oswestry" in text
    event = audit.events(patient_id=PATIENT, action_prefix="summary.")[0]
    assert (event.action, event.details["file"], event.details["page_size"]) == ("summary.pdf", "td8.pdf", "Letter")
    handout_file = tmp_path / "handout"  # no extension typed: .pdf is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(handout_file), "")))
    QTest.mouseClick(window.handout_pdf_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    assert "Your progress" in pdf_text(tmp_path / "handout.pdf")
    assert audit.events(patient_id=PATIENT, action_prefix="handout.")[0].action == "handout.pdf"
    window.dirty = False


@needs_poppler
def test_printing_goes_to_the_chosen_printer(qtbot, manager_context, tmp_path, monkeypatch):
    window = open_window(qtbot, manager_context)
    printed = tmp_path / "printed.pdf"

    def printer_to_file():
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        return printer

    monkeypatch.setattr(window, "choose_printer", printer_to_file)
    QTest.mouseClick(window.print_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    text = pdf_text(printed)
    assert "TD-00008" in text and "Page 1 of" in text
    assert audit.events(patient_id=PATIENT, action_prefix="summary.")[0].action == "summary.print"
    monkeypatch.setattr(window, "choose_printer", lambda: None)  # cancelled in the print dialog
    QTest.mouseClick(window.print_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    assert len(audit.events(patient_id=PATIENT, action_prefix="summary.print")) == 1


def test_copy_as_text_for_the_record_system(qtbot, manager_context):
    window = open_window(qtbot, manager_context)
    window.narrative.setPlainText("Steady gains.")
    QTest.mouseClick(window.copy_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    copied = QGuiApplication.clipboard().text()
    assert copied == checkin_text.summary_text(window.summary, window.signoff())
    assert "Steady gains." in copied and window.summary.patient.full_name in copied
    assert audit.events(patient_id=PATIENT, action_prefix="summary.")[0].action == "summary.text"
    window.dirty = False


def test_privacy_mode_leaves_the_name_out_of_title_preview_copy_and_handout(qtbot, manager_context):
    manager_context.presentation.set_privacy(True)
    window = open_window(qtbot, manager_context)
    name = window.summary.patient.full_name
    born = f"{window.summary.patient.date_of_birth:%d %b %Y}"
    assert name not in window.windowTitle() and "TD-00008" in window.windowTitle()
    assert name not in preview_text(window) and born not in preview_text(window)
    supporters = [window.supporters.item(i).text() for i in range(window.supporters.count())]
    assert supporters and not any(part in text for text in supporters for part in name.split())
    assert all(text.endswith(")") and " of " not in text for text in supporters)  # initials (relationship)
    QTest.mouseClick(window.copy_button, Qt.MouseButton.LeftButton)
    settle(qtbot, manager_context)
    assert name not in QGuiApplication.clipboard().text()
    report = window.handout_report()
    assert name.split()[0] not in report.html(Units(report.figures))
    manager_context.presentation.set_privacy(False)  # switched off: the name comes back
    assert name in preview_text(window) and name in window.windowTitle()
    assert any(name.split()[0] in window.supporters.item(i).text() for i in range(window.supporters.count()))
    window.dirty = False


def test_closing_with_an_unsaved_checkin_asks_first(qtbot, manager_context):
    window = open_window(qtbot, manager_context)
    window.narrative.setFocus()
    qtbot.keyClicks(window.narrative, "Half written")
    seen = answer_next_question("cancel")
    window.close()
    assert seen and "has not been saved" in seen[0]
    assert window.isVisible()
    answer_next_question("confirm_yes")
    window.close()
    assert not window.isVisible()


def test_a_viewer_reads_but_cannot_save_or_print(qtbot, clinic, new_context):
    from teamdash.services.auth import SYSTEM

    member = create_user(SYSTEM, username="vview", full_name="Val Viewer", role="viewer")
    context = new_context(Actor(member.id, member.username, member.full_name, member.role))
    window = open_window(qtbot, context)
    assert "Measures" in preview_text(window)
    assert not window.save_button.isEnabled() and "may read check-ins" in window.save_button.toolTip()
    assert not window.pdf_button.isEnabled() and not window.copy_button.isEnabled()
    context.jobs.wait()
