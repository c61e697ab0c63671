"""How each kind of clinical record is entered: its form fields and the service calls
that add, change, delete and restore it. The dialogs and panels are generic over these.

A field's limits (bounds, length, choices, whether it is required) and a new record's
defaults are the service's published ``FieldSpec``s, read here by ``spec_field``: the
form offers exactly what the validator accepts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from teamdash import clock
from teamdash.clinical import disciplines, instruments, programme
from teamdash.services import auth, sessions, staff
from teamdash.services.action_items import ACTION_ITEMS
from teamdash.services.auth import Actor
from teamdash.services.chart import PatientRecord
from teamdash.services.flares import FLARES
from teamdash.services.goals import GOALS
from teamdash.services.plans import CONTACTS, COURSES, GRADED_PLANS, GRADED_WEEKS, PLAN_ITEMS, PRACTICE, RTW_PHASES
from teamdash.services.record_kinds import RecordKind
from teamdash.services.sleep_diary import NIGHTS
from teamdash.validation import FieldSpec
from ui.dialogs.fields import Field


def label_of(code: str) -> str:
    """A stored vocabulary code as people read it: ``no_show`` -> 'No show'."""
    return disciplines.code_label(code)


def vocabulary_choices(name: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, label_of(code)) for code in disciplines.vocabulary(name))


def suggestions(name: str) -> tuple[tuple[str, str], ...]:
    return tuple((text, text) for text in disciplines.vocabulary(name))


# How each kind of published field is entered, unless the form says otherwise.
_EDITOR_OF_SPEC = {"text": "text", "note": "note", "int": "int", "number": "number", "choice": "choice"}


def spec_field(limits: Mapping[str, FieldSpec], name: str, label: str, kind: str | None = None, **extra: Any) -> Field:
    """The form field for the service's published field ``name``: its bounds, length,
    choices (labelled as people read them, unless ``choices`` is given) and whether it
    is required come from the service, so the form and the validator cannot disagree."""
    spec = limits[name]
    values: dict[str, Any] = {"required": spec.required}
    if spec.minimum is not None:
        values["minimum"] = spec.minimum
    if spec.maximum is not None:
        values["maximum"] = spec.maximum
    if spec.kind == "text":
        values["max_length"] = spec.max_length
    if spec.kind == "choice":
        values["choices"] = tuple((code, label_of(str(code))) for code in spec.allowed())
    values.update(extra)
    return Field(name, label, kind or _EDITOR_OF_SPEC[spec.kind], **values)


@dataclass(frozen=True)
class FormContext:
    """What a form may draw on: the discipline it was opened from, the open patient's
    record (for defaults such as a goal's baseline) and options loaded for it."""

    discipline: str | None
    record: PatientRecord | None
    options: dict
    today: dt.date


@dataclass(frozen=True)
class KindUi:
    key: str
    noun: str  # "session", in messages and titles
    change_kind: str  # for the change bus
    fields: Callable[[FormContext], list[Field]]
    add: Callable[[Actor, int, dict], Any]
    update: Callable[[Actor, int, int, dict], Any]
    delete: Callable[[Actor, int, int], dict]
    restore: Callable[[Actor, dict], Any]
    values_of: Callable[[Any], dict]
    describe: Callable[[Any], str]  # "session on 20 Nov 2026 (Graded activity)"
    limits: Mapping[str, FieldSpec]  # the service's published fields (what its validator checks)
    defaults: Callable[[FormContext], dict] = lambda _ctx: {}
    prepare: Callable[[Actor], dict] | None = None  # options loaded on the DB thread first
    # Connects fields that depend on each other once the form exists (form, ctx).
    wire: Callable[[Any, FormContext], None] | None = None
    # Who may write it: the role-wide permission (menus), and the rule for a panel of a
    # discipline and a patient the actor does or does not treat (the services' rule).
    permission: str = "write_clinical"
    allows: Callable[[Actor, str | None, bool], bool] = lambda actor, discipline, _treating: auth.allows(
        actor, "write_clinical", discipline=discipline
    )

    def writable(self, actor: Actor, discipline: str | None, record: PatientRecord | None) -> bool:
        """Whether the panel offers Add / Edit / Delete for this kind."""
        return self.allows(actor, discipline, bool(record is not None and record.treating))

    # The table its records are audited under: an open form notices another
    # workstation's change of its record by it.
    entity: str | None = None


def _crud(kind: RecordKind, names: tuple[str, ...]) -> dict:
    return {
        "add": lambda actor, owner, values: kind.add(actor, owner, **values),
        "update": lambda actor, row_id, version, changes: kind.update(actor, row_id, version, **changes),
        "delete": kind.delete,
        "restore": kind.restore,
        "values_of": lambda row: {name: getattr(row, name) for name in names},
        "limits": kind.fields,
        "permission": kind.permission,
        "allows": lambda actor, discipline, treating: kind.allows(actor, discipline=discipline, treating=treating),
        "entity": kind.entity,
    }


def _range_label(label: str, spec: FieldSpec) -> str:
    """'Severity (0–10)': the label with the service's range."""
    return f"{label} ({spec.minimum:g}–{spec.maximum:g})"


def _date(value: dt.date | dt.datetime | None) -> str:
    return f"{value:%d %b %Y}" if value else "no date"


def _discipline_choices() -> tuple[tuple[str, str], ...]:
    return tuple((d.code, d.name) for d in disciplines.all_disciplines())


def _discipline_default(ctx: FormContext) -> str:
    return ctx.discipline or ctx.options.get("my_discipline") or disciplines.codes()[0]


# --- sessions ----------------------------------------------------------------------------

SESSION_NAMES = ("discipline", "held_at", "kind", "minutes", "attendance", "clinician", "note")


def _session_fields(ctx: FormContext) -> list[Field]:
    code = _discipline_default(ctx)
    kinds = tuple((k, k) for k in disciplines.get(code).session_kinds)
    clinicians = ((None, "— not recorded —"), *((s.id, s.full_name) for s in ctx.options.get("staff", ())))
    limits = sessions.FIELDS
    return [
        spec_field(limits, "discipline", "Discipline", choices=_discipline_choices()),
        Field("held_at", "Date and time", "datetime"),
        spec_field(limits, "kind", "Kind of session", "suggest", choices=kinds),
        spec_field(limits, "minutes", "Minutes", suffix="min", hint="Counted only for attended sessions"),
        spec_field(limits, "attendance", "Attendance"),
        Field("clinician", "Clinician", "choice", clinicians, required=False),
        spec_field(limits, "note", "Note"),
    ]


def _session_defaults(ctx: FormContext) -> dict:
    now = clock.now().replace(second=0)
    code = _discipline_default(ctx)
    return {
        "discipline": code,
        "held_at": now,
        "kind": disciplines.get(code).session_kinds[0],
        "minutes": 45,
        "attendance": "attended",
        "clinician": ctx.options.get("me"),
    }


def _load_staff(actor: Actor) -> dict:
    members = staff.list_staff(actor)
    me = next((m for m in members if m.id == actor.user_id), None)
    return {"staff": members, "me": actor.user_id if me else None, "my_discipline": me.discipline if me else None}


def _wire_session(form, ctx: FormContext) -> None:
    """The kinds of session offered follow the discipline chosen."""
    discipline, kind = form.editors["discipline"], form.editors["kind"].widget

    def offer(_index: int) -> None:
        current = kind.currentText()
        kind.clear()
        for text in disciplines.get(discipline.get()).session_kinds:
            kind.addItem(text, text)
        kind.setCurrentText(current)

    discipline.widget.currentIndexChanged.connect(offer)


SESSION = KindUi(
    key="session",
    noun="session",
    change_kind="session",
    fields=_session_fields,
    add=lambda actor, patient, v: sessions.add_session(actor, patient, **v),
    update=lambda actor, row_id, version, ch: sessions.update_session(actor, row_id, version, **ch),
    delete=sessions.delete_session,
    restore=sessions.restore_session,
    values_of=lambda s: {name: getattr(s, name) for name in SESSION_NAMES},
    limits=sessions.FIELDS,
    describe=lambda s: f"{disciplines.get(s.discipline).short} session of {s.held_at:%d %b %Y %H:%M} ({s.kind})",
    defaults=_session_defaults,
    prepare=_load_staff,
    wire=_wire_session,
    entity="session",
)


# --- goals --------------------------------------------------------------------------------

GOAL_NAMES = (
    "discipline",
    "text",
    "instrument",
    "baseline_value",
    "target_value",
    "set_on",
    "due_on",
    "status",
    "progress",
)


def _goal_fields(ctx: FormContext) -> list[Field]:
    measures = (
        (None, "— none (progress set by hand) —"),
        *((i.id, f"{i.short_name} — {i.name}") for i in instruments.library().values() if i.direction),
    )
    limits = GOALS.fields
    # Baseline and target have no limits of their own: the linked measure's range (shown
    # as the placeholder once one is chosen) is what the service checks them against.
    return [
        spec_field(limits, "discipline", "Discipline", choices=_discipline_choices()),
        spec_field(limits, "text", "Goal", "note", hint="Specific, measurable, achievable, relevant, time-bound"),
        Field("instrument", "Linked measure", "choice", measures, required=False),
        Field(
            "baseline_value",
            "Baseline",
            "number",
            required=False,
            placeholder="score (optional)",
            hint="Filled from the patient's first score when a measure is chosen",
        ),
        Field("target_value", "Target", "number", required=False, placeholder="score (optional)"),
        Field("set_on", "Set on", "date"),
        Field("due_on", "Due by", "optional_date", required=False),
        spec_field(limits, "status", "Status"),
        spec_field(limits, "progress", "Progress (%)", "number", hint="Only when no measure is linked"),
    ]


def goal_baseline(record: PatientRecord | None, instrument_id: str | None) -> float | None:
    """The patient's first score of this episode on the measure: a goal's natural baseline."""
    if record is None or not instrument_id:
        return None
    start = record.patient.episode_start
    series = [m for m in record.series(instrument_id) if m.total is not None and m.taken_at.date() >= start]
    return series[0].total if series else None


def _wire_goal(form, ctx: FormContext) -> None:
    """Choosing a measure fills the baseline with the patient's first score, unless the
    user typed one (a value filled for a measure chosen earlier is replaced: typing
    "PHQ" passes through "PCS" on the way)."""
    measure, baseline = form.editors["instrument"], form.editors["baseline_value"]
    filled: list[str | None] = [None]

    def fill(_index: int) -> None:
        chosen = instruments.get(measure.get()) if measure.get() else None
        for editor in (baseline, form.editors["target_value"]):
            editor.widget.setPlaceholderText(
                f"{chosen.short_name} {chosen.total_min:g}–{chosen.total_max:g}, "
                f"{'lower' if chosen.direction == 'higher_worse' else 'higher'} is better"
                if chosen and chosen.total_min is not None
                else "score (optional)"
            )
        value = goal_baseline(ctx.record, measure.get())
        if baseline.get() not in (None, filled[0]):
            return
        baseline.set(value)
        filled[0] = baseline.get()

    measure.widget.currentIndexChanged.connect(fill)


GOAL = KindUi(
    key="goal",
    noun="goal",
    change_kind="goal",
    fields=_goal_fields,
    **_crud(GOALS, GOAL_NAMES),
    describe=lambda g: f"goal “{g.text[:60]}”",
    defaults=lambda ctx: {**GOALS.fields.defaults(), "discipline": _discipline_default(ctx), "set_on": ctx.today},
    prepare=_load_staff,
    wire=_wire_goal,
)


# --- PT: graded activity -------------------------------------------------------------------

GRADED_PLAN_NAMES = (
    "activity",
    "unit",
    "baseline_tolerance",
    "current_level",
    "target_level",
    "weekly_increment",
    "started_on",
    "status",
)

GRADED_PLAN = KindUi(
    key="graded_plan",
    noun="graded activity plan",
    change_kind="plan",
    fields=lambda ctx: [
        spec_field(
            GRADED_PLANS.fields,
            "activity",
            "Activity",
            hint="The activity the patient builds up or is exposed to, e.g. walking",
        ),
        spec_field(GRADED_PLANS.fields, "unit", "Measured in", "suggest", choices=suggestions("graded_activity_units")),
        spec_field(GRADED_PLANS.fields, "baseline_tolerance", "Baseline tolerance"),
        spec_field(GRADED_PLANS.fields, "current_level", "Current level"),
        spec_field(GRADED_PLANS.fields, "target_level", "Target"),
        spec_field(GRADED_PLANS.fields, "weekly_increment", "Weekly increase"),
        Field("started_on", "Started on", "date"),
        spec_field(GRADED_PLANS.fields, "status", "Status"),
    ],
    **_crud(GRADED_PLANS, GRADED_PLAN_NAMES),
    describe=lambda p: f"graded activity plan “{p.activity}”",
    defaults=lambda ctx: {**GRADED_PLANS.fields.defaults(), "started_on": ctx.today},
)

GRADED_WEEK_NAMES = ("week_start", "planned_level", "achieved_level", "adherence_pct", "note")

GRADED_WEEK = KindUi(
    key="graded_week",
    noun="graded activity week",
    change_kind="plan",
    fields=lambda ctx: [
        Field("week_start", "Week starting", "date"),
        spec_field(GRADED_WEEKS.fields, "planned_level", "Planned level"),
        spec_field(GRADED_WEEKS.fields, "achieved_level", "Achieved level"),
        spec_field(
            GRADED_WEEKS.fields,
            "adherence_pct",
            "Exercise adherence (%)",
            "number",
            hint="Share of the planned home-exercise sessions done that week",
        ),
        spec_field(GRADED_WEEKS.fields, "note", "Note"),
    ],
    **_crud(GRADED_WEEKS, GRADED_WEEK_NAMES),
    describe=lambda w: f"graded activity week of {_date(w.week_start)}",
    defaults=lambda ctx: {"week_start": ctx.today - dt.timedelta(days=ctx.today.weekday())},
)


# --- psychology: courses -------------------------------------------------------------------

COURSE_NAMES = ("kind", "modules_total", "modules_done", "started_on", "status")

COURSE = KindUi(
    key="course",
    noun="course",
    change_kind="plan",
    fields=lambda ctx: [
        spec_field(COURSES.fields, "kind", "Course", "suggest", choices=suggestions("course_kinds")),
        spec_field(COURSES.fields, "modules_total", "Modules in the course"),
        spec_field(COURSES.fields, "modules_done", "Modules done"),
        Field("started_on", "Started on", "date"),
        spec_field(COURSES.fields, "status", "Status"),
    ],
    **_crud(COURSES, COURSE_NAMES),
    describe=lambda c: f"course “{c.kind}”",
    defaults=lambda ctx: {
        **COURSES.fields.defaults(),
        "kind": disciplines.vocabulary("course_kinds")[0],
        "modules_total": 8,  # the usual length of the programme's courses
        "started_on": ctx.today,
    },
)

PRACTICE_WEEK = KindUi(
    key="practice",
    noun="practice week",
    change_kind="plan",
    fields=lambda ctx: [
        Field("week_start", "Week starting", "date"),
        spec_field(PRACTICE.fields, "minutes", "Practice minutes that week", suffix="min"),
    ],
    **_crud(PRACTICE, ("week_start", "minutes")),
    describe=lambda p: f"practice week of {_date(p.week_start)}",
    defaults=lambda ctx: {"week_start": ctx.today - dt.timedelta(days=ctx.today.weekday())},
)


# --- structured plan items (nutrition, sleep hygiene, social work) ---------------------------

PLAN_ITEM_NAMES = ("category", "text", "status", "adherence_pct", "started_on", "note")


def _plan_item_fields(ctx: FormContext) -> list[Field]:
    codes = (
        disciplines.get(ctx.discipline).plan_categories
        if ctx.discipline
        else tuple(c for d in disciplines.all_disciplines() for c in d.plan_categories)
    )
    limits = PLAN_ITEMS.fields
    return [
        spec_field(
            limits, "category", "Category", choices=tuple((c, disciplines.plan_category_label(c)) for c in codes)
        ),
        spec_field(limits, "text", "What", "note"),
        spec_field(limits, "status", "Status"),
        spec_field(limits, "adherence_pct", "Adherence (%)", "number"),
        Field("started_on", "Started on", "date"),
        spec_field(limits, "note", "Note"),
    ]


PLAN_ITEM = KindUi(
    key="plan_item",
    noun="plan item",
    change_kind="plan",
    fields=_plan_item_fields,
    **_crud(PLAN_ITEMS, PLAN_ITEM_NAMES),
    describe=lambda p: f"{p.category_label.lower()} “{p.text[:50]}”",
    defaults=lambda ctx: {**PLAN_ITEMS.fields.defaults(), "started_on": ctx.today},
)


# --- sleep diary ---------------------------------------------------------------------------

NIGHT_NAMES = (
    "night_of",
    "bed_time",
    "lights_out",
    "sol_minutes",
    "awakenings",
    "waso_minutes",
    "final_wake",
    "out_of_bed",
    "quality",
    "note",
)


def _night_fields(ctx: FormContext) -> list[Field]:
    diary = instruments.get("sleep_diary")
    quality = ((None, "— not rated —"), *((int(v), f"{int(v)} {text}") for v, text in diary.items[7].choices))
    limits = NIGHTS.fields
    return [
        Field("night_of", "Night of", "date", hint="The evening the night began"),
        Field("bed_time", "Into bed", "time", aliases=_item(1)),
        Field("lights_out", "Lights out", "time", aliases=_item(2)),
        spec_field(limits, "sol_minutes", "Minutes to fall asleep", suffix="min", aliases=_item(3)),
        spec_field(limits, "awakenings", "Awakenings", aliases=_item(4)),  # a spin box: 0 is none
        spec_field(limits, "waso_minutes", "Minutes awake after sleep onset", suffix="min", aliases=_item(5)),
        Field("final_wake", "Final awakening", "time", aliases=_item(6)),
        Field("out_of_bed", "Out of bed", "time", aliases=_item(7)),
        spec_field(limits, "quality", "Sleep quality", choices=quality, aliases=_item(8)),
        spec_field(limits, "note", "Note"),
    ]


def _item(number: int) -> tuple[str, ...]:
    """The diary instrument names its items by number in its messages."""
    return (f"item {number}",)


NIGHT = KindUi(
    key="night",
    noun="sleep diary night",
    change_kind="sleep",
    fields=_night_fields,
    **_crud(NIGHTS, NIGHT_NAMES),
    describe=lambda n: f"sleep diary night of {_date(n.night_of)}",
    defaults=lambda ctx: {
        "night_of": ctx.today - dt.timedelta(days=1),
        "bed_time": "22:30",
        "lights_out": "23:00",
        "final_wake": "06:30",
        "out_of_bed": "07:00",
    },
)


# --- social work ---------------------------------------------------------------------------

CONTACT_NAMES = ("name", "relationship", "involved_in_goals", "on_handout", "contact", "note")

CONTACT = KindUi(
    key="contact",
    noun="support contact",
    change_kind="plan",
    fields=lambda ctx: [
        spec_field(CONTACTS.fields, "name", "Person"),
        spec_field(
            CONTACTS.fields, "relationship", "Relationship", "suggest", choices=suggestions("contact_relationships")
        ),
        Field("involved_in_goals", "Involved in goals", "bool", required=False),
        # The patient's choice (shared decision-making): named on their progress handout.
        Field("on_handout", "Named on the patient's handout", "bool", required=False),
        spec_field(CONTACTS.fields, "contact", "Contact details"),
        spec_field(CONTACTS.fields, "note", "Note"),
    ],
    **_crud(CONTACTS, CONTACT_NAMES),
    describe=lambda c: f"support contact {c.name}",
)

RTW_NAMES = ("phase", "started_on", "hours_per_week", "modified_duties", "employer_contact", "note")

RTW_PHASE = KindUi(
    key="rtw_phase",
    noun="return-to-work phase",
    change_kind="plan",
    fields=lambda ctx: [
        spec_field(
            RTW_PHASES.fields, "phase", "Phase", choices=tuple((p.code, p.label) for p in disciplines.rtw_phases())
        ),
        Field("started_on", "From", "date"),
        spec_field(RTW_PHASES.fields, "hours_per_week", "Hours per week", suffix="h"),
        spec_field(RTW_PHASES.fields, "modified_duties", "Modified duties"),
        spec_field(RTW_PHASES.fields, "employer_contact", "Employer contact"),
        spec_field(RTW_PHASES.fields, "note", "Note"),
    ],
    **_crud(RTW_PHASES, RTW_NAMES),
    describe=lambda p: f"return-to-work phase “{p.label}” from {_date(p.started_on)}",
    defaults=lambda ctx: _next_rtw_defaults(ctx),
)


def _next_rtw_defaults(ctx: FormContext) -> dict:
    """A new phase usually continues the current one: same employer contact and duties."""
    current = ctx.record.current_rtw_phase if ctx.record else None
    if current is None:
        return {"phase": programme.next_rtw_phase(None), "started_on": ctx.today}
    return {
        "phase": programme.next_rtw_phase(current.phase),
        "started_on": ctx.today,
        "hours_per_week": current.hours_per_week,
        "modified_duties": current.modified_duties,
        "employer_contact": current.employer_contact,
    }


# --- flares ----------------------------------------------------------------------------------

FLARE_NAMES = ("started_on", "severity", "suspected_trigger", "what_helped", "days_to_recover", "note")

FLARE = KindUi(
    key="flare",
    noun="flare",
    change_kind="flare",
    fields=lambda ctx: [
        Field("started_on", "Started on", "date"),
        spec_field(FLARES.fields, "severity", _range_label("Severity", FLARES.fields["severity"])),
        spec_field(FLARES.fields, "suspected_trigger", "Suspected trigger"),
        spec_field(FLARES.fields, "what_helped", "What helped"),
        spec_field(
            FLARES.fields, "days_to_recover", "Days to recover", "number", hint="Leave blank while the flare is ongoing"
        ),
        spec_field(FLARES.fields, "note", "Note"),
    ],
    **_crud(FLARES, FLARE_NAMES),
    describe=lambda f: f"flare of {_date(f.started_on)} (severity {f.severity})",
    defaults=lambda ctx: {"started_on": ctx.today, "severity": 5},
)


# --- team action items ---------------------------------------------------------------------

ACTION_NAMES = ("text", "owner", "due_on", "discipline", "status")

ACTION_ITEM = KindUi(
    key="action",
    noun="action item",
    change_kind="action",
    fields=lambda ctx: [
        spec_field(ACTION_ITEMS.fields, "text", "Action", "note"),
        Field(
            "owner",
            "Owner",
            "choice",
            ((None, "— unassigned —"), *((s.id, s.full_name) for s in ctx.options.get("staff", ()))),
            required=False,
        ),
        Field("due_on", "Due by", "optional_date", required=False),
        spec_field(
            ACTION_ITEMS.fields, "discipline", "Discipline", choices=((None, "— any —"), *_discipline_choices())
        ),
        spec_field(ACTION_ITEMS.fields, "status", "Status"),
    ],
    **_crud(ACTION_ITEMS, ACTION_NAMES),
    describe=lambda a: f"action item “{a.text[:50]}”",
    defaults=lambda ctx: {**ACTION_ITEMS.fields.defaults(), "owner": ctx.options.get("me")},
    prepare=_load_staff,
)

ALL = {
    k.key: k
    for k in (
        SESSION,
        GOAL,
        GRADED_PLAN,
        GRADED_WEEK,
        COURSE,
        PRACTICE_WEEK,
        PLAN_ITEM,
        NIGHT,
        CONTACT,
        RTW_PHASE,
        FLARE,
        ACTION_ITEM,
    )
}
