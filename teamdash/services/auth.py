"""Who is acting, and what their role lets them do.

Every service call takes an ``Actor`` and checks it with one line::

    auth.require(actor, "write_clinical", discipline="pt")            # a PT record
    auth.require(actor, "write_clinical", discipline=d, patient_id=p)  # a measure: own discipline or a patient they treat
    auth.require(actor, "write_clinical", patient_id=p)                # a flare or note: any patient they treat
    auth.require(actor, "write_checkin")                               # a role-wide permission

The role matrix (``ROLE_PERMISSIONS``) says which permissions a role holds at all;
``SCOPED`` says where a role holds a permission only for its own discipline and for
the patients it treats. Administrators hold everything without scope. The UI asks the
same rules through ``allows`` (no database access) to hide what a role cannot do; the
services refuse it anyway.

Bulk writes (``patients.create_many``, ``measurements.record_many``,
``RecordKind.add_many``, …) serve imports: they require ``import`` and the record's own
permission held by the role, without discipline scope (an import brings a whole clinic's
records, and only case managers and administrators may import). Staff still need
``manage_users`` to be added.
"""

from __future__ import annotations

from dataclasses import dataclass

from teamdash.clinical import disciplines
from teamdash.errors import NotFound, PermissionDenied
from teamdash.storage import db
from teamdash.storage.models import Session, User

ADMIN, CASE_MANAGER, CLINICIAN, VIEWER = "admin", "case_manager", "clinician", "viewer"
ROLES: tuple[str, ...] = (ADMIN, CASE_MANAGER, CLINICIAN, VIEWER)
ROLE_LABELS = {ADMIN: "Administrator", CASE_MANAGER: "Case manager", CLINICIAN: "Clinician", VIEWER: "Read-only"}

# What each permission means (the staff screen and the README show these words).
PERMISSIONS: dict[str, str] = {
    "read": "read patients' records",
    "write_clinical": "write clinical records (sessions, measures, goals, plans, flares, diaries)",
    "write_patient": "register, edit, discharge and readmit patients",
    "write_checkin": "save team check-ins",
    "write_actions": "write team decisions and action items",
    "export": "export identified workbooks",
    "export_deidentified": "run de-identified research exports",
    "import": "import spreadsheets",
    "backup": "take backups",
    "restore": "restore a backup",
    "manage_users": "add staff, set roles, reset passwords, deactivate accounts",
    "manage_settings": "change the clinic's security and backup settings",
    "view_audit": "read the audit trail",
}

# Reading is open to every signed-in role; read-only users write nothing.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset(PERMISSIONS),
    CASE_MANAGER: frozenset(
        {"read", "write_clinical", "write_patient", "write_checkin", "write_actions", "export", "import", "backup"}
    ),
    CLINICIAN: frozenset({"read", "write_clinical", "export"}),
    VIEWER: frozenset({"read"}),
}

# Permissions a role holds only within its discipline and for the patients it treats.
# A case manager who is also a discipline's clinician (a social worker) writes that
# discipline's records; one without a discipline writes no clinical records.
SCOPED: dict[str, frozenset[str]] = {
    CASE_MANAGER: frozenset({"write_clinical"}),
    CLINICIAN: frozenset({"write_clinical"}),
}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    display_name: str
    role: str
    discipline: str | None = None

    def can(self, permission: str) -> bool:
        """Whether the role holds ``permission`` at all (in some scope)."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def description(self) -> str:
        """'Riley Brightwater (clinician, Physical therapy)': who, for messages and the status bar."""
        what = self.role_label.lower()
        if self.discipline:
            what += f", {discipline_name(self.discipline)}"
        return f"{self.display_name} ({what})"


# The command line and maintenance jobs act as the system; the audit trail says so.
SYSTEM = Actor(user_id=None, username="system", display_name="TeamDash (system)", role=ADMIN)


# Permissions that only read the database; every other one writes, and is refused up
# front on a read-only database (before any work, with a message saying why).
READING = frozenset({"read", "export", "export_deidentified", "backup", "view_audit"})


def discipline_name(code: str | None) -> str:
    if code is None:
        return "no discipline"
    try:
        return disciplines.get(code).name
    except NotFound:
        return code


def is_scoped(actor: Actor, permission: str) -> bool:
    return permission in SCOPED.get(actor.role, frozenset())


def allows(actor: Actor, permission: str, *, discipline: str | None = None, treating: bool = False) -> bool:
    """The rule without the database: ``treating`` says whether the actor treats the
    patient concerned (``treats``), for checks that name a patient."""
    if not actor.can(permission):
        return False
    if not is_scoped(actor, permission):
        return True
    if discipline is not None and discipline == actor.discipline:
        return True
    return treating


def treats(actor: Actor, patient_id: int) -> bool:
    """Whether the actor treats the patient: a session (held or booked) with them as
    the clinician, or in their discipline."""
    if actor.user_id is None:
        return False
    who = Session.clinician == actor.user_id
    if actor.discipline:
        who = who | (Session.discipline == actor.discipline)
    return Session.select().where((Session.patient == patient_id) & who).exists()


def require(actor: Actor, permission: str, *, discipline: str | None = None, patient_id: int | None = None) -> None:
    """Refuse unless the actor may ``permission``. For a permission the role holds only
    in scope: ``discipline`` names the discipline the record belongs to (allowed for
    that discipline's staff); ``patient_id`` names the patient when treating them is
    enough (measures, flares, notes). With neither, the role holding the permission
    at all is enough (callers that write records of a discipline must name it)."""
    if not actor.can(permission):
        raise PermissionDenied(f"{actor.description} may not {PERMISSIONS.get(permission, permission)}")
    if permission not in READING and db.is_open():
        db.require_writable()
    if not is_scoped(actor, permission) or (discipline is None and patient_id is None):
        return
    if discipline is not None and discipline == actor.discipline:
        return
    if patient_id is not None and treats(actor, patient_id):
        return
    if patient_id is None:
        raise PermissionDenied(f"{actor.description} may not write {discipline_name(discipline)} records")
    if discipline is None:
        raise PermissionDenied(f"{actor.description} may only write this for patients they treat")
    raise PermissionDenied(
        f"{actor.description} may not write {discipline_name(discipline)} records for a patient they do not treat"
    )


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.username, user.full_name, user.role, user.__data__.get("discipline"))


def actor_for(username: str) -> Actor:
    """The active staff member with this username, as an Actor."""
    user = User.get_or_none((User.username == username) & (User.active == True))  # noqa: E712
    if user is None:
        raise NotFound(f"no active user {username!r}")
    return actor_of(user)
