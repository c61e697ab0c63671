"""``teamdash export`` and ``teamdash import``: spreadsheets in and out."""

from __future__ import annotations

from collections.abc import Callable

import argparse


def add_parsers(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the export/import subcommands (their handlers use ``cli.command``)."""
