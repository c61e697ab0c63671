"""The audit trail's hash chain: each event holds the digest of the event before it and
a digest of its own canonical content, so an edited, deleted or inserted event breaks
the chain where it happened (``verify`` names that place).

The digest is SHA-256 over a canonical JSON list of the stored values (JSON columns as
the exact text stored, times to the second, booleans as booleans), so the same row
gives the same digest on SQLite and PostgreSQL and after a backup and restore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# The stored columns that a digest covers, in this order (``id`` is not among them:
# the chain, not the numbering, fixes an event's place).
COLUMNS: tuple[str, ...] = (
    "at",
    "actor_id",
    "actor_name",
    "workstation",
    "action",
    "is_change",
    "patient_id",
    "entity",
    "entity_id",
    "before",
    "after",
    "details",
    "prev_digest",
)
JSON_COLUMNS = frozenset({"before", "after", "details"})


def _canonical_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "at":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime):
            return value.replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
        raise TypeError(f"audit time {value!r} is not a date and time")
    if name == "is_change":
        return bool(value)
    if name in JSON_COLUMNS:
        if not isinstance(value, str):  # a driver that decoded JSON: encode it as stored
            value = json.dumps(value, separators=(",", ":"), sort_keys=True)
        return value
    return value


def digest(values: dict[str, Any]) -> str:
    """The digest of one event from its stored values (``COLUMNS``)."""
    canonical = json.dumps(
        [_canonical_value(name, values.get(name)) for name in COLUMNS], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain. ``broken_at`` is the first event whose link or
    content is wrong (None when the chain is intact); ``problem`` says what is wrong."""

    events: int
    head_id: int | None
    head_digest: str | None
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def select_sql(table: str = "audit_event") -> str:
    columns = ", ".join(f'"{c}"' for c in ("id", *COLUMNS, "digest"))
    return f'SELECT {columns} FROM "{table}" ORDER BY "id"'


def rows_as_dicts(rows: Iterable[Sequence[Any]]) -> Iterator[dict[str, Any]]:
    names = ("id", *COLUMNS, "digest")
    for row in rows:
        yield dict(zip(names, row))


def verify(rows: Iterable[dict[str, Any]]) -> ChainCheck:
    """Walk events in id order. Edited: its content no longer matches its digest.
    Deleted: the next event points at a digest that is not the previous event's.
    Inserted: the event after it points past it, at the event before it."""
    count = 0
    previous: dict[str, Any] | None = None
    before_previous: dict[str, Any] | None = None
    for row in rows:
        count += 1
        event_id = row["id"]
        if row.get("digest") != digest(row):
            return ChainCheck(
                count,
                None,
                None,
                event_id,
                f"event {event_id} was changed after it was recorded (its content no longer matches its digest)",
            )
        expected = previous["digest"] if previous is not None else GENESIS
        if row.get("prev_digest") != expected:
            return ChainCheck(count, None, None, event_id, _link_problem(row, previous, before_previous))
        before_previous, previous = previous, row
    if previous is None:
        return ChainCheck(0, None, None)
    return ChainCheck(count, previous["id"], previous["digest"])


def _link_problem(row: dict[str, Any], previous: dict[str, Any] | None, before_previous: dict[str, Any] | None) -> str:
    event_id = row["id"]
    if previous is None:
        return f"event {event_id} is the first event left but does not start the chain: earlier events were deleted"
    if before_previous is not None and row.get("prev_digest") == before_previous["digest"]:
        return (
            f"event {previous['id']} was inserted: event {event_id} follows event {before_previous['id']}, "
            f"not event {previous['id']}"
        )
    if before_previous is None and row.get("prev_digest") == GENESIS:
        return f"event {previous['id']} was inserted before the first event ({event_id})"
    gap = f" (ids {previous['id'] + 1}–{event_id - 1} are missing)" if event_id - previous["id"] > 1 else ""
    return (
        f"the link from event {previous['id']} to event {event_id} is broken: "
        f"the event(s) between them were deleted{gap}, or an event was inserted and the rest renumbered"
    )


def rechain(rows: Iterable[dict[str, Any]]) -> Iterator[tuple[int, str, str]]:
    """(id, prev_digest, digest) for events chained in id order from the start (the
    migration that introduces the chain computes it for events recorded before)."""
    previous = GENESIS
    for row in rows:
        values = {**row, "prev_digest": previous}
        current = digest(values)
        yield row["id"], previous, current
        previous = current
