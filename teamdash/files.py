"""Files the user names for output (backups, workbooks, PDFs): one rule for all of them.

The folder must exist and be writable (nothing is created behind the user's back), and
an existing file is only replaced when the user says so (``--force``).
"""

from __future__ import annotations

import os
from pathlib import Path

from teamdash.errors import ValidationError


def output_file(path: Path | str, *, force: bool = False, option: str = "--out") -> Path:
    """``path`` checked as a new output file; raises ``ValidationError`` naming ``option``."""
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise ValidationError(f"{target} is a folder; give a file name", field=option)
    folder = target.parent
    if not folder.exists():
        raise ValidationError(f"the folder {folder} does not exist; create it first or choose another", field=option)
    if not folder.is_dir():
        raise ValidationError(f"{folder} is not a folder", field=option)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValidationError(f"the folder {folder} cannot be written to (read-only or no permission)", field=option)
    if target.exists() and not force:
        raise ValidationError(
            f"{target} already exists; choose a new file name, or --force to replace it", field=option
        )
    return target


def write_failed(target: Path, exc: OSError, option: str = "--out") -> ValidationError:
    """The message for an output file that could not be written after all (disk full,
    permissions that ``os.access`` did not tell about)."""
    reason = exc.strerror or str(exc)
    return ValidationError(f"could not write {target}: {reason}", field=option)
