"""Undo (Ctrl+Z) of the last data-entry actions: additions, edits, deletions and
measurements are reversed through the services; a record someone changed since is
never overwritten."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from teamdash import clock
from teamdash.errors import NotFound
from teamdash.services import measurements, plans, sessions
from teamdash.services.flares import FLARES
from teamdash.services.goals import GOALS
from tests.demo_facts import PLAIN_PATIENT
from tests.ui.helpers import (
    activate,
    answer_next_question,
    choose,
    get_record,
    press_enter,
    settle,
    top_dialog,
    type_into,
)
from ui.dialogs import install_actions
from ui.dialogs.kinds import CONTACT, FLARE, GOAL, SESSION
from ui.dialogs.record_dialog import delete_record, open_record_dialog
from ui.undo import stack_for


class FakeMainWindow(QMainWindow):
    """Only what the main window promises the dialogs (menus, current patient, the
    patient_changed and measurement_selected signals, context)."""

    patient_changed = Signal(int)
    measurement_selected = Signal(int)

    def __init__(self, context):
        super().__init__()
        self.context = context
        self.menus = {name: self.menuBar().addMenu(name) for name in ("File", "Patient", "View", "Help")}
        self._patient = None

    def current_patient_id(self):
        return self._patient

    def open_patient(self, patient_id: int) -> None:
        self._patient = patient_id
        self.patient_changed.emit(patient_id)


@pytest.fixture
def window(qtbot, ui_context):
    win = FakeMainWindow(ui_context)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    return win


def add(qtbot, context, kind, fill, patient_id=PLAIN_PATIENT, owner_id=None):
    record = get_record(context, patient_id)
    open_record_dialog(None, context, kind, patient=record.patient, record=record, owner_id=owner_id)
    dialog = top_dialog(qtbot, f"dialog_{kind.key}")
    fill(dialog)
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    return dialog.result_row


def test_undo_an_addition_deletes_it(qtbot, ui_context):
    flare = add(qtbot, ui_context, FLARE, lambda d: type_into(d.editors["suspected_trigger"].widget, "Gardening"))
    assert FLARES.get(ui_context.actor, flare.id).suspected_trigger == "Gardening"
    stack = stack_for(ui_context)
    assert stack.text() == "Undo add flare"
    stack.undo()
    settle(qtbot, ui_context)
    with pytest.raises(NotFound):
        FLARES.get(ui_context.actor, flare.id)
    assert len(stack) == 0


def test_undo_an_edit_restores_the_previous_values(qtbot, ui_context):
    goal = GOALS.list(ui_context.actor, PLAIN_PATIENT)[0]
    record = get_record(ui_context, PLAIN_PATIENT)
    open_record_dialog(None, ui_context, GOAL, patient=record.patient, record=record, existing=goal)
    dialog = top_dialog(qtbot, "dialog_goal")
    type_into(dialog.editors["text"].widget, "Walk to the shops and back without a rest")
    choose(dialog.editors["status"].widget, "Disc")
    answer_next_question("confirm_yes")
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    edited = GOALS.get(ui_context.actor, goal.id)
    assert (edited.text, edited.status) == ("Walk to the shops and back without a rest", "discontinued")
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    back = GOALS.get(ui_context.actor, goal.id)
    assert (back.text, back.status) == (goal.text, goal.status)
    assert back.version == goal.version + 2  # edit and its reversal are both versioned writes


def test_undo_a_deletion_restores_the_same_record(qtbot, ui_context):
    contact = plans.CONTACTS.list(ui_context.actor, PLAIN_PATIENT)[0]
    answer_next_question("confirm_yes")
    assert delete_record(None, ui_context, CONTACT, contact, patient_id=PLAIN_PATIENT)
    settle(qtbot, ui_context)
    assert all(c.id != contact.id for c in plans.CONTACTS.list(ui_context.actor, PLAIN_PATIENT))
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    back = plans.CONTACTS.get(ui_context.actor, contact.id)
    assert (back.name, back.relationship, back.involved_in_goals) == (
        contact.name,
        contact.relationship,
        contact.involved_in_goals,
    )


def test_undo_goes_back_one_action_at_a_time(qtbot, ui_context):
    first = add(qtbot, ui_context, FLARE, lambda d: type_into(d.editors["suspected_trigger"].widget, "First"))
    second = add(qtbot, ui_context, FLARE, lambda d: type_into(d.editors["suspected_trigger"].widget, "Second"))
    stack = stack_for(ui_context)
    stack.undo()
    settle(qtbot, ui_context)
    assert [f.id for f in FLARES.list(ui_context.actor, PLAIN_PATIENT) if f.id in (first.id, second.id)] == [first.id]
    stack.undo()
    settle(qtbot, ui_context)
    assert not [f for f in FLARES.list(ui_context.actor, PLAIN_PATIENT) if f.id in (first.id, second.id)]


def test_undo_never_overwrites_someone_elses_later_change(qtbot, ui_context, error_boxes):
    session = next(
        s
        for s in sessions.list_sessions(ui_context.actor, PLAIN_PATIENT)
        if s.attendance == "attended" and s.held_at < clock.now()
    )
    record = get_record(ui_context, PLAIN_PATIENT)
    open_record_dialog(None, ui_context, SESSION, patient=record.patient, record=record, existing=session)
    dialog = top_dialog(qtbot, "dialog_session")
    type_into(dialog.editors["minutes"].widget, "50")
    answer_next_question("confirm_yes")
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    mine = sessions.get_session(ui_context.actor, session.id)
    theirs = sessions.update_session(ui_context.actor, session.id, mine.version, note="Changed on another workstation")
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    assert error_boxes and "changed by someone else" in error_boxes[-1]
    now = sessions.get_session(ui_context.actor, session.id)
    assert (now.minutes, now.note, now.version) == (50, "Changed on another workstation", theirs.version)
    assert len(stack_for(ui_context)) == 0  # the failed reversal is not offered again


def test_ctrl_z_in_the_patient_menu_undoes_a_recorded_measurement(qtbot, ui_context, window):
    actions = install_actions(window)
    assert install_actions(window) is actions  # installing twice adds nothing
    assert not actions.record_measurement.isEnabled()  # no patient open yet
    window.open_patient(PLAIN_PATIENT)
    assert actions.record_measurement.isEnabled() and not actions.undo.isEnabled()
    assert actions.record_measurement.shortcut().toString() == "Ctrl+M"
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = top_dialog(qtbot, "dialog_measurement")
    choose(dialog.chooser, "NRS")
    choose(dialog.editors["item_1"].widget, "3")
    before = measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "nrs_pain")
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    added = measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "nrs_pain")
    assert len(added) == len(before) + 1 and added[-1].total == 3.0
    qtbot.waitUntil(lambda: actions.undo.isEnabled())
    assert actions.undo.text() == "Undo record NRS pain"
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, ui_context)
    assert measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "nrs_pain") == before
    assert not actions.undo.isEnabled() and actions.undo.text() == "Undo"


def test_patient_menu_adds_records_and_corrects_the_timeline_selection(qtbot, ui_context, window):
    actions = install_actions(window)
    menu_texts = [a.text() for a in window.menus["Patient"].actions()]
    for text in (
        "&Record measurement…",
        "Add &session…",
        "Add &goal…",
        "Log &flare…",
        "Add sleep &diary night…",
        "Add support &contact…",
        "Add &return-to-work phase…",
        "Undo",
    ):
        assert text in menu_texts
    window.open_patient(PLAIN_PATIENT)
    assert not actions.correct_measurement.isEnabled()
    target = measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "gad7")[-1]
    window.measurement_selected.emit(target.id)  # a point picked on the timeline
    assert actions.correct_measurement.isEnabled()
    actions.correct_measurement.trigger()
    dialog = top_dialog(qtbot, "dialog_measurement")
    assert dialog.existing.id == target.id and dialog.instrument.id == "gad7"
    dialog.reject()
    actions.add_actions["flare"].trigger()
    flare_dialog = top_dialog(qtbot, "dialog_flare")
    assert "TD-00001" in flare_dialog.windowTitle()
    ui_context.presentation.set_privacy(True)  # projector: no names in titles
    flare_dialog.reject()
    actions.add_actions["flare"].trigger()
    qtbot.waitUntil(
        lambda: any(
            w.objectName() == "dialog_flare"
            and w.isVisible()
            and "·" in w.windowTitle()
            and get_record(ui_context, PLAIN_PATIENT).patient.family_name not in w.windowTitle()
            for w in __import__("PySide6.QtWidgets").QtWidgets.QApplication.topLevelWidgets()
        )
    )
    window.open_patient(2)
    assert not actions.correct_measurement.isEnabled()  # the selection belonged to the previous patient


def test_undo_is_offered_only_for_the_open_patient(qtbot, ui_context, window):
    actions = install_actions(window)
    window.open_patient(PLAIN_PATIENT)
    flare = add(qtbot, ui_context, FLARE, lambda d: type_into(d.editors["suspected_trigger"].widget, "Stairs"))
    qtbot.waitUntil(actions.undo.isEnabled)
    window.open_patient(2)
    assert not actions.undo.isEnabled()
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, ui_context)
    assert FLARES.get(ui_context.actor, flare.id).suspected_trigger == "Stairs"  # not undone behind the user's back
    window.open_patient(PLAIN_PATIENT)
    assert actions.undo.isEnabled()
