"""Patient administration in the main window, as a case manager uses it: register a
patient from the keyboard alone (every field error, the duplicate warning), edit details
against a second workstation, reassign and book from the header, discharge and readmit
(baseline restarting on the timelines and in the panels), the list's counts and filters
after each step, and undo of edits and status changes.

Set ``TEAMDASH_SHOTS`` to a folder to keep the screenshots these tests take."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QWidget

from teamdash.services import audit, episodes, measurements, patients
from teamdash.services.auth import SYSTEM, actor_for
from teamdash.services.patients import PatientQuery
from tests.demo_facts import DEMO_TODAY
from tests.ui.helpers import activate, answer_next_question, settle, shot, top_dialog
from ui.dialogs import install_actions, install_admin_actions
from ui.main_window import MainWindow
from ui.patient_list import COLUMN_KEYS
from ui.undo import stack_for

CASE_MANAGER = "mquillfeather"  # Morgan Quillfeather, a demo case manager
OTHER_WORKSTATION = "jambersmith"


@pytest.fixture
def window(qtbot, clinic, new_context):
    context = new_context(actor_for(CASE_MANAGER))
    win = MainWindow(context, database="test database")
    qtbot.addWidget(win)
    win.resize(1500, 950)
    win.show()
    install_admin_actions(win)
    install_actions(win)
    with qtbot.waitSignal(win.ready, timeout=15000):
        win.start()
    settle(qtbot, context)
    yield win
    context.jobs.wait()
    QCoreApplication.processEvents()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QDialog) and widget.isVisible():
            widget.reject()


def admin(window):
    from ui.dialogs import AdminActions

    return window.findChild(AdminActions)


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "no widget has the keyboard focus"
    return widget


def keys(text: str) -> None:
    QTest.keyClicks(focused(), text)


def key(k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(focused(), k, modifier)


def tab(times: int = 1) -> None:
    for _ in range(times):
        key(Qt.Key.Key_Tab)


def retype(text: str) -> None:
    """Replace the focused line edit's text, as Ctrl+A and typing do."""
    key(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    if text:
        keys(text)
    else:
        key(Qt.Key.Key_Backspace)


def wait_idle(qtbot, window) -> None:
    settle(qtbot, window.context)
    QCoreApplication.processEvents()


def list_ids(window) -> list[int]:
    model = window.list_panel.model
    return [model.patient_at(r).id for r in range(model.rowCount())]


def count_text(window) -> str:
    return window.list_panel.count_label.text()


def selected_in_list(window) -> int | None:
    index = window.list_panel.table.currentIndex()
    return window.list_panel.model.patient_at(index.row()).id if index.isValid() else None


def undo(qtbot, window) -> None:
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)


# --- registering -------------------------------------------------------------------------------


