"""The Decisions sheet: team decisions, each with the check-in it was made at (by its
day) and who made it. Checked by ``action_items.DECISIONS``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.action_items import DECISIONS

KEY = ("text", "made_at")

SHEET = r.RecordSheet(
    name="decisions",
    label="Decisions",
    nouns=("decision", "decisions"),
    sheet_names=("team decisions",),
    fields=(
        patient_field(),
        field("checkin", "Check-in", False, "checkin", "check in date", "made at check in"),
        field("text", "Decision", True, "decision text"),
        field("made_by", "Made by", False, "by"),
        field("made_at", "Made at", False, "made on", "date"),
    ),
    readers={"checkin": r.checkin, "text": r.text, "made_by": r.staff, "made_at": r.moment},
    validate=DECISIONS.validate_new,
    key=KEY,
    existing=lambda owners: DECISIONS.existing(owners, KEY),
    write=lambda actor, rows, details: DECISIONS.add_many(actor, rows, details=details),
    date_fields=("made_at",),
)
KIND = SHEET.kind()
