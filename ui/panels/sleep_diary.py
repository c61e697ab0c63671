"""Sleep: the sleep diary night by night (bed time, latency, awakenings, wake after
sleep onset, final wake, rise time, quality) with total sleep time and sleep efficiency
computed per night (by the ``sleep_diary`` instrument), and weekly averages."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from teamdash.clinical import instruments, programme
from teamdash.services import sleep_diary
from teamdash.services.chart import PatientRecord
from teamdash.services.sleep_diary import NightResult, SleepWeek
from ui.context import AppContext
from ui.dialogs.kinds import NIGHT
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.cards import Card, muted
from ui.widgets.charts import SmallChart
from ui.widgets.table import Column, RecordTable

RATING_COLOURS = {"met": palette.BETTER, "near": palette.OVERDUE, "below": palette.WORSE}


def hours(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    whole = int(round(minutes))
    return f"{whole // 60} h {whole % 60:02d}"


def se_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


def se_colour(value: float | None) -> str | None:
    rating = programme.se_rating(value)
    return None if rating is None else RATING_COLOURS[rating]


def _quality(n: NightResult) -> str:
    return "—" if n.quality is None else f"{n.quality}/5"


# The sleep team's usual abbreviations keep thirteen columns readable on a laptop;
# each header explains itself in its tooltip.
NIGHT_COLUMNS = (
    Column("Night of", lambda n: f"{n.night_of:%a %d %b}"),
    Column("In bed", lambda n: n.bed_time, explain="Into bed"),
    Column("Lights out", lambda n: n.lights_out),
    Column(
        "SOL", lambda n: f"{n.sol_minutes} min", numeric=True, explain="Sleep-onset latency: minutes to fall asleep"
    ),
    Column("Wakes", lambda n: str(n.awakenings), numeric=True, explain="Number of awakenings"),
    Column("WASO", lambda n: f"{n.waso_minutes} min", numeric=True, explain="Wake after sleep onset (minutes)"),
    Column("Woke", lambda n: n.final_wake, explain="Final awakening"),
    Column("Up", lambda n: n.out_of_bed, explain="Out of bed"),
    Column("Quality", _quality, explain="Sleep quality, 1 very poor – 5 very good"),
    Column("TIB", lambda n: hours(n.tib_minutes), numeric=True, explain="Time in bed: out of bed − into bed"),
    Column(
        "TST",
        lambda n: hours(n.tst_minutes),
        numeric=True,
        explain="Total sleep time: (final wake − lights out) − SOL − WASO",
    ),
    Column(
        "SE",
        lambda n: se_text(n.efficiency),
        numeric=True,
        colour=lambda n: se_colour(n.efficiency),
        explain=f"Sleep efficiency: TST / TIB × 100 (target ≥ {programme.settings().se_target_pct:g} %)",
    ),
    Column("Note", lambda n: (n.note or "").replace("\n", " "), stretch=True),
)

WEEK_COLUMNS = (
    Column("Week of", lambda w: f"{w.week_start:%d %b %Y}"),
    Column("Nights", lambda w: str(w.nights), numeric=True),
    Column("TST", lambda w: hours(w.tst_minutes), numeric=True, explain="Mean total sleep time"),
    Column(
        "SE",
        lambda w: se_text(w.efficiency),
        numeric=True,
        colour=lambda w: se_colour(w.efficiency),
        explain="Mean sleep efficiency",
    ),
    Column(
        "SOL",
        lambda w: "—" if w.sol_minutes is None else f"{w.sol_minutes:.0f} min",
        numeric=True,
        explain="Mean sleep-onset latency",
    ),
    Column(
        "WASO",
        lambda w: "—" if w.waso_minutes is None else f"{w.waso_minutes:.0f} min",
        numeric=True,
        stretch=True,
        explain="Mean wake after sleep onset",
    ),
)


def diary_summary(weeks: list[SleepWeek]) -> str:
    if not weeks:
        return ""
    last = weeks[-1]
    text = f"Week of {last.week_start:%d %b}: {hours(last.tst_minutes)} sleep, efficiency {se_text(last.efficiency)}"
    if len(weeks) > 1 and weeks[0].efficiency is not None and last.efficiency is not None:
        change = last.efficiency - weeks[0].efficiency
        points = round(abs(change))
        text += f" ({'+' if change >= 0 else '−'}{points} percentage point{'s' if points != 1 else ''} since the first week)"
    return text


class SleepTrendCard(Card):
    """Efficiency and total sleep per night with the programme's target, and weekly means."""

    def __init__(self) -> None:
        super().__init__("Sleep diary: weekly means", object_name="card_sleep_weeks")
        row = QHBoxLayout()
        self.weeks = RecordTable(WEEK_COLUMNS, max_rows=8)
        self.weeks.setObjectName("table_sleep_weeks")
        self.weeks.setAccessibleName("Sleep diary weekly means")
        self.weeks.setMinimumWidth(360)
        left = QVBoxLayout()
        left.addWidget(self.weeks)
        left.addStretch(1)
        row.addLayout(left, 1)
        self.chart = SmallChart(height=200, y_label="efficiency %", name="Sleep efficiency per night and weekly mean")
        self.chart.add_legend()
        row.addWidget(self.chart, 1)
        self.empty = muted("No diary nights recorded yet.")
        self.body.addWidget(self.empty)
        self.content = QWidget()
        self.content.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.body.addWidget(self.content)
        # The diary's SE and WASO definitions vary between sources: said where they are shown.
        self.caveat = muted(" ".join(f"Unverified: {t}" for t in instruments.get("sleep_diary").unverified))
        self.caveat.setObjectName("sleep_diary_caveat")
        self.caveat.setWordWrap(True)
        self.body.addWidget(self.caveat)

    def set_record(self, record: PatientRecord) -> None:
        nights = list(record.sleep_nights)
        weeks = sleep_diary.weekly_means(nights)
        self.weeks.set_rows(list(reversed(weeks)))
        self.summary.setText(diary_summary(weeks))
        self.empty.setVisible(not nights)
        self.content.setVisible(bool(nights))
        self.chart.reset()
        if nights:
            target = programme.settings().se_target_pct
            self.chart.band(target, 100, colour=palette.BETTER)
            self.chart.line(
                [n.night_of for n in nights],
                [n.efficiency for n in nights],
                colour="#9bb7d4",
                name="per night",
                symbol="o",
            )
            # A week's mean sits mid-week (Thursday), among the nights it summarises.
            self.chart.line(
                [w.week_start + dt.timedelta(days=3) for w in weeks],
                [w.efficiency for w in weeks],
                colour="#2b6cb0",
                name="weekly mean",
                symbol="s",
            )
            low = min([n.efficiency for n in nights if n.efficiency is not None] + [target])
            self.chart.setYRange(max(0, low - 10), 100, padding=0)


class SleepDiaryPart(QWidget):
    def __init__(self, context: AppContext):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.trend = SleepTrendCard()
        self.nights = RecordListCard(
            "Sleep diary",
            NIGHT,
            NIGHT_COLUMNS,
            rows=lambda record: sorted(record.sleep_nights, key=lambda n: n.night_of, reverse=True),
            context=context,
            discipline="sleep",
            empty="No diary nights recorded yet.",
            max_rows=10,
            summary=lambda _record, rows: f"{len(rows)} night{'s' if len(rows) != 1 else ''}" if rows else "",
        )
        layout.addWidget(self.trend)
        layout.addWidget(self.nights)

    def set_record(self, record: PatientRecord) -> None:
        self.trend.set_record(record)
        self.nights.set_record(record)
