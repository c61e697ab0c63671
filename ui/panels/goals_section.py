"""A discipline's SMART goals: linked measure, baseline, target, due date, status, and
progress computed from the linked measure's latest value where there is one."""

from __future__ import annotations

from teamdash.clinical import instruments
from teamdash.services import goals as goal_rules
from teamdash.services.chart import PatientRecord
from teamdash.services.goals import GoalResult
from ui.context import AppContext
from ui.dialogs.kinds import GOAL, label_of
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.table import Column

STATUS_COLOURS = {
    "achieved": palette.BETTER,
    "partly_achieved": "#7cb342",
    "not_achieved": palette.WORSE,
    "discontinued": palette.MUTED,
}


class GoalView:
    """A goal with what the table needs from the rest of the record."""

    def __init__(self, goal: GoalResult, record: PatientRecord):
        self.goal, self.id = goal, goal.id
        self.instrument = instruments.get(goal.instrument) if goal.instrument else None
        series = [m for m in record.series(goal.instrument) if m.total is not None] if goal.instrument else []
        self.latest = series[-1].total if series else None
        self.progress = goal_rules.progress(goal, self.latest)
        self.past_due = goal.past_due(record.today)

    def value(self, value: float | None) -> str:
        if value is None:
            return "—"
        return self.instrument.format(value) if self.instrument else f"{value:g}"

    # the record dialog reads the goal's own fields through these
    def __getattr__(self, name: str):
        return getattr(self.goal, name)


def _due(view: GoalView) -> str:
    if view.goal.due_on is None:
        return "—"
    return f"{view.goal.due_on:%d %b %Y}" + (" (past due)" if view.past_due else "")


def _progress_text(view: GoalView) -> str:
    if view.progress is None:
        return "not measured"
    source = "" if view.instrument is None or view.latest is None else f" · now {view.value(view.latest)}"
    return f"{view.progress} %{source}"


COLUMNS = (
    Column("Goal", lambda v: v.goal.text.replace("\n", " "), stretch=True, tooltip=lambda v: v.goal.text),
    Column("Measure", lambda v: v.instrument.short_name if v.instrument else "—"),
    Column("Baseline", lambda v: v.value(v.goal.baseline_value), numeric=True),
    Column("Target", lambda v: v.value(v.goal.target_value), numeric=True),
    Column("Due", _due, colour=lambda v: palette.OVERDUE if v.past_due else None),
    Column("Status", lambda v: label_of(v.goal.status), colour=lambda v: STATUS_COLOURS.get(v.goal.status)),
    Column("Progress", _progress_text, progress=lambda v: v.progress),
)

ORDER = {"active": 0, "partly_achieved": 1, "achieved": 2, "not_achieved": 3, "discontinued": 4}


def goal_rows(record: PatientRecord, discipline: str) -> list[GoalView]:
    chosen = [g for g in record.goals if g.discipline == discipline]
    chosen.sort(key=lambda g: (ORDER.get(g.status, 9), g.due_on or g.set_on))
    return [GoalView(g, record) for g in chosen]


def _summary(rows: list[GoalView]) -> str:
    active = sum(1 for r in rows if r.goal.status == "active")
    achieved = sum(1 for r in rows if r.goal.status == "achieved")
    late = sum(1 for r in rows if r.past_due)
    parts = [f"{active} active", f"{achieved} achieved"] + ([f"{late} past due"] if late else [])
    return " · ".join(parts) if rows else ""


class GoalsSection(RecordListCard):
    def __init__(self, discipline: str, context: AppContext):
        super().__init__(
            "Goals",
            GOAL,
            COLUMNS,
            rows=lambda record: goal_rows(record, discipline),
            context=context,
            discipline=discipline,
            empty="No goals set for this discipline yet.",
            summary=lambda _record, rows: _summary(rows),
        )
