"""Psychology: CBT / mindfulness course progress (modules done of total) and home
practice minutes per week."""

from __future__ import annotations

from statistics import mean

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from teamdash.clinical import programme
from teamdash.services.chart import CourseWithPractice, PatientRecord
from ui.context import AppContext
from ui.dialogs.kinds import COURSE, PRACTICE_WEEK, label_of
from ui.panels.chosen_plan import ChosenPlanCard, content_row
from ui.panels.record_list import RecordListCard
from ui.widgets.cards import muted, progress_bar, set_progress
from ui.widgets.charts import SmallChart
from ui.widgets.table import Column


def practice_text(practice) -> str:
    if not practice:
        return "Home practice: not logged yet"
    recent = [p.minutes for p in programme.recent_weeks(practice)]
    return (
        f"Home practice: {mean(recent):.0f} min/week over the last {len(recent)} logged week{'s' if len(recent) != 1 else ''}"
        f" · {sum(p.minutes for p in practice)} min in total"
    )


class CourseCard(ChosenPlanCard):
    kind = COURSE
    discipline = "psychology"

    def __init__(self, context: AppContext, on_course_changed):
        super().__init__(
            context,
            on_course_changed,
            title="CBT / mindfulness course",
            object_name="card_course",
            chooser_name="course_chooser",
            empty="No course yet.",
            buttons=(
                ("New course…", "Enrol the patient in a course", "add_course"),
                ("Edit course…", "Update modules done or status", "edit_course"),
                ("Delete course…", "Delete the course and its practice log", "delete_course"),
            ),
        )
        row = content_row(self)
        left = QVBoxLayout()
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.figures: dict[str, QLabel] = {}
        for n, (key, text) in enumerate((("kind", "Course"), ("started", "Started"), ("status", "Status"))):
            grid.addWidget(muted(text), n, 0)
            self.figures[key] = QLabel()
            self.figures[key].setObjectName(f"course_{key}")
            grid.addWidget(self.figures[key], n, 1)
        left.addLayout(grid)
        self.modules = progress_bar(None)
        self.modules.setObjectName("course_modules")
        left.addWidget(self.modules)
        self.practice = QLabel()
        self.practice.setObjectName("course_practice")
        self.practice.setWordWrap(True)
        left.addWidget(self.practice)
        left.addStretch(1)
        row.addLayout(left, 0)
        self.chart = SmallChart(height=170, y_label="min/week", name="Practice minutes per week")
        row.addWidget(self.chart, 1)

    def plans(self, record: PatientRecord):
        return record.courses

    def plan_of(self, item: CourseWithPractice):
        return item.course

    def label(self, item: CourseWithPractice) -> str:
        return f"{item.course.kind} (from {item.course.started_on:%d %b %Y})"

    def show_plan(self, chosen: CourseWithPractice) -> None:
        self._show_course(chosen)

    def _show_course(self, chosen: CourseWithPractice) -> None:
        course, practice = chosen.course, chosen.practice
        self.figures["kind"].setText(f"<b>{course.kind}</b>")
        self.figures["started"].setText(f"{course.started_on:%d %b %Y}")
        self.figures["status"].setText(label_of(course.status))
        share = round(course.modules_done * 100 / course.modules_total)
        set_progress(self.modules, share, f"{course.modules_done} of {course.modules_total} modules done")
        self.practice.setText(practice_text(practice))
        self.chart.reset()
        if practice:
            self.chart.bars([p.week_start for p in practice], [p.minutes for p in practice], colour="#8e7cc3")
            recent = [p.minutes for p in programme.recent_weeks(practice)]
            self.chart.hline(mean(recent), colour="#6a4c93", label=f"recent mean {mean(recent):.0f}")
            self.chart.setYRange(0, max(p.minutes for p in practice) * 1.15, padding=0)


PRACTICE_COLUMNS = (
    Column("Week of", lambda p: f"{p.week_start:%d %b %Y}"),
    Column("Practice minutes", lambda p: f"{p.minutes} min", numeric=True),
)


class CoursesPart(QWidget):
    def __init__(self, context: AppContext):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.practice = RecordListCard(
            "Practice log",
            PRACTICE_WEEK,
            PRACTICE_COLUMNS,
            rows=lambda _record: list(reversed(self.course.selected().practice)) if self.course.selected() else [],
            context=context,
            discipline="psychology",
            owner=lambda _record: self.course.selected().course.id if self.course.selected() else None,
            empty="No practice logged for this course.",
            max_rows=6,
            table_width=320,
        )
        self.course = CourseCard(context, self._course_changed)
        layout.addWidget(self.course)
        layout.addWidget(self.practice)

    def _course_changed(self) -> None:
        if self.course.record is not None:
            self.practice.set_record(self.course.record)

    def set_record(self, record: PatientRecord) -> None:
        self.course.set_record(record)
