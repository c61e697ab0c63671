"""Staff: administrators, case managers, clinicians and read-only users; their accounts.

Only administrators add staff, change roles and disciplines, and deactivate or
reactivate accounts (``manage_users``). One active administrator always remains: the
last one cannot be deactivated or given another role. A clinician has a discipline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import peewee as pw

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import Conflict, NotFound, ValidationError
from teamdash.services import accounts, auth, row_ops
from teamdash.services.auth import SYSTEM, Actor
from teamdash.storage import db
from teamdash.storage.db import database
from teamdash.storage.models import User
from teamdash.text import initials

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    full_name: str
    discipline: str | None
    role: str
    is_case_manager: bool
    active: bool
    has_password: bool = False
    locked_until: dt.datetime | None = None
    must_change_password: bool = False
    last_sign_in_at: dt.datetime | None = None
    version: int = 1

    @property
    def initials(self) -> str:
        return initials(self.full_name)

    @property
    def role_label(self) -> str:
        return auth.ROLE_LABELS.get(self.role, self.role)

    def locked(self, now: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _result(user: User) -> StaffMember:
    return StaffMember(
        user.id,
        user.username,
        user.full_name,
        user.__data__.get("discipline"),
        user.role,
        user.is_case_manager,
        user.active,
        bool(user.password_hash),
        user.locked_until,
        bool(user.must_change_password),
        user.last_sign_in_at,
        user.version,
    )


def _clean_role(role: str, discipline: str | None) -> tuple[str, str | None]:
    role = validation.choice(role, "role", auth.ROLES)
    if discipline in ("", None):
        discipline = None
    else:
        discipline = validation.choice(discipline, "discipline", disciplines.codes())
    if role == auth.CLINICIAN and discipline is None:
        raise ValidationError(
            "a clinician needs a discipline (their records are that discipline's)", field="discipline"
        )
    return role, discipline


NEW_FIELDS = ("username", "full_name", "role", "discipline", "is_case_manager", "active")


def validate_new(values: dict) -> dict:
    """``create_user``'s checks on one new staff member's fields, without writing (an
    import checks every row before it adds any): the username rule, the name, a role
    and (for a clinician) a discipline. Returns the clean column values; raises
    ``ValidationError`` naming the field."""
    unknown = set(values) - set(NEW_FIELDS)
    if unknown:
        raise ValidationError(f"unknown staff field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    username = (validation.text(values.get("username"), "username", max_length=64) or "").lower()
    if not USERNAME.match(username):
        raise ValidationError(
            f"{username!r} must start with a letter and use only a-z, 0-9, '.', '_' or '-'", field="username"
        )
    role, discipline = _clean_role(values.get("role") or auth.CLINICIAN, values.get("discipline"))
    return {
        "username": username,
        "full_name": validation.text(values.get("full_name"), "full_name", max_length=120),
        "role": role,
        "discipline": discipline,
        "is_case_manager": bool(values.get("is_case_manager")),
        "active": values.get("active") is not False,
    }


def create_user(
    actor: Actor,
    *,
    username: str,
    full_name: str,
    role: str = "clinician",
    discipline: str | None = None,
    is_case_manager: bool = False,
    password: str | None = None,
    must_change_password: bool = True,
) -> StaffMember:
    """Add a member of staff. With ``password`` they can sign in (and choose their own
    password at the first sign-in unless ``must_change_password`` is off)."""
    auth.require(actor, "manage_users")
    return _create(actor, username, full_name, role, discipline, is_case_manager, password, must_change_password)


def _create(
    actor: Actor,
    username: str,
    full_name: str,
    role: str,
    discipline: str | None,
    is_case_manager: bool,
    password: str | None,
    must_change_password: bool,
) -> StaffMember:
    values = validate_new(
        {
            "username": username,
            "full_name": full_name,
            "role": role,
            "discipline": discipline,
            "is_case_manager": is_case_manager,
        }
    )
    if password is not None:
        accounts.check_password(password, username=values["username"], full_name=values["full_name"])
        values.update(
            password_hash=accounts.hash_password(password),
            password_changed_at=clock.now(),
            must_change_password=bool(must_change_password),
        )
    with database.atomic():
        _check_free(values["username"])
        row = row_ops.create_audited(actor, User, values, action="user.create")
    return _result(row)


def create_first_administrator(*, username: str, full_name: str, password: str) -> StaffMember:
    """First start: the clinic's first administrator, who then adds everyone else.
    Refused once an administrator who can sign in exists."""
    db.require_writable()
    with database.atomic():
        if accounts.has_administrator():
            raise Conflict("this clinic already has an administrator: sign in and add staff in File → Staff…")
        return _create(SYSTEM, username, full_name, auth.ADMIN, None, False, password, False)


def _other_active_admins(user_id: int) -> bool:
    return (
        User.select()
        .where((User.role == auth.ADMIN) & (User.active == True) & (User.id != user_id))  # noqa: E712
        .exists()
    )


def update_user(
    actor: Actor,
    user_id: int,
    expected_version: int,
    *,
    full_name: str | None = None,
    role: str | None = None,
    discipline: str | None | Literal[False] = False,
    is_case_manager: bool | None = None,
) -> StaffMember:
    """Change a member of staff's name, role, discipline (None clears it; leave out to
    keep it) or case-manager flag."""
    auth.require(actor, "manage_users")
    with database.atomic():
        current = row_ops.get_row(User, user_id, "staff member")
        changes: dict = {}
        if full_name is not None:
            changes["full_name"] = validation.text(full_name, "full_name", max_length=120)
        new_role = role if role is not None else current.role
        new_discipline = current.__data__.get("discipline") if discipline is False else discipline
        new_role, new_discipline = _clean_role(new_role, new_discipline)
        if new_role != current.role:
            if current.role == auth.ADMIN and current.active and not _other_active_admins(user_id):
                raise ValidationError(
                    "the last active administrator keeps that role (make someone else an administrator first)",
                    field="role",
                )
            changes["role"] = new_role
        if new_discipline != current.__data__.get("discipline"):
            changes["discipline"] = new_discipline
        if is_case_manager is not None:
            changes["is_case_manager"] = bool(is_case_manager)
        if changes:
            row_ops.update_versioned(
                actor, User, user_id, expected_version, changes, what="staff member", action="user.update"
            )
    return get_user(actor, user_id)


def set_active(actor: Actor, user_id: int, active: bool) -> StaffMember:
    """Deactivate (the account can no longer sign in; its name stays on everything it
    recorded) or reactivate a member of staff."""
    auth.require(actor, "manage_users")
    with database.atomic():
        current = row_ops.get_row(User, user_id, "staff member")
        if current.active == active:
            return _result(current)
        if not active:
            if user_id == actor.user_id:
                raise ValidationError("you cannot deactivate your own account", field="active")
            if current.role == auth.ADMIN and not _other_active_admins(user_id):
                raise ValidationError("the last active administrator cannot be deactivated", field="active")
        row_ops.update_versioned(
            actor,
            User,
            user_id,
            current.version,
            {"active": active, "failed_sign_ins": 0, "locked_until": None},
            what="staff member",
            action="user.reactivate" if active else "user.deactivate",
        )
    return get_user(actor, user_id)


def create_users(actor: Actor, rows: Sequence[dict], *, action: str = "user.import") -> list[StaffMember]:
    """Add many staff members at once (an import): each row as ``validate_new`` returns
    it. One transaction, one audit event per person; a username already taken raises
    ``Conflict`` and adds nobody."""
    auth.require(actor, "import")  # bulk paths serve imports (see auth: bulk writes)
    auth.require(actor, "manage_users")
    out = []
    with database.atomic():
        for values in rows:
            clean = validate_new(values)
            _check_free(clean["username"])
            out.append(_result(row_ops.create_audited(actor, User, clean, action=action)))
    return out


def _check_free(username: str) -> None:
    if User.select().where(User.username == username).exists():
        raise Conflict(f"username {username!r} is already taken")


def list_staff(actor: Actor, *, include_inactive: bool = False) -> list[StaffMember]:
    auth.require(actor, "read")
    query = User.select().order_by(User.full_name)
    if not include_inactive:
        query = query.where(User.active == True)  # noqa: E712
    return [_result(u) for u in query]


def case_managers(actor: Actor) -> list[StaffMember]:
    return [s for s in list_staff(actor) if s.is_case_manager]


def get_user(actor: Actor, user_id: int) -> StaffMember:
    auth.require(actor, "read")
    return _result(row_ops.get_row(User, user_id, "user"))


def find_by_username(actor: Actor, username: str) -> StaffMember | None:
    auth.require(actor, "read")
    user = User.get_or_none(User.username == username.strip().lower())
    return _result(user) if user else None


def find_by_name(actor: Actor, full_name: str) -> StaffMember | None:
    """The staff member with this full name (case-insensitive), for CLI filters."""
    auth.require(actor, "read")
    user = User.get_or_none(pw.fn.LOWER(User.full_name) == full_name.strip().lower())
    return _result(user) if user else None


def find(actor: Actor, name_or_username: str) -> StaffMember:
    """The staff member a command-line filter names, by full name or username; raises
    ``NotFound`` naming what was given."""
    wanted = name_or_username.strip()
    found = find_by_name(actor, wanted)
    if found is None:
        user = User.get_or_none(User.username == wanted.lower())
        found = _result(user) if user else None
    if found is None:
        raise NotFound(f"no staff member with the name or username {wanted!r}")
    return found
