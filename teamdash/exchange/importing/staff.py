"""The Staff sheet: usernames, names, roles. A username already present is matched, not
added again; new staff are added only by an administrator (``staff.create_users``)."""

from __future__ import annotations

from teamdash.exchange.importing.cells import as_bool
from teamdash.exchange.importing.context import Kind, Plan, Run
from teamdash.exchange.importing.fields import field
from teamdash.exchange.importing.reading import Table
from teamdash.exchange.importing.report import SheetReport
from teamdash.services import staff

FIELDS = (
    field("username", "Username", True, "user", "login", "user name"),
    field("full_name", "Full name", True, "name", "staff name"),
    field("role", "Role", False),
    field("discipline", "Discipline", False),
    field("is_case_manager", "Case manager", False, "is case manager"),
    field("active", "Active", False),
)


def load(run: Run, table: Table, plan: Plan, sheet: SheetReport) -> None:
    can_add = run.actor.can("manage_users")
    new: list[dict] = []
    for row in run.checked_rows(table, plan, sheet):
        username = (row.text("username") or "").lower()
        if row.ok and username in run.staff_by_username:
            sheet.skipped += 1  # already present: matched, not added again
            continue
        values = {
            "username": username,
            "full_name": row.text("full_name"),
            "role": row.text("role"),
            "discipline": run.discipline(row.text("discipline")),
            "is_case_manager": row.read("is_case_manager", as_bool),
            "active": row.read("active", as_bool),
        }
        clean = row.check(staff.validate_new, values) if row.ok else None
        if clean is not None and not can_add:
            row.fail(
                "username", f"unknown staff member {username!r}: only an administrator may add staff", "unknown_staff"
            )
        if clean is None or not row.ok:
            run.reject(sheet, row)
            continue
        new.append(clean)
        sheet.imported += 1
        # Later rows and sheets refer to them by name; their ids come when they are written.
        run.remember_staff(None, username, clean["full_name"], clean["is_case_manager"], clean["active"])
    if new and run.writing:
        for member in staff.create_users(run.actor, new):
            run.remember_staff(member.id, member.username, member.full_name, member.is_case_manager, member.active)


KIND = Kind(
    name="staff",
    label="Staff",
    nouns=("staff member", "staff members"),
    sheet_names=("staff", "users"),
    fields=FIELDS,
    load=load,
)
