"""Sign-in: argon2id hashes, the password policy, lockout after repeated failures and
its expiry, changing one's own password, an administrator's reset, deactivation, the
first administrator, and sign-in on a read-only database."""

from __future__ import annotations

import datetime as dt

import argon2
import pytest

from teamdash.errors import AccountLocked, Conflict, PermissionDenied, SignInFailed, ValidationError
from teamdash.services import accounts, audit, auth, staff
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from teamdash.storage.models import User

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(database):
    staff.create_first_administrator(username="ada", full_name="Ada Admin", password=PASSWORD)
    return accounts.sign_in("ada", PASSWORD).actor


@pytest.fixture
def riley(admin):
    member = staff.create_user(
        admin, username="riley", full_name="Riley Brightwater", role="clinician", discipline="pt", password=PASSWORD
    )
    return member


def test_passwords_are_stored_as_argon2id_hashes_only(monkeypatch, database):
    monkeypatch.setattr(accounts, "hasher", argon2.PasswordHasher())  # the real parameters
    staff.create_first_administrator(username="ada", full_name="Ada Admin", password=PASSWORD)
    stored = User.get(User.username == "ada").password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    # Nor does the hash reach the audit trail.
    created = audit.events(action_prefix="user.create")[0]
    assert "password_hash" not in created.after and "argon2" not in str(created.after)


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short", "at least 10 characters"),
        ("x" * 257, "at most 256"),
        (" leading space here", "must not begin or end with a space"),
        ("riley-is-my-password", "must not contain the username"),
        ("brightwater-2026", "must not contain your name"),
    ],
)
def test_the_password_policy_names_what_is_wrong(admin, password, words):
    with pytest.raises(ValidationError, match=words) as caught:
        staff.create_user(
            admin, username="riley", full_name="Riley Brightwater", role="clinician", discipline="pt", password=password
        )
    assert caught.value.field == "password"
    assert staff.find_by_username(SYSTEM, "riley") is None  # nothing was created


def test_sign_in_returns_the_actor_and_is_audited_with_the_workstation(riley):
    signed = accounts.sign_in("  Riley ", PASSWORD)
    assert signed.actor == auth.Actor(riley.id, "riley", "Riley Brightwater", "clinician", "pt")
    assert signed.must_change_password  # an administrator chose the first password
    event = audit.events(action_prefix="signin")[0]
    assert (event.action, event.actor_id, event.workstation) == ("signin", riley.id, audit.workstation())
    assert User.get_by_id(riley.id).last_sign_in_at is not None


def test_wrong_passwords_count_then_lock_for_fifteen_minutes_and_the_lock_expires(riley, fixed_clock):
    for attempt in range(1, accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed) as failed:
            accounts.sign_in("riley", "wrong password!")
        assert not isinstance(failed.value, AccountLocked)
        if attempt >= 3:
            assert f"{accounts.MAX_FAILURES - attempt} more failed attempt" in str(failed.value)
    with pytest.raises(AccountLocked, match=r"now locked for 15 minutes \(until 14:45\)") as locked:
        accounts.sign_in("riley", "wrong password!")
    assert locked.value.until == dt.datetime(2026, 11, 27, 14, 45)
    # Locked: even the right password is refused, and the message says how long is left.
    fixed_clock.advance(dt.timedelta(minutes=6))
    with pytest.raises(AccountLocked, match=r"try again in 9 minutes \(at 14:45\)"):
        accounts.sign_in("riley", PASSWORD)
    actions = [e.action for e in audit.events(action_prefix="signin")]
    assert actions[:2] == ["signin.locked", "signin.failed"] and actions.count("signin.failed") == 5
    # Expired: the right password works and the count starts again.
    fixed_clock.advance(dt.timedelta(minutes=9, seconds=1))
    assert accounts.sign_in("riley", PASSWORD).actor.user_id == riley.id
    assert User.get_by_id(riley.id).failed_sign_ins == 0 and User.get_by_id(riley.id).locked_until is None


def test_after_an_expired_lock_one_wrong_password_does_not_lock_again(riley, fixed_clock):
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed):
            accounts.sign_in("riley", "wrong password!")
    fixed_clock.advance(accounts.LOCKOUT + dt.timedelta(seconds=1))
    with pytest.raises(SignInFailed) as failed:
        accounts.sign_in("riley", "wrong password!")
    assert not isinstance(failed.value, AccountLocked) and User.get_by_id(riley.id).failed_sign_ins == 1


def test_an_administrator_unlocks_an_account_early(admin, riley):
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed):
            accounts.sign_in("riley", "wrong password!")
    accounts.unlock(admin, riley.id)
    assert accounts.sign_in("riley", PASSWORD).actor.user_id == riley.id
    assert audit.events(action_prefix="user.unlock")[0].entity_id == riley.id


def test_unknown_usernames_get_the_same_answer_and_are_audited(database):
    with pytest.raises(SignInFailed, match="^The username or password is wrong.$"):
        accounts.sign_in("nobody", PASSWORD)
    event = audit.events(action_prefix="signin.failed")[0]
    assert event.actor_id is None and event.details["username"] == "nobody"


