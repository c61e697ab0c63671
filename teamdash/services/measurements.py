"""Measurements: record, correct, delete and list instrument administrations, and
acknowledge positive safety items."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import peewee as pw

from teamdash import clock, validation, words
from teamdash.clinical import instruments
from teamdash.errors import Conflict, NotFound, TeamDashError, ValidationError
from teamdash.services import audit, auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage import bulk, queries
from teamdash.storage.db import database
from teamdash.storage.models import EncodedJSON, Measurement, Patient, SafetyAcknowledgement, User, encode_json
from teamdash.storage.queries import Query, tuples

log = logging.getLogger(__name__)

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
    # Patient-named items (PSFS activities): one name per item; None for other instruments.
    item_names: list | None = None

    @property
    def safety_open(self) -> bool:
        return self.safety and self.acknowledged_at is None

    @property
    def prorated(self) -> bool:
        """The total was prorated from the answered items (PHQ-9/GAD-7 with blanks)."""
        return bool((self.details or {}).get("prorated"))

    def named_ratings(self) -> list[tuple[str, float | None]]:
        """(name, rating) of each named item, in form order (PSFS activities)."""
        names = self.item_names or []
        return [(n, r) for n, r in zip(names, self.responses) if n]


EnteredBy = User.alias("entered_by_user")

_COLUMNS = (
    Measurement,
    EnteredBy.full_name.alias("entered_by_name"),
    SafetyAcknowledgement.acknowledged_by_name.alias("acknowledged_by"),
    SafetyAcknowledgement.acknowledged_at,
    SafetyAcknowledgement.action_taken,
)


def _select() -> Query:
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


def check_taken_at(value, date_of_birth: dt.date | None, now: dt.datetime) -> dt.datetime:
    """When a measurement was taken: a real date and time, not in the future (a few
    minutes' clock skew allowed), not before 1900 nor before the patient's birth (when
    known). A missing time is now."""
    taken_at = validation.datetime(value if value is not None else now, "taken_at", not_after=now + CLOCK_SKEW)
    check_after_birth(taken_at, date_of_birth)
    return taken_at


def check_after_birth(taken_at: dt.datetime, date_of_birth: dt.date | None) -> None:
    """The patient's part of ``check_taken_at`` (an import checks the rest once per
    distinct time: the measures of a visit share it)."""
    if date_of_birth is not None and taken_at.date() < date_of_birth:
        raise ValidationError(f"{taken_at:%Y-%m-%d} is before the patient's date of birth", field="taken_at")


def scored_columns(scored: instruments.ScoreResult) -> dict:
    """The measurement columns that come from scoring."""
    details: dict[str, object] = {
        "subscales": scored.subscales,
        "components": scored.components,
        "derived": scored.derived,
        "missing_items": list(scored.missing_items),
        "flags": [{"kind": f.kind, "item": f.item, "reason": f.reason} for f in scored.flags],
    }
    if scored.prorated:
        details["prorated"] = True
    return {
        "responses": list(scored.responses),
        "total": scored.total,
        "band": scored.band,
        "band_severity": scored.band_severity,
        "details": details,
        "item_names": None if scored.item_names is None else list(scored.item_names),
        "safety": any(f.kind == "safety" for f in scored.flags),
    }


def _require_scope(actor: Actor, instrument_id: str, patient_id: int) -> None:
    """Clinicians record their own discipline's measures, and any measure of a patient
    they treat."""
    auth.require(actor, "write_clinical", discipline=instruments.get(instrument_id).discipline, patient_id=patient_id)


def duplicate(instrument_id: str, taken_at: dt.datetime, whose: str = "this patient") -> ValidationError:
    """The error for a measurement that repeats one already recorded: the same
    patient, instrument and moment."""
    name = instruments.get(instrument_id).short_name
    return ValidationError(
        f"{words.a(name)} taken at {taken_at:%Y-%m-%d %H:%M} is already recorded for {whose} (duplicate measurement)",
        field="taken_at",
    )


def _check_duplicate(patient_id: int, instrument_id: str, taken_at: dt.datetime, exclude_id: int | None = None) -> None:
    query = Measurement.select().where(
        (Measurement.patient == patient_id)
        & (Measurement.instrument == instrument_id)
        & (Measurement.taken_at == taken_at)
    )
    if exclude_id is not None:
        query = query.where(Measurement.id != exclude_id)
    if query.exists():
        raise duplicate(instrument_id, taken_at)


def recorded(patient_ids: Iterable[int]) -> dict[int, set[tuple[str, dt.datetime]]]:
    """(instrument, taken_at) of every measurement of these patients: what a new one
    must not repeat (``duplicate``). One prepared query per patient (an import asks
    patient by patient as it meets them)."""
    return {pid: {(d["instrument"], d["taken_at"]) for d in _RECORDED.dicts(pid)} for pid in dict.fromkeys(patient_ids)}


_RECORDED = row_ops.Prepared(
    lambda patient_id: Measurement.select(Measurement.instrument, Measurement.taken_at).where(
        Measurement.patient == patient_id
    )
)


def validate_new(
    instrument_id: str,
    responses: Sequence,
    *,
    taken_at,
    date_of_birth: dt.date,
    now: dt.datetime | None = None,
    note: str | None = None,
    total: float | None = None,
    item_names: Sequence[str | None] | None = None,
) -> dict:
    """``record_measurement``'s checks on one new measurement, without writing (an
    import checks every row before it adds any): the responses scored (an invalid one
    raises ``InvalidResponse`` naming the item), the time taken checked against now and
    the patient's birth, the note. ``total`` is a total given beside the items (it must
    agree with them) or instead of them (a score kept from before TeamDash: checked
    against the range and banded; the items stay blank). Returns the measurement's
    column values (JSON columns encoded); raises ``ValidationError`` naming the field."""
    scored = score_new(instrument_id, responses, total, item_names)
    return {
        **scored,
        "instrument": instruments.get(instrument_id).id,
        "taken_at": check_taken_at(taken_at, date_of_birth, now or clock.now()),
        "note": validation.note(note),
    }


def score_new(
    instrument: instruments.Instrument | str,
    responses: Sequence,
    total=None,
    item_names: Sequence[str | None] | None = None,
) -> dict:
    """The scored columns of a new measurement (JSON encoded; each distinct answer set
    and total is checked and scored once, ``_score_cached``): see ``validate_new`` for
    ``total``. Raises ``InvalidResponse`` naming the item, ``ValidationError`` for the
    total. The result is shared: copy it before changing it."""
    instrument_id = instrument.id if isinstance(instrument, instruments.Instrument) else instrument
    names = tuple(item_names) if item_names is not None else None
    try:
        return _score_cached(instrument_id, tuple(responses), total, names)
    except TypeError:  # an unhashable response or total: check it without the cache
        return _score_new(instruments.get(instrument_id), responses, total, names)


def clear_scoring_cache() -> None:
    """Forget every answer set scored so far (a benchmark's cold start)."""
    for cached in (_score_cached, encoded_scored_columns, _encoded_ratings, _encoded_names):
        cached.cache_clear()


@functools.lru_cache(maxsize=200_000)
def _score_cached(instrument_id: str, responses: tuple, total, item_names: tuple | None) -> dict:
    return _score_new(instruments.get(instrument_id), responses, total, item_names)


def _score_new(inst: instruments.Instrument, responses: Sequence, total, item_names: tuple | None = None) -> dict:
    n = len(inst.items)
    responses = list(responses)
    given = responses.count(None) + responses.count("") < len(responses)  # any item given
    if total is not None:
        total = validation.number(total, "total")
    if not given:
        if total is None:
            raise ValidationError(f"no item responses and no total for {inst.short_name}", field="responses")
        if n != 1:
            return _from_total(inst, total)
        responses = [total]  # a one-item measure: the total is the answer
    try:
        scored = encoded_scored_columns(inst.id, tuple(responses), item_names)
    except TypeError:  # an unhashable response: score it without the cache
        scored = dict(scored_columns(instruments.score(inst.id, responses, item_names)))
        scored["responses"] = encode_json(scored["responses"])
        scored["details"] = encode_json(scored["details"])
        if scored["item_names"] is not None:
            scored["item_names"] = encode_json(scored["item_names"])
    if total is not None and given and scored["total"] is not None:
        tolerance = 0.5 * 10**-inst.decimals
        if abs(total - scored["total"]) > tolerance + 1e-9:
            raise ValidationError(
                f"the total {total:g} does not match the item responses, which score "
                f"{inst.format(scored['total'])} (check the columns are mapped to the right items)",
                field="total",
            )
    return scored


def _from_total(inst: instruments.Instrument, total: float) -> dict:
    """A total without item responses, kept from before TeamDash: checked against the
    range and banded; no item is known, so neither is a safety item."""
    low, high = inst.total_min, inst.total_max
    if (low is not None and total < low) or (high is not None and total > high):
        span = f"{low:g}–{high:g}" if low is not None and high is not None else f"{low if high is None else high:g}"
        limit = "range" if low is not None and high is not None else ("minimum" if high is None else "maximum")
        raise ValidationError(f"{total:g} is outside the {inst.short_name} {limit} {span}", field="total")
    if inst.scoring and inst.scoring.subgroups:
        raise ValidationError(
            f"{inst.short_name} is classified from its items, not its total: give the items", field="total"
        )
    band = inst.band_for(total)
    return {
        "responses": encode_json([None] * len(inst.items)),
        "total": total,
        "band": band.label if band else None,
        "band_severity": band.severity if band else None,
        "details": encode_json(
            {"total_only": True, "subscales": {}, "components": {}, "derived": {}, "missing_items": [], "flags": []}
        ),
        "safety": False,
    }


def record_measurement(
    actor: Actor,
    patient_id: int,
    instrument_id: str,
    responses: Sequence,
    *,
    taken_at: dt.datetime | str | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
    item_names: Sequence[str | None] | None = None,
) -> MeasurementResult:
    """Score and store one administration. Bad responses raise ``InvalidResponse``
    naming the item; nothing is written unless everything is valid. ``item_names`` are
    the patient's names for the items of a patient-named instrument (PSFS activities)."""
    auth.require(actor, "write_clinical")
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        _require_scope(actor, instrument_id, patient_id)
        values = validate_new(
            instrument_id,
            responses,
            taken_at=taken_at,
            date_of_birth=patient.date_of_birth,
            now=now,
            note=note,
            item_names=item_names,
        )
        _check_duplicate(patient_id, instrument_id, values["taken_at"])
        # Two workstations entering the same form at once: the unique index lets one through.
        row = row_ops.create_audited(
            actor,
            Measurement,
            {"patient": patient_id, "entered_by": actor.user_id, **values},
            action="measurement.create",
            duplicate=lambda: duplicate(instrument_id, values["taken_at"]),
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
    item_names: Sequence[str | None] | None = None,
) -> MeasurementResult:
    """Correct a measurement (responses, item names, time taken, note); the audit keeps
    the old one. Responses or names left as None stay as stored."""
    auth.require(actor, "write_clinical")
    now = now or clock.now()
    with database.atomic():
        row = row_ops.get_row(Measurement, measurement_id, "measurement")
        _require_scope(actor, row.instrument, row.__data__["patient"])
        changes: dict = {}
        if responses is not None or item_names is not None:
            changes.update(
                scored_columns(
                    instruments.score(
                        row.instrument,
                        row.responses if responses is None else responses,
                        row.item_names if item_names is None else item_names,
                    )
                )
            )
        if taken_at is not None:
            patient = row_ops.get_row(Patient, row.__data__["patient"], "patient")
            changes["taken_at"] = check_taken_at(taken_at, patient.date_of_birth, now)
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
            queries.delete_where(SafetyAcknowledgement, SafetyAcknowledgement.measurement == measurement_id)
        list_summary.refresh(row.__data__["patient"])
    return get_measurement(actor, measurement_id)


def delete_measurement(actor: Actor, measurement_id: int, expected_version: int) -> dict:
    """Delete a measurement. The audit event keeps a full copy; the returned dict
    restores it with ``restore_measurement`` (Undo)."""
    auth.require(actor, "write_clinical")
    with database.atomic():
        row = row_ops.get_row(Measurement, measurement_id, "measurement")
        _require_scope(actor, row.instrument, row.__data__["patient"])
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
        _require_scope(actor, before["instrument"], before["patient"])
        _check_duplicate(before["patient"], before["instrument"], dt.datetime.fromisoformat(before["taken_at"]))
        row_ops.restore_row(actor, Measurement, before, action="measurement.restore")
        if before.get("acknowledgement"):
            SafetyAcknowledgement.insert(row_ops.from_plain(SafetyAcknowledgement, before["acknowledgement"])).execute()
        list_summary.refresh(before["patient"])
    return get_measurement(actor, before["id"])


def safety_items(patient_ids: Iterable[int]) -> dict[tuple[int, str, dt.datetime], tuple[int, bool]]:
    """The measurements of these patients with a positive safety item, by (patient,
    instrument, taken at) -> (id, acknowledged): what an imported acknowledgement names."""
    out: dict[tuple[int, str, dt.datetime], tuple[int, bool]] = {}
    ids = sorted(set(patient_ids))
    m, ack = Measurement, SafetyAcknowledgement
    for start in range(0, len(ids), 500):
        query = (
            m.select(m.patient, m.instrument, m.taken_at, m.id, ack.id.is_null(False))
            .join(ack, pw.JOIN.LEFT_OUTER, on=(ack.measurement == m.id))
            .where(m.patient.in_(ids[start : start + 500]) & (m.safety == True))  # noqa: E712
        )
        for pid, instrument_id, taken_at, mid, acknowledged in tuples(query):
            if not isinstance(taken_at, dt.datetime):
                taken_at = dt.datetime.fromisoformat(taken_at)
            out[(pid, instrument_id, taken_at)] = (mid, bool(acknowledged))
    return out


def acknowledged(measurement_ids: Iterable[int]) -> dict[tuple[int], int]:
    """The acknowledgements of these measurements, by (measurement id,) -> id."""
    ids = sorted(set(measurement_ids))
    ack = SafetyAcknowledgement
    out: dict[tuple[int], int] = {}
    for start in range(0, len(ids), 500):
        query = ack.select(ack.measurement, ack.id).where(ack.measurement.in_(ids[start : start + 500]))
        out.update({(mid,): ack_id for mid, ack_id in tuples(query)})
    return out


def validate_acknowledgement(values: dict, *, now: dt.datetime | None = None) -> dict:
    """``acknowledge_safety``'s checks on an acknowledgement recorded elsewhere (an
    import): who (a staff id and the name kept with it), when (not in the future), what
    was done. Returns the clean column values."""
    by = values.get("acknowledged_by")
    user = User.get_or_none(User.id == by) if by is not None else None
    if user is None:
        raise ValidationError(
            "a safety flag must be acknowledged by a named clinician (a member of staff)", field="acknowledged_by"
        )
    now = now or clock.now()
    return {
        "acknowledged_by": user.id,
        "acknowledged_by_name": user.full_name,
        "acknowledged_at": validation.datetime(
            values.get("acknowledged_at"), "acknowledged_at", not_after=now + CLOCK_SKEW
        ),
        "action_taken": validation.text(values.get("action_taken"), "action_taken", max_length=2000),
    }


def acknowledge_many(actor: Actor, rows: Sequence[dict], *, action: str = "safety.import") -> int:
    """Record many acknowledgements at once (an import): each as
    ``validate_acknowledgement`` returned it plus its ``measurement`` (one with a
    positive safety item, not yet acknowledged). One transaction, one audit event each,
    the patients' list summaries refreshed."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "write_clinical")
    patients: set[int] = set()
    with database.atomic():
        for values in rows:
            row = row_ops.get_row(Measurement, values["measurement"], "measurement")
            if not row.safety:
                raise ValidationError(
                    "this measurement has no positive safety item to acknowledge", field="measurement"
                )
            if SafetyAcknowledgement.select().where(SafetyAcknowledgement.measurement == row.id).exists():
                raise Conflict("this safety flag has already been acknowledged")
            pid = row.__data__["patient"]
            row_ops.create_audited(actor, SafetyAcknowledgement, dict(values), action=action, patient_id=pid)
            patients.add(pid)
        list_summary.refresh_many(patients)
    return len(rows)


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
    with database.atomic():
        values = validate_acknowledgement(
            {
                "acknowledged_by": actor.user_id,
                "acknowledged_at": (now or clock.now()).replace(microsecond=0),
                "action_taken": action_taken,
            },
            now=now,
        )
        row = _acknowledgeable(measurement_id)
        _require_scope(actor, row.instrument, row.__data__["patient"])
        row_ops.create_audited(
            actor, SafetyAcknowledgement, {**values, "measurement": measurement_id}, action="safety.acknowledge"
        )
        # create_audited cannot see the patient through the measurement: name it.
        list_summary.refresh(row.__data__["patient"])
    return get_measurement(actor, measurement_id)


def _acknowledgeable(measurement_id: int) -> Measurement:
    """The measurement, if it has a positive safety item not yet acknowledged."""
    row = row_ops.get_row(Measurement, measurement_id, "measurement")
    if not row.safety:
        raise ValidationError("this measurement has no positive safety item to acknowledge", field="measurement")
    if SafetyAcknowledgement.select().where(SafetyAcknowledgement.measurement == measurement_id).exists():
        raise Conflict("this safety flag has already been acknowledged")
    return row


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
    Measurement.item_names,
)


def insert_scored(rows: Iterable[tuple]) -> int:
    """Insert already validated and scored rows (tuples in ``INSERT_FIELDS`` order) in
    bulk; the caller holds the transaction, writes the audit event and refreshes
    summaries (the demo). Returns the number of rows."""
    return bulk.insert(Measurement, INSERT_FIELDS, rows)


def record_many(
    actor: Actor, rows: Sequence[tuple], *, action: str = "measurement.import", details: dict | None = None
) -> int:
    """Store many measurements at once (an import): tuples in ``INSERT_FIELDS`` order
    (``scored_row`` of what ``validate_new`` returned; date-times may be given as the
    ISO text the database stores), checked by the caller against each other and against
    what is ``recorded``. One transaction, one audit event per
    patient (with the number of rows), the patients' list summaries refreshed."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "write_clinical")
    if not rows:
        return 0
    return row_ops.bulk_insert_audited(actor, Measurement, INSERT_FIELDS, rows, action=action, details=details)


# The details of most administrations (no subscale, component, missing item or flag),
# encoded once.
_NO_DETAILS = scored_columns(instruments.ScoreResult("", None, None, None, {}, {}, {}, (), (), ()))["details"]
_NOTHING_TO_DETAIL = encode_json(_NO_DETAILS)


@functools.lru_cache(maxsize=200_000)
def encoded_scored_columns(instrument_id: str, responses: tuple, item_names: tuple | None = None) -> dict:
    """``scored_columns`` with the JSON already encoded, once per distinct answer set:
    bulk loads (demo, import) meet the same weekly pain rating thousands of times."""
    inst = instruments.get(instrument_id)
    values, names = instruments.read(inst, responses, item_names)
    if not inst.named_items:
        return _encoded(instruments.score_read(inst, values, names))
    # The patient's names for the items do not change the score: each patient names
    # their own activities, and the ratings alone repeat across patients.
    columns = dict(_encoded_ratings(inst.id, values, tuple(map(type, values))))
    columns["item_names"] = None if names is None else _encoded_names(names)
    return columns


@functools.lru_cache(maxsize=200_000)
def _encoded_ratings(instrument_id: str, values: tuple, types: tuple) -> dict:
    """The encoded columns of a patient-named instrument's ratings, without the names
    (``types`` keeps 2 and 2.0 apart)."""
    return _encoded(instruments.score_read(instruments.get(instrument_id), values, None))


@functools.lru_cache(maxsize=200_000)
def _encoded_names(names: tuple) -> EncodedJSON:
    return encode_json(list(names))


def _encoded(scored: instruments.ScoreResult) -> dict:
    columns = scored_columns(scored)
    columns["responses"] = encode_json(columns["responses"])
    details = columns["details"]
    columns["details"] = _NOTHING_TO_DETAIL if details == _NO_DETAILS else encode_json(details)
    if columns["item_names"] is not None:
        columns["item_names"] = encode_json(columns["item_names"])
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
        f.get("item_names"),
    )


