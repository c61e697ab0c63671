"""Signing in: passwords (argon2id), lockout after repeated failures, changing one's own
password and an administrator's reset.

A password is at least ``MIN_LENGTH`` characters and is stored only as an argon2id
hash (argon2-cffi's RFC 9106 low-memory profile, its default). ``MAX_FAILURES``
wrong passwords in a row lock the account for ``LOCKOUT``; the message says for how
long. Every sign-in, failed sign-in and refused (locked) sign-in is an audit event
with the workstation. On a read-only database a sign-in still works, but nothing can
be recorded (the log says so) and so failures cannot lock the account.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import argon2

from teamdash import clock
from teamdash.errors import AccountLocked, ReadOnlyDatabase, SignInFailed, ValidationError
from teamdash.services import audit, auth
from teamdash.services.auth import Actor
from teamdash.storage import db
from teamdash.storage.db import database
from teamdash.storage.models import AuditEvent, User

log = logging.getLogger(__name__)

MIN_LENGTH = 10
MAX_LENGTH = 256
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory: 3 passes, 64 MiB, 4 lanes).
# Tests swap in a cheaper hasher; the parameters live in each hash, so verifying
# follows whatever a hash was made with and ``needs_rehash`` upgrades old ones.
hasher = argon2.PasswordHasher()
# Verified against when the username is unknown, so that answer takes as long as a
# wrong password (the time does not tell which usernames exist).
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    return hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (argon2.exceptions.VerifyMismatchError, argon2.exceptions.InvalidHashError):
        return False
    except argon2.exceptions.VerificationError:
        return False


def _dummy_verify(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hasher.hash("not a real password, only for timing")
    _verify(_DUMMY_HASH, password)


def check_password(password: str, *, username: str | None = None, full_name: str | None = None) -> str:
    """The password if it meets the policy, else a ValidationError saying why."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError(f"must be at least {MIN_LENGTH} characters long", field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"must be at most {MAX_LENGTH} characters long", field="password")
    if password.strip() != password or not password.strip():
        raise ValidationError("must not begin or end with a space", field="password")
    lowered = password.lower()
    if username and username.lower() in lowered:
        raise ValidationError("must not contain the username", field="password")
    if full_name and any(len(part) >= 4 and part.lower() in lowered for part in full_name.split()):
        raise ValidationError("must not contain your name", field="password")
    return password


