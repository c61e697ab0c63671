"""What an import found and did: problems located as the user sees the file, a report
per sheet, the whole report, and the two ways an import is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from teamdash.errors import ValidationError

MAX_PROBLEMS_KEPT = 1000  # problems kept in the report (all are counted)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 row', '2 rows', '1,024 rows'."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


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
    label: str = ""  # what the rows are, in the plural ("measurements")
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
        labels = dict.fromkeys((s.kind, s.label or s.kind) for s in self.sheets)
        parts = [f"{self.imported(kind):,} {label}" for kind, label in labels]
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
        message = (
            f"{plural(report.problem_count, 'problem')} in {plural(report.bad_rows, 'row')}, so {nothing}; "
            f"fix them or import with 'skip bad rows'. First: {first}"
        )
        super().__init__(message)