def test_register_a_patient_from_the_keyboard_alone(qtbot, window, error_boxes):
    context = window.context
    twin = patients.get_patient(context.actor, patients.find_by_clinic_id(context.actor, "TD-00007").id)
    active_before = patients.count_patients(context.actor, PatientQuery(status="active"))
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = top_dialog(qtbot, "dialog_patient")
    editors, errors = dialog.editors, dialog.errors
    # The next free ID in the clinic's pattern is offered, checked, and focused.
    assert editors["clinic_id"].get() == "TD-00061"
    qtbot.waitUntil(lambda: errors["clinic_id"].text() == "✓ TD-00061 is free")
    assert focused() is editors["clinic_id"].widget

    def save_refused(field: str, words: str) -> None:
        key(Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: errors[field].isVisible() and words in errors[field].text())
        assert dialog.isVisible() and focused() is editors[field].widget  # focus goes to the field at fault

    # A clinic ID already in use is named while typing, with a link to its patient.
    retype("TD-00005")
    qtbot.waitUntil(lambda: "Already registered" in errors["clinic_id"].text())
    assert "TD-00005" in errors["clinic_id"].text() and "href='patient:" in errors["clinic_id"].text()
    # An empty one is required.
    retype("")
    save_refused("clinic_id", "Is required")
    retype("TD-00005")
    tab()  # given name
    save_refused("given_name", "Is required")
    keys("Zofia")
    tab()  # family name
    keys("Quell" + "x" * 100)
    save_refused("family_name", "too long")
    retype("Quellbrook")
    tab()  # date of birth
    keys("1971-13-02")
    save_refused("date_of_birth", "is not a date")
    retype("2031-01-01")
    save_refused("date_of_birth", "is after today")
    retype("1971-04-02")
    tab()  # sex: a combo box answers to the first letters
    keys("f")
    assert editors["sex"].get() == "female"
    tab()  # referral date (today, offered)
    assert editors["referral_date"].get() == DEMO_TODAY.isoformat()
    retype("1960-01-01")
    save_refused("referral_date", "Is before the date of birth")
    retype("2026-11-20")
    tab()  # programme start
    keys("2026-11-01")
    save_refused("programme_start", "Is before the referral date")
    retype("2026-11-30")
    tab()  # case manager: the acting case manager is offered
    assert editors["case_manager"].get() == context.actor.user_id
    tab()  # next check-in
    keys("2026-11-02")
    save_refused("next_checkin", "Is before the referral date")
    retype("2026-12-18")
    tab()  # research consent
    key(Qt.Key.Key_Space)
    assert editors["research_consent"].get() is True
    # Everything else is right: the taken clinic ID is refused under its field.
    save_refused("clinic_id", "already registered")

    # The person typed now is the demo's TD-00007: the duplicate is pointed out, linked.
    assert focused() is editors["clinic_id"].widget
    retype("TD-00061")
    tab()
    retype(twin.given_name)
    tab()
    retype(twin.family_name)
    tab()
    retype(twin.date_of_birth.isoformat())
    qtbot.waitUntil(dialog.duplicate_box.isVisible)
    text = dialog.duplicate_box.text()
    assert f"TD-00007 · {twin.full_name}" in text and "same name and date of birth" in text
    assert f"href='patient:{twin.id}'" in text
    qtbot.waitUntil(lambda: errors["clinic_id"].text() == "✓ TD-00061 is free")
    shot(dialog, "new-patient-form-duplicate")
    # Saving asks first; Enter (or Esc) keeps the form open and writes nothing.
    seen = answer_next_question("cancel")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(seen))
    assert "already registered" in seen[0] and twin.clinic_id in seen[0]
    wait_idle(qtbot, window)
    assert dialog.isVisible()
    assert patients.count_patients(context.actor, PatientQuery(status="active")) == active_before

    # Someone else after all: another given name; the warning goes, Enter registers.
    activate(dialog)
    editors["given_name"].widget.setFocus()
    retype("Zofia")
    qtbot.waitUntil(lambda: not dialog.duplicate_box.isVisible())
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    assert error_boxes == []

    new = dialog.result_row
    stored = patients.get_patient(context.actor, new.id)
    assert (stored.clinic_id, stored.full_name, stored.date_of_birth, stored.sex) == (
        "TD-00061",
        "Zofia " + twin.family_name,
        twin.date_of_birth,
        "female",
    )
    assert (stored.referral_date, stored.programme_start, stored.next_checkin) == (
        dt.date(2026, 11, 20),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 18),
    )
    assert stored.case_manager == context.actor.user_id and stored.research_consent
    (event,) = audit.events(patient_id=new.id, action_prefix="patient.create")
    assert event.actor_name == "Morgan Quillfeather"

    # The new patient is open and selected in the list; the counts follow.
    qtbot.waitUntil(lambda: window.current_patient_id() == new.id)
    qtbot.waitUntil(lambda: selected_in_list(window) == new.id)
    wait_idle(qtbot, window)
    assert patients.count_patients(context.actor, PatientQuery(status="active")) == active_before + 1
    # The overview says which baseline measures are due, per discipline.
    view = window.patient_view
    qtbot.waitUntil(lambda: view.record is not None and view.record.patient.id == new.id)
    strip = view.baseline
    assert strip.isVisible() and strip.checklist.due_count == 15
    assert strip.title.text() == "Baseline: 15 measures due (from 20 Nov 2026)"
    body = strip.body.text()
    for name in ("Physical therapy", "Psychology", "Nutrition", "Sleep medicine", "Social work"):
        assert name in body
    assert "ODI</a> or <a href='measure:rmdq'>RMDQ" in body
    assert view.timeline.stack.currentWidget() is view.timeline.empty
    shot(window, "new-patient-registered")
    # Each due measure is a link to its form.
    strip.body.linkActivated.emit("measure:odi")
    form = top_dialog(qtbot, "dialog_measurement")
    assert form.instrument.id == "odi" and new.clinic_id in form.windowTitle()
    form.reject()


