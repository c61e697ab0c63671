"""Discipline plans: PT graded activity, psychology courses, structured plan items
(nutrition, sleep hygiene, social work), the support network and the phased
return-to-work plan."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from teamdash import clock, validation
from teamdash.clinical import disciplines
from teamdash.errors import ValidationError
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import (
    Course,
    GradedActivityPlan,
    GradedActivityWeek,
    PlanItem,
    PracticeWeek,
    RtwPhase,
    SupportContact,
)


def _required(current: dict | None, values: dict, name: str) -> bool:
    """Whether ``name`` must be validated: always on add, on update when given."""
    return current is None or name in values


# --- PT: graded activity / exposure ---------------------------------------------------


@dataclass(frozen=True)
class GradedPlanResult:
    id: int
    patient: int
    activity: str
    unit: str
    baseline_tolerance: float
    current_level: float
    target_level: float
    weekly_increment: float
    started_on: dt.date
    status: str
    version: int

    @property
    def progress(self) -> int:
        span = self.target_level - self.baseline_tolerance
        if span == 0:
            return 100
        return int(round(max(0.0, min(1.0, (self.current_level - self.baseline_tolerance) / span)) * 100))

    @property
    def weeks_to_target(self) -> int | None:
        remaining = self.target_level - self.current_level
        if remaining <= 0:
            return 0
        if self.weekly_increment <= 0:
            return None
        return math.ceil(remaining / self.weekly_increment)


def _clean_graded_plan(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "activity"):
        out["activity"] = validation.text(values.get("activity"), "activity", max_length=200)
    if _required(current, values, "unit"):
        out["unit"] = validation.text(values.get("unit", "minutes"), "unit", max_length=40)
    for name in ("baseline_tolerance", "current_level", "target_level"):
        if _required(current, values, name):
            out[name] = validation.number(values.get(name), name, minimum=0, maximum=100_000)
    if _required(current, values, "weekly_increment"):
        out["weekly_increment"] = validation.number(
            values.get("weekly_increment"), "weekly_increment", minimum=0, maximum=10_000
        )
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    if _required(current, values, "status"):
        out["status"] = validation.choice(
            values.get("status", "active"), "status", disciplines.vocabulary("graded_plan_status")
        )
    merged = {**(current or {}), **out}
    if merged["target_level"] <= merged["baseline_tolerance"]:
        raise ValidationError("must be above the baseline tolerance", field="target_level")
    return out


GRADED_PLANS: RecordKind[GradedPlanResult] = RecordKind(
    GradedActivityPlan,
    GradedPlanResult,
    _clean_graded_plan,
    what="graded activity plan",
    action="graded_plan",
    order_by=(GradedActivityPlan.started_on, GradedActivityPlan.id),
    discipline="pt",
)


@dataclass(frozen=True)
class GradedWeekResult:
    id: int
    plan: int
    week_start: dt.date
    planned_level: float
    achieved_level: float | None
    adherence_pct: int | None
    note: str | None
    version: int


def _clean_graded_week(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "week_start"):
        out["week_start"] = validation.date(values.get("week_start"), "week_start")
    if _required(current, values, "planned_level"):
        out["planned_level"] = validation.number(
            values.get("planned_level"), "planned_level", minimum=0, maximum=100_000
        )
    if "achieved_level" in values:
        out["achieved_level"] = validation.number(
            values["achieved_level"], "achieved_level", required=False, minimum=0, maximum=100_000
        )
    if "adherence_pct" in values:
        out["adherence_pct"] = validation.number(
            values["adherence_pct"], "adherence_pct", required=False, minimum=0, maximum=100, integer=True
        )
    if "note" in values:
        out["note"] = validation.note(values["note"])
    return out


GRADED_WEEKS: RecordKind[GradedWeekResult] = RecordKind(
    GradedActivityWeek,
    GradedWeekResult,
    _clean_graded_week,
    what="graded activity week",
    action="graded_week",
    order_by=(GradedActivityWeek.week_start,),
    parent=(GradedActivityPlan, "plan"),
    discipline="pt",
)


# --- Psychology: CBT / mindfulness courses ----------------------------------------------


@dataclass(frozen=True)
class CourseResult:
    id: int
    patient: int
    kind: str
    modules_total: int
    modules_done: int
    started_on: dt.date
    status: str
    version: int


def _clean_course(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "kind"):
        out["kind"] = validation.text(values.get("kind"), "kind", max_length=80)
    if _required(current, values, "modules_total"):
        out["modules_total"] = validation.number(
            values.get("modules_total"), "modules_total", minimum=1, maximum=100, integer=True
        )
    if _required(current, values, "modules_done"):
        out["modules_done"] = validation.number(
            values.get("modules_done", 0), "modules_done", minimum=0, maximum=100, integer=True
        )
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    if _required(current, values, "status"):
        out["status"] = validation.choice(
            values.get("status", "active"), "status", disciplines.vocabulary("course_status")
        )
    merged = {**(current or {}), **out}
    if merged["modules_done"] > merged["modules_total"]:
        raise ValidationError(
            f"cannot exceed the {merged['modules_total']} modules of the course", field="modules_done"
        )
    return out


COURSES: RecordKind[CourseResult] = RecordKind(
    Course,
    CourseResult,
    _clean_course,
    what="course",
    action="course",
    order_by=(Course.started_on, Course.id),
    discipline="psychology",
)


@dataclass(frozen=True)
class PracticeResult:
    id: int
    course: int
    week_start: dt.date
    minutes: int
    version: int


def _clean_practice(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "week_start"):
        out["week_start"] = validation.date(values.get("week_start"), "week_start")
    if _required(current, values, "minutes"):
        out["minutes"] = validation.number(
            values.get("minutes"), "minutes", minimum=0, maximum=7 * 24 * 60, integer=True
        )
    return out


PRACTICE: RecordKind[PracticeResult] = RecordKind(
    PracticeWeek,
    PracticeResult,
    _clean_practice,
    what="practice week",
    action="practice",
    order_by=(PracticeWeek.week_start,),
    parent=(Course, "course"),
    discipline="psychology",
)


# --- Structured plan items (nutrition, sleep hygiene, social work) ----------------------


@dataclass(frozen=True)
class PlanItemResult:
    id: int
    patient: int
    discipline: str
    category: str
    text: str
    status: str
    adherence_pct: int | None
    started_on: dt.date
    updated_on: dt.date
    note: str | None
    version: int

    @property
    def category_label(self) -> str:
        return disciplines.plan_category_label(self.category)


def _clean_plan_item(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "category"):
        out["category"] = values.get("category")
        out["discipline"] = disciplines.discipline_of_plan_category(out["category"] or "")
    if _required(current, values, "text"):
        out["text"] = validation.text(values.get("text"), "text", max_length=1000)
    if _required(current, values, "status"):
        out["status"] = validation.choice(
            values.get("status", "planned"), "status", disciplines.vocabulary("plan_item_status")
        )
    if "adherence_pct" in values:
        out["adherence_pct"] = validation.number(
            values["adherence_pct"], "adherence_pct", required=False, minimum=0, maximum=100, integer=True
        )
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    if "note" in values:
        out["note"] = validation.note(values["note"])
    out["updated_on"] = validation.date(values.get("updated_on") or clock.today(), "updated_on")
    return out


PLAN_ITEMS: RecordKind[PlanItemResult] = RecordKind(
    PlanItem,
    PlanItemResult,
    _clean_plan_item,
    what="plan item",
    action="plan_item",
    order_by=(PlanItem.discipline, PlanItem.category, PlanItem.started_on, PlanItem.id),
    discipline=lambda item: item.get("discipline"),
)


# --- Social work: support network and return to work --------------------------------------


@dataclass(frozen=True)
class ContactResult:
    id: int
    patient: int
    name: str
    relationship: str
    involved_in_goals: bool
    contact: str | None
    note: str | None
    version: int


def _clean_contact(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "name"):
        out["name"] = validation.text(values.get("name"), "name", max_length=120)
    if _required(current, values, "relationship"):
        out["relationship"] = validation.text(values.get("relationship"), "relationship", max_length=80)
    if "involved_in_goals" in values:
        out["involved_in_goals"] = bool(values["involved_in_goals"])
    if "contact" in values:
        out["contact"] = validation.text(values["contact"], "contact", required=False, max_length=200)
    if "note" in values:
        out["note"] = validation.note(values["note"])
    return out


CONTACTS: RecordKind[ContactResult] = RecordKind(
    SupportContact,
    ContactResult,
    _clean_contact,
    what="support contact",
    action="contact",
    order_by=(SupportContact.name,),
    discipline="social",
)


@dataclass(frozen=True)
class RtwPhaseResult:
    id: int
    patient: int
    phase: int
    started_on: dt.date
    hours_per_week: float | None
    modified_duties: str | None
    employer_contact: str | None
    note: str | None
    version: int

    @property
    def label(self) -> str:
        return disciplines.rtw_phase_label(self.phase) or ""


def _clean_rtw(values: dict, current: dict | None) -> dict:
    out = {}
    if _required(current, values, "phase"):
        codes = tuple(p.code for p in disciplines.rtw_phases())
        phase = validation.number(values.get("phase"), "phase", integer=True)
        if phase not in codes:
            raise ValidationError(
                f"{phase} is not a return-to-work phase ({', '.join(map(str, codes))})", field="phase"
            )
        out["phase"] = phase
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    if "hours_per_week" in values:
        out["hours_per_week"] = validation.number(
            values["hours_per_week"], "hours_per_week", required=False, minimum=0, maximum=80
        )
    for name in ("modified_duties", "note"):
        if name in values:
            out[name] = validation.note(values[name], name)
    if "employer_contact" in values:
        out["employer_contact"] = validation.text(
            values["employer_contact"], "employer_contact", required=False, max_length=200
        )
    return out


RTW_PHASES: RecordKind[RtwPhaseResult] = RecordKind(
    RtwPhase,
    RtwPhaseResult,
    _clean_rtw,
    what="return-to-work phase",
    action="rtw_phase",
    order_by=(RtwPhase.started_on, RtwPhase.id),
    discipline="social",
)
