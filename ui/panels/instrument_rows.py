"""How the instruments part of a discipline panel words one measure.

The figures (baseline, value at the last check-in, latest, the changes with their MCID
and reliable-change verdicts, band movement, matched PSFS activities, next due date)
come from the core's progress row (``PatientRecord.progress`` -> ``analytics.progress``),
the same row the per-patient and cohort workbooks and the check-in summary use. This
module only turns it into text. No Qt, so the wording is testable on its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash.clinical import instruments
from teamdash.clinical.analytics import Change, ItemChange, Progress
from teamdash.clinical.instruments import Instrument
from teamdash.services.chart import PatientRecord
from teamdash.services.measurements import MeasurementResult


@dataclass(frozen=True)
class InstrumentRow:
    instrument: Instrument
    progress: Progress
    latest: MeasurementResult | None  # the newest administration (its details, who entered it)
    today: dt.date

    @property
    def recorded(self) -> bool:
        return self.latest is not None

    @property
    def from_baseline(self) -> Change:
        return self.progress.from_baseline

    @property
    def from_checkin(self) -> Change | None:
        return self.progress.from_checkin

    @property
    def count(self) -> int:
        return self.progress.count

    @property
    def due_on(self) -> dt.date | None:
        return self.progress.due_on

    @property
    def overdue(self) -> bool:
        return self.progress.overdue(self.today)

    @property
    def history(self) -> tuple[tuple[dt.datetime, float], ...]:
        return tuple((_moment(p.taken_at), float(p.value)) for p in self.progress.history if p.value is not None)


def _moment(when: dt.date | dt.datetime) -> dt.datetime:
    return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time.min)


def instrument_row(record: PatientRecord, instrument_id: str) -> InstrumentRow:
    progress = record.progress(instrument_id)
    latest = record.measurement(progress.latest.id) if progress.latest else None
    return InstrumentRow(instruments.get(instrument_id), progress, latest, record.today)


@dataclass(frozen=True)
class ChangeText:
    headline: str  # "−3 (−38 %)"
    verdicts: tuple[str, ...]  # "MCID met", "no reliable change", "Moderate → Mild"
    tone: str  # "better" / "worse" / "neutral": the colour it is shown in


def signed(inst: Instrument, points: float) -> str:
    text = f"{abs(points):.{inst.decimals}f}"
    if float(text) == 0:
        return f"±{text}"
    return ("+" if points > 0 else "−") + text


def mcid_text(change: Change) -> str | None:
    if change.mcid_met:
        return "MCID met"
    if change.meaningful_deterioration:
        return "meaningful worsening"
    if change.mcid_met is False:
        return "below MCID"
    return None


def describe_change(inst: Instrument, change: Change | None) -> ChangeText | None:
    """A change as the team reads it. MCID and reliable change stand side by side: one
    says whether it matters to the patient, the other whether it beats measurement
    noise (a 3 -> 2 pain rating meets the 30 % rule but is within noise)."""
    if change is None or change.points is None:
        return None
    headline = signed(inst, change.points)
    if change.percent is not None and abs(change.percent) >= 0.5 and not change.matched_items:
        headline += f" ({'+' if change.percent > 0 else '−'}{abs(change.percent):.0f} %)"
    verdicts = []
    if change.matched_items:
        verdicts.append(f"over {change.matched_items} {inst.item_name_words(change.matched_items)} rated both times")
    mcid = mcid_text(change)
    if mcid:
        verdicts.append(mcid)
    if change.rci_verdict:
        verdicts.append(change.rci_verdict)
    if change.band_movement:
        verdicts.append(change.band_movement)
    tone = change.verdict if change.verdict in ("better", "worse") else "neutral"
    return ChangeText(headline, tuple(verdicts), tone)


def reliability_text(inst: Instrument) -> str:
    """Where the reliable-change verdict comes from, for tooltips."""
    if inst.reliable_change is None:
        return f"{inst.short_name}: no verified reliability figure, so no reliable-change verdict"
    if inst.reliable_change_inclusive:
        return f"{inst.short_name}: reliable change = {inst.reliability_basis} (published criterion)"
    text = (
        f"{inst.short_name}: reliable change beyond {inst.reliable_change:.1f} points "
        f"(Jacobson & Truax at 95 %, from {inst.reliability_basis})"
    )
    if inst.item_reliable_change is not None:
        text += (
            f"; one {inst.item_name_words()} beyond {inst.item_reliable_change:.1f} points "
            f"(from {inst.item_reliability_basis})"
        )
    return text


@dataclass(frozen=True)
class ItemLine:
    """One patient-named item (PSFS activity) of the per-activity table."""

    name: str
    baseline: str
    at_checkin: str
    latest: str
    since_baseline: str
    since_checkin: str
    verdict: str
    tone: str


def _rating(inst: Instrument, value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def describe_items(inst: Instrument, progress: Progress) -> list[ItemLine]:
    """The per-activity rows: each activity named at baseline or latest, its rating then,
    at the last check-in and now, and its change with the single-activity verdict."""
    checkin = {c.name.casefold(): c for c in progress.items_from_checkin}
    lines = []
    for item in progress.items_from_baseline:
        at_checkin = checkin.get(item.name.casefold())
        lines.append(
            ItemLine(
                name=item.name,
                baseline=_rating(inst, item.before),
                at_checkin=_rating(inst, at_checkin.before) if at_checkin else "–",
                latest=_rating(inst, item.after),
                since_baseline=_item_change(inst, item),
                since_checkin=_item_change(inst, at_checkin) if at_checkin else "",
                verdict=item.rci_verdict or _unmatched(inst, item),
                tone=_tone(item),
            )
        )
    return lines


def _item_change(inst: Instrument, item: ItemChange) -> str:
    return "" if item.points is None else signed(inst, item.points)


def _unmatched(inst: Instrument, item: ItemChange) -> str:
    if item.before is None and item.after is not None:
        return f"new {inst.item_name_words()}: no baseline"
    if item.after is None and item.before is not None:
        return "not rated at the latest"
    return ""


def _tone(item: ItemChange) -> str:
    if item.improvement is None or item.points == 0:
        return "neutral"
    return "better" if item.improvement > 0 else "worse"
