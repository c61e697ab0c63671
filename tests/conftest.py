"""Shared fixtures: a fresh temp-file database, a demo clinic (built once per session,
copied per test), the acting users. What the tests know of the demo clinic (its moment,
size, named patients) is in tests/demo_facts.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Keep the user's real data and log directories out of the tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from teamdash import clock, demo
from teamdash.services import staff
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from tests.demo_facts import DEMO_NOW, DEMO_PATIENTS, DEMO_TODAY


@pytest.fixture(autouse=True)
def fixed_clock():
    """The app's clock for this test (``fixed_clock.advance`` moves it)."""
    with clock.use(clock.FixedClock(DEMO_NOW)) as pinned:
        yield pinned


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
    member = staff.create_user(SYSTEM, username="tpt", full_name="Test Physio", role="clinician", discipline="pt")
    return Actor(member.id, member.username, member.full_name, member.role)


@pytest.fixture
def case_manager(database) -> Actor:
    member = staff.create_user(
        SYSTEM, username="tcm", full_name="Test Manager", role="case_manager", is_case_manager=True
    )
    return Actor(member.id, member.username, member.full_name, member.role)
