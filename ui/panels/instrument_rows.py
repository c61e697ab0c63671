"""What the instruments part of a discipline panel shows, per instrument: latest value
and band, baseline, the value the team saw at the last check-in, the changes (with MCID
and reliable-change verdicts), the history for the sparkline and the next due date.

Plain data from a ``PatientRecord``; no Qt, so the rules are testable on their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from teamdash.clinical import analytics, instruments
from teamdash.clinical.analytics import Change, Point
from teamdash.clinical.instruments import Instrument
from teamdash.services.chart import PatientRecord
from teamdash.services.measurements import MeasurementResult


@dataclass(frozen=True)
class InstrumentRow:
    instrument: Instrument
    latest: MeasurementResult | None
    baseline: MeasurementResult | None
    at_checkin: MeasurementResult | None
    from_baseline: Change | None
    from_checkin: Change | None
    history: tuple[tuple[dt.datetime, float], ...]  # this episode, in time order
    due_on: dt.date | None
    overdue: bool
    count: int  # administrations this episode

    @property
    def recorded(self) -> bool:
        return self.latest is not None


def _point(m: MeasurementResult) -> Point:
    return Point(m.taken_at, m.total, m.id)


def _pick(point: Point | None, by_id: dict[int, MeasurementResult]) -> MeasurementResult | None:
    return by_id[point.id] if point is not None else None


def _change(inst: Instrument, before: MeasurementResult | None, after: MeasurementResult | None) -> Change | None:
    if before is None or after is None or before.id == after.id:
        return None
    return analytics.change(inst, before.total, after.total, band_from=before.band, band_to=after.band)


def instrument_row(record: PatientRecord, instrument_id: str) -> InstrumentRow:
    inst = instruments.get(instrument_id)
    episode = record.patient.episode_start
    series = [m for m in record.series(instrument_id) if m.taken_at.date() >= episode and m.total is not None]
    by_id = {m.id: m for m in series}
    points = [_point(m) for m in series]
    latest = _pick(analytics.latest(points), by_id)
    first = _pick(analytics.baseline(points), by_id)
    checkin = record.last_checkin
    at_checkin = _pick(analytics.at_or_before(points, checkin.held_on), by_id) if checkin else None
    due = analytics.measure_due_date(inst, latest.taken_at) if latest else None
    overdue_after = analytics.measure_overdue_after(inst, latest.taken_at) if latest else None
    return InstrumentRow(
        instrument=inst,
        latest=latest,
        baseline=first,
        at_checkin=at_checkin,
        from_baseline=_change(inst, first, latest),
        from_checkin=_change(inst, at_checkin, latest),
        history=tuple((m.taken_at, m.total) for m in series),
        due_on=due,
        overdue=overdue_after is not None and record.today > overdue_after,
        count=len(series),
    )


def panel_instruments(
    discipline_key_instruments: tuple[str, ...], handled_elsewhere: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The instruments the generic part lists: the discipline's key instruments, minus
    those a special part shows in its own way (the sleep diary's nights)."""
    return tuple(i for i in discipline_key_instruments if i not in handled_elsewhere)


@dataclass(frozen=True)
class ChangeText:
    headline: str  # "−3 (−38 %)"
    verdicts: tuple[str, ...]  # "MCID met", "reliable improvement", "Moderate → Mild"
    tone: str  # "better" / "worse" / "neutral": the colour it is shown in


def _signed(inst: Instrument, points: float) -> str:
    text = f"{abs(points):.{inst.decimals}f}"
    if float(text) == 0:
        return f"±{text}"
    return ("+" if points > 0 else "−") + text


def describe_change(inst: Instrument, change: Change | None) -> ChangeText | None:
    """A change as the team reads it. MCID and reliable change are named separately:
    one says whether it matters to the patient, the other whether it beats noise."""
    if change is None or change.points is None:
        return None
    headline = _signed(inst, change.points)
    if change.percent is not None and abs(change.percent) >= 0.5:
        headline += f" ({'+' if change.percent > 0 else '−'}{abs(change.percent):.0f} %)"
    verdicts = []
    if change.mcid_met:
        verdicts.append("MCID met")
    elif change.meaningful_deterioration:
        verdicts.append("meaningful worsening")
    elif change.mcid_met is False:
        verdicts.append("below MCID")
    if change.rci_verdict:
        verdicts.append(change.rci_verdict)
    if change.band_movement:
        verdicts.append(change.band_movement)
    tone = change.verdict if change.verdict in ("better", "worse") else "neutral"
    return ChangeText(headline, tuple(verdicts), tone)
