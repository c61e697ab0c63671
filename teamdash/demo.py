"""A deterministic, realistic synthetic clinic for demonstrations, tests and benchmarks.

Every person in it is invented (the surnames are plainly made up). Patient *i* is the
same whatever the clinic's size, for a given seed and date: each patient draws from its
own random stream. Trajectories cover what a team meets: steady improvers, slow
improvers, plateaus, relapses, drop-outs, and a patient or two with a positive PHQ-9
item 9. Rows go in with bulk inserts in one transaction, then the summaries are rebuilt
once; the audit trail gets one event for the whole clinic.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import itertools
import math
import multiprocessing
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from teamdash import clock
from teamdash.clinical import instruments
from teamdash.errors import Cancelled, ValidationError
from teamdash.services import accounts, audit, auth, list_summary, measurements
from teamdash.services.auth import Actor
from teamdash.storage import bulk
from teamdash.storage.db import database
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
    PracticeWeek,
    RtwPhase,
    SafetyAcknowledgement,
    Session,
    SleepDiaryNight,
    StatusChange,
    SupportContact,
    User,
)
from teamdash.storage.queries import Row, tuples
from teamdash.text import patient_search_key

MAX_PATIENTS = 200_000

STAFF = (
    # username, full name, discipline, role, case manager
    ("mquillfeather", "Morgan Quillfeather", None, "case_manager", True),
    ("jambersmith", "Jordan Ambersmith", None, "case_manager", True),
    ("rbrightwater", "Riley Brightwater", "pt", "clinician", False),
    ("coakhollow", "Casey Oakhollow", "pt", "clinician", False),
    ("athistledown", "Avery Thistledown", "psychology", "clinician", False),
    ("qmarrowby", "Quinn Marrowby", "nutrition", "clinician", False),
    ("rnightjar", "Rowan Nightjar", "sleep", "clinician", False),
    ("ewrenfield", "Emerson Wrenfield", "social", "case_manager", True),
    ("ckestrel", "Cameron Kestrel", None, "admin", False),
    ("pvale", "Parker Vale", None, "viewer", False),  # a quality reviewer: read-only
)
# Every demo account signs in with this password (README: "Trying it out"). A real
# clinic's accounts are made by its administrator, each with its own password.
DEMO_PASSWORD = "demo-clinic-2026"

GIVEN = (
    "Alex",
    "Blair",
    "Charlie",
    "Dana",
    "Eden",
    "Finley",
    "Gale",
    "Harper",
    "Indy",
    "Jesse",
    "Kai",
    "Lane",
    "Milan",
    "Noel",
    "Oakley",
    "Parker",
    "Reese",
    "Sage",
    "Tatum",
    "Val",
    "Wren",
    "Yael",
    "Zion",
    "Ariel",
    "Brook",
    "Cameron",
    "Drew",
    "Ellis",
    "Frankie",
    "Hollis",
    "Jamie",
    "Kerry",
    "Lou",
    "Marley",
    "Nico",
    "Robin",
)
SURNAME_HEAD = (
    "Bramble",
    "Cinder",
    "Dapple",
    "Ember",
    "Fennel",
    "Gorse",
    "Hazel",
    "Ivy",
    "Juniper",
    "Kestrel",
    "Larch",
    "Moss",
    "Nettle",
    "Otter",
    "Pebble",
    "Quince",
    "Rowan",
    "Sorrel",
    "Teasel",
    "Umber",
    "Vetch",
    "Willow",
)
SURNAME_TAIL = ("cott", "fell", "wick", "thorpe", "combe", "ridge", "brook", "stead", "holm", "mere", "by", "worth")

TRAJECTORIES = (
    # name, share of patients
    ("improver", 0.38),
    ("slow_improver", 0.17),
    ("plateau", 0.18),
    ("relapse", 0.14),
    ("dropout", 0.13),
)

CHECKIN_SET = (
    "odi",
    "phq9",
    "gad7",
    "pcs",
    "tsk11",
    "pseq",
    "isi",
    "psqi",
    "cpaq8",
    "wpai",
    "six_minute_walk",
    "chair_stand_30s",
    "bmi",
    "waist",
)
BASELINE_ONLY = ("startback",)

# Activities patients name on the PSFS (the demo draws three, sometimes changes one or
# adds a fourth, so matched-activity change has something to match and something not to).
PSFS_ACTIVITIES = (
    "Walking 30 minutes",
    "Sitting through a work meeting",
    "Lifting a laundry basket",
    "Gardening",
    "Putting on socks and shoes",
    "Driving for an hour",
    "Vacuuming the house",
    "Playing with the children",
    "Getting up from the floor",
    "Cycling to work",
    "Carrying the shopping",
    "Standing to cook a meal",
    "Loading the dishwasher",
    "Swimming 20 lengths",
)

NARRATIVES = {
    "improver": "Steady gains in function; pacing and graded walking well established.",
    "slow_improver": "Gradual progress; confidence in activity building slowly.",
    "plateau": "Little change since the last review; team to revisit goals and barriers.",
    "relapse": "Setback after a flare; coping plan reviewed and graded activity rescaled.",
    "dropout": "Attendance has fallen; case manager to make contact.",
}


@dataclass
class DemoReport:
    patients: int = 0
    staff: int = 0
    measurements: int = 0
    sessions: int = 0
    other_rows: int = 0


@dataclass
class _Rows:
    """Column tuples per table, flushed in bulk."""

    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, row: Row) -> None:
        self.tables.setdefault(table, []).append(row)


# --- trajectories ------------------------------------------------------------------------


def _severity_curve(kind: str, rng: random.Random, weeks: int) -> Callable[[float], float]:
    """Badness 0 (none) to 1 (worst) over programme weeks for one patient."""
    start = rng.uniform(0.5, 0.85)
    floor = rng.uniform(0.12, 0.3)
    rate = rng.uniform(0.07, 0.14)
    if kind == "improver":
        return lambda w: floor + (start - floor) * math.exp(-rate * w)
    if kind == "slow_improver":
        return lambda w: floor + (start - floor) * math.exp(-rate * 0.35 * w)
    if kind == "plateau":
        settle = start - rng.uniform(0.04, 0.1)
        return lambda w: settle + (start - settle) * math.exp(-0.3 * w)
    if kind == "relapse":
        turn = rng.uniform(0.45, 0.7) * weeks
        return lambda w: (
            (floor + (start - floor) * math.exp(-rate * w)) + (0.0 if w < turn else min(0.4, 0.12 * (w - turn)))
        )
    # drop-out: some early change, then gone
    return lambda w: start - 0.05 * min(w, 4) / 4


def _responses(definition: instruments.Instrument, badness: float, rng: random.Random) -> list:
    """Item responses for a sum/mean/percent questionnaire at the given badness."""
    reverse = set(definition.scoring.reverse) if definition.scoring else set()
    worse_up = definition.direction != "higher_better"
    out = []
    for item in definition.items:
        lo, hi = item.minimum, item.maximum
        assert lo is not None and hi is not None  # numeric items: the questionnaires the demo fills in
        level = badness if worse_up != (item.number in reverse) else 1 - badness
        value = lo + (hi - lo) * min(1.0, max(0.0, level + rng.gauss(0, 0.12)))
        out.append(int(round(value)))
    return out


def _special_responses(instrument_id: str, badness: float, rng: random.Random, person: dict) -> list | None:
    if instrument_id == "nrs_pain":
        return [max(0, min(10, round(10 * badness + rng.gauss(0, 0.8))))]
    if instrument_id == "psfs":
        return [max(0, min(10, round(10 * (1 - badness) + rng.gauss(0, 1)))) for _ in range(3)] + [None, None]
    if instrument_id == "six_minute_walk":
        return [max(60, round(person["walk_capacity"] * (1.05 - 0.55 * badness) + rng.gauss(0, 15)))]
    if instrument_id == "chair_stand_30s":
        return [max(2, round(18 * (1.05 - 0.6 * badness) + rng.gauss(0, 1.2)))]
    if instrument_id == "bmi":
        return [round(person["weight"] + rng.gauss(0, 0.6), 1), person["height"]]
    if instrument_id == "waist":
        return [round(person["waist"] + rng.gauss(0, 1.0), 1)]
    if instrument_id == "wpai":
        return _wpai(badness, rng, person["employed"])
    if instrument_id == "psqi":
        return _psqi(badness, rng)
    if instrument_id == "startback":
        high = badness > 0.6
        items = [1 if rng.random() < badness + 0.1 else 0 for _ in range(8)]
        return items + [rng.choice((3, 4)) if high else rng.choice((0, 1, 2))]
    return None


def _wpai(badness: float, rng: random.Random, employed: bool) -> list:
    if not employed:
        return [0, None, None, None, None, min(10, max(0, round(10 * badness + rng.gauss(0, 1))))]
    missed = max(0, round(20 * badness * rng.uniform(0.2, 1.0)))
    worked = max(0, round(38 - missed - rng.uniform(0, 4)))
    effect = min(10, max(0, round(10 * badness + rng.gauss(0, 1))))
    activity = min(10, max(0, round(10 * badness + rng.gauss(0, 1))))
    return [1, missed, rng.choice((0, 0, 2, 4)), worked, effect, activity]


def _psqi(badness: float, rng: random.Random) -> list:
    bed = dt.datetime(2000, 1, 1, 22, 30) + dt.timedelta(minutes=rng.randint(0, 90))
    latency = int(10 + 60 * badness * rng.uniform(0.5, 1.2))
    hours_asleep = round(max(3.5, 8.0 - 3.5 * badness + rng.gauss(0, 0.4)), 1)
    wake = bed + dt.timedelta(minutes=latency) + dt.timedelta(hours=hours_asleep + 0.6 * badness)

    def level(spread: float = 0.25) -> int:
        return min(3, max(0, round(3 * badness + rng.gauss(0, spread * 3))))

    disturbances = [level() for _ in range(9)]  # 5a–5i
    # Q1–Q4, Q5a–Q5i, Q5j (other reason: none), Q6–Q9.
    return [
        bed.strftime("%H:%M"),
        latency,
        wake.strftime("%H:%M"),
        hours_asleep,
        *disturbances,
        None,
        level(),
        level(),
        level(),
        level(),
        None,
    ]  # Q10 (bed partner) is not scored


# --- one patient -----------------------------------------------------------------------


def _choose(rng: random.Random, shares) -> str:
    x, acc = rng.random(), 0.0
    for name, share in shares:
        acc += share
        if x < acc:
            return name
    return shares[-1][0]


def _patient_values(i: int, rng: random.Random, today: dt.date, managers: list[int]) -> dict:
    weeks = rng.randint(6, 52)
    start = today - dt.timedelta(weeks=weeks, days=rng.randint(0, 6))
    referral = start - dt.timedelta(days=rng.randint(14, 45))
    dob = today - dt.timedelta(days=int(365.25 * rng.uniform(24, 68)))
    sex = rng.choice(("female", "female", "male", "male", "other"))
    height = rng.gauss(168 if sex == "female" else 178, 7)
    bmi = rng.uniform(21, 36)
    return {
        "clinic_id": f"TD-{i:05d}",
        "given_name": rng.choice(GIVEN),
        "family_name": rng.choice(SURNAME_HEAD) + rng.choice(SURNAME_TAIL),
        "date_of_birth": dob,
        "sex": sex,
        "referral_date": referral,
        "programme_start": start,
        "episode_start": referral,
        "case_manager": rng.choice(managers),
        "research_consent": rng.random() < 0.8,
        "weeks": weeks,
        "kind": _choose(rng, TRAJECTORIES),
        "height": round(height),
        "weight": round(bmi * (height / 100) ** 2, 1),
        "waist": round(70 + (bmi - 20) * 2.4 + rng.gauss(0, 4), 1),
        "walk_capacity": rng.uniform(420, 620),
        "employed": rng.random() < 0.72,
    }


class _PatientBuilder:
    """Generates one patient's clinical rows into ``rows``."""

    def __init__(
        self, pid: int, person: dict, rng: random.Random, today: dt.date, staff: dict, rows: _Rows, safety: str | None
    ):
        self.pid, self.p, self.rng, self.today, self.staff, self.rows = pid, person, rng, today, staff, rows
        self.safety = safety  # None | "open" | "acknowledged"
        self.start: dt.date = person["programme_start"]
        weeks_so_far = person["weeks"]
        kind = person["kind"]
        self.end_week = weeks_so_far if kind != "dropout" else rng.randint(3, max(4, min(weeks_so_far, 14)))
        person["end_week"] = self.end_week
        self.curve = _severity_curve(kind, rng, weeks_so_far)
        self.entered_at = dt.datetime.combine(today, dt.time(8, 0))
        self._psfs_plan()

    def _psfs_plan(self) -> None:
        """The patient's PSFS activities, from a stream of their own (the main stream, and
        so every other demo value, stays as it was before activities had names)."""
        side = random.Random(f"psfs:{self.p['clinic_id']}")
        self.psfs_side = side
        self.psfs_activities = side.sample(PSFS_ACTIVITIES, 5)
        weeks = max(2, self.end_week)
        # A third of patients swap their third activity for another one part-way through;
        # a fifth add a fourth activity at a review.
        self.psfs_swap_week = side.randint(2, weeks) if side.random() < 0.33 else None
        self.psfs_fourth_week = side.randint(2, weeks) if side.random() < 0.2 else None

    def _psfs(self, responses: list, week: float, badness: float) -> tuple[list, tuple]:
        names = list(self.psfs_activities[:3]) + [None, None]
        if self.psfs_swap_week is not None and week >= self.psfs_swap_week:
            names[2] = self.psfs_activities[3]
        if self.psfs_fourth_week is not None and week >= self.psfs_fourth_week:
            names[3] = self.psfs_activities[4]
            responses[3] = max(0, min(10, round(10 * (1 - badness) + self.psfs_side.gauss(0, 1))))
        return responses, tuple(names)

    def when(self, week: float, hour: int = 10) -> dt.datetime:
        day = self.start + dt.timedelta(days=int(round(week * 7)))
        return dt.datetime.combine(day, dt.time(hour, self.rng.choice((0, 15, 30, 45))))

    def measure(self, instrument_id: str, week: float, *, badness: float | None = None, hour: int = 10) -> None:
        taken_at = self.when(week, hour)
        if taken_at.date() > self.today:
            return
        level = self.curve(max(0.0, week)) if badness is None else badness
        definition = instruments.get(instrument_id)
        responses = _special_responses(instrument_id, level, self.rng, self.p) or _responses(
            definition, level, self.rng
        )
        if instrument_id == "phq9":
            # Item 9 stays 0 except for the safety patients, positive at intake and first review.
            responses[8] = 1 if self.safety and week <= 6 else 0
        names = None
        if instrument_id == "psfs":
            responses, names = self._psfs(responses, week, level)
        if taken_at.date() == self.today:
            return  # today's appointment may not have happened yet (responses drawn all the same: same clinic)
        self.rows.add(
            "measurement",
            measurements.scored_row(
                self.pid,
                instrument_id,
                measurements.encoded_scored_columns(instrument_id, tuple(responses), names),
                taken_at,
                entered_by=self.staff.get(definition.discipline),
                entered_at=self.entered_at,
                source="demo",
            ),
        )

    def build(self) -> None:
        self._measurements()
        self._sessions()
        self._checkins_goals_actions()
        self._plans()

    def _measurements(self) -> None:
        # Intake assessment a week or two before the programme starts.
        for instrument_id in ("nrs_pain", "psfs", *CHECKIN_SET, *BASELINE_ONLY):
            self.measure(instrument_id, -1.5 + self.rng.random() * 0.5, badness=self.curve(0))
        for week in range(1, self.end_week + 1):
            self.measure("nrs_pain", week)
            self.measure("psfs", week)
            if week % 6 == 0:
                for instrument_id in CHECKIN_SET:
                    self.measure(instrument_id, week)
        if self.rng.random() < 0.15 and self.end_week > 2:  # a same-day repeat (entered twice, both kept)
            self.measure("nrs_pain", self.end_week, hour=15)

    def _sessions(self) -> None:
        plan = (
            ("pt", 1, "Graded activity"),
            ("psychology", 2, "CBT individual"),
            ("nutrition", 4, "Individual consultation"),
            ("sleep", 2, "CBT-I individual"),
            ("social", 4, "Individual"),
        )
        dropout = self.p["kind"] == "dropout"
        for discipline, every, kind in plan:
            if discipline in ("nutrition", "sleep") and self.rng.random() < 0.35:
                continue
            for week in range(0, self.p["weeks"] + 2, every):
                held = self.when(week, hour=9 + every)
                late = dropout and week >= self.end_week - 2
                if late and week > self.end_week + 1:
                    break
                x = self.rng.random()
                attendance = "no_show" if (late and x < 0.7) or x < 0.06 else "cancelled" if x < 0.12 else "attended"
                if held.date() >= self.today:
                    attendance = "scheduled"  # a booking: not yet held
                minutes = 45 if attendance == "attended" else 0
                self.rows.add(
                    "session", (self.pid, discipline, held, self.staff.get(discipline), kind, minutes, attendance, None)
                )

    def _checkins_goals_actions(self) -> None:
        rng, number = self.rng, 0
        held = self.start + dt.timedelta(weeks=rng.choice((4, 5, 6)))
        managers = [self.p["case_manager"], self.staff["pt"], self.staff["psychology"]]
        last = None
        while held <= self.today and (
            self.p["kind"] != "dropout" or held <= self.start + dt.timedelta(weeks=self.end_week + 2)
        ):
            number += 1
            attendees = [
                {"user_id": u, "name": self.staff["names"][u], "discipline": self.staff["disc_of"][u]} for u in managers
            ]
            self.rows.add(
                "checkin",
                (
                    self.pid,
                    held,
                    attendees,
                    NARRATIVES[self.p["kind"]],
                    None,
                    self.p["case_manager"],
                    dt.datetime.combine(held, dt.time(13, 0)),
                ),
            )
            last = held
            held = held + dt.timedelta(weeks=rng.choice((4, 5, 6)))
        self.p["next_checkin"] = (last or self.start) + dt.timedelta(weeks=5 if rng.random() < 0.8 else 3)
        self.p["checkins"] = number
        self._goals()

    def _goals(self) -> None:
        rng, start = self.rng, self.start
        base_walk = round(self.p["walk_capacity"] * (1.05 - 0.55 * self.curve(0)))
        goals = [
            (
                "pt",
                "Walk 30 minutes on level ground without stopping",
                "six_minute_walk",
                base_walk,
                base_walk + 90,
                16,
            ),
            ("psychology", "Use the flare plan within a day of a setback", None, None, None, 12),
            ("sleep", "Fall asleep within 30 minutes on most nights", "isi", None, None, 10),
            ("social", "Return to work at 20 hours a week", None, None, None, 20),
        ]
        for discipline, text, instrument_id, baseline, target, due_weeks in goals:
            if instrument_id == "isi":
                baseline, target = 16 if self.curve(0) > 0.6 else 12, 7
            due = start + dt.timedelta(weeks=due_weeks)
            progress_share = 1 - self.curve(self.end_week) / max(self.curve(0), 0.01)
            status = "active"
            if due < self.today:  # reviewed at the check-in after its due date, mostly
                status = (
                    "achieved"
                    if progress_share > 0.5
                    else "partly_achieved"
                    if progress_share > 0.2
                    else "not_achieved"
                )
                if self.p["kind"] == "dropout":
                    status = "discontinued"
                elif rng.random() < 0.08:
                    status = "active"  # not yet reviewed: the team sees it flagged
            manual = None if instrument_id else int(max(0, min(100, 100 * progress_share * 1.6)))
            self.rows.add(
                "goal", (self.pid, discipline, text, instrument_id, baseline, target, start, due, status, manual)
            )

    def _plans(self) -> None:
        rng, start = self.rng, self.start
        plan_weeks = min(self.end_week, 16)
        level = float(rng.choice((5, 10, 15)))
        weeks = []
        for w in range(plan_weeks):
            planned = min(45.0, level + 5 * w)
            achieved = (
                round(planned * rng.uniform(0.7, 1.05))
                if self.p["kind"] != "plateau" or w < 4
                else round(planned * 0.6)
            )
            weeks.append((start + dt.timedelta(weeks=w), planned, achieved, rng.randint(50, 100), None))
        # The current level is what the patient manages now: the last logged week's
        # (it was once baseline + 4 a week, which ran past the 45-minute target).
        current = float(weeks[-1][2]) if weeks else level
        self.rows.add(
            "graded_plan",
            (
                self.pid,
                "Walking",
                "minutes",
                level,
                current,
                45.0,
                5.0,
                start,
                "active" if self.p["kind"] != "dropout" else "paused",
            ),
        )
        self.rows.add("graded_weeks", tuple(weeks))
        modules_done = min(8, self.end_week // 2)
        practice = [(start + dt.timedelta(weeks=w), rng.randint(30, 150)) for w in range(min(self.end_week, 8))]
        self.rows.add(
            "course",
            (
                self.pid,
                "CBT for persistent pain",
                8,
                modules_done,
                start,
                "completed" if modules_done == 8 else "active",
                practice,
            ),
        )
        self._plan_items()
        self._contacts_and_rtw()
        self._flares()
        self._sleep_diary()

    def _plan_items(self) -> None:
        rng, start = self.rng, self.start
        items = (
            ("nutrition", "meal_regularity", "Three regular meals, breakfast before 9:00"),
            ("nutrition", "hydration", "1.5 litres of water a day"),
            ("nutrition", "dietary_trigger", "Suspected: large late meals before poor nights"),
            ("sleep", "wind_down", "Screens off and reading from 22:00"),
            ("sleep", "caffeine_cutoff", "No caffeine after 14:00"),
            ("social", "benefits", "Sickness benefit review due"),
            ("social", "community_referral", "Referred to community walking group"),
        )
        for discipline, category, text in items:
            if rng.random() < 0.55:
                status = rng.choice(("planned", "in_progress", "in_progress", "done"))
                self.rows.add(
                    "plan_item",
                    (
                        self.pid,
                        discipline,
                        category,
                        text,
                        status,
                        rng.choice((None, 60, 80, 100)),
                        start + dt.timedelta(days=rng.randint(0, 21)),
                        min(self.today, start + dt.timedelta(weeks=3)),
                    ),
                )

    def _contacts_and_rtw(self) -> None:
        rng = self.rng
        people = (("Partner", "partner"), ("Sister", "sibling"), ("Friend", "friend"), ("Line manager", "employer"))
        for who, relation in rng.sample(people, rng.randint(1, 3)):
            self.rows.add("contact", (self.pid, f"{who} of {self.p['given_name']}", relation, rng.random() < 0.5, None))
        if not self.p["employed"]:
            self.rows.add("rtw", (self.pid, 9, self.start, None, None, None))
            return
        improving = self.p["kind"] in ("improver", "slow_improver")
        phases = [(0, 0, None), (1, 2, None), (2, 6, 16.0), (3, 10, 24.0), (4, 16, 32.0), (5, 22, 37.5)]
        for phase, week, hours in phases:
            if week > self.end_week or (not improving and phase > 2):
                break
            duties = "No lifting over 10 kg; sit-stand desk" if phase in (2, 3, 4) else None
            self.rows.add("rtw", (self.pid, phase, self.start + dt.timedelta(weeks=week), hours, duties, "HR adviser"))

    def _flares(self) -> None:
        rng = self.rng
        count = rng.randint(0, 2) + (2 if self.p["kind"] == "relapse" else 0)
        for _ in range(count):
            day = self.start + dt.timedelta(days=rng.randint(7, max(8, self.end_week * 7)))
            if day <= self.today:
                self.rows.add(
                    "flare",
                    (
                        self.pid,
                        day,
                        rng.randint(5, 9),
                        rng.choice(("Long car journey", "Gardening", "Stress at work", "Poor sleep")),
                        rng.choice(("Pacing and heat", "Breathing exercises", "Short walks", "Flare plan")),
                        rng.randint(1, 10),
                    ),
                )

    def _sleep_diary(self) -> None:
        if self.rng.random() > 0.5:
            return
        last = min(self.today, self.start + dt.timedelta(weeks=self.end_week))
        badness = self.curve(self.end_week)
        for n in range(14):
            night = last - dt.timedelta(days=14 - n)
            bed = dt.datetime.combine(night, dt.time(22, 30)) + dt.timedelta(minutes=self.rng.randint(0, 60))
            sol = int(10 + 50 * badness * self.rng.random())
            waso = int(5 + 60 * badness * self.rng.random())
            wake = bed + dt.timedelta(hours=7.5, minutes=self.rng.randint(-30, 30))
            self.rows.add(
                "night", (self.pid, night, bed, sol, self.rng.randint(0, 4), waso, wake, self.rng.randint(1, 5))
            )


# --- writing ----------------------------------------------------------------------------


def _create_staff() -> dict:
    ids, names, disc_of, by_discipline = [], {}, {}, {}
    password_hash = accounts.hash_password(DEMO_PASSWORD)  # one hash: argon2 costs ~0.1 s a time
    for username, full_name, discipline, role, manager in STAFF:
        user = User.create(
            username=username,
            full_name=full_name,
            discipline=discipline,
            role=role,
            is_case_manager=manager,
            password_hash=password_hash,
            password_changed_at=clock.now(),
        )
        ids.append(user.id)
        names[user.id] = full_name
        disc_of[user.id] = discipline
        if discipline and discipline not in by_discipline:
            by_discipline[discipline] = user.id
    return {**by_discipline, "names": names, "disc_of": disc_of, "managers": [i for i, s in zip(ids, STAFF) if s[4]]}


def generate(
    actor: Actor,
    *,
    patients: int = 60,
    seed: int = 2026,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> DemoReport:
    """Fill an empty database with a demo clinic of ``patients`` patients."""
    auth.require(actor, "write_patient")
    if not 1 <= patients <= MAX_PATIENTS:
        raise ValidationError(f"must be between 1 and {MAX_PATIENTS}", field="patients")
    today = today or clock.today()
    with database.atomic():
        # Accounts made at first start (the administrator) may stay; demo usernames are its own.
        taken = User.select().where(User.username.in_([s[0] for s in STAFF])).exists()
        if Patient.select().exists() or taken:
            raise ValidationError(
                "the database already holds patients or the demo staff; the demo clinic goes into an empty database "
                "(use --db sqlite:///demo.sqlite3 for a new file)",
                field="database",
            )
        staff = _create_staff()
        report = DemoReport(staff=len(STAFF))
        for indexes, built in _built_chunks(patients, seed, today, staff):
            if cancelled is not None and cancelled():
                raise Cancelled("demo clinic not created: cancelled")  # rolls the whole load back
            _write_chunk(indexes, built, today, staff, report)
            if progress:
                progress(indexes.stop, patients)
        list_summary.refresh_all()
        audit.record(actor, "demo.generate", details={"patients": patients, "seed": seed, "today": today})
    return report


def trajectories(patients: int, *, seed: int = 2026, today: dt.date | None = None) -> dict[str, str]:
    """Each demo patient's trajectory by clinic ID (improver, slow_improver, plateau,
    relapse, dropout), as ``generate`` draws it for the same seed and date: what tests
    and demonstrations check the summaries against. Nothing is written."""
    today = today or clock.today()
    managers = [index for index, member in enumerate(STAFF) if member[4]]  # only their number matters
    out = {}
    for i in range(patients):
        person = _patient_values(i + 1, random.Random(f"{seed}:{i}"), today, managers)
        out[person["clinic_id"]] = person["kind"]
    return out


def _safety_for(i: int) -> str | None:
    """Two patients in the first sixty have a positive PHQ-9 item 9: one still open, one
    acknowledged; larger clinics keep roughly that rate."""
    if i % 60 == 7:
        return "open"
    if i % 60 == 23:
        return "acknowledged"
    return None


PATIENT_COLUMNS = (
    "clinic_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "referral_date",
    "programme_start",
    "episode_start",
    "case_manager",
    "research_consent",
    "status",
    "status_changed_on",
    "next_checkin",
    "search_key",
)


CHUNK = 500
# A chunk built (in a worker process, perhaps): its patients' values and their other rows
# by table, keyed by the patient's place in the chunk.
Built: TypeAlias = tuple[list[dict[str, Any]], dict[str, list[Row]]]
PARALLEL_FROM = 2000  # below this, starting a worker process costs more than it saves


def _build_chunk(indexes: range, seed: int, today: dt.date, staff: dict[str, Any]) -> Built:
    """Patients and their rows, keyed 0..n-1 within the chunk (pure: runs in a worker)."""
    rows = _Rows()
    people = []
    for local, i in enumerate(indexes):
        rng = random.Random(f"{seed}:{i}")
        person = _patient_values(i + 1, rng, today, staff["managers"])
        _PatientBuilder(local, person, rng, today, staff, rows, _safety_for(i)).build()
        person.update(_final_status(person, today))
        person["search_key"] = patient_search_key(person["given_name"], person["family_name"], person["clinic_id"])
        people.append(person)
    return people, rows.tables


def _built_chunks(patients: int, seed: int, today: dt.date, staff: dict):
    """Chunks in order. Large clinics build in a worker process while this one writes
    the previous chunk (each patient has its own random stream, so the result is the
    same either way); at most a few chunks wait in memory."""
    ranges = [range(a, min(patients, a + CHUNK)) for a in range(0, patients, CHUNK)]
    workers = max(1, (os.cpu_count() or 1) - 1)
    if patients < PARALLEL_FROM:
        for r in ranges:
            yield r, _build_chunk(r, seed, today, staff)
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that may host Qt threads
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: collections.deque[tuple[range, concurrent.futures.Future[Built]]] = collections.deque()
        queue = iter(ranges)
        for r in itertools.islice(queue, workers + 1):
            pending.append((r, pool.submit(_build_chunk, r, seed, today, staff)))
        while pending:
            r, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_build_chunk, following, seed, today, staff)))
            yield r, future.result()


