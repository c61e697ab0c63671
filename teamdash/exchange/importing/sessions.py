"""The Sessions sheet: who saw the patient, when, and whether they came. Each row is
checked by ``sessions.validate_new`` (with the patient's date of birth) and the
duplicate rule, and the good ones stored by ``sessions.record_many``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from teamdash.exchange.importing.cells import as_datetime, as_text, as_word
from teamdash.exchange.importing.context import BATCH, Kind, Plan, Run
from teamdash.exchange.importing.fields import PATIENT_ALIASES, field
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import SheetReport
from teamdash.services import sessions

FIELDS = (
    field("patient", "Patient ID", True, *PATIENT_ALIASES),
    field("discipline", "Discipline", True, "service"),
    field("held_at", "Held at", True, "held on", "session date", "date time", "datetime", "date"),
    field("kind", "Kind", True, "session kind", "session type", "type"),
    field("minutes", "Minutes", False, "duration", "duration minutes", "mins", "length"),
    field("attendance", "Attendance", False, "attended"),
    field("clinician", "Clinician", False, "therapist", "seen by", "staff"),
    field("note", "Note", False, "notes", "comment", "comments"),
)


def load(run: Run, table: Table, plan: Plan, sheet: SheetReport) -> None:
    first_row: dict[tuple, int] = {}
    recorded: dict[int, set[tuple[str, dt.datetime]]] = {}
    batch: list[tuple] = []

    def flush() -> None:
        if batch and run.writing:
            sessions.record_many(run.actor, batch, details=run.details)
            for row in batch:
                recorded.setdefault(row[0], set()).add((row[1], row[2]))
        batch.clear()

    for row in run.checked_rows(table, plan, sheet):
        patient = clean = None
        if row.ok:
            patient = run.patient_of(row)
            values: dict[str, Any] = {}  # blank cells left out: the service's defaults apply
            for name in ("discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note"):
                if name == "held_at":
                    value: Any = row.read(name, as_datetime)
                elif name == "discipline":
                    value = run.discipline(row.text(name))
                elif name == "clinician":
                    value = run.staff_of(row, name)
                elif name == "attendance":
                    value = as_word(row.get(name))
                elif name == "minutes":
                    value = row.get(name)
                else:
                    value = as_text(row.get(name))
                if value is not None and value != "":
                    values[name] = value
            if row.ok:
                clean = row.check(
                    sessions.validate_new,
                    values,
                    now=run.now,
                    date_of_birth=patient[1] if patient else None,
                    date_fields=("held_at",),
                )
        if clean is not None and patient is not None and row.ok:
            clinic_id = row.text("patient")
            key = (clinic_id, clean["discipline"], clean["held_at"])
            pid = patient[0]
            if pid is not None and pid not in recorded:
                recorded[pid] = sessions.recorded([pid])[pid]
            if key in first_row:
                row.fail(
                    "held_at",
                    f"the same {clean['discipline']} session is already on row {first_row[key]} of this file "
                    "(duplicate session)",
                    "duplicate",
                )
            elif pid is not None and (clean["discipline"], clean["held_at"]) in recorded[pid]:
                row.invalid(sessions.duplicate(clean["discipline"], clean["held_at"], clinic_id))
            else:
                first_row[key] = row.number
        if clean is None or patient is None or not row.ok:
            run.reject(sheet, row)
            continue
        sheet.imported += 1
        if patient[0] is None:
            continue  # the patient is in this file but is not being written (the import fails anyway)
        batch.append((patient[0], *(clean[f.name] for f in sessions.INSERT_FIELDS[1:])))
        if len(batch) >= BATCH:
            flush()
    flush()


KIND = Kind(
    name="sessions",
    label="Sessions",
    nouns=("session", "sessions"),
    sheet_names=("sessions", "session", "appointments"),
    fields=FIELDS,
    load=load,
)
