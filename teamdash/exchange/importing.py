"""Spreadsheet import: patients, measurements, sessions (and staff) from .xlsx or .csv.

The shape of a run:

1. **Open** the file and refuse what is not a table TeamDash can read, with a message
   that says why: not a spreadsheet, a password-protected (encrypted) workbook, an old
   .xls, an empty file, merged header cells, a CSV cell longer than a CSV reader holds.
2. **Map** columns to fields by header name (``auto_map``: "Patient ID", "Clinic ID" and
   "MRN" all mean the patient; "Item 3" and "Q3" the third item). The UI shows the
   mapping for confirmation and may change it; unmapped columns are ignored and listed.
3. **Validate** every row and cell: unknown patient, unknown instrument, response out
   of range, impossible date, duplicate measurement (already recorded, or twice in the
   file), formulas in cells, cells too long, and each service's own field rules. Every
   problem names sheet, row, column and reason.
4. **Write** in one transaction with bulk inserts. By default one bad row imports
   nothing (all-or-nothing); with ``skip_bad_rows`` the good rows go in and the bad ones
   are written, with their problems, to an error workbook that can be fixed and
   imported again. A dry run validates everything (against the database too) and
   rolls back.

A TeamDash long-format export imported into an empty database reproduces its staff,
patients, measurements and sessions (scores are recomputed from the items).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from teamdash import clock, validation
from teamdash.clinical import disciplines, instruments
from teamdash.errors import Cancelled, InvalidResponse, TeamDashError, ValidationError
from teamdash.services import audit, auth, list_summary, measurements, patients, sessions, staff
from teamdash.services.auth import Actor
from teamdash.storage.db import database
from teamdash.storage.models import Measurement, Patient, Session, User

KINDS = ("staff", "patients", "measurements", "sessions")  # import order: each may refer to the ones before
KIND_LABELS = {"staff": "Staff", "patients": "Patients", "measurements": "Measurements", "sessions": "Sessions"}
MAX_CELL = 32_767  # what one spreadsheet cell can hold
MAX_PROBLEMS_KEPT = 1000  # problems kept in the report (all are counted)
BATCH = 5000  # rows per bulk insert
CHECK_EVERY = 1000  # rows between cancellation checks and progress reports
SUMMARY_REFRESH_ALL_FROM = 2000  # patients touched: above this, rebuild every summary

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file: encrypted OOXML or old .xls
ZIP_MAGIC = b"PK\x03\x04"
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a row cannot be imported, located as the user sees the file."""

    sheet: str
    row: int
    column: str | None
    reason: str
    kind: str  # unknown_patient, unknown_instrument, out_of_range, impossible_date, duplicate,
    #            formula, too_long, missing, unknown_staff, invalid

    def __str__(self) -> str:
        where = f"sheet {self.sheet!r}, row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"


@dataclass
class SheetReport:
    sheet: str
    kind: str
    mapping: dict[str, str]  # field -> header
    ignored: list[str]  # headers not imported
    rows: int = 0  # data rows read
    imported: int = 0
    skipped: int = 0  # bad rows (skip mode) or rows already present (staff)


