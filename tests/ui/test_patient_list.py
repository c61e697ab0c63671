"""The patient list: paging, search as you type, filters, sort in SQL, refresh after writes."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QPoint, Qt

from teamdash.clinical import disciplines
from teamdash.services import measurements, patients, staff
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from tests.demo_facts import CHOSEN_PATIENT, DEMO_PATIENTS, DEMO_TODAY, SAFETY_PATIENT, clinic_id
from tests.ui.helpers import settle
from ui import patient_list
from ui.changes import Changes
from ui.patient_list import COLUMN_KEYS, FLAGS_ROLE, PatientListModel, PatientListPanel


def column(key: str) -> int:
    return COLUMN_KEYS.index(key)


def service_ids(**query) -> list[int]:
    page = patients.list_patients(SYSTEM, PatientQuery(today=DEMO_TODAY, limit=1000, **query))
    return [r.id for r in page.rows]


@pytest.fixture
def panel(qtbot, context):
    widget = PatientListPanel(context)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    widget.start()
    settle(qtbot, context)
    return widget


def model_ids(model: PatientListModel) -> list[int]:
    return [model.patient_at(r).id for r in range(model.rowCount())]


def test_the_list_opens_with_active_patients_in_agenda_order(panel):
    expected = service_ids(status="active", sort="flags")
    assert model_ids(panel.model) == expected
    assert panel.model.total == len(expected)
    assert panel.count_label.text() == f"{len(expected)} active patients"
    first_flags = panel.model.index(0, column("flags")).data(FLAGS_ROLE)
    assert first_flags[0] == "safety"  # safety first


def test_pages_arrive_as_the_view_asks_for_them(qtbot, context, monkeypatch):
    monkeypatch.setattr(patient_list, "FIRST_PAGE", 25)
    monkeypatch.setattr(patient_list, "PAGE", 20)
    model = PatientListModel(context, query=PatientQuery(sort="name"))
    model.reload()
    settle(qtbot, context)
    assert model.rowCount() == 25 and model.canFetchMore()
    model.fetchMore()
    settle(qtbot, context)
    assert model.rowCount() == 45 and model.canFetchMore()
    model.fetchMore()
    settle(qtbot, context)
    assert model.rowCount() == DEMO_PATIENTS and not model.canFetchMore()
    assert model_ids(model) == service_ids(sort="name")  # no row lost or repeated at page edges


def test_scrolling_the_table_fetches_the_next_page(qtbot, context, monkeypatch):
    monkeypatch.setattr(patient_list, "FIRST_PAGE", 20)
    widget = PatientListPanel(context)
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    widget.status_filter.setCurrentIndex(widget.status_filter.findData(None))
    widget.start()
    settle(qtbot, context)
    assert widget.model.rowCount() == 20
    widget.table.scrollToBottom()
    qtbot.waitUntil(lambda: widget.model.rowCount() > 20 and context.jobs.idle())
    loaded = model_ids(widget.model)
    assert loaded == service_ids(sort="flags")[: len(loaded)]


def test_typing_in_the_search_box_filters_by_name_or_id(qtbot, panel, context):
    qtbot.keyClicks(panel.search, "fennel")
    qtbot.waitUntil(lambda: panel.model.query.search == "fennel" and context.jobs.idle())
    names = [panel.model.patient_at(r).full_name.lower() for r in range(panel.model.rowCount())]
    assert names and all("fennel" in n for n in names)
    assert model_ids(panel.model) == service_ids(status="active", sort="flags", search="fennel")

    panel.search.clear()
    qtbot.keyClicks(panel.search, clinic_id(SAFETY_PATIENT))
    qtbot.waitUntil(lambda: panel.model.query.search == clinic_id(SAFETY_PATIENT) and context.jobs.idle())
    assert [panel.model.patient_at(r).clinic_id for r in range(panel.model.rowCount())] == [clinic_id(SAFETY_PATIENT)]
    assert panel.count_label.text() == "1 matching active patient"


def test_search_waits_for_a_pause_in_typing(qtbot, panel):
    qtbot.keyClicks(panel.search, "fen")
    assert panel.model.query.search == ""  # debounced: nothing ran while typing
    qtbot.waitUntil(lambda: panel.model.query.search == "fen")


def test_a_late_answer_to_an_older_search_is_dropped(qtbot, panel, context):
    panel.model.set_query(search="a")
    panel.model.set_query(search="no such patient")
    settle(qtbot, context)
    assert panel.model.rowCount() == 0 and panel.model.total == 0


def test_enter_in_the_search_box_opens_the_first_match(qtbot, panel, context):
    with qtbot.waitSignal(panel.patient_selected, timeout=5000) as opened:
        qtbot.keyClicks(panel.search, clinic_id(CHOSEN_PATIENT))
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert opened.args == [patients.find_by_clinic_id(SYSTEM, clinic_id(CHOSEN_PATIENT)).id]


def combo_items(combo) -> list[tuple]:
    return [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]


def test_status_filter_offers_the_programmes_statuses(panel):
    assert combo_items(panel.status_filter) == [(None, "All statuses"), *disciplines.patient_status_choices()]
    assert panel.status_filter.currentData() == disciplines.ACTIVE_STATUS


def test_filters_status_case_manager_flagged_and_due(qtbot, panel, context):
    panel.status_filter.setCurrentIndex(panel.status_filter.findData(None))
    settle(qtbot, context)
    assert panel.model.rowCount() == DEMO_PATIENTS

    panel.status_filter.setCurrentIndex(panel.status_filter.findData("discharged"))
    settle(qtbot, context)
    assert model_ids(panel.model) == service_ids(status="discharged", sort="flags")
    assert all(panel.model.patient_at(r).status == "discharged" for r in range(panel.model.rowCount()))

    panel.status_filter.setCurrentIndex(panel.status_filter.findData("active"))
    manager = staff.case_managers(SYSTEM)[0]
    panel.manager_filter.setCurrentIndex(panel.manager_filter.findData(manager.id))
    settle(qtbot, context)
    rows = [panel.model.patient_at(r) for r in range(panel.model.rowCount())]
    assert rows and all(r.case_manager_id == manager.id for r in rows)

    panel.manager_filter.setCurrentIndex(0)
    panel.flagged_filter.click()
    settle(qtbot, context)
    rows = [panel.model.patient_at(r) for r in range(panel.model.rowCount())]
    assert rows and all(r.flags for r in rows)
    assert [r.id for r in rows] == service_ids(status="active", flagged=True, sort="flags")

    panel.flagged_filter.click()
    panel.due_filter.click()
    settle(qtbot, context)
    assert model_ids(panel.model) == service_ids(status="active", due_for_checkin=True, sort="flags")
    rows = [panel.model.patient_at(r) for r in range(panel.model.rowCount())]
    assert all(r.next_checkin <= DEMO_TODAY or "review" in {f.kind for f in r.flags} for r in rows)


def test_clicking_a_header_sorts_in_sql_and_again_reverses(qtbot, panel, context):
    header = panel.table.horizontalHeader()
    age_header = QPoint(header.sectionViewportPosition(column("age")) + 10, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=age_header)
    settle(qtbot, context)
    assert panel.model.query.sort == "age"
    ages = [panel.model.patient_at(r).age for r in range(panel.model.rowCount())]
    first_order = model_ids(panel.model)
    assert first_order == service_ids(status="active", sort="age", descending=panel.model.query.descending)
    assert ages == sorted(ages, reverse=panel.model.query.descending)

    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=age_header)
    settle(qtbot, context)
    ages = [panel.model.patient_at(r).age for r in range(panel.model.rowCount())]
    assert ages == sorted(ages, reverse=panel.model.query.descending)
    assert model_ids(panel.model) != first_order


def test_sort_by_latest_pain_puts_missing_values_last(qtbot, panel, context):
    panel.model.sort(column("pain"), Qt.SortOrder.DescendingOrder)
    settle(qtbot, context)
    pains = [panel.model.patient_at(r).pain_latest for r in range(panel.model.rowCount())]
    known = [p for p in pains if p is not None]
    assert known == sorted(known, reverse=True)
    assert pains[: len(known)] == known


def test_cells_show_values_arrows_and_overdue_check_ins(panel):
    model = panel.model
    for r in range(model.rowCount()):
        row = model.patient_at(r)
        pain = model.index(r, column("pain"))
        if row.pain_latest is not None and row.pain_change:
            arrow = "▲" if row.pain_change > 0 else "▼"
            assert pain.data() == f"{row.pain_latest:.0f}  {arrow}{abs(row.pain_change):.0f}"
        checkin = model.index(r, column("next_checkin"))
        if row.checkin_overdue:
            assert checkin.data(Qt.ItemDataRole.ForegroundRole).name() == "#c62828"
            assert "overdue" in checkin.data(Qt.ItemDataRole.ToolTipRole)
    overdue = [model.patient_at(r) for r in range(model.rowCount()) if model.patient_at(r).checkin_overdue]
    assert overdue, "the demo clinic has overdue check-ins"


def test_flag_tooltip_lists_every_reason(panel):
    row = next(r for r in range(panel.model.rowCount()) if panel.model.patient_at(r).has_safety_flag)
    tip = panel.model.index(row, column("flags")).data(Qt.ItemDataRole.ToolTipRole)
    assert all(f.reason in tip for f in panel.model.patient_at(row).flags)


def test_privacy_mode_shows_initials_instead_of_names(qtbot, panel, context):
    index = panel.model.index(0, column("name"))
    row = panel.model.patient_at(0)
    assert index.data() == f"{row.family_name}, {row.given_name}"
    with qtbot.waitSignal(panel.model.dataChanged):
        context.presentation.set_privacy(True)
    assert index.data() == row.initials
    assert index.data(Qt.ItemDataRole.ToolTipRole) is None  # no full name on hover either


def test_a_write_announced_on_the_change_bus_refreshes_the_row(qtbot, panel, context):
    row_index = next(r for r in range(panel.model.rowCount()) if panel.model.patient_at(r).pain_latest is not None)
    patient_id = panel.model.patient_at(row_index).id
    measurements.record_measurement(
        SYSTEM,
        patient_id,
        "nrs_pain",
        [9],
        taken_at=dt.datetime(2026, 11, 27, 22, 0),
        now=dt.datetime(2026, 11, 27, 23, 0),
    )
    context.changes.emit(Changes.of(patient_id, "measurement"))
    settle(qtbot, context)
    refreshed = panel.model.patient_at(panel.model.row_of(patient_id))
    assert refreshed.pain_latest == 9.0


def test_changes_that_cannot_alter_the_list_do_not_reload_it(qtbot, panel, context):
    loads = []
    panel.model.rows_loaded.connect(lambda: loads.append(1))
    context.changes.emit(Changes.of(1, "night"))
    settle(qtbot, context)
    assert loads == []
    context.changes.emit(Changes.of(1, "goal"))
    settle(qtbot, context)
    assert loads == [1]


def test_selecting_a_row_announces_the_patient_once(qtbot, panel):
    with qtbot.waitSignal(panel.patient_selected) as selected:
        panel.table.setCurrentIndex(panel.model.index(2, column("name")))
    assert selected.args == [panel.model.patient_at(2).id]
    with qtbot.assertNotEmitted(panel.patient_selected):
        panel.table.setCurrentIndex(panel.model.index(2, column("age")))  # same patient, other cell
