"""The patient service: registration with field-level validation, versioned updates,
and the list query (search, filters, sort on every column, paging) run in SQL."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import Conflict, DuplicateValue, EditConflict, PermissionDenied, ValidationError
from teamdash.services import audit, patients, staff
from teamdash.services.auth import SYSTEM, Actor
from teamdash.services.patients import PatientQuery
from tests.demo_facts import DEMO_PATIENTS, DEMO_TODAY

GOOD = {
    "clinic_id": "P-100",
    "given_name": "Ada",
    "family_name": "Testcase",
    "date_of_birth": "1971-04-02",
    "sex": "female",
    "referral_date": "2026-09-01",
    "programme_start": "2026-09-15",
}


def _all_rows(query: PatientQuery) -> list[patients.PatientRow]:
    rows, offset = [], 0
    while True:
        page = patients.list_patients(SYSTEM, query.page(offset))
        rows += page.rows
        if not page.has_more:
            return rows
        offset += len(page.rows)


# --- registration ------------------------------------------------------------------------


def test_create_patient_stores_it_and_audits(database):
    detail = patients.create_patient(SYSTEM, **GOOD)
    assert (detail.clinic_id, detail.full_name, detail.status, detail.version) == ("P-100", "Ada Testcase", "active", 1)
    assert detail.date_of_birth == dt.date(1971, 4, 2)
    assert detail.episode_start == dt.date(2026, 9, 1)  # the referral starts the episode
    event = audit.events(patient_id=detail.id)[0]
    assert (event.action, event.actor_name) == ("patient.create", SYSTEM.display_name)
    assert event.after["clinic_id"] == "P-100" and event.before is None


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("clinic_id", "", "is required"),
        ("given_name", "  ", "is required"),
        ("family_name", "x" * 101, "too long"),
        ("date_of_birth", "1971-13-02", "not a date"),
        ("date_of_birth", "2999-01-01", "is after today"),
        ("sex", "alien", "is not one of"),
        ("referral_date", "1960-01-01", "before the date of birth"),
        ("programme_start", "2026-08-01", "before the referral date"),
        ("next_checkin", "2026-08-15", "before the referral date"),
        ("case_manager", 9999, "no active staff member"),
    ],
)
def test_bad_patient_fields_are_named_and_change_nothing(database, field, value, words):
    events_before = len(audit.events())
    with pytest.raises(ValidationError) as err:
        patients.create_patient(SYSTEM, **{**GOOD, field: value})
    assert err.value.field == field
    assert words in str(err.value)
    assert patients.count_patients(SYSTEM) == 0
    assert len(audit.events()) == events_before


def test_unknown_field_is_refused(database):
    with pytest.raises(ValidationError, match="unknown patient field"):
        patients.create_patient(SYSTEM, **GOOD, favourite_colour="blue")


def test_a_clinician_who_is_not_a_case_manager_cannot_be_assigned(database, clinician):
    with pytest.raises(ValidationError, match="not a case manager") as err:
        patients.create_patient(SYSTEM, **GOOD, case_manager=clinician.user_id)
    assert err.value.field == "case_manager"


def test_duplicate_clinic_id_is_a_conflict(database):
    first = patients.create_patient(SYSTEM, **GOOD)
    with pytest.raises(Conflict, match="already registered") as err:
        patients.create_patient(SYSTEM, **{**GOOD, "given_name": "Other"})
    assert isinstance(err.value, DuplicateValue) and err.value.field == "clinic_id"
    assert patients.count_patients(SYSTEM) == 1
    second = patients.create_patient(SYSTEM, **{**GOOD, "clinic_id": "P-101"})
    with pytest.raises(DuplicateValue, match="already registered"):
        patients.update_patient(SYSTEM, second.id, second.version, clinic_id=first.clinic_id)


def test_a_viewer_cannot_register_patients(database):
    viewer = Actor(None, "v", "Visiting Viewer", "viewer")
    with pytest.raises(PermissionDenied):
        patients.create_patient(viewer, **GOOD)


def test_update_checks_the_version_it_read(database):
    p = patients.create_patient(SYSTEM, **GOOD)
    updated = patients.update_patient(SYSTEM, p.id, p.version, family_name="Renamed")
    assert (updated.family_name, updated.version) == ("Renamed", 2)
    with pytest.raises(Conflict, match="changed by someone else"):
        patients.update_patient(SYSTEM, p.id, p.version, family_name="Lost update")
    assert patients.get_patient(SYSTEM, p.id).family_name == "Renamed"
    change = audit.events(patient_id=p.id, action_prefix="patient.update")[0]
    assert (change.before["family_name"], change.after["family_name"]) == ("Testcase", "Renamed")


def test_a_lost_race_names_both_values_and_writes_nothing(database, case_manager):
    p = patients.create_patient(SYSTEM, **GOOD)
    # Another workstation saved first (the case manager renamed the patient).
    patients.update_patient(case_manager, p.id, p.version, family_name="Testcase-Smith")
    with pytest.raises(EditConflict) as err:
        patients.update_patient(SYSTEM, p.id, p.version, family_name="Testcayse", sex="female")
    conflict = err.value
    # Only fields whose saved value differs from the user's are conflicts (sex was unchanged).
    assert conflict.differences == (("family_name", "Testcayse", "Testcase-Smith"),)
    assert (conflict.current_version, conflict.changed_by) == (2, "Test Manager")
    assert "yours Testcayse, saved Testcase-Smith" in str(conflict) and "nothing was saved" in str(conflict)
    assert patients.get_patient(SYSTEM, p.id).family_name == "Testcase-Smith"
    # Saving again from the version now seen is the user's explicit choice.
    assert patients.update_patient(SYSTEM, p.id, conflict.current_version, family_name="Testcayse").version == 3


def test_edits_are_undone_by_value_one_after_another(database, case_manager):
    p = patients.create_patient(SYSTEM, **GOOD)
    first = patients.update_patient(SYSTEM, p.id, p.version, family_name="Renamed")
    second = patients.update_patient(SYSTEM, p.id, first.version, next_checkin="2026-12-01")
    patients.undo_update(SYSTEM, p.id, written={"next_checkin": second.next_checkin}, previous={"next_checkin": None})
    # The first edit is undone although the version moved on: its field still holds what it wrote.
    back = patients.undo_update(SYSTEM, p.id, written={"family_name": "Renamed"}, previous={"family_name": "Testcase"})
    assert (back.family_name, back.next_checkin, back.version) == ("Testcase", None, 5)
    assert audit.events(patient_id=p.id, limit=1)[0].action == "patient.update.undo"
    # A field someone changed since is never overwritten.
    changed = patients.update_patient(case_manager, p.id, back.version, family_name="Theirs")
    with pytest.raises(Conflict, match="family name changed since"):
        patients.undo_update(SYSTEM, p.id, written={"family_name": "Renamed"}, previous={"family_name": "Testcase"})
    assert patients.get_patient(SYSTEM, p.id).version == changed.version


def test_registration_records_the_start_of_the_first_episode(database):
    from teamdash.services import episodes

    p = patients.create_patient(SYSTEM, **GOOD)
    (registered,) = episodes.history(SYSTEM, p.id)
    assert (registered.event, registered.episode, registered.effective_on, registered.recorded_by_name) == (
        "registered",
        1,
        dt.date(2026, 9, 1),
        SYSTEM.display_name,
    )
    assert p.episode_number == 1 and not registered.undoable


# --- the list ----------------------------------------------------------------------------


def test_paging_covers_every_patient_once(clinic):
    rows = _all_rows(PatientQuery(limit=7))
    assert len(rows) == DEMO_PATIENTS == patients.count_patients(SYSTEM)
    assert len({r.id for r in rows}) == DEMO_PATIENTS
    first = patients.list_patients(SYSTEM, PatientQuery(limit=7))
    assert first.has_more and len(first.rows) == 7
    last = patients.list_patients(SYSTEM, PatientQuery(limit=7, offset=56))
    assert not last.has_more and len(last.rows) == 4


def test_search_matches_name_or_clinic_id_every_word(clinic):
    everyone = _all_rows(PatientQuery(limit=100))
    target = everyone[10]
    by_id = patients.list_patients(SYSTEM, PatientQuery(search=target.clinic_id)).rows
    assert [r.id for r in by_id] == [target.id]
    by_family = patients.list_patients(SYSTEM, PatientQuery(search=target.family_name[:5].lower(), limit=100)).rows
    expected = {r.id for r in everyone if target.family_name[:5].lower() in r.family_name.lower()}
    assert {r.id for r in by_family} == expected and target.id in expected
    both = patients.list_patients(SYSTEM, PatientQuery(search=f"{target.given_name} {target.family_name}")).rows
    assert target.id in {r.id for r in both}
    assert all(r.given_name == target.given_name and r.family_name == target.family_name for r in both)
    assert patients.list_patients(SYSTEM, PatientQuery(search="zzqx")).rows == ()


def test_search_treats_wildcards_as_text(clinic):
    assert patients.list_patients(SYSTEM, PatientQuery(search="%")).rows == ()
    assert patients.list_patients(SYSTEM, PatientQuery(search="_")).rows == ()


def test_filter_by_status_and_case_manager(clinic):
    everyone = _all_rows(PatientQuery(limit=100, today=DEMO_TODAY))
    for status in ("active", "discharged", "dropped_out"):
        rows = _all_rows(PatientQuery(status=status, limit=100))
        assert {r.id for r in rows} == {r.id for r in everyone if r.status == status}
        assert rows, f"the demo clinic has {status} patients"
    manager = staff.case_managers(SYSTEM)[0]
    rows = _all_rows(PatientQuery(case_manager_id=manager.id, limit=100))
    assert rows and all(r.case_manager == manager.full_name for r in rows)
    assert len(rows) == sum(1 for r in everyone if r.case_manager_id == manager.id)


def test_flagged_filter_matches_the_flags_shown(clinic):
    everyone = _all_rows(PatientQuery(limit=100, today=DEMO_TODAY))
    flagged = _all_rows(PatientQuery(flagged=True, limit=100, today=DEMO_TODAY))
    assert {r.id for r in flagged} == {r.id for r in everyone if r.flags}
    assert 0 < len(flagged) < DEMO_PATIENTS


def test_due_for_checkin_means_active_and_date_reached(clinic):
    due = _all_rows(PatientQuery(due_for_checkin=True, limit=100, today=DEMO_TODAY))
    assert due
    assert all(r.status == "active" and r.next_checkin <= DEMO_TODAY for r in due)
    everyone = _all_rows(PatientQuery(limit=100, today=DEMO_TODAY))
    expected = {r.id for r in everyone if r.status == "active" and r.next_checkin and r.next_checkin <= DEMO_TODAY}
    assert {r.id for r in due} == expected


def nulls_last(value):
    """The order the list sorts in: missing values after every known one."""
    return (value is None, value)


def _key(sort: str):
    return {
        "clinic_id": lambda r: r.clinic_id,
        "name": lambda r: (r.family_name.lower(), r.given_name.lower()),
        "age": lambda r: r.date_of_birth,
        "case_manager": lambda r: nulls_last(r.case_manager),
        "weeks": lambda r: nulls_last(r.programme_start),
        "status": lambda r: r.status,
        "next_checkin": lambda r: nulls_last(r.next_checkin),
        "pain": lambda r: nulls_last(r.pain_latest),
        "disability": lambda r: nulls_last(r.disability_latest),
        "flags": lambda r: min((f.severity for f in r.flags), default=99),
    }[sort]


@pytest.mark.parametrize("sort", patients.SORT_KEYS)
def test_every_column_sorts_in_sql(clinic, sort):
    rows = _all_rows(PatientQuery(sort=sort, limit=13, today=DEMO_TODAY))
    assert len(rows) == DEMO_PATIENTS
    keys = [_key(sort)(r) for r in rows]
    if sort == "age":  # youngest first: latest date of birth first
        assert keys == sorted(keys, reverse=True)
    elif sort == "weeks":  # fewest weeks first: latest start first (unknown starts last)
        known = [k for k in keys if not k[0]]
        assert known == sorted(known, reverse=True) and keys[len(known) :] == [k for k in keys if k[0]]
    elif sort == "flags":
        assert [min(k, 3) for k in keys] == sorted(min(k, 3) for k in keys)
    else:
        assert keys == sorted(keys)


def test_descending_sort_reverses_and_keeps_unknowns_last(clinic):
    rows = _all_rows(PatientQuery(sort="pain", descending=True, limit=100))
    values = [r.pain_latest for r in rows if r.pain_latest is not None]
    assert values == sorted(values, reverse=True)
    assert all(r.pain_latest is None for r in rows[len(values) :])


def test_flag_sort_puts_safety_first(clinic):
    rows = patients.list_patients(SYSTEM, PatientQuery(sort="flags", limit=5, today=DEMO_TODAY)).rows
    assert rows[0].has_safety_flag
    assert rows[0].flags[0].kind == "safety"


def test_bad_sort_or_page_is_named(clinic):
    with pytest.raises(ValidationError) as err:
        patients.list_patients(SYSTEM, PatientQuery(sort="shoe_size"))
    assert err.value.field == "sort"
    with pytest.raises(ValidationError) as err:
        patients.list_patients(SYSTEM, PatientQuery(limit=0))
    assert err.value.field == "limit"


def test_list_rows_carry_age_weeks_and_overdue(clinic):
    rows = _all_rows(PatientQuery(limit=100, today=DEMO_TODAY))
    for r in rows:
        born = r.date_of_birth
        assert r.age == DEMO_TODAY.year - born.year - ((DEMO_TODAY.month, DEMO_TODAY.day) < (born.month, born.day))
        assert r.checkin_overdue == (
            r.status == "active" and r.next_checkin is not None and r.next_checkin < DEMO_TODAY
        )
    active = [r for r in rows if r.status == "active"]
    assert all(r.weeks_in_programme == (DEMO_TODAY - r.programme_start).days // 7 for r in active)
