"""De-identification for research and quality-improvement exports.

Pseudonymous codes are an HMAC-SHA256 of the patient's internal row id under a secret
key that is generated once per database (32 random bytes from ``secrets``) and kept in
the database itself, in the ``deidentification_key`` table. The same patient gets the
same code in every export from this database, so exports from different months can be
linked; without the key, a code cannot be turned back into a patient, and unlike a
plain hash of the clinic ID, it cannot be recomputed by someone who knows the clinic's
ID scheme. Staff get codes the same way (``S-…``).

Dates are not shifted: they are replaced by time since the patient's programme start
(the referral date when the programme has not started), as whole days and as weeks with
one decimal; negative values are before the start (intake assessments).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from teamdash.storage.models import DeidentificationKey

METHOD_CODES = (
    "Patients are identified by pseudonymous codes (P-…): HMAC-SHA256 of the patient's internal "
    "record number under a secret key generated for this database and stored only in it. The same "
    "patient has the same code in every de-identified export from this database; the code cannot be "
    "derived from the clinic ID. Staff are coded the same way (S-…)."
)
METHOD_DATES = (
    "No calendar dates: every date is given as time since the patient's programme start (the referral "
    "date if the programme has not started), in days and in weeks (one decimal); negative values are "
    "before the start. Ages are at programme start, 90 and over reported as 90."
)
METHOD_LEFT_OUT = (
    "Left out: names, dates of birth, clinic IDs, contact details and all free text (notes, goal "
    "wording, check-in narratives, decisions, action items, flag notes, safety actions taken, graded "
    "activities, course names, plan items, flare triggers and what helped, support contacts' names and "
    "relationships, modified duties, employer contacts). Patients without research consent are not included."
)
AGE_CAP = 90


def database_key() -> bytes:
    """This database's secret, created on first use. Two workstations creating it at
    the same moment both end up with the one that was stored first."""
    row = DeidentificationKey.get_or_none(DeidentificationKey.id == 1)
    if row is None:
        DeidentificationKey.insert(id=1, key=secrets.token_hex(32)).on_conflict_ignore().execute()
        row = DeidentificationKey.get(DeidentificationKey.id == 1)
    return bytes.fromhex(row.key)


class Pseudonyms:
    def __init__(self, key: bytes):
        self._key = key
        self._cache: dict[tuple[str, int], str] = {}

    def _code(self, prefix: str, kind: bytes, row_id: int, length: int) -> str:
        found = self._cache.get((prefix, row_id))
        if found is None:
            digest = hmac.new(self._key, kind + b":" + str(row_id).encode(), hashlib.sha256).digest()
            found = f"{prefix}-{base64.b32encode(digest).decode()[:length]}"
            self._cache[(prefix, row_id)] = found
        return found

    def patient(self, patient_id: int) -> str:
        return self._code("P", b"patient", patient_id, 10)

    def staff(self, user_id: int | None) -> str | None:
        return None if user_id is None else self._code("S", b"staff", user_id, 6)


def anchor(programme_start: dt.date | None, referral_date: dt.date) -> dt.date:
    return programme_start or referral_date


def days_since(when: dt.date | dt.datetime | None, start: dt.date) -> int | None:
    if when is None:
        return None
    day = when.date() if isinstance(when, dt.datetime) else when
    return (day - start).days


def weeks(days: int | None) -> float | None:
    return None if days is None else round(days / 7, 1)


def capped_age(age: int | None) -> int | None:
    return None if age is None else min(age, AGE_CAP)
