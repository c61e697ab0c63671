"""Registering a patient: the clinic's ID pattern and the next free ID, checking a typed
clinic ID while it is typed, and finding likely duplicates of the person being
registered (same name and date of birth, or a near-identical name).

The pattern is a clinic-wide setting (``clinic_settings``: every workstation suggests
from the same one):
the last run of zeros is the number, the rest is kept as written, so ``TD-00000``
gives TD-00001, TD-00002, … and ``CLB-2026-000`` gives CLB-2026-001.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass

import peewee as pw
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from teamdash import validation
from teamdash.errors import ValidationError
from teamdash.services import auth, clinic_settings
from teamdash.services.auth import Actor
from teamdash.services.clinic_settings import CLINIC_ID_LENGTH, ClinicIdPattern
from teamdash.services.clinic_settings import DEFAULT_PATTERN as DEFAULT_PATTERN  # the pattern until one is set
from teamdash.storage import db
from teamdash.storage.db import database
from teamdash.storage.models import Patient

PATTERN_KEY = "clinic_id_pattern"  # a clinic setting (``clinic_settings``)

# Likely duplicates: at most this many candidates (see ``likely_duplicates``) are judged.
CANDIDATE_LIMIT = 20_000
# Same date of birth and a name at least this similar (Jaro-Winkler, 0–1): likely the
# same person written differently ("Jon" / "Jonathan").
SIMILAR_WITH_SAME_BIRTH = 0.85


# --- the clinic ID pattern --------------------------------------------------------------------


def clinic_id_pattern(actor: Actor) -> ClinicIdPattern:
    auth.require(actor, "read")
    return ClinicIdPattern.parse(clinic_settings.get(PATTERN_KEY))


def set_clinic_id_pattern(actor: Actor, text: str) -> ClinicIdPattern:
    """Change the clinic's pattern (every workstation suggests from it from now on);
    existing IDs stay as they are. A clinic setting: ``clinic_settings.change`` checks
    who may (case managers, administrators), stores and audits it."""
    pattern = ClinicIdPattern.parse(text)  # named as the registration form names it
    clinic_settings.change(actor, PATTERN_KEY, pattern.text)
    return pattern


def _following(pattern: ClinicIdPattern) -> pw.Expression:
    """IDs that may follow the pattern (the rest is checked in Python). On SQLite a range
    on the clinic ID walks its unique index (SQLite's LIKE is case-insensitive and
    cannot); elsewhere LIKE on prefix and suffix."""
    if pattern.prefix and db.info().backend == "sqlite":
        upper = pattern.prefix[:-1] + chr(ord(pattern.prefix[-1]) + 1)
        return (Patient.clinic_id >= pattern.prefix) & (Patient.clinic_id < upper)
    return Patient.clinic_id.startswith(pattern.prefix) & Patient.clinic_id.endswith(pattern.suffix)


def _highest_number(pattern: ClinicIdPattern) -> int:
    """The highest number among the IDs that follow ``pattern`` (0 when none). IDs of
    one length sort like their numbers, so the longest length is tried first, each from
    its greatest ID down to the first valid one; IDs that merely share the prefix
    ("TD-OLD1") are skipped."""
    condition = _following(pattern)
    shortest = len(pattern.prefix) + pattern.width + len(pattern.suffix)
    longest = Patient.select(pw.fn.MAX(pw.fn.LENGTH(Patient.clinic_id))).where(condition).scalar() or 0
    for length in range(longest, shortest - 1, -1):
        query = (
            Patient.select(Patient.clinic_id)
            .where(condition & (pw.fn.LENGTH(Patient.clinic_id) == length))
            .order_by(Patient.clinic_id.desc())
            .tuples()
        )
        for (clinic_id,) in query.iterator():
            number = pattern.number_of(clinic_id)
            if number is not None:
                return number
    return 0


def suggest_clinic_id(actor: Actor) -> str:
    """The next free ID in the clinic's pattern: one past the highest in use."""
    pattern = clinic_id_pattern(actor)
    return pattern.format(_highest_number(pattern) + 1)


# --- checking a typed ID ------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientMatch:
    """An existing patient a form points at (taken ID, likely duplicate)."""

    id: int
    clinic_id: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    status: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class ClinicIdCheck:
    clinic_id: str
    taken_by: PatientMatch | None
    follows_pattern: bool
    pattern: str

    @property
    def available(self) -> bool:
        return self.taken_by is None


_MATCH_COLUMNS = (
    Patient.id,
    Patient.clinic_id,
    Patient.given_name,
    Patient.family_name,
    Patient.date_of_birth,
    Patient.status,
)


def _match(d: dict) -> PatientMatch:
    return PatientMatch(d["id"], d["clinic_id"], d["given_name"], d["family_name"], d["date_of_birth"], d["status"])


