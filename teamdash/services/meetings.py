"""Team meetings, from start to minutes.

``start_meeting`` opens a meeting with its attendees and agenda (``agenda`` proposes
one). During the meeting the team types decisions and action items for the patient on
screen (``add_decision``, ``add_action_item``) and marks the patient reviewed
(``mark_reviewed``), which records the patient's check-in through
``checkins.record_checkin`` with a frozen snapshot of what the team looked at and links
the meeting's decisions and action items to it. ``end_meeting`` saves the minutes
(attendees, patients reviewed, decisions, action items) as they stand; a later edit to
an action item does not rewrite them. Every write is audited; so is every export.

Running a meeting (starting it, its agenda, reviewing a patient, ending it) is saving
team check-ins (``write_checkin``); decisions and action items need ``write_actions``:
case managers and administrators, as for check-ins and action items outside a meeting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import Conflict, ValidationError
from teamdash.services import agenda, audit, auth, chart, checkins, row_ops, timelines
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS, ActionItemResult, DecisionResult
from teamdash.services.auth import Actor
from teamdash.storage import queries
from teamdash.storage.db import database
from teamdash.storage.models import ActionItem, Decision, Meeting, MeetingItem, Patient, User
from teamdash.storage.queries import dicts, tuples
from teamdash.text import Named

# --- results ------------------------------------------------------------------------------------


def _dicts(query: pw.BaseQuery) -> list[dict[str, Any]]:
    return list(dicts(query))


def _tuples(query: pw.BaseQuery) -> list[tuple[Any, ...]]:
    return list(tuples(query))


def _jsonable(value: Any) -> Any:
    """Dates as ISO text, tuples as lists: the form minutes and snapshots are stored in."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Attendee:
    user_id: int
    name: str
    discipline: str | None


@dataclass(frozen=True)
class AgendaItem(Named):
    id: int
    meeting: int
    patient: int
    clinic_id: str
    given_name: str
    family_name: str
    position: int
    agenda_group: str
    reason: str | None
    checkin: int | None
    reviewed_at: dt.datetime | None
    version: int

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None

    @property
    def group_label(self) -> str:
        return agenda.group_label(self.agenda_group)


@dataclass(frozen=True)
class MeetingResult:
    id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    started_by: int | None
    started_by_name: str | None
    attendees: tuple[Attendee, ...]
    items: tuple[AgendaItem, ...]
    version: int

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def held_on(self) -> dt.date:
        return self.started_at.date()

    @property
    def reviewed_count(self) -> int:
        return sum(1 for i in self.items if i.reviewed)

    def item_for(self, patient_id: int) -> AgendaItem | None:
        return next((i for i in self.items if i.patient == patient_id), None)


@dataclass(frozen=True)
class MeetingSummary:
    """One line of the list of meetings."""

    id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    attendees: int
    patients: int
    reviewed: int

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class MinutesAction:
    text: str
    owner_id: int | None
    owner_name: str | None
    due_on: dt.date | None
    discipline: str | None

    @property
    def discipline_name(self) -> str | None:
        return disciplines.get(self.discipline).name if self.discipline else None


@dataclass(frozen=True)
class MinutesPatient(Named):
    patient_id: int
    clinic_id: str
    given_name: str
    family_name: str
    agenda_group: str
    reason: str | None
    reviewed: bool
    checkin_id: int | None
    next_checkin: dt.date | None
    decisions: tuple[str, ...]
    actions: tuple[MinutesAction, ...]

    @property
    def group_label(self) -> str:
        return agenda.group_label(self.agenda_group)


@dataclass(frozen=True)
class Minutes:
    """What was agreed at a meeting. Saved when the meeting ends (``final``); for a
    meeting still running, the state so far."""

    meeting_id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    chaired_by: str | None
    attendees: tuple[Attendee, ...]
    patients: tuple[MinutesPatient, ...]
    final: bool

    @property
    def held_on(self) -> dt.date:
        return self.started_at.date()

    @property
    def reviewed(self) -> tuple[MinutesPatient, ...]:
        return tuple(p for p in self.patients if p.reviewed)

    @property
    def not_reviewed(self) -> tuple[MinutesPatient, ...]:
        return tuple(p for p in self.patients if not p.reviewed)

    @property
    def decision_count(self) -> int:
        return sum(len(p.decisions) for p in self.patients)

    @property
    def action_count(self) -> int:
        return sum(len(p.actions) for p in self.patients)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @staticmethod
    def from_json(data: dict[str, Any]) -> Minutes:
        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value) if value else None

        def moment(value: str | None) -> dt.datetime | None:
            return dt.datetime.fromisoformat(value) if value else None

        return Minutes(
            meeting_id=data["meeting_id"],
            started_at=dt.datetime.fromisoformat(data["started_at"]),
            ended_at=moment(data.get("ended_at")),
            chaired_by=data.get("chaired_by"),
            attendees=tuple(Attendee(**a) for a in data.get("attendees", ())),
            patients=tuple(
                MinutesPatient(
                    **{
                        **p,
                        "next_checkin": day(p.get("next_checkin")),
                        "decisions": tuple(p.get("decisions", ())),
                        "actions": tuple(
                            MinutesAction(**{**a, "due_on": day(a.get("due_on"))}) for a in p.get("actions", ())
                        ),
                    }
                )
                for p in data.get("patients", ())
            ),
            final=bool(data.get("final")),
        )


