"""The flare / setback log: fluctuations the programme teaches patients to manage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock, validation
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import Flare


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


def _clean(values: dict, current: dict | None) -> dict:
    out = {}
    if current is None or "started_on" in values:
        out["started_on"] = validation.date(values.get("started_on"), "started_on", not_after=clock.today())
    if current is None or "severity" in values:
        out["severity"] = validation.number(values.get("severity"), "severity", minimum=0, maximum=10, integer=True)
    for name in ("suspected_trigger", "what_helped", "note"):
        if name in values:
            out[name] = validation.note(values[name], name)
    if "days_to_recover" in values:
        out["days_to_recover"] = validation.number(
            values["days_to_recover"], "days_to_recover", required=False, minimum=0, maximum=365, integer=True
        )
    return out


# The flare log sits on the PT tab; every clinician who treats the patient writes in it.
FLARES: RecordKind[FlareResult] = RecordKind(
    Flare,
    FlareResult,
    _clean,
    what="flare",
    action="flare",
    order_by=(Flare.started_on, Flare.id),
    discipline="pt",
    any_treated_patient=True,
)
