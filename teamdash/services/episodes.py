"""A patient's status over time and episodes of care.

The patient row holds the current episode (referral, programme start, baseline anchor
``episode_start``, status). Status changes within it — on hold, resumed, discharged,
dropped out — are recorded with their date, reason and note. A discharged or
dropped-out patient who is referred again is **readmitted**: the ended episode is kept
in ``Episode`` and a new one starts at the new referral date, so change from baseline,
MCID and reliable change restart there while the earlier measurements stay on record.

Every change is one transaction with its audit event, checked against the version the
user saw, and can be undone (the last change only, and only while nobody has changed the
patient since).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import Conflict, EditConflict, ValidationError
from teamdash.services import audit, auth, list_summary, patients, row_ops
from teamdash.services.auth import Actor
from teamdash.services.patients import ENDED_STATUSES
from teamdash.storage import queries
from teamdash.storage.db import database
from teamdash.storage.models import Episode, Patient, StatusChange, User

REGISTERED, ON_HOLD, RESUMED, DISCHARGED, DROPPED_OUT, READMITTED = (
    "registered",
    "on_hold",
    "resumed",
    "discharged",
    "dropped_out",
    "readmitted",
)
NOTE_LENGTH = 2000


@dataclass(frozen=True)
class Transition:
    event: str
    status: str  # the patient's status afterwards
    allowed_from: frozenset[str]
    reasons: str | None = None  # vocabulary of reasons (resources/disciplines.toml), required when set
    note_required: bool = False
    clears_checkin: bool = False  # an ended episode has no check-in booked


TRANSITIONS: dict[str, Transition] = {
    ON_HOLD: Transition(ON_HOLD, "on_hold", frozenset({"active"}), note_required=True),
    RESUMED: Transition(RESUMED, "active", frozenset({"on_hold"})),
    DISCHARGED: Transition(
        DISCHARGED, "discharged", frozenset({"active", "on_hold"}), reasons="discharge_reasons", clears_checkin=True
    ),
    DROPPED_OUT: Transition(
        DROPPED_OUT, "dropped_out", frozenset({"active", "on_hold"}), reasons="dropout_reasons", clears_checkin=True
    ),
}

EVENT_LABELS = {
    REGISTERED: "Registered",
    ON_HOLD: "Put on hold",
    RESUMED: "Resumed",
    DISCHARGED: "Discharged",
    DROPPED_OUT: "Dropped out",
    READMITTED: "Readmitted",
}
STATUS_LABELS = {"active": "Active", "on_hold": "On hold", "discharged": "Discharged", "dropped_out": "Dropped out"}


def label(code: str | None) -> str:
    """A stored code as people read it: ``goals_met`` -> 'Goals met'."""
    if not code:
        return ""
    return STATUS_LABELS.get(code) or EVENT_LABELS.get(code) or code.replace("_", " ").capitalize()


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChangeResult:
    id: int | None  # None: inferred from the patient row (recorded before the status history existed)
    patient: int
    episode: int
    event: str
    status: str
    effective_on: dt.date
    reason: str | None
    note: str | None
    recorded_by_name: str | None
    recorded_at: dt.datetime | None
    version_after: int | None

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event, label(self.event))

    @property
    def reason_label(self) -> str:
        return label(self.reason)

    @property
    def undoable(self) -> bool:
        return self.id is not None and self.event != REGISTERED


@dataclass(frozen=True)
class EpisodeResult:
    number: int
    referral_date: dt.date
    started_on: dt.date  # the baseline anchor of the episode
    programme_start: dt.date | None
    ended_on: dt.date | None  # None while the episode goes on
    outcome: str | None  # discharged | dropped_out once ended
    reason: str | None
    note: str | None
    case_manager_name: str | None
    current: bool

    @property
    def outcome_text(self) -> str:
        """'discharged: goals met' / 'ongoing'."""
        if self.outcome is None:
            return "ongoing"
        text = label(self.outcome).lower()
        return f"{text}: {label(self.reason).lower()}" if self.reason else text


def _change(row: StatusChange) -> StatusChangeResult:
    d = row.__data__
    return StatusChangeResult(
        d["id"],
        d["patient"],
        d["episode"],
        d["event"],
        d["status"],
        d["effective_on"],
        d["reason"],
        d["note"],
        d["recorded_by_name"],
        d["recorded_at"],
        d["version_after"],
    )


# --- reading --------------------------------------------------------------------------------------


def current_episode_number(patient_id: int) -> int:
    return Episode.select().where(Episode.patient == patient_id).count() + 1


_MANAGER = User.alias("episode_manager")


def _earlier_query(patient_id: int) -> pw.ModelSelect[Any]:
    return (
        Episode.select(
            Episode.number,
            Episode.referral_date,
            Episode.started_on,
            Episode.programme_start,
            Episode.ended_on,
            Episode.outcome,
            Episode.reason,
            Episode.note,
            _MANAGER.full_name.alias("case_manager_name"),
        )
        .join(_MANAGER, pw.JOIN.LEFT_OUTER, on=(Episode.case_manager == _MANAGER.id))
        .where(Episode.patient == patient_id)
        .order_by(Episode.number)
    )


_EARLIER = row_ops.Prepared(_earlier_query)  # read on every patient switch: compiled once


def episodes(
    actor: Actor, patient_id: int, *, detail: patients.PatientDetail | None = None
) -> tuple[EpisodeResult, ...]:
    """Every episode of care, earliest first; the last one is the current episode
    (``detail``: the patient as just read, saving a query)."""
    auth.require(actor, "read")
    detail = detail or patients.get_patient(actor, patient_id)
    rows = _EARLIER.dicts(patient_id)
    earlier = [
        EpisodeResult(
            e["number"],
            e["referral_date"],
            e["started_on"],
            e["programme_start"],
            e["ended_on"],
            e["outcome"],
            e["reason"],
            e["note"],
            e["case_manager_name"],
            False,
        )
        for e in rows
    ]
    ended = detail.ended
    current = EpisodeResult(
        len(earlier) + 1,
        detail.referral_date,
        detail.episode_start,
        detail.programme_start,
        detail.status_changed_on if ended else None,
        detail.status if ended else None,
        detail.status_reason if ended else None,
        detail.status_note if ended else None,
        detail.case_manager_name,
        True,
    )
    return (*earlier, current)


def history(actor: Actor, patient_id: int) -> tuple[StatusChangeResult, ...]:
    """Every status change, in the order they happened. Patients registered by an import,
    the demo or an older TeamDash have no recorded registration or final status: those
    are inferred from the patient row (``id`` None, no reason)."""
    auth.require(actor, "read")
    patient = row_ops.get_row(Patient, patient_id, "patient")
    rows = [
        _change(r)
        for r in StatusChange.select()
        .where(StatusChange.patient == patient_id)
        .order_by(StatusChange.effective_on, StatusChange.id)
    ]
    number = current_episode_number(patient_id)
    inferred = []
    if not any(r.episode == 1 and r.event in (REGISTERED, READMITTED) for r in rows):
        first = Episode.get_or_none((Episode.patient == patient_id) & (Episode.number == 1))
        referral = first.referral_date if first else patient.referral_date
        inferred.append(StatusChangeResult(None, patient_id, 1, REGISTERED, "active", referral, *[None] * 5))
    in_current = [r for r in rows if r.episode == number]
    if patient.status != "active" and not (in_current and in_current[-1].status == patient.status):
        on = patient.status_changed_on or patient.referral_date
        inferred.append(StatusChangeResult(None, patient_id, number, patient.status, patient.status, on, *[None] * 5))
    return tuple(sorted(rows + inferred, key=lambda r: (r.effective_on, r.id is not None, r.id or 0)))


def latest_change(actor: Actor, patient_id: int) -> StatusChangeResult | None:
    """The most recent recorded change (what Undo would reverse)."""
    auth.require(actor, "read")
    row = StatusChange.select().where(StatusChange.patient == patient_id).order_by(StatusChange.id.desc()).first()
    return _change(row) if row else None


# --- checks ----------------------------------------------------------------------------------------


def _patient_for_change(patient_id: int, expected_version: int) -> Patient:
    patient = row_ops.get_row(Patient, patient_id, "patient")
    if patient.version != expected_version:
        raise EditConflict(
            f"this patient was changed by someone else while you were deciding (you saw version "
            f"{expected_version}, it is now version {patient.version}); nothing was saved — "
            "look at the patient again and repeat the change if it still applies",
            current_version=patient.version,
            current=audit.row_dict(patient),
        )
    return patient


def _not_in_future(value: dt.date, field: str, today: dt.date) -> dt.date:
    if value > today:
        raise ValidationError(
            f"{value:%d %b %Y} is in the future; record a status change once it has happened", field=field
        )
    return value


def _reason(transition: Transition, reason: str | None) -> str | None:
    if transition.reasons is None:
        return None
    allowed = disciplines.vocabulary(transition.reasons)
    if reason in (None, ""):
        raise ValidationError(f"is required (one of: {', '.join(label(r).lower() for r in allowed)})", field="reason")
    return validation.choice(reason, "reason", allowed)


def _last_change_on(patient_id: int, episode: int) -> dt.date | None:
    row = (
        StatusChange.select(StatusChange.effective_on)
        .where((StatusChange.patient == patient_id) & (StatusChange.episode == episode))
        .order_by(StatusChange.effective_on.desc())
        .first()
    )
    return row.effective_on if row else None


def _check_effective_date(patient: Patient, transition: Transition, on: dt.date, episode: int) -> None:
    """A status change falls inside the episode: not before the referral, an ending not
    before the programme started, and none before the episode's previous change."""
    if on < patient.referral_date:
        raise ValidationError(
            f"{on:%d %b %Y} is before the referral date of this episode ({patient.referral_date:%d %b %Y})",
            field="effective_on",
        )
    if transition.clears_checkin and patient.programme_start and on < patient.programme_start:
        raise ValidationError(
            f"{on:%d %b %Y} is before the programme start ({patient.programme_start:%d %b %Y}); if the patient "
            "never started, clear the programme start in Edit details first",
            field="effective_on",
        )
    last = _last_change_on(patient.id, episode)
    if last is not None and on < last:
        raise ValidationError(
            f"{on:%d %b %Y} is before the previous status change of this episode ({last:%d %b %Y})",
            field="effective_on",
        )


