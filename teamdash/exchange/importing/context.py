"""What every sheet kind's loader works with: the run (who imports, when, the lookups
of staff, patients, instruments and disciplines, the problems found so far, the error
workbook, progress and Cancel) and one row at a time (its cells, its problems).

A loader reads its rows, turns cells into values (``cells``), has the services check
them (their ``validate_new``-style functions: one home for each rule), and hands the
clean rows to the services' bulk paths while nothing has gone wrong.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from teamdash.clinical import disciplines, instruments
from teamdash.errors import Cancelled, InvalidResponse, ValidationError
from teamdash.exchange.importing.cells import CellProblem, as_text
from teamdash.exchange.importing.fields import FieldSpec, normalise
from teamdash.exchange.importing.reading import MAX_CELL, Formula, Table
from teamdash.exchange.importing.report import MAX_PROBLEMS, ImportReport, Problem, SheetReport
from teamdash.services import patients, staff
from teamdash.services.auth import Actor

CHECK_EVERY = 1000  # rows between cancellation checks and progress reports
BATCH = 5000  # rows handed to a service's bulk path at a time

T = TypeVar("T")


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

    def column(self, name: str | None) -> str | None:
        """The header of the column mapped to a field (None when not mapped)."""
        i = self.mapping.get(name) if name else None
        return None if i is None else self.headers[i]


@dataclass(frozen=True)
class Kind:
    """A kind of sheet: the records it holds, the headers that mean its fields, and the
    loader that checks and writes its rows."""

    name: str  # "measurements"
    label: str  # "Measurements": the sheet TeamDash writes, the wizard's choice
    nouns: tuple[str, str]  # ("measurement", "measurements"): counted in messages
    sheet_names: tuple[str, ...]  # normalised sheet names that hold this kind
    fields: tuple[FieldSpec, ...]
    load: Callable[[Run, Table, Plan, SheetReport], None]
    # How many item columns (Item 1 … Item n) it may have: a function, so that the
    # instrument library is read only when a file is (the importer loads at start-up).
    items: Callable[[], int] | None = None
    # How many item-name columns (Item 1 name … : the patient's PSFS activities) it may have.
    names: Callable[[], int] | None = None

    derived: tuple[str, ...] = ()  # headers TeamDash computes: exported, never imported

    def item_count(self) -> int:
        return self.items() if self.items is not None else 0

    def name_count(self) -> int:
        return self.names() if self.names is not None else 0

    def count(self, n: int) -> str:
        return f"{n:,} {self.nouns[0] if n == 1 else self.nouns[1]}"


# --- problems ----------------------------------------------------------------------------


def bare(exc: ValidationError) -> str:
    """A validation message without its 'field: ' prefix (the column says where)."""
    text = exc.message
    if exc.field and text.startswith(f"{exc.field}: "):
        return text[len(exc.field) + 2 :]
    return text


def problem_kind(exc: ValidationError, date_fields: Sequence[str] = ()) -> str:
    """What sort of problem a service's ``ValidationError`` is, for the report."""
    if isinstance(exc, InvalidResponse):
        return "out_of_range"
    text = bare(exc)
    if "duplicate" in text:
        return "duplicate"
    if exc.field in date_fields:
        return "impossible_date"
    if "required" in text or text.startswith("no item responses") or "give the items" in text:
        return "missing"
    if "is outside" in text or "below the minimum" in text or "above the maximum" in text:
        return "out_of_range"
    return "invalid"


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Row:
    """One data row of a sheet while it is checked: its cells by field, its problems."""

    __slots__ = ("plan", "number", "values", "problems")

    def __init__(self, plan: Plan, number: int, values: list, problems: list[Problem]):
        self.plan = plan
        self.number = number
        self.values = values
        self.problems = problems

    @property
    def ok(self) -> bool:
        return not self.problems

    def has(self, name: str) -> bool:
        return name in self.plan.mapping

    def get(self, name: str) -> Any:
        i = self.plan.mapping.get(name)
        return None if i is None else self.values[i]

    def text(self, name: str) -> str | None:
        return as_text(self.get(name))

    def fail(self, name: str | None, reason: str, kind: str = "invalid") -> None:
        self.problems.append(Problem(self.plan.sheet, self.number, self.plan.column(name), reason, kind))

    def read(self, name: str, convert: Callable[[Any], T]) -> T | None:
        """A cell through a converter; a cell it cannot read becomes a problem (None)."""
        try:
            return convert(self.get(name))
        except CellProblem as exc:
            self.fail(name, exc.reason, exc.kind)
            return None

    def invalid(self, exc: ValidationError, date_fields: Sequence[str] = ()) -> None:
        """A service refused a value: the problem at the column of the field it names."""
        column = self.plan.column(exc.field)
        reason = bare(exc) if column else exc.message
        self.problems.append(Problem(self.plan.sheet, self.number, column, reason, problem_kind(exc, date_fields)))

    def check(self, validate: Callable[..., T], *args: Any, date_fields: Sequence[str] = (), **kwargs: Any) -> T | None:
        """A service's check: its clean result, or None with the problem recorded."""
        try:
            return validate(*args, **kwargs)
        except ValidationError as exc:
            self.invalid(exc, date_fields)
            return None


