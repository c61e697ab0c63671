"""The audit trail: who did what to which patient, where and when; before and after.

Every write records an event (``row_ops`` does it for the services); so do every view
of a patient's record, export, summary, import, backup, restore, sign-in and failed
sign-in. Events are hash-chained (``teamdash.storage.audit_chain``): ``verify`` walks
the chain and names the first event that was edited, deleted or inserted.

Callers pass plain dicts (``row_dict``); names and scores stay in the database, never
in the log file.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import socket
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import peewee as pw

from teamdash import clock
from teamdash.errors import ReadOnlyDatabase
from teamdash.services import auth
from teamdash.services.auth import Actor
from teamdash.storage import audit_chain, bulk, db
from teamdash.storage.db import database
from teamdash.storage.models import AuditEvent, EncodedJSON, Patient, User, encode_json

log = logging.getLogger(__name__)

# Events that change no data: other workstations need not refresh for them.
ACCESS_ACTIONS = frozenset(
    {
        "record.view",
        "summary",
        "export",
        "backup",
        "signin",
        "signin.failed",
        "signin.locked",
        "signout",
        "lock",
        "unlock",
        "audit.view",
        "audit.verify",
    }
)
# The kinds of action the audit screen and ``teamdash audit --action`` offer.
ACTION_GROUPS: dict[str, str] = {
    "record.view": "viewed a record",
    "create": "created",
    "update": "changed",
    "delete": "deleted",
    "restore": "restored (undo)",
    "export": "export",
    "summary": "check-in summary",
    "import": "import",
    "backup": "backup",
    "signin": "sign-in",
    "signin.failed": "failed sign-in",
    "password": "password change or reset",
    "user": "staff accounts",
}
# A chain lock for PostgreSQL, where several workstations write at once.
_PG_LOCK_KEY = zlib.crc32(b"teamdash.audit_chain")


@cache
def workstation() -> str:
    """This computer's name, as the audit trail records it."""
    return (socket.gethostname() or "unknown")[:255]


@cache
def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a service account): say so
        return "unknown"


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


# Never copied into the trail: a password hash belongs only in its own column.
SECRET_FIELDS = frozenset({"password_hash"})


def row_dict(row: pw.Model) -> dict[str, Any]:
    """A model row as JSON-ready data (foreign keys as ids), without secrets."""
    return {name: _plain(row.__data__.get(name)) for name in row._meta.fields if name not in SECRET_FIELDS}


def _encoded(value: Any) -> EncodedJSON | None:
    return None if value is None else encode_json(_plain(value))


def _last_digest() -> str:
    row = database.execute_sql('SELECT "digest" FROM "audit_event" ORDER BY "id" DESC LIMIT 1').fetchone()
    return row[0] if row and row[0] else audit_chain.GENESIS


class _ChainLock:
    """Hold the database's write lock while reading the chain's head and appending to
    it, so two writers never chain to the same event."""

    def __enter__(self) -> None:
        self._transaction = database.atomic("IMMEDIATE") if _is_sqlite() else database.atomic()
        self._transaction.__enter__()
        if not _is_sqlite():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))

    def __exit__(self, *exc) -> None:
        self._transaction.__exit__(*exc)


def _is_sqlite() -> bool:
    return isinstance(database.obj, pw.SqliteDatabase)


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
    """Append one event to the chain; returns its id. Writes run inside the caller's
    transaction, so the event commits or rolls back with the change it records."""
    if db.info().read_only:
        # Reading a read-only database (an export) cannot leave an event in it; every
        # write fails before it gets here. The log says which event is missing.
        log.warning("audit event %s not recorded: the database is read-only", action)
        return 0
    if actor.user_id is None:  # the system account: say which login ran it
        details = {**(details or {}), "os_user": os_user()}
    values: dict[str, Any] = {
        "at": clock.now().replace(microsecond=0),
        "actor_id": actor.user_id,
        "actor_name": actor.display_name,
        "workstation": workstation(),
        "action": action,
        "is_change": action not in ACCESS_ACTIONS,
        "patient_id": patient_id,
        "entity": entity,
        "entity_id": entity_id,
        "before": _encoded(before),
        "after": _encoded(after),
        "details": _encoded(details),
    }
    with _ChainLock():
        values["prev_digest"] = _last_digest()
        values["digest"] = audit_chain.digest(values)
        return AuditEvent.insert(values).execute()