@dataclass
class ImportReport:
    file: Path
    dry_run: bool
    skip_bad_rows: bool
    sheets: list[SheetReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT
    problem_count: int = 0
    bad_rows: int = 0
    error_file: Path | None = None
    audit_event_id: int | None = None

    def imported(self, kind: str) -> int:
        return sum(s.imported for s in self.sheets if s.kind == kind)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        parts = [
            f"{self.imported(k):,} {KIND_LABELS[k].lower()}" for k in KINDS if any(s.kind == k for s in self.sheets)
        ]
        text = f"{verb} {', '.join(parts) or 'nothing'}"
        if self.bad_rows:
            text += f"; {self.bad_rows:,} bad row{'s' if self.bad_rows != 1 else ''} skipped"
            if self.error_file:
                text += f" (written to {self.error_file})"
        if self.dry_run:
            text += "; nothing was changed (dry run)"
        return text


class MalformedFile(ValidationError):
    """The file as a whole cannot be imported; nothing was changed."""


class ImportFailed(ValidationError):
    """Rows have problems and bad rows are not being skipped: nothing was imported.
    ``report`` lists every problem."""

    def __init__(self, report: ImportReport):
        self.report = report
        first = report.problems[0] if report.problems else None
        rows = f"{report.bad_rows:,} row{'s' if report.bad_rows != 1 else ''}"
        nothing = "nothing would be imported (dry run)" if report.dry_run else "nothing was imported"
        message = (
            f"{report.problem_count:,} problem{'s' if report.problem_count != 1 else ''} in {rows}, so {nothing}; "
            f"fix them or import with 'skip bad rows'. First: {first}"
        )
        super().__init__(message)


# --- reading files ------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (its text): refused, the import needs values."""

    text: str

    def __str__(self) -> str:
        return self.text


class Table:
    """One table in a file: its headers (the first row with two or more filled cells)
    and its data rows as (row number, values) with the row number the user sees."""

    def __init__(
        self,
        name: str,
        headers: list[str],
        header_row: int,
        rows: Iterator[tuple[int, list]],
        estimated_rows: int,
        columns: list[str],
    ):
        self.name = name
        self.headers = headers
        self.header_row = header_row
        self._rows = rows
        self.estimated_rows = estimated_rows
        self.columns = columns  # column letters (A, B, …) or numbers for CSV

    def rows(self) -> Iterator[tuple[int, list, bool]]:
        """(row number, values, suspect): ``suspect`` rows may hold a formula or a cell
        too long for a spreadsheet, and get the cell-by-cell check."""
        width = len(self.headers)
        for number, values, suspect in self._rows:
            if values.count(None) + values.count("") == len(values):
                continue  # a blank row
            if len(values) < width:
                values = list(values) + [None] * (width - len(values))
            yield number, values, suspect

    def preview(self, n: int = 20) -> list[list]:
        out = []
        for _number, values, _suspect in self.rows():
            out.append(values[: len(self.headers)])
            if len(out) >= n:
                break
        return out


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


class SpreadsheetFile:
    """An opened .xlsx or .csv; ``table(name)`` reads one sheet (CSV: its one table)."""

    def __init__(self, path: Path):
        self.path = path
        self._wb = None
        self._csv: tuple[str, str] | None = None  # (encoding, delimiter)
        self.sheet_names: list[str] = []
        self._open()

    # --- opening ------------------------------------------------------------------------

    def _open(self) -> None:
        path = self.path
        if not path.exists():
            raise MalformedFile(f"{path} does not exist")
        if path.is_dir():
            raise MalformedFile(f"{path} is a folder, not a spreadsheet")
        size = path.stat().st_size
        if size == 0:
            raise MalformedFile(f"{path.name} is empty (0 bytes): there is nothing to import")
        with path.open("rb") as f:
            head = f.read(8)
        if head.startswith(CFB_MAGIC):
            if _is_encrypted(path):
                raise MalformedFile(
                    f"{path.name} is password-protected (encrypted): TeamDash cannot read it. Open it in Excel, "
                    "remove the password (File → Info → Protect Workbook → Encrypt with Password) and save a copy"
                )
            raise MalformedFile(
                f"{path.name} is an old Excel 97–2003 (.xls) workbook: open it in Excel and save it as .xlsx"
            )
        if head.startswith(ZIP_MAGIC):
            self._open_xlsx()
            return
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
            raise MalformedFile(f"{path.name} is not a spreadsheet: its contents are not an Excel workbook")
        self._open_csv()

    def _open_xlsx(self) -> None:
        from openpyxl import load_workbook

        try:
            self._wb = load_workbook(self.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise MalformedFile(
                f"{self.path.name} is not a spreadsheet TeamDash can read (damaged or not an .xlsx workbook: {exc})"
            ) from exc
        except Exception as exc:  # openpyxl's own InvalidFileException and parser errors
            raise MalformedFile(f"{self.path.name} is not a readable .xlsx workbook ({exc})") from exc
        self.sheet_names = list(self._wb.sheetnames)

    def _open_csv(self) -> None:
        with self.path.open("rb") as f:
            sample = f.read(1 << 20)
        if b"\x00" in sample:
            raise MalformedFile(f"{self.path.name} is not a spreadsheet or a CSV text file (it holds binary data)")
        encoding = "utf-8-sig"
        try:
            codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
        except UnicodeDecodeError:
            encoding = "cp1252"  # what Excel on Windows writes for "CSV"
        text = sample.decode(encoding, errors="replace")
        if not text.strip():
            raise MalformedFile(f"{self.path.name} holds no rows: there is nothing to import")
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        self._csv = (encoding, delimiter)
        self.sheet_names = [self.path.stem]

    @property
    def is_csv(self) -> bool:
        return self._csv is not None

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()
            self._wb = None

    def __enter__(self) -> SpreadsheetFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- tables -------------------------------------------------------------------------

    def table(self, name: str | None = None) -> Table:
        if self.is_csv:
            return self._csv_table()
        if name is None:
            name = self.sheet_names[0]
        if name not in self.sheet_names:
            raise MalformedFile(f"{self.path.name} has no sheet {name!r} (it has: {', '.join(self.sheet_names)})")
        return self._xlsx_table(name)

    def _xlsx_table(self, name: str) -> Table:
        ws = self._wb[name]
        if not hasattr(ws, "iter_rows"):
            raise MalformedFile(f"sheet {name!r} is a chart sheet, not a table", sheet=name)
        merged = _merged_ranges(self.path, ws)

        def cells() -> Iterator[tuple[int, list, bool]]:
            for number, row in enumerate(ws.iter_rows(), start=1):
                values = [_cell_value(c) for c in row]
                types = set(map(type, values))
                suspect = Formula in types or (
                    str in types and max(len(v) for v in values if type(v) is str) > MAX_CELL
                )
                yield number, values, suspect

        rows = cells()
        headers, header_row = _find_header(rows, name)
        _check_merged(merged, header_row, name)
        estimate = max(0, (ws.max_row or 0) - header_row)
        return Table(name, headers, header_row, rows, estimate, [_letter(i) for i in range(len(headers))])

    def _csv_table(self) -> Table:
        encoding, delimiter = self._csv
        name = self.path.stem
        handle = self.path.open("r", encoding=encoding, newline="")

        def records() -> Iterator[tuple[int, list, bool]]:
            reader = csv.reader(handle, delimiter=delimiter)
            number = 0
            try:
                for number, values in enumerate(reader, start=1):
                    # CSV holds no formulas; a cell can only be too long.
                    suspect = bool(values) and max(map(len, values)) > MAX_CELL
                    yield number, [v if v != "" else None for v in values], suspect
            except csv.Error as exc:
                raise MalformedFile(
                    f"{self.path.name}, line {reader.line_num}: {exc} — a cell longer than {csv.field_size_limit():,} "
                    "characters or a broken quote; this is not a table TeamDash can import",
                    row=number + 1,
                ) from exc
            except UnicodeDecodeError as exc:
                raise MalformedFile(
                    f"{self.path.name}: not readable as {encoding} text near line {number + 1}", row=number + 1
                ) from exc
            finally:
                handle.close()

        rows = records()
        headers, header_row = _find_header(rows, name)
        with self.path.open("rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        return Table(
            name, headers, header_row, rows, max(0, lines - header_row), [str(i + 1) for i in range(len(headers))]
        )


def _cell_value(cell):
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time() and "h" not in (cell.number_format or "").lower():
        return value.date()  # a date cell (Excel keeps every date as a date and time)
    return value


def _find_header(rows: Iterator[tuple[int, list, bool]], sheet: str) -> tuple[list[str], int]:
    """The first row with at least two filled cells (a title row above it is skipped)."""
    for number, values, _suspect in rows:
        filled = [v for v in values if v is not None and str(v).strip() != ""]
        if len(filled) >= 2:
            while values and (values[-1] is None or str(values[-1]).strip() == ""):
                values = values[:-1]
            headers = []
            for i, v in enumerate(values):
                if isinstance(v, Formula):
                    raise MalformedFile(
                        f"the header cell {_letter(i)}{number} holds a formula ({v}); headers must be plain text",
                        sheet=sheet,
                        row=number,
                    )
                headers.append("" if v is None else str(v).strip())
            return headers, number
        if number > 50:
            break
    raise MalformedFile(
        "holds no table: no header row with column names was found (the sheet is empty or has a single column)",
        sheet=sheet,
    )


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _merged_ranges(path: Path, ws) -> list[tuple[str, int, int]]:
    """Merged cell ranges of a sheet as (ref, first row, last row). Read-only openpyxl
    does not report them: scan the sheet's XML (they follow the rows), in chunks."""
    part = getattr(ws, "_worksheet_path", None)
    if not part:
        return []
    out = []
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
            tail = b""
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                data = tail + chunk
                for m in _MERGE_RE.finditer(data):
                    first = int(m.group(2))
                    last = int(m.group(4)) if m.group(4) else first
                    ref = m.group(0).split(b'"')[1].decode()
                    out.append((ref, first, last))
                tail = data[-200:]
    except (KeyError, zipfile.BadZipFile):
        return []
    return sorted(set(out), key=lambda r: r[1])


def _check_merged(merged: list[tuple[str, int, int]], header_row: int, sheet: str) -> None:
    for ref, first, last in merged:
        if last >= header_row:
            where = "the header row" if first <= header_row else "the data"
            raise MalformedFile(
                f"{where} has merged cells ({ref}); unmerge them so that every column has its own header and every "
                "row its own values (Home → Merge & Center → Unmerge Cells), then import again",
                sheet=sheet,
                row=first,
            )


def _is_encrypted(path: Path) -> bool:
    """An encrypted OOXML file is a compound file with an EncryptionInfo stream (its
    name is in the file's directory, UTF-16 encoded)."""
    marker = "EncryptionInfo".encode("utf-16-le")
    tail = b""
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if marker in tail + chunk:
                return True
            tail = chunk[-len(marker) :]
    return False


# --- fields and mapping -------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    required: bool
    aliases: tuple[str, ...]  # normalised header names, in order of preference


def _f(name: str, label: str, required: bool, *aliases: str) -> FieldSpec:
    return FieldSpec(name, label, required, (normalise(label), *aliases))


def normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(header).lower()).strip()


PATIENT_FIELDS = (
    _f("clinic_id", "Patient ID", True, "clinic id", "patient", "patient number", "mrn", "id", "clinic number"),
    _f("given_name", "Given name", True, "first name", "forename", "given names", "first names"),
    _f("family_name", "Family name", True, "last name", "surname"),
    _f("date_of_birth", "Date of birth", True, "dob", "birth date", "birthdate", "born"),
    _f("sex", "Sex", False, "gender"),
    _f("referral_date", "Referral date", True, "referred", "referral", "referred on", "date of referral"),
    _f(
        "programme_start",
        "Programme start",
        False,
        "program start",
        "programme start date",
        "program start date",
        "start date",
    ),
    _f("episode_start", "Episode start", False, "episode start date", "baseline from"),
    _f("status", "Status", False),
    _f(
        "status_changed_on",
        "Status since",
        False,
        "status changed",
        "status changed on",
        "status date",
        "discharge date",
    ),
    _f("case_manager", "Case manager", False, "case manager name", "key worker"),
    _f("next_checkin", "Next check-in", False, "next checkin", "next review", "next check in date"),
    _f("research_consent", "Research consent", False, "consent", "consent to research"),
    _f("flagged_for_review", "Flagged for review", False, "flagged"),
    _f("flag_note", "Flag note", False),
)
MEASUREMENT_FIELDS = (
    _f("patient", "Patient ID", True, "clinic id", "patient", "patient number", "mrn"),
    _f("instrument", "Instrument", True, "instrument id", "measure id", "questionnaire", "measure", "outcome measure"),
    _f(
        "taken_at",
        "Taken at",
        True,
        "date taken",
        "taken on",
        "measured at",
        "measured on",
        "date time",
        "datetime",
        "date",
        "when",
    ),
    _f("total", "Total", False, "score", "total score"),
    _f("note", "Note", False, "notes", "comment", "comments"),
    _f("entered_by", "Entered by", False, "recorded by", "rater", "assessor"),
)
SESSION_FIELDS = (
    _f("patient", "Patient ID", True, "clinic id", "patient", "patient number", "mrn"),
    _f("discipline", "Discipline", True, "service"),
    _f("held_at", "Held at", True, "held on", "session date", "date time", "datetime", "date"),
    _f("kind", "Kind", True, "session kind", "session type", "type"),
    _f("minutes", "Minutes", False, "duration", "duration minutes", "mins", "length"),
    _f("attendance", "Attendance", False, "attended"),
    _f("clinician", "Clinician", False, "therapist", "seen by", "staff"),
    _f("note", "Note", False, "notes", "comment", "comments"),
)
STAFF_FIELDS = (
    _f("username", "Username", True, "user", "login", "user name"),
    _f("full_name", "Full name", True, "name", "staff name"),
    _f("role", "Role", False),
    _f("discipline", "Discipline", False),
    _f("is_case_manager", "Case manager", False, "is case manager"),
    _f("active", "Active", False),
)
FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "staff": STAFF_FIELDS,
    "patients": PATIENT_FIELDS,
    "measurements": MEASUREMENT_FIELDS,
    "sessions": SESSION_FIELDS,
}
ITEM_RE = re.compile(r"^(?:item|q|question|response|answer)\s*(\d{1,2})$")
MAX_ITEMS = max(len(i.items) for i in instruments.library().values())
SHEET_NAMES = {
    "staff": "staff",
    "users": "staff",
    "patients": "patients",
    "patient": "patients",
    "demographics": "patients",
    "measurements": "measurements",
    "measurement": "measurements",
    "scores": "measurements",
    "outcomes": "measurements",
    "sessions": "sessions",
    "session": "sessions",
    "appointments": "sessions",
}


