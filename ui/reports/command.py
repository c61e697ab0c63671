"""``teamdash summary CLINIC_ID --out FILE``: a patient's check-in summary (or their
handout) as a PDF, or as plain text for the clinic's record system, from the command
line. It renders with Qt, offscreen: no display is needed.

    teamdash summary TD-00008 --out td8.pdf [--since 2026-10-01] [--page-size Letter]
    teamdash summary TD-00008 --out td8.txt --text
    teamdash summary TD-00008 --out td8-handout.pdf --handout
    teamdash summary TD-00008 --out old.pdf --checkin 2026-11-06   (a saved check-in, as signed off)

Bad input (unknown patient, bad date, an existing file without --force, a folder that
does not exist) is one line on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from teamdash import clock, files, validation
from teamdash.errors import NotFound, ValidationError
from teamdash.services import checkin_summary, checkin_text, handout, patients
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.checkin_summary import CheckinSummary, Signoff
from teamdash.services.clinic import open_clinic

PAGE_SIZE_CHOICES = ("A4", "Letter")


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clinic_id", metavar="CLINIC_ID", help="the patient's clinic ID")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="the PDF (or, with --text, text file) to write"
    )
    parser.add_argument(
        "--since", metavar="YYYY-MM-DD", help="first day of the period (default: the day after the last check-in)"
    )
    parser.add_argument(
        "--checkin", metavar="YYYY-MM-DD", help="a saved check-in of that day, as the team signed it off"
    )
    parser.add_argument(
        "--text", action="store_true", help="plain text for the clinic's record system instead of a PDF"
    )
    parser.add_argument("--handout", action="store_true", help="the patient's plain-language progress handout")
    parser.add_argument(
        "--page-size", choices=PAGE_SIZE_CHOICES, default="A4", help="paper size of the PDF (default A4)"
    )
    parser.add_argument(
        "--privacy", action="store_true", help="de-identified: the clinic ID only, no name or date of birth"
    )
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.add_argument("--user", metavar="USERNAME", help="act as this staff member (recorded in the audit trail)")


def run(args: argparse.Namespace) -> int:
    target = files.output_file(args.out, force=args.force)
    since = validation.date(args.since, "--since", required=False)
    checkin_day = validation.date(args.checkin, "--checkin", required=False)
    if args.text and args.handout:
        raise ValidationError("choose --text or --handout, not both", field="--text")
    if since is not None and since > clock.today():
        raise ValidationError(f"{since.isoformat()} is after today ({clock.today().isoformat()})", field="--since")
    if since is not None and checkin_day is not None:
        raise ValidationError("--since does not apply to a saved check-in (--checkin)", field="--since")
    open_clinic(args.db)
    actor: Actor = actor_for(args.user) if args.user else SYSTEM
    patient = patients.find_by_clinic_id(actor, args.clinic_id)
    summary, signoff, changes, checkin_id = _what(actor, patient.id, args.clinic_id, since, checkin_day)
    kind = "handout" if args.handout else "summary"
    if args.text:
        pages = None
        _write_atomically(
            target,
            lambda path: path.write_text(
                checkin_text.summary_text(summary, signoff, privacy=args.privacy), encoding="utf-8"
            ),
        )
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # rendering needs no display
        from ui.reports import pdf, summary_doc

        _application()
        if args.handout:
            report = summary_doc.handout_report(handout.build_handout(summary, signoff, privacy=args.privacy))
        else:
            report = summary_doc.summary_report(
                summary, signoff, privacy=args.privacy, changes=changes, draft=signoff is None
            )
        pages = _write_atomically(target, lambda path: pdf.write_pdf(path, report, page_size=args.page_size))
    checkin_summary.record_output(
        actor,
        patient.id,
        kind=kind,
        form="text" if args.text else "pdf",
        period=summary.period,
        checkin_id=checkin_id,
        privacy=args.privacy,
        page_size=None if args.text else args.page_size,
        file_name=target.name,
    )
    what = "handout" if args.handout else "check-in summary"
    size = f", {pages} page{'s' if pages != 1 else ''} {args.page_size}" if pages else ""
    print(f"wrote the {what} of {summary.patient.clinic_id} ({summary.period.label}) to {target}{size}")
    return 0


def _what(
    actor: Actor, patient_id: int, clinic_id: str, since, checkin_day
) -> tuple[CheckinSummary, Signoff | None, dict, int | None]:
    if checkin_day is None:
        return checkin_summary.build_summary(actor, patient_id, since=since), None, {}, None
    saved = [c for c in checkin_summary.list_checkins(actor, patient_id) if c.held_on == checkin_day]
    if not saved:
        raise NotFound(f"{clinic_id} has no check-in on {checkin_day.isoformat()}")
    opened = checkin_summary.open_checkin(actor, saved[0].id)
    if opened.summary is None:
        raise NotFound(
            f"the check-in of {checkin_day.isoformat()} was recorded without a summary; only its narrative was kept"
        )
    return opened.summary, opened.signoff, dict(opened.changes), opened.checkin.id


def _write_atomically(target: Path, write):
    """Write beside the target, then move it in place: a failed write leaves no half file."""
    partial = target.with_name(f".{target.name}.part")
    try:
        result = write(partial)
        if not partial.exists():
            raise OSError(f"nothing was written to {partial}")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise files.write_failed(target, exc) from exc
    return result


def _application():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["teamdash"])
