"""Opening a clinic's database for use: connect, bring the schema up to date, keep the
reference data (disciplines) in step with ``resources/``, rebuild derived tables a
migration asked for. Every entry point (CLI, GUI, tests) opens through here.

A current database is only read: nothing is written unless something changed.
"""

from __future__ import annotations

import logging

from teamdash.clinical import disciplines
from teamdash.errors import DatabaseUnavailable
from teamdash.services import list_summary
from teamdash.storage import db, migrations
from teamdash.storage.db import DatabaseInfo
from teamdash.storage.models import Discipline

log = logging.getLogger(__name__)


def open_clinic(
    url: str | None = None, *, create: bool = False, passphrase: str | None = None, encrypt: bool = False
) -> DatabaseInfo:
    """Open the database at ``url`` ready for use. ``create`` allows a new SQLite file
    (demo, import, the dashboard's first start; encrypted with ``passphrase`` when
    ``encrypt``); without it a missing file is an error. An encrypted file opens with
    its ``passphrase`` (default ``$TEAMDASH_DB_PASSPHRASE``)."""
    info = db.connect(url, create=create, passphrase=passphrase, encrypt=encrypt)
    try:
        state = migrations.migrate()
        _sync_disciplines()
        if state.rebuild_summaries:
            list_summary.refresh_all()
    except BaseException:
        db.close()
        raise
    return info


def close_clinic() -> None:
    db.close()


def _sync_disciplines() -> None:
    """Disciplines are data in resources/; their table follows the file. Rows are
    written only when they differ, so opening a current database writes nothing."""
    wanted = {d.code: (d.name, i) for i, d in enumerate(disciplines.all_disciplines())}
    stored = {code: (name, order) for code, name, order in Discipline.select().tuples()}
    changed = {code: value for code, value in wanted.items() if stored.get(code) != value}
    if not changed:
        return
    if db.info().read_only:
        log.warning("disciplines differ from resources/ but the database is read-only; left as they are")
        return
    with db.database.atomic():
        for code, (name, order) in changed.items():
            Discipline.insert(code=code, name=name, sort_order=order).on_conflict(
                conflict_target=[Discipline.code],
                update={Discipline.name: name, Discipline.sort_order: order},
            ).execute()


def describe(url: str | None = None) -> DatabaseInfo:
    """Where ``url`` (default: the embedded file) points, without opening it."""
    return db.parse_url(url or db.default_url())


def needs_creating(url: str | None = None) -> bool:
    """A SQLite file that does not exist yet (the dashboard's first start)."""
    target = describe(url)
    return target.backend == "sqlite" and target.path is not None and not target.path.exists()


def encryption_available() -> bool:
    """Whether SQLCipher is installed (the ``encryption`` extra)."""
    try:
        db.sqlcipher_module()
    except DatabaseUnavailable:
        return False
    return True


def opened() -> DatabaseInfo | None:
    """The open database, or None."""
    try:
        return db.info()
    except DatabaseUnavailable:
        return None
