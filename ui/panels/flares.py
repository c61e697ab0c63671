"""The flare / setback log: date, severity, suspected trigger, what helped, days to
recover. The programme teaches patients to manage fluctuations; the team reviews them."""

from __future__ import annotations

from statistics import median

from teamdash.clinical import programme
from teamdash.services.chart import PatientRecord
from teamdash.services.flares import FlareResult
from ui.context import AppContext
from ui.dialogs.kinds import FLARE
from ui.panels.record_list import RecordListCard
from ui.widgets import palette
from ui.widgets.table import Column


def severity_colour(severity: int) -> str:
    steps = palette.SEVERITY_STEPS
    return steps[min(len(steps) - 1, severity * len(steps) // 11)]


def flare_summary(record: PatientRecord, rows: list[FlareResult]) -> str:
    if not rows:
        return ""
    recent = programme.count_recent_flares((f.started_on for f in rows), record.today)
    recovered = [f.days_to_recover for f in rows if f.days_to_recover is not None]
    ongoing = sum(1 for f in rows if f.days_to_recover is None)
    parts = [f"{recent} in the last {programme.settings().recent_flare_days} days"]
    if recovered:
        parts.append(f"median recovery {median(recovered):g} days")
    if ongoing:
        parts.append(f"{ongoing} not yet recovered")
    return " · ".join(parts)


COLUMNS = (
    Column("Started", lambda f: f"{f.started_on:%d %b %Y}"),
    Column("Severity", lambda f: f"{f.severity}/10", numeric=True, colour=lambda f: severity_colour(f.severity)),
    Column("Suspected trigger", lambda f: (f.suspected_trigger or "—").replace("\n", " "), stretch=True),
    Column("What helped", lambda f: (f.what_helped or "—").replace("\n", " "), stretch=True),
    Column(
        "Recovered in",
        lambda f: "ongoing" if f.days_to_recover is None else f"{f.days_to_recover} days",
        numeric=True,
        colour=lambda f: palette.OVERDUE if f.days_to_recover is None else None,
    ),
)


class FlaresSection(RecordListCard):
    def __init__(self, context: AppContext):
        super().__init__(
            "Flares and setbacks",
            FLARE,
            COLUMNS,
            rows=lambda record: sorted(record.flares, key=lambda f: f.started_on, reverse=True),
            context=context,
            empty="No flares logged.",
            summary=flare_summary,
            max_rows=6,
        )
