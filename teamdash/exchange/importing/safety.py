"""The Safety acknowledgements sheet: a clinician saw a positive safety item (PHQ-9 item
9) and recorded what was done. Each row names its measurement by instrument and time;
checked by ``measurements.validate_acknowledgement``, stored by
``measurements.acknowledge_many``. Without it a re-imported positive item would show as
open again."""

from __future__ import annotations

from teamdash.exchange.importing import records as r
from teamdash.exchange.importing.fields import field, patient_field
from teamdash.services import measurements
from teamdash.services.auth import Actor


def _measurements(patient_ids: list[int]) -> dict[tuple, int]:
    return {key: mid for key, (mid, _acknowledged) in measurements.safety_items(patient_ids).items()}


def _write(actor: Actor, rows: list[dict], details: dict) -> list[int]:
    measurements.acknowledge_many(actor, rows)
    return []  # nothing refers to an acknowledgement


SHEET = r.RecordSheet(
    name="safety_acknowledgements",
    label="Safety acknowledgements",
    nouns=("safety acknowledgement", "safety acknowledgements"),
    sheet_names=("safety", "safety flags"),
    fields=(
        patient_field(),
        field("instrument", "Instrument", True, "measure"),
        field("taken_at", "Taken at", True, "date taken", "measured at"),
        field("acknowledged_by", "Acknowledged by", True, "by"),
        field("acknowledged_at", "Acknowledged at", True, "acknowledged on"),
        field("action_taken", "Action taken", True, "action", "what was done"),
    ),
    readers={"acknowledged_by": r.staff, "acknowledged_at": r.moment, "action_taken": r.text},
    validate=measurements.validate_acknowledgement,
    key=(),
    existing=measurements.acknowledged,
    write=_write,
    owner="measurement",
    parent=r.Parent(
        kind="safety_measurements",
        fields=(("instrument", r.instrument), ("taken_at", r.moment)),
        what="measurement with a positive safety item",
        existing=_measurements,
    ),
    date_fields=("acknowledged_at",),
)
KIND = SHEET.kind()