def test_the_next_free_id_follows_a_changed_pattern(qtbot, window):
    admin(window).pattern.trigger()
    dialog = top_dialog(qtbot, "dialog_clinic_id_pattern")
    assert dialog.editors["pattern"].get() == "TD-00000"
    dialog.editors["pattern"].widget.setFocus()
    retype("TD 00")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "contains a space" in dialog.errors["pattern"].text())
    retype("LBP-0000")
    assert dialog.example.text().startswith("New patients get LBP-0001, LBP-0002")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    admin(window).new_patient.trigger()
    form = top_dialog(qtbot, "dialog_patient")
    assert form.editors["clinic_id"].get() == "LBP-0001"
    # An ID outside the pattern is allowed (legacy IDs), but pointed out.
    form.editors["clinic_id"].widget.setFocus()
    retype("TD-00099")
    qtbot.waitUntil(lambda: "not in the clinic's pattern LBP-0000" in form.errors["clinic_id"].text())
    form.reject()


def test_the_duplicate_link_opens_the_existing_patient(qtbot, window):
    context = window.context
    twin = patients.find_by_clinic_id(context.actor, "TD-00011")
    admin(window).new_patient.trigger()
    dialog = top_dialog(qtbot, "dialog_patient")
    dialog.editors["given_name"].set(twin.given_name)
    dialog.editors["family_name"].set(twin.family_name + "e")  # one letter more: near-identical
    qtbot.waitUntil(dialog.duplicate_box.isVisible)
    assert "near-identical name" in dialog.duplicate_box.text()
    dialog.duplicate_box.linkActivated.emit(f"patient:{twin.id}")
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: window.current_patient_id() == twin.id)
    assert patients.count_patients(context.actor, PatientQuery(search="TD-00061")) == 0  # nothing registered


# --- editing -----------------------------------------------------------------------------------


def test_edit_details_against_a_second_workstation_then_undo(qtbot, window):
    context = window.context
    patient_id = window.current_patient_id()
    before = patients.get_patient(context.actor, patient_id)
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = top_dialog(qtbot, "dialog_patient")
    assert dialog.windowTitle().startswith("Edit details")
    assert dialog.editors["family_name"].get() == before.family_name
    dialog.editors["family_name"].widget.setFocus()
    retype("Mine")
    tab(6)  # birth, sex, referral, programme start, case manager, next check-in
    assert focused() is dialog.editors["next_checkin"].widget
    retype("2027-01-08")
    # Meanwhile another workstation renames the patient and corrects the sex.
    other = actor_for(OTHER_WORKSTATION)
    theirs = patients.update_patient(other, patient_id, before.version, family_name="Theirs", sex="other")
    seen = answer_next_question("confirm_yes")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.banner.isVisible())
    assert "Family name: " in seen[0] and "→ Mine" in seen[0]
    assert "Someone else saved this patient" in dialog.banner.text() and "Nothing was saved" in dialog.banner.text()
    conflict = dialog.errors["family_name"].text()
    assert conflict == "Saved meanwhile by Jordan Ambersmith: Theirs  (yours: Mine)"
    assert dialog.editors["family_name"].get() == "Mine"  # the user's own value is kept in the box
    assert dialog.editors["sex"].get() == "other"  # a field only they changed takes their value
    assert not dialog.errors["next_checkin"].isVisible()  # only the user changed it: no conflict
    stored = patients.get_patient(context.actor, patient_id)
    assert (stored.family_name, stored.version) == ("Theirs", theirs.version)  # nothing overwritten
    shot(dialog, "edit-conflict")
    # Saving again is now the user's informed choice.
    activate(dialog)
    assert focused() is dialog.editors["family_name"].widget  # the first field both changed
    answer_next_question("confirm_yes")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    saved = patients.get_patient(context.actor, patient_id)
    assert (saved.family_name, saved.sex, saved.next_checkin) == ("Mine", "other", dt.date(2027, 1, 8))
    event = audit.events(patient_id=patient_id, action_prefix="patient.update")[0]
    assert (event.before["family_name"], event.after["family_name"], event.actor_name) == (
        "Theirs",
        "Mine",
        "Morgan Quillfeather",
    )
    qtbot.waitUntil(lambda: window.patient_view.header.name.text() == f"{before.given_name} Mine")
    assert stack_for(context).text() == "Undo edit patient details"
    undo(qtbot, window)
    back = patients.get_patient(context.actor, patient_id)
    assert (back.family_name, back.next_checkin) == ("Theirs", before.next_checkin)
    qtbot.waitUntil(lambda: window.patient_view.header.name.text() == f"{before.given_name} Theirs")


