"""The core commands: demo, patients, check, backup, score, instruments."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from teamdash import clock, demo, validation
from teamdash.cli.registry import command
from teamdash.clinical import disciplines, instruments
from teamdash.errors import DatabaseCorrupt, ValidationError
from teamdash.services import patients, staff
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db, health, migrations

EXIT_PROBLEMS = 2
DEFAULT_LIST_LIMIT = 1000


def print_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patients", type=int, default=60, help="number of patients (default 60)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same clinic)")
    parser.add_argument("--today", help="date the clinic is generated for (default: today), YYYY-MM-DD")


@command("demo", help="fill the database with a synthetic demo clinic", arguments=_demo_arguments)
def _demo(args: argparse.Namespace) -> int:
    open_clinic(args.db, create=True)
    today = validation.date(args.today, "--today") if args.today else clock.today()
    report = demo.generate(SYSTEM, patients=args.patients, seed=args.seed, today=today)
    print(
        f"demo clinic: {report.patients} patients, {report.staff} staff, {report.measurements} measurements, "
        f"{report.sessions} sessions in {db.info().display}"
    )
    return 0


def _patients_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--search", default="", help="name or clinic ID (every word must match; case and accents ignored)"
    )
    parser.add_argument("--status", choices=disciplines.vocabulary("patient_status"))
    parser.add_argument("--case-manager", metavar="NAME", help="case manager's full name or username")
    parser.add_argument("--flagged", action="store_true", help="only patients with a flag")
    parser.add_argument("--due", action="store_true", help="only patients due for check-in")
    parser.add_argument(
        "--sort",
        default="name",
        choices=patients.SORT_KEYS,
        metavar="KEY",
        help=f"sort key: {'|'.join(patients.SORT_KEYS)} (default name)",
    )
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIST_LIMIT,
        metavar="N",
        help=f"at most N patients (default {DEFAULT_LIST_LIMIT}; 0 = all, read page by page)",
    )
    parser.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N patients")
    parser.add_argument("--json", action="store_true", help="print a JSON list")


@command("patients", help="list patients", arguments=_patients_arguments)
def _patients(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise ValidationError("--limit cannot be negative (0 lists everyone)", field="--limit")
    if args.offset < 0:
        raise ValidationError("--offset cannot be negative", field="--offset")
    open_clinic(args.db)
    query = patients.PatientQuery(
        search=args.search,
        status=args.status,
        case_manager_id=staff.find(SYSTEM, args.case_manager).id if args.case_manager else None,
        flagged=args.flagged,
        due_for_checkin=args.due,
        sort=args.sort,
        descending=args.desc,
    )
    total = patients.count_patients(SYSTEM, query)
    rows = _patient_rows(query, args.offset, args.limit)
    if args.json:
        print_json([_patient_json(r) for r in rows])
    else:
        _print_patient_table(rows)
    shown_to = args.offset + len(rows)
    if shown_to < total:
        print(
            f"showing patients {args.offset + 1:,}–{shown_to:,} of {total:,}; "
            f"the next page: --offset {shown_to}, or --limit 0 for all",
            file=sys.stderr,
        )
    return 0


def _patient_rows(query: patients.PatientQuery, offset: int, limit: int) -> list[patients.PatientRow]:
    """``limit`` rows from ``offset`` (0 = all), fetched a page at a time."""
    rows: list[patients.PatientRow] = []
    while limit == 0 or len(rows) < limit:
        want = patients.MAX_PAGE if limit == 0 else min(patients.MAX_PAGE, limit - len(rows))
        page = patients.list_patients(SYSTEM, dataclasses.replace(query, offset=offset + len(rows), limit=want))
        rows.extend(page.rows)
        if not page.has_more:
            break
    return rows


def _flag_kinds(row: patients.PatientRow) -> str:
    return ",".join(dict.fromkeys(f.kind for f in row.flags))  # each kind once, safety first


def _print_patient_table(rows: list[patients.PatientRow]) -> None:
    print(f"{'CLINIC ID':<10} {'NAME':<28} {'STATUS':<11} {'CASE MANAGER':<22} FLAGS")
    for r in rows:
        print(f"{r.clinic_id:<10} {r.full_name:<28} {r.status:<11} {r.case_manager or '-':<22} {_flag_kinds(r)}")


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


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--counts", action="store_true", help="print the number of rows in every table")


@command(
    "check",
    help="create or upgrade the schema, then check it: integrity, tables, keys, search index, row counts",
    arguments=_check_arguments,
)
def _check(args: argparse.Namespace) -> int:
    try:
        # An empty PostgreSQL database (created by its administrator) gets the schema
        # here; an SQLite file must exist (a mistyped path creates nothing).
        info = open_clinic(args.db)
    except DatabaseCorrupt as exc:  # too damaged to open: that is the finding
        print(f"database: {db.parse_url(args.db or db.default_url()).display}")
        print(f"problem: {exc}")
        return EXIT_PROBLEMS
    state = migrations.state()
    problems = health.problems()
    print(f"database: {info.display}" + (f" (read-only: {info.read_only_reason})" if info.read_only else ""))
    print(
        f"schema: version {state.current} of {state.latest} ({'up to date' if state.up_to_date else 'needs migration'})"
    )
    if not problems:
        counts = health.row_counts()
        patients_count = next((c.rows for c in counts if c.table == "patient"), 0)
        print(
            f"tables: {len(counts)} present, {patients_count:,} patients, {sum(c.rows for c in counts):,} rows in all"
        )
        if args.counts:
            for c in counts:
                print(f"  {c.table:<28} {c.rows:>12,}")
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found; restore the latest backup")
        return EXIT_PROBLEMS
    print("integrity: ok")
    return 0


def _backup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="the backup file to write")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")


@command("backup", help="online backup of the database", arguments=_backup_arguments)
def _backup(args: argparse.Namespace) -> int:
    open_clinic(args.db)
    dest = db.backup(args.out, force=args.force)
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
