"""Files an import must refuse as a whole (not a spreadsheet, password-protected, old
.xls, empty, merged headers, formulas in the header, ambiguous columns, cells too long
for a CSV reader), CSV dialects, and the command line. Each refusal is a clear message
and changes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from teamdash import words
from teamdash.exchange import importing
from teamdash.exchange.importing import ImportFailed, MalformedFile
from teamdash.services import patients
from teamdash.storage.models import AuditEvent, Measurement, Patient
from tests.databases import url_of
from tests.test_export_support import NOW
from ui.cli import main

DATA = Path(__file__).parent / "data"


@pytest.fixture
def registered(case_manager):
    patients.create_patient(
        case_manager,
        clinic_id="P-1",
        given_name="Ash",
        family_name="Test",
        date_of_birth=dt.date(1980, 5, 1),
        referral_date=dt.date(2026, 1, 10),
        today=NOW.date(),
    )
    return case_manager


def state():
    return Patient.select().count(), Measurement.select().count(), AuditEvent.select().count()


def refused(actor, path, match, **kw):
    before = state()
    with pytest.raises(MalformedFile, match=match):
        importing.import_file(actor, path, now=NOW, **kw)
    assert state() == before


def good_sheet(ws):
    ws.append(["Patient ID", "Instrument", "Taken at", "Item 1"])
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 6])


# --- not a spreadsheet ---------------------------------------------------------------------------------


def test_a_picture_named_xlsx_is_not_a_spreadsheet(registered, tmp_path):
    path = tmp_path / "scan.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    refused(registered, path, "scan.xlsx is not a spreadsheet")


def test_a_zip_that_is_not_a_workbook(registered, tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")
    refused(registered, path, "not a spreadsheet TeamDash can read|not a readable .xlsx workbook")


def test_binary_data_with_a_csv_name(registered, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"Patient ID,Instrument\x00\x01\x02" * 10)
    refused(registered, path, "not a spreadsheet or a CSV text file")


def test_a_password_protected_workbook(registered, tmp_path):
    path = tmp_path / "locked.xlsx"
    shutil.copy(DATA / "encrypted.xlsx", path)
    refused(registered, path, r"locked.xlsx is password-protected \(encrypted\).*remove the password")


def test_an_old_xls_workbook(registered, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    refused(registered, path, r"old Excel 97–2003 \(.xls\) workbook: open it in Excel and save it as .xlsx")


# --- empty -------------------------------------------------------------------------------------------------


def test_an_empty_file(registered, tmp_path):
    for name in ("empty.xlsx", "empty.csv"):
        path = tmp_path / name
        path.write_bytes(b"")
        refused(registered, path, r"is empty \(0 bytes\)")


def test_a_csv_of_blank_lines(registered, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n   \n")
    refused(registered, path, "holds no rows")


def test_a_workbook_with_an_empty_sheet(registered, tmp_path):
    path = tmp_path / "blank.xlsx"
    Workbook().save(path)
    refused(registered, path, "holds no table: no header row")


def test_headers_without_rows(registered, tmp_path):
    path = tmp_path / "headers.csv"
    path.write_text("Patient ID,Instrument,Taken at,Item 1\n")
    refused(registered, path, "has headers but no data rows")


# --- structure ---------------------------------------------------------------------------------------------


def test_merged_header_cells(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Patient ID", "Instrument", "Taken at", "Items", None])
    ws.merge_cells("D1:E1")
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 6, None])
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    refused(registered, path, r"the header row has merged cells \(D1:E1\); unmerge them", kind="measurements")


def test_merged_cells_in_the_data(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    good_sheet(ws)
    ws.append(["P-1", "nrs_pain", "2026-03-03 10:00", 5])
    ws.merge_cells("A2:A3")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    refused(registered, path, r"the data has merged cells \(A2:A3\)")


def test_a_two_row_header_with_a_merged_group_title(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Patient", None, "Scores", None])
    ws.merge_cells("A1:B1")
    ws.merge_cells("C1:D1")
    ws.append(["Patient ID", "Instrument", "Taken at", "Item 1"])
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 6])
    path = tmp_path / "grouped.xlsx"
    wb.save(path)
    refused(registered, path, "merged cells", kind="measurements")


def test_a_formula_in_the_header(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Patient ID", "Instrument", "Taken at", '=CONCAT("Item ", 1)'])
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 6])
    path = tmp_path / "f.xlsx"
    wb.save(path)
    refused(registered, path, "header cell D1 holds a formula")


def test_two_columns_with_the_same_header(registered, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("Patient ID,Instrument,Date,Date,Item 1\nP-1,nrs_pain,2026-03-02,2026-03-03,5\n")
    refused(registered, path, r"several columns are headed 'Date' \(3, 4\)")


def test_headers_that_say_nothing_known(registered, tmp_path):
    path = tmp_path / "shopping.csv"
    path.write_text("Fruit,Colour\napple,red\n")
    refused(registered, path, r"cannot tell what it holds from its headers.*choose the kind \(--kind\)")


def test_a_missing_required_column_is_named(registered, tmp_path):
    path = tmp_path / "nodate.csv"
    path.write_text("Patient ID,Instrument,Item 1\nP-1,nrs_pain,5\n")
    refused(registered, path, r"has no column for Taken at \(a header such as 'Taken at'", kind="measurements")


def test_an_unknown_sheet(registered, tmp_path):
    wb = Workbook()
    good_sheet(wb.active)
    path = tmp_path / "x.xlsx"
    wb.save(path)
    refused(registered, path, "has no sheet 'Scores'", sheet="Scores")


# --- huge cells -------------------------------------------------------------------------------------------


def test_a_cell_longer_than_a_spreadsheet_cell_holds(registered, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "Patient ID,Instrument,Taken at,Item 1,Note\n"
        f"P-1,nrs_pain,2026-03-02 10:00,5,{'x' * 40_000}\n"
        "P-1,nrs_pain,2026-03-03 10:00,4,\n"
    )
    before = state()
    with pytest.raises(ImportFailed) as caught:
        importing.import_file(registered, path, now=NOW)
    (problem,) = caught.value.report.problems
    assert (problem.row, problem.column, problem.kind) == (2, "Note", "too_long")
    assert "40,000 characters; a spreadsheet cell holds at most 32,767" in problem.reason
    assert state() == before


def test_a_csv_cell_too_big_to_read(registered, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(
        "Patient ID,Instrument,Taken at,Item 1,Note\n"
        "P-1,nrs_pain,2026-03-01 10:00,5,ok\n"
        f'P-1,nrs_pain,2026-03-02 10:00,5,"{"y" * 200_000}"\n'
    )
    refused(registered, path, r"line 3: .*longer than 131,072 characters")


def test_the_longest_text_an_xlsx_cell_holds_is_still_too_long_for_a_note(registered, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Patient ID", "Instrument", "Taken at", "Item 1", "Note"])
    ws.append(["P-1", "nrs_pain", "2026-03-02 10:00", 5, "z" * 32_767])
    path = tmp_path / "note.xlsx"
    wb.save(path)
    with pytest.raises(ImportFailed, match=r"column 'Note': is too long \(32767 characters, at most 20000\)"):
        importing.import_file(registered, path, now=NOW)


# --- CSV dialects ---------------------------------------------------------------------------------------------


def test_semicolon_csv_from_excel_in_cp1252_with_dates_only(registered, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "Patient ID;Instrument;Taken at;Item 1;Note\r\n"
        "P-1;NRS pain;2026-03-02;7;Schmerz nach Gartenarbeit, müde\r\n".encode("cp1252")
    )
    report = importing.import_file(registered, path, now=NOW)
    assert report.imported("measurements") == 1
    m = Measurement.get()
    assert (m.total, m.taken_at, m.note) == (7, dt.datetime(2026, 3, 2, 12, 0), "Schmerz nach Gartenarbeit, müde")


def test_utf8_csv_with_quotes_and_a_byte_order_mark(registered, tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_text(
        '\ufeffPatient ID,Instrument,Taken at,Item 1,Note\nP-1,nrs_pain,2026-03-02 08:15,3,"said ""better"", slept"\n',
        encoding="utf-8",
    )
    importing.import_file(registered, path, now=NOW)
    assert Measurement.get().note == 'said "better", slept'


def test_csv_text_starting_with_equals_is_text_not_a_formula(registered, tmp_path):
    path = tmp_path / "eq.csv"
    path.write_text('Patient ID,Instrument,Taken at,Item 1,Note\nP-1,nrs_pain,2026-03-02 08:15,3,"=HYPERLINK(""x"")"\n')
    importing.import_file(registered, path, now=NOW)
    assert Measurement.get().note == '=HYPERLINK("x")'


# --- inspect and preview (the wizard's pages) ---------------------------------------------------------------------


def test_inspect_lists_sheets_with_their_headers_and_kind(registered, tmp_path):
    wb = Workbook()
    good_sheet(wb.active)
    wb.active.title = "Scores 2025"
    wb.create_sheet("Notes").append(["just one cell"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    sheets = importing.inspect(path)
    assert [(s.name, s.kind) for s in sheets] == [("Scores 2025", "measurements"), ("Notes", None)]
    assert sheets[0].headers == ("Patient ID", "Instrument", "Taken at", "Item 1")
    assert sheets[1].problem and "no header row" in sheets[1].problem
    headers, rows = importing.preview(path, "Scores 2025")
    assert rows == [["P-1", "nrs_pain", "2026-03-02 10:00", 6]]


# --- the command line ------------------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_reports_problems_and_exits_2_changing_nothing(registered, database, tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text(
        "Patient ID,Instrument,Taken at,Item 1\nP-1,nrs_pain,2026-03-02 10:00,5\nP-9,nrs_pain,2026-03-02 10:00,11\n"
    )
    code, out, err = run(capsys, "--db", url_of(database), "import", str(path))
    assert code == 2
    assert "problem: sheet 'm', row 3, column 'Patient ID': unknown patient 'P-9'" in out
    assert "problem: sheet 'm', row 3, column 'Item 1': item 1 of NRS pain: 11 is outside 0–10" in out
    assert err.count("\n") == 1 and err.startswith("teamdash: error: 2 problems in 1 row, so nothing was imported")
    assert "fix them, or import with --skip-bad-rows to import the good rows" in err
    code, out, err = run(capsys, "--db", url_of(database), "import", str(path), "--skip-bad-rows")
    assert code == 0 and "imported 1 measurement; 1 bad row skipped (written to" in out
    assert (tmp_path / "m-errors.xlsx").exists()
    assert "sheet 'm' as measurements: 2 rows; columns: Patient ID → Patient ID" in out


def test_cli_import_dry_run_and_a_malformed_file(registered, database, tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("Patient ID,Instrument,Taken at,Item 1\nP-1,nrs_pain,2026-03-02 10:00,5\n")
    code, out, _ = run(capsys, "--db", url_of(database), "import", str(path), "--dry-run")
    assert code == 0 and "would import 1 measurement; nothing was changed (dry run)" in out
    assert Measurement.select().count() == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not really")
    code, out, err = run(capsys, "--db", url_of(database), "import", str(bad))
    assert (
        code == 2 and err == "teamdash: error: bad.xlsx is not a spreadsheet: its contents are not an Excel workbook\n"
    )


def test_cli_export_and_its_errors(clinic, tmp_path, capsys):
    out_file = tmp_path / "cohort.xlsx"
    code, out, err = run(
        capsys,
        "--db",
        url_of(clinic),
        "export",
        "--out",
        str(out_file),
        "--status",
        "active",
        "--case-manager",
        "Morgan Quillfeather",
        "--discipline",
        "PT",
        "--from",
        "2026-01-01",
    )
    assert code == 0 and err == "" and out.startswith(f"wrote cohort workbook {out_file}: ")
    assert out_file.exists()
    code, out, err = run(
        capsys,
        "--db",
        url_of(clinic),
        "export",
        "--out",
        str(tmp_path / "p.xlsx"),
        "--kind",
        "patient",
        "--patient",
        "TD-00007",
    )
    assert code == 0 and "per-patient workbook" in out
    for argv, message in (
        (["--kind", "patient"], "needs a patient"),
        (["--patient", "TD-99999"], "no patient with clinic ID 'TD-99999'"),
        (["--case-manager", "Nobody"], "no staff member with the name or username 'Nobody'"),
        (["--from", "2026-13-01"], "is not a date"),
        (["--discipline", "yoga"], "'yoga' is not one of"),
    ):
        code, out, err = run(capsys, "--db", url_of(clinic), "export", "--out", str(tmp_path / "e.xlsx"), *argv)
        assert code == 2 and message in err and err.count("\n") == 1, argv
    assert not (tmp_path / "e.xlsx").exists()
    code, out, err = run(
        capsys,
        "--db",
        url_of(clinic),
        "export",
        "--out",
        str(tmp_path / "d.xlsx"),
        "--kind",
        "long",
        "--deidentify",
    )
    assert code == 0 and "(de-identified)" in out


# --- bounded problems, --sheet on a CSV, the skip flag, the words ----------------------------------------

JUNK_ROWS = 1_000_000


def test_a_huge_junk_file_stops_after_a_bounded_number_of_problems(registered, database, tmp_path, capsys):
    path = tmp_path / "junk.csv"
    with path.open("w") as f:
        f.write("Patient ID,Instrument,Taken at,Item 1\n")
        for start in range(0, JUNK_ROWS, 100_000):
            f.write("".join(f"junk{i},nonsense,someday,lots\n" for i in range(start, start + 100_000)))
    before = state()
    # Each row has three problems (patient, instrument, date): checking stops at the
    # row that brings them to 1,000, and the rest of the file is counted, not checked.
    checked = -(-importing.report.MAX_PROBLEMS // 3)
    with pytest.raises(ImportFailed) as caught:
        importing.import_file(registered, path, now=NOW)
    report = caught.value.report
    assert report.stopped and report.sheets[0].rows == checked and report.bad_rows == checked
    assert report.problem_count == 3 * checked and len(report.problems) == importing.report.MAX_PROBLEMS
    assert report.rows_unchecked == JUNK_ROWS - checked
    code, out, err = run(capsys, "--db", url_of(database), "import", str(path))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"teamdash: error: {3 * checked:,} problems in {checked} rows (checking stopped after {3 * checked:,} "
        f"problems: {JUNK_ROWS - checked:,} more rows not checked), so nothing was imported; fix them, or import "
        "with --skip-bad-rows to import the good rows"
    )
    assert out.count("\nproblem: sheet 'junk'") == 100  # the first hundred are listed ...
    assert f"problem: … and {3 * checked - 100:,} more problems\n" in out  # ... and the rest counted
    assert f"checking stopped after {3 * checked:,} problems: {JUNK_ROWS - checked:,} more rows not checked" in out
    assert state() == before


def test_sheet_on_a_csv_is_refused(registered, database, tmp_path, capsys):
    path = tmp_path / "m.csv"
    path.write_text("Patient ID,Instrument,Taken at,Item 1\nP-1,nrs_pain,2026-03-02 10:00,5\n")
    before = state()
    code, out, err = run(capsys, "--db", url_of(database), "import", str(path), "--sheet", "Scores")
    assert code == 2 and out == ""
    assert err == (
        "teamdash: error: sheet 'Scores' cannot be chosen: m.csv is a CSV file, which holds one table and no "
        "sheets (leave out --sheet; it names a sheet of an .xlsx workbook)\n"
    )
    assert state() == before


def test_messages_count_and_name_things_in_good_english(registered, database, tmp_path, capsys):
    first = tmp_path / "isi.csv"
    first.write_text(
        "Patient ID,Instrument,Taken at,Item 1,Item 2,Item 3,Item 4,Item 5,Item 6,Item 7\n"
        "P-1,isi,2026-03-02 10:00,1,1,1,1,1,1,1\n"
    )
    code, out, _ = run(capsys, "--db", url_of(database), "import", str(first))
    assert code == 0 and "sheet 'isi' as measurements: 1 row;" in out and "imported 1 measurement\n" in out
    before = state()
    code, out, err = run(capsys, "--db", url_of(database), "import", str(first))
    assert code == 2
    assert "an ISI taken at 2026-03-02 10:00 is already recorded for P-1 (duplicate measurement)" in out
    assert err.startswith("teamdash: error: 1 problem in 1 row, so nothing was imported; fix them, or import with ")
    assert "--skip-bad-rows" in err
    one_item = tmp_path / "nrs.csv"
    one_item.write_text("Patient ID,Instrument,Taken at,Item 1,Item 2\nP-1,nrs_pain,2026-03-03 10:00,4,4\n")
    code, out, err = run(capsys, "--db", url_of(database), "import", str(one_item))
    assert code == 2 and "column 'Item 2': NRS pain has 1 item; this column must be empty" in out
    assert state() == before


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("ISI", "an ISI"),
        ("ODI", "an ODI"),
        ("RMDQ", "an RMDQ"),
        ("NRS pain", "an NRS pain"),
        ("PHQ-9", "a PHQ-9"),
        ("GAD-7", "a GAD-7"),
        ("WPAI", "a WPAI"),
        ("STarT Back", "a STarT Back"),
        ("6MWT", "a 6MWT"),
        ("30s chair stand", "a 30s chair stand"),
        ("8-item scale", "an 8-item scale"),
        ("11-point scale", "an 11-point scale"),
        ("Sleep diary", "a Sleep diary"),
        ("hour", "an hour"),
        ("unit", "a unit"),
        ("action item", "an action item"),
        ("psychology", "a psychology"),
    ],
)
def test_the_article_goes_by_sound(noun, expected):
    assert words.a(noun) == expected


def test_counts_take_the_right_noun():
    assert [words.plural(n, "row") for n in (0, 1, 2, 1234)] == ["0 rows", "1 row", "2 rows", "1,234 rows"]
    assert words.plural(1, "staff member") == "1 staff member" and words.plural(3, "entry", "entries") == "3 entries"