def test_reassign_and_book_from_the_header_update_the_list_at_once(qtbot, window):
    context = window.context
    header = window.patient_view.header
    patient_id = window.current_patient_id()
    before = patients.get_patient(context.actor, patient_id)
    model = window.list_panel.model
    row = model.row_of(patient_id)
    manager_column, checkin_column = COLUMN_KEYS.index("case_manager"), COLUMN_KEYS.index("next_checkin")
    target = next(m for m in header.managers if m.id != before.case_manager)
    action = next(a for a in header.manager_button.menu().actions() if a.text() == target.full_name)
    action.trigger()
    qtbot.waitUntil(lambda: model.index(row, manager_column).data() == target.full_name)
    qtbot.waitUntil(lambda: header.manager_button.full_text == f"Case manager: {target.full_name}")
    in_two_weeks = DEMO_TODAY + dt.timedelta(weeks=2)
    booking = next(a for a in header.checkin_button.menu().actions() if a.text().startswith("In 2 weeks"))
    booking.trigger()
    qtbot.waitUntil(lambda: model.index(row, checkin_column).data() == f"{in_two_weeks.day} {in_two_weeks:%b %Y}")
    qtbot.waitUntil(
        lambda: header.checkin_button.full_text == f"Next check-in: {in_two_weeks.day} {in_two_weeks:%b %Y}"
    )
    stored = patients.get_patient(context.actor, patient_id)
    assert (stored.case_manager, stored.next_checkin) == (target.id, in_two_weeks)
    undo(qtbot, window)  # the booking
    undo(qtbot, window)  # the reassignment
    stored = patients.get_patient(context.actor, patient_id)
    assert (stored.case_manager, stored.next_checkin) == (before.case_manager, before.next_checkin)
    qtbot.waitUntil(lambda: model.index(row, manager_column).data() == before.case_manager_name)


# --- status over time ------------------------------------------------------------------------------


def _long_standing_patient(window):
    """An active demo patient in the programme since before October, with pain ratings."""
    actor = window.context.actor
    rows = patients.list_patients(actor, PatientQuery(status="active", sort="clinic_id", limit=60)).rows
    return next(r for r in rows if r.programme_start < dt.date(2026, 9, 1) and r.pain_latest is not None)


def _open(qtbot, window, patient_id: int) -> None:
    window.open_patient(patient_id)
    qtbot.waitUntil(
        lambda: window.patient_view.record is not None and window.patient_view.record.patient.id == patient_id
    )
    wait_idle(qtbot, window)


def _filter(qtbot, window, status: str | None) -> None:
    combo = window.list_panel.status_filter
    combo.setCurrentIndex(combo.findData(status))
    wait_idle(qtbot, window)


