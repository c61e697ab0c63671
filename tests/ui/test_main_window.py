"""The main window: opening on the first flagged patient, selection drives the patient
view, writes refresh what they touch, settings survive a restart, first start, scale."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QPushButton

from teamdash.services import chart, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from tests.databases import url_of
from tests.demo_facts import CHOSEN_PATIENT, DEMO_TODAY, clinic_id
from tests.ui.helpers import settle
from ui.changes import Changes
from ui.main_window import MainWindow
from ui.patient_list import COLUMN_KEYS
from ui.settings import Settings


def open_window(qtbot, context, patient_id=None, *, size=(1400, 900)) -> MainWindow:
    window = MainWindow(context, database="test database")
    qtbot.addWidget(window)
    if size:
        window.resize(*size)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=15000):
        window.start(patient_id)
    settle(qtbot, context)
    return window


@pytest.fixture
def window(qtbot, context):
    yield open_window(qtbot, context)
    context.jobs.wait()


def test_opens_on_the_first_flagged_patient_with_safety_first(window):
    first = patients.list_patients(
        SYSTEM, PatientQuery(flagged=True, status="active", sort="flags", limit=1, today=DEMO_TODAY)
    ).rows[0]
    assert first.has_safety_flag
    assert window.current_patient_id() == first.id
    header = window.patient_view.header
    assert header.clinic_id.text() == first.clinic_id
    assert header.name.text() == first.full_name
    assert header.flag_texts()[0].startswith("⚠")  # the safety flag heads the list
    assert all(f.reason in " ".join(header.flag_texts()) for f in first.flags if f.kind == "safety")
    row = window.list_panel.model.row_of(first.id)
    assert window.list_panel.table.currentIndex().row() == row


def test_choosing_a_patient_in_the_list_updates_header_timeline_and_cards(qtbot, window, context):
    model = window.list_panel.model
    target = next(
        model.patient_at(r) for r in range(model.rowCount()) if model.patient_at(r).id != window.current_patient_id()
    )
    with qtbot.waitSignal(window.patient_changed) as changed:
        window.list_panel.table.setCurrentIndex(model.index(model.row_of(target.id), COLUMN_KEYS.index("name")))
    assert changed.args == [target.id]
    qtbot.waitUntil(
        lambda: window.patient_view.record is not None and window.patient_view.record.patient.id == target.id
    )
    view = window.patient_view
    assert view.header.name.text() == target.full_name
    assert view.header.manager_button.full_text == f"Case manager: {target.case_manager}"
    rec = chart.get_record(SYSTEM, target.id, today=DEMO_TODAY)
    odi = [m.total for m in rec.series("odi")]
    if odi:
        assert list(view.timeline.plot_for("odi").points.getData()[1]) == odi
    pt_card = view.cards.discipline_cards["pt"].body.text()
    assert "NRS pain" in pt_card or "ODI" in pt_card or "No measures" in pt_card


def test_menus_other_parts_extend(window):
    assert set(window.menus) >= {"File", "Patient", "View", "Help"}
    assert all(isinstance(m, QMenu) for m in window.menus.values())
    assert window.context is not None


def test_next_and_previous_patient_follow_the_list(qtbot, window):
    model = window.list_panel.model
    start_row = model.row_of(window.current_patient_id())
    with qtbot.waitSignal(window.patient_changed) as moved:
        window.next_action.trigger()
    assert moved.args == [model.patient_at(start_row + 1).id]
    with qtbot.waitSignal(window.patient_changed) as moved:
        window.previous_action.trigger()
    assert moved.args == [model.patient_at(start_row).id]


def test_a_new_measurement_appears_on_the_timeline_and_in_the_list(qtbot, window, context):
    patient_id = window.current_patient_id()
    plot = window.patient_view.timeline.plot_for("nrs_pain")
    before = len(plot.points.getData()[0])
    new = measurements.record_measurement(
        SYSTEM,
        patient_id,
        "nrs_pain",
        [8],
        taken_at=dt.datetime(2026, 11, 27, 22, 0),
        now=dt.datetime(2026, 11, 27, 23, 0),
    )
    context.changes.emit(Changes.of(patient_id, "measurement"))
    settle(qtbot, context)
    xs, ys = plot.points.getData()
    assert len(xs) == before + 1 and xs[-1] == new.taken_at.timestamp() and ys[-1] == 8.0
    row = window.list_panel.model.patient_at(window.list_panel.model.row_of(patient_id))
    assert row.pain_latest == 8.0
    assert "NRS pain</b> 8/10" in window.patient_view.cards.discipline_cards["pt"].body.text()


def test_a_change_to_another_patient_leaves_the_open_one_alone(qtbot, window, context):
    shown = window.patient_view.record
    context.changes.emit(Changes.of(window.current_patient_id() + 1, "measurement"))
    settle(qtbot, context)
    assert window.patient_view.record is shown  # not reloaded


def test_another_workstations_write_is_picked_up_by_polling(qtbot, window, context):
    patient_id = window.current_patient_id()
    measurements.record_measurement(
        SYSTEM,
        patient_id,
        "nrs_pain",
        [7],
        taken_at=dt.datetime(2026, 11, 27, 21, 0),
        now=dt.datetime(2026, 11, 27, 23, 0),
    )  # no change-bus signal: as if elsewhere
    with qtbot.waitSignal(context.changes.changed, timeout=5000) as remote:
        window._poll_other_workstations()
    change = remote.args[0]
    assert "remote" in change.kinds and change.patient_ids == frozenset({patient_id})
    assert [(r.entity, r.patient_id, r.action) for r in change.records] == [
        ("measurement", patient_id, "measurement.create")
    ]
    settle(qtbot, context)
    assert window.list_panel.model.patient_at(window.list_panel.model.row_of(patient_id)).pain_latest == 7.0


def test_tabs_by_shortcut_create_the_discipline_panel(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.patient_view.current_tab() == "psychology"
    panel = window.patient_view.panels["psychology"]
    assert panel.record is window.patient_view.record
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.patient_view.current_tab() == "overview"


def test_ctrl_plus_and_minus_scale_the_whole_ui(qtbot, window):
    app = QApplication.instance()
    font, sheet = app.font(), app.styleSheet()
    try:
        header = window.list_panel.table.horizontalHeader()
        id_width = header.sectionSize(COLUMN_KEYS.index("clinic_id"))
        QTest.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
        assert window.scale == pytest.approx(1.1)
        assert header.sectionSize(COLUMN_KEYS.index("clinic_id")) == round(id_width * 1.1)  # columns grow with the text
        assert app.font().pointSizeF() == pytest.approx(11.0)
        assert "font-size: 12.1pt" in app.styleSheet()  # the search box's 11pt, scaled
        QTest.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
        assert window.scale == pytest.approx(0.9)
        assert app.font().pointSizeF() == pytest.approx(9.0)
        axis_font = window.patient_view.timeline.normalised.plot.getAxis("left").style["tickFont"]
        assert axis_font.pointSizeF() == pytest.approx(8.0 * 0.9)
    finally:
        app.setFont(font)
        app.setStyleSheet(sheet)


def test_geometry_splitters_and_last_patient_survive_a_restart(qtbot, context, tmp_path):
    first = open_window(qtbot, context)
    other = first.list_panel.model.patient_at(3).id
    first.open_patient(other)
    first.list_panel.model.sort(COLUMN_KEYS.index("age"), Qt.SortOrder.DescendingOrder)
    settle(qtbot, context)
    first.resize(780, 560)  # small: restoreGeometry keeps a window on the (800x800 offscreen) screen
    remembered = first.size()  # no narrower than the window's minimum
    main_state, overview_state = first.splitter.saveState(), first.patient_view.overview.saveState()
    first.close()
    settle(qtbot, context)
    saved = Settings(context.settings)
    assert saved.last_patient() == other
    assert saved.splitter("main") == main_state and saved.splitter("overview") == overview_state

    again = open_window(qtbot, context, size=None)  # as remembered
    assert again.current_patient_id() == other
    assert again.size() == remembered  # not the 1440x900 of a first start
    assert not again.patient_view.auto_split  # the overview split came from the settings
    assert (again.list_panel.model.query.sort, again.list_panel.model.query.descending) == ("age", True)


def test_a_patient_chosen_at_start_is_opened(qtbot, context):
    wanted = patients.find_by_clinic_id(SYSTEM, clinic_id(CHOSEN_PATIENT)).id
    window = open_window(qtbot, context, wanted)
    assert window.current_patient_id() == wanted


def test_status_bar_shows_database_and_counts(window):
    counts = window.counts
    assert counts.total == patients.count_patients(SYSTEM)
    assert "test database" in window.database_label.text()
    assert f"{counts.total} patients" in window.counts_label.text()
    assert f"{counts.flagged} flagged" in window.counts_label.text()


def test_privacy_mode_hides_name_and_date_of_birth_in_the_header(qtbot, window, context):
    header = window.patient_view.header
    detail = window.patient_view.record.patient
    assert "born" in header.facts.full_text
    context.presentation.set_privacy(True)
    assert header.name.text() == detail.initials
    assert "born" not in header.facts.full_text and detail.family_name not in header.facts.full_text
    context.presentation.set_privacy(False)


def test_an_empty_database_offers_the_demo_clinic(qtbot, database, tmp_path, new_context):
    ctx = new_context()
    window = MainWindow(ctx, database=str(database))
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=10000):
        window.start()
    assert window.pages.currentWidget() is window.first_start
    assert not window.first_start.import_button.isEnabled()  # no import feature registered under File yet
    window.first_start.demo_size.setValue(4)
    window.first_start.demo_button.click()
    qtbot.waitUntil(
        lambda: window.pages.currentWidget() is window.splitter and window.current_patient_id() is not None,
        timeout=30000,
    )
    settle(qtbot, ctx)
    assert window.counts.total == 4
    assert window.list_panel.model.total == patients.count_patients(
        SYSTEM, PatientQuery(status="active", today=DEMO_TODAY)
    )


def test_cancelling_the_demo_clinic_leaves_the_database_empty(qtbot, database, tmp_path, new_context):
    ctx = new_context()
    window = MainWindow(ctx, database=str(database))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=10000):
        window.start()
    page = window.first_start
    page.demo_size.setValue(1200)  # three chunks: cancelling is checked between them
    page.demo_button.click()
    assert page.progress is not None and page.job is not None
    cancel = next(b for b in page.progress.findChildren(QPushButton) if b.text() == "Cancel")
    cancel.click()
    qtbot.waitUntil(lambda: page.job is None, timeout=30000)  # the job ended (rolled back, no error dialog)
    settle(qtbot, ctx)
    assert patients.count_patients(SYSTEM) == 0
    assert window.pages.currentWidget() is page and page.demo_button.isEnabled()


def test_first_start_import_uses_file_import_when_it_exists(qtbot, database, tmp_path, new_context):
    ctx = new_context()
    window = MainWindow(ctx, database=str(database))
    qtbot.addWidget(window)
    triggered = []
    action = window.menus["File"].addAction("Import…")
    action.triggered.connect(lambda: triggered.append(True))
    window.show()
    with qtbot.waitSignal(window.ready, timeout=10000):
        window.start()
    assert window.first_start.import_button.isEnabled()
    window.first_start.import_button.click()
    assert triggered == [True]


def test_the_app_installs_data_entry_and_exchange_actions(qtbot, clinic, tmp_path):
    from PySide6.QtCore import QSettings

    from ui.app import open_session
    from ui.app import settle as settle_app

    app = QApplication.instance()
    font, sheet = app.font(), app.styleSheet()  # open_session styles the whole application
    try:
        session = open_session(url_of(clinic), None, QSettings(str(tmp_path / "app.ini"), QSettings.Format.IniFormat))
        window = session.window
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        window.start()
        assert settle_app(session, timeout=30)
        file_actions = {a.objectName() for a in window.menus["File"].actions()}
        patient_actions = {a.text().replace("&", ""): a for a in window.menus["Patient"].actions()}
        assert {"import", "export"} <= file_actions
        record = patient_actions["Record measurement…"]
        assert record.shortcut().toString() == "Ctrl+M" and record.isEnabled()  # a patient is open
        window.poll.stop()
        session.context.jobs.wait()
    finally:
        app.setFont(font)
        app.setStyleSheet(sheet)