# --- the run ------------------------------------------------------------------------------


class Run:
    """One import: lookups shared by its sheets, the problems found, progress."""

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
        self.details = {"file": report.file.name}  # what the services' audit events say about the source
        # full name -> username -> (id, is case manager, active); id None: added by this file, not yet written
        self.staff_by_name: dict[str, dict[str, tuple[int | None, bool, bool]]] = {}
        self.staff_by_username: dict[str, tuple[int | None, bool, bool]] = {}
        for member in staff.list_staff(actor, include_inactive=True):
            self.remember_staff(member.id, member.username, member.full_name, member.is_case_manager, member.active)
        # clinic ID -> (id, date of birth) of the patients of this file; id None: not written
        # (the import fails); and of every registered patient (read at the first lookup)
        self.patients: dict[str, tuple[int | None, dt.date]] = {}
        self._registered: dict[str, tuple[int, dt.date]] | None = None
        self.bad_patients: set[str] = set()  # clinic IDs whose row on the patients sheet has problems
        self.instrument_names: dict[str, str] = {}
        for inst in instruments.library().values():
            for name in (inst.id, inst.short_name, inst.name):
                self.instrument_names[name.strip().lower()] = inst.id
                self.instrument_names[normalise(name)] = inst.id
        self.discipline_names: dict[str, str] = {}
        for d in disciplines.all_disciplines():
            for name in (d.code, d.name, d.short):
                self.discipline_names[name.lower()] = d.code
        # Rows of this file that later sheets name, by kind: (clinic ID, *key) -> id
        # (None: known, not written); and the keys of rows that had problems.
        self.records: dict[str, dict[tuple, int | None]] = defaultdict(dict)
        self.bad_records: dict[str, set[tuple]] = defaultdict(set)
        self.checkin_days: dict[int, dict[tuple[int, dt.date], int]] = {}  # per patient: check-ins by day
        self._error_book: Any = None
        self._error_sheets: dict[str, Any] = {}

    @property
    def writing(self) -> bool:
        """Whether rows found good are written (not once a problem dooms the import)."""
        return not self.failing

    # --- bookkeeping ------------------------------------------------------------------------

    def tick(self, n: int = 1) -> None:
        """Count ``n`` rows; now and then report progress and honour Cancel."""
        self.done += n
        if self.done >= self._next:
            self._next = self.done + CHECK_EVERY
            if self.cancelled is not None and self.cancelled():
                raise Cancelled("import cancelled; nothing was imported")
            if self.progress is not None:
                self.progress(self.done, max(self.total, self.done))

    @property
    def stopped(self) -> bool:
        """Checking stopped: the import fails, and enough problems were found to say why."""
        return self.report.stopped

    def problem(self, sheet: SheetReport, problems: list[Problem], plan: Plan, values: list, row_number: int) -> None:
        """A bad row: its problems counted and kept (up to a limit); in skip mode, the
        row goes to the error workbook; else nothing more is written, and checking
        stops once there are ``MAX_PROBLEMS`` problems."""
        report = self.report
        report.problem_count += len(problems)
        report.bad_rows += 1
        room = MAX_PROBLEMS - len(report.problems)
        if room > 0:
            report.problems.extend(problems[:room])
        sheet.skipped += 1
        if not report.skip_bad_rows:
            self.failing = True
            if report.problem_count >= MAX_PROBLEMS:
                report.stopped = True
        elif not report.dry_run:
            self._write_error_row(plan, values, problems, row_number)

    def _write_error_row(self, plan: Plan, values: list, problems: list[Problem], row_number: int) -> None:
        from teamdash.exchange.export.sheets import MIXED, TEXT, Book, Column, TableSheet  # imports openpyxl

        if self._error_book is None:
            self._error_book = Book()
        sheet = self._error_sheets.get(plan.sheet)
        if sheet is None:
            columns = [Column(h or f"Column {i + 1}", MIXED) for i, h in enumerate(plan.headers)]
            columns.append(Column("Problems", TEXT, width=80))
            sheet = TableSheet(self._error_book, plan.sheet, columns, freeze_columns=1)
            self._error_sheets[plan.sheet] = sheet
        shown = [str(v) if isinstance(v, Formula) else v for v in values[: len(plan.headers)]]
        shown += [None] * (len(plan.headers) - len(shown))
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

    def discard_errors(self) -> None:
        if self._error_book is not None and self.report.error_file is None:
            self._error_book.discard()  # nothing imported: no error workbook either

    # --- rows -------------------------------------------------------------------------------

    def rows(self, table: Table, plan: Plan, sheet: SheetReport) -> Iterator[tuple[int, list, list[Problem]]]:
        """Data rows with the generic cell checks done: formulas and over-long cells.
        They end early when checking has stopped; the rows left are counted from the
        table's size."""
        mapped = sorted(set(plan.mapping.values()))
        last = table.header_row
        report = self.report
        for number, values, suspect in table.rows():
            if report.stopped:
                report.rows_unchecked += max(0, table.header_row + table.estimated_rows - last)
                return
            last = number
            sheet.rows += 1
            self.done += 1
            if self.done >= self._next:
                self.tick(0)
            problems: list[Problem] = []
            if not suspect:
                yield number, values, problems
                continue
            for i in mapped:
                v = values[i]
                if isinstance(v, Formula):
                    problems.append(
                        Problem(
                            plan.sheet,
                            number,
                            plan.headers[i],
                            f"the cell holds a formula ({short(v.text)}); import needs values: copy "
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

    def checked_rows(self, table: Table, plan: Plan, sheet: SheetReport) -> Iterator[Row]:
        """``rows`` as ``Row`` objects, for loaders that check field by field."""
        for number, values, problems in self.rows(table, plan, sheet):
            yield Row(plan, number, values, problems)

    def reject(self, sheet: SheetReport, row: Row) -> None:
        self.problem(sheet, row.problems, row.plan, row.values, row.number)

    # --- lookups ----------------------------------------------------------------------------

    def remember_staff(self, uid: int | None, username: str, full_name: str, is_cm: bool, active: bool) -> None:
        entry = (uid, bool(is_cm), bool(active))
        self.staff_by_username[username.lower()] = entry
        self.staff_by_name.setdefault(full_name.strip().lower(), {})[username.lower()] = entry

    def staff_id(self, name: str, *, case_manager: bool = False) -> int | None:
        """A staff member by username or full name (case-insensitive)."""
        key = name.strip().lower()
        found = self.staff_by_username.get(key)
        if found is None:
            matches = list(self.staff_by_name.get(key, {}).values())
            if len(matches) > 1:
                raise CellProblem(f"{name!r} is the name of several staff members: use their username", "unknown_staff")
            found = matches[0] if matches else None
        if found is None:
            role = "case manager" if case_manager else "staff member"
            raise CellProblem(
                f"unknown {role} {name!r}: add them under Staff first (or import the Staff sheet)", "unknown_staff"
            )
        return found[0]

    def staff_of(self, row: Row, name: str, *, case_manager: bool = False) -> int | None:
        """The staff member a cell names (None when blank); an unknown one is a problem."""
        text = row.text(name)
        if not text:
            return None
        try:
            return self.staff_id(text, case_manager=case_manager)
        except CellProblem as exc:
            row.fail(name, exc.reason, exc.kind)
            return None

    def patient(self, clinic_id: str) -> tuple[int | None, dt.date] | None:
        """(id, date of birth) of a registered patient or one of this file; None if unknown."""
        found = self.patients.get(clinic_id)
        if found is None:
            if self._registered is None:
                self._registered = patients.all_registered()
            found = self._registered.get(clinic_id)
        return found

    def unknown_patient(self, clinic_id: str) -> CellProblem:
        if clinic_id in self.bad_patients:
            return CellProblem(
                f"patient {clinic_id!r} is not registered: its row on the patients sheet has problems",
                "unknown_patient",
            )
        return CellProblem(
            f"unknown patient {clinic_id!r}: no patient with this clinic ID is registered", "unknown_patient"
        )

    def patient_of(self, row: Row, name: str = "patient") -> tuple[int | None, dt.date] | None:
        """The row's patient by clinic ID; a missing or unknown one becomes a problem."""
        clinic_id = row.text(name)
        if not clinic_id:
            row.fail(name, "the patient's clinic ID is required", "missing")
            return None
        found = self.patient(clinic_id)
        if found is None:
            exc = self.unknown_patient(clinic_id)
            row.fail(name, exc.reason, exc.kind)
        return found

    def instrument_id(self, name: str) -> str | None:
        return self.instrument_names.get(name.lower()) or self.instrument_names.get(normalise(name))

    def discipline(self, text: str | None) -> str | None:
        """A discipline's code from its code, name or short name (unknown text as given:
        the service names the allowed ones)."""
        return self.discipline_names.get(text.lower(), text) if text else None


def _free_name(source: Path) -> Path:
    base = source.with_name(f"{source.stem}-errors.xlsx")
    n = 2
    while base.exists():
        base = source.with_name(f"{source.stem}-errors-{n}.xlsx")
        n += 1
    return base
