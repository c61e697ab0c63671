"""The clinical corrections in the workbooks: PSFS activity names (per-patient and long
workbooks, not the de-identified one), the matched-activity change, prorated totals, and
the reliable-change verdict beside MCID for the primary outcomes (cohort and per-patient),
all from the same progress rows the panels show."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from teamdash.clinical import analytics, instruments
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import chart, measurements, patients
from teamdash.services.auth import SYSTEM
from teamdash.storage.models import Patient


def table_rows(ws, name: str) -> list[dict]:
    cells = list(ws[ws.tables[name].ref])
    headers = [c.value for c in cells[0]]
    return [dict(zip(headers, (c.value for c in row))) for row in cells[1:]]


def sheet_rows(ws) -> list[dict]:
    rows = ws.iter_rows(values_only=True)
    headers = next(rows)
    return [dict(zip(headers, r)) for r in rows]


@pytest.fixture
def psfs_patient(clinic):
    """A demo patient given a PSFS whose second activity is new and a prorated PHQ-9."""
    patient = patients.find_by_clinic_id(SYSTEM, "TD-00001")
    last = measurements.list_measurements(SYSTEM, patient.id, "psfs")[-1]
    names = [last.item_names[0], "Climbing stairs", None, None, None]
    measurements.record_measurement(
        SYSTEM, patient.id, "psfs", [9, 4, None, None, None], item_names=names, taken_at=dt.datetime(2026, 11, 26, 9)
    )
    measurements.record_measurement(
        SYSTEM, patient.id, "phq9", [1, 2, 1, 0, None, 1, 0, 0, 0], taken_at=dt.datetime(2026, 11, 26, 9, 30)
    )
    return patient


def test_long_workbook_carries_activity_names_and_prorated_totals(psfs_patient, tmp_path):
    path = tmp_path / "long.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long", patient_id=psfs_patient.id))
    rows = sheet_rows(load_workbook(path, read_only=True)["Measurements"])
    psfs = [r for r in rows if r["Instrument"] == "psfs"]
    stored = measurements.list_measurements(SYSTEM, psfs_patient.id, "psfs")
    assert [[r[f"Item {n} name"] for n in range(1, 6)] for r in psfs] == [m.item_names for m in stored]
    assert psfs[-1]["Item 2 name"] == "Climbing stairs" and psfs[-1]["Item 2"] == 4
    phq9 = [r for r in rows if r["Instrument"] == "phq9"]
    assert phq9[-1]["Prorated"] is True and phq9[-1]["Total"] == 6  # 5 / 8 x 9 = 5.6 -> 6
    assert all(r["Prorated"] is False for r in phq9[:-1])
    assert all(r["Prorated"] is None for r in rows if r["Instrument"] == "odi")  # never prorated


def test_deidentified_workbook_leaves_activity_names_out(clinic, tmp_path):
    path = tmp_path / "deid.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long", deidentify=True))
    header = next(load_workbook(path, read_only=True)["Measurements"].iter_rows(max_row=1, values_only=True))
    assert "Item 1 name" not in header and "Prorated" in header


def test_per_patient_workbook_shows_progress_rows_and_each_activity(psfs_patient, tmp_path):
    path = tmp_path / "patient.xlsx"
    export(SYSTEM, path, ExportOptions(kind="patient", patient_id=psfs_patient.id))
    wb = load_workbook(path)
    record = chart.get_record(SYSTEM, psfs_patient.id)
    measures = {r["Measure"]: r for r in table_rows(wb["Summary"], "KeyMeasures")}
    for instrument_id in ("nrs_pain", "odi", "psfs", "phq9"):
        inst = instruments.get(instrument_id)
        progress = record.progress(instrument_id)
        row = measures[inst.short_name]
        change = progress.from_baseline
        assert row["Change"] == pytest.approx(round(change.points, inst.decimals + 1))
        assert (row["MCID met"], row["Reliable change"]) == (change.mcid_met, change.rci_verdict)
        assert row["Band movement"] == change.band_movement
        assert row["Next due"].date() == progress.due_on
    # the primary outcomes now have a reliable-change verdict beside MCID
    assert measures["NRS pain"]["Reliable change"] is not None and measures["ODI"]["Reliable change"] is not None
    psfs = measures["PSFS"]
    matched = record.progress("psfs").from_baseline.matched_items
    assert psfs["Change note"] == f"over {matched} activit{'y' if matched == 1 else 'ies'} rated both times"
    assert psfs["% change"] is None  # a % of a mean over other activities would mislead
    activities = table_rows(wb["Summary"], "NamedItems")
    names = [a["Activity"] for a in activities]
    assert names[:2] == list(record.progress("psfs").latest.item_names[:2])
    new = next(a for a in activities if a["Activity"] == "Climbing stairs")
    assert (new["Baseline"], new["Latest"], new["Change"], new["Reliable change"]) == (None, 4, None, None)
    # PT sheet: the names beside the ratings, change from baseline over matched activities
    pt = sheet_rows_from_table(wb["Physical therapy"], "PT_Measures")
    psfs_rows = [r for r in pt if r["Measure"] == "PSFS"]
    assert psfs_rows[-1]["Item 2 name"] == "Climbing stairs"
    baseline_point = record.progress("psfs").baseline
    latest_point = record.progress("psfs").latest
    expected = analytics.change_between(instruments.get("psfs"), baseline_point, latest_point).points
    assert psfs_rows[-1]["Change from baseline"] == pytest.approx(round(expected, 2))
    psych = sheet_rows_from_table(wb["Psychology"], "Psych_Measures")
    assert [r["Prorated"] for r in psych if r["Measure"] == "PHQ-9"][-1] is True


def sheet_rows_from_table(ws, name: str) -> list[dict]:
    return table_rows(ws, name)


def test_cohort_sheet_reads_the_same_progress_rows(clinic, tmp_path):
    path = tmp_path / "cohort.xlsx"
    export(SYSTEM, path, ExportOptions(kind="cohort"))
    cohort = sheet_rows(load_workbook(path, read_only=True)["Cohort"])
    assert "PSFS change over" in cohort[0] and "PHQ-9 prorated" in cohort[0]
    compared = 0
    for row in cohort[:20]:
        pid = Patient.get(Patient.clinic_id == row["Patient ID"]).id
        record = chart.get_record(SYSTEM, pid)
        for instrument_id in ("nrs_pain", "odi", "psfs", "phq9"):
            inst = instruments.get(instrument_id)
            p = record.progress(instrument_id)
            if p.baseline is None:
                continue
            s = inst.short_name
            assert row[f"{s} baseline"] == pytest.approx(p.baseline.value)
            if p.latest.id != p.baseline.id:
                assert row[f"{s} change"] == (
                    None if p.from_baseline.points is None else pytest.approx(p.from_baseline.points)
                )
                assert row[f"{s} MCID met"] == p.from_baseline.mcid_met
                assert row[f"{s} reliable change"] == p.from_baseline.rci_verdict
                compared += 1
    assert compared >= 40
    # with reliability figures, some NRS/ODI changes are now reliable (and some are not)
    verdicts = {r["NRS pain reliable change"] for r in cohort} | {r["ODI reliable change"] for r in cohort}
    assert {"no reliable change", "reliable improvement"} <= verdicts