def field_label(kind: str, name: str) -> str:
    if name.startswith("item_"):
        return f"Item {name[5:]}"
    return next(f.label for f in FIELDS[kind] if f.name == name)


def fields_for(kind: str) -> list[tuple[str, str, bool]]:
    """(field, label, required) of a kind, items included: what the mapping page lists."""
    out = [(f.name, f.label, f.required) for f in FIELDS[kind]]
    if kind == "measurements":
        out += [(f"item_{n}", f"Item {n}", False) for n in range(1, MAX_ITEMS + 1)]
    return out


def auto_map(kind: str, headers: Sequence[str]) -> dict[str, int]:
    """Field -> column index, matched by header name (each column used once)."""
    normal = [normalise(h) for h in headers]
    used: set[int] = set()
    out: dict[str, int] = {}
    for spec in FIELDS[kind]:
        for alias in spec.aliases:
            hit = next((i for i, n in enumerate(normal) if n == alias and i not in used), None)
            if hit is not None:
                out[spec.name] = hit
                used.add(hit)
                break
    if kind == "measurements":
        for i, n in enumerate(normal):
            m = ITEM_RE.match(n)
            if m and i not in used and f"item_{int(m.group(1))}" not in out:
                out[f"item_{int(m.group(1))}"] = i
                used.add(i)
    return out


def detect_kind(headers: Sequence[str], sheet_name: str | None = None) -> str | None:
    """What a table holds: by its sheet name, else by which kind's required columns it has."""
    if sheet_name and normalise(sheet_name) in SHEET_NAMES:
        return SHEET_NAMES[normalise(sheet_name)]
    for kind in ("measurements", "sessions", "patients", "staff"):
        mapped = auto_map(kind, headers)
        if all(f.name in mapped for f in FIELDS[kind] if f.required):
            return kind
    return None


@dataclass
class Plan:
    """What will be imported from one table: its kind and column mapping."""

    sheet: str
    kind: str
    headers: list[str]
    mapping: dict[str, int]  # field -> column index
    ignored: list[str]

    def mapping_by_header(self) -> dict[str, str]:
        return {name: self.headers[i] for name, i in self.mapping.items()}


def make_plan(table: Table, kind: str, mapping: dict[str, str | int] | None = None) -> Plan:
    """Check a mapping (given by header name or column index; auto-matched when None)."""
    headers = table.headers
    if mapping is None:
        resolved = auto_map(kind, headers)
    else:
        resolved = {}
        for name, target in mapping.items():
            if target is None or target == "":
                continue
            if isinstance(target, int):
                if not 0 <= target < len(headers):
                    raise MalformedFile(f"column {target + 1} does not exist", sheet=table.name)
                resolved[name] = target
            else:
                matches = [i for i, h in enumerate(headers) if h == target]
                if not matches:
                    raise MalformedFile(f"there is no column headed {target!r}", sheet=table.name)
                resolved[name] = matches[0]
    known = {n for n, _label, _req in fields_for(kind)}
    unknown = set(resolved) - known
    if unknown:
        raise MalformedFile(f"{', '.join(sorted(unknown))} is not a {kind} field", sheet=table.name)
    missing = [f for f in FIELDS[kind] if f.required and f.name not in resolved]
    if missing:
        names = "; ".join(
            f"{f.label} (a header such as {', '.join(repr(a) for a in _shown_aliases(f))})" for f in missing
        )
        raise MalformedFile(f"has no column for {names}", sheet=table.name)
    if kind == "measurements" and not any(n.startswith("item_") for n in resolved) and "total" not in resolved:
        raise MalformedFile(
            "has no item columns (Item 1, Item 2, …) and no Total column: no scores to import", sheet=table.name
        )
    normal = [normalise(h) for h in headers]
    for i in resolved.values():
        twins = [j for j, n in enumerate(normal) if n == normal[i] and j != i and n]
        if twins and mapping is None:
            letters = ", ".join(table.columns[j] for j in [i, *twins])
            raise MalformedFile(
                f"several columns are headed {headers[i]!r} ({letters}); rename all but one", sheet=table.name
            )
    used = set(resolved.values())
    ignored = [h for i, h in enumerate(headers) if i not in used and h]
    return Plan(table.name, kind, list(headers), resolved, ignored)


def _shown_aliases(spec: FieldSpec) -> list[str]:
    return [spec.label, *(a.capitalize() for a in spec.aliases[1:3])]


# --- inspecting (the wizard's first pages) ---------------------------------------------------


@dataclass(frozen=True)
class SheetInfo:
    name: str
    headers: tuple[str, ...]
    kind: str | None  # detected
    estimated_rows: int
    problem: str | None = None  # why this sheet cannot be read, if it cannot


def inspect(path) -> list[SheetInfo]:
    """Each table in the file with its headers and what it seems to hold."""
    path = Path(path)
    out = []
    with SpreadsheetFile(path) as f:
        for name in f.sheet_names:
            try:
                table = f.table(name)
            except MalformedFile as exc:
                out.append(SheetInfo(name, (), None, 0, str(exc)))
                continue
            out.append(
                SheetInfo(
                    name,
                    tuple(table.headers),
                    detect_kind(table.headers, None if f.is_csv else name),
                    table.estimated_rows,
                )
            )
    return out


