"""The audit trail: every write records who did what to which patient, before and after.

Callers pass plain dicts (``row_dict``); names and scores stay in the database, never in
the log file.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from teamdash import clock
from teamdash.services.auth import Actor
from teamdash.storage.models import AuditEvent, EncodedJSON


def _plain(value: Any) -> Any:
    if isinstance(value, EncodedJSON):  # bulk paths hand JSON columns over encoded
        return json.loads(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def row_dict(row: pw.Model) -> dict[str, Any]:
    """A model row as JSON-ready data (foreign keys as ids)."""
    return {name: _plain(row.__data__.get(name)) for name in row._meta.fields}


def record(
    actor: Actor,
    action: str,
    *,
    patient_id: int | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
) -> int:
    event = AuditEvent.create(
        actor_id=actor.user_id,
        actor_name=actor.display_name,
        action=action,
        patient_id=patient_id,
        entity=entity,
        entity_id=entity_id,
        before=_plain(before),
        after=_plain(after),
        details=_plain(details),
    )
    return event.id


def record_many(
    actor: Actor, action: str, events: Iterable[tuple[int | None, str | None, int | None, dict | None]]
) -> int:
    """Many events of one action at once (a bulk import: one per patient or row), as
    (patient_id, entity, entity_id, details). Returns how many were recorded."""
    at = clock.now()
    rows = [
        (at, actor.user_id, actor.display_name, action, patient_id, entity, entity_id, _plain(details))
        for patient_id, entity, entity_id, details in events
    ]
    e = AuditEvent
    fields = [e.at, e.actor_id, e.actor_name, e.action, e.patient_id, e.entity, e.entity_id, e.details]
    for start in range(0, len(rows), 500):
        e.insert_many(rows[start : start + 500], fields=fields).execute()
    return len(rows)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor_name: str
    action: str
    patient_id: int | None
    entity: str | None
    entity_id: int | None
    before: dict | None
    after: dict | None
    details: dict | None


def events(*, patient_id: int | None = None, action_prefix: str | None = None, limit: int = 200) -> list[AuditEntry]:
    query = AuditEvent.select().order_by(AuditEvent.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix))
    return [
        AuditEntry(
            e.id, e.at, e.actor_name, e.action, e.patient_id, e.entity, e.entity_id, e.before, e.after, e.details
        )
        for e in query
    ]


def latest_event_id() -> int:
    """A change counter: another workstation's write raises it, so views know to refresh."""
    return AuditEvent.select(pw.fn.COALESCE(pw.fn.MAX(AuditEvent.id), 0)).scalar()
