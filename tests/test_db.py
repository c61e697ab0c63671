"""Opening databases: URLs, pragmas, refusing files that are not TeamDash databases,
online backups, integrity checks."""

from __future__ import annotations

import sqlite3

import pytest

from teamdash import paths
from teamdash.errors import DatabaseUnavailable, ValidationError
from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db


@pytest.mark.parametrize(
    "url, expected",
    [
        ("sqlite:///clinic.sqlite3", "clinic.sqlite3"),
        ("sqlite:////var/tmp/clinic.sqlite3", "/var/tmp/clinic.sqlite3"),
        ("sqlite:///sub/dir/c.db", "sub/dir/c.db"),
    ],
)
def test_sqlite_urls_name_the_file(url, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    info = db.parse_url(url)
    assert info.backend == "sqlite"
    assert str(info.path).endswith(expected)
    assert info.path.is_absolute()


def test_memory_and_postgres_urls():
    assert db.parse_url("sqlite:///:memory:").path is None
    pg = db.parse_url("postgresql://clinic:secret@db.example/teamdash")
    assert pg.backend == "postgresql"
    assert "secret" not in pg.display  # passwords never reach the status bar or logs


@pytest.mark.parametrize(
    "url, words",
    [
        ("mysql://x/y", "unsupported database URL"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///", "needs a file path"),
        ("postgresql://host", "needs a database name"),
        ("clinic.sqlite3", "unsupported database URL"),
    ],
)
def test_bad_urls_are_named(url, words):
    with pytest.raises(ValidationError) as err:
        db.parse_url(url)
    assert words in str(err.value)
    assert err.value.field == "database URL"


def test_default_database_lives_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert db.default_url() == f"sqlite:///{paths.default_database_file()}"
    assert str(tmp_path / "xdg") in db.default_url()
    monkeypatch.setenv("TEAMDASH_DATABASE_URL", "sqlite:////elsewhere/x.sqlite3")
    assert db.default_url() == "sqlite:////elsewhere/x.sqlite3"


def test_first_connect_creates_the_file_and_its_folder(tmp_path):
    target = tmp_path / "new" / "folder" / "clinic.sqlite3"
    db.connect(f"sqlite:///{target}", create=True)
    assert target.exists()
    assert db.info().path == target


@pytest.mark.sqlite_only
def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(database):
    pragma = lambda name: db.database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("busy_timeout") == db.BUSY_TIMEOUT_MS == 10_000
    assert pragma("synchronous") == 1  # NORMAL


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_bytes(b"this is a text file, not a database" * 100)
    with pytest.raises(DatabaseUnavailable, match="not a usable SQLite database"):
        db.connect(f"sqlite:///{bogus}")
    assert bogus.read_bytes().startswith(b"this is a text file")


def test_a_foreign_sqlite_database_is_refused_untouched(tmp_path):
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    with pytest.raises(DatabaseUnavailable, match="not a TeamDash database"):
        open_clinic(f"sqlite:///{other}")
    with sqlite3.connect(other) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"invoices"}


@pytest.mark.sqlite_only
def test_online_backup_is_a_consistent_copy(clinic, tmp_path):
    before = patients.count_patients(SYSTEM)
    dest = db.backup(tmp_path / "copy.sqlite3")
    with sqlite3.connect(dest) as copy:
        assert copy.execute("SELECT count(*) FROM patient").fetchone()[0] == before
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_never_overwrites(clinic, tmp_path):
    existing = tmp_path / "exists.sqlite3"
    existing.write_text("keep me")
    with pytest.raises(ValidationError, match="already exists"):
        db.backup(existing)
    assert existing.read_text() == "keep me"


def test_integrity_check_is_clean_on_a_fresh_clinic(clinic):
    assert db.integrity_problems() == []