def preview(path, sheet: str | None = None, rows: int = 20) -> tuple[list[str], list[list]]:
    """Headers and the first rows of a table, for the wizard's preview."""
    with SpreadsheetFile(Path(path)) as f:
        table = f.table(sheet)
        return list(table.headers), table.preview(rows)


# --- converting cells -------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")


class CellProblem(Exception):
    def __init__(self, reason: str, kind: str = "invalid"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _parse_iso(text: str) -> dt.datetime | None:
    m = _DATE_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        return dt.datetime(y, mo, d, h, mi, s)
    except ValueError:
        raise CellProblem(f"{text!r} is not a real date (there is no such day)", "impossible_date") from None


def as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = _parse_iso(value.strip())
        if parsed is None:
            raise CellProblem(
                f"{value.strip()!r} is not a date (write it as YYYY-MM-DD, e.g. 2026-03-01)", "impossible_date"
            )
        return parsed.date()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(
            f"{value!r} is a number, not a date (format the column as a date or write YYYY-MM-DD)", "impossible_date"
        )
    raise CellProblem(f"{value!r} is not a date", "impossible_date")


def as_datetime(value) -> dt.datetime | None:
    """A date and time; a date alone is taken at 12:00, as everywhere in TeamDash."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(12, 0))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 10:
            try:
                return dt.datetime.fromisoformat(text).replace(microsecond=0, tzinfo=None)  # the common case
            except ValueError:
                pass
        parsed = _parse_iso(text)
        if parsed is None:
            raise CellProblem(
                f"{text!r} is not a date and time (write YYYY-MM-DD HH:MM, e.g. 2026-03-01 10:30)", "impossible_date"
            )
        if len(text) <= 10:
            parsed = parsed.replace(hour=12)
        return parsed
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellProblem(
            f"{value!r} is a number, not a date (format the column as a date or write YYYY-MM-DD HH:MM)",
            "impossible_date",
        )
    raise CellProblem(f"{value!r} is not a date and time", "impossible_date")


_TRUE = {"1", "yes", "y", "true", "t", "x", "ja", "oui"}
_FALSE = {"0", "no", "n", "false", "f", "nein", "non"}


def as_bool(value) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellProblem(f"{value!r} is not yes/no (write yes or no, TRUE or FALSE, 1 or 0)")


def as_response(value):
    """An item response as the scorer takes it (whole numbers typed as text become
    numbers: the scorer's fast path)."""
    if type(value) is str:
        text = value.strip()
        if text.isdigit():
            return int(text)
        return text
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.datetime):
        return value.strftime("%H:%M")  # a time of day typed into a date-time cell
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- the import run ----------------------------------------------------------------------------


class _Rollback(Exception):
    pass


class _Run:
    def __init__(
        self,
        actor: Actor,
        report: ImportReport,
        *,
        now: dt.datetime,
        error_file: Path | None,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ):
        self.actor = actor
        self.report = report
        self.now = now
        self.today = now.date()
        self.error_path = error_file
        self.progress = progress
        self.cancelled = cancelled
        self.total = 0
        self.done = 0
        self._next = CHECK_EVERY
        self.failing = False  # a problem was found and bad rows are not skipped: write nothing more
        self.touched: set[int] = set()
        self.created_patients: list[tuple[int, str]] = []
        self.created_staff: list[str] = []
        # lookups
        self.staff_by_name: dict[str, list[tuple[int, bool, bool]]] = {}
        self.staff_by_username: dict[str, tuple[int, bool, bool]] = {}
        for uid, username, full_name, is_cm, active in User.select(
            User.id, User.username, User.full_name, User.is_case_manager, User.active
        ).tuples():
            self._remember_staff(uid, username, full_name, is_cm, active)
        self.patients: dict[str, tuple[int | None, dt.date] | None] = {}
        self.bad_patients: set[str] = set()
        self.instrument_names: dict[str, str] = {}
        for inst in instruments.library().values():
            for name in (inst.id, inst.short_name, inst.name):
                self.instrument_names[name.strip().lower()] = inst.id
                self.instrument_names[normalise(name)] = inst.id
        self.discipline_names: dict[str, str] = {}
        for d in disciplines.all_disciplines():
            for name in (d.code, d.name, d.short):
                self.discipline_names[name.lower()] = d.code
        self.measurement_keys: dict[int, set] = {}
        self.session_keys: dict[int, set] = {}
        self._error_book = None
        self._error_sheets: dict[str, object] = {}
        self._item_cache: dict[tuple, tuple] = {}

    # --- bookkeeping ------------------------------------------------------------------------

    def _remember_staff(self, uid: int | None, username: str, full_name: str, is_cm: bool, active: bool) -> None:
        entry = (uid, bool(is_cm), bool(active))
        self.staff_by_username[username.lower()] = entry
        self.staff_by_name.setdefault(full_name.strip().lower(), []).append(entry)

    def tick(self) -> None:
        self.done += 1
        if self.done >= self._next:
            self._next = self.done + CHECK_EVERY
            if self.cancelled is not None and self.cancelled():
                raise Cancelled("import cancelled; nothing was imported")
            if self.progress is not None:
                self.progress(self.done, max(self.total, self.done))

    def problem(self, sheet: SheetReport, problems: list[Problem], plan: Plan, values: list, row_number: int) -> None:
        self.report.problem_count += len(problems)
        self.report.bad_rows += 1
        room = MAX_PROBLEMS_KEPT - len(self.report.problems)
        if room > 0:
            self.report.problems.extend(problems[:room])
        sheet.skipped += 1
        if not self.report.skip_bad_rows:
            self.failing = True
        elif not self.report.dry_run:
            self._write_error_row(plan, values, problems, row_number)

    def _write_error_row(self, plan: Plan, values: list, problems: list[Problem], row_number: int) -> None:
        from teamdash.exchange.export.sheets import MIXED, TEXT, Book, Column, TableSheet

        if self._error_book is None:
            self._error_book = Book()
        sheet = self._error_sheets.get(plan.sheet)
        if sheet is None:
            columns = [Column(h or f"Column {i + 1}", MIXED) for i, h in enumerate(plan.headers)]
            columns.append(Column("Problems", TEXT, width=80))
            sheet = TableSheet(self._error_book, plan.sheet, columns, freeze_columns=1)
            self._error_sheets[plan.sheet] = sheet
        shown = [str(v) if isinstance(v, Formula) else v for v in values[: len(plan.headers)]]
        reasons = "; ".join((f"{p.column}: " if p.column else "") + p.reason for p in problems)
        sheet.add([*shown, f"row {row_number} of the original: {reasons}"])

    def save_errors(self) -> Path | None:
        if self._error_book is None:
            return None
        for sheet in self._error_sheets.values():
            sheet.close()
        path = self.error_path or _free_name(self.report.file)
        self._error_book.save(path)
        return path

    # --- lookups ----------------------------------------------------------------------------

    def patient(self, clinic_id: str) -> tuple[int | None, dt.date] | None:
        if clinic_id not in self.patients:
            row = (
                Patient.select(Patient.id, Patient.date_of_birth).where(Patient.clinic_id == clinic_id).tuples().first()
            )
            self.patients[clinic_id] = (row[0], row[1]) if row else None
        return self.patients[clinic_id]

    def staff_id(self, name: str, *, case_manager: bool = False) -> int | None:
        """A staff member by username or full name (case-insensitive)."""
        key = name.strip().lower()
        found = self.staff_by_username.get(key)
        if found is None:
            matches = self.staff_by_name.get(key, [])
            if len(matches) > 1:
                raise CellProblem(f"{name!r} is the name of several staff members: use their username", "unknown_staff")
            found = matches[0] if matches else None
        if found is None:
            role = "case manager" if case_manager else "staff member"
            raise CellProblem(
                f"unknown {role} {name!r}: add them under Staff first (or import the Staff sheet)", "unknown_staff"
            )
        return found[0]

    def _unknown_patient(self, clinic_id: str) -> CellProblem:
        if clinic_id in self.bad_patients:
            return CellProblem(
                f"patient {clinic_id!r} is not registered: its row on the patients sheet has problems",
                "unknown_patient",
            )
        return CellProblem(
            f"unknown patient {clinic_id!r}: no patient with this clinic ID is registered", "unknown_patient"
        )

    # --- rows -------------------------------------------------------------------------------

    def rows(self, table: Table, plan: Plan, sheet: SheetReport):
        """Data rows with the generic cell checks done: formulas and over-long cells."""
        mapped = sorted(set(plan.mapping.values()))
        for number, values, suspect in table.rows():
            sheet.rows += 1
            self.tick()
            problems = []
            for i in mapped if suspect else ():
                v = values[i]
                if isinstance(v, Formula):
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            plan.headers[i],
                            f"the cell holds a formula ({_short(v.text)}); import needs values: copy "
                            "the column and paste it as values (Paste Special → Values)",
                            "formula",
                        )
                    )
                elif isinstance(v, str) and len(v) > MAX_CELL:
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            plan.headers[i],
                            f"the cell holds {len(v):,} characters; a spreadsheet cell holds at most {MAX_CELL:,}",
                            "too_long",
                        )
                    )
            yield number, values, problems

    def import_table(self, table: Table, plan: Plan) -> SheetReport:
        sheet = SheetReport(plan.sheet, plan.kind, plan.mapping_by_header(), plan.ignored)
        self.report.sheets.append(sheet)
        handler = {
            "staff": self._staff,
            "patients": self._patients,
            "measurements": self._measurements,
            "sessions": self._sessions,
        }[plan.kind]
        handler(table, plan, sheet)
        return sheet

    # staff ---------------------------------------------------------------------------------

    def _staff(self, table: Table, plan: Plan, sheet: SheetReport) -> None:
        m = plan.mapping
        can_add = self.actor.can("manage_users")
        roles = disciplines.vocabulary("roles")
        for number, values, problems in self.rows(table, plan, sheet):
            get = lambda name, values=values: values[m[name]] if name in m else None  # noqa: E731
            col = lambda name: plan.headers[m[name]] if name in m else None  # noqa: E731
            username = (as_text(get("username")) or "").lower()
            full_name = as_text(get("full_name"))
            if not problems:
                if not username:
                    problems.append(Problem(plan.sheet, number, col("username"), "a username is required", "missing"))
                elif not staff.USERNAME.match(username):
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            col("username"),
                            f"{username!r} must start with a letter and use only a-z, 0-9, '.', '_' or '-'",
                            "invalid",
                        )
                    )
            if not problems and username in self.staff_by_username:
                sheet.skipped += 1  # already present: matched, not added again
                continue
            values_out = {}
            if not problems:
                try:
                    values_out = {
                        "username": username,
                        "full_name": validation.text(full_name, "full_name", max_length=120),
                        "role": validation.choice(as_text(get("role")) or "clinician", "role", roles),
                        "discipline": (
                            self.discipline_names.get((as_text(get("discipline")) or "").lower())
                            if as_text(get("discipline"))
                            else None
                        ),
                        "is_case_manager": bool(as_bool(get("is_case_manager"))),
                        "active": as_bool(get("active")) is not False,
                    }
                    if as_text(get("discipline")) and values_out["discipline"] is None:
                        raise ValidationError(
                            f"{as_text(get('discipline'))!r} is not one of: {', '.join(disciplines.codes())}",
                            field="discipline",
                        )
                except CellProblem as exc:
                    problems.append(Problem(plan.sheet, number, None, exc.reason, exc.kind))
                except ValidationError as exc:
                    problems.append(
                        Problem(plan.sheet, number, col(exc.field) if exc.field in m else None, _bare(exc), "invalid")
                    )
            if not problems and not can_add:
                problems.append(
                    Problem(
                        plan.sheet,
                        number,
                        col("username"),
                        f"unknown staff member {username!r}: only an administrator may add staff",
                        "unknown_staff",
                    )
                )
            if problems:
                self.problem(sheet, problems, plan, values, number)
                continue
            if self.failing:
                self._remember_staff(
                    None, username, values_out["full_name"], values_out["is_case_manager"], values_out["active"]
                )
                continue
            user = User.create(**values_out)
            audit.record(self.actor, "user.import", entity="user", entity_id=user.id, after=audit.row_dict(user))
            self._remember_staff(user.id, username, user.full_name, user.is_case_manager, user.active)
            self.created_staff.append(username)
            sheet.imported += 1

    # patients ------------------------------------------------------------------------------

    PATIENT_INSERT = (
        "clinic_id",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "referral_date",
        "programme_start",
        "episode_start",
        "status",
        "status_changed_on",
        "case_manager",
        "next_checkin",
        "research_consent",
        "flagged_for_review",
        "flag_note",
        "search_key",  # imported patients are found by search like registered ones
    )
    DATE_FIELDS = {
        "date_of_birth",
        "referral_date",
        "programme_start",
        "episode_start",
        "status_changed_on",
        "next_checkin",
    }

    def _patients(self, table: Table, plan: Plan, sheet: SheetReport) -> None:
        m = plan.mapping
        statuses = disciplines.vocabulary("patient_status")
        existing = {cid for (cid,) in Patient.select(Patient.clinic_id).tuples()}
        first_row: dict[str, int] = {}
        batch: list[tuple] = []
        for number, values, problems in self.rows(table, plan, sheet):
            col = lambda name: plan.headers[m[name]] if name in m else None  # noqa: E731
            raw: dict = {}
            status, status_on = "active", None
            if not problems:
                for name in m:
                    if name in ("status", "status_changed_on"):
                        continue
                    v = values[m[name]]
                    try:
                        if name in self.DATE_FIELDS:
                            v = as_date(v)
                        elif name in ("research_consent", "flagged_for_review"):
                            v = as_bool(v)
                        elif name == "case_manager":
                            v = as_text(v)
                            v = self.staff_id(v, case_manager=True) if v else None
                        else:
                            v = as_text(v)
                    except CellProblem as exc:
                        problems.append(Problem(plan.sheet, number, col(name), exc.reason, exc.kind))
                        continue
                    if v is not None:
                        raw[name] = v
                try:
                    status = as_text(values[m["status"]]) if "status" in m else None
                    status = (status or "active").lower().replace(" ", "_").replace("-", "_")
                    if status not in statuses:
                        problems.append(
                            Problem(
                                plan.sheet,
                                number,
                                col("status"),
                                f"{status!r} is not one of: {', '.join(statuses)}",
                                "invalid",
                            )
                        )
                    status_on = as_date(values[m["status_changed_on"]]) if "status_changed_on" in m else None
                except CellProblem as exc:
                    problems.append(Problem(plan.sheet, number, col("status_changed_on"), exc.reason, exc.kind))
            clean = {}
            if not problems:
                try:
                    clean = patients.validate_new(raw, today=self.today)
                except ValidationError as exc:
                    kind = (
                        "impossible_date"
                        if exc.field in self.DATE_FIELDS
                        else ("missing" if "required" in _bare(exc) else "invalid")
                    )
                    problems.append(Problem(plan.sheet, number, col(exc.field) or exc.field, _bare(exc), kind))
            if not problems and status_on is not None and status_on > self.today:
                problems.append(
                    Problem(
                        plan.sheet,
                        number,
                        col("status_changed_on"),
                        f"{status_on.isoformat()} is in the future",
                        "impossible_date",
                    )
                )
            clinic_id = clean.get("clinic_id") or as_text(values[m["clinic_id"]]) or ""
            if not problems:
                if clinic_id in existing:
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            col("clinic_id"),
                            f"clinic ID {clinic_id!r} is already registered (duplicate patient)",
                            "duplicate",
                        )
                    )
                elif clinic_id in first_row:
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            col("clinic_id"),
                            f"clinic ID {clinic_id!r} is already on row {first_row[clinic_id]} of this "
                            "file (duplicate patient)",
                            "duplicate",
                        )
                    )
            if problems:
                if clinic_id:
                    self.bad_patients.add(clinic_id)
                self.problem(sheet, problems, plan, values, number)
                continue
            first_row[clinic_id] = number
            clean.setdefault("sex", "unknown")
            clean["status"] = status
            clean["status_changed_on"] = status_on
            clean.setdefault("research_consent", False)
            clean.setdefault("flagged_for_review", False)
            self.patients[clinic_id] = (None, clean["date_of_birth"])  # known to this run
            batch.append(tuple(clean.get(k) for k in self.PATIENT_INSERT))
            sheet.imported += 1
            if len(batch) >= BATCH:
                self._insert_patients(batch)
                batch = []
        self._insert_patients(batch)

    def _insert_patients(self, batch: list[tuple]) -> None:
        if not batch or self.failing:
            return
        from teamdash.services import row_ops

        row_ops.bulk_insert(Patient, [getattr(Patient, k) for k in self.PATIENT_INSERT], batch)
        ids = [b[0] for b in batch]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for pid, clinic_id, dob in (
                Patient.select(Patient.id, Patient.clinic_id, Patient.date_of_birth)
                .where(Patient.clinic_id.in_(chunk))
                .tuples()
            ):
                self.patients[clinic_id] = (pid, dob)
                self.touched.add(pid)
                self.created_patients.append((pid, clinic_id))
                self.measurement_keys[pid] = set()
                self.session_keys[pid] = set()

    # measurements --------------------------------------------------------------------------

    def _measurements(self, table: Table, plan: Plan, sheet: SheetReport) -> None:
        m = plan.mapping
        headers = plan.headers
        items = sorted((int(name[5:]), i) for name, i in m.items() if name.startswith("item_"))
        self._item_cache = {}  # keyed by this sheet's item list
        item_count = max((n for n, _ in items), default=0)
        item_column = {n: headers[i] for n, i in items}
        p_col, i_col, t_col = m["patient"], m["instrument"], m["taken_at"]
        total_col, note_col, by_col = m.get("total"), m.get("note"), m.get("entered_by")
        first_row: dict[tuple, int] = {}
        batch: list[tuple] = []
        entered_at = self.now
        for number, values, problems in self.rows(table, plan, sheet):
            if problems:
                self.problem(sheet, problems, plan, values, number)
                continue
            row = self._measurement(
                plan,
                number,
                values,
                problems,
                p_col,
                i_col,
                t_col,
                total_col,
                note_col,
                by_col,
                items,
                item_count,
                item_column,
                first_row,
                entered_at,
            )
            if problems:
                self.problem(sheet, problems, plan, values, number)
                continue
            sheet.imported += 1
            if row is not None:
                batch.append(row)
                if len(batch) >= BATCH:
                    self._flush_measurements(batch)
                    batch = []
        self._flush_measurements(batch)

    def _measurement(
        self,
        plan,
        number,
        values,
        problems,
        p_col,
        i_col,
        t_col,
        total_col,
        note_col,
        by_col,
        items,
        item_count,
        item_column,
        first_row,
        entered_at,
    ):
        sheet_name, headers = plan.sheet, plan.headers
        clinic_id = as_text(values[p_col])
        patient = None
        if not clinic_id:
            problems.append(
                Problem(sheet_name, number, headers[p_col], "the patient's clinic ID is required", "missing")
            )
        else:
            patient = self.patient(clinic_id)
            if patient is None:
                exc = self._unknown_patient(clinic_id)
                problems.append(Problem(sheet_name, number, headers[p_col], exc.reason, exc.kind))
        name = as_text(values[i_col])
        instrument_id = None
        if not name:
            problems.append(Problem(sheet_name, number, headers[i_col], "the instrument is required", "missing"))
        else:
            instrument_id = self.instrument_names.get(name.lower()) or self.instrument_names.get(normalise(name))
            if instrument_id is None:
                problems.append(
                    Problem(
                        sheet_name,
                        number,
                        headers[i_col],
                        f"unknown instrument {name!r} (known: {', '.join(sorted(instruments.library()))})",
                        "unknown_instrument",
                    )
                )
        taken_at = None
        try:
            taken_at = as_datetime(values[t_col])
            if taken_at is None:
                problems.append(Problem(sheet_name, number, headers[t_col], "the date taken is required", "missing"))
            elif taken_at > self.now + measurements.CLOCK_SKEW:
                problems.append(
                    Problem(
                        sheet_name,
                        number,
                        headers[t_col],
                        f"{taken_at:%Y-%m-%d %H:%M} is in the future",
                        "impossible_date",
                    )
                )
            elif taken_at.date() < validation.EARLIEST_DATE:
                problems.append(
                    Problem(
                        sheet_name,
                        number,
                        headers[t_col],
                        f"{taken_at:%Y-%m-%d} is before {validation.EARLIEST_DATE.isoformat()}",
                        "impossible_date",
                    )
                )
            elif patient is not None and taken_at.date() < patient[1]:
                problems.append(
                    Problem(
                        sheet_name,
                        number,
                        headers[t_col],
                        f"{taken_at:%Y-%m-%d} is before the patient's date of birth",
                        "impossible_date",
                    )
                )
        except CellProblem as exc:
            problems.append(Problem(sheet_name, number, headers[t_col], exc.reason, exc.kind))
        scored = None
        if instrument_id is not None:
            scored = self._score(
                plan, number, values, problems, instrument_id, items, item_count, item_column, total_col
            )
        note = None
        if note_col is not None:
            try:
                note = validation.note(as_text(values[note_col]))
            except ValidationError as exc:
                problems.append(Problem(sheet_name, number, headers[note_col], _bare(exc), "invalid"))
        entered_by = None
        if by_col is not None and as_text(values[by_col]):
            try:
                entered_by = self.staff_id(as_text(values[by_col]))
            except CellProblem as exc:
                problems.append(Problem(sheet_name, number, headers[by_col], exc.reason, exc.kind))
        if problems:
            return None
        key = (clinic_id, instrument_id, taken_at)
        if key in first_row:
            problems.append(
                Problem(
                    sheet_name,
                    number,
                    headers[t_col],
                    f"the same {instruments.get(instrument_id).short_name} at {taken_at:%Y-%m-%d %H:%M} "
                    f"is already on row {first_row[key]} of this file (duplicate measurement)",
                    "duplicate",
                )
            )
            return None
        pid = patient[0]
        if pid is not None:
            existing = self.measurement_keys.get(pid)
            if existing is None:
                existing = {
                    (i, t if isinstance(t, dt.datetime) else dt.datetime.fromisoformat(str(t)))
                    for i, t in Measurement.select(Measurement.instrument, Measurement.taken_at)
                    .where(Measurement.patient == pid)
                    .tuples()
                }
                self.measurement_keys[pid] = existing
            if (instrument_id, taken_at) in existing:
                problems.append(
                    Problem(
                        sheet_name,
                        number,
                        headers[t_col],
                        f"a {instruments.get(instrument_id).short_name} taken at "
                        f"{taken_at:%Y-%m-%d %H:%M} is already recorded for {clinic_id} "
                        "(duplicate measurement)",
                        "duplicate",
                    )
                )
                return None
        first_row[key] = number
        if pid is None:
            return None  # the patient is in this file but is not being written (the import fails anyway)
        self.touched.add(pid)
        return measurements.scored_row(
            pid,
            instrument_id,
            scored,
            taken_at,
            entered_by=entered_by,
            entered_at=entered_at,
            note=note,
            source="import",
        )

    def _score(self, plan, number, values, problems, instrument_id, items, item_count, item_column, total_col):
        inst = instruments.get(instrument_id)
        n = len(inst.items)
        earlier = len(problems)  # this row's other problems: still score it, to report all of them
        within, beyond = self._item_columns(items, n)
        responses = [values[i] if i is not None else None for i in within]
        given = responses.count(None) + responses.count("") < n
        if given:
            responses = [None if v is None or v == "" else as_response(v) for v in responses]
        for item, index in beyond:
            if values[index] is not None and values[index] != "":
                problems.append(
                    Problem(
                        plan.sheet,
                        number,
                        item_column[item],
                        f"{inst.short_name} has {n} items; this column must be empty",
                        "out_of_range",
                    )
                )
        total = None
        if total_col is not None and values[total_col] not in (None, ""):
            try:
                raw = values[total_col]
                total = raw if type(raw) in (int, float) else validation.number(raw, "total")
            except ValidationError as exc:
                problems.append(Problem(plan.sheet, number, plan.headers[total_col], _bare(exc), "invalid"))
                return None
        if len(problems) > earlier:
            return None
        if not given:
            if total is None:
                problems.append(
                    Problem(
                        plan.sheet, number, None, f"no item responses and no total for {inst.short_name}", "missing"
                    )
                )
                return None
            if n == 1:
                responses[0] = total  # a one-item measure: the total is the answer
            else:
                return self._total_only(plan, number, problems, inst, total, total_col)
        try:
            scored = measurements.encoded_scored_columns(instrument_id, tuple(responses))
        except InvalidResponse as exc:
            column = item_column.get(exc.item) if exc.item is not None else None
            problems.append(Problem(plan.sheet, number, column, exc.message, "out_of_range"))
            return None
        except TypeError:  # an unhashable value: score without the cache
            try:
                scored = measurements.scored_columns(instruments.score(instrument_id, responses))
            except InvalidResponse as exc:
                problems.append(Problem(plan.sheet, number, item_column.get(exc.item), exc.message, "out_of_range"))
                return None
        if total is not None and scored["total"] is not None:
            tolerance = 0.5 * 10**-inst.decimals
            if abs(total - scored["total"]) > tolerance + 1e-9:
                problems.append(
                    Problem(
                        plan.sheet,
                        number,
                        plan.headers[total_col],
                        f"the total {total:g} does not match the item responses, which score "
                        f"{inst.format(scored['total'])} (check the columns are mapped to the right items)",
                        "invalid",
                    )
                )
                return None
        return scored

    def _item_columns(self, items: list[tuple[int, int]], n: int) -> tuple[list[int | None], list[tuple[int, int]]]:
        """For an instrument of ``n`` items: the column of each item (None when not
        mapped), and the mapped item columns beyond ``n`` (which must stay empty)."""
        key = (id(items), n)
        found = self._item_cache.get(key)
        if found is None:
            by_item = dict(items)
            found = ([by_item.get(k) for k in range(1, n + 1)], [(k, i) for k, i in items if k > n])
            self._item_cache[key] = found
        return found

    def _total_only(self, plan, number, problems, inst, total, total_col):
        """A total without item responses (scores kept from before TeamDash): checked
        against the range and banded; items stay blank, so no safety item is known."""
        low, high = inst.total_min, inst.total_max
        if (low is not None and total < low) or (high is not None and total > high):
            problems.append(
                Problem(
                    plan.sheet,
                    number,
                    plan.headers[total_col],
                    f"{total:g} is outside the {inst.short_name} range {low:g}–{high:g}",
                    "out_of_range",
                )
            )
            return None
        if inst.scoring and inst.scoring.subgroups:
            problems.append(
                Problem(
                    plan.sheet,
                    number,
                    plan.headers[total_col],
                    f"{inst.short_name} is classified from its items, not its total: give the items",
                    "missing",
                )
            )
            return None
        band = inst.band_for(total)
        return {
            "responses": [None] * len(inst.items),
            "total": total,
            "band": band.label if band else None,
            "band_severity": band.severity if band else None,
            "details": {
                "total_only": True,
                "subscales": {},
                "components": {},
                "derived": {},
                "missing_items": [],
                "flags": [],
            },
            "safety": False,
        }

    def _flush_measurements(self, batch: list[tuple]) -> None:
        if batch and not self.failing:
            measurements.insert_scored(batch)
            for row in batch:
                self.measurement_keys.setdefault(row[0], set()).add((row[1], row[2]))

    # sessions ------------------------------------------------------------------------------

    SESSION_INSERT = ("patient", "discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note")

    def _sessions(self, table: Table, plan: Plan, sheet: SheetReport) -> None:
        m = plan.mapping
        first_row: dict[tuple, int] = {}
        batch: list[tuple] = []
        for number, values, problems in self.rows(table, plan, sheet):
            col = lambda name: plan.headers[m[name]] if name in m else None  # noqa: E731
            patient = None
            clean: dict = {}
            if not problems:
                clinic_id = as_text(values[m["patient"]])
                if not clinic_id:
                    problems.append(
                        Problem(plan.sheet, number, col("patient"), "the patient's clinic ID is required", "missing")
                    )
                else:
                    patient = self.patient(clinic_id)
                    if patient is None:
                        exc = self._unknown_patient(clinic_id)
                        problems.append(Problem(plan.sheet, number, col("patient"), exc.reason, exc.kind))
                raw: dict = {}
                for name in ("discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note"):
                    if name not in m:
                        continue
                    v = values[m[name]]
                    try:
                        if name == "held_at":
                            v = as_datetime(v)
                        elif name == "discipline":
                            text = as_text(v)
                            v = self.discipline_names.get(text.lower(), text) if text else None
                        elif name == "clinician":
                            text = as_text(v)
                            v = self.staff_id(text) if text else None
                        elif name == "attendance":
                            text = as_text(v)
                            v = text.lower().replace(" ", "_").replace("-", "_") if text else "attended"
                        elif name != "minutes":
                            v = as_text(v)
                    except CellProblem as exc:
                        problems.append(Problem(plan.sheet, number, col(name), exc.reason, exc.kind))
                        continue
                    raw[name] = v
                raw.setdefault("attendance", "attended")
                raw.setdefault("minutes", 0)
                if raw.get("minutes") in (None, ""):
                    raw["minutes"] = 0
                if not problems:
                    try:
                        clean = sessions.validate_new(raw, now=self.now)
                    except ValidationError as exc:
                        kind = (
                            "impossible_date"
                            if exc.field == "held_at"
                            else ("missing" if "required" in _bare(exc) else "invalid")
                        )
                        problems.append(Problem(plan.sheet, number, col(exc.field) or exc.field, _bare(exc), kind))
                if not problems and patient is not None and clean["held_at"].date() < patient[1]:
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            col("held_at"),
                            f"{clean['held_at']:%Y-%m-%d} is before the patient's date of birth",
                            "impossible_date",
                        )
                    )
                if not problems:
                    key = (clinic_id, clean["discipline"], clean["held_at"])
                    pid = patient[0]
                    existing = self._session_keys(pid) if pid is not None else set()
                    if key in first_row:
                        problems.append(
                            Problem(
                                plan.sheet,
                                number,
                                col("held_at"),
                                f"the same {clean['discipline']} session is already on row "
                                f"{first_row[key]} of this file (duplicate session)",
                                "duplicate",
                            )
                        )
                    elif (clean["discipline"], clean["held_at"]) in existing:
                        problems.append(
                            Problem(
                                plan.sheet,
                                number,
                                col("held_at"),
                                f"a {clean['discipline']} session at {clean['held_at']:%Y-%m-%d %H:%M} is "
                                f"already recorded for {clinic_id} (duplicate session)",
                                "duplicate",
                            )
                        )
                    else:
                        first_row[key] = number
            if problems:
                self.problem(sheet, problems, plan, values, number)
                continue
            sheet.imported += 1
            if patient[0] is None:
                continue
            self.touched.add(patient[0])
            clean["patient"] = patient[0]
            clean.setdefault("clinician", None)
            clean.setdefault("note", None)
            batch.append(tuple(clean.get(k) for k in self.SESSION_INSERT))
            if len(batch) >= BATCH:
                self._flush_sessions(batch)
                batch = []
        self._flush_sessions(batch)

    def _session_keys(self, pid: int) -> set:
        keys = self.session_keys.get(pid)
        if keys is None:
            keys = {
                (d, t if isinstance(t, dt.datetime) else dt.datetime.fromisoformat(str(t)))
                for d, t in Session.select(Session.discipline, Session.held_at).where(Session.patient == pid).tuples()
            }
            self.session_keys[pid] = keys
        return keys

    def _flush_sessions(self, batch: list[tuple]) -> None:
        if batch and not self.failing:
            from teamdash.services import row_ops

            row_ops.bulk_insert(Session, [getattr(Session, k) for k in self.SESSION_INSERT], batch)
            for row in batch:
                self.session_keys.setdefault(row[0], set()).add((row[1], row[2]))