# --- reading ------------------------------------------------------------------------------------


def _items(meeting_id: int) -> tuple[AgendaItem, ...]:
    query = (
        MeetingItem.select(MeetingItem, Patient.clinic_id, Patient.given_name, Patient.family_name)
        .join(Patient)
        .where(MeetingItem.meeting == meeting_id)
        .order_by(MeetingItem.position, MeetingItem.id)
    )
    return tuple(
        AgendaItem(
            id=d["id"],
            meeting=d["meeting"],
            patient=d["patient"],
            clinic_id=d["clinic_id"],
            given_name=d["given_name"],
            family_name=d["family_name"],
            position=d["position"],
            agenda_group=d["agenda_group"],
            reason=d["reason"],
            checkin=d["checkin"],
            reviewed_at=d["reviewed_at"],
            version=d["version"],
        )
        for d in _dicts(query)
    )


def _result(row: Meeting) -> MeetingResult:
    starter = User.get_or_none(User.id == row.__data__.get("started_by")) if row.__data__.get("started_by") else None
    return MeetingResult(
        id=row.id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        started_by=row.__data__.get("started_by"),
        started_by_name=starter.full_name if starter else None,
        attendees=tuple(Attendee(**a) for a in row.attendees or ()),
        items=_items(row.id),
        version=row.version,
    )


def get_meeting(actor: Actor, meeting_id: int) -> MeetingResult:
    auth.require(actor, "read")
    return _result(row_ops.get_row(Meeting, meeting_id, "meeting"))


def list_meetings(actor: Actor, *, open_only: bool = False, limit: int = 200) -> list[MeetingSummary]:
    """Meetings, newest first: for the list of past meetings and to resume one."""
    auth.require(actor, "read")
    items = MeetingItem.select(
        MeetingItem.meeting,
        pw.fn.COUNT(MeetingItem.id).alias("patients"),
        pw.fn.COUNT(MeetingItem.reviewed_at).alias("reviewed"),
    ).group_by(MeetingItem.meeting)
    counts = {d["meeting"]: (d["patients"], d["reviewed"]) for d in _dicts(items)}
    query = Meeting.select().order_by(Meeting.started_at.desc(), Meeting.id.desc()).limit(limit)
    if open_only:
        query = query.where(Meeting.ended_at.is_null())
    return [
        MeetingSummary(m.id, m.started_at, m.ended_at, len(m.attendees or ()), *counts.get(m.id, (0, 0))) for m in query
    ]


def meeting_records(
    actor: Actor, meeting_id: int, patient_id: int
) -> tuple[list[DecisionResult], list[ActionItemResult]]:
    """The decisions and action items typed for one patient at this meeting."""
    auth.require(actor, "read")
    decisions = [d for d in DECISIONS.list(actor, patient_id) if d.meeting == meeting_id]
    actions = [a for a in ACTION_ITEMS.list(actor, patient_id) if a.meeting == meeting_id]
    return decisions, sorted(actions, key=lambda a: a.id)


# --- writing ------------------------------------------------------------------------------------


def _attendees(user_ids: Sequence[int]) -> list[dict]:
    ids = list(dict.fromkeys(int(u) for u in user_ids))
    if not ids:
        raise ValidationError("choose at least one attendee", field="attendees")
    users = {u.id: u for u in User.select().where(User.id.in_(ids))}
    missing = [uid for uid in ids if uid not in users]
    if missing:
        raise ValidationError(f"no staff member with id {missing[0]}", field="attendees")
    return [
        {"user_id": uid, "name": users[uid].full_name, "discipline": users[uid].__data__.get("discipline")}
        for uid in ids
    ]


def _patient_ids(patient_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(int(p) for p in patient_ids))
    if not ids:
        raise ValidationError("the agenda is empty: add at least one patient", field="agenda")
    return ids


