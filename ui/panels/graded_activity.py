"""PT: the graded activity / exposure plan (activity, baseline tolerance, current level,
target, weekly increment), its level over the weeks, and exercise adherence."""

from __future__ import annotations

from statistics import mean

from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from teamdash.record import GradedPlanWithWeeks, PatientRecord
from ui.context import AppContext
from ui.dialogs.kinds import GRADED_PLAN, GRADED_WEEK, label_of
from ui.dialogs.record_dialog import delete_record, open_record_dialog
from ui.panels import palette
from ui.panels.charts import SmallChart
from ui.panels.record_list import RecordListCard
from ui.panels.table import Column
from ui.panels.widgets import Card, muted, progress_bar, set_progress

RECENT_WEEKS = 4


def adherence_text(weeks) -> str:
    """Exercise adherence over the last few logged weeks and the whole plan."""
    logged = [w.adherence_pct for w in weeks if w.adherence_pct is not None]
    if not logged:
        return "Exercise adherence: not logged yet"
    recent = logged[-RECENT_WEEKS:]
    return (f"Exercise adherence: {mean(recent):.0f} % over the last {len(recent)} logged week{'s' if len(recent) != 1 else ''}"
            f" · {mean(logged):.0f} % over the plan")


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:g}{' ' + unit if unit else ''}"


class GradedPlanCard(Card):
    """The plan's figures and chart, with a chooser when the patient has several plans."""

    def __init__(self, context: AppContext, on_plan_changed):
        super().__init__("Graded activity / exposure plan", object_name="card_graded_plan")
        self.context = context
        self.record: PatientRecord | None = None
        self._on_plan_changed = on_plan_changed
        self.chooser = QComboBox()
        self.chooser.setObjectName("graded_plan_chooser")
        self.chooser.currentIndexChanged.connect(lambda _i: self._show_selected())
        self._actions.addWidget(self.chooser)
        self.add_button = self.add_action("New plan…", "Start a graded activity plan", self.add, name="add_graded_plan")
        self.edit_button = self.add_action("Edit plan…", "Edit the plan's levels, target or status", self.edit,
                                           name="edit_graded_plan")
        self.delete_button = self.add_action("Delete plan…", "Delete the plan and its weekly log", self.delete,
                                             name="delete_graded_plan")
        self.empty = muted("No graded activity plan yet.")
        self.body.addWidget(self.empty)
        self.content = QWidget()
        row = QHBoxLayout(self.content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(self._figures(), 0)
        self.chart = SmallChart(height=190, y_label="level")
        self.chart.add_legend()
        row.addWidget(self.chart, 1)
        self.body.addWidget(self.content)

    def _figures(self) -> QVBoxLayout:
        box = QVBoxLayout()
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.figures: dict[str, QLabel] = {}
        for n, (key, text) in enumerate((("activity", "Activity"), ("baseline", "Baseline tolerance"),
                                         ("current", "Current level"), ("target", "Target"),
                                         ("increment", "Weekly increase"), ("status", "Status"),
                                         ("eta", "Weeks to target"))):
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

    def selected(self) -> GradedPlanWithWeeks | None:
        if self.record is None:
            return None
        plan_id = self.chooser.currentData()
        return next((p for p in self.record.graded_plans if p.plan.id == plan_id), None)

    def set_record(self, record: PatientRecord) -> None:
        keep = self.chooser.currentData()
        self.record = record
        plans = record.graded_plans
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for p in plans:
            self.chooser.addItem(f"{p.plan.activity} (from {p.plan.started_on:%d %b %Y})", p.plan.id)
        # Keep the plan the user chose; otherwise show the newest active one.
        active = [p for p in plans if p.plan.status == "active"] or list(plans)
        wanted = keep if any(p.plan.id == keep for p in plans) else (active[-1].plan.id if active else None)
        self.chooser.setCurrentIndex(max(0, self.chooser.findData(wanted)))
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(plans) > 1)
        self._show_selected()

    def _show_selected(self) -> None:
        chosen = self.selected()
        writable = self.context.actor.can("write_clinical")
        self.add_button.setEnabled(writable and self.record is not None)
        self.edit_button.setEnabled(writable and chosen is not None)
        self.delete_button.setEnabled(writable and chosen is not None)
        self.empty.setVisible(chosen is None)
        self.content.setVisible(chosen is not None)
        if chosen is not None:
            self._show_plan(chosen)
        self._on_plan_changed()

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
        self.chart.line(days, [w.planned_level for w in weeks], colour="#8a94a3", name="planned", dashed=True, symbol=None)
        self.chart.line(days, [w.achieved_level for w in weeks], colour="#2f7d4f", name="achieved")
        top = max([plan.target_level, *(w.planned_level for w in weeks), *(w.achieved_level or 0 for w in weeks)])
        self.chart.setYRange(0, top * 1.12, padding=0)

    # --- actions -------------------------------------------------------------------------------

    def add(self) -> None:
        if self.record is not None:
            open_record_dialog(self, self.context, GRADED_PLAN, patient=self.record.patient, record=self.record,
                               discipline="pt")

    def edit(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            open_record_dialog(self, self.context, GRADED_PLAN, patient=self.record.patient, record=self.record,
                               discipline="pt", existing=chosen.plan)

    def delete(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            delete_record(self, self.context, GRADED_PLAN, chosen.plan, patient_id=self.record.patient.id)


WEEK_COLUMNS = (
    Column("Week of", lambda w: f"{w.week_start:%d %b %Y}"),
    Column("Planned", lambda w: _number(w.planned_level), numeric=True),
    Column("Achieved", lambda w: _number(w.achieved_level), numeric=True,
           colour=lambda w: None if w.achieved_level is None or w.achieved_level >= w.planned_level else palette.OVERDUE),
    Column("Exercise adherence", lambda w: "—" if w.adherence_pct is None else f"{w.adherence_pct} %",
           progress=lambda w: w.adherence_pct),
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
            "Weekly log", GRADED_WEEK, WEEK_COLUMNS,
            rows=lambda _record: list(reversed(self.plan.selected().weeks)) if self.plan.selected() else [],
            context=context, discipline="pt",
            owner=lambda _record: self.plan.selected().plan.id if self.plan.selected() else None,
            empty="No weeks logged for this plan.", max_rows=8,
        )
        self.plan = GradedPlanCard(context, self._plan_changed)
        layout.addWidget(self.plan)
        layout.addWidget(self.weeks)

    def _plan_changed(self) -> None:
        if self.plan.record is not None:
            self.weeks.set_record(self.plan.record)

    def set_record(self, record: PatientRecord) -> None:
        self.plan.set_record(record)
