"""Other workstations' changes, and the state of the connection.

Every write leaves an audit event, so "what changed since I last looked" is the audit
events after the last one seen: which patients, which records, who and when. A
PostgreSQL workstation is told the moment another one commits (``open_feed``: LISTEN /
NOTIFY, see ``teamdash.storage.postgres``); an SQLite one asks every few seconds
(``changes_since``, one indexed query).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.storage import db, postgres
from teamdash.storage.models import AuditEvent
from teamdash.storage.postgres import ChangeFeed, ChangeNote
from teamdash.storage.queries import tuples

__all__ = ["ChangeFeed", "ChangeNote", "ChangedRecord", "RemoteChanges", "changes_since", "open_feed", "ping"]

# More events than this since the last look: refresh everything instead of listing them.
MAX_LISTED = 500


@dataclass(frozen=True)
class ChangedRecord:
    entity: str | None  # table name: "goal", "measurement", …
    entity_id: int | None
    patient_id: int | None
    action: str
    actor_name: str
    at: dt.datetime


@dataclass(frozen=True)
class RemoteChanges:
    latest_event_id: int
    # None: anything may have changed (too many events, or one not tied to a patient).
    patient_ids: frozenset[int] | None
    records: tuple[ChangedRecord, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.records) or self.patient_ids is None

    def record(self, entity: str, entity_id: int) -> ChangedRecord | None:
        """The latest change of one record, if it is among these."""
        found = [r for r in self.records if r.entity == entity and r.entity_id == entity_id]
        return found[-1] if found else None


def latest_event_id(actor: Actor) -> int:
    auth.require(actor, "read")
    return audit.latest_event_id()


def changes_since(actor: Actor, event_id: int) -> RemoteChanges:
    """The changes committed after audit event ``event_id`` (by anyone)."""
    auth.require(actor, "read")
    event = AuditEvent._meta.primary_key
    query = (
        AuditEvent.select(
            event,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.patient_id,
            AuditEvent.action,
            AuditEvent.actor_name,
            AuditEvent.at,
        )
        .where((event > event_id) & AuditEvent.is_change)  # views, sign-ins, exports change nothing
        .order_by(event)
        .limit(MAX_LISTED + 1)
    )
    rows = list(tuples(query))
    if not rows:
        return RemoteChanges(event_id, frozenset())
    if len(rows) > MAX_LISTED:
        return RemoteChanges(audit.latest_event_id(), None)
    records = tuple(ChangedRecord(*row[1:]) for row in rows)
    everything = any(r.patient_id is None and not r.action.startswith("export") for r in records)
    patient_ids = None if everything else frozenset(r.patient_id for r in records if r.patient_id is not None)
    return RemoteChanges(rows[-1][0], patient_ids, records)


def open_feed() -> ChangeFeed | None:
    """Notifications of other workstations' commits (PostgreSQL); None on SQLite, which
    is polled with ``changes_since``. Raises ``ConnectionLost`` when the server is away."""
    return postgres.open_feed()


def ping() -> None:
    """A round trip to the database, reconnecting a broken connection; raises
    ``ConnectionLost`` while the server does not answer."""
    db.ping()
