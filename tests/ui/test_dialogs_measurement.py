"""Recording, correcting and deleting measurements through the generated form, driven
as a user would: open from the panel, pick answers with the keyboard, save with Enter."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from teamdash import clock
from teamdash.clinical import instruments
from teamdash.services import audit, measurements
from tests.demo_facts import PLAIN_PATIENT
from tests.ui.helpers import answer_next_question, choose, get_record, press_enter, settle, top_dialog, type_into
from ui.panels import create_panel
from ui.undo import stack_for


@pytest.fixture
def psychology(qtbot, ui_context):
    panel = create_panel("psychology", ui_context)
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.set_record(get_record(ui_context, PLAIN_PATIENT))
    panel.show()
    return panel


def open_form(qtbot, panel, instrument_id: str):
    QTest.mouseClick(panel.instruments.lines[instrument_id].record, Qt.MouseButton.LeftButton)
    return top_dialog(qtbot, "dialog_measurement")


def answer(dialog, answers: dict[int, str]) -> None:
    for number, keys in answers.items():
        choose(dialog.editors[f"item_{number}"].widget, keys)


def stored(context, instrument_id: str):
    return measurements.list_measurements(context.actor, PLAIN_PATIENT, instrument_id)


PHQ9_MILD = {1: "1", 2: "2", 3: "1", 4: "0", 5: "3", 6: "1", 7: "0", 8: "0", 9: "0"}  # total 8


def test_phq9_recorded_from_the_panel_shows_live_total_and_updates_the_panel(qtbot, ui_context, psychology):
    before = stored(ui_context, "phq9")
    dialog = open_form(qtbot, psychology, "phq9")
    assert dialog.chooser is None  # opened for PHQ-9: no instrument to choose
    taken = dialog.editors["taken_at"].get()
    assert abs(taken - clock.now()) < dt.timedelta(minutes=2)  # defaults to now
    answer(dialog, PHQ9_MILD)
    assert dialog.total_label.text() == "PHQ-9: 8 points"
    assert dialog.band_label.text() == "Mild"
    assert not dialog.safety_label.isVisible()
    press_enter(dialog.editors["item_9"].widget)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    after = stored(ui_context, "phq9")
    assert len(after) == len(before) + 1
    new = after[-1]
    assert (new.total, new.band, new.entered_by) == (8.0, "Mild", ui_context.actor.user_id)
    assert new.responses == [1, 2, 1, 0, 3, 1, 0, 0, 0]
    qtbot.waitUntil(lambda: psychology.instruments.lines["phq9"].value.text() == "8")
    line = psychology.instruments.lines["phq9"]
    assert line.band.text() == "Mild"
    assert (
        line.count.text()
        == f"n = {len([m for m in after if m.taken_at.date() >= psychology.record.patient.episode_start])}"
    )


def test_a_missing_phq9_item_9_is_named_under_it_and_nothing_is_saved(qtbot, ui_context, psychology):
    # Prorating allows blanks, but never item 9: a blank safety item must not hide a flag.
    before = stored(ui_context, "phq9")
    dialog = open_form(qtbot, psychology, "phq9")
    answer(dialog, {n: v for n, v in PHQ9_MILD.items() if n != 9})
    assert dialog.total_label.text() == "PHQ-9: incomplete"
    assert "Not yet answered: item 9" in dialog.status_label.text()
    press_enter(dialog.editors["item_8"].widget)
    qtbot.waitUntil(lambda: dialog.errors["item_9"].isVisible())
    assert "item 9 must always be answered" in dialog.errors["item_9"].text()
    assert dialog.isVisible()
    assert dialog.focusWidget() is dialog.editors["item_9"].widget
    assert stored(ui_context, "phq9") == before


def test_a_prorated_phq9_says_so_in_the_form_and_the_panel(qtbot, ui_context, psychology):
    dialog = open_form(qtbot, psychology, "phq9")
    assert dialog.recall_label.text() == "Recall period: the last 2 weeks"
    assert dialog.recall_label.isVisible()
    answer(dialog, {n: v for n, v in PHQ9_MILD.items() if n != 5})
    # 8 answered items sum to 5: 5 / 8 x 9 = 5.625, rounded half up to 6
    assert dialog.total_label.text() == "PHQ-9: 6 points"
    assert dialog.status_label.text().startswith("Prorated total: item 5 left blank")
    press_enter(dialog.editors["item_9"].widget)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    new = stored(ui_context, "phq9")[-1]
    assert (new.total, new.prorated, new.details["missing_items"]) == (6.0, True, [5])
    line = psychology.instruments.lines["phq9"]
    qtbot.waitUntil(lambda: line.taken.text().endswith("· prorated"))
    assert "Total prorated from 8 of 9 items" in line.value.toolTip()


def test_odi_allows_one_missing_section_but_not_two(qtbot, ui_context, psychology):
    dialog = psychology.record_measurement(None) or top_dialog(qtbot, "dialog_measurement")
    choose(dialog.chooser, "ODI")
    assert dialog.instrument.id == "odi"
    answer(dialog, dict.fromkeys(range(1, 10), "2"))  # section 10 left blank
    assert dialog.total_label.text() == "ODI: 40 %"  # 18 / 45 x 100: the missing section leaves the denominator
    assert "Item 10 left blank" in dialog.status_label.text()
    QTest.keyClick(dialog.editors["item_9"].widget, Qt.Key.Key_Home)  # back to "—": a second blank section
    dialog.save()
    qtbot.waitUntil(lambda: dialog.errors["item_10"].isVisible())
    assert "at most 1 of 10 items may be missing" in dialog.errors["item_10"].text()
    assert measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "odi")[-1].taken_at.date() < clock.today()
    choose(dialog.editors["item_9"].widget, "2")
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    latest = measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "odi")[-1]
    assert latest.total == 40.0 and latest.details["missing_items"] == [10]


def test_typed_values_outside_the_range_are_rejected_live_and_on_save(qtbot, ui_context, psychology):
    before = measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "six_minute_walk")
    psychology.record_measurement(None)
    dialog = top_dialog(qtbot, "dialog_measurement")
    choose(dialog.chooser, "6MWT")
    field = dialog.editors["item_1"].widget
    type_into(field, "1500")
    assert dialog.errors["item_1"].isVisible()
    assert "1500 is outside 0–1000 m" in dialog.errors["item_1"].text()
    press_enter(field)
    qtbot.waitUntil(lambda: dialog.errors["item_1"].isVisible() and not dialog.busy)
    type_into(field, "abc")
    assert "is not a number" in dialog.errors["item_1"].text()
    press_enter(field)
    qtbot.waitUntil(lambda: not dialog.busy)
    assert dialog.isVisible()
    assert measurements.list_measurements(ui_context.actor, PLAIN_PATIENT, "six_minute_walk") == before


def test_taken_at_in_the_future_and_duplicates_are_refused_next_to_the_date(qtbot, ui_context, psychology):
    before = stored(ui_context, "phq9")
    dialog = open_form(qtbot, psychology, "phq9")
    answer(dialog, PHQ9_MILD)
    dialog.editors["taken_at"].set(clock.now() + dt.timedelta(days=2))
    press_enter(dialog.editors["item_1"].widget)
    qtbot.waitUntil(lambda: dialog.errors["taken_at"].isVisible())
    assert "is in the future" in dialog.errors["taken_at"].text()
    dialog.editors["taken_at"].set(before[-1].taken_at)  # the time of an existing PHQ-9
    press_enter(dialog.editors["item_1"].widget)
    qtbot.waitUntil(lambda: "duplicate" in dialog.errors["taken_at"].text())
    assert stored(ui_context, "phq9") == before


def test_the_chooser_starts_at_the_panels_first_measure_and_then_the_last_one_used(qtbot, ui_context, psychology):
    dialog = psychology.record_measurement(None)
    assert dialog.chooser.currentData() == "phq9"  # psychology's first key measure
    choose(dialog.chooser, "GAD")
    answer(dialog, dict.fromkeys(range(1, 8), "1"))
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    from ui.dialogs.measurement_dialog import MeasurementDialog

    from_menu = MeasurementDialog(ui_context, psychology.record.patient)  # no discipline: Ctrl+M
    assert from_menu.chooser.currentData() == "gad7"


def test_escape_cancels_without_saving(qtbot, ui_context, psychology):
    before = stored(ui_context, "phq9")
    dialog = open_form(qtbot, psychology, "phq9")
    answer(dialog, PHQ9_MILD)
    QTest.keyClick(dialog.editors["item_3"].widget, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    settle(qtbot, ui_context)
    assert stored(ui_context, "phq9") == before


def test_tab_order_follows_the_form(qtbot, ui_context, psychology):
    psychology.record_measurement(None)
    dialog = top_dialog(qtbot, "dialog_measurement")
    choose(dialog.chooser, "GAD")
    expected = [
        dialog.chooser,
        dialog.editors["taken_at"].widget,
        *(dialog.editors[f"item_{n}"].widget for n in range(1, 8)),
        dialog.editors["note"].widget,
        dialog.save_button,
    ]
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.chooser.setFocus()
    walked = [dialog.focusWidget()]
    for _ in expected[1:]:
        QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
        walked.append(dialog.focusWidget())
    # a QDateTimeEdit hands focus to its inner line edit; compare the owning widgets
    owners = [w if w in expected else w.parentWidget() for w in walked]
    assert owners == expected


def test_positive_item_9_warns_live_and_leads_to_a_recorded_acknowledgement(qtbot, ui_context, psychology):
    dialog = open_form(qtbot, psychology, "phq9")
    answer(dialog, {**PHQ9_MILD, 9: "1"})
    assert dialog.safety_label.isVisible()
    assert "assess suicide risk" in dialog.safety_label.text()
    press_enter(dialog.editors["item_9"].widget)
    ack = top_dialog(qtbot, "dialog_acknowledge")
    saved = stored(ui_context, "phq9")[-1]
    assert saved.safety and saved.safety_open
    # The flag shows on the panel, open, before anyone acknowledges it.
    qtbot.waitUntil(lambda: psychology.safety.open_count() == 1)
    press_enter(ack.editors["action_taken"].widget)  # nothing typed: refused, nothing stored
    qtbot.waitUntil(lambda: ack.errors["action_taken"].isVisible())
    assert "required" in ack.errors["action_taken"].text()
    assert measurements.get_measurement(ui_context.actor, saved.id).safety_open
    type_into(ack.editors["action_taken"].widget, "Risk assessed by phone; safety plan agreed; GP informed")
    press_enter(ack.editors["action_taken"].widget)
    qtbot.waitUntil(lambda: not ack.isVisible())
    done = measurements.get_measurement(ui_context.actor, saved.id)
    assert not done.safety_open
    assert done.acknowledged_by == ui_context.actor.display_name
    assert done.action_taken == "Risk assessed by phone; safety plan agreed; GP informed"
    qtbot.waitUntil(lambda: psychology.safety.open_count() == 0 and len(psychology.safety.boxes) == 1)
    text = psychology.safety.boxes[0].findChild(type(psychology.safety.none), "safety_text").text()
    assert "acknowledged by" in text and ui_context.actor.display_name in text and "safety plan agreed" in text


def test_correcting_a_measurement_asks_first_and_undo_puts_the_old_values_back(qtbot, ui_context, psychology):
    original = stored(ui_context, "gad7")[-1]
    history = psychology.show_history("gad7")
    assert history.table.selected().id == original.id  # newest first, selected
    QTest.mouseClick(history.edit_button, Qt.MouseButton.LeftButton)
    dialog = top_dialog(qtbot, "dialog_measurement")
    assert dialog.total_label.text().startswith(f"GAD-7: {instruments.get('gad7').format(original.total)}")
    new_first = "3" if original.responses[0] != 3 else "0"
    choose(dialog.editors["item_1"].widget, new_first)
    seen = answer_next_question("cancel")
    dialog.save()
    assert seen and "Save the corrected GAD-7" in seen[0]
    assert (
        dialog.isVisible() and measurements.get_measurement(ui_context.actor, original.id).version == original.version
    )
    answer_next_question("confirm_yes")
    dialog.save()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    corrected = measurements.get_measurement(ui_context.actor, original.id)
    assert corrected.responses[0] == int(new_first) and corrected.version == original.version + 1
    qtbot.waitUntil(lambda: history.table.row_at(0).version == corrected.version)
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    restored = measurements.get_measurement(ui_context.actor, original.id)
    assert restored.responses == original.responses and restored.total == original.total


def test_deleting_a_measurement_keeps_an_audit_copy_and_undo_restores_it(qtbot, ui_context, psychology):
    target = stored(ui_context, "pcs")[-1]
    history = psychology.show_history("pcs")
    answer_next_question("confirm_yes")
    QTest.mouseClick(history.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(m.id != target.id for m in stored(ui_context, "pcs")))
    deleted = audit.events(patient_id=PLAIN_PATIENT, action_prefix="measurement.delete")
    assert deleted[0].entity_id == target.id
    assert (deleted[0].before["total"], deleted[0].before["responses"]) == (target.total, target.responses)
    qtbot.waitUntil(lambda: all(r.id != target.id for r in history.table.rows_model.rows))
    assert stack_for(ui_context).text() == "Undo delete PCS"
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    back = measurements.get_measurement(ui_context.actor, target.id)
    assert (back.total, back.responses, back.taken_at) == (target.total, target.responses, target.taken_at)
    qtbot.waitUntil(lambda: any(r.id == target.id for r in history.table.rows_model.rows))


def test_cancel_at_the_delete_question_keeps_the_measurement(qtbot, ui_context, psychology):
    target = stored(ui_context, "pcs")[-1]
    history = psychology.show_history("pcs")
    answer_next_question("cancel")
    QTest.keyClick(history.table, Qt.Key.Key_Delete)
    settle(qtbot, ui_context)
    assert measurements.get_measurement(ui_context.actor, target.id).id == target.id
    assert len(stack_for(ui_context)) == 0


def test_a_viewer_cannot_open_data_entry(qtbot, ui_context, psychology):
    from teamdash.services.auth import Actor

    ui_context.actor = Actor(None, "viewer", "Read Only", "viewer")
    psychology.set_record(get_record(ui_context, PLAIN_PATIENT))
    psychology.record_measurement("phq9")
    settle(qtbot, ui_context)
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "dialog_measurement" and w.isVisible()]
    assert not psychology.sessions.add_button.isEnabled()
    assert not psychology.instruments.lines["phq9"].record.isEnabled()
    assert not psychology.instruments.findChild(QPushButton, "record_measurement").isEnabled()
