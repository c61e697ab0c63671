"""Treatment sessions per discipline: who saw the patient, when, and whether they came."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import peewee as pw

from teamdash import clock, validation, words
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import Patient, Session, User
from teamdash.storage.queries import Query
from teamdash.validation import FieldSpec, FieldSpecs


@dataclass(frozen=True)
class SessionResult:
    id: int
    patient: int
    discipline: str
    held_at: dt.datetime
    clinician: int | None
    clinician_name: str | None
    kind: str
    minutes: int
    attendance: str
    note: str | None
    version: int


@dataclass(frozen=True)
class Attendance:
    """Sessions of one discipline (or all) up to a date: booked, attended, missed."""

    discipline: str | None
    booked: int
    attended: int
    cancelled: int
    no_show: int

    @property
    def rate(self) -> float | None:
        """Attended / (attended + no-shows + cancellations); None when nothing was due."""
        due = self.attended + self.no_show + self.cancelled
        return None if due == 0 else self.attended / due


Clinician = User.alias("clinician_user")

# A session's field limits, for this validator and the session form alike.
FIELDS = FieldSpecs(
    [
        FieldSpec("discipline", "choice", choices=disciplines.codes),
        FieldSpec("kind", "text", max_length=80),
        FieldSpec("minutes", "int", minimum=0, maximum=600),
        FieldSpec("attendance", "choice", choices=partial(disciplines.vocabulary, "attendance")),
        FieldSpec("note", "note", required=False),
    ]
)


def _clean(values: dict, now: dt.datetime) -> dict:
    out: dict = {}
    if "discipline" in values:
        out["discipline"] = FIELDS["discipline"].check(values["discipline"])
    if "held_at" in values:
        out["held_at"] = validation.datetime(values["held_at"], "held_at")
    if "clinician" in values:
        clinician = values["clinician"]
        if clinician is not None and User.get_or_none(User.id == clinician) is None:
            raise ValidationError(f"no staff member with id {clinician}", field="clinician")
        out["clinician"] = clinician
    if "kind" in values:
        out["kind"] = FIELDS["kind"].check(values["kind"])
    if "minutes" in values:
        out["minutes"] = FIELDS["minutes"].check(values["minutes"])
    if "attendance" in values:
        out["attendance"] = FIELDS["attendance"].check(values["attendance"])
    if "note" in values:
        out["note"] = FIELDS["note"].check(values["note"])
    if (
        out.get("attendance") in ("attended", "no_show")
        and out.get("held_at")
        and out["held_at"] > now + dt.timedelta(minutes=10)
    ):
        raise ValidationError("a session in the future cannot be marked attended or no-show yet", field="attendance")
    if (
        out.get("attendance") != "attended"
        and "minutes" in out
        and out.get("attendance") is not None
        and out["minutes"]
    ):
        out["minutes"] = 0  # time is only counted for sessions that took place
    return out


NEW_FIELDS = ("discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note")


def validate_new(values: dict, *, now: dt.datetime | None = None, date_of_birth: dt.date | None = None) -> dict:
    """``add_session``'s checks on one new session's fields (discipline, held_at, kind,
    minutes, attendance, clinician, note), without writing (an import checks every row
    before it adds any). Minutes default to 0 and attendance to attended; a session
    cannot be held before the patient's birth. Returns the clean column values."""
    unknown = set(values) - set(NEW_FIELDS)
    if unknown:
        raise ValidationError(f"unknown session field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    values = {"minutes": 0, "attendance": "attended", "clinician": None, "note": None, **values}
    for required in ("discipline", "held_at", "kind"):
        values.setdefault(required, None)
    if values["minutes"] in (None, ""):
        values["minutes"] = 0
    clean = _clean(values, now or clock.now())
    if date_of_birth is not None and clean["held_at"].date() < date_of_birth:
        raise ValidationError(f"{clean['held_at']:%Y-%m-%d} is before the patient's date of birth", field="held_at")
    return clean


def duplicate(discipline: str, held_at: dt.datetime, whose: str | None = None) -> ValidationError:
    """The error for a session that repeats one already recorded: the same patient,
    discipline and moment."""
    return ValidationError(
        f"{words.a(discipline)} session at {held_at:%Y-%m-%d %H:%M} is already recorded"
        f"{f' for {whose}' if whose else ''} (duplicate session)",
        field="held_at",
    )


def recorded(patient_ids: Iterable[int]) -> dict[int, set[tuple[str, dt.datetime]]]:
    """(discipline, held_at) of every session of these patients: what a new one must
    not repeat (``duplicate``). A few queries, however many patients."""
    out: dict[int, set[tuple[str, dt.datetime]]] = {pid: set() for pid in patient_ids}
    ids = list(out)
    for start in range(0, len(ids), 500):
        query = Session.select(Session.patient, Session.discipline, Session.held_at).where(
            Session.patient.in_(ids[start : start + 500])
        )
        for pid, discipline, held_at in database.execute(query):
            if not isinstance(held_at, dt.datetime):
                held_at = dt.datetime.fromisoformat(held_at)
            out[pid].add((discipline, held_at))
    return out


def add_session(
    actor: Actor,
    patient_id: int,
    *,
    discipline: str,
    held_at,
    kind: str,
    minutes: int = 0,
    attendance: str = "attended",
    clinician: int | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> SessionResult:
    auth.require(actor, "write_clinical")
    values = {
        "discipline": discipline,
        "held_at": held_at,
        "kind": kind,
        "minutes": minutes,
        "attendance": attendance,
        "clinician": clinician,
        "note": note,
    }
    checked = validate_new(values, now=now)  # the fields first: they need no database
    auth.require(actor, "write_clinical", discipline=checked["discipline"])
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        values = validate_new(values, now=now, date_of_birth=patient.date_of_birth)
        duplicate_row = Session.select().where(
            (Session.patient == patient_id)
            & (Session.discipline == values["discipline"])
            & (Session.held_at == values["held_at"])
        )
        if duplicate_row.exists():
            raise duplicate(values["discipline"], values["held_at"])
        row = row_ops.create_audited(actor, Session, {"patient": patient_id, **values}, action="session.create")
        list_summary.refresh(patient_id)
    return get_session(actor, row.id)


INSERT_FIELDS = (
    Session.patient,
    Session.discipline,
    Session.held_at,
    Session.kind,
    Session.minutes,
    Session.attendance,
    Session.clinician,
    Session.note,
)


def record_many(
    actor: Actor, rows: Sequence[tuple], *, action: str = "session.import", details: dict | None = None
) -> int:
    """Store many sessions at once (an import): tuples in ``INSERT_FIELDS`` order of
    what ``validate_new`` returned, checked by the caller against each other and what
    is ``recorded``. One transaction, one audit event per patient (with the number of
    rows), the patients' list summaries refreshed."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "write_clinical")
    if not rows:
        return 0
    return row_ops.bulk_insert_audited(actor, Session, INSERT_FIELDS, rows, action=action, details=details)


def update_session(
    actor: Actor, session_id: int, expected_version: int, *, now: dt.datetime | None = None, **changes
) -> SessionResult:
    auth.require(actor, "write_clinical")
    allowed = {"discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note"}
    if set(changes) - allowed:
        raise ValidationError(f"unknown session field(s): {', '.join(sorted(set(changes) - allowed))}", field="session")
    with database.atomic():
        current = row_ops.get_row(Session, session_id, "session")
        merged = {**{k: current.__data__[k] for k in allowed}, **changes}
        values = {k: v for k, v in _clean(merged, now or clock.now()).items() if k in changes or k == "minutes"}
        # Moving a session to another discipline needs the right to write both.
        for discipline in {current.__data__["discipline"], values.get("discipline", current.__data__["discipline"])}:
            auth.require(actor, "write_clinical", discipline=discipline)
        row_ops.update_versioned(
            actor, Session, session_id, expected_version, values, what="session", action="session.update"
        )
        list_summary.refresh(current.__data__["patient"])
    return get_session(actor, session_id)


def delete_session(actor: Actor, session_id: int, expected_version: int) -> dict:
    auth.require(actor, "write_clinical")
    with database.atomic():
        current = row_ops.get_row(Session, session_id, "session")
        auth.require(actor, "write_clinical", discipline=current.__data__["discipline"])
        before = row_ops.delete_versioned(
            actor, Session, session_id, expected_version, what="session", action="session.delete"
        )
        list_summary.refresh(before["patient"])
    return before


def restore_session(actor: Actor, before: dict) -> SessionResult:
    auth.require(actor, "write_clinical", discipline=before["discipline"])
    with database.atomic():
        row = row_ops.restore_row(actor, Session, before, action="session.restore")
        list_summary.refresh(before["patient"])
    return get_session(actor, row)


def _select() -> Query:
    return Session.select(Session, Clinician.full_name.alias("clinician_name")).join(
        Clinician, pw.JOIN.LEFT_OUTER, on=(Session.clinician == Clinician.id)
    )


def get_session(actor: Actor, session_id: int) -> SessionResult:
    auth.require(actor, "read")
    row = _select().where(Session.id == session_id).dicts().first()
    if row is None:
        row_ops.get_row(Session, session_id, "session")
    return build(SessionResult, row)


def list_sessions(actor: Actor, patient_id: int, discipline: str | None = None) -> list[SessionResult]:
    auth.require(actor, "read")
    rows = [build(SessionResult, d) for d in _BY_PATIENT.dicts(patient_id)]
    return rows if not discipline else [s for s in rows if s.discipline == discipline]


_BY_PATIENT = row_ops.Prepared(
    lambda patient_id: _select().where(Session.patient == patient_id).order_by(Session.held_at, Session.id)
)


def attendance(
    sessions: list[SessionResult], discipline: str | None = None, *, until: dt.datetime | None = None
) -> Attendance:
    """Counts over sessions already held (future bookings are not yet attended or missed)."""
    until = until or clock.now()
    held = [s for s in sessions if s.held_at <= until and (discipline is None or s.discipline == discipline)]
    count = {kind: sum(1 for s in held if s.attendance == kind) for kind in ("attended", "cancelled", "no_show")}
    return Attendance(discipline, len(held), count["attended"], count["cancelled"], count["no_show"])
