"""Nutrition: weight, BMI and waist over the episode. Weight is the first input of each
BMI measurement (weight kg, height cm), so the three trends come from the measures the
team already records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtWidgets import QGridLayout, QLabel

from teamdash.clinical import instruments
from teamdash.services.chart import PatientRecord
from ui.widgets import palette
from ui.widgets.cards import Card, muted
from ui.widgets.charts import SmallChart


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    unit: str
    decimals: int
    points: tuple[tuple[dt.datetime, float], ...]

    def headline(self) -> str:
        if not self.points:
            return "not recorded"
        latest = self.points[-1][1]
        text = f"{latest:.{self.decimals}f} {self.unit}"
        if len(self.points) > 1:
            change = latest - self.points[0][1]
            sign = "+" if change > 0 else ("−" if change < 0 else "±")
            text += f"  ({sign}{abs(change):.{self.decimals}f} since {self.points[0][0]:%d %b %Y})"
        return text


def body_trends(record: PatientRecord) -> list[Trend]:
    start = record.patient.episode_start
    bmi = [m for m in record.series("bmi") if m.taken_at.date() >= start]
    waist = [m for m in record.series("waist") if m.taken_at.date() >= start]
    weight = [(m.taken_at, float(m.responses[0])) for m in bmi if m.responses and m.responses[0] is not None]
    return [
        Trend("weight", "Weight", "kg", 1, tuple(weight)),
        Trend("bmi", "BMI", "kg/m²", 1, tuple((m.taken_at, m.total) for m in bmi if m.total is not None)),
        Trend("waist", "Waist", "cm", 0, tuple((m.taken_at, m.total) for m in waist if m.total is not None)),
    ]


class BodyMeasuresCard(Card):
    def __init__(self) -> None:
        super().__init__("Weight, BMI and waist", object_name="card_body_measures")
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        self.headlines: dict[str, QLabel] = {}
        self.charts: dict[str, SmallChart] = {}
        for column, (key, title, unit) in enumerate(
            (("weight", "Weight", "kg"), ("bmi", "BMI", "kg/m²"), ("waist", "Waist", "cm"))
        ):
            label = QLabel(f"<b>{title}</b>")
            headline = muted()
            headline.setObjectName(f"body_{key}")
            chart = SmallChart(height=150, y_label=unit, min_width=170, name=f"{title} over time")
            grid.addWidget(label, 0, column)
            grid.addWidget(headline, 1, column)
            grid.addWidget(chart, 2, column)
            self.headlines[key], self.charts[key] = headline, chart
        self.body.addLayout(grid)

    def set_record(self, record: PatientRecord) -> None:
        for trend in body_trends(record):
            self.headlines[trend.key].setText(trend.headline())
            chart = self.charts[trend.key]
            chart.reset()
            if trend.key == "bmi":
                self._bmi_bands(chart)
            if trend.points:
                chart.line([t for t, _ in trend.points], [v for _, v in trend.points], colour="#c0752a")
                values = [v for _, v in trend.points]
                pad = max(1.0, (max(values) - min(values)) * 0.25)
                chart.setYRange(min(values) - pad, max(values) + pad, padding=0)

    @staticmethod
    def _bmi_bands(chart: SmallChart) -> None:
        """The WHO 'Normal weight' band behind the BMI line, as the definition gives it."""
        normal = next((b for b in instruments.get("bmi").bands if b.severity == 0), None)
        if normal is not None:
            chart.band(normal.low, normal.high, colour=palette.BETTER)
