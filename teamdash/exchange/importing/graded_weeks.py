"""The Graded activity weeks sheet: each week of a plan (named by its activity and
start), planned and achieved level, exercise adherence. Checked by
``plans.GRADED_WEEKS``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import GRADED_PLANS, GRADED_WEEKS

SHEET = r.RecordSheet(
    name="graded_weeks",
    label="Graded activity weeks",
    nouns=("graded activity week", "graded activity weeks"),
    sheet_names=("graded activity progress",),
    fields=(
        patient_field(),
        field("activity", "Activity", True),
        field("plan_started_on", "Plan started on", True, "plan start", "plan started"),
        field("week_start", "Week start", True, "week", "week of"),
        field("planned_level", "Planned level", True, "planned"),
        field("achieved_level", "Achieved level", False, "achieved"),
        field("adherence_pct", "Adherence", False, "adherence percent", "exercise adherence"),
        field("note", "Note", False, "notes", "comment"),
    ),
    readers={
        "week_start": r.date,
        "planned_level": r.number,
        "achieved_level": r.number,
        "adherence_pct": r.percent,
        "note": r.text,
    },
    validate=GRADED_WEEKS.validate_new,
    key=("week_start",),
    existing=lambda owners: GRADED_WEEKS.existing(owners, ("week_start",)),
    write=lambda actor, rows, details: GRADED_WEEKS.add_many(actor, rows, details=details),
    owner="plan",
    parent=r.Parent(
        kind="graded_plans",
        fields=(("activity", r.text), ("plan_started_on", r.date)),
        what="graded activity plan",
        existing=lambda patients: GRADED_PLANS.existing(patients, ("activity", "started_on")),
    ),
    date_fields=("week_start",),
)
KIND = SHEET.kind()