def start_meeting(
    actor: Actor, *, attendees: Sequence[int], patient_ids: Sequence[int], today: dt.date | None = None
) -> MeetingResult:
    """Open a meeting with these attendees and this agenda, in the order given."""
    auth.require(actor, "write_checkin")
    today = today or clock.today()
    people = _attendees(attendees)
    entries = agenda.entries_for(actor, _patient_ids(patient_ids), today=today)
    with database.atomic():
        meeting = row_ops.create_audited(
            actor, Meeting, {"attendees": people, "started_by": actor.user_id}, action="meeting.start"
        )
        for position, entry in enumerate(entries):
            MeetingItem.create(
                meeting=meeting.id,
                patient=entry.patient_id,
                position=position,
                agenda_group=entry.group,
                reason=entry.reason,
            )
    return get_meeting(actor, meeting.id)


def _open_meeting(meeting_id: int) -> Meeting:
    meeting = row_ops.get_row(Meeting, meeting_id, "meeting")
    if meeting.ended_at is not None:
        raise Conflict(f"the meeting of {meeting.started_at:%d %b %Y} has ended; its minutes can no longer change")
    return meeting


def _item(meeting_id: int, patient_id: int) -> MeetingItem:
    item = MeetingItem.get_or_none((MeetingItem.meeting == meeting_id) & (MeetingItem.patient == patient_id))
    if item is None:
        raise ValidationError(f"patient {patient_id} is not on this meeting's agenda", field="patient")
    return item


def set_agenda(actor: Actor, meeting_id: int, expected_version: int, patient_ids: Sequence[int]) -> MeetingResult:
    """Reorder, add to or remove from a running meeting's agenda. Patients already
    reviewed stay on it (their check-in is recorded)."""
    auth.require(actor, "write_checkin")
    wanted = _patient_ids(patient_ids)
    with database.atomic():
        meeting = _open_meeting(meeting_id)
        current = {i.patient: i for i in _items(meeting_id)}
        dropped = [i for pid, i in current.items() if pid not in wanted]
        for item in dropped:
            if item.reviewed:
                raise ValidationError(
                    f"{item.clinic_id} was already reviewed at this meeting and stays on the agenda", field="agenda"
                )
        new = [pid for pid in wanted if pid not in current]
        entries = (
            {e.patient_id: e for e in agenda.entries_for(actor, new, today=meeting.started_at.date())} if new else {}
        )
        row_ops.update_versioned(
            actor, Meeting, meeting_id, expected_version, {}, what="meeting", action="meeting.agenda"
        )
        if dropped:
            queries.delete_where(MeetingItem, MeetingItem.id.in_([i.id for i in dropped]))
        for position, pid in enumerate(wanted):
            if pid in current:
                if current[pid].position != position:
                    MeetingItem.update(position=position, version=MeetingItem.version + 1).where(
                        MeetingItem.id == current[pid].id
                    ).execute()
            else:
                entry = entries[pid]
                MeetingItem.create(
                    meeting=meeting_id, patient=pid, position=position, agenda_group=entry.group, reason=entry.reason
                )
        audit.record(
            actor,
            "meeting.agenda.set",
            entity="meeting",
            entity_id=meeting_id,
            before={"agenda": list(current)},
            after={"agenda": wanted},
        )
    return get_meeting(actor, meeting_id)


def add_decision(actor: Actor, meeting_id: int, patient_id: int, text: str) -> DecisionResult:
    """A decision the team made about the patient on screen."""
    auth.require(actor, "write_actions")
    with database.atomic():
        _open_meeting(meeting_id)
        item = _item(meeting_id, patient_id)
        return DECISIONS.add(
            actor,
            patient_id,
            text=text,
            made_by=actor.user_id,
            meeting=meeting_id,
            checkin=item.__data__.get("checkin"),
        )


def add_action_item(
    actor: Actor,
    meeting_id: int,
    patient_id: int,
    *,
    text: str,
    owner: int | None,
    due_on: dt.date | str | None = None,
    discipline: str | None = None,
) -> ActionItemResult:
    """A new action item agreed for the patient on screen: who does what, by when, for
    which discipline. At a meeting every action item has an owner."""
    auth.require(actor, "write_actions")
    if owner in (None, ""):
        raise ValidationError("choose who will do it", field="owner")
    with database.atomic():
        meeting = _open_meeting(meeting_id)
        due = validation.date(due_on, "due_on", required=False, not_before=meeting.started_at.date())
        item = _item(meeting_id, patient_id)
        return ACTION_ITEMS.add(
            actor,
            patient_id,
            text=text,
            owner=owner,
            due_on=due,
            discipline=discipline,
            meeting=meeting_id,
            checkin=item.__data__.get("checkin"),
            status="open",
        )


