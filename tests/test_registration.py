"""Registration helpers: the clinic's ID pattern and the next free ID, checking a typed
ID, and likely duplicates of the person being registered."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import PermissionDenied, ValidationError
from teamdash.services import audit, clinic_settings, patients, registration
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.registration import ClinicIdPattern
from teamdash.storage.models import ClinicSetting

VIEWER = Actor(None, "v", "Visiting Viewer", "viewer")


def _patient(clinic_id: str, given: str = "Ada", family: str = "Testcase", dob: str = "1971-04-02"):
    return patients.create_patient(
        SYSTEM,
        clinic_id=clinic_id,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        referral_date="2026-09-01",
    )


# --- the pattern -----------------------------------------------------------------------------


def test_default_pattern_is_the_demo_s():
    pattern = ClinicIdPattern.parse(registration.DEFAULT_PATTERN)
    assert (pattern.prefix, pattern.width, pattern.suffix) == ("TD-", 5, "")
    assert pattern.format(61) == "TD-00061"
    assert pattern.number_of("TD-00061") == 61
    assert pattern.number_of("TD-123456") == 123456  # past 99999 the number just grows
    assert pattern.number_of("TD-0061") is None  # too few digits
    assert pattern.number_of("TD-OLD12") is None


def test_the_number_is_the_last_run_of_zeros():
    pattern = ClinicIdPattern.parse("CLB-2020-000/B")
    assert (pattern.prefix, pattern.width, pattern.suffix) == ("CLB-2020-", 3, "/B")
    assert pattern.format(7) == "CLB-2020-007/B"
    assert pattern.matches("CLB-2020-123/B") and not pattern.matches("CLB-2020-123")


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "is required"),
        ("TD-ABCDE", "no run of zeros"),
        ("TD-0", "at least 2 digits"),
        ("TD 00000", "contains a space"),
        ("X" * 30 + "000", "too long"),
    ],
)
def test_bad_patterns_are_named(text, words):
    with pytest.raises(ValidationError) as err:
        ClinicIdPattern.parse(text)
    assert err.value.field == "pattern"
    assert words in str(err.value)


def test_next_free_id_follows_the_highest_in_the_pattern(database):
    assert registration.suggest_clinic_id(SYSTEM) == "TD-00001"  # an empty clinic
    for clinic_id in ("TD-00005", "TD-00012", "TD-ABCDE", "td-00099", "TDX00500", "P-77"):
        _patient(clinic_id, family=f"Family{clinic_id}")
    # Only IDs that follow the pattern count: not other prefixes, letters or case.
    assert registration.suggest_clinic_id(SYSTEM) == "TD-00013"
    _patient("TD-100000", family="Overflow")
    assert registration.suggest_clinic_id(SYSTEM) == "TD-100001"


def test_the_demo_clinic_suggests_the_id_after_its_last(clinic):
    assert registration.suggest_clinic_id(SYSTEM) == "TD-00061"


def test_changing_the_pattern_is_audited_and_shared(database):
    pattern = registration.set_clinic_id_pattern(SYSTEM, "CLB-2026-000")
    assert pattern.example == "CLB-2026-001"
    assert registration.clinic_id_pattern(SYSTEM).text == "CLB-2026-000"  # every workstation reads it
    assert registration.suggest_clinic_id(SYSTEM) == "CLB-2026-001"
    event = audit.events(action_prefix="setting.")[0]
    assert (event.before, event.after) == ({"clinic_id_pattern": "TD-00000"}, {"clinic_id_pattern": "CLB-2026-000"})
    with pytest.raises(ValidationError) as err:
        registration.set_clinic_id_pattern(SYSTEM, "no digits")
    assert err.value.field == "pattern"
    assert registration.clinic_id_pattern(SYSTEM).text == "CLB-2026-000"  # unchanged
    with pytest.raises(PermissionDenied):
        registration.set_clinic_id_pattern(VIEWER, "TD-000")


def test_the_pattern_is_one_of_the_clinics_settings(database, case_manager):
    """One table and one service for clinic-wide settings: the pattern is kept beside the
    auto-lock and backup settings, and each says who may change it."""
    registration.set_clinic_id_pattern(case_manager, "CLB-2026-000")
    assert clinic_settings.current().clinic_id_pattern == "CLB-2026-000"
    assert clinic_settings.current().pattern.example == "CLB-2026-001"
    assert clinic_settings.current().lock_minutes == 5  # the others keep their defaults
    with pytest.raises(PermissionDenied):  # the security settings are the administrators'
        clinic_settings.change(case_manager, "lock_minutes", 10)
    with pytest.raises(ValidationError, match="has no run of zeros") as err:
        clinic_settings.change(SYSTEM, "clinic_id_pattern", "CLB-X")
    assert err.value.field == "clinic_id_pattern"
    clinic_settings.change(SYSTEM, "clinic_id_pattern", "")  # back to the default
    assert registration.clinic_id_pattern(SYSTEM).text == registration.DEFAULT_PATTERN == "TD-00000"
    assert [r.key for r in ClinicSetting.select()] == []


# --- checking a typed ID ---------------------------------------------------------------------


def test_a_typed_id_is_checked_against_the_clinic(database):
    first = _patient("TD-00001")
    taken = registration.check_clinic_id(SYSTEM, " TD-00001 ")
    assert not taken.available and taken.taken_by.id == first.id and taken.taken_by.full_name == "Ada Testcase"
    assert registration.check_clinic_id(SYSTEM, "TD-00001", exclude_patient_id=first.id).available  # its own
    free = registration.check_clinic_id(SYSTEM, "TD-00002")
    assert free.available and free.follows_pattern
    odd = registration.check_clinic_id(SYSTEM, "LEGACY-7")
    assert odd.available and not odd.follows_pattern and odd.pattern == "TD-00000"
    with pytest.raises(ValidationError) as err:
        registration.check_clinic_id(SYSTEM, "   ")
    assert err.value.field == "clinic_id"


# --- likely duplicates -----------------------------------------------------------------------


@pytest.fixture
def registered(database):
    return {
        "anna": _patient("TD-00001", "Anna", "Smith", "1980-03-14"),
        "jon": _patient("TD-00002", "Jonathan", "Berg", "1975-07-01"),
        "mueller": _patient("TD-00003", "Jürgen", "Müller-Lüdenscheidt", "1966-01-20"),
        "other": _patient("TD-00004", "Priya", "Raman", "1990-11-11"),
    }


def _found(**person) -> list[tuple[str, str]]:
    return [(m.patient.clinic_id, m.reason) for m in registration.likely_duplicates(SYSTEM, **person)]


def test_same_name_and_birth_is_the_strongest_match(registered):
    assert _found(given_name="anna", family_name=" SMITH", date_of_birth="1980-03-14") == [
        ("TD-00001", "same name and date of birth")
    ]


def test_a_near_identical_name_is_pointed_out_whatever_the_birth_date(registered):
    assert _found(given_name="Ana", family_name="Smith", date_of_birth="1999-01-01") == [
        ("TD-00001", "near-identical name")
    ]
    assert _found(given_name="Anna", family_name="Smtih", date_of_birth=None) == [("TD-00001", "near-identical name")]
    assert _found(given_name="Anna", family_name="Smyth", date_of_birth=dt.date(1980, 3, 14)) == [
        ("TD-00001", "near-identical name, same date of birth")
    ]


def test_swapped_names_and_short_forms_with_the_same_birth(registered):
    assert _found(given_name="Smith", family_name="Anna", date_of_birth="1980-03-14") == [
        ("TD-00001", "same date of birth, given and family name swapped")
    ]
    assert _found(given_name="Jon", family_name="Berg", date_of_birth="1975-07-01") == [
        ("TD-00002", "similar name, same date of birth")
    ]
    # The same short form with another birth date is a different person: no warning.
    assert _found(given_name="Jon", family_name="Berg", date_of_birth="1988-02-02") == []


def test_accents_hyphens_and_case_do_not_hide_a_duplicate(registered):
    assert _found(given_name="JURGEN", family_name="Muller Ludenscheidt", date_of_birth="1966-01-20") == [
        ("TD-00003", "same name and date of birth")
    ]


def test_same_name_other_birth_and_strangers(registered):
    assert _found(given_name="Anna", family_name="Smith", date_of_birth="2001-05-05") == [
        ("TD-00001", "same name, different date of birth")
    ]
    assert _found(given_name="Maria", family_name="Lopez", date_of_birth="1980-03-14") == []
    assert _found(given_name="Anna", family_name="", date_of_birth="1980-03-14") == []  # nothing to compare yet
    # A half-typed birth date compares names only.
    assert _found(given_name="Anna", family_name="Smith", date_of_birth="1980-13") == [
        ("TD-00001", "same name, different date of birth")
    ]


def test_the_patient_being_edited_is_not_its_own_duplicate(registered):
    anna = registered["anna"]
    matches = registration.likely_duplicates(
        SYSTEM, given_name="Anna", family_name="Smith", date_of_birth="1980-03-14", exclude_patient_id=anna.id
    )
    assert matches == []