def test_discharge_and_readmit_restart_the_baseline_with_undo(qtbot, window, error_boxes):
    context, actions = window.context, admin(window)
    row = _long_standing_patient(window)
    row_detail = patients.get_patient(context.actor, row.id)
    _open(qtbot, window, row.id)
    header, view = window.patient_view.header, window.patient_view
    active = patients.count_patients(context.actor, PatientQuery(status="active"))
    discharged = patients.count_patients(context.actor, PatientQuery(status="discharged"))
    assert count_text(window) == f"{active} active patients" and row.id in list_ids(window)
    old_pain = view.timeline_data.series["nrs_pain"]

    # Discharge, from the keyboard: date, reason, note; Enter saves.
    qtbot.waitUntil(lambda: actions.status_actions["discharged"].isEnabled())
    assert not actions.status_actions["readmitted"].isEnabled()
    actions.status_actions["discharged"].trigger()
    dialog = top_dialog(qtbot, "dialog_status_discharged")
    assert focused() is dialog.editors["effective_on"].widget
    retype("2026-10-30")
    tab()
    key(Qt.Key.Key_Return)  # no reason chosen yet
    qtbot.waitUntil(lambda: "Is required" in dialog.errors["reason"].text())
    keys("g")  # Goals met
    tab()
    keys("Back at work full time")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    assert error_boxes == []
    qtbot.waitUntil(lambda: header.status.full_text == "Discharged")
    assert "Discharged since 30 Oct 2026: goals met" in header.programme.full_text
    assert not header.checkin_button.isVisible()
    assert not view.baseline.isVisible()  # nothing is due for an ended episode
    # The list (filtered to active patients) lets the patient go; the counts follow.
    qtbot.waitUntil(lambda: row.id not in list_ids(window))
    qtbot.waitUntil(lambda: count_text(window) == f"{active - 1} active patients")
    assert patients.count_patients(context.actor, PatientQuery(status="discharged")) == discharged + 1
    shot(window, "discharged-patient")

    # Undo puts the patient back in the active list.
    assert stack_for(context).text() == "Undo discharge"
    undo(qtbot, window)
    qtbot.waitUntil(lambda: header.status.full_text == "Active")
    qtbot.waitUntil(lambda: count_text(window) == f"{active} active patients" and row.id in list_ids(window))
    assert patients.get_patient(context.actor, row.id).next_checkin == row.next_checkin  # the booking is back

    # Discharged again (through the header's status menu), then the discharged filter shows them.
    qtbot.waitUntil(lambda: actions.status_actions["discharged"].isEnabled())
    menu_action = next(a for a in header.status.menu().actions() if a.objectName() == "status_discharged")
    menu_action.trigger()
    dialog = top_dialog(qtbot, "dialog_status_discharged")
    dialog.editors["effective_on"].set("2026-10-30")
    dialog.editors["reason"].set("goals_met")
    activate(dialog)
    dialog.editors["effective_on"].widget.setFocus()
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    _filter(qtbot, window, "discharged")
    assert row.id in list_ids(window) and count_text(window) == f"{discharged + 1} discharged patients"

    # Readmission: a new episode from the new referral.
    qtbot.waitUntil(lambda: actions.status_actions["readmitted"].isEnabled())
    actions.status_actions["readmitted"].trigger()
    dialog = top_dialog(qtbot, "dialog_readmit")
    assert "opens episode 2" in dialog.findChild(QWidget, "intro").text()
    retype("2026-10-29")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors["referral_date"].text() == "Must be after episode 1 ended (30 Oct 2026)")
    retype("2026-11-16")
    tab()
    keys("2026-11-18")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: header.status.full_text == "Active · episode 2")
    assert "episode 2, readmitted 16 Nov 2026" in header.facts.full_text
    qtbot.waitUntil(lambda: row.id not in list_ids(window))  # no longer discharged
    _filter(qtbot, window, "active")
    assert row.id in list_ids(window) and count_text(window) == f"{active} active patients"

    # Pain in the new episode: change is measured from its own baseline (the first rating on
    # or after the new referral), not from the earlier episode's.
    for when, value in (("2026-11-16 08:00", 7), ("2026-11-27 09:00", 4)):
        measurements.record_measurement(SYSTEM, row.id, "nrs_pain", [value], taken_at=when)  # the physio's entries
    window.refresh()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(view.timeline_data.series["nrs_pain"].points) == len(old_pain.points) + 2)
    in_episode = [
        m
        for m in measurements.list_measurements(context.actor, row.id, "nrs_pain")
        if m.taken_at.date() >= dt.date(2026, 11, 16)
    ]
    pain = view.timeline_data.series["nrs_pain"]
    assert (pain.baseline.value, pain.latest.value, pain.change.points, pain.change.mcid_met) == (7, 4, -3, True)
    assert pain.baseline.taken_at == dt.datetime(2026, 11, 16, 8, 0)
    assert old_pain.baseline.measurement_id != pain.baseline.measurement_id
    assert pain.mcid_threshold == 5
    (span,) = view.timeline_data.earlier_episodes
    assert (span.label, span.start, span.end) == ("Episode 1", row_detail.episode_start, dt.date(2026, 10, 30))
    plot = view.timeline.plot_for("nrs_pain")
    assert plot.backdrop.episodes == (span,) and (plot.backdrop.baseline, plot.backdrop.mcid) == (7, 5)
    # the title's change: from the new baseline, MCID met, and a reliable change (RCI)
    assert ("▼3 · MCID met · reliable", "#2e7d32", False) in plot.title(pain)
    # The PT panel counts and compares within this episode only.
    window.patient_view.show_tab("pt")
    wait_idle(qtbot, window)
    pt_line = window.patient_view.panel("pt").instruments.lines["nrs_pain"]
    assert pt_line.count.text() == f"n = {len(in_episode)}"
    assert "−3" in pt_line.from_baseline.text() and "MCID met" in pt_line.from_baseline.text()
    window.patient_view.show_tab("overview")
    wait_idle(qtbot, window)
    assert view.baseline.isVisible() and "NRS" not in view.baseline.body.text()  # recorded: no longer due
    window.patient_view.timeline.set_selection(["nrs_pain", "odi", "phq9"])
    wait_idle(qtbot, window)
    shot(window, "readmitted-patient")
    shot(window.patient_view.timeline, "readmitted-timelines")

    # The history keeps both episodes; undo takes the readmission back.
    history = episodes.history(context.actor, row.id)  # the undone discharge left no trace here
    assert [(h.episode, h.event) for h in history] == [(1, "registered"), (1, "discharged"), (2, "readmitted")]
    assert stack_for(context).text() == "Undo readmission"
    undo(qtbot, window)
    qtbot.waitUntil(lambda: header.status.full_text == "Discharged")
    detail = patients.get_patient(context.actor, row.id)
    assert (detail.status, detail.episode_number, detail.status_changed_on) == ("discharged", 1, dt.date(2026, 10, 30))
    qtbot.waitUntil(lambda: row.id not in list_ids(window))
    assert count_text(window) == f"{active - 1} active patients"