def _write_chunk(indexes: range, built: Built, today: dt.date, staff: dict[str, Any], report: DemoReport) -> None:
    """Insert the chunk's patients, then every other row with the chunk-local key
    replaced by the patient's id."""
    people, tables = built
    rows = _Rows(tables)
    _insert(Patient, PATIENT_COLUMNS, [tuple(p[c] for c in PATIENT_COLUMNS) for p in people])
    ids: dict[str, int] = dict(
        tuples(
            Patient.select(Patient.clinic_id, Patient.id).where(Patient.clinic_id.in_([p["clinic_id"] for p in people]))
        )
    )
    patient_ids = [ids[p["clinic_id"]] for p in people]
    for table, table_rows in rows.tables.items():
        if table != "graded_weeks":  # nested per plan, not keyed by patient
            rows.tables[table] = [(patient_ids[r[0]], *r[1:]) for r in table_rows]
    report.patients += len(people)
    report.measurements += measurements.insert_scored(rows.tables.get("measurement", []))
    report.sessions += _insert(
        Session,
        ("patient", "discipline", "held_at", "clinician", "kind", "minutes", "attendance", "note"),
        rows.tables.get("session", []),
    )
    report.other_rows += _insert_rest(rows, staff, today, patient_ids)
    report.other_rows += _insert(StatusChange, STATUS_CHANGE_COLUMNS, _status_history(people, patient_ids, staff))
    _acknowledge_safety(indexes, staff)


