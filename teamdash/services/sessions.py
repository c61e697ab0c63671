"""Treatment sessions per discipline: who saw the patient, when, and whether they came."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import Patient, Session, User
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


def validate_new(values: dict, *, now: dt.datetime | None = None) -> dict:
    """``add_session``'s checks on one session's fields (discipline, held_at, kind,
    minutes, attendance, clinician, note), without writing: for bulk import."""
    return _clean(values, now or clock.now())


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
    values = _clean(
        {
            "discipline": discipline,
            "held_at": held_at,
            "kind": kind,
            "minutes": minutes,
            "attendance": attendance,
            "clinician": clinician,
            "note": note,
        },
        now or clock.now(),
    )
    auth.require(actor, "write_clinical", discipline=values["discipline"])
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        if values["held_at"].date() < patient.date_of_birth:
            raise ValidationError("is before the patient's date of birth", field="held_at")
        duplicate = Session.select().where(
            (Session.patient == patient_id)
            & (Session.discipline == values["discipline"])
            & (Session.held_at == values["held_at"])
        )
        if duplicate.exists():
            raise ValidationError(
                f"a {values['discipline']} session at {values['held_at']:%Y-%m-%d %H:%M} is already recorded (duplicate session)",
                field="held_at",
            )
        row = row_ops.create_audited(actor, Session, {"patient": patient_id, **values}, action="session.create")
        list_summary.refresh(patient_id)
    return get_session(actor, row.id)


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


def _select() -> pw.ModelSelect:
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