def _bare(exc: ValidationError) -> str:
    """A validation message without its 'field: ' prefix (the column says where)."""
    text = exc.message
    if exc.field and text.startswith(f"{exc.field}: "):
        return text[len(exc.field) + 2 :]
    return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _free_name(source: Path) -> Path:
    base = source.with_name(f"{source.stem}-errors.xlsx")
    n = 2
    while base.exists():
        base = source.with_name(f"{source.stem}-errors-{n}.xlsx")
        n += 1
    return base


# --- the entry point -------------------------------------------------------------------------------


def plans_for(
    f: SpreadsheetFile,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    mapping: dict[str, str | int] | None = None,
) -> list[tuple[Table, Plan]]:
    """Which tables of the file to import, as what. No kind and no sheet: every sheet
    named for a kind (a TeamDash workbook), in dependency order; else the one table."""
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"{kind!r} is not one of: {', '.join(KINDS)}", field="kind")
    if f.is_csv or sheet is not None:
        table = f.table(sheet)
        chosen = kind or detect_kind(table.headers, None if f.is_csv else table.name)
        if chosen is None:
            raise MalformedFile(_undetected(table), sheet=table.name)
        return [(table, make_plan(table, chosen, mapping))]
    names = f.sheet_names
    if kind is not None:
        named = [n for n in names if SHEET_NAMES.get(normalise(n)) == kind]
        candidates = named or names
        for name in candidates:
            table = f.table(name)
            if named or len(names) == 1 or detect_kind(table.headers) == kind:
                return [(table, make_plan(table, kind, mapping))]
        raise MalformedFile(
            f"no sheet of {f.path.name} looks like {kind} (sheets: {', '.join(names)}); choose one with --sheet"
        )
    by_kind = sorted(
        ((KINDS.index(SHEET_NAMES[normalise(n)]), n) for n in names if normalise(n) in SHEET_NAMES),
    )
    if by_kind:
        out = []
        for _order, name in by_kind:
            table = f.table(name)
            out.append((table, make_plan(table, SHEET_NAMES[normalise(name)], mapping if len(by_kind) == 1 else None)))
        return out
    table = f.table(names[0])
    chosen = detect_kind(table.headers)
    if chosen is None:
        raise MalformedFile(_undetected(table), sheet=table.name)
    return [(table, make_plan(table, chosen, mapping))]


