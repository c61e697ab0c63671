"""The fields a sheet kind imports and the header names that mean each of them."""

from __future__ import annotations

import re
from dataclasses import dataclass


def normalise(header: object) -> str:
    """A header as compared: lower case, runs of anything but letters and digits as one space."""
    return re.sub(r"[^a-z0-9]+", " ", str(header).lower()).strip()


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # the header TeamDash writes (and the mapping page shows)
    required: bool
    aliases: tuple[str, ...]  # normalised header names, in order of preference


def field(name: str, label: str, required: bool, *aliases: str) -> FieldSpec:
    """A field matched by its label first, then by each alias (already normalised)."""
    return FieldSpec(name, label, required, (normalise(label), *aliases))


PATIENT_ALIASES = ("clinic id", "patient", "patient number", "mrn")


def patient_field() -> FieldSpec:
    """The clinic ID that ties a row to its patient (every record sheet has it)."""
    return field("patient", "Patient ID", True, *PATIENT_ALIASES)
