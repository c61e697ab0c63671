"""Patient search folds case and accents in every language, and refuses searches that
cannot be a name instead of crashing the database."""

from __future__ import annotations

import pytest

from teamdash.errors import ValidationError
from teamdash.services import patients
from teamdash.services.auth import SYSTEM
from teamdash.services.patients import PatientQuery
from teamdash.text import fold

PEOPLE = [
    ("S-1", "Élodie", "Martin"),
    ("S-2", "Hans", "Müller"),
    ("S-3", "Zoë", "Bright"),
    ("S-4", "Anders", "Ångström"),
    ("S-5", "Søren", "Kierkegaard"),
    ("S-6", "Ada", "Under_score"),
    ("S-7", "Grete", "Weiß"),
]


@pytest.fixture
def people(database):
    for clinic_id, given, family in PEOPLE:
        patients.create_patient(
            SYSTEM,
            clinic_id=clinic_id,
            given_name=given,
            family_name=family,
            date_of_birth="1980-01-01",
            referral_date="2026-01-05",
        )


def found(search: str) -> list[str]:
    return [r.clinic_id for r in patients.list_patients(SYSTEM, PatientQuery(search=search, limit=100)).rows]


@pytest.mark.parametrize(
    ("search", "clinic_id"),
    [
        ("élodie", "S-1"),
        ("ELODIE", "S-1"),
        ("elodie", "S-1"),
        ("Élodie martin", "S-1"),
        ("muller", "S-2"),
        ("MÜLLER", "S-2"),
        ("zoe", "S-3"),
        ("angstrom", "S-4"),
        ("ÅNGSTRÖM", "S-4"),
        ("soren", "S-5"),
        ("weiss", "S-7"),
        ("s-5", "S-5"),
    ],
)
def test_search_folds_case_and_accents(people, search, clinic_id):
    assert found(search) == [clinic_id]


def test_every_word_must_match(people):
    assert found("hans muller") == ["S-2"]
    assert found("hans bright") == []


def test_wildcards_and_backslashes_are_literal(people):
    assert found("\\") == []  # not everyone
    assert found("%") == []
    assert found("_") == ["S-6"]  # only the name that holds an underscore
    assert found("under_score") == ["S-6"]


def test_an_edited_name_is_found_by_its_new_spelling(people):
    row = patients.find_by_clinic_id(SYSTEM, "S-3")
    patients.update_patient(SYSTEM, row.id, row.version, family_name="Brönte")
    assert found("bronte") == ["S-3"]
    assert found("bright") == []


def test_a_search_of_many_words_is_refused_with_the_limit(people):
    with pytest.raises(ValidationError, match="has 100 words; use at most 8") as err:
        patients.list_patients(SYSTEM, PatientQuery(search=" ".join(["a"] * 100)))
    assert err.value.field == "search"


def test_a_huge_word_is_refused_with_the_limit(people):
    with pytest.raises(ValidationError, match="50,000 characters long.*at most 200") as err:
        patients.count_patients(SYSTEM, PatientQuery(search="x" * 50_000))
    assert err.value.field == "search"


def test_fold_spells_out_letters_without_accents():
    assert fold("Æsop Łukasz Đorđe Þór Œuvre") == "aesop lukasz dorde thor oeuvre"
    assert fold("  ﬁne\tＦＵＬＬ  ") == "fine full"  # ligatures and full-width letters decompose
