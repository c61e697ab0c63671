"""Where the data files live (instrument and discipline definitions, styles).

In a source checkout they are ``resources/`` at the top of the tree; an installed wheel
carries the same folder inside the package as ``teamdash/resources_data``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "resources_data"
_CHECKOUT = _PACKAGE.parent / "resources"


def resources_dir() -> Path:
    return _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT


def path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


@cache
def load_toml(*parts: str) -> dict[str, Any]:
    with path(*parts).open("rb") as fh:
        return tomllib.load(fh)
