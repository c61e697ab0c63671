"""What an export is asked for and what it produced (plain data, no openpyxl)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from teamdash import validation
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError

KINDS = ("cohort", "long", "patient")
KIND_LABELS = {
    "cohort": "Cohort workbook",
    "long": "Long-format workbook",
    "patient": "Per-patient workbook",
}
KIND_DESCRIPTIONS = {
    "cohort": "one row per patient with baseline, latest and change of each key measure; every score, "
    "session, goal, check-in and action item in long sheets",
    "long": "tidy long sheets of every record: patients, staff, scores, sessions, goals, check-ins, action "
    "items, decisions, safety acknowledgements, graded activity, courses, plan items, sleep diary, flares, "
    "support network and return to work (the layout 'teamdash import' reads back)",
    "patient": "one patient: a summary, one sheet per discipline with its measures, sessions and goals, "
    "and line charts of the key measures over time",
}


@dataclass(frozen=True)
class ExportOptions:
    kind: str = "cohort"
    patient_id: int | None = None  # the patient (database id) of a per-patient workbook, or one patient's rows
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str | None = None
    case_manager_id: int | None = None
    discipline: str | None = None
    deidentify: bool = False

    def checked(self) -> ExportOptions:
        """The options if they make sense together; else ``ValidationError`` naming the field."""
        validation.choice(self.kind, "kind", KINDS)
        if self.kind == "patient" and self.patient_id is None:
            raise ValidationError("a per-patient workbook needs a patient (--patient CLINIC_ID)", field="patient")
        if self.kind == "patient" and self.deidentify:
            raise ValidationError(
                "a per-patient workbook cannot be de-identified: one known patient is identifiable by context; "
                "use a de-identified cohort or long workbook",
                field="deidentify",
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(
                f"the date range ends ({self.date_to.isoformat()}) before it starts ({self.date_from.isoformat()})",
                field="to",
            )
        if self.status is not None:
            validation.choice(self.status, "status", disciplines.vocabulary("patient_status"))
        if self.discipline is not None:
            validation.choice(self.discipline, "discipline", disciplines.codes())
        return self


@dataclass(frozen=True)
class ExportResult:
    path: Path
    kind: str
    patients: int
    rows: dict[str, int] = field(default_factory=dict)  # data rows per sheet
    deidentified: bool = False
    audit_event_id: int | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())
