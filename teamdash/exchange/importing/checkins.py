"""The Check-ins sheet: when the team met about a patient (and the period its summary
covered), who came, the narrative, the plan agreed for the next period and the date set
for the next check-in, and who recorded it. Checked by ``checkins.validate_new``; decisions and action items name
a check-in by its day."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services import checkins

SHEET = r.RecordSheet(
    name="checkins",
    label="Check-ins",
    nouns=("check-in", "check-ins"),
    sheet_names=("checkins", "check in", "team check ins", "reviews"),
    fields=(
        patient_field(),
        field("held_on", "Held on", True, "date", "check in date", "review date"),
        field("period_start", "Period from", False, "period start", "since"),
        field("attendees", "Attendees", False, "present", "team"),
        field("narrative", "Narrative", False, "summary", "notes"),
        field("plan", "Plan", False, "plan for the next period", "agreed plan"),
        field("next_checkin", "Next check-in", False, "next checkin", "next review"),
        field("created_by", "Recorded by", False, "created by", "minuted by"),
    ),
    readers={
        "held_on": r.date,
        "period_start": r.date,
        "attendees": r.staff_list,
        "narrative": r.text,
        "plan": r.text,
        "next_checkin": r.date,
        "created_by": r.staff,
    },
    validate=checkins.validate_new,
    key=("held_on",),
    existing=checkins.held,
    write=lambda actor, rows, details: checkins.record_many(actor, rows),
    refers=True,
    date_fields=("held_on", "period_start", "next_checkin"),
    duplicate="already recorded on that day",
)
KIND = SHEET.kind()
