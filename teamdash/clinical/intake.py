"""The baseline checklist of an episode of care: the measures each discipline takes at
intake (``baseline_instruments`` in resources/disciplines.toml), and which of them are
still due. A measure counts as recorded when any of its alternatives was taken on or
after the episode's start; until then it is due.

Pure: measurement facts in, frozen dataclasses out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from teamdash.clinical import disciplines, instruments
from teamdash.clinical.disciplines import DisciplineDef


@dataclass(frozen=True)
class BaselineItem:
    alternatives: tuple[str, ...]  # instrument ids, any one of which will do
    recorded_instrument: str | None  # the one recorded first this episode
    recorded_on: dt.date | None

    @property
    def due(self) -> bool:
        return self.recorded_on is None

    @property
    def label(self) -> str:
        """'ODI or RMDQ'; the recorded alternative once there is one."""
        if self.recorded_instrument is not None:
            return instruments.get(self.recorded_instrument).short_name
        return " or ".join(instruments.get(i).short_name for i in self.alternatives)


@dataclass(frozen=True)
class DisciplineBaseline:
    discipline: DisciplineDef
    items: tuple[BaselineItem, ...]

    @property
    def due(self) -> tuple[BaselineItem, ...]:
        return tuple(i for i in self.items if i.due)

    @property
    def complete(self) -> bool:
        return not self.due


@dataclass(frozen=True)
class BaselineChecklist:
    episode_start: dt.date
    disciplines: tuple[DisciplineBaseline, ...]

    @property
    def due_count(self) -> int:
        return sum(len(d.due) for d in self.disciplines)

    @property
    def complete(self) -> bool:
        return self.due_count == 0

    def due_text(self) -> str:
        """'PT: ODI or RMDQ, PSFS · Sleep: ISI' (empty when complete)."""
        return " · ".join(
            f"{d.discipline.short}: {', '.join(i.label for i in d.due)}" for d in self.disciplines if d.due
        )


def checklist(measured: Iterable[tuple[str, dt.date | dt.datetime]], episode_start: dt.date) -> BaselineChecklist:
    """``measured``: (instrument id, when taken) of the patient's measurements, any order,
    any episode; only those on or after ``episode_start`` count."""
    first: dict[str, dt.date] = {}
    for instrument_id, taken in measured:
        day = taken.date() if isinstance(taken, dt.datetime) else taken
        if day >= episode_start and (instrument_id not in first or day < first[instrument_id]):
            first[instrument_id] = day
    out = []
    for discipline in disciplines.all_disciplines():
        items = []
        for alternatives in discipline.baseline_instruments:
            done = sorted((first[i], i) for i in alternatives if i in first)
            items.append(BaselineItem(alternatives, done[0][1] if done else None, done[0][0] if done else None))
        if items:
            out.append(DisciplineBaseline(discipline, tuple(items)))
    return BaselineChecklist(episode_start, tuple(out))
