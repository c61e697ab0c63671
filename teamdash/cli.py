"""The ``teamdash`` command line.

User errors (``TeamDashError``) print one line on stderr and exit 2. Anything else is a
bug: its traceback goes to the log file and the user gets one line saying where.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from teamdash import __version__, clock, db, logs
from teamdash.auth import SYSTEM
from teamdash.errors import TeamDashError

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
EXIT_BUG = 1

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
# `gui` is registered by ui.cli (the console script's entry point): the core never
# imports the Qt front end, and a core-only install says so instead of failing.


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are user errors like any other (one line, exit 2)."""

    def error(self, message: str):
        raise TeamDashError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="teamdash", description="TeamDash: the multidisciplinary back pain team's dashboard.")
    parser.add_argument("--version", action="version", version=f"teamdash {__version__}")
    parser.add_argument("--db", metavar="URL", help=f"database URL (default: ${db.ENV_URL} or the embedded SQLite file)")
    # --db is accepted before or after the subcommand (`python main.py --db URL` too).
    common = _Parser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="database URL")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    gui = add("gui", help="start the dashboard")
    gui.add_argument("--screenshot", metavar="FILE.png", type=Path, help="render the main window to a PNG and exit")
    gui.add_argument("--patient", metavar="CLINIC_ID", help="patient to show (default: the first flagged)")
    gui.add_argument("--size", default="1600x1000", help="window size for --screenshot, WxH")
    gui.add_argument("--tab", help="tab to show for --screenshot: overview|pt|psychology|nutrition|sleep|social")
    gui.add_argument("--user", help="act as this staff username")

    demo = add("demo", help="fill the database with a synthetic demo clinic")
    demo.add_argument("--patients", type=int, default=60, help="number of patients (default 60)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same clinic)")
    demo.add_argument("--today", help="date the clinic is generated for (default: today), YYYY-MM-DD")

    patients = add("patients", help="list patients")
    patients.add_argument("--search", default="", help="name or clinic ID (every word must match)")
    patients.add_argument("--status", choices=["active", "discharged", "dropped_out"])
    patients.add_argument("--case-manager", metavar="NAME", help="case manager's full name")
    patients.add_argument("--flagged", action="store_true", help="only patients with a flag")
    patients.add_argument("--due", action="store_true", help="only patients due for check-in")
    patients.add_argument("--sort", default="name", help="clinic_id|name|age|case_manager|weeks|status|next_checkin|pain|disability|flags")
    patients.add_argument("--desc", action="store_true", help="sort descending")
    patients.add_argument("--limit", type=int, default=1000)
    patients.add_argument("--json", action="store_true", help="print a JSON list")

    add("check", help="integrity check and schema state")
    backup = add("backup", help="online backup of the database")
    backup.add_argument("--out", required=True, type=Path, metavar="FILE")

    score = add("score", help="score an instrument from item responses")
    score.add_argument("instrument", metavar="INSTRUMENT_ID")
    score.add_argument("--responses", required=True, help='responses in item order, e.g. "1,2,,3" (empty = missing)')
    score.add_argument("--json", action="store_true")

    instruments = add("instruments", help="list the instrument library")
    instruments.add_argument("--json", action="store_true")

    from teamdash import cli_exchange  # export / import subcommands

    cli_exchange.add_parsers(add)
    return parser


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@command("demo")
def _demo(args: argparse.Namespace) -> int:
    import datetime as dt

    from teamdash import demo, validation

    db.connect(args.db)
    today = validation.date(args.today, "--today") if args.today else clock.today()
    report = demo.generate(SYSTEM, patients=args.patients, seed=args.seed, today=today)
    print(f"demo clinic: {report.patients} patients, {report.staff} staff, {report.measurements} measurements, "
          f"{report.sessions} sessions in {db.info().display}")
    return 0


@command("patients")
def _patients(args: argparse.Namespace) -> int:
    from teamdash import patients, staff
    from teamdash.errors import NotFound

    db.connect(args.db)
    manager_id = None
    if args.case_manager:
        manager = staff.find_by_name(SYSTEM, args.case_manager)
        if manager is None:
            raise NotFound(f"no staff member named {args.case_manager!r}")
        manager_id = manager.id
    query = patients.PatientQuery(
        search=args.search, status=args.status, case_manager_id=manager_id, flagged=args.flagged,
        due_for_checkin=args.due, sort=args.sort, descending=args.desc, limit=args.limit,
    )
    rows = patients.list_patients(SYSTEM, query).rows
    if args.json:
        _print_json([_patient_json(r) for r in rows])
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


@command("check")
def _check(args: argparse.Namespace) -> int:
    from teamdash import migrations

    db.connect(args.db)
    state = migrations.state()
    problems = db.integrity_problems()
    print(f"database: {db.info().display}")
    print(f"schema: version {state.current} of {state.latest} ({'up to date' if state.up_to_date else 'needs migration'})")
    if problems:
        for p in problems:
            print(f"problem: {p}")
        return EXIT_USER_ERROR
    print("integrity: ok")
    return 0


@command("backup")
def _backup(args: argparse.Namespace) -> int:
    db.connect(args.db)
    dest = db.backup(args.out)
    print(f"backup written to {dest}")
    return 0


@command("score")
def _score(args: argparse.Namespace) -> int:
    from teamdash import instruments

    result = instruments.score(args.instrument, instruments.parse_responses(args.responses))
    if args.json:
        _print_json(instruments.result_json(result))
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


@command("instruments")
def _instruments(args: argparse.Namespace) -> int:
    from teamdash import instruments

    library = sorted(instruments.library().values(), key=lambda i: (i.discipline, i.id))
    if args.json:
        _print_json([
            {"id": i.id, "name": i.name, "discipline": i.discipline, "items": len(i.items), "licence": i.licence}
            for i in library
        ])
        return 0
    for i in library:
        print(f"{i.id:<16} {i.name:<48} {i.discipline:<11} {len(i.items):>3} items  {i.licence}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:  # plain `teamdash` starts the dashboard
            args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "gui"])
        if args.command not in COMMANDS:
            raise TeamDashError(f"the {args.command!r} command is not available in this installation")
        return COMMANDS[args.command](args)
    except TeamDashError as exc:
        print(f"teamdash: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head`: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("teamdash: interrupted", file=sys.stderr)
        return 130
    except Exception:
        log.exception("unexpected error in the command line")
        print(f"teamdash: unexpected error; details were written to {logs.log_file()}", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
