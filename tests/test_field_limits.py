"""Every field limit a service publishes (``FieldSpec``) is the one its validator
enforces: one past each bound, one character too many, a value outside the choices
are refused, naming the field; the bounds themselves are accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.errors import ValidationError
from teamdash.services import action_items, flares, goals, plans, sessions, sleep_diary
from teamdash.validation import FieldSpec, FieldSpecs

NIGHT = {
    "night_of": dt.date(2026, 11, 20),
    "bed_time": "22:30",
    "lights_out": "23:00",
    "sol_minutes": 20,
    "awakenings": 1,
    "waso_minutes": 15,
    "final_wake": "06:30",
    "out_of_bed": "07:00",
    "quality": 3,
}


SESSION = {"discipline": "pt", "held_at": "2026-11-20 10:00", "kind": "Assessment"}


def session_clean(values: dict, _current: dict | None) -> dict:
    """A new session (``validate_new`` checks a whole one) with the field changed."""
    return sessions.validate_new({**SESSION, **values}, now=dt.datetime(2026, 11, 27, 14, 30))


# (name, published fields, validator, a valid stored row the change applies to)
VALIDATORS = [
    ("session", sessions.FIELDS, session_clean, {}),
    ("goal", goals.GOALS.fields, goals.GOALS.clean, {}),
    ("graded plan", plans.GRADED_PLANS.fields, plans.GRADED_PLANS.clean, {}),
    ("graded week", plans.GRADED_WEEKS.fields, plans.GRADED_WEEKS.clean, {}),
    ("course", plans.COURSES.fields, plans.COURSES.clean, {}),
    ("practice", plans.PRACTICE.fields, plans.PRACTICE.clean, {}),
    ("plan item", plans.PLAN_ITEMS.fields, plans.PLAN_ITEMS.clean, {}),
    ("contact", plans.CONTACTS.fields, plans.CONTACTS.clean, {}),
    ("rtw phase", plans.RTW_PHASES.fields, plans.RTW_PHASES.clean, {}),
    ("flare", flares.FLARES.fields, flares.FLARES.clean, {}),
    ("night", sleep_diary.NIGHTS.fields, sleep_diary.NIGHTS.clean, NIGHT),
    ("action", action_items.ACTION_ITEMS.fields, action_items.ACTION_ITEMS.clean, {}),
    ("decision", action_items.DECISIONS.fields, action_items.DECISIONS.clean, {}),
]


def bad_values(spec: FieldSpec) -> list:
    if spec.kind in ("int", "number"):
        step = 1 if spec.kind == "int" else 0.5
        below = [spec.minimum - step] if spec.minimum is not None else []
        above = [spec.maximum + step] if spec.maximum is not None else []
        return below + above
    if spec.kind in ("text", "note"):
        return ["x" * (spec.max_length + 1)]
    return ["no such choice"]


def names_of(name: str) -> set[str]:
    """How an error names the field (the sleep diary's instrument numbers its items)."""
    if name in sleep_diary.ITEM_ORDER:
        return {name, f"item {sleep_diary.ITEM_ORDER.index(name) + 1}"}
    return {name}


def good_values(spec: FieldSpec) -> list:
    if spec.kind in ("int", "number"):
        return [v for v in (spec.minimum, spec.maximum) if v is not None]
    if spec.kind in ("text", "note"):
        return ["x" * spec.max_length]
    return list(spec.allowed())


CASES = [
    pytest.param(fields, clean, current, name, id=f"{kind}.{name}")
    for kind, fields, clean, current in VALIDATORS
    for name in fields
]


@pytest.mark.parametrize(("fields", "clean", "current", "name"), CASES)
def test_the_validator_enforces_the_published_limit(fields: FieldSpecs, clean, current, name):
    spec = fields[name]
    for value in bad_values(spec):
        with pytest.raises(ValidationError) as refused:
            clean({name: value}, dict(current))
        assert refused.value.field in (
            name,
            f"item {list(sleep_diary.ITEM_ORDER).index(name) + 1}" if name in sleep_diary.ITEM_ORDER else name,
        )
    for value in good_values(spec):
        assert spec.check(value) == value


def test_every_record_kind_publishes_its_limits():
    assert all(len(fields) for _kind, fields, _clean, _current in VALIDATORS)


def test_defaults_fill_a_new_record():
    out = plans.GRADED_PLANS.clean(
        {"activity": "walking", "baseline_tolerance": 5, "current_level": 5, "target_level": 30, "weekly_increment": 2},
        None,
    )
    assert (out["unit"], out["status"]) == ("minutes", "active")
    assert plans.COURSES.clean({"kind": "CBT", "modules_total": 8}, None)["modules_done"] == 0
