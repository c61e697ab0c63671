"""Shared fixtures: a fresh temp-file database, a demo clinic (built once per session,
copied per test), the acting users. What the tests know of the demo clinic (its moment,
size, named patients) is in tests/demo_facts.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import argon2
import pytest

# Keep the user's real data and log directories out of the tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from teamdash import clock, demo
from teamdash.services import accounts, staff
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from tests.demo_facts import DEMO_NOW, DEMO_PATIENTS, DEMO_TODAY


@pytest.fixture(autouse=True)
def fixed_clock():
    """The app's clock for this test (``fixed_clock.advance`` moves it)."""
    with clock.use(clock.FixedClock(DEMO_NOW)) as pinned:
        yield pinned


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):
    """argon2id with the cheapest parameters: the same code path, a fraction of the
    time (``test_accounts`` checks the real parameters separately)."""
    monkeypatch.setattr(accounts, "hasher", argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
    monkeypatch.setattr(accounts, "_DUMMY_HASH", None)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("TEAMDASH_LOG_FILE", str(home / "teamdash.log"))
    monkeypatch.delenv("TEAMDASH_DATABASE_URL", raising=False)
    yield
    db.close()


@pytest.fixture
def db_file(tmp_path) -> Path:
    return tmp_path / "clinic.sqlite3"


@pytest.fixture
def database(db_file):
    """An empty, migrated TeamDash database in a temp file."""
    open_clinic(f"sqlite:///{db_file}", create=True)
    yield db_file
    db.close()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    with clock.use(clock.FixedClock(DEMO_NOW)):
        open_clinic(f"sqlite:///{path}", create=True)
        demo.generate(SYSTEM, patients=DEMO_PATIENTS, today=DEMO_TODAY)
    db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def clinic(_demo_template, tmp_path):
    """A copy of the 60-patient demo clinic (generated for DEMO_TODAY), connected."""
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(_demo_template, path)
    open_clinic(f"sqlite:///{path}", create=True)
    yield path
    db.close()


@pytest.fixture
def clinician(database) -> Actor:
    """A named member of staff (a physio) who may write every discipline's records: the
    services' own tests. What each role may do is tested in ``test_roles``."""
    staff.create_user(SYSTEM, username="tpt", full_name="Test Physio", role="admin", discipline="pt")
    return actor_for("tpt")


@pytest.fixture
def physio(database) -> Actor:
    """A clinician in the clinician role: writes physical therapy records only."""
    staff.create_user(SYSTEM, username="tphysio", full_name="Test Clinician", role="clinician", discipline="pt")
    return actor_for("tphysio")


@pytest.fixture
def case_manager(database) -> Actor:
    staff.create_user(SYSTEM, username="tcm", full_name="Test Manager", role="case_manager", is_case_manager=True)
    return actor_for("tcm")