def record_many(actor: Actor, action: str, events: Iterable[dict[str, Any]]) -> int:
    """Append many events of one action at once (a bulk import's one event per created
    patient): one chain lock, one read of the head, one prepared insert. Each dict holds
    ``record``'s keyword arguments (patient_id, entity, entity_id, before, after,
    details). Returns how many were recorded."""
    base = {
        "at": clock.now().replace(microsecond=0),
        "actor_id": actor.user_id,
        "actor_name": actor.display_name,
        "workstation": workstation(),
        "action": action,
        "is_change": action not in ACCESS_ACTIONS,
    }
    system = {"os_user": os_user()} if actor.user_id is None else None
    columns = ("patient_id", "entity", "entity_id", "before", "after", "details")
    rows = []
    with _ChainLock():
        previous = _last_digest()
        for event in events:
            details = {**(event.get("details") or {}), **system} if system else event.get("details")
            values = {**base, **{c: event.get(c) for c in columns[:3]}}
            values.update(
                before=_encoded(event.get("before")), after=_encoded(event.get("after")), details=_encoded(details)
            )
            values["prev_digest"] = previous
            values["digest"] = previous = audit_chain.digest(values)
            rows.append(tuple(values[f.name] for f in _BULK_FIELDS))
        bulk.insert(AuditEvent, _BULK_FIELDS, rows)
    return len(rows)


# The columns ``record_many`` writes (every one but the id).
_BULK_FIELDS = [f for f in AuditEvent._meta.sorted_fields if f is not AuditEvent.id]


def record_if_writable(actor: Actor, action: str, **kwargs: Any) -> int | None:
    """Record an event that accompanies a read (a view, a sign-in). On a read-only
    database the event cannot be written: the log says it was skipped, the read goes on."""
    if db.info().read_only:
        log.warning(
            "audit event %s (patient id %s) not recorded: the database is read-only", action, kwargs.get("patient_id")
        )
        return None
    try:
        return record(actor, action, **kwargs)
    except ReadOnlyDatabase:
        log.warning(
            "audit event %s (patient id %s) not recorded: the database is read-only", action, kwargs.get("patient_id")
        )
        return None


# --- views of a record ------------------------------------------------------------------

# A refresh of the record already on screen is the same view: it is recorded again
# after another patient was opened, by another user, or after this many minutes.
VIEW_REPEAT = dt.timedelta(minutes=15)
_last_view: dict[tuple[int | None, str], tuple[int, dt.datetime]] = {}


def record_view(actor: Actor, patient_id: int, *, what: str = "record") -> int | None:
    """Record that ``actor`` saw the patient's record (skipped, and logged, on a
    read-only database)."""
    key = (actor.user_id, actor.username)
    now = clock.now()
    last = _last_view.get(key)
    if last is not None and last[0] == patient_id and now - last[1] < VIEW_REPEAT:
        return None
    event_id = record_if_writable(actor, f"{what}.view", patient_id=patient_id, entity="patient", entity_id=patient_id)
    _last_view[key] = (patient_id, now)
    return event_id


def forget_views(actor: Actor | None = None) -> None:
    """A sign-out ends the viewing session: the next view is recorded again."""
    if actor is None:
        _last_view.clear()
    else:
        _last_view.pop((actor.user_id, actor.username), None)


# --- reading the trail ------------------------------------------------------------------


SPECIAL_WORDS = {
    "audit.view": "read the record's audit trail",
    "signout": "signed out",
    "export": "exported a workbook",
    "import": "imported a file",
    "backup": "took a backup",
    "backup.restore": "restored a backup",
    "summary": "made a check-in summary",
    "password.change": "changed their password",
    "password.reset": "reset a password",
    "patient.import": "imported the patient",
}


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
    actor_id: int | None = None
    workstation: str | None = None
    clinic_id: str | None = None

    @property
    def what(self) -> str:
        """'created measurement 12', 'viewed the record', 'signed in'."""
        if self.action in SPECIAL_WORDS:
            return SPECIAL_WORDS[self.action]
        verb = self.action.rsplit(".", 1)[-1]
        words = {
            "view": "viewed the record",
            "create": "created",
            "update": "changed",
            "delete": "deleted",
            "restore": "restored",
            "failed": "failed to sign in",
            "signin": "signed in",
            "locked": "sign-in refused (locked)",
        }
        text = words.get(verb, self.action.replace("_", " ").replace(".", " "))
        if verb in ("create", "update", "delete", "restore") and self.entity:
            text += f" {self.entity.replace('_', ' ')} {self.entity_id}"
        return text


@dataclass(frozen=True)
class AuditQuery:
    patient_id: int | None = None
    actor_id: int | None = None
    actor_name: str | None = None  # the system account and failed sign-ins have no id
    action: str | None = None  # a group of ACTION_GROUPS or an action prefix
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    limit: int = 1000


