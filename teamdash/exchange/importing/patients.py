"""The Patients sheet: registration, demographics, status. Each row is checked by
``patients.validate_new`` and the good ones registered by ``patients.create_many``;
later sheets of the same file may refer to them."""

from __future__ import annotations

from typing import Any

from teamdash.exchange.importing.cells import as_bool, as_date, as_text, as_word
from teamdash.exchange.importing.context import BATCH, Kind, Plan, Row, Run
from teamdash.exchange.importing.fields import field
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import SheetReport
from teamdash.services import patients

FIELDS = (
    field("clinic_id", "Patient ID", True, "clinic id", "patient", "patient number", "mrn", "id", "clinic number"),
    field("given_name", "Given name", True, "first name", "forename", "given names", "first names"),
    field("family_name", "Family name", True, "last name", "surname"),
    field("date_of_birth", "Date of birth", True, "dob", "birth date", "birthdate", "born"),
    field("sex", "Sex", False, "gender"),
    field("referral_date", "Referral date", True, "referred", "referral", "referred on", "date of referral"),
    field(
        "programme_start",
        "Programme start",
        False,
        "program start",
        "programme start date",
        "program start date",
        "start date",
    ),
    field("episode_start", "Episode start", False, "episode start date", "baseline from"),
    field("status", "Status", False),
    field(
        "status_changed_on",
        "Status since",
        False,
        "status changed",
        "status changed on",
        "status date",
        "discharge date",
    ),
    field("case_manager", "Case manager", False, "case manager name", "key worker"),
    field("next_checkin", "Next check-in", False, "next checkin", "next review", "next check in date"),
    field("research_consent", "Research consent", False, "consent", "consent to research"),
    field("flagged_for_review", "Flagged for review", False, "flagged"),
    field("flag_note", "Flag note", False),
)
DATE_FIELDS = (
    "date_of_birth",
    "referral_date",
    "programme_start",
    "episode_start",
    "status_changed_on",
    "next_checkin",
)
BOOL_FIELDS = ("research_consent", "flagged_for_review")


def _values(run: Run, row: Row) -> dict:
    """The row's cells as the values ``patients.validate_new`` takes (blank cells left out)."""
    out: dict[str, Any] = {}
    for name in row.plan.mapping:
        if name in DATE_FIELDS:
            value: Any = row.read(name, as_date)
        elif name in BOOL_FIELDS:
            value = row.read(name, as_bool)
        elif name == "status":
            value = as_word(row.get(name))
        elif name == "case_manager":
            value = run.staff_of(row, name, case_manager=True)
        else:
            value = as_text(row.get(name))
        if value is not None:
            out[name] = value
    return out


def load(run: Run, table: Table, plan: Plan, sheet: SheetReport) -> None:
    registered = patients.all_clinic_ids()
    first_row: dict[str, int] = {}
    batch: list[dict] = []
    for row in run.checked_rows(table, plan, sheet):
        values = _values(run, row) if row.ok else {}
        clean = row.check(patients.validate_new, values, today=run.today, date_fields=DATE_FIELDS) if row.ok else None
        clinic_id = (clean or {}).get("clinic_id") or row.text("clinic_id") or ""
        if clean is not None:
            if clinic_id in registered:
                row.fail("clinic_id", f"clinic ID {clinic_id!r} is already registered (duplicate patient)", "duplicate")
            elif clinic_id in first_row:
                row.fail(
                    "clinic_id",
                    f"clinic ID {clinic_id!r} is already on row {first_row[clinic_id]} of this file (duplicate patient)",
                    "duplicate",
                )
        if clean is None or not row.ok:
            if clinic_id:
                run.bad_patients.add(clinic_id)
            run.reject(sheet, row)
            continue
        first_row[clinic_id] = row.number
        run.patients[clinic_id] = (None, clean["date_of_birth"])  # known to this run
        batch.append(clean)
        sheet.imported += 1
        if len(batch) >= BATCH:
            _write(run, batch)
            batch = []
    _write(run, batch)


def _write(run: Run, batch: list[dict]) -> None:
    if not batch or not run.writing:
        return
    ids = patients.create_many(run.actor, batch, details=run.details)
    for clean in batch:
        run.patients[clean["clinic_id"]] = (ids[clean["clinic_id"]], clean["date_of_birth"])


KIND = Kind(
    name="patients",
    label="Patients",
    nouns=("patient", "patients"),
    sheet_names=("patients", "patient", "demographics"),
    fields=FIELDS,
    load=load,
)
