"""The Practice weeks sheet: minutes of home practice per week of a course (named by
its name and start). Checked by ``plans.PRACTICE``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import COURSES, PRACTICE

SHEET = r.RecordSheet(
    name="practice_weeks",
    label="Practice weeks",
    nouns=("practice week", "practice weeks"),
    sheet_names=("practice", "course practice"),
    fields=(
        patient_field(),
        field("course", "Course", True, "course name"),
        field("course_started_on", "Course started on", True, "course start", "course started"),
        field("week_start", "Week start", True, "week", "week of"),
        field("minutes", "Minutes", True, "practice minutes"),
    ),
    readers={"week_start": r.date, "minutes": r.number},
    validate=PRACTICE.validate_new,
    key=("week_start",),
    existing=lambda owners: PRACTICE.existing(owners, ("week_start",)),
    write=lambda actor, rows, details: PRACTICE.add_many(actor, rows, details=details),
    owner="course",
    parent=r.Parent(
        kind="courses",
        fields=(("course", r.text), ("course_started_on", r.date)),
        what="course",
        existing=lambda patients: COURSES.existing(patients, ("kind", "started_on")),
    ),
    date_fields=("week_start",),
)
KIND = SHEET.kind()
