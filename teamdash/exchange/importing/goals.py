"""The Goals sheet: SMART goals per discipline, checked by ``goals.GOALS``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.goals import GOALS

KEY = ("discipline", "text", "set_on")

SHEET = r.RecordSheet(
    name="goals",
    label="Goals",
    nouns=("goal", "goals"),
    sheet_names=("goal", "smart goals"),
    fields=(
        patient_field(),
        field("discipline", "Discipline", True, "service"),
        field("text", "Goal", True, "goal text", "smart goal", "description"),
        field("instrument", "Instrument", False, "measure", "linked measure"),
        field("baseline_value", "Baseline value", False, "baseline"),
        field("target_value", "Target value", False, "target"),
        field("set_on", "Set on", False, "set", "date set"),
        field("due_on", "Due on", False, "due", "due date"),
        field("status", "Status", False),
        field("progress", "Progress", False, "progress percent"),
    ),
    readers={
        "discipline": r.discipline,
        "text": r.text,
        "instrument": r.instrument,
        "baseline_value": r.number,
        "target_value": r.number,
        "set_on": r.date,
        "due_on": r.date,
        "status": r.word,
        "progress": r.percent,
    },
    validate=GOALS.validate_new,
    key=KEY,
    existing=lambda owners: GOALS.existing(owners, KEY),
    write=lambda actor, rows, details: GOALS.add_many(actor, rows, details=details),
    date_fields=("set_on", "due_on"),
)
KIND = SHEET.kind()
