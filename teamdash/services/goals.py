"""SMART goals per discipline, optionally linked to a measure that drives progress."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from teamdash import clock, validation
from teamdash.clinical import disciplines, instruments
from teamdash.errors import ValidationError
from teamdash.services.record_kinds import RecordKind
from teamdash.storage.models import Goal
from teamdash.validation import FieldSpec, FieldSpecs


@dataclass(frozen=True)
class GoalResult:
    id: int
    patient: int
    discipline: str
    text: str
    instrument: str | None
    baseline_value: float | None
    target_value: float | None
    set_on: dt.date
    due_on: dt.date | None
    status: str
    progress: int | None
    version: int

    def past_due(self, today: dt.date) -> bool:
        return self.status == "active" and self.due_on is not None and self.due_on < today


# Baseline and target have no fixed limits: they follow the linked measure's range.
FIELDS = FieldSpecs(
    [
        FieldSpec("discipline", "choice", choices=disciplines.codes),
        FieldSpec("text", "text", max_length=1000),
        FieldSpec("status", "choice", choices=partial(disciplines.vocabulary, "goal_status"), default="active"),
        FieldSpec("progress", "int", required=False, minimum=0, maximum=100),
    ]
)


def _clean(values: dict, current: dict | None) -> dict:
    out: dict = {}
    merged = {**(current or {}), **values}
    if current is None or "discipline" in values:
        out["discipline"] = FIELDS["discipline"].check(values.get("discipline"))
    if current is None or "text" in values:
        out["text"] = FIELDS["text"].check(values.get("text"))
    if current is None or "set_on" in values:
        out["set_on"] = validation.date(values.get("set_on") or clock.today(), "set_on")
    if "due_on" in values:
        out["due_on"] = validation.date(values["due_on"], "due_on", required=False)
    if current is None or "status" in values:
        out["status"] = FIELDS["status"].check_or_default(values)
    if "progress" in values:
        out["progress"] = FIELDS["progress"].check(values["progress"])
    if "instrument" in values:
        out["instrument"] = values["instrument"] or None
        if out["instrument"]:
            instruments.get(out["instrument"])  # raises UnknownInstrument
    merged.update(out)
    out.update(_clean_values(values, merged))
    set_on, due_on = merged.get("set_on"), merged.get("due_on")
    if isinstance(set_on, dt.date) and isinstance(due_on, dt.date) and due_on < set_on:
        raise ValidationError(
            f"{due_on.isoformat()} is before the date the goal was set ({set_on.isoformat()})", field="due_on"
        )
    return out


def _clean_values(values: dict, merged: dict) -> dict:
    """Baseline and target, inside the linked measure's range and pointing the better way."""
    out = {}
    definition = instruments.get(merged["instrument"]) if merged.get("instrument") else None
    for name in ("baseline_value", "target_value"):
        if name in values:
            out[name] = validation.number(
                values[name],
                name,
                required=False,
                minimum=definition.total_min if definition else None,
                maximum=definition.total_max if definition else None,
            )
    baseline = out.get("baseline_value", merged.get("baseline_value"))
    target = out.get("target_value", merged.get("target_value"))
    if definition and definition.direction and baseline is not None and target is not None:
        better = target < baseline if definition.direction == "higher_worse" else target > baseline
        if not better:
            way = "below" if definition.direction == "higher_worse" else "above"
            raise ValidationError(
                f"for {definition.short_name} a better score is {way} the baseline ({baseline:g})", field="target_value"
            )
    return out


GOALS: RecordKind[GoalResult] = RecordKind(
    Goal,
    GoalResult,
    _clean,
    what="goal",
    action="goal",
    order_by=(Goal.status, Goal.due_on, Goal.id),
    fields=FIELDS,
    discipline=lambda goal: goal.get("discipline"),
)


def progress(goal: GoalResult, latest_value: float | None) -> int | None:
    """Percent of the way from baseline to target (0–100), from the linked measure's
    latest value when there is one, else the progress set by hand."""
    if goal.status == "achieved":
        return 100
    if (
        goal.instrument
        and latest_value is not None
        and goal.baseline_value is not None
        and goal.target_value is not None
    ):
        span = goal.target_value - goal.baseline_value
        if span == 0:
            return 100
        share = (latest_value - goal.baseline_value) / span
        return int(round(max(0.0, min(1.0, share)) * 100))
    return goal.progress
