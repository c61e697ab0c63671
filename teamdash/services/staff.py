"""Staff: clinicians, case managers and administrators."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import peewee as pw

from teamdash import validation
from teamdash.clinical import disciplines
from teamdash.errors import Conflict, ValidationError
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


NEW_FIELDS = ("username", "full_name", "role", "discipline", "is_case_manager", "active")


def validate_new(values: dict) -> dict:
    """``create_user``'s checks on one new staff member's fields, without writing (an
    import checks every row before it adds any). Returns the clean column values; raises
    ``ValidationError`` naming the field."""
    unknown = set(values) - set(NEW_FIELDS)
    if unknown:
        raise ValidationError(f"unknown staff field(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    username = (validation.text(values.get("username"), "username", max_length=64) or "").lower()
    if not USERNAME.match(username):
        raise ValidationError(
            f"{username!r} must start with a letter and use only a-z, 0-9, '.', '_' or '-'", field="username"
        )
    discipline = values.get("discipline")
    if discipline is not None:
        discipline = validation.choice(discipline, "discipline", disciplines.codes())
    return {
        "username": username,
        "full_name": validation.text(values.get("full_name"), "full_name", max_length=120),
        "role": validation.choice(values.get("role") or "clinician", "role", disciplines.vocabulary("roles")),
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
) -> StaffMember:
    auth.require(actor, "manage_users")
    clean = validate_new(
        {
            "username": username,
            "full_name": full_name,
            "role": role,
            "discipline": discipline,
            "is_case_manager": is_case_manager,
        }
    )
    with database.atomic():
        _check_free(clean["username"])
        row = row_ops.create_audited(actor, User, clean, action="user.create")
    return _result(row)


def create_users(actor: Actor, rows: Sequence[dict], *, action: str = "user.import") -> list[StaffMember]:
    """Add many staff members at once (an import): each row as ``validate_new`` returns
    it. One transaction, one audit event per person; a username already taken raises
    ``Conflict`` and adds nobody."""
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


def find_by_name(actor: Actor, full_name: str) -> StaffMember | None:
    """The active staff member with this full name (case-insensitive), for CLI filters."""
    auth.require(actor, "read")
    user = User.get_or_none(pw.fn.LOWER(User.full_name) == full_name.strip().lower())
    return _result(user) if user else None