def check_clinic_id(actor: Actor, clinic_id: str, *, exclude_patient_id: int | None = None) -> ClinicIdCheck:
    """Is this ID free (apart from the patient being edited), and does it follow the
    clinic's pattern? Raises ``ValidationError`` for an empty or over-long ID."""
    auth.require(actor, "read")
    value = validation.text(clinic_id, "clinic_id", max_length=CLINIC_ID_LENGTH)
    assert value is not None
    query = Patient.select(*_MATCH_COLUMNS).where(Patient.clinic_id == value)
    if exclude_patient_id is not None:
        query = query.where(Patient.id != exclude_patient_id)
    row = query.dicts().first()
    pattern = clinic_id_pattern(actor)
    return ClinicIdCheck(value, _match(row) if row else None, pattern.matches(value), pattern.text)


# --- likely duplicates ------------------------------------------------------------------------


@functools.lru_cache(maxsize=65_536)
def normalise_name(text: str | None) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not tell people apart here:
    'Müller-Lüdenscheidt' and 'mueller ludenscheidt' differ only in spelling. (Names
    repeat across a clinic: each spelling is worked out once.)"""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = (ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join("".join(ch if ch.isalpha() else " " for ch in letters).split())


def _compact(given: str, family: str) -> str:
    return (given + family).replace(" ", "")


def near_identical(a: str, b: str) -> bool:
    """Two compacted names one typo apart (two for long names): a letter left out, added,
    changed or two letters swapped ('Jon Smith' / 'John Smith', 'Smtih')."""
    if not a or not b:
        return False
    limit = 1 if max(len(a), len(b)) <= 12 else 2
    return DamerauLevenshtein.distance(a, b, score_cutoff=limit) <= limit


@dataclass(frozen=True)
class DuplicateMatch:
    patient: PatientMatch
    reason: str  # "same name and date of birth", "near-identical name", …
    strength: int  # 0 strongest


def _judge(given: str, family: str, dob: dt.date | None, other: PatientMatch) -> tuple[int, str] | None:
    g, f = normalise_name(given), normalise_name(family)
    og, of = normalise_name(other.given_name), normalise_name(other.family_name)
    same_birth = dob is not None and dob == other.date_of_birth
    same = (g, f) == (og, of)
    swapped = (g, f) == (of, og)
    mine, theirs = _compact(g, f), _compact(og, of)
    near = near_identical(mine, theirs) or near_identical(mine, _compact(of, og))
    if same and same_birth:
        return 0, "same name and date of birth"
    if swapped and same_birth:
        return 1, "same date of birth, given and family name swapped"
    if near and same_birth:
        return 1, "near-identical name, same date of birth"
    if same_birth and JaroWinkler.similarity(f"{g} {f}", f"{og} {of}") >= SIMILAR_WITH_SAME_BIRTH:
        return 2, "similar name, same date of birth"
    if same or swapped:
        return 3, "same name, different date of birth"
    if near:
        return 4, "near-identical name"
    return None


def likely_duplicates(
    actor: Actor,
    *,
    given_name: str | None,
    family_name: str | None,
    date_of_birth: dt.date | str | None = None,
    exclude_patient_id: int | None = None,
    limit: int = 5,
) -> list[DuplicateMatch]:
    """Existing patients who may be the person being registered, most likely first.
    A warning for the person at the keyboard, never a refusal: two people may share a
    name. Nothing is looked up until both names are given."""
    auth.require(actor, "read")
    given, family = normalise_name(given_name), normalise_name(family_name)
    if not given or not family:
        return []
    try:
        dob = validation.date(date_of_birth, "date_of_birth", required=False)
    except ValidationError:
        dob = None  # half-typed: compare names only
    # Candidates: the same date of birth, or one name part written the same (a typo is
    # then in the other part), either way round; indexed look-ups, whatever the clinic's
    # size. Only this short list is judged, on raw rows (no per-row model objects).
    spellings = sorted({given, family, (given_name or "").strip().lower(), (family_name or "").strip().lower()})
    condition = pw.fn.LOWER(Patient.family_name).in_(spellings) | pw.fn.LOWER(Patient.given_name).in_(spellings)
    if dob is not None:
        condition = condition | (Patient.date_of_birth == dob)
    query = Patient.select(*_MATCH_COLUMNS).where(condition)
    if exclude_patient_id is not None:
        query = query.where(Patient.id != exclude_patient_id)
    found = []
    for pid, clinic_id, g, f, born, status in database.execute(query.limit(CANDIDATE_LIMIT)):
        born = born if isinstance(born, dt.date) else dt.date.fromisoformat(str(born)[:10])
        other = PatientMatch(pid, clinic_id, g, f, born, status)
        verdict = _judge(given_name or "", family_name or "", dob, other)
        if verdict is not None:
            found.append(DuplicateMatch(other, verdict[1], verdict[0]))
    found.sort(key=lambda m: (m.strength, m.patient.family_name.lower(), m.patient.id))
    return found[:limit]
