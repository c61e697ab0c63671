"""The core commands: demo, patients, check, backup, score, instruments."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from teamdash import clock, demo, validation
from teamdash.cli.registry import Parser, command
from teamdash.cli.session import open_database
from teamdash.clinical import disciplines, instruments
from teamdash.errors import DatabaseCorrupt, ValidationError
from teamdash.services import maintenance, patients, staff
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
    parser.add_argument(
        "--search", default="", help="name or clinic ID (every word must match; case and accents ignored)"
    )
    parser.add_argument("--status", choices=disciplines.patient_statuses(), help="patients with this status")
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
    open_database(args.db)
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
        info = open_database(args.db)
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
    parser.add_argument(
        "--names", help='names of patient-named items in item order (PSFS activities), e.g. "Walking,Lifting,,"'
    )
    parser.add_argument("--json", action="store_true")


@command("score", help="score an instrument from item responses", arguments=_score_arguments)
def _score(args: argparse.Namespace) -> int:
    names = instruments.parse_responses(args.names) if args.names else None
    result = instruments.score(args.instrument, instruments.parse_responses(args.responses), names)
    if args.json:
        print_json(instruments.result_json(result))
        return 0
    print(score_line(instruments.get(args.instrument), result))
    for name, value in {**result.subscales, **result.components, **result.derived}.items():
        print(f"  {name}: {value}")
    if result.missing_items:
        print(f"  missing items: {', '.join(map(str, result.missing_items))}")
    for flag in result.flags:
        print(f"  {flag.kind.upper()}: {flag.reason}")
    return 0


def score_line(definition: instruments.Instrument, result: instruments.ScoreResult) -> str:
    total = "n/a" if result.total is None else f"{result.total:.{definition.decimals}f}"
    line = f"{definition.name}: {total}" + (f" ({result.band})" if result.band else "")
    if result.prorated:
        answered = len(definition.items) - len(result.missing_items)
        line += f" [prorated from {answered} of {len(definition.items)} items]"
    return line


def _instruments_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    check = actions.add_parser(
        "check",
        help="validate one instrument definition (TOML) as the clinic folder would load it, "
        "and score its boundary cases (every item at its minimum and maximum, each band's edges)",
    )
    check.add_argument("file", type=Path, metavar="FILE.toml")


@command(
    "instruments",
    help="list the instrument library (shipped and the clinic's own); 'instruments check FILE.toml' checks a definition",
    arguments=_instruments_arguments,
)
def _instruments(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "check":
        return _check_definition(args.file)
    library = sorted(instruments.library().values(), key=lambda i: (i.discipline, i.id))
    refused = instruments.refusals()
    if args.json:
        print_json(
            [
                {
                    "id": i.id,
                    "name": i.name,
                    "discipline": i.discipline,
                    "items": len(i.items),
                    "origin": i.origin,
                    "licence": i.licence,
                }
                for i in library
            ]
        )
    else:
        for i in library:
            origin = "clinic " if i.origin == "clinic" else ""
            print(f"{i.id:<16} {i.name:<48} {i.discipline:<11} {len(i.items):>3} items  {origin}{i.licence}")
    for r in refused:
        print(f"refused: {r}", file=sys.stderr)
    if refused:
        print(
            f"{len(refused)} definition{'s' if len(refused) != 1 else ''} in {instruments.clinic_folder()} "
            "refused; the rest of the library loaded",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    return 0


def _check_definition(file: Path) -> int:
    """``teamdash instruments check FILE.toml``: a mistake is one line naming the file,
    the key and the reason (exit 2); a good file prints what was read and how its
    boundary cases score."""
    inst = instruments.check_file(file)
    print(f"{file}: valid definition of {inst.id!r}")
    for line in describe_definition(inst):
        print(f"  {line}")
    print("  boundary cases:")
    for case in instruments.boundary_cases(inst):
        print(f"    {_case_line(inst, case)}")
    return 0


def describe_definition(inst: instruments.Instrument) -> list[str]:
    direction = {"higher_worse": "higher is worse", "higher_better": "higher is better"}.get(
        inst.direction or "", "no direction"
    )
    span = ""
    if inst.total_min is not None and inst.total_max is not None:
        span = f"{inst.total_min:g}–{inst.total_max:g}{' ' + inst.unit if inst.unit else ''}, "
    lines = [
        f"{inst.short_name}: {inst.name}",
        f"discipline {inst.discipline}; {len(inst.items)} items; scored by {inst.scoring.method if inst.scoring else '?'}; "
        f"{span}{direction}",
        "key measure: shown on timelines and in the cohort workbook by default"
        if inst.key_measure
        else "not a key measure: chosen by hand on timelines",
        f"recall period: {inst.recall}" if inst.recall else "recall period: not stated",
        "bands: " + (", ".join(f"{b.label} {b.low:g}–{b.high:g}" for b in inst.bands) or "none"),
    ]
    mcid = " or ".join(
        x
        for x in (
            f"{inst.mcid_abs:g} points" if inst.mcid_abs is not None else "",
            f"{inst.mcid_pct:g} %" if inst.mcid_pct is not None else "",
        )
        if x
    )
    lines.append(f"MCID: {mcid or 'none'}")
    if inst.reliable_change is None:
        lines.append("reliable change: none (no reliability figure)")
    elif inst.reliable_change_inclusive:
        lines.append(f"reliable change: {inst.reliable_change:g} points or more")
    else:
        lines.append(f"reliable change: more than {inst.reliable_change:.2f} points (from {inst.reliability_basis})")
    lines += [f"unverified: {text}" for text in inst.unverified]
    return lines


def _case_line(inst: instruments.Instrument, case: instruments.BoundaryCase) -> str:
    answers = (
        "–" if case.responses is None else "[" + ", ".join("" if r is None else str(r) for r in case.responses) + "]"
    )
    if case.problem:
        return f"{case.label}: {answers} → refused: {case.problem}"
    if case.result is None:
        band = f" (shown in band '{case.band}')" if case.band else ""
        return f"{case.label}: no answers reach this total{band}"
    result = case.result
    total = "n/a" if result.total is None else inst.format(result.total)
    band = f" {result.band}" if result.band else ""
    subscales = "".join(f"; {k} {v:g}" for k, v in result.subscales.items() if v is not None)
    return f"{case.label}: {answers} → {total}{band}{subscales}"