def _minutes(delta: dt.timedelta) -> str:
    minutes = max(1, int(-(-delta.total_seconds() // 60)))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout_message(username: str, until: dt.datetime, now: dt.datetime) -> str:
    return (
        f"The account {username!r} is locked after {MAX_FAILURES} failed sign-ins: try again in "
        f"{_minutes(until - now)} (at {until:%H:%M}), or ask an administrator to unlock it."
    )


@dataclass(frozen=True)
class SignIn:
    actor: Actor
    must_change_password: bool
    event_id: int | None


def _record(actor: Actor, action: str, **kwargs) -> int | None:
    return audit.record_if_writable(actor, action, **kwargs)


def _anonymous(username: str) -> Actor:
    return Actor(None, username[:64], f"unknown user {username[:64]!r}", auth.VIEWER)


def _save(user_id: int, **values) -> None:
    """Store sign-in state (failures, lockout); skipped and logged when read-only."""
    if db.info().read_only:
        log.warning("sign-in state of user id %s not stored: the database is read-only", user_id)
        return
    try:
        User.update(**values).where(User.id == user_id).execute()
    except ReadOnlyDatabase:
        log.warning("sign-in state of user id %s not stored: the database is read-only", user_id)


def sign_in(username: str, password: str, *, now: dt.datetime | None = None) -> SignIn:
    """Check the password; on success the signed-in actor. Raises ``SignInFailed``
    (``AccountLocked`` while locked out) with a message for the sign-in dialog."""
    now = (now or clock.now()).replace(microsecond=0)
    username = (username or "").strip().lower()
    if not username:
        raise SignInFailed("Enter your username.")
    failure: SignInFailed | None = None
    with database.atomic():
        user = User.get_or_none(User.username == username)
        if user is None:
            _dummy_verify(password or "")
            _record(_anonymous(username), "signin.failed", details={"username": username[:64], "reason": "unknown"})
            failure = SignInFailed("The username or password is wrong.")
        elif user.locked_until is not None and user.locked_until > now:
            _record(auth.actor_of(user), "signin.locked", details={"until": user.locked_until})
            failure = AccountLocked(lockout_message(username, user.locked_until, now), until=user.locked_until)
        elif not user.password_hash:
            _record(auth.actor_of(user), "signin.failed", details={"reason": "no password"})
            failure = SignInFailed(
                f"The account {username!r} has no password yet: an administrator sets one in File → Staff…"
            )
        elif not _verify(user.password_hash, password or ""):
            failure = _wrong_password(user, now)
        elif not user.active:
            _record(auth.actor_of(user), "signin.failed", details={"reason": "deactivated"})
            failure = SignInFailed(f"The account {username!r} is deactivated: ask an administrator.")
    if failure is not None:
        raise failure
    assert user is not None
    values: dict = {"failed_sign_ins": 0, "locked_until": None, "last_sign_in_at": now}
    if user.password_hash and hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    actor = auth.actor_of(user)
    with database.atomic():
        _save(user.id, **values)
        event_id = _record(actor, "signin")
    audit.forget_views(actor)
    log.info("user id %s signed in", user.id)
    return SignIn(actor, bool(user.must_change_password), event_id)


def _wrong_password(user: User, now: dt.datetime) -> SignInFailed:
    expired = user.locked_until is not None and user.locked_until <= now
    failures = (0 if expired else user.failed_sign_ins) + 1
    actor = auth.actor_of(user)
    if failures >= MAX_FAILURES:
        until = now + LOCKOUT
        _save(user.id, failed_sign_ins=failures, locked_until=until)
        _record(
            actor, "signin.failed", details={"reason": "wrong password", "failures": failures, "locked_until": until}
        )
        log.warning("user id %s locked after %d failed sign-ins", user.id, failures)
        return AccountLocked(
            f"Wrong password. The account {user.username!r} is now locked for {_minutes(LOCKOUT)} "
            f"(until {until:%H:%M}) after {MAX_FAILURES} failed sign-ins; an administrator can unlock it sooner.",
            until=until,
        )
    _save(user.id, failed_sign_ins=failures, locked_until=None)
    _record(actor, "signin.failed", details={"reason": "wrong password", "failures": failures})
    left = MAX_FAILURES - failures
    warning = (
        f" {left} more failed attempt{'s lock' if left != 1 else ' locks'} the account for {_minutes(LOCKOUT)}."
        if left <= 2
        else ""
    )
    return SignInFailed("The username or password is wrong." + warning)


def sign_out(actor: Actor, *, reason: str = "signout") -> None:
    """End a session (sign out, or switch user): recorded, and the next view of a
    record is recorded again."""
    if actor.user_id is not None:
        _record(actor, reason)
    audit.forget_views(actor)


def verify_password(actor: Actor, password: str, *, now: dt.datetime | None = None) -> SignIn:
    """Unlock: the same user's password again (counted like a sign-in, so the lock
    screen cannot be used to guess)."""
    return sign_in(actor.username, password, now=now)


def change_password(actor: Actor, current: str, new: str, *, now: dt.datetime | None = None) -> None:
    """Change one's own password: the current one first (a wrong one counts as a failed
    sign-in), then the new one, which must meet the policy and differ."""
    if actor.user_id is None:
        raise ValidationError("the system account has no password", field="user")
    now = (now or clock.now()).replace(microsecond=0)
    user = User.get_or_none(User.id == actor.user_id)
    if user is None:
        raise SignInFailed("your account no longer exists")
    check_password(new, username=user.username, full_name=user.full_name)
    try:
        sign_in(user.username, current, now=now)
    except AccountLocked:
        raise
    except SignInFailed as exc:
        raise ValidationError("is not your current password", field="current password") from exc
    if user.password_hash and _verify(user.password_hash, new):
        raise ValidationError("must differ from the current password", field="password")
    db.require_writable()
    with database.atomic():
        User.update(password_hash=hash_password(new), password_changed_at=now, must_change_password=False).where(
            User.id == user.id
        ).execute()
        audit.record(actor, "password.change", entity="user", entity_id=user.id)
    log.info("user id %s changed their password", user.id)


def reset_password(
    actor: Actor, user_id: int, new: str, *, must_change: bool = True, now: dt.datetime | None = None
) -> None:
    """An administrator sets a new password (the user chooses their own at the next
    sign-in unless ``must_change`` is off); it also lifts a lockout."""
    auth.require(actor, "manage_users")
    now = (now or clock.now()).replace(microsecond=0)
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise ValidationError(f"no staff member with id {user_id}", field="user")
    check_password(new, username=user.username, full_name=user.full_name)
    db.require_writable()
    with database.atomic():
        User.update(
            password_hash=hash_password(new),
            password_changed_at=now,
            must_change_password=bool(must_change) and user.id != actor.user_id,
            failed_sign_ins=0,
            locked_until=None,
        ).where(User.id == user.id).execute()
        audit.record(
            actor, "password.reset", entity="user", entity_id=user.id, details={"must_change": bool(must_change)}
        )
    log.info("password of user id %s reset by user id %s", user.id, actor.user_id)


def unlock(actor: Actor, user_id: int) -> None:
    """Lift a lockout before it expires."""
    auth.require(actor, "manage_users")
    db.require_writable()
    with database.atomic():
        changed = User.update(failed_sign_ins=0, locked_until=None).where(User.id == user_id).execute()
        if not changed:
            raise ValidationError(f"no staff member with id {user_id}", field="user")
        audit.record(actor, "user.unlock", entity="user", entity_id=user_id)


def has_administrator() -> bool:
    """Whether an active administrator who can sign in exists (else first start asks
    for one)."""
    return (
        User.select()
        .where((User.role == auth.ADMIN) & (User.active == True) & User.password_hash.is_null(False))  # noqa: E712
        .exists()
    )


def is_demo_clinic() -> bool:
    """The synthetic demo clinic (its sign-in form offers the demo password)."""
    return AuditEvent.select().where(AuditEvent.action == "demo.generate").exists()


def has_accounts() -> bool:
    """Whether anyone can sign in at all."""
    return User.select().where((User.active == True) & User.password_hash.is_null(False)).exists()  # noqa: E712
