"""Accounts, audit trail, encryption and restore on the command line:
``init``, ``user add|passwd|deactivate|reactivate|unlock|list``, ``audit [verify]``,
``restore``, ``passphrase``, ``settings``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from teamdash import clock, validation
from teamdash.cli.registry import Parser, command
from teamdash.cli.session import authenticate, open_database, prompt_new_secret, prompt_secret
from teamdash.errors import NotFound, TeamDashError, ValidationError
from teamdash.services import accounts, audit, auth, clinic_settings, maintenance, patients, staff
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import backups, db

EXIT_PROBLEMS = 2


def _print_json(data) -> None:
    import json

    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="database URL")


def _as_option(parser: argparse.ArgumentParser, who: str = "an administrator") -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help=f"act as this member of staff ({who}); the password is asked for",
    )


def new_passphrase() -> str:
    """A new database passphrase: $TEAMDASH_DB_PASSPHRASE, else asked for twice."""
    passphrase = os.environ.get(db.ENV_PASSPHRASE) or prompt_new_secret("New database passphrase")
    return db.check_passphrase(passphrase)


# --- init -------------------------------------------------------------------------------


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encrypt",
        action="store_true",
        help=f"encrypt the file with SQLCipher; the passphrase comes from ${db.ENV_PASSPHRASE} or is asked for twice",
    )


@command("init", help="create a new, empty clinic database (optionally encrypted)", arguments=_init_arguments)
def _init(args: argparse.Namespace) -> int:
    target = db.parse_url(getattr(args, "db", None) or db.default_url())
    if target.path is not None and target.path.exists():
        raise ValidationError(f"{target.path} already exists; choose another file with --db", field="--db")
    passphrase = new_passphrase() if args.encrypt else None
    info = open_clinic(getattr(args, "db", None), create=True, passphrase=passphrase, encrypt=args.encrypt)
    print(f"created an empty clinic database{' (encrypted)' if info.encrypted else ''}: {info.display}")
    print("next: create its administrator with  teamdash user add USERNAME --name 'Full Name' --admin")
    return 0


# --- user -------------------------------------------------------------------------------


def _user_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_command", metavar="ACTION", parser_class=Parser, required=True)
    add = sub.add_parser("add", help="add a member of staff (their first password is asked for)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name, as shown on everything they record")
    add.add_argument("--role", choices=auth.ROLES, default=auth.CLINICIAN)
    add.add_argument("--admin", action="store_true", help="an administrator (the first one needs no --as)")
    add.add_argument("--discipline", help="pt|psychology|nutrition|sleep|social (clinicians need one)")
    add.add_argument("--case-manager", action="store_true", help="may be assigned as a patient's case manager")
    _as_option(add)
    passwd = sub.add_parser("passwd", help="change your password, or (with --as an administrator) reset someone else's")
    passwd.add_argument("username")
    _as_option(passwd, "an administrator resetting the password; without it you change your own")
    for name, text in (
        ("deactivate", "stop an account from signing in (its name stays on its records)"),
        ("reactivate", "let a deactivated account sign in again"),
        ("unlock", "lift a lockout after failed sign-ins"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("username")
        _as_option(action)
    listing = sub.add_parser("list", help="list the staff and their accounts")
    listing.add_argument("--all", action="store_true", help="include deactivated accounts")
    listing.add_argument("--json", action="store_true")
    for p in (add, passwd, listing, *(sub.choices[n] for n in ("deactivate", "reactivate", "unlock"))):
        _db_option(p)


def _member(username: str) -> staff.StaffMember:
    member = staff.find_by_username(SYSTEM, username)
    if member is None:
        raise NotFound(f"no member of staff with the username {username!r}")
    return member


@command(
    "user", help="manage staff accounts: add, passwd, deactivate, reactivate, unlock, list", arguments=_user_arguments
)
def _user(args: argparse.Namespace) -> int:
    open_database(getattr(args, "db", None))
    action = args.user_command
    if action == "list":
        return _user_list(args)
    if action == "add":
        return _user_add(args)
    if action == "passwd":
        return _user_passwd(args)
    actor = authenticate(args.as_user, require="manage_users")
    member = _member(args.username)
    if action == "unlock":
        accounts.unlock(actor, member.id)
        print(f"{member.username} is unlocked")
    else:
        staff.set_active(actor, member.id, action == "reactivate")
        print(f"{member.username} is {'active again' if action == 'reactivate' else 'deactivated'}")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    role = auth.ADMIN if args.admin else args.role
    first = role == auth.ADMIN and not accounts.has_administrator() and not args.as_user
    if not first and not accounts.has_administrator():
        raise TeamDashError(
            "this clinic has no administrator yet: add one first with  teamdash user add USERNAME --admin"
        )
    actor = None if first else authenticate(args.as_user, require="manage_users")
    password = prompt_new_secret(f"Password for {args.username}")
    if actor is None:
        member = staff.create_first_administrator(username=args.username, full_name=args.name, password=password)
    else:
        member = staff.create_user(
            actor,
            username=args.username,
            full_name=args.name,
            role=role,
            discipline=args.discipline,
            is_case_manager=args.case_manager,
            password=password,
        )
    changing = "" if first else "; they choose their own password at the first sign-in"
    print(f"added {member.username} ({member.role_label.lower()}){changing}")
    return 0


def _user_passwd(args: argparse.Namespace) -> int:
    member = _member(args.username)
    if args.as_user:
        actor = authenticate(args.as_user, require="manage_users")
        new = prompt_new_secret(f"New password for {member.username}")
        accounts.reset_password(actor, member.id, new)
        print(f"password of {member.username} reset; they choose their own at the next sign-in")
        return 0
    current = prompt_secret(f"Current password for {member.username}")
    new = prompt_new_secret("New password")
    actor = auth.Actor(member.id, member.username, member.full_name, member.role, member.discipline)
    accounts.change_password(actor, current, new)
    print(f"password of {member.username} changed")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    members = staff.list_staff(SYSTEM, include_inactive=args.all)
    now = clock.now()
    if args.json:
        _print_json(
            [
                {
                    "username": m.username,
                    "name": m.full_name,
                    "role": m.role,
                    "discipline": m.discipline,
                    "case_manager": m.is_case_manager,
                    "active": m.active,
                    "can_sign_in": m.has_password and m.active,
                    "locked_until": m.locked_until if m.locked(now) else None,
                    "last_sign_in": m.last_sign_in_at,
                }
                for m in members
            ]
        )
        return 0
    for m in members:
        state = (
            "deactivated"
            if not m.active
            else ("locked" if m.locked(now) else ("no password" if not m.has_password else "active"))
        )
        last = f"{m.last_sign_in_at:%Y-%m-%d %H:%M}" if m.last_sign_in_at else "never"
        print(
            f"{m.username:<16} {m.full_name:<26} {m.role_label:<14} {m.discipline or '-':<11} {state:<12} last sign-in {last}"
        )
    return 0


# --- audit ------------------------------------------------------------------------------


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", nargs="?", choices=["list", "verify"], default="list", help="list events (default) or verify the chain"
    )
    parser.add_argument("--patient", metavar="CLINIC_ID", help="who saw and changed this patient's record")
    parser.add_argument("--user", metavar="USERNAME", help="what this member of staff did")
    parser.add_argument("--action", help=f"kind of action: {'|'.join(audit.ACTION_GROUPS)}")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--against", type=Path, metavar="BACKUP", help="verify: also check that every event in this backup is unchanged"
    )


@command(
    "audit", help="list audit events (who saw and changed what), or verify the hash chain", arguments=_audit_arguments
)
def _audit(args: argparse.Namespace) -> int:
    open_database(getattr(args, "db", None))
    if args.what == "verify":
        return _audit_verify(args)
    query = audit.AuditQuery(
        patient_id=patients.find_by_clinic_id(SYSTEM, args.patient).id if args.patient else None,
        actor_id=_member(args.user).id if args.user else None,
        action=args.action,
        date_from=validation.date(args.date_from, "--from", required=False),
        date_to=validation.date(args.date_to, "--to", required=False),
        limit=args.limit,
    )
    entries = audit.search(SYSTEM, query)
    if args.json:
        _print_json(
            [
                {
                    "id": e.id,
                    "at": e.at,
                    "user": e.actor_name,
                    "workstation": e.workstation,
                    "action": e.action,
                    "patient": e.clinic_id,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                }
                for e in entries
            ]
        )
        return 0
    for e in entries:
        print(
            f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor_name:<26} {e.workstation or '-':<16} {e.clinic_id or '-':<10} {e.what}"
        )
    if not entries:
        print("no matching events", file=sys.stderr)
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    check = audit.verify_chain(SYSTEM)
    if not check.intact:
        print(f"audit chain BROKEN at event {check.broken_at}: {check.problem}")
        return EXIT_PROBLEMS
    print(
        f"audit chain intact: {check.events:,} events, head event {check.head_id} ({(check.head_digest or '')[:16]}…)"
    )
    if args.against:
        problem = _compare_with_backup(args.against)
        if problem:
            print(f"differs from the backup {args.against.name}: {problem}")
            return EXIT_PROBLEMS
        print(f"every event in the backup {args.against.name} is unchanged")
    return 0


def _compare_with_backup(path: Path) -> str | None:
    problems = backups.verify(path, passphrase=db.current_passphrase())
    if problems:
        raise ValidationError(problems[0], field="--against")
    return audit.compare_with_backup(backups.audit_digests(path, passphrase=db.current_passphrase()))


# --- restore ----------------------------------------------------------------------------


def _restore_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, metavar="FILE", help="the backup file to restore")
    _as_option(parser)


@command(
    "restore",
    help="restore a backup (administrators): checks it, keeps the current file aside, restores",
    arguments=_restore_arguments,
)
def _restore(args: argparse.Namespace) -> int:
    url = getattr(args, "db", None)
    open_database(url)
    actor = authenticate(args.as_user, require="restore")
    passphrase = db.current_passphrase()
    problems = backups.verify(args.backup, passphrase=passphrase)
    if problems and passphrase is not None and "passphrase" in problems[0]:
        passphrase = prompt_secret(f"Passphrase of the backup {args.backup.name}")
    aside = maintenance.restore_backup(actor, args.backup, passphrase=passphrase)
    print(f"restored {args.backup}; the previous database file was kept as {aside}")
    return 0


# --- passphrase -------------------------------------------------------------------------


@command("passphrase", help="change the passphrase of an encrypted database (both are asked for)")
def _passphrase(args: argparse.Namespace) -> int:
    info = open_database(getattr(args, "db", None))
    if not info.encrypted:
        raise ValidationError(
            f"{info.display} is not encrypted; encryption is chosen when a database is created (teamdash init --encrypt)",
            field="--db",
        )
    new = prompt_new_secret("New database passphrase")
    db.change_passphrase(new)
    audit.record(SYSTEM, "database.passphrase")
    print("passphrase changed: backups taken from now on use the new one; older backups keep the old one")
    return 0


# --- settings ---------------------------------------------------------------------------


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", nargs="?", choices=list(clinic_settings.SETTINGS), help="the setting to change")
    parser.add_argument("value", nargs="?", help="its new value (empty: back to the default)")
    _as_option(parser)


@command(
    "settings",
    help="show or change the clinic's settings: clinic ID pattern, auto-lock and backups",
    arguments=_settings_arguments,
)
def _settings(args: argparse.Namespace) -> int:
    open_database(getattr(args, "db", None))
    if args.key is not None:
        if args.value is None:
            raise ValidationError('give the new value ("" returns it to the default)', field=args.key)
        actor = authenticate(args.as_user, require=clinic_settings.SETTINGS[args.key].permission)
        clinic_settings.change(actor, args.key, args.value)
    current = clinic_settings.current()
    for key, definition in clinic_settings.SETTINGS.items():
        value = getattr(current, key)
        shown = value if value is not None else f"(default: {current.backup_path})"
        print(f"{key:<20} {shown!s:<36} {definition.label}")
    return 0