# --- carrying names forward, rescoring --------------------------------------------------


def carried_forward_names(actor: Actor, patient_id: int, instrument_id: str) -> CarriedNames | None:
    """The item names of the patient's latest administration of a patient-named
    instrument (the PSFS activities to read back and rate again), or None."""
    auth.require(actor, "read")
    if not instruments.get(instrument_id).named_items:
        return None
    row = (
        Measurement.select(Measurement.item_names, Measurement.taken_at)
        .where(
            (Measurement.patient == patient_id)
            & (Measurement.instrument == instrument_id)
            & Measurement.item_names.is_null(False)
        )
        .order_by(Measurement.taken_at.desc(), Measurement.id.desc())
        .first()
    )
    if row is None or not any(row.item_names or []):
        return None
    return CarriedNames(tuple(row.item_names), row.taken_at)


@dataclass(frozen=True)
class CarriedNames:
    names: tuple[str | None, ...]
    taken_at: dt.datetime  # the administration they come from


@dataclass(frozen=True)
class RescoreReport:
    checked: int
    changed: int
    unscorable: int  # stored responses the current rules refuse (left as they are)
    unknown: int  # instruments no longer in the library (left as they are)


def rescore_all(actor: Actor, chunk: int = 2000) -> RescoreReport:
    """Recompute every stored score from its responses with the current definitions
    (after an upgrade that corrected a scoring rule). A row whose score changes gets
    its new total, band and details, a new version and an audit event with before and
    after; the caller refreshes the patient summaries. Maintenance: administrators (and
    the system, during an upgrade)."""
    auth.require(actor, "manage_settings")
    library = instruments.library()
    checked = changed = unscorable = unknown = 0
    fields = ("total", "band", "band_severity", "details", "item_names", "safety")
    last_id = 0
    while True:
        rows = list(Measurement.select().where(Measurement.id > last_id).order_by(Measurement.id).limit(chunk))
        if not rows:
            break
        with database.atomic():
            for row in rows:
                last_id = row.get_id()
                checked += 1
                if row.instrument not in library:
                    unknown += 1
                    continue
                try:
                    scored = scored_columns(instruments.score(row.instrument, row.responses, row.item_names))
                except TeamDashError:
                    unscorable += 1
                    continue
                new = {k: scored[k] for k in fields}
                old = {k: getattr(row, k) for k in fields}
                if _same_scores(old, new):
                    continue
                row_ops.update_versioned(
                    actor,
                    Measurement,
                    last_id,
                    row.version,
                    new,
                    what="measurement",
                    action="measurement.rescore",
                )
                changed += 1
    if unscorable or unknown:
        log.warning(
            "rescoring left %s measurements unscorable and %s of unknown instruments as stored", unscorable, unknown
        )
    return RescoreReport(checked, changed, unscorable, unknown)


def _same_scores(old: dict, new: dict) -> bool:
    for key, value in new.items():
        before = old[key]
        if isinstance(value, float) and isinstance(before, (int, float)):
            if abs(value - before) > 1e-9:
                return False
        elif before != value:
            return False
    return True
