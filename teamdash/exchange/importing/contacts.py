"""The Support contacts sheet: the patient's support network (who, their relationship,
whether they are involved in the goals). Checked by ``plans.CONTACTS``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.plans import CONTACTS

SHEET = r.RecordSheet(
    name="support_contacts",
    label="Support contacts",
    nouns=("support contact", "support contacts"),
    sheet_names=("support network", "contacts"),
    fields=(
        patient_field(),
        field("name", "Name", True, "contact name"),
        field("relationship", "Relationship", True, "role"),
        field("involved_in_goals", "Involved in goals", False, "involved"),
        field("contact", "Contact", False, "contact details", "phone"),
        field("note", "Note", False, "notes", "comment"),
        field("on_handout", "On handout", False, "named on handout"),
    ),
    readers={
        "name": r.text,
        "relationship": r.text,
        "involved_in_goals": r.yes_no,
        "contact": r.text,
        "note": r.text,
        "on_handout": r.yes_no,
    },
    validate=CONTACTS.validate_new,
    key=("name",),
    existing=lambda owners: CONTACTS.existing(owners, ("name",)),
    write=lambda actor, rows, details: CONTACTS.add_many(actor, rows, details=details),
)
KIND = SHEET.kind()
