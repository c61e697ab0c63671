"""The hash-chained audit trail against plain inserts of the same rows, and walking the
chain: ``python -m benchmarks audit``.

- one event at a time (``audit.record``: chain lock, read of the head, digest, insert)
  against sqlite3 inserting the same rows with ``executemany``;
- many at once (``audit.record_many``, the bulk import's path) against the same;
- ``audit.verify_chain`` over all of them, events per second.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

from benchmarks.common import absolute, compare, measure
from teamdash.services import audit
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db

EVENTS = 5_000


def _plain(path: Path) -> None:
    """sqlite3 inserting the same rows (no digest, no chain) in one transaction."""
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO audit_event (at, actor_name, action, is_change, patient_id, details) VALUES (?, ?, ?, 1, ?, ?)",
            [("2026-11-27 14:30:00", "x", "bench.plain", i % 100, json.dumps({"i": i})) for i in range(EVENTS)],
        )


def run() -> None:
    folder = Path(tempfile.mkdtemp(prefix="teamdash-bench-audit-"))
    path = folder / "audit.sqlite3"
    open_clinic(f"sqlite:///{path}", create=True)

    def one_by_one() -> None:
        with db.database.atomic():
            for i in range(EVENTS):
                audit.record(SYSTEM, "bench.event", patient_id=i % 100, details={"i": i})

    def at_once() -> None:
        with db.database.atomic():
            audit.record_many(
                SYSTEM, "bench.bulk", ({"patient_id": i % 100, "details": {"i": i}} for i in range(EVENTS))
            )

    plain = measure(lambda: _plain(path), repeat=3)
    compare(f"audit.record x{EVENTS:,} (one transaction)", measure(one_by_one, repeat=3), plain, plain_label="sqlite3")
    compare(f"audit.record_many x{EVENTS:,}", measure(at_once, repeat=3), plain, plain_label="sqlite3")
    db.database.execute_sql("DELETE FROM audit_event WHERE action = 'bench.plain'")
    total = db.database.execute_sql("SELECT count(*) FROM audit_event").fetchone()[0]
    timing = measure(lambda: audit.verify_chain(SYSTEM), repeat=3)
    absolute(f"audit.verify_chain over {total:,} events", timing, note=f"{total / timing.best:,.0f} events/s")
    db.close()