def _undetected(table: Table) -> str:
    return (
        "cannot tell whether it holds patients, measurements or sessions from its headers "
        f"({', '.join(h for h in table.headers if h)[:200]}); choose the kind (--kind)"
    )


def import_file(
    actor: Actor,
    path,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    mapping: dict[str, str | int] | None = None,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    error_file=None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import a spreadsheet. All-or-nothing unless ``skip_bad_rows``; raises
    ``ImportFailed`` (with the report) when rows have problems and are not skipped,
    ``MalformedFile`` when the file itself cannot be imported. Nothing is changed by
    either, nor by a dry run."""
    auth.require(actor, "import")
    path = Path(path).expanduser()
    now = (now or clock.now()).replace(microsecond=0)
    report = ImportReport(path, dry_run, skip_bad_rows)
    error_path = Path(error_file).expanduser() if error_file else None
    with SpreadsheetFile(path) as f:
        plans = plans_for(f, kind=kind, sheet=sheet, mapping=mapping)
        run = _Run(actor, report, now=now, error_file=error_path, progress=progress, cancelled=cancelled)
        run.total = sum(t.estimated_rows for t, _ in plans)
        try:
            with database.atomic():
                for table, plan in plans:
                    run.import_table(table, plan)
                if report.problem_count and not skip_bad_rows:
                    raise _Rollback()
                if not any(s.rows for s in report.sheets):
                    raise MalformedFile(f"{path.name} has headers but no data rows: there is nothing to import")
                _refresh_summaries(run.touched)
                if dry_run:
                    raise _Rollback()
                report.error_file = run.save_errors()
                report.audit_event_id = _audit(actor, run, report)
        except _Rollback:
            pass
        except BaseException:
            if run._error_book is not None and report.error_file is None:
                run._error_book.discard()  # nothing imported: no error workbook either
            raise
    if report.problem_count and not skip_bad_rows:
        raise ImportFailed(report)
    if progress is not None:
        progress(run.done, max(run.total, run.done))
    return report


def _refresh_summaries(patient_ids: set[int]) -> None:
    if not patient_ids:
        return
    if len(patient_ids) > SUMMARY_REFRESH_ALL_FROM:
        list_summary.refresh_all()
    else:
        list_summary.refresh_many(patient_ids)


def _audit(actor: Actor, run: _Run, report: ImportReport) -> int:
    for pid, clinic_id in run.created_patients:
        audit.record(
            actor,
            "patient.import",
            patient_id=pid,
            entity="patient",
            entity_id=pid,
            details={"file": report.file.name, "clinic_id": clinic_id},
        )
    return audit.record(
        actor,
        "import",
        details={
            "file": str(report.file),
            "skip_bad_rows": report.skip_bad_rows,
            "sheets": [
                {
                    "sheet": s.sheet,
                    "kind": s.kind,
                    "rows": s.rows,
                    "imported": s.imported,
                    "skipped": s.skipped,
                    "mapping": s.mapping,
                }
                for s in report.sheets
            ],
            "bad_rows": report.bad_rows,
            "error_file": str(report.error_file) if report.error_file else None,
        },
    )


__all__ = [
    "import_file",
    "inspect",
    "preview",
    "auto_map",
    "detect_kind",
    "fields_for",
    "field_label",
    "make_plan",
    "ImportReport",
    "SheetReport",
    "Problem",
    "ImportFailed",
    "MalformedFile",
    "KINDS",
    "TeamDashError",
]
