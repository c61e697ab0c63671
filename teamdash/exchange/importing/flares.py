"""The Flares sheet: flare-ups and setbacks, what set them off and what helped.
Checked by ``flares.FLARES``."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services.flares import FLARES

SHEET = r.RecordSheet(
    name="flares",
    label="Flares",
    nouns=("flare", "flares"),
    sheet_names=("flare ups", "setbacks", "flare log"),
    fields=(
        patient_field(),
        field("started_on", "Started on", True, "date", "start", "started"),
        field("severity", "Severity", True),
        field("suspected_trigger", "Suspected trigger", False, "trigger"),
        field("what_helped", "What helped", False, "helped"),
        field("days_to_recover", "Days to recover", False, "recovery days"),
        field("note", "Note", False, "notes", "comment"),
    ),
    readers={
        "started_on": r.date,
        "severity": r.number,
        "suspected_trigger": r.text,
        "what_helped": r.text,
        "days_to_recover": r.number,
        "note": r.text,
    },
    validate=FLARES.validate_new,
    key=("started_on",),
    existing=lambda owners: FLARES.existing(owners, ("started_on",)),
    write=lambda actor, rows, details: FLARES.add_many(actor, rows, details=details),
    date_fields=("started_on",),
)
KIND = SHEET.kind()
