"""Switching the acting user: entries are attributed to the person at the workstation,
and the choice is remembered for the next start."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from teamdash.errors import NotFound
from teamdash.services import auth, staff
from teamdash.services.auth import SYSTEM
from tests.ui.helpers import settle
from tests.ui.test_main_window import open_window
from ui import user_switch


def _psychologist():
    return next(m for m in staff.list_staff(SYSTEM) if m.discipline == "psychology")


def test_switch_user_dialog_lists_staff_and_sets_the_actor(qtbot, context):
    window = open_window(qtbot, context)
    user_switch.install_actions(window)
    assert window.findChild(type(window.quit_action), "switch_user") in window.menus["File"].actions()
    dialog = user_switch.UserDialog(context, window)
    qtbot.addWidget(dialog)
    settle(qtbot, context)
    names = [dialog.people.item(i).text().split("  ·  ")[0] for i in range(dialog.people.count())]
    assert names == sorted(m.full_name for m in staff.list_staff(SYSTEM))
    target = _psychologist()
    dialog.people.setCurrentRow(names.index(target.full_name))
    seen = []
    context.changes.changed.connect(seen.append)
    dialog.accept()
    user_switch.switch_to(window, dialog.chosen)
    assert (context.actor.user_id, context.actor.display_name) == (target.id, target.full_name)
    assert window.user_label.text() == f"Acting as {target.full_name}"
    assert context.settings.value(user_switch.SETTING) == target.username
    assert seen and seen[-1].kinds == frozenset({"user"})


def test_the_remembered_user_comes_back_at_the_next_start(clinic, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert user_switch.remembered_actor(settings, None) == SYSTEM
    settings.setValue(user_switch.SETTING, _psychologist().username)
    assert user_switch.remembered_actor(settings, None).display_name == _psychologist().full_name
    settings.setValue(user_switch.SETTING, "left-the-team")
    assert user_switch.remembered_actor(settings, None) == SYSTEM
    with pytest.raises(NotFound):
        user_switch.remembered_actor(settings, "nobody-by-this-name")
    assert user_switch.remembered_actor(settings, "rbrightwater") == auth.actor_for("rbrightwater")
