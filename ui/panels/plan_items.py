"""Structured plan items of a discipline, by category (nutrition: meal regularity,
hydration, suspected triggers, plan adherence; sleep hygiene; social work: benefits,
financial stressors, community referrals), from the discipline's ``plan_categories``."""

from __future__ import annotations

from teamdash.clinical import disciplines
from teamdash.services.chart import PatientRecord
from teamdash.services.plans import PlanItemResult
from ui.context import AppContext
from ui.dialogs.kinds import PLAN_ITEM, label_of
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.table import Column

STATUS_COLOURS = {
    "done": palette.BETTER,
    "in_progress": "#1f5f99",
    "planned": palette.NEUTRAL,
    "stopped": palette.MUTED,
}


def plan_rows(record: PatientRecord, discipline: str) -> list[PlanItemResult]:
    """In the discipline's category order, open items before finished ones."""
    order = {c: n for n, c in enumerate(disciplines.get(discipline).plan_categories)}
    finished = {"done": 1, "stopped": 2}
    rows = [p for p in record.plan_items if p.category in order]
    return sorted(rows, key=lambda p: (order[p.category], finished.get(p.status, 0), p.started_on))


def _summary(rows: list[PlanItemResult]) -> str:
    if not rows:
        return ""
    open_ = sum(1 for p in rows if p.status in ("planned", "in_progress"))
    rated = [p.adherence_pct for p in rows if p.adherence_pct is not None and p.status != "stopped"]
    text = f"{open_} open of {len(rows)}"
    if rated:
        text += f" · mean adherence {sum(rated) / len(rated):.0f} %"
    return text


COLUMNS = (
    Column("Category", lambda p: p.category_label),
    Column(
        "What",
        lambda p: p.text.replace("\n", " "),
        stretch=True,
        tooltip=lambda p: p.text + (f"\n\n{p.note}" if p.note else ""),
    ),
    Column("Status", lambda p: label_of(p.status), colour=lambda p: STATUS_COLOURS.get(p.status)),
    Column(
        "Adherence",
        lambda p: "—" if p.adherence_pct is None else f"{p.adherence_pct} %",
        progress=lambda p: p.adherence_pct,
    ),
    Column("Since", lambda p: f"{p.started_on:%d %b %Y}"),
    Column("Updated", lambda p: f"{p.updated_on:%d %b %Y}"),
)


class PlanItemsSection(RecordListCard):
    def __init__(self, discipline: str, context: AppContext):
        definition = disciplines.get(discipline)
        categories = ", ".join(disciplines.plan_category_label(c).lower() for c in definition.plan_categories)
        super().__init__(
            definition.plan_title or f"{definition.name} plan",
            PLAN_ITEM,
            COLUMNS,
            rows=lambda record: plan_rows(record, discipline),
            context=context,
            discipline=discipline,
            empty=f"Nothing planned yet ({categories}).",
            summary=lambda _record, rows: _summary(rows),
        )
        self.setObjectName(f"card_plan_items_{discipline}")