def default_next_checkin(held_on: dt.date) -> dt.date:
    return held_on + dt.timedelta(days=agenda.settings().checkin_interval_days)


def _measure(series: timelines.MeasureSeries) -> dict[str, Any]:
    inst, change = series.instrument, series.change
    latest, baseline = series.latest, series.baseline
    return {
        "instrument": inst.id,
        "name": inst.short_name,
        "baseline": baseline.value if baseline else None,
        "baseline_on": baseline.taken_at.date() if baseline else None,
        "latest": latest.value if latest else None,
        "latest_on": latest.taken_at.date() if latest else None,
        "band": latest.band if latest else None,
        "change": change.points,
        "verdict": change.verdict,
        "mcid_met": change.mcid_met,
        "reliable": change.rci_verdict,
        "band_movement": change.band_movement,
    }


def review_snapshot(
    record: chart.PatientRecord,
    meeting: MeetingResult,
    decisions: Sequence[DecisionResult],
    actions: Sequence[ActionItemResult],
) -> dict[str, Any]:
    """What the team looked at and agreed when it reviewed the patient: the key measures
    (baseline, latest, change with its MCID and reliable-change verdicts), the flags,
    goals, return-to-work phase, the open action items and this meeting's decisions and
    action items. Stored with the check-in and never recomputed."""
    timeline = timelines.build(record)
    phase = record.current_rtw_phase
    return _jsonable(
        {
            "source": "team_meeting",
            "meeting_id": meeting.id,
            "held_on": meeting.held_on,
            "measures": [_measure(timeline.series[i]) for i in timeline.default_selection],
            "flags": [{"kind": f.kind, "reason": f.reason} for f in record.flags],
            "goals": [
                {"discipline": g.discipline, "text": g.text, "status": g.status, "due_on": g.due_on}
                for g in record.goals
                if g.status == "active"
            ],
            "rtw_phase": phase.label if phase else None,
            "open_action_items": [
                {"text": a.text, "owner": a.owner, "due_on": a.due_on}
                for a in record.open_actions
                if a.meeting != meeting.id
            ],
            "decisions": [d.text for d in decisions],
            "action_items": [
                {"text": a.text, "owner": a.owner, "due_on": a.due_on, "discipline": a.discipline} for a in actions
            ],
        }
    )


def _plan_text(
    meeting: MeetingResult, decisions: Sequence[DecisionResult], actions: Sequence[ActionItemResult], note: str | None
) -> str:
    """The check-in's narrative: the plan the team agreed, readable on its own."""
    names = {a.user_id: a.name for a in meeting.attendees}
    names.update(_owner_names({a.owner for a in actions if a.owner and a.owner not in names}))
    lines = [f"Reviewed at the team meeting of {meeting.held_on.day} {meeting.held_on:%b %Y}."]
    if note:
        lines += ["", note]
    if decisions:
        lines += ["", "Decisions:"] + [f"- {d.text}" for d in decisions]
    if actions:
        lines += ["", "Action items:"]
        for a in actions:
            who = names.get(a.owner) if a.owner is not None else None
            due = f", due {a.due_on.day} {a.due_on:%b %Y}" if a.due_on else ""
            lines.append(f"- {a.text} ({who or 'unassigned'}{due})")
    if not decisions and not actions and not note:
        lines.append("No change to the plan.")
    return "\n".join(lines)


def mark_reviewed(
    actor: Actor,
    meeting_id: int,
    patient_id: int,
    *,
    next_checkin: dt.date | str | None = None,
    note: str | None = None,
) -> MeetingResult:
    """The team has reviewed the patient: record the check-in (attendees, the agreed
    plan as its narrative, the snapshot, the next check-in date) and link this meeting's
    decisions and action items for the patient to it."""
    auth.require(actor, "write_checkin")
    note = validation.note(note, "note")
    with database.atomic():
        _open_meeting(meeting_id)
        meeting = get_meeting(actor, meeting_id)
        item = meeting.item_for(patient_id)
        if item is None:
            raise ValidationError(f"patient {patient_id} is not on this meeting's agenda", field="patient")
        if item.reviewed:
            raise Conflict(f"{item.clinic_id} has already been reviewed at this meeting")
        held_on = meeting.held_on
        following = (
            default_next_checkin(held_on)
            if next_checkin in (None, "")
            else validation.date(next_checkin, "next_checkin")
        )
        decisions, actions = meeting_records(actor, meeting_id, patient_id)
        record = chart.get_record(actor, patient_id, today=held_on)
        checkin = checkins.record_checkin(
            actor,
            patient_id,
            held_on=held_on,
            attendees=[a.user_id for a in meeting.attendees],
            narrative=_plan_text(meeting, decisions, actions, note),
            snapshot=review_snapshot(record, meeting, decisions, actions),
            next_checkin=following,
        )
        for model in (Decision, ActionItem):
            model.update(checkin=checkin.id, version=model.version + 1).where(
                (model.meeting == meeting_id) & (model.patient == patient_id) & model.checkin.is_null()
            ).execute()
        row_ops.update_versioned(
            actor,
            MeetingItem,
            item.id,
            item.version,
            {"checkin": checkin.id, "reviewed_at": clock.now()},
            what="agenda item",
            action="meeting.reviewed",
            patient_id=patient_id,
        )
    return get_meeting(actor, meeting_id)