def _action_condition(action: str) -> pw.Expression:
    if action in ("create", "update", "delete", "restore"):
        return AuditEvent.action.endswith(f".{action}")
    if action in ("record.view", "signin"):
        return AuditEvent.action == action
    return AuditEvent.action.startswith(action)


def _entries(query: Iterable[AuditEvent]) -> list[AuditEntry]:
    rows: list[AuditEvent] = list(query)
    wanted = {e.patient_id for e in rows if e.patient_id is not None}
    pairs = Patient.select(Patient.id, Patient.clinic_id).where(Patient.id.in_(wanted)).tuples()
    clinic_ids: dict[int | None, str] = dict(pairs.execute())
    return [
        AuditEntry(
            e.id,
            e.at,
            e.actor_name,
            e.action,
            e.patient_id,
            e.entity,
            e.entity_id,
            e.before,
            e.after,
            e.details,
            e.actor_id,
            e.workstation,
            clinic_ids.get(e.patient_id) or (_deleted_clinic_id(e) if e.patient_id is not None else None),
        )
        for e in rows
    ]


def _deleted_clinic_id(e: AuditEvent) -> str | None:
    for data in (e.before, e.after, e.details):
        if isinstance(data, dict) and isinstance(data.get("clinic_id"), str):
            return data["clinic_id"]
    return None


def events(*, patient_id: int | None = None, action_prefix: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """Newest first (the services' own checks and tests; users go through ``search``)."""
    query = AuditEvent.select().order_by(AuditEvent.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix))
    return _entries(query)


def search(actor: Actor, q: AuditQuery) -> list[AuditEntry]:
    """The audit screen and ``teamdash audit``: newest first, filtered. Reading the
    trail is itself recorded (who looked at whose trail)."""
    auth.require(actor, "view_audit")
    query = AuditEvent.select().order_by(AuditEvent.id.desc()).limit(max(1, min(q.limit, 100_000)))
    if q.patient_id is not None:
        query = query.where(AuditEvent.patient_id == q.patient_id)
    if q.actor_id is not None:
        query = query.where(AuditEvent.actor_id == q.actor_id)
    elif q.actor_name:
        query = query.where(AuditEvent.actor_name == q.actor_name)
    if q.action:
        query = query.where(_action_condition(q.action))
    if q.date_from is not None:
        query = query.where(AuditEvent.at >= dt.datetime.combine(q.date_from, dt.time()))
    if q.date_to is not None:
        query = query.where(AuditEvent.at < dt.datetime.combine(q.date_to + dt.timedelta(days=1), dt.time()))
    found = _entries(query)
    if q.patient_id is not None:
        record_if_writable(actor, "audit.view", patient_id=q.patient_id, details={"events": len(found)})
    return found


def actors() -> list[tuple[int | None, str]]:
    """Everyone the trail names (staff, the system account), for the user filter."""
    staff = [(u.id, u.full_name) for u in User.select(User.id, User.full_name).order_by(User.full_name)]
    others = (
        AuditEvent.select(AuditEvent.actor_name)
        .where(AuditEvent.actor_id.is_null())
        .distinct()
        .order_by(AuditEvent.actor_name)
    )
    return staff + [(None, e.actor_name) for e in others if e.actor_name]


def verify_chain(actor: Actor) -> audit_chain.ChainCheck:
    """Walk the whole chain (a streamed read: a million events need no more memory
    than a few)."""
    auth.require(actor, "view_audit")
    cursor = database.execute_sql(audit_chain.select_sql())
    check = audit_chain.verify(audit_chain.rows_as_dicts(iter(cursor.fetchone, None)))
    if check.intact:
        log.info("audit chain verified: %d events intact", check.events)
    else:
        log.warning("audit chain broken at event %s", check.broken_at)
    return check


def compare_with_backup(backup_digests: list[tuple[int, str | None]]) -> str | None:
    """What the open trail lost or changed compared with a backup taken earlier (a
    chain rewritten from some point on is consistent in itself; the backup shows it).
    None when every event of the backup is here, unchanged."""
    current = dict(database.execute_sql('SELECT "id", "digest" FROM "audit_event"').fetchall())
    for event_id, digest in backup_digests:
        if event_id not in current:
            return f"event {event_id} of the backup is missing"
        if current[event_id] != digest:
            return f"event {event_id} differs from the backup: it was changed, or the chain rewritten from there on"
    return None


def latest_event_id() -> int:
    """A change counter: another workstation's write raises it, so views know to
    refresh. Views, sign-ins and exports do not count: they change nothing."""
    return (
        AuditEvent.select(pw.fn.COALESCE(pw.fn.MAX(AuditEvent.id), 0)).where(AuditEvent.is_change == True).scalar()  # noqa: E712
    )
