"""What the clinical corrections of issue 12 look like on screen: the PSFS activities
(named, carried forward, per-activity change in the PT panel), the recall period and the
unverified rules on the entry form, the reliable-change verdict beside MCID, the panel and
the per-patient workbook showing the same figures, and a clinic's own measure in the
panels and entry form (with refused definitions told once)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from teamdash.clinical import disciplines, instruments
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import measurements
from teamdash.services.auth import SYSTEM
from tests.demo_facts import PLAIN_PATIENT
from tests.test_clinic_instruments import PEG
from tests.ui.helpers import choose, get_record, press_enter, top_dialog, type_into
from ui.panels import create_panel
from ui.panels.instrument_rows import describe_change, describe_items, instrument_row, mcid_text


@pytest.fixture
def panel_for(qtbot, ui_context):
    def make(code: str, patient_id: int = PLAIN_PATIENT):
        panel = create_panel(code, ui_context)
        qtbot.addWidget(panel)
        panel.resize(1500, 1000)
        panel.set_record(get_record(ui_context, patient_id))
        panel.show()
        return panel

    return make


def psfs_patient(context) -> int:
    """A demo patient whose PSFS activities changed part-way (one swapped): matched and
    unmatched activities both appear."""
    for pid in range(1, 61):
        series = measurements.list_measurements(context.actor, pid, "psfs")
        names = {tuple(m.item_names or ()) for m in series}
        if len(series) > 4 and len(names) > 1:
            return pid
    raise AssertionError("the demo has no patient whose PSFS activities changed")


# --- PSFS in the PT panel -----------------------------------------------------------------------


def test_pt_panel_shows_each_psfs_activity_and_the_matched_change(qtbot, ui_context, panel_for):
    pid = psfs_patient(ui_context)
    panel = panel_for("pt", pid)
    row = instrument_row(panel.record, "psfs")
    change = row.from_baseline
    inst = instruments.get("psfs")
    # the change is over the activities rated at both times, and says so
    assert change.matched_items is not None and change.matched_items >= 1
    line = panel.instruments.lines["psfs"]
    text = line.from_baseline.text()
    assert describe_change(inst, change).headline in text
    assert f"over {change.matched_items} activit" in text
    assert (change.rci_verdict or "no reliable") in text
    # the per-activity table: every activity, matched ones with their change and verdict
    table = line.items.text()
    assert line.items.isVisible()
    items = describe_items(inst, row.progress)
    assert any(i.since_baseline == "" for i in items)  # the swapped activity has no change
    for item in items:
        assert item.name in table
        if item.since_baseline:
            assert item.since_baseline in table and item.verdict in table
    assert "new activity: no baseline" in table or "not rated at the latest" in table


def test_reliable_change_stands_beside_mcid_for_the_primary_outcomes(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    for instrument_id in ("nrs_pain", "odi"):
        row = instrument_row(panel.record, instrument_id)
        change = row.from_baseline
        assert change.rci_verdict is not None  # a reliability figure now exists
        text = panel.instruments.lines[instrument_id].from_baseline.text()
        mcid = mcid_text(change)
        if mcid:
            assert f"{mcid} · {change.rci_verdict}" in text  # side by side, MCID first
        assert change.rci_verdict in text
    tooltip = panel.instruments.lines["nrs_pain"].name.toolTip()
    assert "reliable change beyond 2.8 points" in tooltip and "SEM 1.02" in tooltip


# --- entry form ----------------------------------------------------------------------------------


def test_psfs_form_carries_the_activities_forward_and_saves_their_names(qtbot, ui_context, panel_for):
    pid = psfs_patient(ui_context)
    panel = panel_for("pt", pid)
    before = measurements.list_measurements(ui_context.actor, pid, "psfs")
    last = before[-1]
    QTest.mouseClick(panel.instruments.lines["psfs"].record, Qt.MouseButton.LeftButton)
    dialog = top_dialog(qtbot, "dialog_measurement")
    assert dialog.recall_label.text() == "Recall period: today: how able the patient is to do each activity now"
    assert "MDC90" in dialog.caveat_label.text()
    # the names of the last administration arrive from the database thread
    qtbot.waitUntil(lambda: dialog.editors["name_1"].get() == last.item_names[0])
    assert [dialog.editors[f"name_{n}"].get() for n in range(1, 6)] == last.item_names
    assert dialog.carried_label.text().startswith(f"Activities carried forward from {last.taken_at:%d %b %Y}")
    # rate the first activity, replace the second by a new one, leave the rest blank
    choose(dialog.editors["item_1"].widget, "9")
    type_into(dialog.editors["name_2"].widget, "Climbing stairs")
    choose(dialog.editors["item_2"].widget, "4")
    for n in range(3, 6):
        dialog.editors[f"item_{n}"].set(None)
    assert dialog.total_label.text() == "PSFS: 6.5 points"  # (9 + 4) / 2
    assert dialog.status_label.text() == "2 activities rated; the score is their mean"
    press_enter(dialog.editors["item_2"].widget)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    new = measurements.list_measurements(ui_context.actor, pid, "psfs")[-1]
    assert new.id not in {m.id for m in before}
    assert new.item_names[:2] == [last.item_names[0], "Climbing stairs"]
    assert new.responses[:2] == [9, 4] and new.total == 6.5
    # the PT panel now shows the new activity without a baseline
    qtbot.waitUntil(lambda: "Climbing stairs" in panel.instruments.lines["psfs"].items.text())
    assert "new activity: no baseline" in panel.instruments.lines["psfs"].items.text()


def test_a_rating_without_an_activity_name_is_refused_under_the_name(qtbot, ui_context, panel_for):
    panel = panel_for("pt")
    dialog = panel.record_measurement("psfs")
    qtbot.waitUntil(lambda: ui_context.jobs.idle())
    for n in range(1, 6):
        dialog.editors[f"name_{n}"].set(None)
        dialog.editors[f"item_{n}"].set(None)
    choose(dialog.editors["item_1"].widget, "5")
    assert dialog.status_label.text() == "Not yet named: activity 1"
    dialog.save()
    qtbot.waitUntil(lambda: dialog.errors["name_1"].isVisible())
    assert "rated 5 but the activity has no name" in dialog.errors["name_1"].text()


def test_entry_form_shows_recall_period_and_unverified_rules(qtbot, ui_context, panel_for):
    panel = panel_for("psychology")
    dialog = panel.record_measurement(None)
    choose(dialog.chooser, "PCS")
    assert dialog.instrument.id == "pcs"
    assert dialog.recall_label.text().startswith("Recall period: no fixed period")
    assert "'30 or more' or 'above 30'" in dialog.caveat_label.text()
    choose(dialog.chooser, "CPAQ")
    assert dialog.instrument.id == "cpaq8"
    labels = [label.text() for label in dialog._labels]
    assert "2. CPAQ-20 item 13" in labels  # the printed order, with CPAQ-20 numbers
    assert any("Pain willingness, reverse-scored" in w.text() for w in dialog.findChildren(type(dialog.recall_label)))
    choose(dialog.chooser, "6MWT")
    assert not dialog.recall_label.isVisible()  # a test, not a questionnaire: no recall period


# --- one progress row: panel and workbook agree ---------------------------------------------------


@pytest.mark.parametrize("patient_id", [1, 3, 8, 12])
def test_panel_and_per_patient_workbook_show_the_same_figures(qtbot, ui_context, panel_for, tmp_path, patient_id):
    path = tmp_path / "patient.xlsx"
    export(SYSTEM, path, ExportOptions(kind="patient", patient_id=patient_id))
    summary = load_workbook(path)["Summary"]
    cells = list(summary[summary.tables["KeyMeasures"].ref])
    headers = [c.value for c in cells[0]]
    book = {r[0].value: dict(zip(headers, (c.value for c in r))) for r in cells[1:]}
    compared = 0
    for d in disciplines.all_disciplines():
        panel = panel_for(d.code, patient_id)
        for instrument_id, line in panel.instruments.lines.items():
            inst = instruments.get(instrument_id)
            row = book.get(inst.short_name)
            if row is None:
                assert line.value.text() == "–"  # never measured: not in the workbook either
                continue
            compared += 1
            assert line.value.text().startswith(inst.format(row["Latest"]))
            assert line.band.text() == (row["Latest band"] or ("—" if row["Latest"] is not None else ""))
            assert line.count.text().startswith(f"n = {row['Measurements']}")
            text = line.from_baseline.text()
            if row["Change"] is None:
                assert row["Change note"] in text  # "baseline only", "no activity rated at both times"
            else:
                change = instrument_row(panel.record, instrument_id).from_baseline
                assert inst.format(abs(row["Change"])) in text
                assert describe_change(inst, change).headline in text
                for verdict in (row["Reliable change"], row["Band movement"]):
                    if verdict:
                        assert verdict in text
                mcid = {True: "MCID met", False: "below MCID"}.get(row["MCID met"])
                if mcid and not change.meaningful_deterioration:
                    assert mcid in text
            if row["Reliable change since check-in"]:
                assert row["Reliable change since check-in"] in line.from_checkin.text()
            due = row["Next due"]
            assert (due.date() if due else None) == instrument_row(panel.record, instrument_id).due_on
            if due:
                assert f"{due:%d %b %Y}" in line.due.text()
    assert compared >= 10


# --- a clinic's own measure ------------------------------------------------------------------------


@pytest.fixture
def clinic_folder(tmp_path, monkeypatch):
    folder = tmp_path / "clinic-instruments"
    folder.mkdir()
    monkeypatch.setenv("TEAMDASH_INSTRUMENTS_DIR", str(folder))
    instruments.reload()
    yield folder
    instruments.reload()


def test_a_clinic_measure_appears_in_its_panel_and_the_entry_form(qtbot, clinic_folder, ui_context, panel_for):
    (clinic_folder / "peg.toml").write_text(PEG, encoding="utf-8")
    instruments.reload()
    panel = panel_for("pt")
    assert list(panel.instruments.lines)[-1] == "peg"
    line = panel.instruments.lines["peg"]
    assert (line.name.text(), line.value.text(), line.count.text()) == ("PEG", "–", "not recorded · rule unverified")
    assert f"Clinic definition: {clinic_folder / 'peg.toml'}" in line.name.toolTip()
    QTest.mouseClick(line.record, Qt.MouseButton.LeftButton)
    dialog = top_dialog(qtbot, "dialog_measurement")
    assert dialog.instrument.id == "peg"
    assert dialog.recall_label.text() == "Recall period: the past week"
    for n, answer in ((1, "7"), (2, "8"), (3, "6")):
        choose(dialog.editors[f"item_{n}"].widget, answer)
    assert dialog.total_label.text() == "PEG: 7.0 /10"
    press_enter(dialog.editors["item_3"].widget)
    qtbot.waitUntil(lambda: line.value.text() == "7.0/10")
    assert line.count.text().startswith("n = 1")


def test_refused_definitions_are_told_once_without_a_traceback(qtbot, clinic_folder, ui_context):
    from ui import app

    (clinic_folder / "peg.toml").write_text(PEG, encoding="utf-8")
    bad = textwrap.dedent(PEG).replace('id = "peg"', 'id = "broken"').replace("count = 3", "count = 0")
    (clinic_folder / "broken.toml").write_text(bad, encoding="utf-8")
    instruments.reload()
    assert "peg" in instruments.library()  # the good one loaded
    text = app.refusal_text()
    assert text.startswith("1 instrument definition in the clinic folder was not loaded")
    assert "• broken.toml: key 'items.count' must be at least 1" in text
    assert "Traceback" not in text
    window = QApplication.activeWindow()
    box = app.show_refusals(window)
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.objectName() == "instrument_refusals"
    box.close()
    instruments.reload()
    (clinic_folder / "broken.toml").unlink()
    assert app.show_refusals(None) is None and app.refusal_text() is None


def test_timeline_keeps_dates_and_values_of_a_clinic_measure(qtbot, clinic_folder, ui_context):
    (clinic_folder / "peg.toml").write_text(PEG, encoding="utf-8")
    instruments.reload()
    for week, answers in ((0, [8, 7, 9]), (3, [5, 5, 5])):
        measurements.record_measurement(
            ui_context.actor,
            PLAIN_PATIENT,
            "peg",
            answers,
            taken_at=dt.datetime(2026, 10, 1, 9) + dt.timedelta(weeks=week),
        )
    from teamdash.services import timelines

    built = timelines.build(get_record(ui_context, PLAIN_PATIENT))
    assert [p.value for p in built.series["peg"].points] == [8.0, 5.0]
    assert built.series["peg"].change.points == -3.0
