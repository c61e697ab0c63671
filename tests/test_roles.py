"""The role matrix: every writing (or administrators-only) service, called by every role.

``CASES`` is the registry: one ``Case`` per service call, with the roles that may make
it. A role outside that set gets ``PermissionDenied`` and nothing is written; a role
inside it succeeds and leaves an audit event. Each call runs in a transaction that is
rolled back, so the cases share one small clinic.

Adding a service that writes: add one ``Case`` (``test_every_writing_service_is_in_the_
matrix`` fails until you do; it finds functions that check a permission other than
"read", or write through ``row_ops``, and every ``RecordKind``'s add/add_many/update/
delete/restore).

The clinic: patient P (TD-1) is treated by the PT clinician (a PT session with them);
patient Q (TD-2) by the psychologist. Roles (keys used below):

    admin       administrator
    cm          case manager without a discipline
    social_cm   case manager who is also the social worker
    pt          clinician, physical therapy
    psych       clinician, psychology
    viewer      read-only (quality reviewer)
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

import teamdash.exchange
import teamdash.services
from teamdash import clock, demo
from teamdash.errors import DatabaseUnavailable, PermissionDenied, TeamDashError, ValidationError
from teamdash.exchange import importing
from teamdash.exchange.export import ExportOptions, export
from teamdash.services import (
    accounts,
    audit,
    checkin_summary,
    checkins,
    clinic,
    clinic_settings,
    episodes,
    goals,
    maintenance,
    measurements,
    meetings,
    patients,
    plans,
    registration,
    sessions,
    sleep_diary,
    staff,
    transfer,
)
from teamdash.services.action_items import ACTION_ITEMS, DECISIONS
from teamdash.services.auth import SYSTEM, Actor, actor_for
from teamdash.services.clinic import open_clinic
from teamdash.services.flares import FLARES
from teamdash.services.record_kinds import RecordKind
from teamdash.storage import db
from teamdash.storage.models import AuditEvent
from tests.demo_facts import DEMO_NOW

PASSWORD = "role-matrix-secret"
ROLES = {
    "admin": ("ada", "Ada Admin", "admin", None),
    "cm": ("cara", "Cara Coordinator", "case_manager", None),
    "social_cm": ("sam", "Sam Social", "case_manager", "social"),
    "pt": ("pat", "Pat Physio", "clinician", "pt"),
    "psych": ("pia", "Pia Psych", "clinician", "psychology"),
    "viewer": ("vic", "Vic Viewer", "viewer", None),
}
ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "cm", "social_cm"})
EVERYONE = frozenset(ROLES)
WRITERS_OF = {
    "pt": frozenset({"admin", "pt"}),
    "psychology": frozenset({"admin", "psych"}),
    "social": frozenset({"admin", "social_cm"}),
    "nutrition": ADMIN,
    "sleep": ADMIN,
}
P, Q = 1, 2  # patient ids
PHQ9_SAFETY = [1, 1, 1, 1, 1, 1, 1, 1, 1]  # item 9 positive


# --- the clinic ----------------------------------------------------------------------------


@dataclass
class World:
    ids: dict[str, int]
    tmp: Path
    prepared: Any = None  # what a case's ``prepare`` made (e.g. a deletion to undo)

    def row(self, name: str) -> int:
        return self.ids[name]


def _build(path: Path) -> dict[str, int]:
    open_clinic(f"sqlite:///{path}", create=True)
    users = {}
    for key, (username, name, role, discipline) in ROLES.items():
        member = staff.create_user(
            SYSTEM,
            username=username,
            full_name=name,
            role=role,
            discipline=discipline,
            is_case_manager=role == "case_manager",
            password=PASSWORD,
            must_change_password=False,
        )
        users[key] = member.id
    for clinic_id in ("TD-1", "TD-2"):
        patients.create_patient(
            SYSTEM,
            clinic_id=clinic_id,
            given_name="Rowan",
            family_name="Matrix",
            date_of_birth="1970-01-01",
            referral_date="2026-06-01",
            case_manager=users["cm"],
        )
    ids = {f"user_{k}": v for k, v in users.items()}
    add_session = sessions.add_session
    ids["pt_session"] = add_session(
        SYSTEM, P, discipline="pt", held_at="2026-10-01 10:00", kind="Assessment", clinician=users["pt"]
    ).id
    add_session(
        SYSTEM, Q, discipline="psychology", held_at="2026-10-02 10:00", kind="Assessment", clinician=users["psych"]
    )
    ids["phq9"] = measurements.record_measurement(SYSTEM, P, "phq9", PHQ9_SAFETY, taken_at="2026-10-01 10:30").id
    ids["checkin"] = checkins.record_checkin(SYSTEM, P, held_on="2026-10-05", attendees=[users["cm"]]).id
    rows: dict[str, Any] = {
        "goal": goals.GOALS.add(SYSTEM, P, discipline="pt", text="Walk to the shop"),
        "graded_plan": plans.GRADED_PLANS.add(
            SYSTEM, P, activity="Walking", baseline_tolerance=10, current_level=10, target_level=40, weekly_increment=5
        ),
        "course": plans.COURSES.add(SYSTEM, P, kind="CBT for persistent pain", modules_total=8),
        "plan_item": plans.PLAN_ITEMS.add(SYSTEM, P, category="meal_regularity", text="Three meals a day"),
        "social_item": plans.PLAN_ITEMS.add(SYSTEM, P, category="benefits", text="Apply for support"),
        "contact": plans.CONTACTS.add(SYSTEM, P, name="Jo", relationship="partner"),
        "rtw": plans.RTW_PHASES.add(SYSTEM, P, phase=0, started_on="2026-06-01"),
        "flare": FLARES.add(SYSTEM, P, started_on="2026-10-10", severity=6),
        "night": sleep_diary.NIGHTS.add(SYSTEM, P, **NIGHT),
        "action": ACTION_ITEMS.add(SYSTEM, P, text="Call the employer"),
        "decision": DECISIONS.add(SYSTEM, P, text="Start graded walking"),
    }
    rows["graded_week"] = plans.GRADED_WEEKS.add(
        SYSTEM, rows["graded_plan"].id, week_start="2026-10-05", planned_level=10
    )
    rows["practice"] = plans.PRACTICE.add(SYSTEM, rows["course"].id, week_start="2026-10-05", minutes=60)
    ids.update({name: row.id for name, row in rows.items()})
    # Patient P's check-in is booked, so P's version moved on; nothing else changes later.
    db.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return ids


NIGHT = {
    "night_of": "2026-10-06",
    "bed_time": "22:30",
    "lights_out": "23:00",
    "sol_minutes": 20,
    "awakenings": 1,
    "waso_minutes": 10,
    "final_wake": "06:30",
    "out_of_bed": "07:00",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("roles") / "clinic.sqlite3"
    with clock.use(clock.FixedClock(DEMO_NOW)):
        ids = _build(path)
    return path, ids


@pytest.fixture
def world(template, tmp_path) -> World:
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(template[0], path)
    open_clinic(f"sqlite:///{path}")
    return World(template[1], tmp_path)


# --- the registry --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[Actor, World], Any]
    allowed: frozenset[str]
    covers: tuple[str, ...]  # the services it exercises ("module.function", "record kind goal.add")
    # Run each role on a fresh copy instead of in a rolled-back transaction.
    fresh: bool = False
    # What an allowed role gets instead of success (the call is refused for another reason).
    allowed_error: type[TeamDashError] | None = None
    audited: bool = True
    # Run as the system before the role's call (and before counting audit events).
    prepare: Callable[[World], Any] | None = None


def version(model_kind: RecordKind, row_id: int) -> int:
    return model_kind.get(SYSTEM, row_id).version


def _kind_cases(
    name: str,
    kind: RecordKind,
    allowed: frozenset[str],
    new: Callable[[World], tuple[int, dict]],
    change: dict,
) -> list[Case]:
    """add / update / delete / restore (undo) of one record kind."""

    def add(a: Actor, w: World) -> Any:
        owner, values = new(w)
        return kind.add(a, owner, **values)

    def update(a: Actor, w: World) -> Any:
        return kind.update(a, w.row(name), version(kind, w.row(name)), **change)

    def delete(a: Actor, w: World) -> Any:
        return kind.delete(a, w.row(name), version(kind, w.row(name)))

    def deleted(w: World) -> dict:
        return kind.delete(SYSTEM, w.row(name), version(kind, w.row(name)))

    def add_many(a: Actor, w: World) -> Any:
        owner, values = new(w)
        return kind.add_many(a, [{**kind.validate_new(values), kind.owner_key: owner}])

    ref = f"record kind {kind.action}"
    return [
        Case(f"{name}.add", add, allowed, (f"{ref}.add",)),
        # the import's bulk path: whoever may import, whatever their discipline
        Case(f"{name}.add_many", add_many, MANAGERS, (f"{ref}.add_many",)),
        Case(f"{name}.update", update, allowed, (f"{ref}.update",)),
        Case(f"{name}.delete", delete, allowed, (f"{ref}.delete",)),
        Case(
            f"{name}.restore", lambda a, w: kind.restore(a, w.prepared), allowed, (f"{ref}.restore",), prepare=deleted
        ),
    ]


def _patient_version(patient_id: int) -> int:
    return patients.get_patient(SYSTEM, patient_id).version


def _measurement_version(w: World) -> int:
    return measurements.get_measurement(SYSTEM, w.row("phq9")).version


def _session_version(w: World) -> int:
    return sessions.get_session(SYSTEM, w.row("pt_session")).version


def _workbook(w: World) -> Path:
    path = w.tmp / "import.xlsx"
    book = Workbook()
    book.active.append(["Clinic ID", "Instrument", "Taken at", "Item 1"])
    book.active.append(["TD-1", "nrs_pain", "2026-11-20 09:00", 4])
    book.save(path)
    return path


def _meeting(w: World) -> meetings.MeetingResult:
    """A meeting under way (started by the system) with P and Q on its agenda."""
    return meetings.start_meeting(SYSTEM, attendees=[w.row("user_cm")], patient_ids=[P, Q])


def _scored_pain(patient_id: int, score: int) -> tuple:
    """A pain rating as an import hands it to ``measurements.record_many``."""
    when = dt.datetime(2026, 11, 20, 9, 0)
    clean = measurements.validate_new("nrs_pain", [score], taken_at=when, date_of_birth=dt.date(1970, 1, 1))
    return measurements.scored_row(patient_id, "nrs_pain", clean, when, entered_by=None, entered_at=clock.now())


def _session_row(patient_id: int, discipline: str) -> tuple:
    """A session as an import hands it to ``sessions.record_many`` (INSERT_FIELDS order)."""
    clean = sessions.validate_new({"discipline": discipline, "held_at": "2026-11-03 09:00", "kind": "Review"})
    return (patient_id, *(clean[f.name] for f in sessions.INSERT_FIELDS[1:]))


def _restore(a: Actor, w: World) -> Any:
    backup = w.tmp / f"backup-{a.username}.sqlite3"
    if not backup.exists():
        db.backup(backup)
    return maintenance.restore_backup(a, backup)


def _transfer(a: Actor, w: World) -> Any:
    """The open clinic copied into a new file (which then is the open database)."""
    return transfer.transfer(a, f"sqlite:///{db.info().path}", f"sqlite:///{w.tmp / f'copy-{a.username}.sqlite3'}")


S = "teamdash.services"
TREATING_P = frozenset({"admin", "psych", "pt"})  # a PHQ-9 on P: psychology's own, or P's PT who treats P

CASES: list[Case] = [
    # patient administration
    Case(
        "patients.create_patient",
        lambda a, w: patients.create_patient(
            a,
            clinic_id="TD-9",
            given_name="New",
            family_name="Patient",
            date_of_birth="1980-01-01",
            referral_date="2026-11-01",
        ),
        MANAGERS,
        (f"{S}.patients.create_patient",),
    ),
    Case(
        "patients.update_patient",
        lambda a, w: patients.update_patient(a, P, _patient_version(P), flag_note="review"),
        MANAGERS,
        (f"{S}.patients.update_patient",),
    ),
    Case(
        "episodes.change_status",
        lambda a, w: episodes.change_status(a, P, _patient_version(P), "discharged", reason="goals_met"),
        MANAGERS,
        (f"{S}.episodes.change_status",),
    ),
    Case(
        "episodes.readmit",
        lambda a, w: episodes.readmit(a, Q, _patient_version(Q), referral_date="2026-11-20"),
        MANAGERS,
        (f"{S}.episodes.readmit",),
        prepare=lambda w: episodes.change_status(
            SYSTEM, Q, _patient_version(Q), "dropped_out", reason="moved", effective_on="2026-11-10"
        ),
    ),
    Case(
        "patients.undo_update",
        lambda a, w: patients.undo_update(a, P, written={"flag_note": "review"}, previous={"flag_note": None}),
        MANAGERS,
        (f"{S}.patients.undo_update",),
        prepare=lambda w: patients.update_patient(SYSTEM, P, _patient_version(P), flag_note="review"),
    ),
    Case(
        "registration.set_clinic_id_pattern",
        lambda a, w: registration.set_clinic_id_pattern(a, "TD-00000"),
        MANAGERS,
        (f"{S}.registration.set_clinic_id_pattern",),
    ),
    Case(
        "checkin_summary.save_checkin",
        lambda a, w: checkin_summary.save_checkin(
            a, P, held_on="2026-11-20", attendees=[], narrative="Review", plan="Walk daily", next_checkin=None
        ),
        MANAGERS,
        (f"{S}.checkin_summary.save_checkin",),
    ),
    Case(
        "checkin_summary.record_output",
        lambda a, w: checkin_summary.record_output(
            a,
            P,
            kind="summary",
            form="pdf",
            period=checkin_summary.Period(dt.date(2026, 10, 6), dt.date(2026, 11, 27), dt.date(2026, 10, 5)),
        ),
        EVERYONE - {"viewer"},
        (f"{S}.checkin_summary.record_output",),
    ),
    Case(
        "measurements.rescore_all",
        lambda a, w: measurements.rescore_all(a),
        ADMIN,
        (f"{S}.measurements.rescore_all",),
        audited=False,  # nothing to rescore: every stored score is current
    ),
    Case(
        "clinic.restore_backup (over the open database)",
        lambda a, w: clinic.restore_backup(a, w.tmp / "none.sqlite3"),
        ADMIN,
        (f"{S}.clinic.restore_backup",),
        allowed_error=DatabaseUnavailable,  # an open database is restored by maintenance.restore_backup
        audited=False,
    ),
    Case(
        "episodes.undo_change",
        lambda a, w: episodes.undo_change(a, w.prepared.id),
        MANAGERS,
        (f"{S}.episodes.undo_change",),
        prepare=lambda w: episodes.change_status(SYSTEM, Q, _patient_version(Q), "on_hold", note="travelling"),
    ),
    # measures: the instrument's discipline, or any patient the clinician treats
    Case(
        "measurements.record (PHQ-9 on P)",
        lambda a, w: measurements.record_measurement(a, P, "phq9", [0] * 9),
        TREATING_P,
        (f"{S}.measurements.record_measurement",),
    ),
    Case(
        "measurements.record (ODI on Q)",
        lambda a, w: measurements.record_measurement(a, Q, "odi", [1] * 10),
        frozenset({"admin", "pt", "psych"}),
        (f"{S}.measurements.record_measurement",),
    ),
    Case(
        "measurements.record (WPAI on Q)",
        lambda a, w: measurements.record_measurement(a, Q, "wpai", [1, 4, 2, 30, 5, 5]),
        frozenset({"admin", "social_cm", "psych"}),
        (f"{S}.measurements.record_measurement",),
    ),
    Case(
        "measurements.update",
        lambda a, w: measurements.update_measurement(a, w.row("phq9"), _measurement_version(w), note="checked"),
        TREATING_P,
        (f"{S}.measurements.update_measurement",),
    ),
    Case(
        "measurements.delete",
        lambda a, w: measurements.delete_measurement(a, w.row("phq9"), _measurement_version(w)),
        TREATING_P,
        (f"{S}.measurements.delete_measurement",),
    ),
    Case(
        "measurements.restore",
        lambda a, w: measurements.restore_measurement(a, w.prepared),
        TREATING_P,
        (f"{S}.measurements.restore_measurement",),
        prepare=lambda w: measurements.delete_measurement(SYSTEM, w.row("phq9"), _measurement_version(w)),
    ),
    Case(
        "measurements.acknowledge_safety",
        lambda a, w: measurements.acknowledge_safety(a, w.row("phq9"), "Phoned the patient; safety plan agreed"),
        TREATING_P,
        (f"{S}.measurements.acknowledge_safety",),
    ),
    # sessions: the session's discipline
    Case(
        "sessions.add (PT)",
        lambda a, w: sessions.add_session(a, P, discipline="pt", held_at="2026-11-02 09:00", kind="Review"),
        WRITERS_OF["pt"],
        (f"{S}.sessions.add_session",),
    ),
    Case(
        "sessions.add (psychology)",
        lambda a, w: sessions.add_session(a, P, discipline="psychology", held_at="2026-11-02 09:00", kind="Review"),
        WRITERS_OF["psychology"],
        (f"{S}.sessions.add_session",),
    ),
    Case(
        "sessions.update",
        lambda a, w: sessions.update_session(a, w.row("pt_session"), _session_version(w), minutes=50),
        WRITERS_OF["pt"],
        (f"{S}.sessions.update_session",),
    ),
    Case(
        "sessions.update (moved to psychology)",
        lambda a, w: sessions.update_session(a, w.row("pt_session"), _session_version(w), discipline="psychology"),
        ADMIN,
        (f"{S}.sessions.update_session",),
    ),
    Case(
        "sessions.delete",
        lambda a, w: sessions.delete_session(a, w.row("pt_session"), _session_version(w)),
        WRITERS_OF["pt"],
        (f"{S}.sessions.delete_session",),
    ),
    Case(
        "sessions.restore",
        lambda a, w: sessions.restore_session(a, w.prepared),
        WRITERS_OF["pt"],
        (f"{S}.sessions.restore_session",),
        prepare=lambda w: sessions.delete_session(SYSTEM, w.row("pt_session"), _session_version(w)),
    ),
    # team check-ins, decisions and action items: case managers
    Case(
        "checkins.record_checkin",
        lambda a, w: checkins.record_checkin(a, P, held_on="2026-11-27", attendees=[w.row("user_cm")]),
        MANAGERS,
        (f"{S}.checkins.record_checkin",),
    ),
    *_kind_cases(
        "goal",
        goals.GOALS,
        WRITERS_OF["pt"],
        lambda w: (P, {"discipline": "pt", "text": "Lift the shopping"}),
        {"text": "Lift a full bag"},
    ),
    Case(
        "goal.add (psychology)",
        lambda a, w: goals.GOALS.add(a, P, discipline="psychology", text="Fewer catastrophising thoughts"),
        WRITERS_OF["psychology"],
        ("record kind goal.add",),
    ),
    Case(
        "goal.update (moved to psychology)",
        lambda a, w: goals.GOALS.update(a, w.row("goal"), version(goals.GOALS, w.row("goal")), discipline="psychology"),
        ADMIN,
        ("record kind goal.update",),
    ),
    *_kind_cases(
        "graded_plan",
        plans.GRADED_PLANS,
        WRITERS_OF["pt"],
        lambda w: (
            P,
            {
                "activity": "Stairs",
                "baseline_tolerance": 1,
                "current_level": 1,
                "target_level": 5,
                "weekly_increment": 1,
            },
        ),
        {"current_level": 15},
    ),
    *_kind_cases(
        "graded_week",
        plans.GRADED_WEEKS,
        WRITERS_OF["pt"],
        lambda w: (w.row("graded_plan"), {"week_start": "2026-10-12", "planned_level": 15}),
        {"achieved_level": 12},
    ),
    *_kind_cases(
        "course",
        plans.COURSES,
        WRITERS_OF["psychology"],
        lambda w: (P, {"kind": "Mindfulness", "modules_total": 6}),
        {"modules_done": 2},
    ),
    *_kind_cases(
        "practice",
        plans.PRACTICE,
        WRITERS_OF["psychology"],
        lambda w: (w.row("course"), {"week_start": "2026-10-12", "minutes": 30}),
        {"minutes": 45},
    ),
    *_kind_cases(
        "plan_item",
        plans.PLAN_ITEMS,
        WRITERS_OF["nutrition"],
        lambda w: (P, {"category": "hydration", "text": "Two litres a day"}),
        {"status": "in_progress"},
    ),
    *_kind_cases(
        "social_item",
        plans.PLAN_ITEMS,
        WRITERS_OF["social"],
        lambda w: (P, {"category": "community_referral", "text": "Walking group"}),
        {"status": "in_progress"},
    ),
    *_kind_cases(
        "contact",
        plans.CONTACTS,
        WRITERS_OF["social"],
        lambda w: (P, {"name": "Alex", "relationship": "friend"}),
        {"involved_in_goals": True},
    ),
    *_kind_cases(
        "rtw",
        plans.RTW_PHASES,
        WRITERS_OF["social"],
        lambda w: (P, {"phase": 1, "started_on": "2026-10-01"}),
        {"hours_per_week": 8},
    ),
    *_kind_cases(
        "night",
        sleep_diary.NIGHTS,
        WRITERS_OF["sleep"],
        lambda w: (P, {**NIGHT, "night_of": "2026-10-07"}),
        {"quality": 4},
    ),
    # flares: the PT tab's log, and every clinician who treats the patient
    *_kind_cases(
        "flare",
        FLARES,
        WRITERS_OF["pt"],
        lambda w: (P, {"started_on": "2026-11-01", "severity": 5}),
        {"days_to_recover": 3},
    ),
    Case(
        "flare.add (Q, treated by the psychologist)",
        lambda a, w: FLARES.add(a, Q, started_on="2026-11-01", severity=5),
        frozenset({"admin", "pt", "psych"}),
        ("record kind flare.add",),
    ),
    *_kind_cases(
        "action",
        ACTION_ITEMS,
        MANAGERS,
        lambda w: (P, {"text": "Book the review"}),
        {"status": "done"},
    ),
    *_kind_cases(
        "decision",
        DECISIONS,
        MANAGERS,
        lambda w: (P, {"text": "Continue for four weeks"}),
        {"text": "Continue for six weeks"},
    ),
    # the team meeting: a case manager runs it (check-ins, decisions, action items)
    Case(
        "meetings.start_meeting",
        lambda a, w: meetings.start_meeting(a, attendees=[w.row("user_cm")], patient_ids=[P]),
        MANAGERS,
        (f"{S}.meetings.start_meeting",),
    ),
    Case(
        "meetings.set_agenda",
        lambda a, w: meetings.set_agenda(a, w.prepared.id, w.prepared.version, [Q, P]),
        MANAGERS,
        (f"{S}.meetings.set_agenda",),
        prepare=_meeting,
    ),
    Case(
        "meetings.add_decision",
        lambda a, w: meetings.add_decision(a, w.prepared.id, P, "Continue graded walking"),
        MANAGERS,
        (f"{S}.meetings.add_decision",),
        prepare=_meeting,
    ),
    Case(
        "meetings.add_action_item",
        lambda a, w: meetings.add_action_item(
            a, w.prepared.id, P, text="Phone the employer", owner=w.row("user_social_cm"), discipline="social"
        ),
        MANAGERS,
        (f"{S}.meetings.add_action_item",),
        prepare=_meeting,
    ),
    Case(
        "meetings.mark_reviewed",
        lambda a, w: meetings.mark_reviewed(a, w.prepared.id, P, note="Doing well"),
        MANAGERS,
        (f"{S}.meetings.mark_reviewed",),
        prepare=_meeting,
    ),
    Case(
        "meetings.end_meeting",
        lambda a, w: meetings.end_meeting(a, w.prepared.id, w.prepared.version),
        MANAGERS,
        (f"{S}.meetings.end_meeting",),
        prepare=_meeting,
    ),
    Case(
        "meetings.record_minutes_export",
        lambda a, w: meetings.record_minutes_export(a, w.prepared.id, fmt="pdf", privacy=True),
        EVERYONE - {"viewer"},
        (f"{S}.meetings.record_minutes_export",),
        prepare=_meeting,
    ),
    # the import's bulk paths: whoever may import (case managers, administrators), for
    # every discipline; staff only by an administrator
    Case(
        "patients.create_many",
        lambda a, w: patients.create_many(
            a,
            [
                patients.validate_new(
                    {
                        "clinic_id": "TD-8",
                        "given_name": "Bulk",
                        "family_name": "Import",
                        "date_of_birth": "1975-03-04",
                        "referral_date": "2026-11-02",
                    }
                )
            ],
        ),
        MANAGERS,
        (f"{S}.patients.create_many",),
    ),
    Case(
        "measurements.record_many (P and Q)",
        lambda a, w: measurements.record_many(a, [_scored_pain(P, 4), _scored_pain(Q, 6)]),
        MANAGERS,
        (f"{S}.measurements.record_many",),
    ),
    Case(
        "measurements.acknowledge_many",
        lambda a, w: measurements.acknowledge_many(
            a,
            [
                {
                    **measurements.validate_acknowledgement(
                        {
                            "acknowledged_by": w.row("user_psych"),
                            "acknowledged_at": "2026-10-01 11:00",
                            "action_taken": "Phoned the patient; safety plan agreed",
                        }
                    ),
                    "measurement": w.row("phq9"),
                }
            ],
        ),
        MANAGERS,
        (f"{S}.measurements.acknowledge_many",),
    ),
    Case(
        "sessions.record_many (PT and psychology)",
        lambda a, w: sessions.record_many(a, [_session_row(P, "pt"), _session_row(Q, "psychology")]),
        MANAGERS,
        (f"{S}.sessions.record_many",),
    ),
    Case(
        "checkins.record_many",
        lambda a, w: checkins.record_many(
            a, [{**checkins.validate_new({"held_on": "2026-11-20", "attendees": [w.row("user_cm")]}), "patient": Q}]
        ),
        MANAGERS,
        (f"{S}.checkins.record_many",),
    ),
    Case(
        "staff.create_users",
        lambda a, w: staff.create_users(
            a, [{"username": "bulk.pt", "full_name": "Bulk Physio", "role": "clinician", "discipline": "pt"}]
        ),
        ADMIN,
        (f"{S}.staff.create_users",),
    ),
    # accounts: administrators, except one's own password
    Case(
        "staff.create_user",
        lambda a, w: staff.create_user(a, username="newbie", full_name="New Person", role="viewer", password=PASSWORD),
        ADMIN,
        (f"{S}.staff.create_user",),
    ),
    Case(
        "staff.update_user",
        lambda a, w: staff.update_user(a, w.row("user_viewer"), 1, full_name="Vic Reviewer"),
        ADMIN,
        (f"{S}.staff.update_user",),
    ),
    Case(
        "staff.set_active",
        lambda a, w: staff.set_active(a, w.row("user_psych"), False),
        ADMIN,
        (f"{S}.staff.set_active",),
    ),
    Case(
        "accounts.reset_password",
        lambda a, w: accounts.reset_password(a, w.row("user_psych"), "a temporary secret"),
        ADMIN,
        (f"{S}.accounts.reset_password",),
    ),
    Case("accounts.unlock", lambda a, w: accounts.unlock(a, w.row("user_psych")), ADMIN, (f"{S}.accounts.unlock",)),
    Case(
        "accounts.change_password (own)",
        lambda a, w: accounts.change_password(a, PASSWORD, "my very own secret"),
        EVERYONE,
        (f"{S}.accounts.change_password",),
    ),
    Case(
        "clinic_settings.change",
        lambda a, w: clinic_settings.change(a, "lock_minutes", 10),
        ADMIN,
        (f"{S}.clinic_settings.change",),
    ),
    # the audit trail: administrators
    Case(
        "audit.search",
        lambda a, w: audit.search(a, audit.AuditQuery(patient_id=P)),
        ADMIN,
        (f"{S}.audit.search",),
    ),
    Case(
        "patients.audit_trail",
        lambda a, w: patients.audit_trail(a, P),
        ADMIN,
        (f"{S}.patients.audit_trail",),
    ),
    Case(
        "audit.verify_chain",
        lambda a, w: audit.verify_chain(a),
        ADMIN,
        (f"{S}.audit.verify_chain",),
        audited=False,
    ),
    # exports, imports, backups
    Case(
        "export (identified)",
        lambda a, w: export(a, w.tmp / f"cohort-{a.username}.xlsx", ExportOptions(kind="cohort")),
        frozenset({"admin", "cm", "social_cm", "pt", "psych"}),
        ("teamdash.exchange.export.export",),
    ),
    Case(
        "export (de-identified research)",
        lambda a, w: export(a, w.tmp / f"research-{a.username}.xlsx", ExportOptions(kind="cohort", deidentify=True)),
        ADMIN,
        ("teamdash.exchange.export.export",),
    ),
    Case(
        "import",
        lambda a, w: importing.import_file(a, _workbook(w)),
        MANAGERS,
        ("teamdash.exchange.importing.run.import_file",),
    ),
    Case(
        "demo.generate",
        lambda a, w: demo.generate(a, patients=1),
        MANAGERS,
        ("teamdash.demo.generate",),
        allowed_error=ValidationError,  # the demo goes into an empty database only
    ),
    Case(
        "maintenance.take_backup",
        lambda a, w: maintenance.take_backup(a, w.tmp / f"manual-{a.username}.sqlite3"),
        MANAGERS,
        (f"{S}.maintenance.take_backup",),
    ),
    Case("maintenance.restore_backup", _restore, ADMIN, (f"{S}.maintenance.restore_backup",), fresh=True),
    Case("transfer.transfer", _transfer, MANAGERS, (f"{S}.transfer.transfer",), fresh=True),
]


# Functions that write or check a permission but are not role-restricted, with why.
NOT_ROLE_CHECKED = {
    f"{S}.accounts.sign_in": "signing in: anyone with an account and its password",
    f"{S}.accounts.sign_out": "signing out: the signed-in user",
    f"{S}.accounts.verify_password": "unlocking the screen: the signed-in user's own password",
    f"{S}.staff.create_first_administrator": "first start only: refused once an administrator exists",
    f"{S}.maintenance.daily_backup": "the automatic backup: a duty of the system, not a user's choice",
    f"{S}.audit.record": "the audit trail itself",
    f"{S}.audit.record_if_writable": "the audit trail itself",
    f"{S}.audit.record_view": "the audit trail itself",
    f"{S}.row_ops.update_versioned": "a helper: its callers check",
    f"{S}.row_ops.delete_versioned": "a helper: its callers check",
    f"{S}.row_ops.create_audited": "a helper: its callers check",
    f"{S}.row_ops.restore_row": "a helper: its callers check",
    f"{S}.row_ops.restore_children": "a helper: its callers check",
}


# --- the tests ------------------------------------------------------------------------------


def _attempt(case: Case, role: str, world: World) -> str | None:
    """Run the case as ``role``; a description of what went wrong, or None."""
    actor = actor_for(ROLES[role][0])
    world.prepared = case.prepare(world) if case.prepare is not None else None
    events = AuditEvent.select().count()
    allowed = role in case.allowed
    try:
        case.call(actor, world)
    except PermissionDenied as exc:
        if allowed:
            return f"{role}: refused but should be allowed ({exc})"
        if AuditEvent.select().count() != events:
            return f"{role}: refused, but an audit event was written"
        return None
    except TeamDashError as exc:
        if allowed and case.allowed_error is not None and isinstance(exc, case.allowed_error):
            return None
        return f"{role}: {type(exc).__name__}: {exc}"
    if not allowed:
        return f"{role}: allowed but should be refused"
    if case.allowed_error is not None:
        return f"{role}: expected {case.allowed_error.__name__}"
    if case.audited and AuditEvent.select().count() <= events:
        return f"{role}: allowed, but no audit event was written"
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_role_against_every_writing_service(case, world, template):
    problems = []
    for role in ROLES:
        if case.fresh:
            db.close()
            path = world.tmp / f"fresh-{role}.sqlite3"
            shutil.copy(template[0], path)
            open_clinic(f"sqlite:///{path}")
            problems.append(_attempt(case, role, world))
            continue
        with db.database.atomic() as transaction:
            problems.append(_attempt(case, role, world))
            transaction.rollback()
    assert [p for p in problems if p] == []


def _writing_functions() -> dict[str, str]:
    """Public functions of the services, exchange and demo that check a permission other
    than "read" or write through row_ops, and every RecordKind's operations."""
    found: dict[str, str] = {}
    require = re.compile(r"auth\.require\(\s*\w+,\s*(?:\"(\w+)\"|(\w+))")
    writes = re.compile(r"row_ops\.(create_audited|update_versioned|delete_versioned|restore_row)\(|_require_scope\(")
    modules = [demo]
    for package in (teamdash.services, teamdash.exchange):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            modules.append(importlib.import_module(info.name))
    for module in modules:
        for name, obj in vars(module).items():
            if isinstance(obj, RecordKind):
                for op in ("add", "add_many", "update", "delete", "restore"):
                    found[f"record kind {obj.action}.{op}"] = f"{module.__name__}.{name}"
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            source = inspect.getsource(obj)
            permissions = {m[0] or m[1] for m in require.findall(source)} - {"read"}
            if permissions or writes.search(source):
                qualified = f"{module.__name__}.{name}"
                if qualified.startswith("teamdash.exchange.export.") and qualified.endswith(".export"):
                    qualified = "teamdash.exchange.export.export"
                found[qualified] = ", ".join(sorted(permissions)) or "writes"
    return found


def test_every_writing_service_is_in_the_matrix():
    covered = {ref for case in CASES for ref in case.covers}
    missing = {
        name: why for name, why in _writing_functions().items() if name not in covered and name not in NOT_ROLE_CHECKED
    }
    assert missing == {}, "add a Case to tests/test_roles.py::CASES for each of these"


def test_every_role_is_tried_and_each_case_refuses_someone_or_says_why():
    for case in CASES:
        assert case.allowed <= EVERYONE
        assert case.allowed != EVERYONE or case.name == "accounts.change_password (own)", case.name
