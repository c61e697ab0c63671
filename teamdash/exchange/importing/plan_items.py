"""The Plan items sheet: structured entries of the nutrition, sleep-hygiene and social
work plans. Checked by ``plans.PLAN_ITEMS`` (the category decides the discipline)."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import PLAN_ITEMS

KEY = ("category", "text", "started_on")

SHEET = r.RecordSheet(
    name="plan_items",
    label="Plan items",
    nouns=("plan item", "plan items"),
    sheet_names=("plan", "care plan items"),
    fields=(
        patient_field(),
        field("category", "Category", True),
        field("text", "Item", True, "plan item", "text"),
        field("status", "Status", False),
        field("adherence_pct", "Adherence", False, "adherence percent"),
        field("started_on", "Started on", False, "start", "started"),
        field("updated_on", "Updated on", False, "updated", "reviewed on"),
        field("note", "Note", False, "notes", "comment"),
    ),
    readers={
        "category": r.plan_category,
        "text": r.text,
        "status": r.word,
        "adherence_pct": r.percent,
        "started_on": r.date,
        "updated_on": r.date,
        "note": r.text,
    },
    validate=PLAN_ITEMS.validate_new,
    key=KEY,
    existing=lambda owners: PLAN_ITEMS.existing(owners, KEY),
    write=lambda actor, rows, details: PLAN_ITEMS.add_many(actor, rows, details=details),
    date_fields=("started_on", "updated_on"),
    derived=("Discipline",),
)
KIND = SHEET.kind()
