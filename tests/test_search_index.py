"""The trigram search index (schema v9) on whichever backend runs: it finds exactly what
the plain scan finds, follows every write, is built for a database upgraded from the
previous schema, and ``check`` notices when it is missing."""

from __future__ import annotations

import peewee as pw
import pytest

from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.patients import PatientQuery
from teamdash.storage import db, health, migrations, search_index
from teamdash.storage.models import Patient, SchemaVersion
from teamdash.text import fold
from tests.databases import url_of

SEARCHES = ["kerr", "ke", "k", "TD-0004", "td-00012", "bram ble", "moss wick", "OÏ", "zz", "_", "%", "e_", "quill"]


def scanned(search: str) -> list[str]:
    """What a search must find: every folded word somewhere in the folded key."""
    words = fold(search).split()
    keys = Patient.select(Patient.clinic_id, Patient.search_key).tuples()
    return sorted(cid for cid, key in keys if all(w in (key or "") for w in words))


def found(search: str) -> list[str]:
    return sorted(r.clinic_id for r in patients.list_patients(SYSTEM, PatientQuery(search=search, limit=1000)).rows)


def test_the_index_finds_exactly_what_a_scan_finds(clinic):
    assert search_index.present(db.database)
    for search in SEARCHES:
        assert found(search) == scanned(search), search


def test_the_index_follows_registration_renaming_and_undo(database):
    new = patients.create_patient(
        SYSTEM,
        clinic_id="IX-1",
        given_name="Zoë",
        family_name="Ångström",
        date_of_birth="1990-01-01",
        referral_date="2026-01-01",
    )
    assert found("angstro") == ["IX-1"] and found("zoe ang") == ["IX-1"]
    renamed = patients.update_patient(SYSTEM, new.id, new.version, family_name="Brightwater")
    assert found("angstro") == [] and found("brightwa") == ["IX-1"]
    patients.update_patient(SYSTEM, renamed.id, renamed.version, clinic_id="IX-77")
    assert found("ix-77") == ["IX-77"] and found("ix-1") == []


def drop_v9(database: pw.Database) -> None:
    """Take a current database back to the schema before v9 (as an older TeamDash left it)."""
    if isinstance(database.obj, pw.PostgresqlDatabase):
        database.execute_sql(f"DROP INDEX {search_index.TRGM_INDEX}")
        database.execute_sql("DROP TRIGGER audit_event_notify ON audit_event")
    else:
        for trigger in ("insert", "delete", "update"):
            database.execute_sql(f"DROP TRIGGER patient_search_{trigger}")
        database.execute_sql(f"DROP TABLE {search_index.FTS_TABLE}")
    previous = max(s.version for s in migrations.STEPS if s.version < 9)
    SchemaVersion.delete().where(SchemaVersion.version >= 9).execute()
    if not SchemaVersion.select().where(SchemaVersion.version == previous).exists():
        SchemaVersion.create(version=previous, description="before v9")
    SchemaVersion.delete().where(SchemaVersion.version > previous).execute()


def test_an_upgrade_from_the_previous_schema_builds_the_index(clinic):
    url = url_of(clinic)
    drop_v9(db.database)
    assert not search_index.present(db.database)
    before = {s: scanned(s) for s in SEARCHES}
    db.close()
    state_before = open_clinic(url)
    assert state_before is not None
    assert migrations.current_version() == migrations.LATEST
    assert search_index.present(db.database)
    assert {s: found(s) for s in SEARCHES} == before
    assert health.problems() == []


def test_check_says_when_the_index_is_missing(clinic):
    drop_v9(db.database)
    SchemaVersion.create(version=migrations.LATEST, description="pretend current")
    search_index.forget(db.database)
    problems = health.problems()
    assert any("patient search index is missing" in p for p in problems), problems
    assert found("kerr") == scanned("kerr")  # searching still works, by scanning


@pytest.mark.sqlite_only
def test_an_index_out_of_step_is_reported(clinic):
    db.database.execute_sql(f"INSERT INTO {search_index.FTS_TABLE}(rowid, search_key) VALUES (999999, 'ghost')")
    problems = health.problems()
    assert any("out of step" in p for p in problems), problems


def test_imported_patients_are_found_like_registered_ones(database, case_manager, tmp_path):
    from teamdash.exchange import importing

    path = tmp_path / "patients.csv"
    path.write_text(
        "Patient ID,Given name,Family name,Date of birth,Referral date\n"
        "IMP-1,Émile,Zola-Fenwick,1970-03-04,2026-02-01\n"
        "IMP-2,Ødegaard,Lind,1982-07-09,2026-02-03\n",
        encoding="utf-8",
    )
    report = importing.import_file(case_manager, path)
    assert sum(s.imported for s in report.sheets) == 2, report.summary()
    assert found("emile zola") == ["IMP-1"]
    assert found("odegaard") == ["IMP-2"] and found("imp-") == ["IMP-1", "IMP-2"]
