"""Schema migrations: numbered steps, each in its own transaction, after an online
backup of the SQLite file (after Vorta).

A new database is created at the latest schema in one go. An older one is backed up
next to itself, then brought forward one version at a time. A database written by a
newer TeamDash is refused, untouched, and so is an old one that is read-only. A current
one is left exactly as it is: opening writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator
from playhouse.migrate import migrate as apply_operations

from teamdash import clock
from teamdash.errors import DatabaseUnavailable, ReadOnlyDatabase, SchemaTooNew
from teamdash.storage import audit_chain, db, postgres, search_index
from teamdash.storage.models import (
    ALL_MODELS,
    ActionItem,
    AuditEvent,
    ClinicSetting,
    Decision,
    DeidentificationKey,
    Episode,
    JSONText,
    Meeting,
    MeetingItem,
    Patient,
    PatientSummary,
    SchemaVersion,
    StatusChange,
    User,
)
from teamdash.text import patient_search_key

log = logging.getLogger(__name__)

# Steps run on the models' database: the proxy (``db.database``) or a handle.
Database = pw.Database | pw.DatabaseProxy


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    run: Callable[[Database, SchemaMigrator], None]
    # Derived tables cannot be rebuilt inside a step (the code that rebuilds them
    # follows the latest models); steps ask for a rebuild after the last one instead.
    rebuild_summaries: bool = False
    # The scoring rules changed: stored scores are recomputed from their responses by
    # the services after the last step (storage does not score).
    rescore_measurements: bool = False


def _v2_patient_summary(database: Database, migrator: SchemaMigrator) -> None:
    database.create_tables([PatientSummary])


def _v3_deidentification_key(database: Database, migrator: SchemaMigrator) -> None:
    database.create_tables([DeidentificationKey])


def _v4_patient_search_key(database: Database, migrator: SchemaMigrator) -> None:
    """Search that folds case and accents in every language (LIKE folds ASCII only)."""
    apply_operations(
        migrator.add_column("patient", "search_key", pw.CharField(null=True)),
        migrator.add_index("patient", ("search_key",), False),
    )
    rows = database.execute_sql("SELECT id, given_name, family_name, clinic_id FROM patient").fetchall()
    keys = [(patient_search_key(given, family, clinic_id), pid) for pid, given, family, clinic_id in rows]
    database.cursor().executemany(f"UPDATE patient SET search_key = {database.param} WHERE id = {database.param}", keys)


def _v5_measurement_item_names(database: Database, migrator: SchemaMigrator) -> None:
    apply_operations(migrator.add_column("measurement", "item_names", JSONText(null=True)))


def _v6_episodes_and_status_history(database: Database, migrator: SchemaMigrator) -> None:
    """Earlier episodes of care, the status history and the clinic-wide settings (one
    table, JSON values: the clinic ID pattern here, auto-lock and backups from v8 on),
    and the name and birth-date indexes of the likely-duplicate check. Patients
    registered before keep their current episode on their own row: no history to copy."""
    database.create_tables([Episode, StatusChange, ClinicSetting])
    Patient._schema.create_indexes(safe=True)  # the new ones; those already there are kept


def _v7_checkin_plan(database: Database, migrator: SchemaMigrator) -> None:
    """Check-ins keep the plan for the next period, the period their summary covered and
    the next date set; a support contact says whether the patient wants them named on
    the progress handout (nobody is, until the patient chooses)."""
    apply_operations(
        migrator.add_column("check_in", "plan", pw.TextField(null=True)),
        migrator.add_column("check_in", "period_start", pw.DateField(null=True)),
        migrator.add_column("check_in", "next_checkin", pw.DateField(null=True)),
        migrator.add_column("support_contact", "on_handout", pw.BooleanField(default=False)),
    )


def _v8_sign_in_and_audit_chain(database: Database, migrator: SchemaMigrator) -> None:
    """Sign-in state on users (lockout, password age, forced change, version), the
    workstation and hash chain on audit events (the security settings share v6's clinic
    settings table). Events recorded before get their digests here, in id order, so the
    chain covers them."""
    user_columns: tuple[str, ...] = ("failed_sign_ins", "locked_until", "password_changed_at", "must_change_password")
    user_columns += ("last_sign_in_at", "version")
    event_columns = ("workstation", "is_change", "prev_digest", "digest")
    operations = [migrator.add_column("user", name, getattr(User, name)) for name in user_columns]
    operations += [migrator.add_column("audit_event", name, getattr(AuditEvent, name)) for name in event_columns]
    operations.append(migrator.add_index("audit_event", ("actor_id",), False))  # is_change's comes with it
    apply_operations(*operations)
    # Only writes count as changes that other workstations refresh for.
    AuditEvent.update(is_change=False).where(AuditEvent.action == "export").execute()
    cursor = database.execute_sql(audit_chain.select_sql())
    rows = list(audit_chain.rows_as_dicts(cursor.fetchall()))
    for event_id, prev_digest, digest in audit_chain.rechain(rows):
        AuditEvent.update(prev_digest=prev_digest, digest=digest).where(AuditEvent.id == event_id).execute()


def _v9_search_index_and_change_notifications(database: Database, migrator: SchemaMigrator) -> None:
    """Search through a trigram index on both backends; on PostgreSQL, notifications of
    every change for the other workstations, and floats at full precision."""
    postgres.widen_float_columns(database, ALL_MODELS)
    _build_extras(database)


def _build_extras(database: Database) -> None:
    """Schema objects the models do not describe (trigram index, triggers): built by
    their migration and with every new database."""
    search_index.create(database)
    postgres.create_change_notifications(database)


def _v11_meetings(database: Database, migrator: SchemaMigrator) -> None:
    """Team meetings and their agendas; decisions and action items say which meeting
    they were agreed at, action items also which discipline carries them out."""
    database.create_tables([Meeting, MeetingItem], safe=True)
    operations = []
    for model, names in ((Decision, ("meeting",)), (ActionItem, ("meeting", "discipline"))):
        table = model._meta.table_name
        present = {c.name for c in database.get_columns(table)}
        for name in names:
            field = model._meta.fields[name]
            if field.column_name not in present:  # safe to re-run over a partly built file
                operations.append(migrator.add_column(table, field.column_name, field))
    table = ActionItem._meta.table_name
    if f"{table}_owner_id" not in {i.name for i in database.get_indexes(table)}:  # "My action items"
        operations.append(migrator.add_index(table, ("owner_id",), False))
    apply_operations(*operations)


STEPS: tuple[Step, ...] = (
    Step(2, "per-patient summary for the patient list", _v2_patient_summary, rebuild_summaries=True),
    Step(3, "secret key for pseudonymous codes in de-identified exports", _v3_deidentification_key),
    Step(4, "folded search key on patients (case and accents in every language)", _v4_patient_search_key),
    Step(
        5,
        "patient-named items (PSFS activities) stored with the measurement; corrected scoring rules "
        "(CPAQ-8 key, PHQ-9/GAD-7 prorating, bands on the displayed value)",
        _v5_measurement_item_names,
        rebuild_summaries=True,
        rescore_measurements=True,
    ),
    Step(6, "episodes of care, status history and clinic settings", _v6_episodes_and_status_history),
    Step(7, "check-in plan, period and next date; supporters named on the patient's handout", _v7_checkin_plan),
    Step(8, "sign-in lockout, hash-chained audit events with workstation", _v8_sign_in_and_audit_chain),
    Step(
        9,
        "trigram search index on patients; change notifications and double-precision floats on PostgreSQL",
        _v9_search_index_and_change_notifications,
    ),
    Step(11, "team meetings: agendas, minutes; decisions and action items linked to them", _v11_meetings),
)
LATEST = STEPS[-1].version if STEPS else 1
INITIAL_DESCRIPTION = "initial schema"


@dataclass(frozen=True)
class MigrationState:
    current: int
    latest: int
    backup: Path | None = None
    applied: tuple[int, ...] = ()
    # A step changed what the derived tables are computed from: the services rebuild them.
    rebuild_summaries: bool = False
    # A step changed the scoring rules: the services rescore stored measurements.
    rescore_measurements: bool = False

    @property
    def up_to_date(self) -> bool:
        return self.current == self.latest


def _migrator(database: Database) -> SchemaMigrator:
    # The proxy is never a PostgresqlDatabase itself: look at the database behind it.
    handle = database.obj if isinstance(database, pw.DatabaseProxy) else database
    if isinstance(handle, pw.PostgresqlDatabase):
        return PostgresqlMigrator(database)
    return SqliteMigrator(database)


def current_version() -> int | None:
    """The schema version of the open database, None when it has no TeamDash schema."""
    database = db.database
    if not database.table_exists(SchemaVersion._meta.table_name):
        return None
    version: int | None = SchemaVersion.select(pw.fn.MAX(SchemaVersion.version)).scalar()
    return version


def state() -> MigrationState:
    return MigrationState(current_version() or 0, LATEST)


def _backup_before_migrating(version: int) -> Path | None:
    target = db.info()
    if target.backend != "sqlite" or target.path is None:
        return None
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    dest = target.path.with_name(f"{target.path.name}.v{version}-{stamp}.bak")
    db.copy_to(dest)  # an encrypted database's copy is encrypted too
    log.info("backed up schema v%s database before migrating", version)
    return dest


def _create_fresh() -> MigrationState:
    database = db.database
    other_tables = [t for t in database.get_tables() if not t.startswith(("sqlite_", search_index.FTS_TABLE))]
    if other_tables:
        raise DatabaseUnavailable(
            f"the database holds tables ({', '.join(sorted(other_tables)[:5])}) but no TeamDash schema; "
            "it is not a TeamDash database"
        )
    with database.atomic():
        database.create_tables(ALL_MODELS)
        _build_extras(database)
        SchemaVersion.create(version=LATEST, description=INITIAL_DESCRIPTION)
    return MigrationState(LATEST, LATEST, applied=(LATEST,))


def migrate() -> MigrationState:
    """Bring the open database to the latest schema. A current schema is only read."""
    version = current_version()
    if version is not None and version > LATEST:
        raise SchemaTooNew(
            f"this database uses schema version {version}, newer than this TeamDash "
            f"understands ({LATEST}); update TeamDash to open it"
        )
    if version == LATEST:
        return MigrationState(version, LATEST)
    if db.info().read_only:
        what = "is empty" if version is None else f"uses schema version {version} and needs an upgrade to {LATEST}"
        raise ReadOnlyDatabase(
            f"the database {db.info().display} {what}, but it is read-only "
            f"({db.info().read_only_reason}); open it where it can be written"
        )
    return _create_fresh() if version is None else _upgrade(version)


def _upgrade(version: int) -> MigrationState:
    backup = _backup_before_migrating(version)
    migrator = _migrator(db.database)
    applied, rebuild, rescore = [], False, False
    for step in STEPS:
        if step.version <= version:
            continue
        with db.database.atomic():
            step.run(db.database, migrator)
            SchemaVersion.create(version=step.version, description=step.description)
        applied.append(step.version)
        rebuild = rebuild or step.rebuild_summaries
        rescore = rescore or step.rescore_measurements
        log.info("migrated schema to v%s", step.version)
    return MigrationState(
        LATEST,
        LATEST,
        backup=backup,
        applied=tuple(applied),
        rebuild_summaries=rebuild,
        rescore_measurements=rescore,
    )
