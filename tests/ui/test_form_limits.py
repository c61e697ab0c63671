"""Each record kind's form offers exactly what its service accepts: bounds, lengths,
choices and required fields come from the service's published ``FieldSpec``s."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash.validation import FieldSpec
from ui.dialogs import kinds
from ui.dialogs.fields import Field, make_editor

# Choice fields whose options are the clinic's own rows or the instrument library,
# checked by the service against the database, not a published list.
OPEN_CHOICES = {("session", "clinician"), ("action", "owner"), ("goal", "instrument")}
# Goal baseline and target: their range is the linked measure's, known once one is chosen.
MEASURE_RANGED = {("goal", "baseline_value"), ("goal", "target_value")}
LIMITED_EDITORS = {"int", "number", "text", "suggest", "note", "choice"}


def form_fields(key: str) -> dict[str, Field]:
    context = kinds.FormContext(discipline=None, record=None, options={"staff": ()}, today=dt.date(2026, 11, 27))
    return {f.name: f for f in kinds.ALL[key].fields(context)}


@pytest.mark.parametrize("key", sorted(kinds.ALL))
def test_form_limits_are_the_services(key):
    kind = kinds.ALL[key]
    fields = form_fields(key)
    assert kind.limits, f"{key}: the service publishes no field limits"
    for name, spec in kind.limits.items():
        assert name in fields, f"{key}: the service's field {name!r} has no form field"
        field = fields[name]
        assert field.required == spec.required, (key, name)
        if spec.minimum is not None:
            assert field.minimum == spec.minimum, (key, name)
        if spec.maximum is not None:
            assert field.maximum == spec.maximum, (key, name)
        assert field.max_length == (spec.max_length if spec.kind == "text" else None), (key, name)
        if spec.kind == "choice":
            offered = {value for value, _label in field.choices if value is not None}
            assert offered == set(spec.allowed()), (key, name)


@pytest.mark.parametrize("key", sorted(kinds.ALL))
def test_no_form_field_has_limits_of_its_own(key):
    """A field that limits what may be typed is one the service publishes."""
    limits = kinds.ALL[key].limits
    for name, field in form_fields(key).items():
        if field.kind in LIMITED_EDITORS and (key, name) not in OPEN_CHOICES | MEASURE_RANGED:
            assert name in limits, f"{key}: the form limits {name!r} but the service publishes nothing for it"


@pytest.mark.parametrize("key", sorted(kinds.ALL))
def test_editors_apply_the_limits(qtbot, key):
    """The widgets the user types into: spin box ranges and text lengths."""
    limits = kinds.ALL[key].limits
    for name, field in form_fields(key).items():
        if name not in limits:
            continue
        spec: FieldSpec = limits[name]
        widget = make_editor(field).widget
        qtbot.addWidget(widget)
        if field.kind == "int":
            assert (widget.minimum(), widget.maximum()) == (spec.minimum, spec.maximum), (key, name)
        elif field.kind == "text":
            assert widget.maxLength() == spec.max_length, (key, name)
        elif field.kind == "suggest":
            assert widget.lineEdit().maxLength() == spec.max_length, (key, name)


def test_known_limits_reach_the_form():
    """The numbers people meet in the forms, as the services publish them."""
    assert (form_fields("session")["minutes"].minimum, form_fields("session")["minutes"].maximum) == (0, 600)
    assert form_fields("rtw_phase")["hours_per_week"].maximum == 80
    assert form_fields("night")["sol_minutes"].maximum == 720  # the sleep_diary instrument's item 3
    assert form_fields("night")["awakenings"].maximum == 50
    assert form_fields("practice")["minutes"].maximum == 7 * 24 * 60
    assert form_fields("contact")["name"].max_length == 120
    assert {v for v, _ in form_fields("session")["attendance"].choices} == {
        "scheduled",
        "attended",
        "cancelled",
        "no_show",
    }


def test_new_records_start_from_the_services_defaults():
    context = kinds.FormContext(discipline="pt", record=None, options={}, today=dt.date(2026, 11, 27))
    assert kinds.GOAL.defaults(context)["status"] == "active"
    assert kinds.PLAN_ITEM.defaults(context)["status"] == "planned"
    assert kinds.ACTION_ITEM.defaults(context)["status"] == "open"
    assert kinds.GRADED_PLAN.defaults(context)["unit"] == "minutes"
