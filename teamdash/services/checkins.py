"""Team check-ins. A saved check-in keeps the summary the team signed off as a frozen
snapshot: later corrections to scores never rewrite it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from teamdash import clock, validation
from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, row_ops
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.db import database
from teamdash.storage.models import CheckIn, Patient, SupportContact, User
from teamdash.storage.queries import tuples

MAX_PLAN = 4000  # characters: a plan is a few agreed steps, not a report


@dataclass(frozen=True)
class CheckInResult:
    id: int
    patient: int
    held_on: dt.date
    attendees: list
    narrative: str | None
    plan: str | None  # what the team agreed for the next period
    period_start: dt.date | None  # the first day the summary covered
    next_checkin: dt.date | None  # the next check-in date set at this one
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


def validate_new(values: dict) -> dict:
    """``record_checkin``'s checks on one new check-in, without writing (an import
    checks every row before it adds any): held on (not after tomorrow), attendees (staff
    ids, kept with their names and disciplines as they are now), narrative, and who
    recorded it (``created_by``, a staff id). Returns the clean column values."""
    fields = {"held_on", "attendees", "narrative", "plan", "period_start", "next_checkin", "snapshot", "created_by"}
    unknown = set(values) - fields
    if unknown:
        raise ValidationError(f"unknown check-in field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    created_by = values.get("created_by")
    if created_by is not None and not User.select().where(User.id == created_by).exists():
        raise ValidationError(f"no staff member with id {created_by}", field="created_by")
    held_on = validation.date(values.get("held_on"), "held_on", not_after=clock.today() + dt.timedelta(days=1))
    next_checkin = validation.date(values.get("next_checkin"), "next_checkin", required=False)
    if next_checkin is not None and next_checkin <= held_on:
        raise ValidationError("must be after the check-in date", field="next_checkin")
    period_start = validation.date(values.get("period_start"), "period_start", required=False)
    if period_start is not None and period_start > held_on:
        raise ValidationError("must be on or before the check-in date", field="period_start")
    return {
        "held_on": held_on,
        "attendees": _attendees(list(dict.fromkeys(values.get("attendees") or []))),
        "narrative": validation.note(values.get("narrative"), "narrative"),
        "plan": validation.text(values.get("plan"), "plan", required=False, max_length=MAX_PLAN),
        "period_start": period_start,
        "next_checkin": next_checkin,
        "snapshot": values.get("snapshot"),
        "created_by": created_by,
    }


def record_many(actor: Actor, rows: Sequence[dict], *, action: str = "checkin.import") -> list[int]:
    """Store many check-ins at once (an import): each row as ``validate_new`` returned
    it plus its ``patient``. One transaction, one audit event per check-in, the
    patients' list summaries refreshed. Returns the new ids in order (decisions and
    action items refer to them)."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "write_checkin")
    ids = []
    with database.atomic():
        for values in rows:
            row_ops.get_row(Patient, values["patient"], "patient")
            ids.append(row_ops.create_audited(actor, CheckIn, dict(values), action=action).id)
        list_summary.refresh_many({values["patient"] for values in rows})
    return ids


def held(patient_ids: Iterable[int]) -> dict[tuple[int, dt.date], int]:
    """The check-ins of these patients by (patient, day held): what decisions and
    action items refer to by date, and what a new one must not repeat."""
    out: dict[tuple[int, dt.date], int] = {}
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), 500):
        query = CheckIn.select(CheckIn.patient, CheckIn.held_on, CheckIn.id).where(
            CheckIn.patient.in_(ids[start : start + 500])
        )
        for pid, held_on, checkin_id in tuples(query.order_by(CheckIn.id)):
            out.setdefault((pid, held_on), checkin_id)
    return out


def record_checkin(
    actor: Actor,
    patient_id: int,
    *,
    held_on: dt.date | str,
    attendees: list[int],
    narrative: str | None = None,
    snapshot: dict | None = None,
    next_checkin: dt.date | str | None = None,
    plan: str | None = None,
    period_start: dt.date | str | None = None,
    on_handout: Collection[int] | None = None,
) -> CheckInResult:
    """Save a check-in and, when given, the date of the next one. ``on_handout`` (ids of
    the patient's support contacts) records whom the patient chose to have named on
    their progress handout; the others are no longer named. None leaves the choice as
    it was."""
    auth.require(actor, "write_checkin")
    values = validate_new(
        {
            "held_on": held_on,
            "attendees": attendees,
            "narrative": narrative,
            "plan": plan,
            "period_start": period_start,
            "next_checkin": next_checkin,
            "snapshot": snapshot,
        }
    )
    next_checkin = values["next_checkin"]
    with database.atomic():
        patient = row_ops.get_row(Patient, patient_id, "patient")
        row = row_ops.create_audited(
            actor,
            CheckIn,
            {**values, "patient": patient_id, "created_by": actor.user_id},
            action="checkin.create",
        )
        if on_handout is not None:
            _set_handout_choice(actor, patient_id, set(on_handout))
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


def _set_handout_choice(actor: Actor, patient_id: int, chosen: set[int]) -> None:
    contacts = list(SupportContact.select().where(SupportContact.patient == patient_id))
    unknown = chosen - {c.id for c in contacts}
    if unknown:
        raise ValidationError(
            f"support contact {min(unknown)} is not one of this patient's contacts", field="on_handout"
        )
    for contact in contacts:
        wanted = contact.id in chosen
        if contact.on_handout != wanted:
            row_ops.update_versioned(
                actor,
                SupportContact,
                contact.id,
                contact.version,
                {"on_handout": wanted},
                what="support contact",
                action="contact.handout_choice",
                patient_id=patient_id,
            )


def get_checkin(actor: Actor, checkin_id: int) -> CheckInResult:
    auth.require(actor, "read")
    return build(CheckInResult, row_ops.get_row(CheckIn, checkin_id, "check-in").__data__)


def list_checkins(actor: Actor, patient_id: int) -> list[CheckInResult]:
    auth.require(actor, "read")
    return [build(CheckInResult, d) for d in _BY_PATIENT.dicts(patient_id)]


_BY_PATIENT = row_ops.Prepared(
    lambda patient_id: CheckIn.select().where(CheckIn.patient == patient_id).order_by(CheckIn.held_on, CheckIn.id)
)
