"""The command registry: each command brings its own arguments and handler.

The core registers its commands (``teamdash.cli.commands``, ``teamdash.cli.exchange``);
the Qt front end registers ``gui`` (``ui.cli``), so the core never imports Qt and a
core-only install says that the dashboard is not available instead of failing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from teamdash.errors import TeamDashError

Handler = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Arguments
    run: Handler


COMMANDS: dict[str, Command] = {}


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    pass


def command(name: str, *, help: str, arguments: Arguments = _no_arguments) -> Callable[[Handler], Handler]:
    """Register ``name``: ``arguments(parser)`` declares its options, the decorated
    function runs it and returns the exit code."""

    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, arguments, run)
        return run

    return register


class Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are user errors like any other (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        if message.endswith("expected one argument"):
            # argparse reads "-1,2,3" as an option, not as the option's value.
            option = message.split()[1].rstrip(":")
            message += f" (a value that starts with '-' is written {option}=VALUE, e.g. --responses=-1,2,3)"
        raise TeamDashError(message)
