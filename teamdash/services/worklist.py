"""A staff member's own action items across all patients ("My action items"): overdue
ones first, then by due date. Marking one done goes through ``ACTION_ITEMS.update``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash import clock
from teamdash.services import auth
from teamdash.services.action_items import ActionItemResult
from teamdash.services.auth import Actor
from teamdash.services.results import build
from teamdash.storage.models import ActionItem, Patient
from teamdash.storage.queries import dicts
from teamdash.text import Named


@dataclass(frozen=True)
class WorkItem(Named):
    action: ActionItemResult
    patient_id: int
    clinic_id: str
    given_name: str
    family_name: str
    overdue: bool


def action_items_for(
    actor: Actor,
    owner_id: int | None = None,
    *,
    include_closed: bool = False,
    today: dt.date | None = None,
    limit: int = 500,
) -> list[WorkItem]:
    """The action items a staff member owns (default: the acting user's): open ones, or
    all with ``include_closed``; overdue first (longest overdue on top), then by due
    date, items without a date last."""
    auth.require(actor, "read")
    owner = owner_id if owner_id is not None else actor.user_id
    if owner is None:
        return []  # the system acts for nobody: it owns no action items
    today = today or clock.today()
    query = (
        ActionItem.select(ActionItem, Patient.clinic_id, Patient.given_name, Patient.family_name)
        .join(Patient)
        .where(ActionItem.owner == owner)
        .order_by(ActionItem.due_on.asc(nulls="LAST"), ActionItem.id)
        .limit(limit)
    )
    if not include_closed:
        query = query.where(ActionItem.status == "open")
    items = []
    for d in dicts(query):
        action = build(ActionItemResult, d)
        items.append(
            WorkItem(action, d["patient"], d["clinic_id"], d["given_name"], d["family_name"], action.overdue(today))
        )
    return sorted(items, key=lambda w: (not w.overdue, w.action.status != "open"))
