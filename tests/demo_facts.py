"""What the tests know about the demo clinic they run on: the moment it is generated
for, its size, and the patients and staff with a part to play. One definition, read by
the fixtures (tests/conftest.py) and the tests alike; tests import it from here, never
from a conftest."""

from __future__ import annotations

import datetime as dt

# The moment every test runs at: the app's one clock stands still here (the autouse
# ``fixed_clock`` fixture), so no test depends on the day or hour the suite runs. The
# demo clinic is generated for it.
DEMO_NOW = dt.datetime(2026, 11, 27, 14, 30)
DEMO_TODAY = DEMO_NOW.date()
DEMO_PATIENTS = 60

# Demo patients by database id; patient n has the clinic ID TD-0000n (``clinic_id``).
PLAIN_PATIENT = 1  # no safety flag; two flares in the summer, none in the last 90 days
SAFETY_PATIENT = 8  # PHQ-9 item 9 positive and not yet acknowledged (two open flags); keeps a sleep diary
ACKNOWLEDGED_SAFETY_PATIENT = 24  # PHQ-9 item 9 positive, acknowledged by a clinician
CHOSEN_PATIENT = 13  # opened by clinic ID: at start-up, in a screenshot, from the search box

# Demo staff.
PSYCHOLOGIST = "athistledown"  # a clinician who may write clinical data
ADMINISTRATOR = "ckestrel"  # the demo administrator: writes every discipline's records
CASE_MANAGER = "Morgan Quillfeather"
MEETING_CHAIR = "mquillfeather"  # Morgan Quillfeather, a case manager without a discipline: runs the team meeting


def clinic_id(patient_id: int) -> str:
    """The demo's clinic ID of a patient: ``clinic_id(8) == 'TD-00008'``."""
    return f"TD-{patient_id:05d}"
