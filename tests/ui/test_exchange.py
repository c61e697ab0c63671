"""File → Export… and File → Import…: the export dialog runs the export on the job runner
with progress and Cancel; the import wizard picks file and sheet, shows the matched
columns, checks every row, imports and tells the views to refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMenu

from teamdash.clinical import disciplines
from teamdash.errors import Cancelled, NotFound
from teamdash.exchange.export import ExportOptions
from teamdash.services import audit
from teamdash.services.auth import Actor
from teamdash.storage.models import Measurement, Patient
from tests.demo_facts import DEMO_TODAY, SAFETY_PATIENT, clinic_id
from ui import exchange
from ui.changes import Changes

WAIT = 60_000


@pytest.fixture(autouse=True)
def errors_shown(monkeypatch) -> list[str]:
    """Error dialogs would block the test: record them instead."""
    shown: list[str] = []
    monkeypatch.setattr(exchange, "show_error", lambda parent, exc, title="": shown.append(str(exc)))
    return shown


def export_dialog(qtbot, context, patient_id=None):
    dialog = exchange.ExportDialog(context, patient_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.case_manager.count() > 1, timeout=WAIT)  # loaded on the database thread
    return dialog


# --- export ------------------------------------------------------------------------------------


def test_export_dialog_writes_the_workbook_with_progress_and_audits_it(qtbot, context, tmp_path):
    dialog = export_dialog(qtbot, context)
    path = tmp_path / "cohort.xlsx"
    dialog.out.setText(str(path))
    seen = []
    dialog.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.exported, timeout=WAIT) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        assert not dialog.kind.isEnabled() and dialog.cancel_button.text() == "Cancel"  # locked while it runs
    result = done.args[0]
    assert path.exists() and result.path == path and result.patients == Patient.select().count()
    assert load_workbook(path, read_only=True).sheetnames[0] == "Cohort"
    assert dialog.progress.value() == dialog.progress.maximum() and len(seen) > 1
    assert f"to {path}" in dialog.message.text() and dialog.open_button.isVisible()
    assert dialog.kind.isEnabled() and dialog.cancel_button.text() == "Close"
    assert audit.events(action_prefix="export", limit=1)[0].details["total_rows"] == result.total_rows
    assert context.settings.value(exchange.LAST_FOLDER) == str(tmp_path)


def test_status_filter_offers_the_programmes_statuses(qtbot, context):
    dialog = export_dialog(qtbot, context)
    offered = [(dialog.status.itemData(i), dialog.status.itemText(i)) for i in range(dialog.status.count())]
    assert offered == [(None, "Any status"), *disciplines.patient_status_choices()]


def test_filters_in_the_dialog_become_export_options(qtbot, context):
    dialog = export_dialog(qtbot, context)
    dialog.status.setCurrentIndex(dialog.status.findData("discharged"))
    dialog.discipline.setCurrentIndex(dialog.discipline.findData("sleep"))
    dialog.case_manager.setCurrentIndex(dialog.case_manager.findText("Jordan Ambersmith"))
    dialog.use_from.setChecked(True)
    dialog.date_from.setDate(dialog.date_from.date().addMonths(-2))
    dialog.deidentify.setChecked(True)
    options, clinic_id = dialog.options()
    manager = dialog.case_manager.currentData()
    assert options == ExportOptions(
        kind="cohort",
        date_from=dt.date(2025, 11, 1),
        status="discharged",
        case_manager_id=manager,
        discipline="sleep",
        deidentify=True,
    )
    assert clinic_id is None and isinstance(manager, int)
    dialog.kind.setCurrentIndex(dialog.kind.findData("patient"))
    assert not dialog.deidentify.isEnabled() and not dialog.deidentify.isChecked()
    dialog.kind.setCurrentIndex(dialog.kind.findData("cohort"))
    assert dialog.deidentify.isEnabled() and dialog.patient.text() == ""


def test_the_current_patient_is_offered_for_a_per_patient_workbook(qtbot, context, tmp_path):
    patient = Patient.get(Patient.id == SAFETY_PATIENT)
    dialog = export_dialog(qtbot, context, patient_id=patient.id)
    qtbot.waitUntil(lambda: dialog.current_clinic_id == clinic_id(SAFETY_PATIENT), timeout=WAIT)
    assert dialog.patient.text() == ""  # a cohort export is not narrowed to the open patient
    dialog.kind.setCurrentIndex(dialog.kind.findData("patient"))
    assert dialog.patient.text() == clinic_id(SAFETY_PATIENT)
    assert dialog.out.text().endswith(f"teamdash-patient-{clinic_id(SAFETY_PATIENT)}-{DEMO_TODAY}.xlsx")
    path = tmp_path / "one.xlsx"
    dialog.out.setText(str(path))
    with qtbot.waitSignal(dialog.exported, timeout=WAIT):
        dialog.start()
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Summary" and wb["Summary"]["B2"].value == clinic_id(SAFETY_PATIENT)
    assert wb["Physical therapy"]._charts


def test_cancel_stops_the_export_and_writes_nothing(qtbot, context, tmp_path):
    dialog = export_dialog(qtbot, context)
    dialog.kind.setCurrentIndex(dialog.kind.findData("long"))
    path = tmp_path / "big.xlsx"
    dialog.out.setText(str(path))
    with qtbot.waitSignal(dialog.failed, timeout=WAIT) as failed:
        dialog.start()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert isinstance(failed.args[0], Cancelled)
    assert dialog.message.text() == "Export cancelled: no file was written."
    assert not path.exists() and dialog.isVisible() and dialog.export_button.isEnabled()
    assert audit.events(action_prefix="export", limit=1) == []


def test_a_problem_is_shown_and_nothing_is_written(qtbot, context, tmp_path, errors_shown):
    dialog = export_dialog(qtbot, context)
    dialog.patient.setText("TD-99999")
    path = tmp_path / "x.xlsx"
    dialog.out.setText(str(path))
    with qtbot.waitSignal(dialog.failed, timeout=WAIT) as failed:
        dialog.start()
    assert isinstance(failed.args[0], NotFound)
    assert errors_shown == ["no patient with clinic ID 'TD-99999'"] and not path.exists()
    dialog.kind.setCurrentIndex(dialog.kind.findData("patient"))
    dialog.patient.clear()
    dialog.start()
    assert dialog.message.text() == "A per-patient workbook needs the patient's clinic ID." and not dialog.running


def test_a_viewer_cannot_start_an_export(qtbot, clinic, tmp_path, new_context):
    context = new_context(Actor(None, "v", "Vera Viewer", "viewer"))
    dialog = exchange.ExportDialog(context)
    qtbot.addWidget(dialog)
    assert not dialog.export_button.isEnabled() and "may not export" in dialog.message.text()
    context.jobs.wait()


# --- import ---------------------------------------------------------------------------------------


def write_csv(path, rows, header="Patient ID,Instrument,Taken at,Item 1,Note"):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def open_wizard(qtbot, context, path):
    wizard = exchange.ImportWizard(context)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.file_page.set_file(str(path))
    qtbot.waitUntil(lambda: bool(wizard.sheets), timeout=WAIT)  # read on the database thread
    return wizard


def test_wizard_imports_a_csv_and_the_views_hear_about_it(qtbot, context, tmp_path):
    path = write_csv(
        tmp_path / "pain.csv",
        ["TD-00001,nrs_pain,2026-11-20 09:00,4,after gardening", "TD-00002,nrs_pain,2026-11-20 09:05,6,"],
    )
    wizard = open_wizard(qtbot, context, path)
    assert wizard.kind == "measurements" and "looks like measurements" in wizard.file_page.info.text()
    wizard.next()
    page = wizard.mapping_page
    assert wizard.currentPage() is page
    assert page.combos["patient"].currentText() == "Patient ID" and page.combos["item_1"].currentText() == "Item 1"
    assert page.combos["total"].currentData() is None and page.isComplete()
    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(lambda: check.checked is not None, timeout=WAIT)
    assert check.result.toPlainText().startswith("Ready: would import 2 measurements")
    assert check.preview.rowCount() == 2 and check.preview.item(0, 0).text() == "TD-00001"
    before = Measurement.select().count()
    heard = []
    context.changes.changed.connect(heard.append)
    with qtbot.waitSignal(wizard.imported, timeout=WAIT) as done:
        wizard.next()
    assert done.args[0].imported("measurements") == 2
    assert Measurement.select().count() == before + 2
    assert [c.kinds for c in heard] == [frozenset({"import"})] and heard[0].patient_ids is None
    assert wizard.run_page.isComplete() and wizard.run_page.message.text().startswith("Imported 2 measurements")


def test_wizard_shows_problems_blocks_the_import_until_bad_rows_are_skipped(qtbot, context, tmp_path):
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            "TD-00001,nrs_pain,2026-11-20 09:00,4,",
            "TD-77777,nrs_pain,2026-11-20 09:00,5,",
            "TD-00002,nrs_pain,2026-11-20 09:00,12,",
        ],
    )
    wizard = open_wizard(qtbot, context, path)
    wizard.next()
    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(lambda: check.checked is not None, timeout=WAIT)
    text = check.result.toPlainText()
    assert text.startswith("2 problems in 2 rows")
    assert "sheet 'mixed', row 3, column 'Patient ID': unknown patient 'TD-77777'" in text
    assert "row 4, column 'Item 1': item 1 of NRS pain: 12 is outside 0–10" in text
    assert not check.isComplete()
    check.skip.setChecked(True)
    check.run_check()
    qtbot.waitUntil(lambda: check.checked is not None, timeout=WAIT)
    assert check.isComplete()
    assert check.result.toPlainText().startswith("Ready: would import 1 measurement; 2 bad rows skipped.")
    with qtbot.waitSignal(wizard.imported, timeout=WAIT) as done:
        wizard.next()
    report = done.args[0]
    assert report.bad_rows == 2 and report.error_file == tmp_path / "mixed-errors.xlsx" and report.error_file.exists()
    assert "written to" in wizard.run_page.message.text()


def test_wizard_mapping_can_be_changed_by_hand(qtbot, context, tmp_path):
    path = write_csv(tmp_path / "odd.csv", ["TD-00003,NRS pain,2026-11-19 10:00,3"], header="Who,What,Seen,Rating")
    wizard = open_wizard(qtbot, context, path)
    assert wizard.kind is None and not wizard.file_page.isComplete()  # cannot tell: ask
    wizard.file_page.kind.setCurrentIndex(wizard.file_page.kind.findData("measurements"))
    assert wizard.file_page.isComplete()
    wizard.next()
    page = wizard.mapping_page
    assert not page.isComplete()
    for field, header in (("patient", "Who"), ("instrument", "What"), ("taken_at", "Seen"), ("total", "Rating")):
        page.combos[field].setCurrentIndex(page.combos[field].findData(header))
    assert page.isComplete() and page.ignored.text() == "Every column is imported."
    wizard.next()
    qtbot.waitUntil(lambda: wizard.check_page.checked is not None, timeout=WAIT)
    with qtbot.waitSignal(wizard.imported, timeout=WAIT):
        wizard.next()
    assert Measurement.select().order_by(Measurement.id.desc()).first().responses == [3]


def test_wizard_imports_a_whole_teamdash_workbook(qtbot, database, tmp_path, new_context):
    from teamdash.storage.models import User
    from tests.test_export_support import NOW

    path = tmp_path / "team.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Patients"
    ws.append(["Patient ID", "Given name", "Family name", "Date of birth", "Referral date"])
    ws.append(["N-1", "Cedar", "Quill", "1970-01-02", "2026-02-01"])
    ms = wb.create_sheet("Measurements")
    ms.append(["Patient ID", "Instrument", "Taken at", "Item 1"])
    ms.append(["N-1", "nrs_pain", NOW - dt.timedelta(days=3), 5])
    wb.create_sheet("About").append(["Section", "Item", "Value"])
    wb.save(path)
    context = new_context()
    wizard = open_wizard(qtbot, context, path)
    assert wizard.whole_workbook and wizard.file_page.sheet.currentText().startswith("All recognised sheets")
    wizard.next()
    assert wizard.mapping_page.isComplete() and not wizard.mapping_page.table.isEnabled()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.check_page.checked is not None, timeout=WAIT)
    with qtbot.waitSignal(wizard.imported, timeout=WAIT) as done:
        wizard.next()
    assert (done.args[0].imported("patients"), done.args[0].imported("measurements")) == (1, 1)
    assert User.select().count() == 0 and Patient.get().clinic_id == "N-1"


def test_wizard_imports_every_sheet_of_a_long_export_into_an_empty_database(qtbot, clinic, tmp_path, new_context):
    from teamdash.exchange.export import export
    from teamdash.services.auth import SYSTEM
    from teamdash.services.clinic import open_clinic
    from teamdash.storage import db
    from teamdash.storage.models import SleepDiaryNight, User
    from tests.test_export_support import NOW

    path = tmp_path / "long.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long"), now=NOW)
    nights = SleepDiaryNight.select().count()
    team = User.select().count()  # the demo's staff, administrator and quality reviewer included
    db.close()
    open_clinic(f"sqlite:///{tmp_path / 'new.sqlite3'}", create=True)
    context = new_context()
    wizard = open_wizard(qtbot, context, path)
    assert wizard.whole_workbook and wizard.file_page.sheet.currentText() == "All 18 recognised sheets"
    info = wizard.file_page.info.text()
    assert "in this order" in info and info.index("Staff") < info.index("Patients") < info.index("Sleep diary")
    assert wizard.file_page.kind.findText("Graded activity weeks") > 0  # every kind can be chosen for one sheet
    wizard.next()
    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(lambda: check.checked is not None, timeout=WAIT)
    text = check.result.toPlainText()
    assert text.startswith(f"Ready: would import {team} staff members, 60 patients, ") and team == 10
    assert "Sheet 'Safety acknowledgements' as safety acknowledgements: 2 rows." in text
    with qtbot.waitSignal(wizard.imported, timeout=WAIT) as done:
        wizard.next()
    assert done.args[0].imported("sleep_diary") == nights == SleepDiaryNight.select().count() > 0
    context.jobs.wait()


def test_wizard_says_why_a_file_cannot_be_read(qtbot, context, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n" + b"\x00" * 100)
    wizard = exchange.ImportWizard(context)
    qtbot.addWidget(wizard)
    wizard.file_page.set_file(str(path))
    qtbot.waitUntil(lambda: "not a spreadsheet" in wizard.file_page.info.text(), timeout=WAIT)
    assert not wizard.file_page.isComplete()


# --- the menu -----------------------------------------------------------------------------------------


class FakeWindow(QMainWindow):
    def __init__(self, context, patient_id=None):
        super().__init__()
        self.context = context
        self.menus = {"File": QMenu("&File", self)}
        self.quit_action = self.menus["File"].addAction("&Quit")
        self._patient = patient_id

    def current_patient_id(self):
        return self._patient


def test_install_actions_adds_import_and_export_above_quit(qtbot, context):
    window = FakeWindow(context, patient_id=Patient.get(Patient.clinic_id == "TD-00004").id)
    qtbot.addWidget(window)
    import_action, export_action = exchange.install_actions(window)
    actions = window.menus["File"].actions()
    assert [a.text() for a in actions if not a.isSeparator()] == ["&Import…", "&Export…", "&Quit"]
    assert import_action.objectName() == "import" and export_action.isEnabled()
    export_action.trigger()
    dialog = window.findChild(exchange.ExportDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.current_clinic_id == "TD-00004", timeout=WAIT)
    dialog.close()
    import_action.trigger()
    assert window.findChild(exchange.ImportWizard).isVisible()


def test_actions_are_disabled_for_roles_without_the_permission(qtbot, clinic, tmp_path, new_context):
    context = new_context(Actor(None, "c", "Cleo Clinician", "clinician"))
    window = FakeWindow(context)
    qtbot.addWidget(window)
    import_action, export_action = exchange.install_actions(window)
    assert export_action.isEnabled() and not import_action.isEnabled()
    assert "may not import" in import_action.toolTip()
    # File → Switch user: a case manager takes the workstation.
    context.actor = Actor(None, "m", "Max Manager", "case_manager")
    context.changes.emit(Changes(None, frozenset({"user"})))
    assert import_action.isEnabled() and "may not" not in import_action.toolTip()
    context.actor = Actor(None, "v", "Vera Viewer", "viewer")
    context.changes.emit(Changes(None, frozenset({"measurement"})))  # not a user switch: unchanged
    assert import_action.isEnabled()
    context.changes.emit(Changes(None, frozenset({"user"})))
    assert not import_action.isEnabled() and not export_action.isEnabled()


def test_closing_the_wizard_during_a_check_cancels_it_first(qtbot, context, tmp_path):
    rows = [f"TD-00001,nrs_pain,2026-11-{1 + i // 24:02d} {i % 24:02d}:00,{i % 10}," for i in range(400)]
    path = write_csv(tmp_path / "many.csv", rows)
    wizard = open_wizard(qtbot, context, path)
    wizard.next()
    wizard.next()  # the check starts on the database thread
    assert wizard.busy()
    wizard.reject()
    assert wizard.isVisible()  # not while its job could still answer
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT)
    assert not wizard.busy()
