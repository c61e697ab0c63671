"""Measurements: record, correct, delete and list instrument administrations, and
acknowledge positive safety items."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import instruments
from teamdash.errors import Conflict, NotFound, ValidationError
from teamdash.services import audit, auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import Measurement, Patient, SafetyAcknowledgement, User, encode_json

# A clock a few minutes ahead on another workstation must not block entry.
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class MeasurementResult:
    id: int
    patient: int
    instrument: str
    taken_at: dt.datetime
    responses: list
    total: float | None
    band: str | None
    band_severity: int | None
    details: dict | None
    safety: bool
    entered_by: int | None
    entered_by_name: str | None
    entered_at: dt.datetime
    note: str | None
    source: str
    version: int
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    action_taken: str | None = None

    @property
    def safety_open(self) -> bool:
        return self.safety and self.acknowledged_at is None


EnteredBy = User.alias("entered_by_user")

_COLUMNS = (
    Measurement,
    EnteredBy.full_name.alias("entered_by_name"),
    SafetyAcknowledgement.acknowledged_by_name.alias("acknowledged_by"),
    SafetyAcknowledgement.acknowledged_at,
    SafetyAcknowledgement.action_taken,
)


def _select() -> pw.ModelSelect:
    return (
        Measurement.select(*_COLUMNS)
        .join(EnteredBy, pw.JOIN.LEFT_OUTER, on=(Measurement.entered_by == EnteredBy.id))
        .switch(Measurement)
        .join(SafetyAcknowledgement, pw.JOIN.LEFT_OUTER, on=(SafetyAcknowledgement.measurement == Measurement.id))
    )


def _result(d: dict) -> MeasurementResult:
    return build(MeasurementResult, d)


def get_measurement(actor: Actor, measurement_id: int) -> MeasurementResult:
    auth.require(actor, "read")
    row = _select().where(Measurement.id == measurement_id).dicts().first()
    if row is None:
        raise NotFound(f"measurement {measurement_id} does not exist (it may have been deleted on another workstation)")
    return _result(row)


def list_measurements(actor: Actor, patient_id: int, instrument: str | None = None) -> list[MeasurementResult]:
    """A patient's measurements in time order (same-day repeats all kept)."""
    auth.require(actor, "read")
    rows = [_result(d) for d in _BY_PATIENT.dicts(patient_id)]
    return rows if instrument is None else [m for m in rows if m.instrument == instrument]


_BY_PATIENT = row_ops.Prepared(
    lambda patient_id: _select().where(Measurement.patient == patient_id).order_by(Measurement.taken_at, Measurement.id)
)


def _taken_at(value, patient: Patient, now: dt.datetime) -> dt.datetime:
    taken_at = validation.datetime(value if value is not None else now, "taken_at", not_after=now + CLOCK_SKEW)
    if taken_at.date() < patient.date_of_birth:
        raise ValidationError(f"{taken_at:%Y-%m-%d} is before the patient's date of birth", field="taken_at")
    return taken_at


def scored_columns(scored: instruments.ScoreResult) -> dict:
    """The measurement columns that come from scoring."""
    return {
        "responses": list(scored.responses),
        "total": scored.total,
        "band": scored.band,
        "band_severity": scored.band_severity,
        "details": {
            "subscales": scored.subscales,
            "components": scored.components,
            "derived": scored.derived,
            "missing_items": list(scored.missing_items),
            "flags": [{"kind": f.kind, "item": f.item, "reason": f.reason} for f in scored.flags],
        },
        "safety": any(f.kind == "safety" for f in scored.flags),
    }


def _check_duplicate(patient_id: int, instrument_id: str, taken_at: dt.datetime, exclude_id: int | None = None) -> None:
    query = Measurement.select().where(
        (Measurement.patient == patient_id)
        & (Measurement.instrument == instrument_id)
        & (Measurement.taken_at == taken_at)
    )
    if exclude_id is not None:
        query = query.where(Measurement.id != exclude_id)
    if query.exists():
        raise _duplicate(instrument_id, taken_at)


def _duplicate(instrument_id: str, taken_at: dt.datetime) -> ValidationError:
    name = instruments.get(instrument_id).short_name
    return ValidationError(
        f"a {name} taken at {taken_at:%Y-%m-%d %H:%M} is already recorded for this patient (duplicate measurement)",
        field="taken_at",
    )


