"""Shared fixtures: a fresh temp-file database, a demo clinic (built once per session,
copied per test), the acting users. What the tests know of the demo clinic (its moment,
size, named patients) is in tests/demo_facts.py.

With ``TEAMDASH_TEST_DATABASE=postgresql://user@host:port/db`` (a server where that user
may create databases; ``.ci/postgres.sh`` starts a throwaway one) the ``database`` and
``clinic`` fixtures give each test a fresh PostgreSQL database instead (copied from a
template built once per session), and ``--postgres-only`` runs just the tests that use
them. ``TEAMDASH_REQUIRE_POSTGRES=1`` (CI) makes a missing server an error; on a developer
machine without one the PostgreSQL-only tests skip and say why.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Iterator
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
from tests.databases import PostgresDatabase, url_of
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


# --- PostgreSQL ------------------------------------------------------------------------------

ENV_TEST_DATABASE = "TEAMDASH_TEST_DATABASE"
ENV_REQUIRE_POSTGRES = "TEAMDASH_REQUIRE_POSTGRES"
# Tests that use one of these fixtures talk to the database: they run again on PostgreSQL.
DATABASE_FIXTURES = {"database", "clinic", "db_url"}


def pytest_addoption(parser):
    parser.addoption(
        "--postgres-only",
        action="store_true",
        help=f"run only the database-facing tests, on the PostgreSQL server in ${ENV_TEST_DATABASE}",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: the test is about the SQLite file itself (not run on PostgreSQL)")
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (skips without one, fails in CI)")
    if config.getoption("--postgres-only") and not os.environ.get(ENV_TEST_DATABASE):
        raise pytest.UsageError(f"--postgres-only needs ${ENV_TEST_DATABASE}=postgresql://user@host:port/db")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--postgres-only"):
        return
    keep, drop = [], []
    for item in items:
        facing = (DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))) or item.get_closest_marker("postgres")
        (keep if facing and not item.get_closest_marker("sqlite_only") else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


def postgres_admin_url() -> str | None:
    return os.environ.get(ENV_TEST_DATABASE) or None


class PostgresServer:
    """Creates and drops the test databases (through the server's maintenance database)."""

    _names = itertools.count(1)

    def __init__(self, admin_url: str):
        import psycopg2

        self.admin_url = admin_url
        self.conn = psycopg2.connect(admin_url, connect_timeout=5)
        self.conn.autocommit = True
        self.prefix = f"td_{os.getpid()}"

    def execute(self, sql: str) -> None:
        import psycopg2

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):  # the server was restarted (a fault test)
            self.conn = psycopg2.connect(self.admin_url, connect_timeout=5)
            self.conn.autocommit = True
            with self.conn.cursor() as cur:
                cur.execute(sql)

    def create(self, *, template: str | None = None, label: str = "t") -> PostgresDatabase:
        name = f"{self.prefix}_{label}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return PostgresDatabase(self.admin_url, name)

    def drop(self, database: PostgresDatabase) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def postgres_server():
    """The test server, or a skip (a failure with TEAMDASH_REQUIRE_POSTGRES=1)."""
    url = postgres_admin_url()
    required = os.environ.get(ENV_REQUIRE_POSTGRES) == "1"
    if url is None:
        if required:
            pytest.fail(f"${ENV_REQUIRE_POSTGRES}=1 but ${ENV_TEST_DATABASE} is not set (.ci/postgres.sh start DIR)")
        pytest.skip(f"no PostgreSQL server: set ${ENV_TEST_DATABASE} (e.g. make test-postgres)")
    try:
        server = PostgresServer(url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server is the same finding
        if required:
            pytest.fail(f"the PostgreSQL test server at ${ENV_TEST_DATABASE} is unreachable: {exc}")
        pytest.skip(f"the PostgreSQL test server is unreachable: {exc}")
    yield server
    server.close()


@pytest.fixture
def postgres_database(postgres_server, fixed_clock):
    """A fresh, empty PostgreSQL database (no schema yet); dropped afterwards."""
    target = postgres_server.create(label="raw")
    yield target
    db.close()
    postgres_server.drop(target)


def on_postgres(config: pytest.Config) -> bool:
    return bool(config.getoption("--postgres-only"))


@pytest.fixture(scope="session")
def _postgres_empty_template(postgres_server):
    template = postgres_server.create(label="empty")
    with clock.use(clock.FixedClock(DEMO_NOW)):
        open_clinic(template.url, create=True)
    db.close()
    yield template
    postgres_server.drop(template)


@pytest.fixture(scope="session")
def _postgres_demo_template(postgres_server):
    """The demo clinic generated on PostgreSQL (the same seed gives the same clinic)."""
    template = postgres_server.create(label="demo")
    with clock.use(clock.FixedClock(DEMO_NOW)):
        open_clinic(template.url, create=True)
        demo.generate(SYSTEM, patients=DEMO_PATIENTS, today=DEMO_TODAY)
    db.close()
    yield template
    postgres_server.drop(template)


# --- the database fixtures -------------------------------------------------------------------


@pytest.fixture
def db_file(tmp_path) -> Path:
    return tmp_path / "clinic.sqlite3"


@contextlib.contextmanager
def _postgres_copy(request, template_fixture: str) -> Iterator[PostgresDatabase]:
    """A fresh database on the test server copied from a template fixture's, connected
    for the test and dropped after it."""
    server = request.getfixturevalue("postgres_server")
    target = server.create(template=request.getfixturevalue(template_fixture).name)
    open_clinic(target.url)
    try:
        yield target
    finally:
        db.close()
        server.drop(target)


@pytest.fixture
def database(request, db_file):
    """An empty, migrated TeamDash database in a temp file (on PostgreSQL: a fresh
    database on the test server)."""
    if on_postgres(request.config):
        with _postgres_copy(request, "_postgres_empty_template") as target:
            yield target
        return
    open_clinic(f"sqlite:///{db_file}", create=True)
    yield db_file
    db.close()


@pytest.fixture
def db_url(request) -> str:
    """The URL of the test's clinic (``clinic`` fixture) on whichever backend runs."""
    return url_of(request.getfixturevalue("clinic"))


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
def clinic(request, _demo_template, tmp_path):
    """A copy of the 60-patient demo clinic (generated for DEMO_TODAY), connected (on
    PostgreSQL: a database copied from the demo template)."""
    if on_postgres(request.config):
        with _postgres_copy(request, "_postgres_demo_template") as target:
            yield target
        return
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
