"""Two workstations editing one clinic, as a user meets it: both versions shown before
anything is overwritten, an open form that says its record changed underneath it,
other workstations' changes appearing without a restart, and a lost connection in the
status bar with the unsaved input kept."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash import clock
from teamdash.errors import ConnectionLost
from teamdash.services import changes as remote
from teamdash.services import goals, measurements
from teamdash.services.auth import SYSTEM, actor_for
from tests.demo_facts import ADMINISTRATOR, PLAIN_PATIENT
from tests.ui.helpers import answer_next_question, get_record, press_enter, settle, top_dialog, type_into
from tests.ui.test_main_window import open_window
from ui.dialogs.kinds import GOAL
from ui.dialogs.record_dialog import open_record_dialog

LOST = ConnectionLost(
    "lost the connection to the database server postgresql://clinic-db/teamdash (server closed the connection "
    "unexpectedly); nothing from the action in progress was saved. TeamDash reconnects as soon as the server "
    "answers: try again in a moment"
)


@pytest.fixture
def shell(qtbot, clinic, new_context):
    """Main windows on the clinic, each closed at the end of the test once its database
    jobs have answered (no polling, listening or reloading after the test)."""
    opened = []

    def make(actor=SYSTEM):
        context = new_context(actor)
        window = open_window(qtbot, context, PLAIN_PATIENT)
        opened.append((context, window))
        return context, window

    yield make
    for context, _window in opened:
        context.jobs.wait()


def close(qtbot, window) -> None:
    settle(qtbot, window.context)
    window.close()
    settle(qtbot, window.context)


def a_goal(context):
    """A goal the context's user may edit: one of their discipline's when they have one."""
    listed = goals.GOALS.list(context.actor, PLAIN_PATIENT)
    own = [g for g in listed if g.discipline == context.actor.discipline]
    return (own or listed)[0]


def edit_goal_dialog(qtbot, context, goal):
    record = get_record(context, PLAIN_PATIENT)
    open_record_dialog(None, context, GOAL, patient=record.patient, record=record, existing=goal)
    return top_dialog(qtbot, "dialog_goal")


def save_with_confirmation(dialog) -> None:
    answer_next_question("confirm_yes")
    press_enter(dialog.save_button)


def test_a_lost_race_shows_both_versions_and_overwrite_keeps_mine(qtbot, ui_context):
    goal = a_goal(ui_context)
    dialog = edit_goal_dialog(qtbot, ui_context, goal)
    goals.GOALS.update(SYSTEM, goal.id, goal.version, text="Theirs: walk to the park")  # another workstation
    type_into(dialog.editors["text"].widget, "Mine: walk to the shop")
    save_with_confirmation(dialog)
    seen = answer_next_question("conflict_overwrite")
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert "Mine: walk to the shop" in seen[0] and "Theirs: walk to the park" in seen[0]
    stored = goals.GOALS.get(SYSTEM, goal.id)
    assert (stored.text, stored.version) == ("Mine: walk to the shop", goal.version + 2)


def test_a_lost_race_reloaded_shows_theirs_and_saves_nothing(qtbot, ui_context):
    goal = a_goal(ui_context)
    dialog = edit_goal_dialog(qtbot, ui_context, goal)
    theirs = goals.GOALS.update(SYSTEM, goal.id, goal.version, text="Theirs: walk to the park")
    type_into(dialog.editors["text"].widget, "Mine: walk to the shop")
    save_with_confirmation(dialog)
    answer_next_question("conflict_reload")
    qtbot.waitUntil(lambda: dialog.editors["text"].get() == "Theirs: walk to the park")
    assert dialog.isVisible() and "your edits were discarded" in dialog.banner.text()
    assert goals.GOALS.get(SYSTEM, goal.id).version == theirs.version
    # Saving now edits their version, without another question about it.
    type_into(dialog.editors["text"].widget, "Agreed: walk to the park and back")
    save_with_confirmation(dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert goals.GOALS.get(SYSTEM, goal.id).text == "Agreed: walk to the park and back"


def test_an_open_form_says_when_its_record_changes_on_another_workstation(qtbot, shell):
    context, window = shell(actor_for("athistledown"))
    goal = a_goal(context)
    dialog = edit_goal_dialog(qtbot, context, goal)
    type_into(dialog.editors["text"].widget, "Half typed")
    other = actor_for(ADMINISTRATOR)  # writes every discipline's goals
    goals.GOALS.update(other, goal.id, goal.version, text="Changed elsewhere")  # another workstation, no signal here
    window._poll_other_workstations()
    qtbot.waitUntil(dialog.banner.isVisible)
    assert dialog.banner.text().startswith(f"{other.display_name} changed this goal on another workstation at 14:30")
    assert "Your input is kept" in dialog.banner.text()
    assert dialog.editors["text"].get() == "Half typed"
    dialog.reject()
    close(qtbot, window)


def test_another_workstations_measurement_appears_in_the_open_patient(qtbot, shell):
    _context, window = shell()
    before = len(window.patient_view.record.measurements)
    measurements.record_measurement(
        SYSTEM, PLAIN_PATIENT, "nrs_pain", [9], taken_at=clock.now() - dt.timedelta(hours=1)
    )
    window._poll_other_workstations()
    qtbot.waitUntil(lambda: len(window.patient_view.record.measurements) == before + 1)
    model = window.list_panel.model
    qtbot.waitUntil(lambda: model.patient_at(model.row_of(PLAIN_PATIENT)).pain_latest == 9.0)
    close(qtbot, window)


@pytest.fixture
def lost_connection(monkeypatch):
    """The database server away: every look for changes and every ping fails."""
    state = {"down": True}

    def changes_since(actor, event_id):
        if state["down"]:
            raise LOST
        return remote.RemoteChanges(event_id, frozenset())

    def ping():
        if state["down"]:
            raise LOST

    monkeypatch.setattr(remote, "changes_since", changes_since)
    monkeypatch.setattr(remote, "ping", ping)
    return state


def test_a_lost_connection_shows_in_the_status_bar_and_recovers(qtbot, shell, lost_connection, error_boxes):
    context, window = shell()
    window._poll_other_workstations()
    label = window.connection_label
    qtbot.waitUntil(label.isVisible)
    assert "Connection to the database lost" in label.text() and "unsaved input is kept" in label.text()
    assert "server closed the connection" in label.toolTip()
    assert window.poll.interval() == 3000  # retried every few seconds
    window._poll_other_workstations()  # still away
    settle(qtbot, context)
    assert window.offline is not None
    lost_connection["down"] = False
    window._poll_other_workstations()
    qtbot.waitUntil(lambda: label.text() == "Connection restored")
    assert window.offline is None and window.poll.interval() != 3000  # back to looking for changes
    assert error_boxes == []  # said in the status bar, not in a dialog per failed job
    close(qtbot, window)


def test_a_save_that_loses_the_connection_keeps_the_form_and_its_input(qtbot, shell, monkeypatch, error_boxes):
    context, window = shell(actor_for("athistledown"))
    goal = a_goal(context)
    dialog = edit_goal_dialog(qtbot, context, goal)
    type_into(dialog.editors["text"].widget, "Typed before the network went")

    def cut(*_args, **_kwargs):
        raise LOST

    monkeypatch.setattr(goals.GOALS, "update", cut)
    save_with_confirmation(dialog)
    qtbot.waitUntil(dialog.banner.isVisible)
    assert "nothing from the action in progress was saved" in dialog.banner.text()
    assert dialog.isVisible() and dialog.editors["text"].get() == "Typed before the network went"
    assert window.connection_label.isVisible() and window.offline is not None
    assert error_boxes == []
    monkeypatch.undo()
    save_with_confirmation(dialog)  # the connection is back: the same input is saved
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert goals.GOALS.get(SYSTEM, goal.id).text == "Typed before the network went"
    close(qtbot, window)
