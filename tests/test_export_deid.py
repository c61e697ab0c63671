"""The de-identified variant: no name, date of birth, clinic ID or free text in any cell
of any sheet; stable keyed pseudonymous codes; no calendar dates; consent respected."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import pytest

from teamdash.exchange.export import ExportOptions, deid, export
from teamdash.services.auth import SYSTEM
from teamdash.services.clinic import open_clinic
from teamdash.storage import db
from teamdash.storage.models import (
    ActionItem,
    CheckIn,
    Course,
    Decision,
    Flare,
    Goal,
    GradedActivityPlan,
    GradedActivityWeek,
    Measurement,
    Patient,
    PlanItem,
    RtwPhase,
    SafetyAcknowledgement,
    Session,
    SleepDiaryNight,
    SupportContact,
    User,
)
from tests.databases import every
from tests.test_export_support import NOW, all_cells, column, header, records, reopen

FREE_TEXT_NOTE = "Lives with her sister Jo at 14 Elm Row; call after 5"
SESSION_NOTE = "Discussed divorce and debts in detail"


def _add_free_text():
    """Notes of every kind, so the scan has something to find if it leaks."""
    for p in Patient.select():
        Patient.update(flag_note=f"Flag note for {p.given_name} {p.family_name}").where(Patient.id == p.id).execute()
    Measurement.update(note=FREE_TEXT_NOTE).where(
        Measurement.id.in_(Measurement.select(Measurement.id).order_by(Measurement.id).limit(50))
    ).execute()
    Session.update(note=SESSION_NOTE).where(Session.id.in_(Session.select(Session.id).limit(50))).execute()
    # The rest of the record: every free-text field of every kind holds something.
    GradedActivityPlan.update(activity="Walking to Elm Row bakery").where(every(GradedActivityPlan, 2, 0)).execute()
    GradedActivityWeek.update(note="Walked to her sister's flat").where(every(GradedActivityWeek, 5, 0)).execute()
    Course.update(kind="Pain course at St Anne's").where(every(Course, 2, 0)).execute()
    PlanItem.update(note="Budget meeting with debt adviser Mr Okafor").where(every(PlanItem, 3, 0)).execute()
    SleepDiaryNight.update(note="Baby woke twice, partner away").where(every(SleepDiaryNight, 4, 0)).execute()
    Flare.update(note="Flare after the court hearing").where(every(Flare, 2, 0)).execute()
    SupportContact.update(contact="jo.elm@example.org, 07700 900123", note="Has keys to the flat").execute()
    RtwPhase.update(note="Manager Priya at the depot agrees").where(every(RtwPhase, 2, 0)).execute()


def identifiers() -> dict[str, set]:
    """Everything that must not appear: names, dates of birth, clinic IDs, free text."""
    out = {"names": set(), "clinic_ids": set(), "dob": set(), "text": set()}
    for p in Patient.select():
        out["names"] |= {p.given_name, p.family_name, f"{p.given_name} {p.family_name}"}
        out["clinic_ids"].add(p.clinic_id)
        out["dob"].add(p.date_of_birth)
        if p.flag_note:
            out["text"].add(p.flag_note)
    for model, fields in (
        (Measurement, ("note",)),
        (Session, ("note",)),
        (Goal, ("text",)),
        (CheckIn, ("narrative",)),
        (Decision, ("text",)),
        (ActionItem, ("text",)),
        (SupportContact, ("name", "relationship", "contact", "note")),
        (GradedActivityPlan, ("activity",)),
        (GradedActivityWeek, ("note",)),
        (Course, ("kind",)),
        (PlanItem, ("text", "note")),
        (SleepDiaryNight, ("note",)),
        (Flare, ("suspected_trigger", "what_helped", "note")),
        (RtwPhase, ("modified_duties", "employer_contact", "note")),
        (SafetyAcknowledgement, ("action_taken",)),
    ):
        for row in model.select():
            out["text"] |= {getattr(row, f) for f in fields if getattr(row, f)}
    out["staff"] = {u.full_name for u in User.select()}
    return out


@pytest.fixture(scope="module")
def _deidentified_exports(_demo_template, tmp_path_factory):
    """The clinic with free text added, and its de-identified cohort and long workbooks,
    made once for this module (the tests only read them)."""
    folder = tmp_path_factory.mktemp("deid")
    path = folder / "clinic.sqlite3"
    shutil.copy(_demo_template, path)
    open_clinic(f"sqlite:///{path}", create=True)
    _add_free_text()
    wbs = {}
    for kind in ("cohort", "long"):
        out = folder / f"{kind}.xlsx"
        export(SYSTEM, out, ExportOptions(kind=kind, deidentify=True), now=NOW)
        wbs[kind] = reopen(out)
    db.close()
    return path, wbs


@pytest.fixture
def deidentified(_deidentified_exports):
    path, wbs = _deidentified_exports
    open_clinic(f"sqlite:///{path}", create=True)
    return wbs


def test_no_identifier_or_free_text_in_any_cell_of_any_sheet(deidentified):
    banned = identifiers()
    assert banned["names"] and banned["text"] and len(banned["clinic_ids"]) > 50
    for kind, wb in deidentified.items():
        for sheet, cell in all_cells(wb):
            value = cell.value
            where = f"{kind} {sheet}!{cell.coordinate}"
            if isinstance(value, str):
                assert value not in banned["clinic_ids"], where
                assert not any(cid in value for cid in banned["clinic_ids"]), where
                assert value not in banned["text"], where
                assert not any(len(t) > 12 and t in value for t in banned["text"]), where
                words = set(value.replace(",", " ").split())
                assert not words & banned["names"], (where, value)
                assert value not in banned["staff"], where
            if isinstance(value, dt.datetime):
                # Calendar dates appear only where the export itself is described.
                assert sheet == "About", where
                assert value.date() not in banned["dob"], where


def test_only_patients_with_research_consent_are_included(deidentified):
    consenting = Patient.select().where(Patient.research_consent == True).count()  # noqa: E712
    assert 0 < consenting < Patient.select().count()
    assert len(records(deidentified["cohort"]["Cohort"])) == consenting
    assert len(records(deidentified["long"]["Patients"])) == consenting
    expected = Measurement.select().join(Patient).where(Patient.research_consent == True).count()  # noqa: E712
    assert len(records(deidentified["long"]["Measurements"])) == expected


def test_codes_are_stable_keyed_and_not_a_hash_of_the_clinic_id(deidentified, tmp_path):
    codes = [c.value for c in column(deidentified["long"]["Patients"], "Patient code")]
    assert len(set(codes)) == len(codes) and all(c.startswith("P-") and len(c) == 12 for c in codes)
    again = tmp_path / "again.xlsx"
    export(SYSTEM, again, ExportOptions(kind="long", deidentify=True), now=NOW)
    assert [c.value for c in column(reopen(again)["Patients"], "Patient code")] == codes
    # The same patient, the same code, in the cohort workbook and every long sheet.
    assert set(codes) == {c.value for c in column(deidentified["cohort"]["Cohort"], "Patient code")}
    assert {c.value for c in column(deidentified["long"]["Measurements"], "Patient code")} <= set(codes)
    plain = {hashlib.sha256(cid.encode()).hexdigest() for (cid,) in Patient.select(Patient.clinic_id).tuples()}
    assert not any(code[2:].lower() in h for h in plain for code in codes)
    key = deid.database_key()
    assert len(key) == 32 and deid.database_key() == key  # one per database, kept


@pytest.mark.sqlite_only
def test_another_database_gives_other_codes(deidentified, clinic, tmp_path):
    codes = {c.value for c in column(deidentified["long"]["Patients"], "Patient code")}
    copy = tmp_path / "copy.sqlite3"
    db.close()
    shutil.copy(clinic, copy)
    open_clinic(f"sqlite:///{copy}", create=True)
    db.database.execute_sql("DELETE FROM deidentification_key")  # as a clinic that never exported
    path = tmp_path / "other.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long", deidentify=True), now=NOW)
    assert not codes & {c.value for c in column(reopen(path)["Patients"], "Patient code")}


def test_dates_become_days_and_weeks_since_programme_start(deidentified):
    wb = deidentified["long"]
    assert "Taken at" not in header(wb["Measurements"])
    assert {"Day", "Week"} <= set(header(wb["Measurements"]))
    patient = Patient.select().where(Patient.research_consent == True).order_by(Patient.id).first()  # noqa: E712
    code = deid.Pseudonyms(deid.database_key()).patient(patient.id)
    first = (
        Measurement.select()
        .where(Measurement.patient == patient.id)
        .order_by(Measurement.instrument, Measurement.taken_at)
        .first()
    )
    row = next(
        r for r in records(wb["Measurements"]) if r["Patient code"] == code and r["Instrument"] == first.instrument
    )
    start = patient.programme_start or patient.referral_date
    assert row["Day"] == (first.taken_at.date() - start).days
    assert row["Week"] == pytest.approx(round(row["Day"] / 7, 1))
    ages = [c.value for c in column(wb["Patients"], "Age at programme start")]
    assert all(isinstance(a, int) and 18 <= a <= 90 for a in ages)


def test_about_says_how_it_was_de_identified(deidentified):
    about = {(r["Section"], r["Item"]): r["Value"] for r in records(deidentified["cohort"]["About"])}
    assert about[("Export", "De-identified")] == "yes"
    assert "HMAC-SHA256" in about[("De-identification", "Codes")]
    assert "time since the patient's programme start" in about[("De-identification", "Dates")]
    assert "research consent" in about[("De-identification", "Left out")]
    assert about[("Export", "Database")].startswith("withheld")


def test_session_kinds_outside_the_vocabulary_become_other(clinic, tmp_path):
    session = Session.select().join(Patient).where(Patient.research_consent == True).first()  # noqa: E712
    Session.update(kind="Home visit to 14 Elm Row").where(Session.id == session.id).execute()
    path = tmp_path / "d.xlsx"
    export(SYSTEM, path, ExportOptions(kind="long", deidentify=True), now=NOW)
    kinds = {c.value for c in column(reopen(path)["Sessions"], "Kind")}
    assert "Other" in kinds and not any("Elm Row" in k for k in kinds)


# Columns a person types freely: never in a de-identified workbook, whatever they hold.
FREE_TEXT_HEADERS = {
    "Given name",
    "Family name",
    "Date of birth",
    "Note",
    "Flag note",
    "Goal",
    "Narrative",
    "Decision",
    "Action",
    "Action taken",
    "Activity",
    "Course",
    "Item",
    "Suspected trigger",
    "What helped",
    "Name",
    "Relationship",
    "Contact",
    "Modified duties",
    "Employer contact",
}
REST_OF_THE_RECORD = [
    "Decisions",
    "Safety acknowledgements",
    "Graded activity plans",
    "Graded activity weeks",
    "Courses",
    "Practice weeks",
    "Plan items",
    "Sleep diary",
    "Flares",
    "Support contacts",
    "Return-to-work phases",
]


def test_every_record_kind_is_in_the_long_workbook_without_free_text_columns(deidentified):
    wb = deidentified["long"]
    assert all(name in wb.sheetnames for name in REST_OF_THE_RECORD)
    for ws in wb.worksheets:
        if ws.title == "About":
            continue
        headers = set(header(ws))
        assert not headers & FREE_TEXT_HEADERS, (ws.title, headers & FREE_TEXT_HEADERS)
        assert headers.isdisjoint({"Patient ID", "Taken at", "Held at", "Held on", "Started on", "Night of"}), ws.title
        if ws.title in REST_OF_THE_RECORD:
            assert ws.max_row > 1, f"{ws.title}: no rows to check"
    sleep = records(wb["Sleep diary"])[0]
    assert {"Day", "Week", "Bed time", "Total sleep time (min)", "Sleep efficiency"} <= set(sleep)
    assert all(str(r["Patient code"]).startswith("P-") for r in records(wb["Flares"]))
