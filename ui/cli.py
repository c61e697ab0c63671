"""The ``teamdash`` console script: the core command line plus ``gui``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from teamdash import cli


@cli.command("gui")
def _gui(args: argparse.Namespace) -> int:
    from ui.app import run

    return run(db_url=getattr(args, "db", None), screenshot=args.screenshot, patient=args.patient,
               size=args.size, tab=args.tab, user=args.user)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
