"""The Return-to-work phases sheet: the phased return-to-work plan (phase, hours, duties,
employer contact). Checked by ``plans.RTW_PHASES``; the phase name is the phase's own."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import RTW_PHASES

KEY = ("phase", "started_on")

SHEET = r.RecordSheet(
    name="rtw_phases",
    label="Return-to-work phases",
    nouns=("return-to-work phase", "return-to-work phases"),
    sheet_names=("return to work", "rtw phases", "rtw"),
    fields=(
        patient_field(),
        field("phase", "Phase", True, "rtw phase"),
        field("started_on", "Started on", False, "start", "started"),
        field("hours_per_week", "Hours per week", False, "hours"),
        field("modified_duties", "Modified duties", False, "duties"),
        field("employer_contact", "Employer contact", False, "employer"),
        field("note", "Note", False, "notes", "comment"),
    ),
    readers={
        "phase": r.number,
        "started_on": r.date,
        "hours_per_week": r.number,
        "modified_duties": r.text,
        "employer_contact": r.text,
        "note": r.text,
    },
    validate=RTW_PHASES.validate_new,
    key=KEY,
    existing=lambda owners: RTW_PHASES.existing(owners, KEY),
    write=lambda actor, rows, details: RTW_PHASES.add_many(actor, rows, details=details),
    date_fields=("started_on",),
    derived=("Phase name",),
)
KIND = SHEET.kind()