def record_measurement(
    actor: Actor,
    patient_id: int,
    instrument_id: str,
    responses: Sequence,
    *,
    taken_at: dt.datetime | str | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> MeasurementResult:
    """Score and store one administration. Bad responses raise ``InvalidResponse``
    naming the item; nothing is written unless everything is valid."""
    auth.require(actor, "write_clinical")
    scored = instruments.score(instrument_id, responses)
    now = now or clock.now()
    note = validation.note(note)
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        when = _taken_at(taken_at, patient, now)
        _check_duplicate(patient_id, instrument_id, when)
        # Two workstations entering the same form at once: the unique index lets one through.
        row = row_ops.create_audited(
            actor,
            Measurement,
            {
                "patient": patient_id,
                "instrument": instrument_id,
                "taken_at": when,
                "entered_by": actor.user_id,
                "note": note,
                **scored_columns(scored),
            },
            action="measurement.create",
            duplicate=lambda: _duplicate(instrument_id, when),
        )
        list_summary.refresh(patient_id)
    return get_measurement(actor, row.id)


def update_measurement(
    actor: Actor,
    measurement_id: int,
    expected_version: int,
    *,
    responses: Sequence | None = None,
    taken_at: dt.datetime | str | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> MeasurementResult:
    """Correct a measurement (responses, time taken, note); the audit keeps the old one."""
    auth.require(actor, "write_clinical")
    now = now or clock.now()
    with database.atomic():
        row = row_ops.get_row(Measurement, measurement_id, "measurement")
        changes: dict = {}
        if responses is not None:
            changes.update(scored_columns(instruments.score(row.instrument, responses)))
        if taken_at is not None:
            patient = row_ops.get_row(Patient, row.__data__["patient"], "patient")
            changes["taken_at"] = _taken_at(taken_at, patient, now)
            _check_duplicate(patient.id, row.instrument, changes["taken_at"], exclude_id=measurement_id)
        if note is not None:
            changes["note"] = validation.note(note)
        row_ops.update_versioned(
            actor,
            Measurement,
            measurement_id,
            expected_version,
            changes,
            what="measurement",
            action="measurement.update",
        )
        if changes.get("responses") is not None and not changes.get("safety"):
            # A corrected item 9 of 0 leaves nothing to acknowledge.
            SafetyAcknowledgement.delete().where(SafetyAcknowledgement.measurement == measurement_id).execute()
        list_summary.refresh(row.__data__["patient"])
    return get_measurement(actor, measurement_id)


def delete_measurement(actor: Actor, measurement_id: int, expected_version: int) -> dict:
    """Delete a measurement. The audit event keeps a full copy; the returned dict
    restores it with ``restore_measurement`` (Undo)."""
    auth.require(actor, "write_clinical")
    with database.atomic():
        ack = SafetyAcknowledgement.get_or_none(SafetyAcknowledgement.measurement == measurement_id)
        extra = {"acknowledgement": audit.row_dict(ack)} if ack else None
        before = row_ops.delete_versioned(
            actor,
            Measurement,
            measurement_id,
            expected_version,
            what="measurement",
            action="measurement.delete",
            extra=extra,
        )
        list_summary.refresh(before["patient"])
    return before


def restore_measurement(actor: Actor, before: dict) -> MeasurementResult:
    """Undo a deletion: put the row back with its id, values and acknowledgement."""
    auth.require(actor, "write_clinical")
    with database.atomic():
        row_ops.get_row(Patient, before["patient"], "patient")
        _check_duplicate(before["patient"], before["instrument"], dt.datetime.fromisoformat(before["taken_at"]))
        row_ops.restore_row(actor, Measurement, before, action="measurement.restore")
        if before.get("acknowledgement"):
            SafetyAcknowledgement.insert(row_ops.from_plain(SafetyAcknowledgement, before["acknowledgement"])).execute()
        list_summary.refresh(before["patient"])
    return get_measurement(actor, before["id"])


def acknowledge_safety(
    actor: Actor, measurement_id: int, action_taken: str, *, now: dt.datetime | None = None
) -> MeasurementResult:
    """Record that a clinician saw a positive safety item and what they did. The flag
    stays on the measurement for ever; only its 'open' state ends."""
    auth.require(actor, "write_clinical")
    if actor.user_id is None:
        raise ValidationError(
            "a safety flag must be acknowledged by a named clinician, not the system", field="acknowledged_by"
        )
    action_taken = validation.text(action_taken, "action_taken", max_length=2000)
    with database.atomic():
        row = row_ops.get_row(Measurement, measurement_id, "measurement")
        if not row.safety:
            raise ValidationError("this measurement has no positive safety item to acknowledge", field="measurement")
        if SafetyAcknowledgement.get_or_none(SafetyAcknowledgement.measurement == measurement_id):
            raise Conflict("this safety flag has already been acknowledged")
        row_ops.create_audited(
            actor,
            SafetyAcknowledgement,
            {
                "measurement": measurement_id,
                "acknowledged_by": actor.user_id,
                "acknowledged_by_name": actor.display_name,
                "acknowledged_at": (now or clock.now()).replace(microsecond=0),
                "action_taken": action_taken,
            },
            action="safety.acknowledge",
        )
        # create_audited cannot see the patient through the measurement: name it.
        list_summary.refresh(row.__data__["patient"])
    return get_measurement(actor, measurement_id)


# --- bulk path (demo, import) -------------------------------------------------------------

INSERT_FIELDS = (
    Measurement.patient,
    Measurement.instrument,
    Measurement.taken_at,
    Measurement.responses,
    Measurement.total,
    Measurement.band,
    Measurement.band_severity,
    Measurement.details,
    Measurement.safety,
    Measurement.entered_by,
    Measurement.entered_at,
    Measurement.note,
    Measurement.source,
)


def insert_scored(rows: Iterable[tuple]) -> int:
    """Insert already validated and scored rows (tuples in ``INSERT_FIELDS`` order) in
    bulk; the caller holds the transaction, writes the audit event and refreshes
    summaries. Returns the number of rows."""
    return row_ops.bulk_insert(Measurement, INSERT_FIELDS, rows)


@functools.lru_cache(maxsize=200_000)
def encoded_scored_columns(instrument_id: str, responses: tuple) -> dict:
    """``scored_columns`` with the JSON already encoded, once per distinct answer set:
    bulk loads (demo, import) meet the same weekly pain rating thousands of times."""
    columns = scored_columns(instruments.score(instrument_id, responses))
    columns["responses"] = encode_json(columns["responses"])
    columns["details"] = encode_json(columns["details"])
    return columns


def scored_row(
    patient_id: int,
    instrument_id: str,
    scored: instruments.ScoreResult | dict,
    taken_at: dt.datetime,
    *,
    entered_by: int | None,
    entered_at: dt.datetime,
    note: str | None = None,
    source: str = "import",
) -> tuple:
    f = scored if isinstance(scored, dict) else scored_columns(scored)
    return (
        patient_id,
        instrument_id,
        taken_at,
        f["responses"],
        f["total"],
        f["band"],
        f["band_severity"],
        f["details"],
        f["safety"],
        entered_by,
        entered_at,
        note,
        source,
    )
