"""Importing patients, measurements and sessions: every kind of bad row named by sheet,
row, column and reason; all-or-nothing; skip mode and its error workbook; dry run;
column mapping; the round trip from a long-format export into an empty database."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook

from teamdash.errors import PermissionDenied
from teamdash.exchange import importing
from teamdash.exchange.export import ExportOptions, export
from teamdash.exchange.importing import ImportFailed, MalformedFile
from teamdash.services import audit, patients, staff
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from teamdash.storage.models import AuditEvent, Measurement, Patient, PatientSummary, Session, User
from tests.databases import every
from tests.test_export_support import AFTER_BOOKINGS, NOW, records, reopen

HEADERS = [
    "Patient ID",
    "Instrument",
    "Taken at",
    "Item 1",
    "Item 2",
    "Item 3",
    "Item 4",
    "Item 5",
    "Item 6",
    "Item 7",
    "Item 8",
    "Item 9",
    "Note",
]


def workbook(path, rows, headers=HEADERS, title="Measurements"):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def phq9(clinic_id="P-1", when="2026-03-02 10:00", items=(1, 1, 1, 1, 1, 1, 1, 1, 0), note=None):
    return [clinic_id, "phq9", when, *items, note]


def register(actor, clinic_id, name, born=dt.date(1980, 5, 1)):
    patients.create_patient(
        actor,
        clinic_id=clinic_id,
        given_name=name,
        family_name="Test",
        date_of_birth=born,
        referral_date=dt.date(2026, 1, 10),
        today=NOW.date(),
    )


@pytest.fixture
def registered(case_manager):
    """Two patients in an otherwise empty database."""
    for cid, name in (("P-1", "Ash"), ("P-2", "Birch")):
        register(case_manager, cid, name)
    return case_manager


def imp(actor, path, **kw):
    kw.setdefault("now", NOW)
    return importing.import_file(actor, path, **kw)


def state():
    """What an import could change."""
    return (
        Patient.select().count(),
        Measurement.select().count(),
        Session.select().count(),
        User.select().count(),
        AuditEvent.select().count(),
        PatientSummary.select().count(),
    )


# --- a good import ---------------------------------------------------------------------------------


def test_measurements_import_scores_them_and_audits_once(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [phq9(), phq9("P-2", "2026-03-03 09:30", (3, 3, 3, 3, 3, 3, 3, 3, 1))])
    report = imp(registered, path)
    assert report.imported("measurements") == 2 and report.ok
    rows = {m.patient.clinic_id: m for m in Measurement.select()}
    assert rows["P-1"].total == 8 and rows["P-1"].band == "Mild" and rows["P-1"].source == "import"
    assert rows["P-2"].total == 25 and rows["P-2"].safety is True  # item 9 positive: flagged as on entry
    assert rows["P-1"].taken_at == dt.datetime(2026, 3, 2, 10, 0)
    assert rows["P-1"].responses == [1, 1, 1, 1, 1, 1, 1, 1, 0]
    summary = PatientSummary.get(PatientSummary.patient == rows["P-2"].patient_id)
    assert summary.safety_open == 1  # the patient list sees the import at once
    event = audit.events(action_prefix="import", limit=1)[0]
    assert event.id == report.audit_event_id and event.actor_name == "Test Manager"
    assert event.details["sheets"][0]["imported"] == 2 and event.details["file"] == str(path)


def test_headers_are_matched_by_meaning_and_the_mapping_is_reported(registered, tmp_path):
    headers = ["MRN", "Questionnaire", "Date", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9", "Comments", "Ward"]
    path = workbook(tmp_path / "m.xlsx", [[*phq9(), "B2"]], headers=headers, title="Sheet1")
    report = imp(registered, path, kind="measurements")
    sheet = report.sheets[0]
    assert sheet.mapping["patient"] == "MRN" and sheet.mapping["taken_at"] == "Date"
    assert sheet.mapping["item_9"] == "Q9" and sheet.mapping["note"] == "Comments"
    assert sheet.ignored == ["Ward"]
    assert Measurement.get().total == 8


def test_a_mapping_given_by_the_user_wins(registered, tmp_path):
    headers = ["Who", "What", "When", "A", "B", "C", "D", "E", "F", "G", "H", "I", "Remarks"]
    path = workbook(tmp_path / "m.xlsx", [phq9()], headers=headers)
    mapping = {
        "patient": "Who",
        "instrument": "What",
        "taken_at": "When",
        "note": "Remarks",
        **{f"item_{n}": h for n, h in enumerate("ABCDEFGHI", start=1)},
    }
    report = imp(registered, path, kind="measurements", mapping=mapping)
    assert report.imported("measurements") == 1
    with pytest.raises(MalformedFile, match="has no column for Taken at"):
        imp(registered, path, kind="measurements", mapping={"patient": "Who", "instrument": "What"})


def test_instrument_by_short_name_and_a_date_without_time(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [["P-1", "PHQ-9", dt.date(2026, 3, 2), 1, 1, 1, 1, 1, 1, 1, 1, 0, None]])
    imp(registered, path)
    assert Measurement.get().taken_at == dt.datetime(2026, 3, 2, 12, 0)  # noon, as on entry


def test_totals_without_items_are_kept_from_before_teamdash(registered, tmp_path):
    headers = ["Patient ID", "Instrument", "Taken at", "Total"]
    path = workbook(
        tmp_path / "t.xlsx", [["P-1", "odi", "2024-05-01", 42], ["P-1", "nrs_pain", "2024-05-01", 7]], headers=headers
    )
    imp(registered, path)
    odi = Measurement.get(Measurement.instrument == "odi")
    assert odi.total == 42 and odi.band == "Severe disability" and odi.details["total_only"] is True
    assert Measurement.get(Measurement.instrument == "nrs_pain").responses == [7]


PSFS_HEADERS = ["Patient ID", "Instrument", "Taken at", "Item 1", "Item 2", "Item 3", "Activity 1", "Activity 2"]


def test_psfs_activities_are_read_back_with_their_ratings(registered, tmp_path):
    path = workbook(
        tmp_path / "psfs.xlsx",
        [["P-1", "PSFS", "2026-03-02 10:00", 4, 6, None, "Bending to garden", "  Walking\nthe dog "]],
        headers=PSFS_HEADERS,
    )
    report = imp(registered, path)
    assert report.sheets[0].mapping["name_1"] == "Activity 1" and report.sheets[0].mapping["name_2"] == "Activity 2"
    psfs = Measurement.get()
    assert psfs.item_names == ["Bending to garden", "Walking the dog", None, None, None]  # one line, as on entry
    assert psfs.responses == [4, 6, None, None, None] and psfs.total == 5


PSFS_BAD_ROWS = [
    (["P-1", "PSFS", "2026-03-02 10:00", 4, 6, None, "Bending", None], "Item 2 name", "rated 6 but the activity has"),
    (["P-1", "PSFS", "2026-03-02 10:00", 4, 6, None, "Bending", " bending"], "Item 2 name", "is already activity 1"),
    (
        ["P-1", "phq9", "2026-03-02 10:00", 1, 1, 1, None, "Walking"],
        "Item 2 name",
        "its items are not named by the patient",
    ),
]


@pytest.mark.parametrize(("row", "column", "reason"), PSFS_BAD_ROWS, ids=["unnamed", "twice", "phq9-named"])
def test_a_bad_activity_name_is_named_by_its_column(registered, tmp_path, row, column, reason):
    headers = [*PSFS_HEADERS[:6], "Item 1 name", "Item 2 name"]  # as TeamDash exports them
    with pytest.raises(ImportFailed) as caught:
        imp(registered, workbook(tmp_path / "psfs.xlsx", [row], headers=headers))
    (problem,) = caught.value.report.problems
    assert (problem.row, problem.column, problem.kind) == (2, column, "out_of_range")
    assert reason in problem.reason
    assert Measurement.select().count() == 0


# --- every kind of bad row -------------------------------------------------------------------------


BAD_ROWS = [
    ("unknown_patient", phq9("P-404"), "Patient ID", "unknown patient 'P-404'"),
    (
        "unknown_instrument",
        ["P-1", "phq99", "2026-03-02 10:00", 1, None, None, None, None, None, None, None, None, None],
        "Instrument",
        "unknown instrument 'phq99'",
    ),
    ("out_of_range", phq9(items=(1, 1, 7, 1, 1, 1, 1, 1, 0)), "Item 3", "item 3 of PHQ-9: 7 is outside 0–3"),
    ("out_of_range", phq9(items=(1, 1, "lots", 1, 1, 1, 1, 1, 0)), "Item 3", "'lots' is not a number"),
    ("impossible_date", phq9(when="2026-02-30 10:00"), "Taken at", "'2026-02-30 10:00' is not a real date"),
    ("impossible_date", phq9(when="next Tuesday"), "Taken at", "is not a date and time"),
    ("impossible_date", phq9(when="2027-01-05 10:00"), "Taken at", "2027-01-05 10:00 is in the future"),
    ("impossible_date", phq9(when="1975-01-05 10:00"), "Taken at", "before the patient's date of birth"),
    ("impossible_date", phq9(when=46000), "Taken at", "is a number, not a date"),
    ("missing", phq9(when=None), "Taken at", "the date taken is required"),
    ("formula", phq9(items=(1, 1, "=1+1", 1, 1, 1, 1, 1, 0)), "Item 3", "holds a formula (=1+1)"),
    ("invalid", phq9(note="y" * 25_000), "Note", "is too long (25000 characters, at most 20000)"),
]


@pytest.mark.parametrize(
    ("kind", "row", "column", "reason"), BAD_ROWS, ids=[f"{k}-{i}" for i, (k, *_r) in enumerate(BAD_ROWS)]
)
def test_each_bad_row_is_named_by_sheet_row_column_and_reason_and_nothing_is_imported(
    registered, tmp_path, kind, row, column, reason
):
    path = workbook(tmp_path / "m.xlsx", [phq9(when="2026-03-01 10:00"), row, phq9("P-2", "2026-03-05 10:00")])
    before = state()
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    problems = caught.value.report.problems
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.sheet, problem.row, problem.column, problem.kind) == ("Measurements", 3, column, kind)
    assert reason in problem.reason
    assert f"sheet 'Measurements', row 3, column '{column}'" in str(caught.value)
    assert state() == before  # all or nothing: the two good rows did not go in either


def test_a_time_shared_by_several_rows_is_checked_against_each_patients_birth(registered, tmp_path):
    """A visit's measures share one time, read once; each row is still checked against
    its own patient (born before or after it), and a time in the future on every row."""
    register(registered, "P-3", "Cedar", born=dt.date(1990, 6, 1))
    shared = "1985-03-02 10:00"  # after P-1's and P-2's birth, before P-3's
    path = workbook(tmp_path / "m.xlsx", [phq9("P-1", shared), phq9("P-3", shared), phq9("P-2", shared)])
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    assert [(p.row, p.column, p.kind, p.reason) for p in caught.value.report.problems] == [
        (3, "Taken at", "impossible_date", "1985-03-02 is before the patient's date of birth")
    ]
    future = "2027-01-05 10:00"
    with pytest.raises(ImportFailed) as caught:
        imp(registered, workbook(tmp_path / "f.xlsx", [phq9("P-1", future), phq9("P-2", future)]))
    assert [(p.row, p.kind) for p in caught.value.report.problems] == [(2, "impossible_date"), (3, "impossible_date")]
    report = imp(registered, workbook(tmp_path / "ok.xlsx", [phq9("P-1", shared), phq9("P-2", shared)]))
    assert report.imported("measurements") == 2


def test_a_measurement_already_recorded_is_a_duplicate(registered, tmp_path):
    imp(registered, workbook(tmp_path / "first.xlsx", [phq9()]))
    before = state()
    with pytest.raises(ImportFailed) as caught:
        imp(registered, workbook(tmp_path / "again.xlsx", [phq9("P-2"), phq9()]))
    (problem,) = caught.value.report.problems
    assert (problem.row, problem.column, problem.kind) == (3, "Taken at", "duplicate")
    assert "already recorded for P-1 (duplicate measurement)" in problem.reason
    assert state() == before


def test_a_measurement_twice_in_the_file_is_a_duplicate(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [phq9(), phq9("P-2"), phq9(items=(0,) * 9)])
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    (problem,) = caught.value.report.problems
    assert problem.row == 4 and problem.kind == "duplicate" and "already on row 2 of this file" in problem.reason


def test_a_total_that_contradicts_the_items_is_refused(registered, tmp_path):
    headers = ["Patient ID", "Instrument", "Taken at", "Total", *[f"Item {n}" for n in range(1, 10)]]
    path = workbook(
        tmp_path / "m.xlsx", [["P-1", "phq9", "2026-03-02", 12, 1, 1, 1, 1, 1, 1, 1, 1, 0]], headers=headers
    )
    with pytest.raises(ImportFailed, match="the total 12 does not match the item responses, which score 8"):
        imp(registered, path)


def test_an_item_beyond_the_instruments_items_is_refused(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [["P-1", "gad7", "2026-03-02", 1, 1, 1, 1, 1, 1, 1, 2, None, None]])
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    (problem,) = caught.value.report.problems
    assert problem.column == "Item 8" and "GAD-7 has 7 items" in problem.reason


def test_an_unknown_staff_member_in_entered_by(registered, tmp_path):
    headers = [*HEADERS, "Entered by"]
    path = workbook(tmp_path / "m.xlsx", [[*phq9(), "Dr Nobody"], [*phq9("P-2"), "Test Manager"]], headers=headers)
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    (problem,) = caught.value.report.problems
    assert problem.kind == "unknown_staff" and problem.column == "Entered by" and problem.row == 2


def test_all_problems_are_listed_not_only_the_first(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [phq9("P-9"), phq9(when="2026-13-01"), phq9(items=(9,) * 9)])
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    report = caught.value.report
    assert [p.row for p in report.problems] == [2, 3, 4] and report.bad_rows == 3
    assert str(caught.value).startswith("3 problems in 3 rows, so nothing was imported")


# --- skip mode, error workbook, dry run ----------------------------------------------------------------


def test_skip_mode_imports_good_rows_and_writes_the_bad_ones_to_a_workbook_that_can_be_fixed(registered, tmp_path):
    path = workbook(
        tmp_path / "m.xlsx",
        [
            phq9(),
            phq9("P-404", "2026-03-03 10:00"),
            phq9("P-2", "2026-03-04", items=(1, 1, 1, 1, 1, 1, 1, 1, 5)),
            phq9("P-2", "2026-03-05", note='=HYPERLINK("http://x","y")'),
            phq9("P-2", "2026-03-06"),
        ],
    )
    report = imp(registered, path, skip_bad_rows=True)
    assert report.imported("measurements") == 2 and report.bad_rows == 3
    assert Measurement.select().count() == 2
    assert report.error_file == tmp_path / "m-errors.xlsx" and report.error_file.exists()
    ws = reopen(report.error_file)["Measurements"]
    rows = records(ws)
    assert [r["Patient ID"] for r in rows] == ["P-404", "P-2", "P-2"]
    assert "row 3 of the original: Patient ID: unknown patient 'P-404'" in rows[0]["Problems"]
    assert "Item 9: item 9 of PHQ-9: 5 is outside 0–3" in rows[1]["Problems"]
    assert "Note: the cell holds a formula" in rows[2]["Problems"]
    formula_text = ws.cell(row=4, column=HEADERS.index("Note") + 1)
    assert formula_text.value == '=HYPERLINK("http://x","y")' and formula_text.data_type == "s"  # shown, not run
    assert isinstance(rows[1]["Taken at"], dt.datetime) or rows[1]["Taken at"] == "2026-03-04"
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:N4"
    # Fix the rows in the error workbook and import it: they go in.
    book = reopen(report.error_file)
    sheet = book["Measurements"]
    sheet["A2"] = "P-1"
    sheet["L3"] = 1
    sheet["M4"] = "called the patient"
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    again = imp(registered, fixed)
    assert again.imported("measurements") == 3 and again.sheets[0].ignored == ["Problems"]
    assert Measurement.select().count() == 5


def test_skip_mode_with_nothing_bad_writes_no_error_workbook(registered, tmp_path):
    report = imp(registered, workbook(tmp_path / "m.xlsx", [phq9()]), skip_bad_rows=True)
    assert report.error_file is None and not (tmp_path / "m-errors.xlsx").exists()


def test_dry_run_checks_everything_and_changes_nothing(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [phq9(), phq9("P-2")])
    before = state()
    report = imp(registered, path, dry_run=True)
    assert report.imported("measurements") == 2 and report.dry_run
    assert "would import 2 measurements" in report.summary() and "nothing was changed" in report.summary()
    assert state() == before
    with pytest.raises(ImportFailed, match=r"nothing would be imported \(dry run\)"):
        imp(registered, workbook(tmp_path / "bad.xlsx", [phq9("P-404")]), dry_run=True)
    assert state() == before
    report = imp(
        registered, workbook(tmp_path / "bad2.xlsx", [phq9("P-404"), phq9()]), dry_run=True, skip_bad_rows=True
    )
    assert report.bad_rows == 1 and report.imported("measurements") == 1 and report.error_file is None
    assert state() == before and not (tmp_path / "bad2-errors.xlsx").exists()


def test_only_roles_that_may_import_can(registered, tmp_path):
    path = workbook(tmp_path / "m.xlsx", [phq9()])
    clinician = Actor(None, "c", "Cleo Clinician", "clinician")
    with pytest.raises(PermissionDenied):
        imp(clinician, path)
    assert Measurement.select().count() == 0


def test_cancel_rolls_the_import_back(registered, tmp_path):
    rows = [phq9(when=dt.datetime(2026, 1, 11) + dt.timedelta(hours=h)) for h in range(2500)]
    path = workbook(tmp_path / "m.xlsx", rows)
    before = state()
    from teamdash.errors import Cancelled

    with pytest.raises(Cancelled):
        imp(registered, path, cancelled=lambda: True)
    assert state() == before


# --- patients and sessions ----------------------------------------------------------------------------

PATIENT_HEADERS = [
    "Patient ID",
    "Given name",
    "Family name",
    "Date of birth",
    "Sex",
    "Referral date",
    "Programme start",
    "Status",
    "Case manager",
    "Research consent",
]


def test_patients_import_with_case_manager_by_name(registered, tmp_path):
    path = workbook(
        tmp_path / "p.xlsx",
        [
            [
                "N-1",
                "Cedar",
                "Quill",
                dt.date(1970, 1, 2),
                "female",
                "2026-02-01",
                "2026-02-20",
                "active",
                "Test Manager",
                "yes",
            ],
            ["N-2", "Dune", "Reed", "1990-07-08", None, "2026-02-03", None, "Discharged", None, "no"],
        ],
        headers=PATIENT_HEADERS,
        title="Patients",
    )
    report = imp(registered, path)
    assert report.imported("patients") == 2
    n1, n2 = Patient.get(Patient.clinic_id == "N-1"), Patient.get(Patient.clinic_id == "N-2")
    assert (
        n1.case_manager.full_name == "Test Manager"
        and n1.research_consent
        and n1.programme_start == dt.date(2026, 2, 20)
    )
    assert n1.episode_start == dt.date(2026, 2, 1)
    assert n2.status == "discharged" and n2.sex == "unknown" and not n2.research_consent
    assert PatientSummary.get_or_none(PatientSummary.patient == n1.id) is not None
    assert [e.action for e in audit.events(patient_id=n1.id)] == ["patient.import"]


@pytest.mark.parametrize(
    ("row", "column", "kind", "reason"),
    [
        (
            ["P-1", "A", "B", "1970-01-02", None, "2026-02-01", None, None, None, None],
            "Patient ID",
            "duplicate",
            "clinic ID 'P-1' is already registered",
        ),
        (
            ["N-1", "A", "B", "2030-01-02", None, "2026-02-01", None, None, None, None],
            "Date of birth",
            "impossible_date",
            "2030-01-02 is after",
        ),
        (
            ["N-1", "A", "B", "1970-02-31", None, "2026-02-01", None, None, None, None],
            "Date of birth",
            "impossible_date",
            "not a real date",
        ),
        (
            ["N-1", "A", None, "1970-01-02", None, "2026-02-01", None, None, None, None],
            "Family name",
            "missing",
            "is required",
        ),
        (
            ["N-1", "A", "B", "1970-01-02", "robot", "2026-02-01", None, None, None, None],
            "Sex",
            "invalid",
            "'robot' is not one of",
        ),
        (
            ["N-1", "A", "B", "1970-01-02", None, "2026-02-01", None, "asleep", None, None],
            "Status",
            "invalid",
            "'asleep' is not one of",
        ),
        (
            ["N-1", "A", "B", "1970-01-02", None, "2026-02-01", None, None, "Nobody Here", None],
            "Case manager",
            "unknown_staff",
            "unknown case manager 'Nobody Here'",
        ),
        (
            ["N-1", "A", "B", "1970-01-02", None, "2026-02-01", "2026-01-01", None, None, None],
            "Programme start",
            "impossible_date",
            "is before the referral date",
        ),
    ],
)
def test_bad_patient_rows(registered, tmp_path, row, column, kind, reason):
    path = workbook(
        tmp_path / "p.xlsx",
        [["N-9", "Ok", "Row", "1970-01-02", None, "2026-02-01", None, None, None, None], row],
        headers=PATIENT_HEADERS,
        title="Patients",
    )
    before = state()
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    (problem,) = caught.value.report.problems
    assert (problem.row, problem.column, problem.kind) == (3, column, kind)
    assert reason in problem.reason
    assert state() == before


SESSION_HEADERS = ["Patient ID", "Discipline", "Held at", "Kind", "Minutes", "Attendance", "Clinician", "Note"]


def test_sessions_import_and_their_duplicates(registered, tmp_path):
    rows = [
        ["P-1", "pt", "2026-03-02 09:00", "Graded activity", 45, "attended", "Test Manager", None],
        ["P-1", "Psychology", "2026-03-02 11:00", "CBT individual", 50, "no show", None, None],
    ]
    imp(registered, workbook(tmp_path / "s.xlsx", rows, headers=SESSION_HEADERS, title="Sessions"))
    sessions = {s.discipline_id: s for s in Session.select()}
    assert sessions["pt"].minutes == 45 and sessions["pt"].clinician.full_name == "Test Manager"
    assert sessions["psychology"].attendance == "no_show" and sessions["psychology"].minutes == 0
    with pytest.raises(ImportFailed) as caught:
        imp(
            registered,
            workbook(
                tmp_path / "s2.xlsx",
                [rows[0], ["P-1", "yoga", "2026-03-03", "Class", 30, None, None, None]],
                headers=SESSION_HEADERS,
                title="Sessions",
            ),
        )
    problems = caught.value.report.problems
    assert [(p.row, p.column, p.kind) for p in problems] == [(2, "Held at", "duplicate"), (3, "Discipline", "invalid")]
    assert Session.select().count() == 2


def test_patients_and_their_measurements_in_one_workbook(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Patients"
    ws.append(PATIENT_HEADERS)
    ws.append(["N-1", "Cedar", "Quill", "1970-01-02", None, "2026-02-01", None, None, None, None])
    ws.append(["N-2", "Bad", "Date", "1970-02-31", None, "2026-02-01", None, None, None, None])
    ms = wb.create_sheet("Measurements")
    ms.append(HEADERS)
    ms.append(phq9("N-1"))
    ms.append(phq9("N-2"))
    path = tmp_path / "both.xlsx"
    wb.save(path)
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    problems = caught.value.report.problems
    assert [(p.sheet, p.row) for p in problems] == [("Patients", 3), ("Measurements", 3)]
    assert "its row on the patients sheet has problems" in problems[1].reason
    report = imp(registered, path, skip_bad_rows=True)
    assert (report.imported("patients"), report.imported("measurements")) == (1, 1)
    assert Measurement.get().patient.clinic_id == "N-1"
    assert set(reopen(report.error_file).sheetnames) == {"Patients", "Measurements"}


# --- the round trip ---------------------------------------------------------------------------------


def _snapshot():
    people = {
        p.clinic_id: (
            p.given_name,
            p.family_name,
            p.date_of_birth,
            p.sex,
            p.referral_date,
            p.programme_start,
            p.episode_start,
            p.status,
            p.status_changed_on,
            p.case_manager.username if p.case_manager else None,
            p.next_checkin,
            p.research_consent,
            p.flagged_for_review,
            p.flag_note,
        )
        for p in Patient.select()
    }
    scores = sorted(
        (
            m.patient.clinic_id,
            m.instrument,
            m.taken_at,
            tuple(m.responses),
            m.total,
            m.band,
            m.band_severity,
            m.safety,
            m.note,
            m.entered_by.username if m.entered_by else None,
            tuple(m.item_names or ()),  # the patient's PSFS activities
        )
        for m in Measurement.select()
    )
    seen = sorted(
        (
            s.patient.clinic_id,
            s.discipline_id,
            s.held_at,
            s.kind,
            s.minutes,
            s.attendance,
            s.clinician.username if s.clinician else None,
            s.note,
        )
        for s in Session.select()
    )
    team = sorted(
        (u.username, u.full_name, u.role, u.discipline_id, u.is_case_manager, u.active) for u in User.select()
    )
    return people, scores, seen, team


def test_long_export_imported_into_an_empty_database_reproduces_patients_and_measurements(clinic, tmp_path):
    Measurement.update(note='=HYPERLINK("x","y")').where(Measurement.id == 5).execute()
    before = _snapshot()
    path = tmp_path / "long.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long"), now=NOW)
    db.close()
    open_clinic(f"sqlite:///{tmp_path / 'empty.sqlite3'}", create=True)
    assert Patient.select().count() == 0
    report = importing.import_file(SYSTEM, path, now=AFTER_BOOKINGS)
    assert [s.sheet for s in report.sheets] == [  # in the order each may refer to those before
        "Staff",
        "Patients",
        "Measurements",
        "Safety acknowledgements",
        "Sessions",
        "Goals",
        "Graded activity plans",
        "Graded activity weeks",
        "Courses",
        "Practice weeks",
        "Plan items",
        "Sleep diary",
        "Flares",
        "Support contacts",
        "Return-to-work phases",
        "Check-ins",
        "Decisions",
        "Action items",
    ]
    after = _snapshot()
    assert after[0] == before[0]  # patients, field by field
    assert after[1] == before[1]  # measurements: responses, totals, bands, safety, notes, who entered them
    assert after[2] == before[2]  # sessions
    assert after[3] == before[3]  # staff
    assert len(after[1]) > 5000


def test_importing_the_same_export_twice_finds_only_duplicates(clinic, tmp_path):
    path = tmp_path / "long.xlsx"
    pid = Patient.get(Patient.clinic_id == "TD-00002").id
    export(SYSTEM, path, ExportOptions(kind="long", patient_id=pid), now=NOW)
    with pytest.raises(ImportFailed) as caught:
        importing.import_file(SYSTEM, path, now=AFTER_BOOKINGS)
    kinds = {p.kind for p in caught.value.report.problems}
    assert kinds == {"duplicate"}


def test_staff_are_added_only_by_an_administrator(registered, tmp_path):
    path = workbook(
        tmp_path / "s.xlsx",
        [["newbie", "New Person", "clinician", "pt", False, True]],
        headers=["Username", "Full name", "Role", "Discipline", "Case manager", "Active"],
        title="Staff",
    )
    with pytest.raises(ImportFailed, match="only an administrator may add staff"):
        imp(registered, path)
    imp(SYSTEM, path)
    assert staff.find_by_name(SYSTEM, "New Person").discipline == "pt"


# --- every record kind, and back -----------------------------------------------------------------

# Provenance: where and when a workbook was made, and where a score came from. Everything
# else must come back the same.
PROVENANCE_ROWS = {("Export", "File"), ("Export", "Database")}
PROVENANCE_COLUMNS = {"Measurements": {"Source"}}


def _cells(path) -> dict[str, list[list]]:
    """Every sheet as rows of cell values, provenance left out."""
    wb = reopen(path)
    out = {}
    for ws in wb.worksheets:
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        if ws.title == "About":
            rows = [r for r in rows if tuple(r[:2]) not in PROVENANCE_ROWS]
        drop = [i for i, h in enumerate(rows[0]) if h in PROVENANCE_COLUMNS.get(ws.title, ())]
        out[ws.title] = [[v for i, v in enumerate(r) if i not in drop] for r in rows]
    return out


def _fill_optional_fields():
    """Give the optional columns of every kind something to carry (the demo leaves some
    blank), text that looks like a formula included."""
    from teamdash.storage.models import (
        ActionItem,
        CheckIn,
        Decision,
        Flare,
        GradedActivityWeek,
        PlanItem,
        RtwPhase,
        SleepDiaryNight,
        SupportContact,
    )

    GradedActivityWeek.update(note="Knee sore after the hill walk").where(every(GradedActivityWeek, 7, 0)).execute()
    Flare.update(note='=HYPERLINK("http://x","y")').where(every(Flare, 3, 0)).execute()
    SupportContact.update(contact="07700 900123", note="Drives her to sessions").where(
        every(SupportContact, 2, 0)
    ).execute()
    RtwPhase.update(note="Phased return agreed with occupational health").where(every(RtwPhase, 4, 0)).execute()
    PlanItem.update(note="- less than before").where(every(PlanItem, 5, 0)).execute()
    SleepDiaryNight.update(note="Neighbours' party").where(every(SleepDiaryNight, 9, 0)).execute()
    first = Decision.select().order_by(Decision.id).first()
    Decision.update(checkin=None, made_by=None).where(Decision.id == first.id).execute()  # between check-ins
    ActionItem.update(checkin=None, owner=None, due_on=None).where(every(ActionItem, 11, 0)).execute()
    ActionItem.update(discipline="social").where(every(ActionItem, 4, 1)).execute()  # who carries it out
    SupportContact.update(on_handout=True).where(every(SupportContact, 3, 0)).execute()  # named on the handout
    for checkin in CheckIn.select().where(every(CheckIn, 3, 0)):  # a summary's period, plan and next date
        checkin.period_start = checkin.held_on - dt.timedelta(days=28)
        checkin.plan = "Walk 20 minutes a day; =keep the diary"
        checkin.next_checkin = checkin.held_on + dt.timedelta(days=35)
        checkin.save()


def test_long_export_imported_into_an_empty_database_gives_the_same_workbook(clinic, tmp_path):
    _fill_optional_fields()
    first = tmp_path / "first.xlsx"
    export(SYSTEM, first, ExportOptions(kind="long"), now=NOW)
    db.close()
    open_clinic(f"sqlite:///{tmp_path / 'empty.sqlite3'}", create=True)
    report = importing.import_file(SYSTEM, first, now=AFTER_BOOKINGS)
    assert report.ok and not report.bad_rows
    again = tmp_path / "again.xlsx"
    export(SYSTEM, again, ExportOptions(kind="long"), now=NOW)
    before, after = _cells(first), _cells(again)
    assert list(after) == list(before)
    for name, rows in before.items():
        assert len(rows) > 2 or name == "Staff" and len(rows) > 1, f"{name}: nothing to compare"
        assert after[name] == rows, name  # sheet by sheet, cell by cell
    # Every sheet of the workbook was read back as its kind, and every row went in.
    imported = {s.sheet: (s.rows, s.imported) for s in report.sheets}
    assert set(imported) == set(before) - {"About"}
    assert all(rows == done for rows, done in imported.values())
    assert report.imported("safety_acknowledgements") == 2  # the positive PHQ-9 item 9 stays acknowledged
    assert PatientSummary.select().where(PatientSummary.safety_open > 0).count() == 1


def test_the_rest_of_the_record_is_checked_row_by_row(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Graded activity plans"
    ws.append(
        [
            "Patient ID",
            "Activity",
            "Baseline tolerance",
            "Current level",
            "Target level",
            "Weekly increment",
            "Started on",
        ]
    )
    ws.append(["P-1", "Walking", 10, 12, 40, 5, "2026-02-01"])
    ws.append(["P-1", "Cycling", 30, 30, 20, 5, "2026-02-01"])  # the target below the baseline
    weeks = wb.create_sheet("Graded activity weeks")
    weeks.append(
        ["Patient ID", "Activity", "Plan started on", "Week start", "Planned level", "Achieved level", "Adherence"]
    )
    weeks.append(["P-1", "Walking", "2026-02-01", "2026-02-02", 10, 9, 0.8])
    weeks.append(["P-1", "Swimming", "2026-02-01", "2026-02-02", 10, 9, None])  # no such plan
    weeks.append(["P-1", "Cycling", "2026-02-01", "2026-02-02", 30, None, None])  # its plan's row is bad
    weeks.append(["P-1", "Walking", "2026-02-01", "2026-02-02", 11, None, None])  # twice
    weeks["G2"].number_format = "0%"
    nights = wb.create_sheet("Sleep diary")
    nights.append(
        [
            "Patient ID",
            "Night of",
            "Bed time",
            "Lights out",
            "Sleep latency (min)",
            "Wake after sleep onset (min)",
            "Final wake",
            "Out of bed",
        ]
    )
    nights.append(["P-1", "2026-03-01", "23:00", "23:10", 20, 15, "06:30", "06:45"])
    nights.append(["P-1", "2026-03-02", "23:00", "23:10", 20, 15, "25:30", "06:45"])  # no such time
    flares = wb.create_sheet("Flares")
    flares.append(["Patient ID", "Started on", "Severity"])
    flares.append(["P-1", "2026-03-03", 11])
    flares.append(["P-404", "2026-03-03", 4])
    checks = wb.create_sheet("Decisions")
    checks.append(["Patient ID", "Check-in", "Decision"])
    checks.append(["P-1", "2026-03-04", "Refer to the pain clinic"])  # no check-in that day
    path = tmp_path / "plans.xlsx"
    wb.save(path)
    before = state()
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)
    found = [(p.sheet, p.row, p.column, p.kind) for p in caught.value.report.problems]
    reasons = {(p.sheet, p.row): p.reason for p in caught.value.report.problems}
    assert found == [
        ("Graded activity plans", 3, "Target level", "invalid"),
        ("Graded activity weeks", 3, "Activity", "invalid"),
        ("Graded activity weeks", 4, "Activity", "invalid"),
        ("Graded activity weeks", 5, "Week start", "duplicate"),
        ("Sleep diary", 3, "Final wake", "out_of_range"),
        ("Flares", 2, "Severity", "out_of_range"),
        ("Flares", 3, "Patient ID", "unknown_patient"),
        ("Decisions", 2, "Check-in", "invalid"),
    ]
    assert reasons[("Graded activity plans", 3)] == "must be above the baseline tolerance"
    assert reasons[("Graded activity weeks", 3)] == "there is no graded activity plan Swimming, 2026-02-01 for P-1"
    assert "its graded activity plan (Cycling, 2026-02-01) is not imported" in reasons[("Graded activity weeks", 4)]
    assert "already on row 2 of this file" in reasons[("Graded activity weeks", 5)]
    assert reasons[("Decisions", 2)] == "there is no check-in on 2026-03-04 for P-1"
    assert state() == before
    report = imp(registered, path, skip_bad_rows=True)
    assert (report.imported("graded_plans"), report.imported("graded_weeks"), report.imported("sleep_diary")) == (
        1,
        1,
        1,
    )
    from teamdash.storage.models import GradedActivityWeek, SleepDiaryNight

    week = GradedActivityWeek.get()
    assert (week.plan.activity, week.achieved_level, week.adherence_pct) == ("Walking", 9, 80)
    night = SleepDiaryNight.get()  # in bed 23:00-06:45, asleep 23:10 + 20 min to 06:30, 15 min awake
    assert (night.tib_minutes, night.tst_minutes) == (465, 405) and night.efficiency == pytest.approx(87.1, abs=0.05)


def test_a_csv_of_goals_with_percentages_and_a_check_in_with_its_decisions(registered, tmp_path):
    goals_csv = tmp_path / "goals.csv"
    goals_csv.write_text(
        "Patient ID,Discipline,Goal,Instrument,Baseline value,Target value,Set on,Due on,Progress\n"
        "P-1,Physical therapy,Walk 30 minutes without stopping,,,,2026-02-01,2026-05-01,40 %\n"
        "P-1,psychology,Return to choir,PHQ-9,14,20,2026-02-01,,\n"  # a better PHQ-9 is lower
    )
    with pytest.raises(ImportFailed) as caught:
        imp(registered, goals_csv)  # told by its name: goals.csv
    (problem,) = caught.value.report.problems
    assert (problem.row, problem.column) == (3, "Target value") and "a better score is below" in problem.reason
    report = imp(registered, goals_csv, skip_bad_rows=True)
    from teamdash.storage.models import CheckIn, Decision, Goal

    goal = Goal.get()
    assert (goal.discipline_id, goal.progress, goal.due_on) == ("pt", 40, dt.date(2026, 5, 1))
    assert report.imported("goals") == 1
    wb = Workbook()
    ws = wb.active
    ws.title = "Check-ins"
    ws.append(["Patient ID", "Held on", "Attendees", "Narrative", "Recorded by"])
    ws.append(["P-1", "2026-03-10", "Test Manager; tcm", "Better mornings", "tcm"])
    ds = wb.create_sheet("Decisions")
    ds.append(["Patient ID", "Check-in", "Decision", "Made by", "Made at"])
    ds.append(["P-1", "2026-03-10", "Start the return-to-work plan", "Test Manager", "2026-03-10 11:00"])
    path = tmp_path / "team.xlsx"
    wb.save(path)
    imp(registered, path)
    checkin, decision = CheckIn.get(), Decision.get()
    assert [a["name"] for a in checkin.attendees] == ["Test Manager"]  # named twice, there once
    assert checkin.created_by.username == "tcm" and checkin.narrative == "Better mornings"
    assert decision.checkin_id == checkin.id and decision.made_at == dt.datetime(2026, 3, 10, 11, 0)
    with pytest.raises(ImportFailed) as caught:
        imp(registered, path)  # again: both already recorded
    assert [p.kind for p in caught.value.report.problems] == ["duplicate", "duplicate"]
    assert "this check-in is already recorded on that day for P-1" in caught.value.report.problems[0].reason
