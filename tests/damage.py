"""Damaging a database file the way a failing disk or a crash would, for the fault tests."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def settled_copy(source: Path, target: Path) -> Path:
    """A copy of a clinic whose WAL is folded into the main file (so the file alone holds it)."""
    shutil.copy(source, target)
    with sqlite3.connect(target) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for side in ("-wal", "-shm"):
        Path(f"{target}{side}").unlink(missing_ok=True)
    return target


def corrupt(path: Path, table: str) -> None:
    """Overwrite the first data page of ``table`` with junk, as a failing disk would."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with path.open("r+b") as fh:
        fh.seek((root - 1) * page_size + 8)
        fh.write(b"\xab" * (page_size - 16))
