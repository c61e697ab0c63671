"""The core commands: demo, patients, check, backup, score, instruments."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from teamdash import clock, demo, validation
from teamdash.cli.registry import command
from teamdash.cli.session import open_database
from teamdash.clinical import instruments
from teamdash.errors import DatabaseCorrupt, NotFound
from teamdash.services import maintenance, patients, staff
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, migrations

EXIT_PROBLEMS = 2


def print_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patients", type=int, default=60, help="number of patients (default 60)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same clinic)")
    parser.add_argument("--today", help="date the clinic is generated for (default: today), YYYY-MM-DD")
    parser.add_argument(
        "--encrypt",
        action="store_true",
        help=f"create the file encrypted (passphrase from ${db.ENV_PASSPHRASE} or asked for twice)",
    )


@command("demo", help="fill the database with a synthetic demo clinic", arguments=_demo_arguments)
def _demo(args: argparse.Namespace) -> int:
    target = db.parse_url(args.db or db.default_url())
    if args.encrypt and target.path is not None and not target.path.exists():
        from teamdash.cli.security import new_passphrase

        open_clinic(args.db, create=True, passphrase=new_passphrase(), encrypt=True)
    else:
        open_database(args.db, create=True)
    today = validation.date(args.today, "--today") if args.today else clock.today()
    report = demo.generate(SYSTEM, patients=args.patients, seed=args.seed, today=today)
    print(
        f"demo clinic: {report.patients} patients, {report.staff} staff, {report.measurements} measurements, "
        f"{report.sessions} sessions in {db.info().display}"
    )
    print(f"demo accounts (e.g. ckestrel, an administrator) sign in with the password {demo.DEMO_PASSWORD!r}")
    return 0


def _patients_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--search", default="", help="name or clinic ID (every word must match)")
    parser.add_argument("--status", choices=["active", "discharged", "dropped_out"])
    parser.add_argument("--case-manager", metavar="NAME", help="case manager's full name")
    parser.add_argument("--flagged", action="store_true", help="only patients with a flag")
    parser.add_argument("--due", action="store_true", help="only patients due for check-in")
    parser.add_argument(
        "--sort", default="name", help="clinic_id|name|age|case_manager|weeks|status|next_checkin|pain|disability|flags"
    )
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print a JSON list")


@command("patients", help="list patients", arguments=_patients_arguments)
def _patients(args: argparse.Namespace) -> int:
    open_database(args.db)
    manager_id = None
    if args.case_manager:
        manager = staff.find_by_name(SYSTEM, args.case_manager)
        if manager is None:
            raise NotFound(f"no staff member named {args.case_manager!r}")
        manager_id = manager.id
    query = patients.PatientQuery(
        search=args.search,
        status=args.status,
        case_manager_id=manager_id,
        flagged=args.flagged,
        due_for_checkin=args.due,
        sort=args.sort,
        descending=args.desc,
        limit=args.limit,
    )
    rows = patients.list_patients(SYSTEM, query).rows
    if args.json:
        print_json([_patient_json(r) for r in rows])
        return 0
    for r in rows:
        flags = ",".join(f.kind for f in r.flags)
        print(f"{r.clinic_id:<10} {r.full_name:<28} {r.status:<11} {r.case_manager or '-':<22} {flags}")
    return 0


def _patient_json(r) -> dict:
    return {
        "id": r.id,
        "clinic_id": r.clinic_id,
        "name": r.full_name,
        "age": r.age,
        "status": r.status,
        "case_manager": r.case_manager,
        "weeks_in_programme": r.weeks_in_programme,
        "next_checkin": r.next_checkin.isoformat() if r.next_checkin else None,
        "pain": r.pain_latest,
        "disability": {"instrument": r.disability_instrument, "value": r.disability_latest, "band": r.disability_band},
        "flags": [{"kind": f.kind, "reason": f.reason} for f in r.flags],
    }


@command("check", help="integrity check and schema state")
def _check(args: argparse.Namespace) -> int:
    try:
        info = open_database(args.db)
    except DatabaseCorrupt as exc:  # too damaged to open: that is the finding
        print(f"database: {db.parse_url(args.db or db.default_url()).display}")
        print(f"problem: {exc}")
        return EXIT_PROBLEMS
    state = migrations.state()
    problems = db.integrity_problems()
    print(f"database: {info.display}" + (f" (read-only: {info.read_only_reason})" if info.read_only else ""))
    print(
        f"schema: version {state.current} of {state.latest} ({'up to date' if state.up_to_date else 'needs migration'})"
    )
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found; restore the latest backup")
        return EXIT_PROBLEMS
    print("integrity: ok")
    return 0


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE", help="the backup file to write")
    where.add_argument(
        "--auto",
        action="store_true",
        help="today's automatic backup into the clinic's backup folder (if not taken yet), then rotation",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace FILE if it exists; with --auto: even if taken today"
    )


@command("backup", help="online backup of the database, checked after writing", arguments=_backup_arguments)
def _backup(args: argparse.Namespace) -> int:
    open_database(args.db)
    if args.auto:
        done = maintenance.daily_backup(SYSTEM, force=args.force)
        if done is None:
            print("today's automatic backup was already taken (use --force for another)")
            return 0
        removed = f"; rotated out {len(done.removed)} older" if done.removed else ""
        print(f"backup written to {done.path}{removed}")
        return 0
    dest = maintenance.take_backup(SYSTEM, args.out, force=args.force)
    print(f"backup written to {dest}")
    return 0


def _score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instrument", metavar="INSTRUMENT_ID")
    parser.add_argument("--responses", required=True, help='responses in item order, e.g. "1,2,,3" (empty = missing)')
    parser.add_argument("--json", action="store_true")


@command("score", help="score an instrument from item responses", arguments=_score_arguments)
def _score(args: argparse.Namespace) -> int:
    result = instruments.score(args.instrument, instruments.parse_responses(args.responses))
    if args.json:
        print_json(instruments.result_json(result))
        return 0
    definition = instruments.get(args.instrument)
    total = "n/a" if result.total is None else f"{result.total:.{definition.decimals}f}"
    print(f"{definition.name}: {total}" + (f" ({result.band})" if result.band else ""))
    for name, value in {**result.subscales, **result.components, **result.derived}.items():
        print(f"  {name}: {value}")
    if result.missing_items:
        print(f"  missing items: {', '.join(map(str, result.missing_items))}")
    for flag in result.flags:
        print(f"  {flag.kind.upper()}: {flag.reason}")
    return 0


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


@command("instruments", help="list the instrument library", arguments=_json_flag)
def _instruments(args: argparse.Namespace) -> int:
    library = sorted(instruments.library().values(), key=lambda i: (i.discipline, i.id))
    if args.json:
        print_json(
            [
                {"id": i.id, "name": i.name, "discipline": i.discipline, "items": len(i.items), "licence": i.licence}
                for i in library
            ]
        )
        return 0
    for i in library:
        print(f"{i.id:<16} {i.name:<48} {i.discipline:<11} {len(i.items):>3} items  {i.licence}")
    return 0
