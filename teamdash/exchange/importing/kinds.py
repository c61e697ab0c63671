"""Every kind of sheet the importer reads, in import order: each may refer to the ones
before it (patients to staff, measurements to patients, a plan's weeks to the plan, a
decision to its check-in)."""

from __future__ import annotations

from teamdash.exchange.importing import (
    action_items,
    checkins,
    contacts,
    courses,
    decisions,
    flares,
    goals,
    graded_plans,
    graded_weeks,
    measurements,
    patients,
    plan_items,
    practice,
    rtw_phases,
    safety,
    sessions,
    sleep_diary,
    staff,
)
from teamdash.exchange.importing.context import Kind
from teamdash.exchange.importing.fields import FieldSpec, normalise

ALL: tuple[Kind, ...] = (
    staff.KIND,
    patients.KIND,
    measurements.KIND,
    safety.KIND,
    sessions.KIND,
    goals.KIND,
    graded_plans.KIND,
    graded_weeks.KIND,
    courses.KIND,
    practice.KIND,
    plan_items.KIND,
    sleep_diary.KIND,
    flares.KIND,
    contacts.KIND,
    rtw_phases.KIND,
    checkins.KIND,
    decisions.KIND,
    action_items.KIND,
)
BY_NAME: dict[str, Kind] = {k.name: k for k in ALL}
KINDS: tuple[str, ...] = tuple(BY_NAME)
KIND_LABELS: dict[str, str] = {k.name: k.label for k in ALL}
FIELDS: dict[str, tuple[FieldSpec, ...]] = {k.name: k.fields for k in ALL}
# A sheet's (normalised) name -> the kind it holds.
SHEET_NAMES: dict[str, str] = {normalise(n): k.name for k in ALL for n in (k.label, *k.sheet_names)}


def get(name: str) -> Kind:
    return BY_NAME[name]
