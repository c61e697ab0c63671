"""The Graded activity plans sheet (PT): one activity built up week by week. Checked by
``plans.GRADED_PLANS``; the weeks name their plan by activity and start."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import GRADED_PLANS

KEY = ("activity", "started_on")

SHEET = r.RecordSheet(
    name="graded_plans",
    label="Graded activity plans",
    nouns=("graded activity plan", "graded activity plans"),
    sheet_names=("graded activity", "graded exposure plans"),
    fields=(
        patient_field(),
        field("activity", "Activity", True),
        field("unit", "Unit", False),
        field("baseline_tolerance", "Baseline tolerance", True, "baseline"),
        field("current_level", "Current level", True, "current"),
        field("target_level", "Target level", True, "target"),
        field("weekly_increment", "Weekly increment", True, "weekly step", "increment"),
        field("started_on", "Started on", False, "start", "started"),
        field("status", "Status", False),
    ),
    readers={
        "activity": r.text,
        "unit": r.text,
        "baseline_tolerance": r.number,
        "current_level": r.number,
        "target_level": r.number,
        "weekly_increment": r.number,
        "started_on": r.date,
        "status": r.word,
    },
    validate=GRADED_PLANS.validate_new,
    key=KEY,
    existing=lambda owners: GRADED_PLANS.existing(owners, KEY),
    write=lambda actor, rows, details: GRADED_PLANS.add_many(actor, rows, ids=True),
    refers=True,
    date_fields=("started_on",),
)
KIND = SHEET.kind()
