"""The Courses sheet (psychology): CBT, mindfulness or pain-education courses and how
far the patient got. Checked by ``plans.COURSES``; practice weeks name their course by
name and start."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import COURSES

KEY = ("kind", "started_on")

SHEET = r.RecordSheet(
    name="courses",
    label="Courses",
    nouns=("course", "courses"),
    sheet_names=("course", "psychology courses"),
    fields=(
        patient_field(),
        field("kind", "Course", True, "course name", "kind"),
        field("modules_total", "Modules total", True, "modules"),
        field("modules_done", "Modules done", False, "done", "completed modules"),
        field("started_on", "Started on", False, "start", "started"),
        field("status", "Status", False),
    ),
    readers={
        "kind": r.text,
        "modules_total": r.number,
        "modules_done": r.number,
        "started_on": r.date,
        "status": r.word,
    },
    validate=COURSES.validate_new,
    key=KEY,
    existing=lambda owners: COURSES.existing(owners, KEY),
    write=lambda actor, rows, details: COURSES.add_many(actor, rows, ids=True),
    refers=True,
    date_fields=("started_on",),
)
KIND = SHEET.kind()
