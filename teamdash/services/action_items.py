"""Team decisions and action items, typed in at check-ins or between them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Any

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import ActionItem, CheckIn, Decision, Meeting, User
from teamdash.validation import FieldSpec, FieldSpecs


@dataclass(frozen=True)
class ActionItemResult:
    id: int
    patient: int
    checkin: int | None
    text: str
    owner: int | None
    due_on: dt.date | None
    status: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    version: int
    meeting: int | None = None  # the team meeting it was agreed at
    discipline: str | None = None  # the discipline that carries it out

    def overdue(self, today: dt.date) -> bool:
        return self.status == "open" and self.due_on is not None and self.due_on < today


def _check_user(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    if User.get_or_none(User.id == value) is None:
        raise ValidationError(f"no staff member with id {value}", field=field)
    return int(value)


def _check_checkin(value) -> int | None:
    if value in (None, ""):
        return None
    if CheckIn.get_or_none(CheckIn.id == value) is None:
        raise ValidationError(f"no check-in with id {value}", field="checkin")
    return int(value)


ACTION_FIELDS = FieldSpecs(
    [
        FieldSpec("text", "text", max_length=1000),
        FieldSpec("status", "choice", choices=partial(disciplines.vocabulary, "action_status"), default="open"),
        # the discipline that carries it out (none: the team's, or the case manager's)
        FieldSpec("discipline", "choice", required=False, choices=disciplines.codes),
    ]
)


def _check_meeting(value) -> int | None:
    if value in (None, ""):
        return None
    if Meeting.get_or_none(Meeting.id == value) is None:
        raise ValidationError(f"no team meeting with id {value}", field="meeting")
    return int(value)


# A clock a few minutes ahead on another workstation must not block entry.
CLOCK_SKEW = dt.timedelta(minutes=10)


def _moment(value, field: str) -> dt.datetime:
    """A recorded moment (an import keeps when an item was created or completed)."""
    return validation.datetime(value, field, not_after=clock.now() + CLOCK_SKEW)


def _clean_action(values: dict, current: dict | None) -> dict:
    out: dict[str, Any] = {}
    if values.get("created_at") is not None:
        out["created_at"] = _moment(values["created_at"], "created_at")
    if current is None or "text" in values:
        out["text"] = ACTION_FIELDS["text"].check(values.get("text"))
    if "owner" in values:
        out["owner"] = _check_user(values["owner"], "owner")
    if "due_on" in values:
        out["due_on"] = validation.date(values["due_on"], "due_on", required=False)
    if "checkin" in values:
        out["checkin"] = _check_checkin(values["checkin"])
    if "meeting" in values:
        out["meeting"] = _check_meeting(values["meeting"])
    if "discipline" in values:
        out["discipline"] = ACTION_FIELDS["discipline"].check(values["discipline"] or None)
    if current is None or "status" in values:
        out["status"] = ACTION_FIELDS["status"].check_or_default(values)
        was_open = current is None or current.get("status") == "open"
        if out["status"] != "open" and values.get("completed_at") is not None:
            out["completed_at"] = _moment(values["completed_at"], "completed_at")
        elif out["status"] != "open" and was_open:
            out["completed_at"] = clock.now()
        elif out["status"] == "open":
            out["completed_at"] = None
    created = out.get("created_at") or (current or {}).get("created_at")
    if out.get("completed_at") and created and out["completed_at"] < created:
        raise ValidationError(
            f"{out['completed_at']:%Y-%m-%d %H:%M} is before the item was created ({created:%Y-%m-%d %H:%M})",
            field="completed_at",
        )
    return out


ACTION_ITEMS: RecordKind[ActionItemResult] = RecordKind(
    ActionItem,
    ActionItemResult,
    _clean_action,
    what="action item",
    action="action",
    order_by=(ActionItem.status, ActionItem.due_on, ActionItem.id),
    fields=ACTION_FIELDS,
    permission="write_actions",
)


@dataclass(frozen=True)
class DecisionResult:
    id: int
    patient: int
    checkin: int | None
    text: str
    made_by: int | None
    made_at: dt.datetime
    version: int
    meeting: int | None = None  # the team meeting it was made at


DECISION_FIELDS = FieldSpecs([FieldSpec("text", "text", max_length=4000)])


def _clean_decision(values: dict, current: dict | None) -> dict:
    out: dict[str, Any] = {}
    if values.get("made_at") is not None:
        out["made_at"] = _moment(values["made_at"], "made_at")
    if current is None or "text" in values:
        out["text"] = DECISION_FIELDS["text"].check(values.get("text"))
    if "checkin" in values:
        out["checkin"] = _check_checkin(values["checkin"])
    if "made_by" in values:
        out["made_by"] = _check_user(values["made_by"], "made_by")
    if "meeting" in values:
        out["meeting"] = _check_meeting(values["meeting"])
    return out


DECISIONS: RecordKind[DecisionResult] = RecordKind(
    Decision,
    DecisionResult,
    _clean_decision,
    what="decision",
    action="decision",
    order_by=(Decision.made_at, Decision.id),
    fields=DECISION_FIELDS,
    permission="write_actions",
)