STATUS_CHANGE_COLUMNS = (
    "patient",
    "episode",
    "event",
    "status",
    "effective_on",
    "reason",
    "note",
    "previous",
    "written",
    "version_after",
    "recorded_by",
    "recorded_by_name",
    "recorded_at",
)
# Why demo patients left: drop-outs stopped coming (their last sessions are no-shows).
LEAVING_REASONS = {"discharged": "goals_met", "dropped_out": "stopped_attending"}


def _status_history(people: list[dict], patient_ids: list[int], staff: dict) -> list[tuple]:
    """Each patient's registration and, for those who left, their discharge or drop-out,
    recorded by their case manager as the services record them (so Undo works on them)."""
    rows: list[Row] = []
    for person, pid in zip(people, patient_ids):
        manager = person["case_manager"]
        name = staff["names"][manager]
        referral = person["referral_date"]
        rows.append(
            (pid, 1, "registered", "active", referral, None, None, None, None, 1, manager, name, _at(referral, 9))
        )
        status = person["status"]
        if status != "active":
            on = person["status_changed_on"]
            previous = {"status": "active", "status_changed_on": None, "next_checkin": person["next_checkin"]}
            written = {"status": status, "status_changed_on": on, "next_checkin": None}
            rows.append(
                (
                    pid,
                    1,
                    status,
                    status,
                    on,
                    LEAVING_REASONS[status],
                    None,
                    {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in previous.items()},
                    {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in written.items()},
                    1,
                    manager,
                    name,
                    _at(on, 16),
                )
            )
    return rows


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0))


