"""PT: the graded activity / exposure plan (activity, baseline tolerance, current level,
target, weekly increment), its level over the weeks, and exercise adherence."""

from __future__ import annotations

from statistics import mean

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from teamdash.clinical import programme
from teamdash.services.chart import GradedPlanWithWeeks, PatientRecord
from ui.context import AppContext
from ui.dialogs.kinds import GRADED_PLAN, GRADED_WEEK, label_of
from ui.panels.chosen_plan import ChosenPlanCard, content_row
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.cards import muted, progress_bar, set_progress
from ui.widgets.charts import SmallChart
from ui.widgets.table import Column


def adherence_text(weeks) -> str:
    """Exercise adherence over the last few logged weeks and the whole plan."""
    logged = [w.adherence_pct for w in weeks if w.adherence_pct is not None]
    if not logged:
        return "Exercise adherence: not logged yet"
    recent = programme.recent_weeks(logged)
    return (
        f"Exercise adherence: {mean(recent):.0f} % over the last {len(recent)} logged week{'s' if len(recent) != 1 else ''}"
        f" · {mean(logged):.0f} % over the plan"
    )


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:g}{' ' + unit if unit else ''}"


class GradedPlanCard(ChosenPlanCard):
    """The plan's figures and chart, with a chooser when the patient has several plans."""

    kind = GRADED_PLAN
    discipline = "pt"

    def __init__(self, context: AppContext, on_plan_changed):
        super().__init__(
            context,
            on_plan_changed,
            title="Graded activity / exposure plan",
            object_name="card_graded_plan",
            chooser_name="graded_plan_chooser",
            empty="No graded activity plan yet.",
            buttons=(
                ("New plan…", "Start a graded activity plan", "add_graded_plan"),
                ("Edit plan…", "Edit the plan's levels, target or status", "edit_graded_plan"),
                ("Delete plan…", "Delete the plan and its weekly log", "delete_graded_plan"),
            ),
        )
        row = content_row(self)
        row.addLayout(self._figures(), 0)
        self.chart = SmallChart(
            height=190, y_label="level", name="Graded activity: planned and achieved level per week"
        )
        self.chart.add_legend()
        row.addWidget(self.chart, 1)

    def _figures(self) -> QVBoxLayout:
        box = QVBoxLayout()
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.figures: dict[str, QLabel] = {}
        for n, (key, text) in enumerate(
            (
                ("activity", "Activity"),
                ("baseline", "Baseline tolerance"),
                ("current", "Current level"),
                ("target", "Target"),
                ("increment", "Weekly increase"),
                ("status", "Status"),
                ("eta", "Weeks to target"),
            )
        ):
            grid.addWidget(muted(text), n, 0)
            self.figures[key] = QLabel()
            self.figures[key].setObjectName(f"graded_{key}")
            grid.addWidget(self.figures[key], n, 1)
        box.addLayout(grid)
        self.progress = progress_bar(None)
        self.progress.setObjectName("graded_progress")
        box.addWidget(self.progress)
        self.adherence = QLabel()
        self.adherence.setObjectName("graded_adherence")
        self.adherence.setWordWrap(True)
        box.addWidget(self.adherence)
        box.addStretch(1)
        return box

    # --- data ----------------------------------------------------------------------------------

    def plans(self, record: PatientRecord):
        return record.graded_plans

    def plan_of(self, item: GradedPlanWithWeeks):
        return item.plan

    def label(self, item: GradedPlanWithWeeks) -> str:
        return f"{item.plan.activity} (from {item.plan.started_on:%d %b %Y})"

    def show_plan(self, chosen: GradedPlanWithWeeks) -> None:
        self._show_plan(chosen)

    def _show_plan(self, chosen: GradedPlanWithWeeks) -> None:
        plan, weeks = chosen.plan, chosen.weeks
        f = self.figures
        f["activity"].setText(f"<b>{plan.activity}</b> ({plan.unit})")
        f["baseline"].setText(_number(plan.baseline_tolerance, plan.unit))
        f["current"].setText(f"<b>{_number(plan.current_level, plan.unit)}</b>")
        f["target"].setText(_number(plan.target_level, plan.unit))
        f["increment"].setText(f"+{_number(plan.weekly_increment, plan.unit)}")
        f["status"].setText(label_of(plan.status))
        eta = plan.weeks_to_target
        f["eta"].setText("reached" if eta == 0 else ("—" if eta is None else f"about {eta}"))
        set_progress(self.progress, plan.progress, f"{plan.progress} % of the way to target")
        self.progress.setToolTip("Current level's share of the way from baseline tolerance to target")
        self.adherence.setText(adherence_text(weeks))
        self._plot(chosen)
        self.summary.setText(f"{len(weeks)} week{'s' if len(weeks) != 1 else ''} logged" if weeks else "")

    def _plot(self, chosen: GradedPlanWithWeeks) -> None:
        plan, weeks = chosen.plan, chosen.weeks
        self.chart.reset()
        if not weeks:
            return
        days = [w.week_start for w in weeks]
        self.chart.hline(plan.target_level, colour=palette.BETTER, label=f"target {plan.target_level:g}")
        self.chart.hline(plan.baseline_tolerance, colour=palette.MUTED, label=f"baseline {plan.baseline_tolerance:g}")
        self.chart.line(
            days, [w.planned_level for w in weeks], colour="#8a94a3", name="planned", dashed=True, symbol=None
        )
        self.chart.line(days, [w.achieved_level for w in weeks], colour="#2f7d4f", name="achieved")
        top = max([plan.target_level, *(w.planned_level for w in weeks), *(w.achieved_level or 0 for w in weeks)])
        self.chart.setYRange(0, top * 1.12, padding=0)


WEEK_COLUMNS = (
    Column("Week of", lambda w: f"{w.week_start:%d %b %Y}"),
    Column("Planned", lambda w: _number(w.planned_level), numeric=True),
    Column(
        "Achieved",
        lambda w: _number(w.achieved_level),
        numeric=True,
        colour=lambda w: None if w.achieved_level is None or w.achieved_level >= w.planned_level else palette.OVERDUE,
    ),
    Column(
        "Exercise adherence",
        lambda w: "—" if w.adherence_pct is None else f"{w.adherence_pct} %",
        progress=lambda w: w.adherence_pct,
    ),
    Column("Note", lambda w: (w.note or "").replace("\n", " "), stretch=True),
)


class GradedActivityPart(QWidget):
    """The plan card and its weekly log, kept on the same plan."""

    def __init__(self, context: AppContext):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.record: PatientRecord | None = None
        self.weeks = RecordListCard(
            "Weekly log",
            GRADED_WEEK,
            WEEK_COLUMNS,
            rows=lambda _record: list(reversed(self.plan.selected().weeks)) if self.plan.selected() else [],
            context=context,
            discipline="pt",
            owner=lambda _record: self.plan.selected().plan.id if self.plan.selected() else None,
            empty="No weeks logged for this plan.",
            max_rows=8,
        )
        self.plan = GradedPlanCard(context, self._plan_changed)
        layout.addWidget(self.plan)
        layout.addWidget(self.weeks)

    def _plan_changed(self) -> None:
        if self.plan.record is not None:
            self.weeks.set_record(self.plan.record)

    def set_record(self, record: PatientRecord) -> None:
        self.plan.set_record(record)