def test_no_password_yet_and_deactivated_accounts_say_so(admin):
    member = staff.create_user(
        admin, username="quinn", full_name="Quinn Marrowby", role="clinician", discipline="nutrition"
    )
    with pytest.raises(SignInFailed, match="has no password yet: an administrator sets one"):
        accounts.sign_in("quinn", PASSWORD)
    accounts.reset_password(admin, member.id, PASSWORD)
    staff.set_active(admin, member.id, False)
    with pytest.raises(SignInFailed, match="is deactivated"):
        accounts.sign_in("quinn", PASSWORD)
    with pytest.raises(SignInFailed, match="password is wrong"):  # the wrong password says nothing more
        accounts.sign_in("quinn", "wrong password!")
    staff.set_active(admin, member.id, True)
    assert accounts.sign_in("quinn", PASSWORD).actor.username == "quinn"
    actions = [e.action for e in audit.events(action_prefix="user.")]
    assert actions[:2] == ["user.reactivate", "user.deactivate"]


def test_change_own_password(riley, fixed_clock):
    actor = accounts.sign_in("riley", PASSWORD).actor
    with pytest.raises(ValidationError, match="is not your current password"):
        accounts.change_password(actor, "not my password", "a brand new secret")
    assert User.get_by_id(riley.id).failed_sign_ins == 1  # counted like a failed sign-in
    with pytest.raises(ValidationError, match="must differ"):
        accounts.change_password(actor, PASSWORD, PASSWORD)
    with pytest.raises(ValidationError, match="at least 10"):
        accounts.change_password(actor, PASSWORD, "short")
    accounts.change_password(actor, PASSWORD, "a brand new secret")
    assert not accounts.sign_in("riley", "a brand new secret").must_change_password
    with pytest.raises(SignInFailed):
        accounts.sign_in("riley", PASSWORD)
    assert audit.events(action_prefix="password.change")[0].actor_id == riley.id


def test_administrator_reset_forces_a_new_password_and_lifts_a_lock(admin, riley):
    actor = accounts.sign_in("riley", PASSWORD).actor
    accounts.change_password(actor, PASSWORD, "my own secret 1")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed):
            accounts.sign_in("riley", "wrong password!")
    with pytest.raises(PermissionDenied):
        accounts.reset_password(actor, riley.id, "temporary secret 9")
    accounts.reset_password(admin, riley.id, "temporary secret 9")
    signed = accounts.sign_in("riley", "temporary secret 9")
    assert signed.must_change_password
    event = audit.events(action_prefix="password.reset")[0]
    assert (event.actor_id, event.entity_id) == (admin.user_id, riley.id)


def test_staff_management_is_for_administrators(admin, riley):
    clinician = accounts.sign_in("riley", PASSWORD).actor
    for call in (
        lambda a: staff.create_user(a, username="x1", full_name="X One", role="viewer"),
        lambda a: staff.update_user(a, riley.id, riley.version, full_name="R B"),
        lambda a: staff.set_active(a, riley.id, False),
        lambda a: accounts.unlock(a, riley.id),
    ):
        with pytest.raises(PermissionDenied, match=r"Riley Brightwater \(clinician, Physical therapy\) may not"):
            call(clinician)


def test_role_and_discipline_changes_and_the_last_administrator_stays(admin, riley):
    changed = staff.update_user(
        admin, riley.id, riley.version, role="case_manager", discipline="social", is_case_manager=True
    )
    assert (changed.role, changed.discipline, changed.is_case_manager, changed.version) == (
        "case_manager",
        "social",
        True,
        2,
    )
    with pytest.raises(ValidationError, match="a clinician needs a discipline"):
        staff.update_user(admin, riley.id, changed.version, role="clinician", discipline=None)
    ada = staff.find_by_username(SYSTEM, "ada")
    with pytest.raises(ValidationError, match="last active administrator keeps that role"):
        staff.update_user(admin, ada.id, ada.version, role="viewer")
    with pytest.raises(ValidationError, match="cannot deactivate your own account"):
        staff.set_active(admin, ada.id, False)
    event = audit.events(action_prefix="user.update")[0]
    assert (event.before["role"], event.after["role"]) == ("clinician", "case_manager")


def test_the_first_administrator_is_created_once(admin):
    assert accounts.has_administrator()
    with pytest.raises(Conflict, match="already has an administrator"):
        staff.create_first_administrator(username="eve", full_name="Eve Intruder", password=PASSWORD)


def reopen_read_only(monkeypatch) -> None:
    """Reopen the test database as a read-only file (the tests run as root, for whom
    no file is read-only: SQLite opens it with mode=ro and query_only as it would)."""
    path = db.info().path
    db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    monkeypatch.setattr(db, "_read_only_reason", lambda _path: "the file is read-only")
    assert open_clinic(f"sqlite:///{path}").read_only


@pytest.mark.sqlite_only  # a read-only file
def test_sign_in_on_a_read_only_database_works_but_records_nothing(admin, riley, caplog, monkeypatch):
    reopen_read_only(monkeypatch)
    before = len(audit.events(limit=10_000))
    assert accounts.sign_in("riley", PASSWORD).event_id is None
    with pytest.raises(SignInFailed):
        accounts.sign_in("riley", "wrong password!")
    assert len(audit.events(limit=10_000)) == before
    assert "not recorded: the database is read-only" in caplog.text
