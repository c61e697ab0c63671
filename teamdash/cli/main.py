"""``teamdash``: parse the arguments, run the registered command.

User errors (``TeamDashError``) print one line on stderr and exit 2. Anything else is a
bug: its traceback goes to the log file and the user gets one line saying where.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from teamdash import __version__, logs
from teamdash.cli import commands, exchange, security, transfer  # noqa: F401 - they register their commands
from teamdash.cli.registry import COMMANDS, Parser
from teamdash.errors import TeamDashError
from teamdash.storage import db

log = logging.getLogger(__name__)

EXIT_USER_ERROR = 2
EXIT_BUG = 1
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="teamdash", description="TeamDash: the multidisciplinary back pain team's dashboard.")
    parser.add_argument("--version", action="version", version=f"teamdash {__version__}")
    parser.add_argument(
        "--db", metavar="URL", help=f"database URL (default: ${db.ENV_URL} or the embedded SQLite file)"
    )
    # --db is accepted before or after the subcommand (`python main.py --db URL` too).
    common = Parser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help="database URL")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in sorted(COMMANDS, key=lambda n: (n != "gui", n)):
        cmd = COMMANDS[name]
        cmd.arguments(sub.add_parser(name, parents=[common], help=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:  # plain `teamdash` starts the dashboard
            if "gui" not in COMMANDS:
                raise TeamDashError(f"name a command: {', '.join(sorted(COMMANDS))} (the dashboard is not installed)")
            args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "gui"])
        if args.command not in COMMANDS:
            raise TeamDashError(f"the {args.command!r} command is not available in this installation")
        return COMMANDS[args.command].run(args)
    except TeamDashError as exc:
        print(f"teamdash: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head`: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("teamdash: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        known = db.translate(exc)  # a driver fault raised outside peewee's wrappers
        if known is not None:
            print(f"teamdash: error: {known}", file=sys.stderr)
            return EXIT_USER_ERROR
        log.exception("unexpected error in the command line")
        print(f"teamdash: unexpected error; details were written to {logs.log_file()}", file=sys.stderr)
        return EXIT_BUG
