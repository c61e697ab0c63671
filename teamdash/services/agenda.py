"""The team meeting's agenda: which patients are due for review, and in what order.

A patient is due when active and either the next check-in date has been reached or
falls within a few days (``resources/meetings.toml``), or a flag that needs the team is
open (safety, reliable deterioration, flagged for review, missed sessions). The order is
the clinical one: safety first, then reliable deterioration, then overdue check-ins,
then the rest; within a group the longest-waiting first. ``agenda_key`` is that rule,
pure and testable on plain values; ``due_for_review`` applies it to the clinic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from teamdash import clock, resources
from teamdash.clinical import analytics
from teamdash.clinical.analytics import Flag
from teamdash.errors import ValidationError
from teamdash.services import auth, list_summary, patients
from teamdash.services.auth import Actor
from teamdash.services.patients import PatientRow
from teamdash.storage.models import Patient, PatientSummary
from teamdash.text import Named

FILE = "meetings.toml"
SAFETY, DETERIORATION, OVERDUE, DUE, ADDED = "safety", "deterioration", "overdue", "due", "added"


@dataclass(frozen=True)
class AgendaSettings:
    horizon_days: int
    flags: frozenset[str]
    groups: tuple[tuple[str, str], ...]  # (code, label) in agenda order
    checkin_interval_days: int


@cache
def settings() -> AgendaSettings:
    data = resources.load_toml(FILE)
    groups = tuple((g["code"], g["label"]) for g in data["group"])
    if [code for code, _ in groups] != [SAFETY, DETERIORATION, OVERDUE, DUE, ADDED]:
        raise ValidationError(f"{FILE}: the agenda groups must be safety, deterioration, overdue, due, added")
    return AgendaSettings(
        horizon_days=int(data["agenda"]["horizon_days"]),
        flags=frozenset(data["agenda"]["flags"]),
        groups=groups,
        checkin_interval_days=int(data["checkin"]["interval_days"]),
    )


def group_label(code: str) -> str:
    return dict(settings().groups).get(code, code)


def group_rank(code: str) -> int:
    return [c for c, _ in settings().groups].index(code)


@dataclass(frozen=True)
class AgendaEntry(Named):
    """One patient the agenda proposes (or the team added), with why."""

    patient_id: int
    clinic_id: str
    given_name: str
    family_name: str
    group: str  # safety | deterioration | overdue | due | added
    reasons: tuple[str, ...]  # what a clinician reads: the flags and the check-in date
    next_checkin: dt.date | None
    since: dt.date | None  # when the group's reason began (flag date, check-in due date)

    @property
    def group_label(self) -> str:
        return group_label(self.group)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


# --- the rule (pure) ------------------------------------------------------------------------


def agenda_group(flags: Iterable[Flag], next_checkin: dt.date | None, today: dt.date, horizon_days: int) -> str:
    """Which group a patient belongs to: the most urgent that applies."""
    kinds = {f.kind for f in flags}
    if "safety" in kinds:
        return SAFETY
    if "deterioration" in kinds:
        return DETERIORATION
    if next_checkin is not None and next_checkin < today:
        return OVERDUE
    if (
        next_checkin is not None and next_checkin <= today + dt.timedelta(days=horizon_days)
    ) or kinds & settings().flags:
        return DUE
    return ADDED


def _since(group: str, flags: Sequence[Flag], next_checkin: dt.date | None) -> dt.date | None:
    if group in (SAFETY, DETERIORATION):
        return min((f.since for f in flags if f.kind == group and f.since), default=None)
    return next_checkin


def agenda_key(entry: AgendaEntry) -> tuple:
    """The ordering rule: group (safety, deterioration, overdue, due, added), then within
    the group the longest-waiting first (the oldest flag, the earliest check-in date),
    then the check-in date, then the clinic ID so equal cases keep a stable order."""
    return (
        group_rank(entry.group),
        entry.since or dt.date.max,
        entry.next_checkin or dt.date.max,
        entry.clinic_id,
    )


def order_agenda(entries: Iterable[AgendaEntry]) -> list[AgendaEntry]:
    return sorted(entries, key=agenda_key)


def _checkin_reason(next_checkin: dt.date | None, today: dt.date) -> str | None:
    if next_checkin is None:
        return None
    days = (next_checkin - today).days
    if days < 0:
        return None  # the check-in overdue flag says it
    if days == 0:
        return "Check-in due today"
    return f"Check-in due in {days} day{'s' if days != 1 else ''} ({next_checkin.day} {next_checkin:%b %Y})"


def entry_from_row(row: PatientRow, today: dt.date, horizon_days: int | None = None) -> AgendaEntry:
    horizon = settings().horizon_days if horizon_days is None else horizon_days
    flags = analytics.sort_flags(row.flags)
    group = agenda_group(flags, row.next_checkin, today, horizon)
    reasons = [f.reason for f in flags]
    due = _checkin_reason(row.next_checkin, today)
    if due and (row.next_checkin or dt.date.max) <= today + dt.timedelta(days=horizon):
        reasons.append(due)
    if not reasons:
        reasons.append("Added to the agenda by the team")
    return AgendaEntry(
        patient_id=row.id,
        clinic_id=row.clinic_id,
        given_name=row.given_name,
        family_name=row.family_name,
        group=group,
        reasons=tuple(reasons),
        next_checkin=row.next_checkin,
        since=_since(group, flags, row.next_checkin),
    )


# --- the clinic --------------------------------------------------------------------------------


def due_for_review(actor: Actor, *, today: dt.date | None = None, horizon_days: int | None = None) -> list[AgendaEntry]:
    """The proposed agenda: every active patient due for review, in agenda order."""
    auth.require(actor, "read")
    today = today or clock.today()
    horizon = settings().horizon_days if horizon_days is None else horizon_days
    if horizon < 0:
        raise ValidationError("cannot be negative", field="horizon_days")
    wanted = settings().flags
    s = PatientSummary
    condition = Patient.next_checkin <= today + dt.timedelta(days=horizon)
    if "review" in wanted:
        condition |= Patient.flagged_for_review == True  # noqa: E712
    if "safety" in wanted:
        condition |= s.safety_open > 0
    if "deterioration" in wanted:
        condition |= s.deterioration > 0
    if "missed_sessions" in wanted:
        condition |= s.missed_streak >= list_summary.MISSED_STREAK_FLAG
    rows = patients.rows_where(actor, (Patient.status == "active") & condition, today=today)
    return order_agenda(entry_from_row(r, today, horizon) for r in rows)


def entries_for(actor: Actor, patient_ids: Sequence[int], *, today: dt.date | None = None) -> list[AgendaEntry]:
    """Agenda entries for chosen patients, in the order given (a patient the team adds
    by hand gets the group and reasons the rule gives it, 'added' when none applies)."""
    auth.require(actor, "read")
    today = today or clock.today()
    rows = {r.id: r for r in patients.rows_where(actor, Patient.id.in_(list(patient_ids)), today=today)}
    missing = [pid for pid in patient_ids if pid not in rows]
    if missing:
        raise ValidationError(f"no patient with id {missing[0]}", field="agenda")
    return [entry_from_row(rows[pid], today) for pid in patient_ids]
