"""Data at rest: the SQLCipher-encrypted file (unreadable without its passphrase, a
clear message for a wrong one, changing it), the automatic daily backup with
rotation, and restoring a backup (checked first, the current file kept aside)."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import sys

import pytest

from teamdash.errors import DatabaseCorrupt, PermissionDenied, WrongPassphrase
from teamdash.services import audit, clinic_settings, maintenance, patients, staff
from teamdash.services.auth import SYSTEM, actor_for
from teamdash.services.clinic import open_clinic
from teamdash.storage import backups, db, migrations
from teamdash.storage.models import Patient
from ui.cli import main

# SQLite files: SQLCipher encryption, the daily backup files and their rotation, restore
# (a PostgreSQL clinic is backed up with pg_dump by its server's own tools).
pytestmark = pytest.mark.sqlite_only

PASSPHRASE = "long enough passphrase"


def _register(clinic_id: str = "ENC-1") -> None:
    patients.create_patient(
        SYSTEM,
        clinic_id=clinic_id,
        given_name="Quentin",
        family_name="Ciphered",
        date_of_birth="1966-06-06",
        referral_date="2026-09-01",
    )


@pytest.fixture
def encrypted(tmp_path):
    path = tmp_path / "secret.sqlite3"
    open_clinic(f"sqlite:///{path}", create=True, passphrase=PASSPHRASE, encrypt=True)
    _register()
    db.close()
    return path


def test_an_encrypted_file_is_unreadable_without_its_passphrase(encrypted):
    raw = encrypted.read_bytes()
    assert not raw.startswith(b"SQLite format 3") and b"Ciphered" not in raw
    with sqlite3.connect(encrypted) as plain, pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        plain.execute("SELECT * FROM patient").fetchall()


def test_the_right_passphrase_opens_it_and_a_wrong_one_says_so_at_once(encrypted):
    with pytest.raises(WrongPassphrase, match="is encrypted: give its passphrase"):
        open_clinic(f"sqlite:///{encrypted}")
    with pytest.raises(WrongPassphrase, match="the passphrase does not open"):
        open_clinic(f"sqlite:///{encrypted}", passphrase="not the passphrase")
    info = open_clinic(f"sqlite:///{encrypted}", passphrase=PASSPHRASE)
    assert info.encrypted and info.display.endswith("(encrypted)")
    assert Patient.get(Patient.clinic_id == "ENC-1").family_name == "Ciphered"


def test_the_passphrase_comes_from_the_environment(encrypted, monkeypatch):
    monkeypatch.setenv(db.ENV_PASSPHRASE, PASSPHRASE)
    assert open_clinic(f"sqlite:///{encrypted}").encrypted


def test_changing_the_passphrase(encrypted):
    open_clinic(f"sqlite:///{encrypted}", passphrase=PASSPHRASE)
    with pytest.raises(Exception, match="at least 12 characters"):
        db.change_passphrase("short")
    db.change_passphrase("a new and longer passphrase")
    db.close()
    with pytest.raises(WrongPassphrase):
        open_clinic(f"sqlite:///{encrypted}", passphrase=PASSPHRASE)
    open_clinic(f"sqlite:///{encrypted}", passphrase="a new and longer passphrase")
    assert Patient.select().count() == 1


def test_a_new_encrypted_database_needs_a_long_passphrase(tmp_path):
    with pytest.raises(Exception, match="passphrase: must be at least 12 characters"):
        open_clinic(f"sqlite:///{tmp_path / 'x.sqlite3'}", create=True, passphrase="short", encrypt=True)


def test_backups_of_an_encrypted_database_are_encrypted_and_restorable(encrypted, tmp_path):
    open_clinic(f"sqlite:///{encrypted}", passphrase=PASSPHRASE)
    copy = maintenance.take_backup(SYSTEM, tmp_path / "copy.sqlite3")
    assert not copy.read_bytes().startswith(b"SQLite format 3")
    assert backups.verify(copy, passphrase=PASSPHRASE) == []
    assert "passphrase does not open it" in backups.verify(copy, passphrase="wrong wrong wrong")[0]
    _register("ENC-2")
    maintenance.restore_backup(SYSTEM, copy)
    assert [p.clinic_id for p in Patient.select()] == ["ENC-1"] and db.info().encrypted


def test_encrypted_cli_round_trip_with_prompts(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSPHRASE}\n{PASSPHRASE}\n"))
    assert main(["--db", url, "init", "--encrypt"]) == 0
    assert "created an empty clinic database (encrypted)" in capsys.readouterr().out
    db.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO("not it at all\n"))
    assert main(["--db", url, "check"]) == 2
    assert "the passphrase does not open" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSPHRASE}\nchanged passphrase 1\nchanged passphrase 1\n"))
    assert main(["--db", url, "passphrase"]) == 0
    db.close()
    monkeypatch.setenv(db.ENV_PASSPHRASE, "changed passphrase 1")
    assert main(["--db", url, "check"]) == 0
    assert "integrity: ok" in capsys.readouterr().out


# --- automatic backups and rotation ---------------------------------------------------------


def _auto(folder, database_file, when: dt.datetime):
    path = folder / backups.automatic_name(database_file, when)
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    return path


def test_rotation_keeps_seven_daily_and_four_weekly(tmp_path):
    database_file = tmp_path / "clinic.sqlite3"
    folder = tmp_path / "backups"
    folder.mkdir()
    start = dt.datetime(2026, 9, 1, 8, 0)  # a Tuesday
    made = [_auto(folder, database_file, start + dt.timedelta(days=d)) for d in range(60)]
    _auto(folder, database_file, start + dt.timedelta(days=59, hours=4))  # two on the last day
    manual = folder / "before-the-upgrade.sqlite3"
    manual.write_bytes(b"SQLite format 3\x00")
    other = _auto(folder, tmp_path / "other.sqlite3", start)  # another database's backup
    removed = backups.rotate(database_file, folder, keep_daily=7, keep_weekly=4)
    kept = sorted(b.taken_at for b in backups.automatic_backups(database_file, folder))
    # The newest of each of the last 7 days (days 53–58 at 08:00, day 59's later one)
    # and of each of the last 4 ISO weeks (this week's is that same newest backup, the
    # three before end on their Sundays).
    daily = [start + dt.timedelta(days=d) for d in range(53, 59)] + [start + dt.timedelta(days=59, hours=4)]
    sundays = [d for d in (start + dt.timedelta(days=n) for n in range(60)) if d.weekday() == 6][-3:]
    assert kept == sorted(set(daily) | set(sundays)) and len(kept) == 9  # one Sunday is among the 7 days
    assert len(removed) == 61 - len(kept) and manual.exists() and other.exists()
    assert made[0] in removed and made[-1] in removed  # the last day's earlier backup went


def test_the_daily_backup_is_taken_once_a_day_verified_rotated_and_audited(clinic, tmp_path, fixed_clock):
    folder = tmp_path / "clinic-backups"
    clinic_settings.change(SYSTEM, "backup_folder", str(folder))
    clinic_settings.change(SYSTEM, "backup_keep_daily", 2)
    clinic_settings.change(SYSTEM, "backup_keep_weekly", 0)
    first = maintenance.daily_backup(SYSTEM)
    assert first is not None and first.path.parent == folder and backups.verify(first.path) == []
    assert maintenance.daily_backup(SYSTEM) is None  # already taken today
    for _ in range(3):
        fixed_clock.advance(dt.timedelta(days=1))
        done = maintenance.daily_backup(SYSTEM)
    assert [b.taken_at.date() for b in backups.automatic_backups(clinic, folder)] == [
        dt.date(2026, 11, 30),
        dt.date(2026, 11, 29),
    ]
    assert done.removed and audit.events(action_prefix="backup", limit=1)[0].details["removed"] == [
        p.name for p in done.removed
    ]


def test_backup_cli_auto(clinic, tmp_path, capsys):
    clinic_settings.change(SYSTEM, "backup_folder", str(tmp_path / "auto"))
    db.close()
    assert main(["--db", f"sqlite:///{clinic}", "backup", "--auto"]) == 0
    assert "backup written to" in capsys.readouterr().out
    assert main(["--db", f"sqlite:///{clinic}", "backup", "--auto"]) == 0
    assert "already taken" in capsys.readouterr().out


# --- restore --------------------------------------------------------------------------------


def test_restore_checks_the_backup_keeps_the_current_file_and_is_for_administrators(clinic, tmp_path):
    backup = maintenance.take_backup(SYSTEM, tmp_path / "good.sqlite3")
    before = Patient.select().count()
    _register("AFTER-1")
    with pytest.raises(PermissionDenied, match="may not restore a backup"):
        maintenance.restore_backup(actor_for("mquillfeather"), backup)
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(backup.read_bytes()[:8192] + b"\x00" * 4096)
    with pytest.raises(DatabaseCorrupt, match="the backup cannot be restored"):
        maintenance.restore_backup(actor_for("ckestrel"), damaged)
    assert Patient.select().count() == before + 1  # refused: the database is as it was
    aside = maintenance.restore_backup(actor_for("ckestrel"), backup)
    assert Patient.select().count() == before and aside.exists()
    with sqlite3.connect(aside) as kept:
        assert kept.execute("SELECT count(*) FROM patient WHERE clinic_id = 'AFTER-1'").fetchone() == (1,)
    event = audit.events(action_prefix="backup.restore", limit=1)[0]
    assert event.actor_name == "Cameron Kestrel" and event.details["previous_file_kept_as"] == str(aside)


def test_a_backup_from_a_newer_teamdash_is_refused(clinic, tmp_path):
    backup = maintenance.take_backup(SYSTEM, tmp_path / "newer.sqlite3")
    with sqlite3.connect(backup) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, applied_at, description) VALUES (?, '2027-01-01', 'x')",
            (migrations.LATEST + 1,),
        )
    assert "written by a newer TeamDash" in backups.verify(backup)[0]


def test_restore_cli_needs_an_administrator_password(clinic, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{clinic}"
    backup = maintenance.take_backup(SYSTEM, tmp_path / "b.sqlite3")
    staff.create_user(SYSTEM, username="temp", full_name="Temporary Person", role="viewer")
    db.close()
    assert main(["--db", url, "restore", str(backup)]) == 2
    assert "needs an administrator: add --as USERNAME" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong password\n"))
    assert main(["--db", url, "restore", str(backup), "--as", "ckestrel"]) == 2
    assert "password is wrong" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("demo-clinic-2026\n"))
    assert main(["--db", url, "restore", str(backup), "--as", "ckestrel"]) == 0
    assert "the previous database file was kept as" in capsys.readouterr().out
    assert staff.find_by_username(SYSTEM, "temp") is None


def test_a_backup_is_one_self_contained_file(clinic, tmp_path):
    folder = tmp_path / "one-file"
    folder.mkdir()
    path = maintenance.take_backup(SYSTEM, folder / "b.sqlite3")
    assert backups.verify(path) == []
    assert sorted(p.name for p in folder.iterdir()) == ["b.sqlite3"]  # no -wal, -shm or partial left
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
