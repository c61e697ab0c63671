"""Discipline plans: PT graded activity, psychology courses, structured plan items
(nutrition, sleep hygiene, social work), the support network and the phased
return-to-work plan."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import partial

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
from teamdash.validation import FieldSpec, FieldSpecs


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


def _checked(specs: FieldSpecs, values: dict, current: dict | None) -> dict:
    """Every published field given (all of them on add, defaults filling in), checked."""
    return {
        name: spec.check_or_default(values)
        for name, spec in specs.items()
        if name in values or (current is None and (spec.required or spec.default is not None))
    }


LEVEL_MAX = 100_000  # the largest level a plan records, in any unit
GRADED_PLAN_FIELDS = FieldSpecs(
    [
        FieldSpec("activity", "text", max_length=200),
        FieldSpec("unit", "text", max_length=40, default="minutes"),
        FieldSpec("baseline_tolerance", "number", minimum=0, maximum=LEVEL_MAX),
        FieldSpec("current_level", "number", minimum=0, maximum=LEVEL_MAX),
        FieldSpec("target_level", "number", minimum=0, maximum=LEVEL_MAX),
        FieldSpec("weekly_increment", "number", minimum=0, maximum=10_000),
        FieldSpec("status", "choice", choices=partial(disciplines.vocabulary, "graded_plan_status"), default="active"),
    ]
)


def _clean_graded_plan(values: dict, current: dict | None) -> dict:
    out = _checked(GRADED_PLAN_FIELDS, values, current)
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
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
    fields=GRADED_PLAN_FIELDS,
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


GRADED_WEEK_FIELDS = FieldSpecs(
    [
        FieldSpec("planned_level", "number", minimum=0, maximum=LEVEL_MAX),
        FieldSpec("achieved_level", "number", required=False, minimum=0, maximum=LEVEL_MAX),
        FieldSpec("adherence_pct", "int", required=False, minimum=0, maximum=100),
        FieldSpec("note", "note", required=False),
    ]
)


def _clean_graded_week(values: dict, current: dict | None) -> dict:
    out = _checked(GRADED_WEEK_FIELDS, values, current)
    if _required(current, values, "week_start"):
        out["week_start"] = validation.date(values.get("week_start"), "week_start")
    return out


GRADED_WEEKS: RecordKind[GradedWeekResult] = RecordKind(
    GradedActivityWeek,
    GradedWeekResult,
    _clean_graded_week,
    what="graded activity week",
    action="graded_week",
    order_by=(GradedActivityWeek.week_start,),
    parent=(GradedActivityPlan, "plan"),
    fields=GRADED_WEEK_FIELDS,
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


COURSE_FIELDS = FieldSpecs(
    [
        FieldSpec("kind", "text", max_length=80),
        FieldSpec("modules_total", "int", minimum=1, maximum=100),
        FieldSpec("modules_done", "int", minimum=0, maximum=100, default=0),
        FieldSpec("status", "choice", choices=partial(disciplines.vocabulary, "course_status"), default="active"),
    ]
)


def _clean_course(values: dict, current: dict | None) -> dict:
    out = _checked(COURSE_FIELDS, values, current)
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
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
    fields=COURSE_FIELDS,
    discipline="psychology",
)


@dataclass(frozen=True)
class PracticeResult:
    id: int
    course: int
    week_start: dt.date
    minutes: int
    version: int


PRACTICE_FIELDS = FieldSpecs([FieldSpec("minutes", "int", minimum=0, maximum=7 * 24 * 60)])  # a whole week


def _clean_practice(values: dict, current: dict | None) -> dict:
    out = _checked(PRACTICE_FIELDS, values, current)
    if _required(current, values, "week_start"):
        out["week_start"] = validation.date(values.get("week_start"), "week_start")
    return out


PRACTICE: RecordKind[PracticeResult] = RecordKind(
    PracticeWeek,
    PracticeResult,
    _clean_practice,
    what="practice week",
    action="practice",
    order_by=(PracticeWeek.week_start,),
    parent=(Course, "course"),
    fields=PRACTICE_FIELDS,
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


def _plan_categories() -> tuple[str, ...]:
    return tuple(c for d in disciplines.all_disciplines() for c in d.plan_categories)


PLAN_ITEM_FIELDS = FieldSpecs(
    [
        FieldSpec("category", "choice", choices=_plan_categories),  # each belongs to one discipline
        FieldSpec("text", "text", max_length=1000),
        FieldSpec("status", "choice", choices=partial(disciplines.vocabulary, "plan_item_status"), default="planned"),
        FieldSpec("adherence_pct", "int", required=False, minimum=0, maximum=100),
        FieldSpec("note", "note", required=False),
    ]
)


def _clean_plan_item(values: dict, current: dict | None) -> dict:
    if _required(current, values, "category"):
        disciplines.discipline_of_plan_category(values.get("category") or "")  # names the unknown category
    out = _checked(PLAN_ITEM_FIELDS, values, current)
    if "category" in out:
        out["discipline"] = disciplines.discipline_of_plan_category(out["category"])
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    out["updated_on"] = validation.date(values.get("updated_on") or clock.today(), "updated_on")
    return out


PLAN_ITEMS: RecordKind[PlanItemResult] = RecordKind(
    PlanItem,
    PlanItemResult,
    _clean_plan_item,
    what="plan item",
    action="plan_item",
    order_by=(PlanItem.discipline, PlanItem.category, PlanItem.started_on, PlanItem.id),
    fields=PLAN_ITEM_FIELDS,
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
    on_handout: bool = False  # the patient chose to have them named on the progress handout


CONTACT_FIELDS = FieldSpecs(
    [
        FieldSpec("name", "text", max_length=120),
        FieldSpec("relationship", "text", max_length=80),
        FieldSpec("contact", "text", required=False, max_length=200),
        FieldSpec("note", "note", required=False),
    ]
)


def _clean_contact(values: dict, current: dict | None) -> dict:
    out = _checked(CONTACT_FIELDS, values, current)
    if "involved_in_goals" in values:
        out["involved_in_goals"] = bool(values["involved_in_goals"])
    if "on_handout" in values:
        out["on_handout"] = bool(values["on_handout"])
    return out


CONTACTS: RecordKind[ContactResult] = RecordKind(
    SupportContact,
    ContactResult,
    _clean_contact,
    what="support contact",
    action="contact",
    order_by=(SupportContact.name,),
    fields=CONTACT_FIELDS,
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


def _rtw_codes() -> tuple[int, ...]:
    return tuple(p.code for p in disciplines.rtw_phases())


RTW_FIELDS = FieldSpecs(
    [
        FieldSpec("phase", "choice", choices=_rtw_codes),
        FieldSpec("hours_per_week", "number", required=False, minimum=0, maximum=80),
        FieldSpec("modified_duties", "note", required=False),
        FieldSpec("employer_contact", "text", required=False, max_length=200),
        FieldSpec("note", "note", required=False),
    ]
)


def _clean_rtw(values: dict, current: dict | None) -> dict:
    if _required(current, values, "phase"):
        phase = validation.number(values.get("phase"), "phase", integer=True)
        if phase not in RTW_FIELDS["phase"].allowed():
            raise ValidationError(
                f"{phase} is not a return-to-work phase ({', '.join(map(str, _rtw_codes()))})", field="phase"
            )
        values = {**values, "phase": phase}
    out = _checked(RTW_FIELDS, values, current)
    if _required(current, values, "started_on"):
        out["started_on"] = validation.date(values.get("started_on") or clock.today(), "started_on")
    return out


RTW_PHASES: RecordKind[RtwPhaseResult] = RecordKind(
    RtwPhase,
    RtwPhaseResult,
    _clean_rtw,
    what="return-to-work phase",
    action="rtw_phase",
    order_by=(RtwPhase.started_on, RtwPhase.id),
    fields=RTW_FIELDS,
    discipline="social",
)
