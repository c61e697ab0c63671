"""Add / edit / delete of every kind of record from the panels, driven from the keyboard:
stored rows are checked through the services, the refreshed tables on screen, every
validation error under its field with nothing saved, and Undo of each action."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from teamdash import clock
from teamdash.services import flares, goals, plans, sessions, sleep_diary
from tests.demo_facts import PLAIN_PATIENT
from tests.ui.helpers import (
    activate,
    answer_next_question,
    choose,
    get_record,
    press_enter,
    settle,
    top_dialog,
    type_clock,
    type_into,
)
from ui.panels import create_panel
from ui.undo import stack_for


@pytest.fixture
def panel_for(qtbot, ui_context):
    def make(code: str, patient_id: int = PLAIN_PATIENT):
        panel = create_panel(code, ui_context)
        qtbot.addWidget(panel)
        panel.resize(1400, 900)
        panel.set_record(get_record(ui_context, patient_id))
        panel.show()
        return panel

    return make


def click(button) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def save_and_wait(qtbot, dialog) -> None:
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def refused(qtbot, dialog, field: str, words: str) -> None:
    """Save is refused with the message under ``field``; the dialog stays open."""
    press_enter(dialog.save_button)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.errors[field].isVisible())
    assert words.lower() in dialog.errors[field].text().lower(), dialog.errors[field].text()
    assert dialog.isVisible()


def select_row(table, predicate) -> object:
    for n, row in enumerate(table.rows_model.rows):
        if predicate(row):
            table.selectRow(n)
            return row
    raise AssertionError("no such row")


# --- sessions ----------------------------------------------------------------------------------


def pt_sessions(context):
    return [s for s in sessions.list_sessions(context.actor, PLAIN_PATIENT) if s.discipline == "pt"]


def test_add_session_from_the_keyboard(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    before = pt_sessions(ui_context)
    click(panel.sessions.add_button)
    dialog = top_dialog(qtbot, "dialog_session")
    assert dialog.editors["discipline"].get() == "pt"
    type_into(dialog.editors["kind"].widget, "Group exercise")
    type_into(dialog.editors["minutes"].widget, "60")
    choose(dialog.editors["clinician"].widget, "Riley")
    type_into(dialog.editors["note"].widget, "Lifting practice went well")
    press_enter(dialog.editors["note"].widget)  # Enter in the note saves the form
    qtbot.waitUntil(lambda: not dialog.isVisible())
    added = [s for s in pt_sessions(ui_context) if s.id not in {b.id for b in before}]
    assert len(added) == 1
    s = added[0]
    assert (s.kind, s.minutes, s.attendance, s.clinician_name, s.note) == (
        "Group exercise",
        60,
        "attended",
        "Riley Brightwater",
        "Lifting practice went well",
    )
    qtbot.waitUntil(lambda: any(r.id == s.id for r in panel.sessions.table.rows_model.rows))
    held = sessions.attendance(pt_sessions(ui_context), "pt", until=clock.now() + dt.timedelta(minutes=1))
    assert f"{held.attended} of {held.booked} attended" in panel.sessions.summary.text()


def test_session_errors_appear_under_their_fields_and_nothing_is_saved(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    before = pt_sessions(ui_context)
    click(panel.sessions.add_button)
    dialog = top_dialog(qtbot, "dialog_session")
    type_into(dialog.editors["kind"].widget, "")
    dialog.editors["kind"].widget.setCurrentText("")
    refused(qtbot, dialog, "kind", "Is required")
    dialog.editors["kind"].set("Review")
    dialog.editors["held_at"].set(clock.now().replace(second=0) + dt.timedelta(days=3))
    refused(qtbot, dialog, "attendance", "cannot be marked attended")
    assert not dialog.errors["kind"].isVisible()  # the earlier complaint is gone
    assert pt_sessions(ui_context) == before


def test_edit_session_asks_first_shows_the_change_and_undo_reverts_it(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    table = panel.sessions.table
    target = select_row(table, lambda s: s.attendance == "attended" and s.held_at < clock.now())
    activate(table)
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_Return)  # Enter on a row edits it
    dialog = top_dialog(qtbot, "dialog_session")
    type_into(dialog.editors["minutes"].widget, "30")
    seen = answer_next_question("cancel")
    press_enter(dialog.save_button)
    assert "Minutes: 45 → 30" in seen[0] or f"Minutes: {target.minutes} → 30" in seen[0]
    assert dialog.isVisible() and sessions.get_session(ui_context.actor, target.id).minutes == target.minutes
    answer_next_question("confirm_yes")
    save_and_wait(qtbot, dialog)
    assert sessions.get_session(ui_context.actor, target.id).minutes == 30
    qtbot.waitUntil(lambda: next(r for r in table.rows_model.rows if r.id == target.id).minutes == 30)
    assert stack_for(ui_context).text() == "Undo edit session"
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    assert sessions.get_session(ui_context.actor, target.id).minutes == target.minutes


def test_delete_session_with_the_delete_key_and_undo(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    table = panel.sessions.table
    target = select_row(table, lambda s: True)
    answer_next_question("confirm_yes")
    activate(table)
    QTest.keyClick(table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: all(s.id != target.id for s in pt_sessions(ui_context)))
    qtbot.waitUntil(lambda: all(r.id != target.id for r in table.rows_model.rows))
    stack_for(ui_context).undo()
    settle(qtbot, ui_context)
    back = sessions.get_session(ui_context.actor, target.id)
    assert (back.held_at, back.kind, back.attendance) == (target.held_at, target.kind, target.attendance)
    qtbot.waitUntil(lambda: any(r.id == target.id for r in table.rows_model.rows))


# --- goals ---------------------------------------------------------------------------------------


def test_add_goal_linked_to_a_measure_fills_the_baseline_and_shows_progress(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    record = panel.record
    first_phq9 = [m for m in record.series("phq9") if m.taken_at.date() >= record.patient.episode_start][0].total
    click(panel.goals.add_button)
    dialog = top_dialog(qtbot, "dialog_goal")
    type_into(dialog.editors["text"].widget, "Mood back to minimal: PHQ-9 under 5 by spring")
    choose(dialog.editors["instrument"].widget, "PHQ-9")
    assert dialog.editors["baseline_value"].get() == f"{first_phq9:g}"  # filled from the first score
    type_into(dialog.editors["target_value"].widget, str(int(first_phq9) + 2))
    refused(qtbot, dialog, "target_value", "a better score is below the baseline")
    type_into(dialog.editors["target_value"].widget, "4")
    type_into(dialog.editors["due_on"].widget, "2025-01-01")
    refused(qtbot, dialog, "due_on", "is before the date the goal was set")
    type_into(dialog.editors["due_on"].widget, "2027-03-31")
    save_and_wait(qtbot, dialog)
    goal = next(g for g in goals.GOALS.list(ui_context.actor, PLAIN_PATIENT) if g.text.startswith("Mood back"))
    assert (goal.instrument, goal.baseline_value, goal.target_value, goal.due_on) == (
        "phq9",
        first_phq9,
        4.0,
        dt.date(2027, 3, 31),
    )
    qtbot.waitUntil(lambda: any(v.id == goal.id for v in panel.goals.table.rows_model.rows))
    view = next(v for v in panel.goals.table.rows_model.rows if v.id == goal.id)
    latest = [m for m in record.series("phq9") if m.total is not None][-1].total
    assert view.progress == goals.progress(goal, latest)


def test_a_goal_without_text_is_refused(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    before = goals.GOALS.list(ui_context.actor, PLAIN_PATIENT)
    click(panel.goals.add_button)
    dialog = top_dialog(qtbot, "dialog_goal")
    refused(qtbot, dialog, "text", "Is required")
    assert goals.GOALS.list(ui_context.actor, PLAIN_PATIENT) == before


# --- PT: graded activity plan and weekly log, flares ------------------------------------------------


def test_new_graded_plan_and_a_logged_week(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    part = panel.parts["graded_activity"]
    click(part.plan.add_button)
    dialog = top_dialog(qtbot, "dialog_graded_plan")
    type_into(dialog.editors["activity"].widget, "Sitting at a desk")
    for name, value in (
        ("baseline_tolerance", "20"),
        ("current_level", "20"),
        ("target_level", "15"),
        ("weekly_increment", "5"),
    ):
        type_into(dialog.editors[name].widget, value)
    refused(qtbot, dialog, "target_level", "must be above the baseline tolerance")
    type_into(dialog.editors["target_level"].widget, "60")
    save_and_wait(qtbot, dialog)
    plan = next(
        p for p in plans.GRADED_PLANS.list(ui_context.actor, PLAIN_PATIENT) if p.activity == "Sitting at a desk"
    )
    qtbot.waitUntil(lambda: part.plan.chooser.count() == 2)
    assert part.plan.chooser.isVisibleTo(part.plan)  # several plans: a chooser appears
    part.plan.chooser.setCurrentIndex(part.plan.chooser.findData(plan.id))
    assert part.plan.figures["target"].text() == "60 minutes"
    assert "0 % of the way to target" in part.plan.progress.format()
    click(part.weeks.add_button)
    week = top_dialog(qtbot, "dialog_graded_week")
    for name, value in (("planned_level", "25"), ("achieved_level", "22"), ("adherence_pct", "140")):
        type_into(week.editors[name].widget, value)
    refused(qtbot, week, "adherence_pct", "above the maximum 100")
    type_into(week.editors["adherence_pct"].widget, "80")
    save_and_wait(qtbot, week)
    logged = plans.GRADED_WEEKS.list(ui_context.actor, plan.id)
    assert [(w.planned_level, w.achieved_level, w.adherence_pct) for w in logged] == [(25.0, 22.0, 80)]
    qtbot.waitUntil(lambda: len(part.weeks.table.rows_model.rows) == 1)
    assert part.plan.selected().plan.id == plan.id  # the refresh kept the chosen plan
    assert "80 % over the last 1 logged week" in part.plan.adherence.text()


def test_log_a_flare_and_refuse_one_in_the_future(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    card = panel.parts["flares"]
    before = flares.FLARES.list(ui_context.actor, PLAIN_PATIENT)
    click(card.add_button)
    dialog = top_dialog(qtbot, "dialog_flare")
    dialog.editors["started_on"].set(clock.today() + dt.timedelta(days=3))
    refused(qtbot, dialog, "started_on", "is after")
    type_clock(dialog.editors["started_on"].widget, (clock.today() - dt.timedelta(days=2)).strftime("%Y%m%d"))
    type_into(dialog.editors["severity"].widget, "7")
    type_into(dialog.editors["suspected_trigger"].widget, "Long drive")
    type_into(dialog.editors["what_helped"].widget, "Pacing, heat, short walks")
    save_and_wait(qtbot, dialog)
    added = [f for f in flares.FLARES.list(ui_context.actor, PLAIN_PATIENT) if f.id not in {b.id for b in before}]
    assert [(f.started_on, f.severity, f.suspected_trigger, f.days_to_recover) for f in added] == [
        (clock.today() - dt.timedelta(days=2), 7, "Long drive", None)
    ]
    qtbot.waitUntil(lambda: any(r.id == added[0].id for r in card.table.rows_model.rows))
    assert "not yet recovered" in card.summary.text()


# --- psychology: course and practice ---------------------------------------------------------------


def test_course_modules_cannot_exceed_the_total_and_practice_is_logged(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    part = panel.parts["courses"]
    course = part.course.selected().course
    click(part.course.edit_button)
    dialog = top_dialog(qtbot, "dialog_course")
    type_into(dialog.editors["modules_done"].widget, str(course.modules_total + 1))
    answer_next_question("confirm_yes")  # an edit is confirmed first; the service then refuses it
    refused(qtbot, dialog, "modules_done", f"cannot exceed the {course.modules_total} modules")
    assert plans.COURSES.get(ui_context.actor, course.id).version == course.version
    dialog.reject()
    click(part.practice.add_button)
    week = top_dialog(qtbot, "dialog_practice")
    type_into(week.editors["minutes"].widget, "95")
    save_and_wait(qtbot, week)
    practice = plans.PRACTICE.list(ui_context.actor, course.id)
    assert practice[-1].minutes == 95 or any(p.minutes == 95 for p in practice)
    qtbot.waitUntil(lambda: any(p.minutes == 95 for p in part.practice.table.rows_model.rows))


# --- nutrition / sleep hygiene / social: plan items -------------------------------------------------


def test_nutrition_plan_item(qtbot, ui_context, panel_for):
    panel = panel_for("nutrition")
    click(panel.plan_items.add_button)
    dialog = top_dialog(qtbot, "dialog_plan_item")
    categories = [
        dialog.editors["category"].widget.itemData(i) for i in range(dialog.editors["category"].widget.count())
    ]
    assert categories == ["meal_regularity", "hydration", "dietary_trigger", "plan_adherence"]  # from disciplines.toml
    choose(dialog.editors["category"].widget, "Hyd")
    type_into(dialog.editors["text"].widget, "Two litres of water a day")
    type_into(dialog.editors["adherence_pct"].widget, "150")
    refused(qtbot, dialog, "adherence_pct", "above the maximum 100")
    type_into(dialog.editors["adherence_pct"].widget, "70")
    save_and_wait(qtbot, dialog)
    item = next(
        p for p in plans.PLAN_ITEMS.list(ui_context.actor, PLAIN_PATIENT) if p.text == "Two litres of water a day"
    )
    assert (item.category, item.discipline, item.adherence_pct, item.status) == (
        "hydration",
        "nutrition",
        70,
        "planned",
    )
    qtbot.waitUntil(lambda: any(r.id == item.id for r in panel.plan_items.table.rows_model.rows))


# --- sleep diary -------------------------------------------------------------------------------------


def test_diary_night_with_computed_sleep_time_and_efficiency(qtbot, ui_context, panel_for):
    panel = panel_for("sleep", 8)
    card = panel.parts["sleep_diary"].nights
    click(card.add_button)
    dialog = top_dialog(qtbot, "dialog_night")
    night = clock.today() - dt.timedelta(days=20)
    type_clock(dialog.editors["night_of"].widget, night.strftime("%Y%m%d"))
    for name, digits in (("bed_time", "2245"), ("lights_out", "2300"), ("final_wake", "0630"), ("out_of_bed", "0700")):
        type_clock(dialog.editors[name].widget, digits)
    type_into(dialog.editors["sol_minutes"].widget, "300")
    type_into(dialog.editors["waso_minutes"].widget, "300")
    refused(qtbot, dialog, "waso_minutes", "exceed the 450 min from lights out (23:00) to final wake (06:30)")
    type_into(dialog.editors["sol_minutes"].widget, "20")
    type_into(dialog.editors["waso_minutes"].widget, "40")
    type_into(dialog.editors["awakenings"].widget, "2")
    choose(dialog.editors["quality"].widget, "4")
    save_and_wait(qtbot, dialog)
    saved = next(n for n in sleep_diary.NIGHTS.list(ui_context.actor, 8) if n.night_of == night)
    assert (saved.tib_minutes, saved.tst_minutes) == (495.0, 390.0)  # 22:45→07:00; 450 − 20 − 40
    assert round(saved.efficiency, 1) == 78.8
    qtbot.waitUntil(lambda: any(r.id == saved.id for r in card.table.rows_model.rows))
    row = next(n for n, r in enumerate(card.table.rows_model.rows) if r.id == saved.id)
    model = card.table.rows_model
    shown = {
        model.headerData(c, Qt.Orientation.Horizontal): model.index(row, c).data() for c in range(model.columnCount())
    }
    assert (shown["TST"], shown["SE"], shown["TIB"]) == ("6 h 30", "79 %", "8 h 15")
    weeks = panel.parts["sleep_diary"].trend.weeks.rows_model.rows
    assert any(w.week_start == night - dt.timedelta(days=night.weekday()) for w in weeks)


def test_a_night_in_the_future_is_refused(qtbot, ui_context, panel_for):
    panel = panel_for("sleep", 8)
    before = sleep_diary.NIGHTS.list(ui_context.actor, 8)
    click(panel.parts["sleep_diary"].nights.add_button)
    dialog = top_dialog(qtbot, "dialog_night")
    dialog.editors["night_of"].set(clock.today() + dt.timedelta(days=1))
    refused(qtbot, dialog, "night_of", "is after")
    assert sleep_diary.NIGHTS.list(ui_context.actor, 8) == before


# --- social work: contacts and return-to-work phases -----------------------------------------------


def test_support_contact(qtbot, ui_context, panel_for):
    panel = panel_for("social")
    card = panel.parts["support_network"]
    click(card.add_button)
    dialog = top_dialog(qtbot, "dialog_contact")
    refused(qtbot, dialog, "name", "Is required")
    type_into(dialog.editors["name"].widget, "Sam Carter")
    type_into(dialog.editors["relationship"].widget, "partner")
    activate(dialog.editors["involved_in_goals"].widget)
    dialog.editors["involved_in_goals"].widget.setFocus()
    QTest.keyClick(dialog.editors["involved_in_goals"].widget, Qt.Key.Key_Space)
    type_into(dialog.editors["contact"].widget, "07700 900123")
    save_and_wait(qtbot, dialog)
    contact = next(c for c in plans.CONTACTS.list(ui_context.actor, PLAIN_PATIENT) if c.name == "Sam Carter")
    assert (contact.relationship, contact.involved_in_goals, contact.contact) == ("partner", True, "07700 900123")
    qtbot.waitUntil(lambda: any(r.id == contact.id for r in card.table.rows_model.rows))
    involved = sum(1 for c in plans.CONTACTS.list(ui_context.actor, PLAIN_PATIENT) if c.involved_in_goals)
    assert card.summary.text().startswith(f"{involved} of ")


def test_next_return_to_work_phase_continues_the_current_one(qtbot, ui_context, panel_for):
    panel = panel_for("social")
    part = panel.parts["return_to_work"]
    current = panel.record.current_rtw_phase
    click(part.add_button)
    dialog = top_dialog(qtbot, "dialog_rtw_phase")
    assert dialog.editors["phase"].get() == current.phase + 1  # the next phase is offered
    assert dialog.editors["employer_contact"].get() == current.employer_contact
    type_into(dialog.editors["hours_per_week"].widget, "90")
    refused(qtbot, dialog, "hours_per_week", "above the maximum 80")
    type_into(dialog.editors["hours_per_week"].widget, "24")
    save_and_wait(qtbot, dialog)
    phases = plans.RTW_PHASES.list(ui_context.actor, PLAIN_PATIENT)
    assert (phases[-1].phase, phases[-1].hours_per_week) == (current.phase + 1, 24.0)
    qtbot.waitUntil(lambda: len(part.timeline.spans) == len(phases))
    assert phases[-1].label in part.current.text()
    stack_for(ui_context).undo()  # the addition is undone: the phase is deleted again
    settle(qtbot, ui_context)
    assert [p.id for p in plans.RTW_PHASES.list(ui_context.actor, PLAIN_PATIENT)] == [p.id for p in phases[:-1]]
    qtbot.waitUntil(lambda: len(part.timeline.spans) == len(phases) - 1)


def test_an_edit_that_lost_the_race_says_so_and_overwrites_nothing(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    table = panel.sessions.table
    target = select_row(table, lambda s: s.attendance == "attended" and s.held_at < clock.now())
    panel.sessions.edit_selected()
    dialog = top_dialog(qtbot, "dialog_session")
    # Meanwhile, on another workstation:
    theirs = sessions.update_session(ui_context.actor, target.id, target.version, note="Entered at reception")
    type_into(dialog.editors["minutes"].widget, "20")
    answer_next_question("confirm_yes")
    press_enter(dialog.save_button)
    seen = answer_next_question("cancel")  # "Keep editing" in the box showing both versions
    qtbot.waitUntil(lambda: dialog.banner.isVisible())
    assert "saved a change to this session while you were editing it" in seen[0]
    assert "changed on another workstation. Your input is kept" in dialog.banner.text()
    now = sessions.get_session(ui_context.actor, target.id)
    assert (now.minutes, now.note, now.version) == (target.minutes, "Entered at reception", theirs.version)
    assert dialog.isVisible() and dialog.editors["minutes"].get() == 20