def _refused(patient: Patient, what: str) -> ValidationError:
    return ValidationError(f"the patient is {label(patient.status).lower()}; {what}", field="event")


# --- writing ---------------------------------------------------------------------------------------


def _record(
    actor: Actor,
    patient: Patient,
    expected_version: int,
    changes: dict,
    *,
    event: str,
    episode: int,
    effective_on: dt.date,
    reason: str | None,
    note: str | None,
) -> StatusChangeResult:
    """Write the patient's new state and the status change, audited as one event."""
    previous = {name: patient.__data__.get(name) for name in changes}
    written = dict(changes)
    changes = {**changes, "updated_at": clock.now()}
    row = row_ops.update_versioned(
        actor,
        Patient,
        patient.id,
        expected_version,
        changes,
        what="patient",
        action=f"patient.status.{event}",
        patient_id=patient.id,
        details={"event": event, "episode": episode, "effective_on": effective_on, "reason": reason, "note": note},
    )
    change = StatusChange.create(
        patient=patient.id,
        episode=episode,
        event=event,
        status=changes["status"],
        effective_on=effective_on,
        reason=reason,
        note=note,
        previous=_plain(previous),
        written=_plain(written),
        version_after=row.version,
        recorded_by=actor.user_id,
        recorded_by_name=actor.display_name,
    )
    list_summary.refresh(patient.id)
    return _change(change)


