"""What an import found and did: problems located as the user sees the file, a report
per sheet, the whole report, and the two ways an import is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from teamdash.errors import ValidationError
from teamdash.words import plural

# An import that is going to fail (bad rows are not being skipped) stops checking after
# this many problems: a junk file of a million rows is not checked to its end, and the
# report (and memory) stays this size. Skipping bad rows checks every row (the good
# ones go in) and keeps this many problems in the report, counting the rest.
MAX_PROBLEMS = 1000
SKIP_HINT = "--skip-bad-rows"  # the command-line flag the messages name


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
    label: tuple[str, str] | None = None  # what the rows are: ("measurement", "measurements")
    rows: int = 0  # data rows read
    imported: int = 0
    skipped: int = 0  # bad rows (skip mode) or rows already present (staff)

    @property
    def what(self) -> str:
        """What its rows are, in words: 'measurements', 'graded activity weeks'."""
        return self.label[1] if self.label else self.kind.replace("_", " ")


@dataclass
class ImportReport:
    file: Path
    dry_run: bool
    skip_bad_rows: bool
    sheets: list[SheetReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS
    problem_count: int = 0
    bad_rows: int = 0
    stopped: bool = False  # checking stopped at MAX_PROBLEMS problems (the import failed anyway)
    rows_unchecked: int = 0  # data rows not checked after it stopped (from the sheets' sizes)
    error_file: Path | None = None
    audit_event_id: int | None = None

    def imported(self, kind: str) -> int:
        return sum(s.imported for s in self.sheets if s.kind == kind)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def more_problems(self) -> int:
        """Problems found but not kept in ``problems``."""
        return self.problem_count - len(self.problems)

    def stopped_text(self) -> str:
        """Why not every row was checked, or ''."""
        if not self.stopped:
            return ""
        return (
            f"checking stopped after {plural(self.problem_count, 'problem')}: "
            f"{plural(self.rows_unchecked, 'more row')} not checked"
        )

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        labels = dict.fromkeys((s.kind, s.label or (s.kind, s.kind)) for s in self.sheets)
        parts = [plural(self.imported(kind), *label) for kind, label in labels]
        text = f"{verb} {', '.join(parts) or 'nothing'}"
        if self.bad_rows:
            text += f"; {plural(self.bad_rows, 'bad row')} skipped"
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
        nothing = "nothing would be imported (dry run)" if report.dry_run else "nothing was imported"
        stopped = f" ({report.stopped_text()})" if report.stopped else ""
        message = (
            f"{plural(report.problem_count, 'problem')} in {plural(report.bad_rows, 'row')}{stopped}, so {nothing}; "
            f"fix them, or import with {SKIP_HINT} to import the good rows and write the bad ones to an error "
            f"workbook. First: {first}"
        )
        super().__init__(message)
