"""The ``teamdash`` console script: the core command line plus the commands that need
Qt, declared here beside the front end they drive: ``gui`` and ``summary`` (PDFs are
rendered with Qt's own PDF writer)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from teamdash.cli import main as core
from teamdash.cli.registry import command


def _gui_arguments(gui: argparse.ArgumentParser) -> None:
    gui.add_argument("--screenshot", metavar="FILE.png", type=Path, help="render the main window to a PNG and exit")
    gui.add_argument("--patient", metavar="CLINIC_ID", help="patient to show (default: the first flagged)")
    gui.add_argument("--size", default="1600x1000", help="window size for --screenshot, WxH")
    gui.add_argument("--tab", help="tab to show for --screenshot: overview|pt|psychology|nutrition|sleep|social")
    gui.add_argument(
        "--user",
        metavar="USERNAME",
        help="the username filled in on the sign-in form; with --screenshot: whose view the picture shows "
        "(offscreen, no password)",
    )


@command("gui", help="start the dashboard", arguments=_gui_arguments)
def _gui(args: argparse.Namespace) -> int:
    from ui.app import run  # Qt loads only for the dashboard, not for `teamdash score`

    return run(
        db_url=getattr(args, "db", None),
        screenshot=args.screenshot,
        patient=args.patient,
        size=args.size,
        tab=args.tab,
        user=args.user,
    )


def _summary_arguments(parser: argparse.ArgumentParser) -> None:
    from ui.reports.command import arguments  # argparse only: Qt loads when a PDF is rendered

    arguments(parser)


@command(
    "summary",
    help="write a patient's check-in summary (PDF, or text with --text) or their handout (--handout)",
    arguments=_summary_arguments,
)
def _summary(args: argparse.Namespace) -> int:
    from ui.reports.command import run

    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    return core.main(argv)


if __name__ == "__main__":
    sys.exit(main())