def _owner_names(owner_ids: set[int]) -> dict[int, str]:
    if not owner_ids:
        return {}
    return dict(_tuples(User.select(User.id, User.full_name).where(User.id.in_(list(owner_ids)))))


def _build_minutes(meeting: MeetingResult, *, final: bool, ended_at: dt.datetime | None) -> Minutes:
    decisions: dict[int, list[str]] = {}
    for patient, text in _tuples(
        Decision.select(Decision.patient, Decision.text)
        .where(Decision.meeting == meeting.id)
        .order_by(Decision.made_at, Decision.id)
    ):
        decisions.setdefault(patient, []).append(text)
    action_rows = _tuples(
        ActionItem.select(
            ActionItem.patient, ActionItem.text, ActionItem.owner, ActionItem.due_on, ActionItem.discipline
        )
        .where(ActionItem.meeting == meeting.id)
        .order_by(ActionItem.id)
    )
    names = _owner_names({owner for _p, _t, owner, _d, _disc in action_rows if owner})
    actions: dict[int, list[MinutesAction]] = {}
    for patient, text, owner, due_on, discipline in action_rows:
        actions.setdefault(patient, []).append(MinutesAction(text, owner, names.get(owner), due_on, discipline))
    next_dates: dict[int, dt.date | None] = dict(
        _tuples(
            Patient.select(Patient.id, Patient.next_checkin).where(Patient.id.in_([i.patient for i in meeting.items]))
        )
    )
    return Minutes(
        meeting_id=meeting.id,
        started_at=meeting.started_at,
        ended_at=ended_at,
        chaired_by=meeting.started_by_name,
        attendees=meeting.attendees,
        patients=tuple(
            MinutesPatient(
                patient_id=i.patient,
                clinic_id=i.clinic_id,
                given_name=i.given_name,
                family_name=i.family_name,
                agenda_group=i.agenda_group,
                reason=i.reason,
                reviewed=i.reviewed,
                checkin_id=i.checkin,
                next_checkin=next_dates.get(i.patient) if i.reviewed else None,
                decisions=tuple(decisions.get(i.patient, ())),
                actions=tuple(actions.get(i.patient, ())),
            )
            for i in meeting.items
        ),
        final=final,
    )


def end_meeting(actor: Actor, meeting_id: int, expected_version: int) -> Minutes:
    """Close the meeting and save its minutes as they stand now."""
    auth.require(actor, "write_checkin")
    with database.atomic():
        _open_meeting(meeting_id)
        meeting = get_meeting(actor, meeting_id)
        ended_at = clock.now()
        minutes = _build_minutes(meeting, final=True, ended_at=ended_at)
        row_ops.update_versioned(
            actor,
            Meeting,
            meeting_id,
            expected_version,
            {"ended_at": ended_at, "minutes": minutes.to_json()},
            what="meeting",
            action="meeting.end",
        )
    return minutes


def minutes(actor: Actor, meeting_id: int) -> Minutes:
    """The saved minutes of an ended meeting; for a running one, the minutes so far."""
    auth.require(actor, "read")
    row = row_ops.get_row(Meeting, meeting_id, "meeting")
    if row.minutes:
        return Minutes.from_json(row.minutes)
    return _build_minutes(_result(row), final=False, ended_at=row.ended_at)


def record_minutes_export(actor: Actor, meeting_id: int, *, fmt: str, privacy: bool) -> None:
    """Every produced copy of the minutes is an audit event (the file's name may hold
    patient names, so it is not recorded)."""
    auth.require(actor, "export")
    row_ops.get_row(Meeting, meeting_id, "meeting")
    with database.atomic():
        audit.record(
            actor,
            "meeting.minutes.export",
            entity="meeting",
            entity_id=meeting_id,
            details={"format": fmt, "privacy": privacy},
        )