def _final_status(person: dict, today: dt.date) -> dict:
    """Drop-outs and long-standing improvers have left the programme."""
    if person["kind"] == "dropout":
        left = min(today, person["programme_start"] + dt.timedelta(weeks=person["end_week"] + 2))
        return {"status": "dropped_out", "status_changed_on": left, "next_checkin": None}
    if person["weeks"] >= 40 and person["kind"] in ("improver", "slow_improver"):
        return {"status": "discharged", "status_changed_on": today - dt.timedelta(days=3), "next_checkin": None}
    return {"status": "active", "status_changed_on": None, "next_checkin": person["next_checkin"]}


def _insert(model, fields: tuple[str, ...], rows: list[tuple]) -> int:
    return bulk.insert(model, [getattr(model, f) for f in fields], rows)


def _ids_by_patient(model, patient_ids: list[int], *keys: str) -> dict[tuple, int]:
    """Ids of rows just bulk-inserted, by (patient, *keys): bulk inserts return none."""
    columns = [model.id, model.patient, *(getattr(model, k) for k in keys)]
    return {
        tuple(rest): row_id for row_id, *rest in model.select(*columns).where(model.patient.in_(patient_ids)).tuples()
    }


def _insert_rest(rows: _Rows, staff: dict, today: dt.date, patient_ids: list[int]) -> int:
    t = rows.tables
    n = _insert(
        Goal,
        (
            "patient",
            "discipline",
            "text",
            "instrument",
            "baseline_value",
            "target_value",
            "set_on",
            "due_on",
            "status",
            "progress",
        ),
        t.get("goal", []),
    )
    n += _insert(
        PlanItem,
        ("patient", "discipline", "category", "text", "status", "adherence_pct", "started_on", "updated_on"),
        t.get("plan_item", []),
    )
    n += _insert(
        SupportContact, ("patient", "name", "relationship", "involved_in_goals", "contact"), t.get("contact", [])
    )
    n += _insert(
        RtwPhase,
        ("patient", "phase", "started_on", "hours_per_week", "modified_duties", "employer_contact"),
        t.get("rtw", []),
    )
    n += _insert(
        Flare,
        ("patient", "started_on", "severity", "suspected_trigger", "what_helped", "days_to_recover"),
        t.get("flare", []),
    )
    nights = [_night(r) for r in t.get("night", [])]
    n += _insert(
        SleepDiaryNight,
        (
            "patient",
            "night_of",
            "bed_time",
            "lights_out",
            "sol_minutes",
            "awakenings",
            "waso_minutes",
            "final_wake",
            "out_of_bed",
            "quality",
            "tib_minutes",
            "tst_minutes",
            "efficiency",
        ),
        nights,
    )
    plans = t.get("graded_plan", [])
    n += _insert(
        GradedActivityPlan,
        (
            "patient",
            "activity",
            "unit",
            "baseline_tolerance",
            "current_level",
            "target_level",
            "weekly_increment",
            "started_on",
            "status",
        ),
        plans,
    )
    plan_ids = _ids_by_patient(GradedActivityPlan, patient_ids)
    n += _insert(
        GradedActivityWeek,
        ("plan", "week_start", "planned_level", "achieved_level", "adherence_pct", "note"),
        [(plan_ids[(plan[0],)], *w) for plan, weeks in zip(plans, t.get("graded_weeks", [])) for w in weeks],
    )
    courses = t.get("course", [])
    n += _insert(
        Course, ("patient", "kind", "modules_total", "modules_done", "started_on", "status"), [c[:-1] for c in courses]
    )
    course_ids = _ids_by_patient(Course, patient_ids)
    n += _insert(
        PracticeWeek, ("course", "week_start", "minutes"), [(course_ids[(c[0],)], *p) for c in courses for p in c[-1]]
    )
    n += _insert_checkins(t.get("checkin", []), staff, today, patient_ids)
    return n


