"""Staff: clinicians, case managers and administrators."""

from __future__ import annotations

import re
from dataclasses import dataclass

import peewee as pw

from teamdash import validation
from teamdash.clinical import disciplines
from teamdash.errors import Conflict, NotFound, ValidationError
from teamdash.services import auth, row_ops
from teamdash.services.auth import Actor
from teamdash.storage.db import database
from teamdash.storage.models import User

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

    @property
    def initials(self) -> str:
        return initials(self.full_name)


def initials(full_name: str) -> str:
    return "".join(part[0].upper() for part in full_name.replace("-", " ").split() if part[0].isalpha())


def _result(user: User) -> StaffMember:
    return StaffMember(
        user.id,
        user.username,
        user.full_name,
        user.__data__.get("discipline"),
        user.role,
        user.is_case_manager,
        user.active,
    )


def create_user(
    actor: Actor,
    *,
    username: str,
    full_name: str,
    role: str = "clinician",
    discipline: str | None = None,
    is_case_manager: bool = False,
) -> StaffMember:
    auth.require(actor, "manage_users")
    username = validation.text(username, "username", max_length=64).lower()
    if not USERNAME.match(username):
        raise ValidationError(
            f"{username!r} must start with a letter and use only a-z, 0-9, '.', '_' or '-'", field="username"
        )
    full_name = validation.text(full_name, "full_name", max_length=120)
    role = validation.choice(role, "role", disciplines.vocabulary("roles"))
    if discipline is not None:
        discipline = validation.choice(discipline, "discipline", disciplines.codes())
    with database.atomic():
        if User.select().where(User.username == username).exists():
            raise Conflict(f"username {username!r} is already taken")
        row = row_ops.create_audited(
            actor,
            User,
            {
                "username": username,
                "full_name": full_name,
                "role": role,
                "discipline": discipline,
                "is_case_manager": bool(is_case_manager),
            },
            action="user.create",
        )
    return _result(row)


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
