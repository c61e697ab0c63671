"""Registration at clinic scale: the likely-duplicate check, the next free clinic ID and
the typed-ID check at 100k patients, each beside the plain way of doing the same work in
the same run (raw sqlite3, and rapidfuzz over every name for the duplicates).

Targets at 100k patients: the duplicate check well inside a pause in typing (the form
waits 250 ms before it asks); the next free ID within 100 ms (the form opens after it).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import tempfile
from pathlib import Path

from rapidfuzz.distance import DamerauLevenshtein

from benchmarks.common import absolute, compare, figure, measure
from teamdash import demo
from teamdash.services import registration
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.services.registration import normalise_name
from teamdash.storage import bulk, db
from teamdash.storage.models import Patient

PATIENTS = 100_000


def _fill(count: int) -> tuple[str, str, dt.date]:
    """``count`` patients with demo-like names; returns one of them to look up."""
    rng = random.Random(13)
    rows = []
    for i in range(1, count + 1):
        given = rng.choice(demo.GIVEN)
        family = rng.choice(demo.SURNAME_HEAD) + rng.choice(demo.SURNAME_TAIL)
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20_000))
        referral = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        rows.append((f"TD-{i:06d}", given, family, born, "unknown", referral, referral, "active"))
    fields = (
        Patient.clinic_id,
        Patient.given_name,
        Patient.family_name,
        Patient.date_of_birth,
        Patient.sex,
        Patient.referral_date,
        Patient.episode_start,
        Patient.status,
    )
    with db.database.atomic():
        bulk.insert(Patient, fields, rows)
    _, given, family, born, *_ = rows[count // 2]
    return given, family, born


def _plain_duplicates(path: Path, given: str, family: str, born: dt.date) -> list[int]:
    """Every patient's name compared: what a form would do without narrowing in SQL."""
    mine = (normalise_name(given) + normalise_name(family)).replace(" ", "")
    with sqlite3.connect(path) as conn:
        found = []
        for pid, g, f, b in conn.execute("SELECT id, given_name, family_name, date_of_birth FROM patient"):
            theirs = (normalise_name(g) + normalise_name(f)).replace(" ", "")
            if b == born.isoformat() or DamerauLevenshtein.distance(mine, theirs, score_cutoff=2) <= 2:
                found.append(pid)
    return found


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clinic.sqlite3"
        open_clinic(f"sqlite:///{path}", create=True)
        given, family, born = _fill(PATIENTS)
        figure("patients", f"{PATIENTS:,}")
        matches = registration.likely_duplicates(SYSTEM, given_name=given, family_name=family + "e", date_of_birth=born)
        figure("likely duplicates found (one typo, same birth)", str(len(matches)))
        ours = measure(
            lambda: registration.likely_duplicates(
                SYSTEM, given_name=given, family_name=family + "e", date_of_birth=born
            )
        )
        plain = measure(lambda: _plain_duplicates(path, given, family + "e", born), repeat=3)
        compare("likely duplicates (service vs every name)", ours, plain, plain_label="all names")
        absolute("likely duplicates", ours, target_ms=250)

        def raw_max() -> str:
            with sqlite3.connect(path) as conn:
                return conn.execute("SELECT MAX(clinic_id) FROM patient WHERE clinic_id LIKE 'TD-%'").fetchone()[0]

        registration.set_clinic_id_pattern(SYSTEM, "TD-000000")
        assert registration.suggest_clinic_id(SYSTEM) == f"TD-{PATIENTS + 1:06d}"
        # Raw MAX is a lower bound, not the same work: it is wrong once a number outgrows
        # the pattern's width ("TD-100000" < "TD-99999") or an odd ID shares the prefix.
        ours_next = measure(lambda: registration.suggest_clinic_id(SYSTEM))
        compare("next free clinic ID", ours_next, measure(raw_max), plain_label="raw MAX")
        absolute("next free clinic ID", ours_next, target_ms=100)

        def raw_lookup() -> object:
            with sqlite3.connect(path) as conn:
                return conn.execute("SELECT id FROM patient WHERE clinic_id = ?", ("TD-050000",)).fetchone()

        compare(
            "typed clinic ID check",
            measure(lambda: registration.check_clinic_id(SYSTEM, "TD-050000")),
            measure(raw_lookup),
            plain_label="raw lookup",
        )
        db.close()