def _night(row: tuple) -> tuple:
    """A diary night's times and its scored TIB, TST and efficiency."""
    pid, night, bed, sol, awakenings, waso, wake, quality = row
    lights_out = bed + dt.timedelta(minutes=10)
    out_of_bed = wake + dt.timedelta(minutes=15)
    responses = [
        bed.strftime("%H:%M"),
        lights_out.strftime("%H:%M"),
        sol,
        awakenings,
        waso,
        wake.strftime("%H:%M"),
        out_of_bed.strftime("%H:%M"),
        quality,
    ]
    derived = instruments.score("sleep_diary", responses).derived
    return (pid, night, *responses[:7], quality, derived.get("tib_min"), derived.get("tst_min"), derived.get("se_pct"))


def _insert_checkins(checkins: list[tuple], staff: dict, today: dt.date, patient_ids: list[int]) -> int:
    n = _insert(
        CheckIn, ("patient", "held_on", "attendees", "narrative", "snapshot", "created_by", "created_at"), checkins
    )
    ids = _ids_by_patient(CheckIn, patient_ids, "held_on")
    decisions, actions = [], []
    for pid, held_on, _attendees, narrative, _snapshot, created_by, created_at in checkins:
        checkin_id = ids[(pid, held_on)]
        decisions.append((pid, checkin_id, narrative, created_by, created_at))
        done = held_on < today - dt.timedelta(weeks=5)
        actions.append(
            (
                pid,
                checkin_id,
                "Review graded activity targets with the patient",
                staff["pt"],
                held_on + dt.timedelta(weeks=2),
                "done" if done else "open",
                created_at,
                created_at + dt.timedelta(days=10) if done else None,
            )
        )
    n += _insert(Decision, ("patient", "checkin", "text", "made_by", "made_at"), decisions)
    n += _insert(
        ActionItem, ("patient", "checkin", "text", "owner", "due_on", "status", "created_at", "completed_at"), actions
    )
    return n


def _acknowledge_safety(indexes: range, staff: dict) -> None:
    """The 'acknowledged' safety patient's positive items were seen and acted on."""
    clinic_ids = [f"TD-{i + 1:05d}" for i in indexes if _safety_for(i) == "acknowledged"]
    if not clinic_ids:
        return
    psychologist = staff["psychology"]
    positives = (
        Measurement.select(Measurement.id, Measurement.taken_at)
        .join(Patient)
        .where(Patient.clinic_id.in_(clinic_ids) & (Measurement.safety == True))  # noqa: E712
    )
    for mid, taken_at in tuples(positives):
        SafetyAcknowledgement.insert(
            measurement=mid,
            acknowledged_by=psychologist,
            acknowledged_by_name=staff["names"][psychologist],
            acknowledged_at=taken_at + dt.timedelta(hours=3),
            action_taken="Risk assessment the same day; safety plan agreed; GP informed.",
        ).execute()
