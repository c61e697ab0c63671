"""Who is acting. Every service call takes an ``Actor`` so that role checks and the
audit trail need no change at call sites when users, passwords and auto-lock arrive."""

from __future__ import annotations

from dataclasses import dataclass

from teamdash.errors import NotFound, PermissionDenied
from teamdash.storage import db
from teamdash.storage.models import User

# What each role may do. Reading is open to every signed-in role; the users/roles
# issue refines this (per-discipline writes, admin-only user management).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write_clinical", "write_patient", "manage_users", "export", "import", "backup"}),
    "case_manager": frozenset({"read", "write_clinical", "write_patient", "export", "import", "backup"}),
    "clinician": frozenset({"read", "write_clinical", "export"}),
    "viewer": frozenset({"read"}),
}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    display_name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


# The command line and maintenance jobs act as the system; the audit trail says so.
SYSTEM = Actor(user_id=None, username="system", display_name="TeamDash (system)", role="admin")


# Permissions that only read the database; every other one writes, and is refused up
# front on a read-only database (before any work, with a message saying why).
READING = frozenset({"read", "export", "backup"})


def require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"{actor.display_name} ({actor.role}) may not {permission.replace('_', ' ')}")
    if permission not in READING and db.is_open():
        db.require_writable()


def actor_for(username: str) -> Actor:
    """The active staff member with this username, as an Actor."""
    user = User.get_or_none((User.username == username) & (User.active == True))  # noqa: E712
    if user is None:
        raise NotFound(f"no active user {username!r}")
    return Actor(user.id, user.username, user.full_name, user.role)
