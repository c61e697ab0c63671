"""The shared workstation in the window: the sign-in dialog, the status bar, auto-lock
with a fake idle clock (nothing of the patient visible while locked, the unsaved form
back after unlocking, kept from the next user), the staff screen, the audit screen,
and what each role is offered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from teamdash.services import accounts, audit, patients, staff
from teamdash.services.auth import SYSTEM, actor_for
from tests.ui.helpers import settle, shot, top_dialog, type_into
from tests.ui.test_main_window import open_window
from ui import user_switch
from ui.changes import Changes
from ui.dialogs.patient_menu import install_actions as install_patient_menu
from ui.security.audit_screen import AuditDialog
from ui.security.lock import LOCK_WARNING_S, LOCKED_TITLE
from ui.security.signin import ChangePasswordDialog, SignInDialog
from ui.security.staff_screen import MemberDialog, ResetPasswordDialog, StaffDialog

DEMO_PASSWORD = "demo-clinic-2026"


class FakeIdleClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def visible_texts() -> list[str]:
    """Every text a person could read now: window titles, labels, fields, buttons and
    the cells of every visible list or table, in every visible window."""
    texts: list[str] = []
    for top in QApplication.topLevelWidgets():
        if not top.isVisible():
            continue
        texts.append(top.windowTitle())
        for widget in [top, *top.findChildren(QWidget)]:
            if not widget.isVisible():
                continue
            if isinstance(widget, (QLabel, QLineEdit, QAbstractButton)):
                texts.append(widget.text())
            elif isinstance(widget, (QPlainTextEdit, QTextEdit)):
                texts.append(widget.toPlainText())
            elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
                model = widget.model()
                for row in range(min(model.rowCount(), 200)):
                    for column in range(model.columnCount()):
                        value = model.data(model.index(row, column))
                        if value is not None:
                            texts.append(str(value))
            texts.append(widget.toolTip())
    return texts


@pytest.fixture
def signed_in(qtbot, clinic, tmp_path, new_context):
    """The main window with the security actions, a demo psychologist signed in, a
    fake idle clock."""
    context = new_context(actor_for("athistledown"))
    window = open_window(qtbot, context, patient_id=8)
    install_patient_menu(window)
    lock = user_switch.install_actions(window)
    idle = FakeIdleClock()
    lock.monitor.clock = idle
    lock.start()
    settle(qtbot, context)
    yield window, lock, idle, context
    lock.shutdown()
    lock.parked.clear()
    context.jobs.wait()
    for widget in QApplication.topLevelWidgets():
        if widget is not window and widget.isVisible():
            widget.close()


def test_the_status_bar_names_who_is_signed_in(signed_in):
    window, _lock, _idle, _context = signed_in
    assert window.user_label.text() == "Signed in: Avery Thistledown (clinician, Psychology)"


def test_sign_in_dialog_says_what_went_wrong_and_signs_in(qtbot, clinic, tmp_path, new_context):
    context = new_context()
    dialog = SignInDialog(context.jobs, database="demo", username="rbrightwater")
    qtbot.addWidget(dialog)
    dialog.show()
    type_into(dialog.form.password, "not the password")
    QTest.keyClick(dialog.form.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.form.message.isVisible())
    assert dialog.form.message.text() == "The username or password is wrong."
    assert dialog.form.password.text() == ""  # never left in the field
    for _ in range(accounts.MAX_FAILURES - 1):
        type_into(dialog.form.password, "still not it")
        dialog.form.submit()
        settle(qtbot, context)
    assert "is now locked for 15 minutes" in dialog.form.message.text()
    shot(dialog, "sign-in-locked")
    accounts.unlock(SYSTEM, actor_for("rbrightwater").user_id)
    type_into(dialog.form.password, DEMO_PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=10000):
        dialog.form.submit()
    assert dialog.actor == actor_for("rbrightwater")


def test_a_forced_password_change_after_a_reset(qtbot, clinic, tmp_path, new_context):
    riley = actor_for("rbrightwater")
    accounts.reset_password(actor_for("ckestrel"), riley.user_id, "temporary secret 7")
    context = new_context()
    change = ChangePasswordDialog(context.jobs, riley, forced=True)
    qtbot.addWidget(change)
    change.show()
    for field, text in (
        (change.current, "temporary secret 7"),
        (change.new, "my own long secret"),
        (change.repeat, "different"),
    ):
        type_into(field, text)
    change.save()
    assert change.message.text() == "The two new passwords differ."
    type_into(change.repeat, "my own long secret")
    with qtbot.waitSignal(change.accepted, timeout=10000):
        change.save()
    assert not accounts.sign_in("rbrightwater", "my own long secret").must_change_password


def _open_form(qtbot, window):
    """Patient → Log flare… for the open patient: a form to leave half-filled."""
    log_flare = next(a for a in window.menus["Patient"].actions() if a.text().replace("&", "") == "Log flare…")
    log_flare.trigger()
    return top_dialog(qtbot, "dialog_flare")


def test_auto_lock_hides_every_patient_detail_and_unlocking_brings_the_form_back(qtbot, signed_in):
    window, lock, idle, context = signed_in
    patient = patients.get_patient(SYSTEM, 8)
    dialog = _open_form(qtbot, window)
    type_into(dialog.editors["note"].widget, "Patient reports better sleep")
    secrets = (patient.family_name, patient.given_name, patient.clinic_id, f"{patient.date_of_birth:%d %b %Y}")
    assert any(patient.family_name in t for t in visible_texts())  # shown before locking
    title = window.windowTitle()
    assert patient.family_name in title  # the open patient names the window (and its task bar entry)

    idle.advance(5 * 60 - LOCK_WARNING_S + 1)
    lock.monitor.check()
    assert lock.warning.isVisible() and "locks in 29 s" in lock.warning.text.text()
    lock.monitor.touch()  # a key press: the warning goes
    assert not lock.warning.isVisible() and not lock.locked
    idle.advance(5 * 60 + 1)
    lock.monitor.check()
    assert lock.locked and window.windowTitle() == LOCKED_TITLE
    context.presentation.set_privacy(True)  # whatever retitles the window meanwhile (here F8's switch)
    assert window.windowTitle() == LOCKED_TITLE
    assert not dialog.isVisible() and not window.menuBar().isVisible() and not window.statusBar().isVisible()
    texts = "\n".join(visible_texts())
    for secret in secrets:
        assert secret not in texts
    assert "Avery Thistledown was signed in" in texts
    shot(window, "locked-window")
    image = window.grab().toImage()
    assert image.width() > 0  # the grab is of the lock page: checked above through its widgets

    # Shortcuts do nothing while locked (Ctrl+M would open a form over the lock).
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, context)
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window] == []

    page = lock.page
    type_into(page.form.password, "wrong password here")
    page.form.submit()
    qtbot.waitUntil(lambda: page.form.message.isVisible())
    assert lock.locked
    type_into(page.form.password, DEMO_PASSWORD)
    page.form.submit()
    qtbot.waitUntil(lambda: not lock.locked)
    # The title comes back as it now reads: initials, presentation mode having been switched on.
    assert window.windowTitle() == f"TeamDash — {patient.initials} · {patient.clinic_id}" != title
    assert dialog.isVisible()
    assert dialog.editors["note"].get() == "Patient reports better sleep"  # nothing lost
    assert audit.events(action_prefix="signin", limit=1)[0].actor_name == "Avery Thistledown"


def test_another_users_sign_in_keeps_the_first_users_form_for_them(qtbot, signed_in):
    window, lock, _idle, context = signed_in
    dialog = _open_form(qtbot, window)
    type_into(dialog.editors["note"].widget, "Half-typed note")
    lock.switch_user()
    assert lock.locked and lock.page.form.username.text() == "" and not lock.page.form.username.isReadOnly()
    type_into(lock.page.form.username, "rbrightwater")
    type_into(lock.page.form.password, DEMO_PASSWORD)
    lock.page.form.submit()
    qtbot.waitUntil(lambda: not lock.locked)
    settle(qtbot, context)
    assert context.actor == actor_for("rbrightwater")
    assert window.user_label.text() == "Signed in: Riley Brightwater (clinician, Physical therapy)"
    assert not dialog.isVisible()  # Avery's form is not shown to Riley
    assert "Half-typed note" not in "\n".join(visible_texts())
    assert lock.kept_for_others() == {(actor_for("athistledown").user_id, "athistledown"): 1}
    assert audit.events(action_prefix="signout", limit=1)[0].actor_name == "Avery Thistledown"
    # Riley sees the open record: that is a view by Riley.
    qtbot.waitUntil(lambda: any(e.actor_name == "Riley Brightwater" for e in audit.events(action_prefix="record.view")))

    lock.switch_user()
    type_into(lock.page.form.username, "athistledown")
    type_into(lock.page.form.password, DEMO_PASSWORD)
    lock.page.form.submit()
    qtbot.waitUntil(lambda: not lock.locked)
    assert dialog.isVisible() and dialog.editors["note"].get() == "Half-typed note"


def test_roles_see_only_what_they_may_do(qtbot, signed_in):
    window, lock, _idle, context = signed_in
    file_actions = {a.objectName(): a for a in window.menus["File"].actions()}
    assert not file_actions["staff"].isVisible() and not file_actions["audit_trail"].isVisible()
    assert file_actions["lock_now"].isVisible() and file_actions["change_password"].isVisible()
    patient_actions = {a.text().replace("&", ""): a for a in window.menus["Patient"].actions()}
    assert not patient_actions["Add action item…"].isVisible()  # case managers' work
    assert patient_actions["Add goal…"].isVisible()
    # The psychologist's own panel is writable; the PT panel is not (P8 is not treated in PT by them).
    view = window.patient_view
    view.show_tab("psychology")
    settle(qtbot, context)
    psych_goals, pt_goals = _card(view, "psychology", "goal"), _card(view, "pt", "goal")
    assert psych_goals.add_button.isEnabled() and not pt_goals.add_button.isEnabled()
    # An administrator sees Staff… and Audit trail…
    context.actor = actor_for("ckestrel")
    context.changes.emit(Changes(None, frozenset({"user"})))
    assert file_actions["staff"].isVisible() and file_actions["audit_trail"].isVisible()
    assert patient_actions["Add action item…"].isVisible()


def _card(view, discipline: str, kind: str):
    panel = view.panel(discipline)
    panel.set_record(view.record)
    return next(c for c in panel.findChildren(QWidget) if getattr(getattr(c, "kind", None), "key", None) == kind)


def test_staff_screen_adds_resets_and_deactivates(qtbot, clinic, tmp_path, new_context):
    admin = actor_for("ckestrel")
    context = new_context(admin)
    screen = StaffDialog(context)
    qtbot.addWidget(screen)
    screen.show()
    settle(qtbot, context)
    names = [screen.model.data(screen.model.index(r, 0)) for r in range(screen.model.rowCount())]
    assert "Riley Brightwater" in names and "Parker Vale" in names
    add = MemberDialog(context, None, screen)
    qtbot.addWidget(add)
    add.show()
    type_into(add.full_name, "Noor Haddad")
    type_into(add.username, "nhaddad")
    add.role.setCurrentIndex(add.role.findData("clinician"))
    add.discipline.setCurrentIndex(add.discipline.findData("nutrition"))
    type_into(add.password, "first password 1")
    type_into(add.repeat, "first password 1")
    with qtbot.waitSignal(add.accepted, timeout=10000):
        add.save()
    noor = staff.find_by_username(SYSTEM, "nhaddad")
    assert (noor.role, noor.discipline, noor.must_change_password) == ("clinician", "nutrition", True)
    screen.reload()
    settle(qtbot, context)
    row = next(r for r in range(screen.model.rowCount()) if screen.model.rows[r].username == "nhaddad")
    screen.table.selectRow(row)
    assert screen.model.data(screen.model.index(row, 5)) == "must choose a password"
    shot(screen, "staff-screen")
    reset = ResetPasswordDialog(context, screen.selected(), screen)
    qtbot.addWidget(reset)
    reset.show()
    type_into(reset.password, "short")
    type_into(reset.repeat, "short")
    reset.save()
    qtbot.waitUntil(lambda: reset.message.isVisible())
    assert "at least 10 characters" in reset.message.text()
    screen.toggle_active()
    settle(qtbot, context)
    assert not staff.find_by_username(SYSTEM, "nhaddad").active
    assert all(m.username != "nhaddad" for m in screen.model.rows)  # hidden until asked for
    screen.show_inactive.setChecked(True)
    settle(qtbot, context)
    row = next(r for r in range(screen.model.rowCount()) if screen.model.rows[r].username == "nhaddad")
    assert screen.model.data(screen.model.index(row, 5)) == "deactivated"
    grey = screen.model.data(screen.model.index(row, 0), Qt.ItemDataRole.ForegroundRole)
    assert grey.color().name() == "#8a94a3"  # a deactivated account reads in grey
    screen.tabs.setCurrentIndex(1)
    settle(qtbot, context)
    assert screen.settings.lock_minutes.value() == 5
    screen.settings.lock_minutes.setValue(10)
    screen.settings.save()
    settle(qtbot, context)
    from teamdash.services import clinic_settings

    assert clinic_settings.current().lock_minutes == 10
    shot(screen, "staff-settings")


def test_audit_screen_filters_and_verifies(qtbot, clinic, tmp_path, new_context):
    from teamdash.services import chart

    chart.get_record(actor_for("rbrightwater"), 12)
    chart.get_record(actor_for("athistledown"), 12)
    admin = actor_for("ckestrel")
    context = new_context(admin)
    screen = AuditDialog(context, clinic_id="TD-00012")
    qtbot.addWidget(screen)
    screen.resize(1180, 720)
    screen.show()
    settle(qtbot, context)
    viewers = {
        screen.model.rows[r].actor_name
        for r in range(screen.model.rowCount())
        if screen.model.rows[r].action == "record.view"
    }
    assert viewers == {"Riley Brightwater", "Avery Thistledown"}
    screen.action.setCurrentIndex(screen.action.findData("record.view"))
    screen.user.setCurrentIndex(
        next(i for i in range(screen.user.count()) if screen.user.itemText(i) == "Riley Brightwater")
    )
    screen.search()
    settle(qtbot, context)
    assert [r.actor_name for r in screen.model.rows] == ["Riley Brightwater"]
    screen.table.selectRow(0)
    assert "record.view by Riley Brightwater" in screen.details.toPlainText()
    screen.verify()
    settle(qtbot, context)
    assert screen.chain.text().startswith("The chain is intact:")
    screen.action.setCurrentIndex(0)
    screen.user.setCurrentIndex(0)
    screen.search()
    settle(qtbot, context)
    shot(screen, "audit-screen")


def test_the_idle_limit_follows_the_clinic_setting(qtbot, signed_in):
    window, lock, idle, context = signed_in
    from teamdash.services import clinic_settings

    clinic_settings.change(actor_for("ckestrel"), "lock_minutes", 2)
    context.changes.emit(Changes(None, frozenset({"settings"})))
    settle(qtbot, context)
    assert lock.monitor.limit_s == 120
    idle.advance(121)
    lock.monitor.check()
    assert lock.locked


def test_quitting_asks_before_discarding_a_form_kept_for_someone(qtbot, signed_in, monkeypatch):
    window, lock, _idle, _context = signed_in
    dialog = _open_form(qtbot, window)
    type_into(dialog.editors["note"].widget, "Unsaved")
    lock.lock()
    asked: list[str] = []
    from PySide6.QtWidgets import QMessageBox

    def answer(_parent, _title, text, *_args):
        asked.append(text)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    window.close()
    assert window.isVisible() and asked and "1 unsaved form is kept for someone" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *_a: QMessageBox.StandardButton.Yes))
    window.close()
    assert not window.isVisible()
