"""Faults a clinic meets, each answered with one clear line on stderr and exit code 2, and
nothing changed: read-only files, folders and mounts, damaged files, mistyped paths, a
database busy with another writer, output paths that cannot be written, no display, an
unreachable PostgreSQL server."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from teamdash.errors import ReadOnlyDatabase
from teamdash.services import clinic, patients
from teamdash.services.auth import SYSTEM
from teamdash.storage import backups, db
from tests.damage import corrupt, settled_copy

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*argv: str, env: dict | None = None, honour_permissions: bool = False) -> subprocess.CompletedProcess:
    """``teamdash ARGV`` in a fresh process. ``honour_permissions`` runs it without the
    root privilege that ignores file modes (CI runs as root), like a clinic user."""
    command = [sys.executable, "-m", "ui.cli", *argv]
    if honour_permissions and IS_ROOT:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    merged = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    return subprocess.run(command, cwd=ROOT, env=merged, capture_output=True, text=True, timeout=120)


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("teamdash: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.fixture
def settled(clinic_template, tmp_path) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir()
    return settled_copy(clinic_template, folder / "clinic.sqlite3")


@pytest.fixture
def clinic_template(_demo_template) -> Path:
    return _demo_template


def patient_count(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM patient").fetchone()[0]


# --- read-only files, folders, mounts ---------------------------------------------------------


def test_a_read_only_file_opens_read_only_and_refuses_writes(settled, tmp_path):
    url = f"sqlite:///{settled}"
    before = digest(settled)
    settled.chmod(0o444)
    checked = cli("--db", url, "check", honour_permissions=True)
    assert checked.returncode == 0, checked.stderr
    assert "read-only: the file is read-only" in checked.stdout and "integrity: ok" in checked.stdout
    listed = cli("--db", url, "patients", "--json", honour_permissions=True)
    assert listed.returncode == 0 and listed.stdout.count('"clinic_id"') == 60
    out = tmp_path / "out"
    out.mkdir()
    exported = cli("--db", url, "export", "--out", str(out / "cohort.xlsx"), honour_permissions=True)
    assert exported.returncode == 0, exported.stderr
    assert (out / "cohort.xlsx").stat().st_size > 0
    csv = tmp_path / "new.csv"
    csv.write_text(
        "Patient ID,Given name,Family name,Date of birth,Referral date\nRO-1,Ann,Reed,1970-01-01,2026-01-05\n"
    )
    imported = cli("--db", url, "import", str(csv), honour_permissions=True)
    one_line_error(imported, "read-only", "the file is read-only", "nothing was changed")
    assert digest(settled) == before and patient_count(settled) == 60


def test_a_read_only_folder_is_named_as_such(settled, tmp_path):
    url = f"sqlite:///{settled}"
    settled.parent.chmod(0o555)
    try:
        checked = cli("--db", url, "check", honour_permissions=True)
        assert checked.returncode == 0, checked.stderr
        assert f"the folder {settled.parent} is read-only" in checked.stdout
        assert "not a usable SQLite database" not in checked.stdout + checked.stderr
        created = cli("--db", f"sqlite:///{settled.parent / 'new.sqlite3'}", "demo", "--patients", "2",
                      honour_permissions=True)  # fmt: skip
        one_line_error(created, f"the folder {settled.parent} is read-only")
    finally:
        settled.parent.chmod(0o755)
    assert not (settled.parent / "new.sqlite3").exists()


def test_a_read_only_mount_opens_read_only(settled):
    """A read-only bind mount (a write-protected share or disk), where the system allows one."""
    if not IS_ROOT or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to make a read-only mount")
    folder = settled.parent
    script = (
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
        f"{sys.executable} -m ui.cli --db sqlite:///{settled} check && "
        f"{sys.executable} -m ui.cli --db sqlite:///{settled} demo --patients 2"
    )
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder}"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow a private mount namespace")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120)  # fmt: skip
    assert "integrity: ok" in done.stdout and "read-only" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 2 and "read-only" in done.stderr and "Traceback" not in done.stderr


def test_opening_a_current_database_writes_nothing(settled, capsys):
    before = digest(settled)
    for argv in (["check"], ["patients", "--json"], ["patients", "--search", "a"]):
        assert cli("--db", f"sqlite:///{settled}", *argv).returncode == 0
    assert digest(settled) == before


def test_every_write_to_a_read_only_database_is_refused_up_front(settled, monkeypatch):
    """In this process the file is taken as read-only the way a clinic user's would be
    (root ignores file modes); SQLite then opens it read-only, and services refuse writes."""
    monkeypatch.setattr(db, "_read_only_reason", lambda path: "the file is read-only")
    before = digest(settled)
    clinic.open_clinic(f"sqlite:///{settled}")
    assert db.info().read_only
    detail = patients.find_by_clinic_id(SYSTEM, "TD-00001")
    assert patients.count_patients(SYSTEM) == 60  # reading works
    with pytest.raises(ReadOnlyDatabase, match="read-only .the file is read-only.; nothing was changed"):
        patients.update_patient(SYSTEM, detail.id, detail.version, given_name="Changed")
    with pytest.raises(ReadOnlyDatabase):  # even a write that skips the services is refused by SQLite
        db.database.execute_sql("DELETE FROM patient")
    clinic.close_clinic()
    assert digest(settled) == before


# --- damaged files -----------------------------------------------------------------------------


def test_check_reports_the_damage_it_finds(settled):
    corrupt(settled, "measurement")
    done = cli("--db", f"sqlite:///{settled}", "check")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "problem:" in done.stdout and "restore the latest backup" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_damaged_table_is_a_clear_error_not_a_crash(settled):
    corrupt(settled, "patient")
    done = cli("--db", f"sqlite:///{settled}", "patients")
    one_line_error(done, "damaged", "teamdash check")


def test_a_file_too_damaged_to_open_is_reported_by_check(settled):
    with settled.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00" * 4000)  # the schema page
    done = cli("--db", f"sqlite:///{settled}", "check")
    assert done.returncode == 2 and "problem:" in done.stdout and "Traceback" not in done.stderr


def test_the_newest_good_backup_is_found_and_restored(settled, tmp_path, monkeypatch):
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    monkeypatch.setattr("teamdash.paths.backup_dir", lambda: backup_dir)
    clinic.open_clinic(f"sqlite:///{settled}")
    older = db.backup(backup_dir / "older.sqlite3")
    newer = db.backup(backup_dir / "newer.sqlite3")
    os.utime(older, (1_700_000_000, 1_700_000_000))
    (backup_dir / "notes.txt").write_text("not a backup")
    clinic.close_clinic()
    corrupt(settled, "measurement")
    found = clinic.newest_backup(f"sqlite:///{settled}")
    assert found is not None and found.path == newer
    kept = clinic.restore_backup(SYSTEM, found.path, f"sqlite:///{settled}")
    assert kept.exists() and backups.verify(kept)  # the damaged file was kept aside, still damaged
    clinic.open_clinic(f"sqlite:///{settled}")
    assert clinic.health_problems() == [] and patients.count_patients(SYSTEM) == 60


def test_a_damaged_backup_is_never_offered(settled, tmp_path):
    bad = settled.with_name(f"{settled.name}.v3-20261101-090000.bak")
    shutil.copy(settled, bad)
    corrupt(bad, "patient")
    assert backups.latest(settled, folders=[tmp_path / "none"]) is None


# --- mistyped paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["check"], ["patients"], ["export", "--out", "{tmp}/x.xlsx"]])
def test_a_mistyped_database_path_creates_nothing(tmp_path, argv):
    missing = tmp_path / "typo" / "clinc.sqlite3"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    done = cli("--db", f"sqlite:///{missing}", *argv)
    one_line_error(done, f"there is no TeamDash database at {missing}")
    assert not missing.parent.exists()


def test_demo_creates_the_database_it_is_asked_for(tmp_path):
    target = tmp_path / "new" / "demo.sqlite3"
    done = cli("--db", f"sqlite:///{target}", "demo", "--patients", "3")
    assert done.returncode == 0 and target.exists()


# --- a busy database ---------------------------------------------------------------------------


def test_a_second_writer_waits_then_says_another_teamdash_is_writing(settled, tmp_path):
    csv = tmp_path / "one.csv"
    csv.write_text("Patient ID,Given name,Family name,Date of birth,Referral date\nB-1,Bo,Busy,1970-01-01,2026-01-05\n")
    holder = sqlite3.connect(settled, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        done = cli("--db", f"sqlite:///{settled}", "import", str(csv), env={"TEAMDASH_BUSY_TIMEOUT_MS": "300"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_line_error(done, "another TeamDash (or another program) is writing", "changed nothing")
    assert patient_count(settled) == 60


# --- output paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["backup", "export"])
def test_output_into_a_missing_folder_is_refused(settled, tmp_path, command):
    target = tmp_path / "no-such-folder" / "out.xlsx"
    done = cli("--db", f"sqlite:///{settled}", command, "--out", str(target))
    one_line_error(done, "--out", f"the folder {target.parent} does not exist")
    assert not target.parent.exists()


@pytest.mark.parametrize("command", ["backup", "export"])
def test_an_existing_output_file_is_replaced_only_with_force(settled, tmp_path, command):
    target = tmp_path / "out.xlsx"
    target.write_text("keep me")
    done = cli("--db", f"sqlite:///{settled}", command, "--out", str(target))
    one_line_error(done, "already exists", "--force")
    assert target.read_text() == "keep me"
    forced = cli("--db", f"sqlite:///{settled}", command, "--out", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes() != b"keep me"


@pytest.mark.parametrize("command", ["backup", "export"])
def test_output_into_a_read_only_folder_is_refused(settled, tmp_path, command):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = cli("--db", f"sqlite:///{settled}", command, "--out", str(folder / "out.xlsx"),
                   honour_permissions=True)  # fmt: skip
    finally:
        folder.chmod(0o755)
    one_line_error(done, f"the folder {folder} cannot be written to")
    assert list(folder.iterdir()) == []


# --- no display, unreachable server ----------------------------------------------------------


def test_the_dashboard_without_a_display_says_what_is_missing(settled):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "--db", f"sqlite:///{settled}", "gui"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    one_line_error(done, "no display", "--screenshot")


def test_an_unreachable_postgresql_server_is_one_line_without_the_password():
    pytest.importorskip("psycopg2")
    done = cli("--db", "postgresql://clinic:s3cr3t-pass@127.0.0.1:9/teamdash", "check")
    one_line_error(done, "cannot connect to PostgreSQL at 127.0.0.1:9", "'teamdash'")
    assert "s3cr3t-pass" not in done.stderr
