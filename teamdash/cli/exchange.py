"""``teamdash export`` and ``teamdash import``: spreadsheets in and out.

    teamdash export --out FILE.xlsx [--kind cohort|patient|long] [--patient CLINIC_ID]
                    [--from DATE] [--to DATE] [--status S] [--case-manager NAME]
                    [--discipline D] [--deidentify] [--user USERNAME]
    teamdash import FILE.(xlsx|csv) [--kind KIND]
                    [--sheet NAME] [--dry-run] [--skip-bad-rows] [--errors FILE.xlsx]
                    [--user USERNAME]

Both act as the system unless ``--user`` names a staff member (the audit trail records
who). Problems are user errors: one line on stderr and exit 2; an import's row problems
are listed on stdout first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from teamdash import validation
from teamdash.cli.registry import command
from teamdash.cli.session import authenticate, open_database
from teamdash.clinical import disciplines
from teamdash.exchange import importing
from teamdash.exchange.export import KIND_LABELS, ExportOptions, export
from teamdash.services import patients, staff
from teamdash.services.auth import Actor
from teamdash.words import plural

MAX_PROBLEMS_PRINTED = 100


def _export_arguments(export: argparse.ArgumentParser) -> None:
    export.add_argument("--out", required=True, type=Path, metavar="FILE.xlsx", help="the workbook to write")
    export.add_argument("--force", action="store_true", help="replace FILE.xlsx if it exists")
    export.add_argument(
        "--kind",
        choices=["cohort", "patient", "long"],
        default="cohort",
        help="cohort: one row per patient plus long sheets (default); long: tidy sheets that "
        "'teamdash import' reads back; patient: one patient with charts",
    )
    export.add_argument("--patient", metavar="CLINIC_ID", help="the patient (required for --kind patient)")
    export.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day of the date range")
    export.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day of the date range")
    export.add_argument("--status", choices=disciplines.patient_statuses(), help="patients with this status")
    export.add_argument("--case-manager", metavar="NAME", help="patients of this case manager (full name or username)")
    export.add_argument("--discipline", metavar="D", help=f"one of: {', '.join(disciplines.codes())}")
    export.add_argument(
        "--deidentify",
        action="store_true",
        help="research/QI variant: pseudonymous codes, no names, dates of birth, clinic IDs, "
        "calendar dates or free text; only patients with research consent",
    )
    export.add_argument(
        "--user",
        metavar="USERNAME",
        help="act as this staff member (their password is asked for; the audit trail names them)",
    )


def _import_arguments(imp: argparse.ArgumentParser) -> None:
    imp.add_argument("file", type=Path, metavar="FILE", help="an .xlsx workbook or a .csv file")
    imp.add_argument(
        "--kind",
        choices=importing.KINDS,
        metavar="KIND",
        help="what the table holds: " + ", ".join(importing.KINDS) + " (default: told by sheet names or "
        "headers; a TeamDash long-format workbook imports every sheet, in that order)",
    )
    imp.add_argument(
        "--sheet", metavar="NAME", help="the sheet of an .xlsx workbook to import (default: by kind; a CSV has none)"
    )
    imp.add_argument("--dry-run", action="store_true", help="check everything, change nothing")
    imp.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows; write the bad ones, with their problems, to an error workbook",
    )
    imp.add_argument(
        "--errors",
        type=Path,
        metavar="FILE.xlsx",
        help="where --skip-bad-rows writes bad rows (default: FILE-errors.xlsx beside FILE)",
    )
    imp.add_argument(
        "--user",
        metavar="USERNAME",
        help="act as this staff member (their password is asked for; the audit trail names them)",
    )


def _actor(username: str | None) -> Actor:
    """The system account, or the member of staff named by --user after their password."""
    return authenticate(username)


def _date(value: str | None, option: str) -> dt.date | None:
    return validation.date(value, option, required=False) if value else None


def _progress_printer(label: str) -> Callable[[int, int], None] | None:
    """Progress on stderr, only when someone is watching a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        share = f"{100 * done // total:3d} %" if total else f"{done:,} rows"
        print(f"\r{label}: {share}", end="", file=sys.stderr, flush=True)

    return show


@command(
    "export", help="write an Excel progress workbook (cohort, long-format or one patient)", arguments=_export_arguments
)
def _export(args: argparse.Namespace) -> int:
    open_database(args.db)
    actor = _actor(args.user)
    patient_id = None
    if args.patient:
        patient_id = patients.find_by_clinic_id(actor, args.patient).id
    manager_id = staff.find(actor, args.case_manager).id if args.case_manager else None
    options = ExportOptions(
        kind=args.kind,
        patient_id=patient_id,
        date_from=_date(args.date_from, "--from"),
        date_to=_date(args.date_to, "--to"),
        status=args.status,
        case_manager_id=manager_id,
        discipline=args.discipline.strip().lower() if args.discipline else None,
        deidentify=args.deidentify,
    )
    progress = _progress_printer("exporting")
    result = export(actor, args.out, options, overwrite=args.force, progress=progress)
    if progress:
        print(file=sys.stderr)
    sheets = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
    variant = " (de-identified)" if result.deidentified else ""
    print(
        f"wrote {KIND_LABELS[result.kind].lower()}{variant} {result.path}: {result.patients:,} patient"
        f"{'s' if result.patients != 1 else ''}; rows: {sheets}"
    )
    return 0


@command(
    "import",
    help="import patients, measurements, sessions and the rest of the record from .xlsx or .csv",
    arguments=_import_arguments,
)
def _import(args: argparse.Namespace) -> int:
    open_database(args.db, create=True)
    actor = _actor(args.user)
    progress = _progress_printer("importing")
    try:
        report = importing.import_file(
            actor,
            args.file,
            kind=args.kind,
            sheet=args.sheet,
            dry_run=args.dry_run,
            skip_bad_rows=args.skip_bad_rows,
            error_file=args.errors,
            progress=progress,
        )
    except importing.ImportFailed as exc:
        if progress:
            print(file=sys.stderr)
        _print_report(exc.report)
        raise
    if progress:
        print(file=sys.stderr)
    _print_report(report)
    print(report.summary())
    return 0


def _print_report(report: importing.ImportReport) -> None:
    for sheet in report.sheets:
        mapping = ", ".join(
            f"{header} → {importing.field_label(sheet.kind, name)}" for name, header in sheet.mapping.items()
        )
        print(f"sheet {sheet.sheet!r} as {sheet.what}: {plural(sheet.rows, 'row')}; columns: {mapping}")
        if sheet.ignored:
            print(f"  not imported: {', '.join(sheet.ignored)}")
    for problem in report.problems[:MAX_PROBLEMS_PRINTED]:
        print(f"problem: {problem}")
    more = report.problem_count - min(len(report.problems), MAX_PROBLEMS_PRINTED)
    if more > 0:
        print(f"problem: … and {plural(more, 'more problem')}")
    if report.stopped:
        print(report.stopped_text())