def test_on_hold_and_the_status_history(qtbot, window):
    context, actions = window.context, admin(window)
    row = _long_standing_patient(window)
    _open(qtbot, window, row.id)
    qtbot.waitUntil(lambda: actions.status_actions["on_hold"].isEnabled())
    actions.status_actions["on_hold"].trigger()
    dialog = top_dialog(qtbot, "dialog_status_on_hold")
    key(Qt.Key.Key_Return)  # a hold needs its reason in the note
    qtbot.waitUntil(lambda: "Is required" in dialog.errors["note"].text())
    dialog.editors["note"].widget.setFocus()
    keys("Knee surgery, back in six weeks")
    key(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    header = window.patient_view.header
    qtbot.waitUntil(lambda: header.status.full_text == "On hold")
    _filter(qtbot, window, "on_hold")
    assert list_ids(window) == [row.id] and count_text(window) == "1 on hold patient"
    actions.history.trigger()
    history = top_dialog(qtbot, "dialog_status_history")
    changes = history.changes.rows_model.rows
    assert [(c.event_label, c.note) for c in changes[:2]] == [
        ("Put on hold", "Knee surgery, back in six weeks"),
        ("Registered", None),
    ]
    assert changes[0].recorded_by_name == "Morgan Quillfeather"
    assert history.changes.rows_model.data(history.changes.rows_model.index(1, 4)).startswith(row.case_manager)
    (current,) = history.episodes.rows_model.rows
    assert current.current and current.outcome_text == "ongoing"
    history.reject()
    assert stack_for(context).text() == "Undo put on hold"
    undo(qtbot, window)
    qtbot.waitUntil(lambda: header.status.full_text == "Active")
    qtbot.waitUntil(lambda: list_ids(window) == [])
    assert count_text(window) == "0 on hold patients"


def test_status_dialogs_follow_presentation_mode_while_open(qtbot, window):
    """F8 on a projector with a status dialog open: its title and its intro switch to
    initials and ID at once (and back)."""
    context, actions = window.context, admin(window)
    row = _long_standing_patient(window)
    _open(qtbot, window, row.id)
    patient = patients.get_patient(context.actor, row.id)
    qtbot.waitUntil(lambda: actions.status_actions["discharged"].isEnabled())
    actions.status_actions["discharged"].trigger()
    dialog = top_dialog(qtbot, "dialog_status_discharged")
    intro = dialog.findChild(QLabel, "intro")
    assert patient.family_name in dialog.windowTitle() and patient.family_name in intro.text()
    context.presentation.set_privacy(True)
    for text in (dialog.windowTitle(), intro.text()):
        assert patient.family_name not in text and f"{patient.initials} · {patient.clinic_id}" in text
    dialog.reject()
    actions.history.trigger()
    history = top_dialog(qtbot, "dialog_status_history")
    assert history.windowTitle() == f"Status history — {patient.initials} · {patient.clinic_id}"
    context.presentation.set_privacy(False)
    assert history.windowTitle() == f"Status history — {patient.full_name} · {patient.clinic_id}"
    history.reject()


def test_a_clinician_sees_the_header_but_cannot_administer(qtbot, clinic, new_context):
    context = new_context(actor_for("athistledown"))
    win = MainWindow(context, database="test database")
    qtbot.addWidget(win)
    win.show()
    actions = install_admin_actions(win)
    with qtbot.waitSignal(win.ready, timeout=15000):
        win.start()
    settle(qtbot, context)
    header = win.patient_view.header
    assert not actions.new_patient.isEnabled() and not actions.edit_details.isEnabled()
    assert not header.manager_button.isEnabled() and header.manager_button.full_text.startswith("Case manager: ")
    assert [a.text() for a in header.status.menu().actions()] == ["Status history…"]
    context.jobs.wait()
