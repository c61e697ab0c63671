"""The flare / setback log: fluctuations the programme teaches patients to manage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock, validation
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import Flare
from teamdash.validation import FieldSpec, FieldSpecs


@dataclass(frozen=True)
class FlareResult:
    id: int
    patient: int
    started_on: dt.date
    severity: int
    suspected_trigger: str | None
    what_helped: str | None
    days_to_recover: int | None
    note: str | None
    version: int


FIELDS = FieldSpecs(
    [
        FieldSpec("severity", "int", minimum=0, maximum=10),
        FieldSpec("suspected_trigger", "note", required=False),
        FieldSpec("what_helped", "note", required=False),
        FieldSpec("days_to_recover", "int", required=False, minimum=0, maximum=365),  # blank: ongoing
        FieldSpec("note", "note", required=False),
    ]
)


def _clean(values: dict, current: dict | None) -> dict:
    out = {}
    if current is None or "started_on" in values:
        out["started_on"] = validation.date(values.get("started_on"), "started_on", not_after=clock.today())
    for name, spec in FIELDS.items():
        if name in values or (current is None and spec.required):
            out[name] = spec.check(values.get(name))
    return out


# The flare log sits on the PT tab; every clinician who treats the patient writes in it.
FLARES: RecordKind[FlareResult] = RecordKind(
    Flare,
    FlareResult,
    _clean,
    what="flare",
    action="flare",
    order_by=(Flare.started_on, Flare.id),
    fields=FIELDS,
    discipline="pt",
    any_treated_patient=True,
)
