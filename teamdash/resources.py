"""Where the data files live (instrument and discipline definitions, styles, templates)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def path(*parts: str) -> Path:
    return RESOURCES_DIR.joinpath(*parts)


@cache
def load_toml(*parts: str) -> dict:
    with path(*parts).open("rb") as fh:
        return tomllib.load(fh)