def _plain(values: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def change_status(
    actor: Actor,
    patient_id: int,
    expected_version: int,
    event: str,
    *,
    effective_on: dt.date | str | None = None,
    reason: str | None = None,
    note: str | None = None,
    today: dt.date | None = None,
) -> StatusChangeResult:
    """Put on hold, resume, discharge or record a drop-out, dated ``effective_on``
    (default today). Discharge and drop-out need a reason; 'other' and on hold need a note."""
    auth.require(actor, "write_patient")
    transition = TRANSITIONS.get(event)
    if transition is None:
        raise ValidationError(f"{event!r} is not one of: {', '.join(TRANSITIONS)}", field="event")
    today = today or clock.today()
    on = validation.date(effective_on if effective_on not in (None, "") else today, "effective_on")
    assert on is not None
    _not_in_future(on, "effective_on", today)
    reason = _reason(transition, reason)
    note = validation.text(note, "note", required=transition.note_required or reason == "other", max_length=NOTE_LENGTH)
    with database.atomic():
        patient = _patient_for_change(patient_id, expected_version)
        if patient.status not in transition.allowed_from:
            what = {
                RESUMED: "only a patient on hold can resume",
                ON_HOLD: "only an active patient can be put on hold",
            }.get(event, "readmit the patient to start a new episode instead")
            raise _refused(patient, what)
        episode = current_episode_number(patient_id)
        _check_effective_date(patient, transition, on, episode)
        changes: dict = {"status": transition.status, "status_changed_on": on}
        if transition.clears_checkin:
            changes["next_checkin"] = None
        return _record(
            actor,
            patient,
            expected_version,
            changes,
            event=event,
            episode=episode,
            effective_on=on,
            reason=reason,
            note=note,
        )


_KEEP = object()


def readmit(
    actor: Actor,
    patient_id: int,
    expected_version: int,
    *,
    referral_date: dt.date | str,
    programme_start: dt.date | str | None = None,
    next_checkin: dt.date | str | None = None,
    case_manager: object = _KEEP,
    note: str | None = None,
    today: dt.date | None = None,
) -> StatusChangeResult:
    """Start a new episode for a discharged or dropped-out patient. The ended episode is
    kept (its dates, outcome, reason and case manager); the new one's baseline for change,
    MCID and reliable change is its referral date."""
    auth.require(actor, "write_patient")
    today = today or clock.today()
    referral = validation.date(referral_date, "referral_date")
    assert referral is not None
    _not_in_future(referral, "referral_date", today)
    start = validation.date(programme_start, "programme_start", required=False)
    checkin = validation.date(next_checkin, "next_checkin", required=False)
    note = validation.note(note)
    if start is not None and start < referral:
        raise ValidationError("is before the referral date", field="programme_start")
    if checkin is not None and checkin < referral:
        raise ValidationError("is before the referral date", field="next_checkin")
    with database.atomic():
        patient = _patient_for_change(patient_id, expected_version)
        if patient.status not in ENDED_STATUSES:
            raise _refused(patient, "only a discharged or dropped-out patient is readmitted")
        ended = patient.status_changed_on or patient.referral_date
        number = current_episode_number(patient_id)
        if referral <= ended:
            raise ValidationError(
                f"must be after episode {number} ended ({ended:%d %b %Y})",
                field="referral_date",
            )
        closing = patients.get_patient(actor, patient_id)
        Episode.create(
            patient=patient_id,
            number=number,
            referral_date=patient.referral_date,
            started_on=patient.episode_start,
            programme_start=patient.programme_start,
            ended_on=ended,
            outcome=patient.status,
            reason=closing.status_reason,
            note=closing.status_note,
            case_manager=patient.__data__.get("case_manager"),
        )
        changes: dict = {
            "status": "active",
            "status_changed_on": referral,
            "referral_date": referral,
            "episode_start": referral,
            "programme_start": start,
            "next_checkin": checkin,
        }
        if case_manager is not _KEEP:
            changes["case_manager"] = patients.case_manager_id(case_manager)
        return _record(
            actor,
            patient,
            expected_version,
            changes,
            event=READMITTED,
            episode=number + 1,
            effective_on=referral,
            reason=None,
            note=note,
        )


def undo_change(actor: Actor, change_id: int) -> StatusChangeResult:
    """Reverse a status change: the patient's previous state comes back (for a
    readmission, the ended episode becomes current again). Only the patient's latest
    change, and only while the columns it set still hold what it set (an unrelated edit
    since does not block it; a changed status, date or booking does)."""
    auth.require(actor, "write_patient")
    with database.atomic():
        change = row_ops.get_row(StatusChange, change_id, "status change")
        if change.event == REGISTERED:
            raise ValidationError("a registration is not a status change that can be undone", field="event")
        patient_id = change.__data__["patient"]
        latest = latest_change(actor, patient_id)
        if latest is None or latest.id != change.id:
            raise Conflict("a later status change was recorded since; undo that one first")
        patient = row_ops.get_row(Patient, patient_id, "patient")
        written = row_ops.from_plain(Patient, change.written or {})
        moved = [name for name, value in written.items() if patient.__data__.get(name) != value]
        if moved:
            raise Conflict(
                f"the patient's {', '.join(m.replace('_', ' ') for m in moved)} changed since this status change "
                "(on another workstation or by a later edit); nothing was undone — change the status again instead"
            )
        if change.event == READMITTED:
            queries.delete_where(Episode, Episode.patient == patient_id, Episode.number == change.episode - 1)
        restored = row_ops.from_plain(Patient, change.previous or {})
        row_ops.update_versioned(
            actor,
            Patient,
            patient_id,
            patient.version,
            {**restored, "updated_at": clock.now()},
            what="patient",
            action="patient.status.undo",
            patient_id=patient_id,
            details={"undone": change.event, "episode": change.episode, "effective_on": change.effective_on},
        )
        result = _change(change)
        change.delete_instance()
        list_summary.refresh(patient_id)
    return result
