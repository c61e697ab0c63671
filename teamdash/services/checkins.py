"""Team check-ins. A saved check-in keeps the summary the team signed off as a frozen
snapshot: later corrections to scores never rewrite it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock, validation
from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import CheckIn, Patient, User


@dataclass(frozen=True)
class CheckInResult:
    id: int
    patient: int
    held_on: dt.date
    attendees: list
    narrative: str | None
    snapshot: dict | None
    created_by: int | None
    created_at: dt.datetime
    version: int


def _attendees(user_ids: list[int]) -> list[dict]:
    users = {u.id: u for u in User.select().where(User.id.in_(list(user_ids)))}
    missing = [uid for uid in user_ids if uid not in users]
    if missing:
        raise ValidationError(f"no staff member with id {missing[0]}", field="attendees")
    return [
        {"user_id": uid, "name": users[uid].full_name, "discipline": users[uid].__data__.get("discipline")}
        for uid in user_ids
    ]


def record_checkin(
    actor: Actor,
    patient_id: int,
    *,
    held_on: dt.date | str,
    attendees: list[int],
    narrative: str | None = None,
    snapshot: dict | None = None,
    next_checkin: dt.date | str | None = None,
) -> CheckInResult:
    """Save a check-in and, when given, the date of the next one."""
    auth.require(actor, "write_checkin")
    held_on = validation.date(held_on, "held_on", not_after=clock.today() + dt.timedelta(days=1))
    next_checkin = validation.date(next_checkin, "next_checkin", required=False)
    if next_checkin is not None and next_checkin <= held_on:
        raise ValidationError("must be after the check-in date", field="next_checkin")
    narrative = validation.note(narrative, "narrative")
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        row = row_ops.create_audited(
            actor,
            CheckIn,
            {
                "patient": patient_id,
                "held_on": held_on,
                "attendees": _attendees(list(dict.fromkeys(attendees))),
                "narrative": narrative,
                "snapshot": snapshot,
                "created_by": actor.user_id,
            },
            action="checkin.create",
        )
        if next_checkin is not None:
            row_ops.update_versioned(
                actor,
                Patient,
                patient_id,
                patient.version,
                {"next_checkin": next_checkin},
                what="patient",
                action="patient.next_checkin",
                patient_id=patient_id,
            )
        list_summary.refresh(patient_id)
    return get_checkin(actor, row.id)


def get_checkin(actor: Actor, checkin_id: int) -> CheckInResult:
    auth.require(actor, "read")
    return build(CheckInResult, row_ops.get_row(CheckIn, checkin_id, "check-in").__data__)


def list_checkins(actor: Actor, patient_id: int) -> list[CheckInResult]:
    auth.require(actor, "read")
    return [build(CheckInResult, d) for d in _BY_PATIENT.dicts(patient_id)]


_BY_PATIENT = row_ops.Prepared(
    lambda patient_id: CheckIn.select().where(CheckIn.patient == patient_id).order_by(CheckIn.held_on, CheckIn.id)
)


def last_checkin_before(checkins: list[CheckInResult], when: dt.date) -> CheckInResult | None:
    earlier = [c for c in checkins if c.held_on <= when]
    return earlier[-1] if earlier else None
