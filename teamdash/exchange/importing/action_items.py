"""The Action items sheet: what the team agreed someone would do (and which discipline
carries it out), by when, and whether it was done. Checked by ``action_items.ACTION_ITEMS`` (when an item was created and
completed is kept)."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.action_items import ACTION_ITEMS

KEY = ("text", "created_at")

SHEET = r.RecordSheet(
    name="action_items",
    label="Action items",
    nouns=("action item", "action items"),
    sheet_names=("actions", "tasks"),
    fields=(
        patient_field(),
        field("text", "Action", True, "action item", "task"),
        field("owner", "Owner", False, "who", "assigned to"),
        field("discipline", "Discipline", False, "carried out by"),
        field("due_on", "Due on", False, "due", "due date"),
        field("status", "Status", False),
        field("created_at", "Created at", False, "created", "created on"),
        field("completed_at", "Completed at", False, "completed", "completed on", "done on"),
        field("checkin", "Check-in", False, "checkin", "check in date"),
    ),
    readers={
        "text": r.text,
        "owner": r.staff,
        "discipline": r.discipline,
        "due_on": r.date,
        "status": r.word,
        "created_at": r.moment,
        "completed_at": r.moment,
        "checkin": r.checkin,
    },
    validate=ACTION_ITEMS.validate_new,
    key=KEY,
    existing=lambda owners: ACTION_ITEMS.existing(owners, KEY),
    write=lambda actor, rows, details: ACTION_ITEMS.add_many(actor, rows, details=details),
    date_fields=("due_on", "created_at", "completed_at"),
)
KIND = SHEET.kind()
