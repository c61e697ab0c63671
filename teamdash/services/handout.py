"""The patient's progress handout as plain data: what changed in words and simple
before/now figures, their goals and where they stand, the next steps agreed, what to do
in a flare, and who to contact.

Built from a check-in summary and the team's sign-off; every sentence comes from
``resources/handout.toml`` (no scale names, no abbreviations) or from what the team
wrote. Supporters are named only when the patient chose it (``Supporter.on_handout``).
In privacy mode the patient's name is left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from teamdash import resources
from teamdash.clinical import instruments
from teamdash.services.checkin_summary import CheckinSummary, MeasureRow, Reading, Signoff

FILE = "handout.toml"


@dataclass(frozen=True)
class HandoutMeasure:
    instrument: str
    title: str
    sentence: str  # "You can now walk 520 metres in six minutes, up from 440 metres."
    scale: str  # what the numbers mean
    before: float
    now: float
    before_text: str  # "440 metres"
    now_text: str
    before_label: str  # "At the start (Mar 2026)"
    now_label: str
    chart_min: float
    chart_max: float
    higher_is_better: bool
    direction: str  # "better" / "worse" / "same"


@dataclass(frozen=True)
class HandoutGoal:
    text: str
    status: str  # in words: "Working on it", "Achieved"
    progress: int | None
    progress_text: str | None  # "about 60 in 100 of the way there"


@dataclass(frozen=True)
class Handout:
    clinic_id: str
    patient_name: str | None  # None in privacy mode
    date: dt.date
    title: str
    lead: str
    measures: tuple[HandoutMeasure, ...]
    sleep: tuple[str, ...]  # sentences about the sleep diary, empty without one
    sleep_title: str
    goals_title: str
    goals: tuple[HandoutGoal, ...]
    goals_empty: str
    next_steps_title: str
    next_steps: tuple[str, ...]  # the plan the team agreed, one step a line
    next_review: str | None
    flare_title: str
    flare_advice: tuple[str, ...]
    flare_helped: str | None  # what helped this patient before, from their flare log
    urgent: str
    contacts_title: str
    contacts: tuple[str, ...]

    def text(self) -> str:
        """Every sentence of the handout, for checks and for copying."""
        parts = [self.title, self.lead]
        for m in self.measures:
            parts += [m.title, m.sentence, m.scale, m.before_label, m.now_label]
        parts += [self.sleep_title, *self.sleep, self.goals_title]
        for g in self.goals:
            parts += [g.text, g.status, g.progress_text or ""]
        parts += [self.next_steps_title, *self.next_steps, self.next_review or ""]
        parts += [self.flare_title, *self.flare_advice, self.flare_helped or "", self.urgent]
        parts += [self.contacts_title, *self.contacts]
        return "\n".join(p for p in parts if p)


@cache
def wording() -> Mapping:
    return resources.load_toml(FILE)


def _number(row: MeasureRow, value: float) -> str:
    decimals = row.decimals if abs(value - round(value)) > 1e-9 else 0
    return f"{value:.{decimals}f}"


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}".strip()


def _measure(row: MeasureRow, words: Mapping, start: Reading, now: Reading, labels: Mapping) -> HandoutMeasure:
    unit = words.get("unit", "")
    before_text, now_text = _with_unit(_number(row, start.value), unit), _with_unit(_number(row, now.value), unit)
    verdict = row.since_baseline
    direction = verdict.direction if verdict and verdict.direction in ("better", "worse") else "same"
    sentence = words[direction].format(now=now_text, before=before_text)
    inst = instruments.get(row.instrument)
    low = float(words.get("chart_min", inst.total_min if inst.total_min is not None else 0))
    high = float(words.get("chart_max", inst.total_max if inst.total_max is not None else max(start.value, now.value)))
    high = max(high, start.value, now.value)
    return HandoutMeasure(
        instrument=row.instrument,
        title=words["title"],
        sentence=sentence,
        scale=words.get("scale", ""),
        before=start.value,
        now=now.value,
        before_text=before_text,
        now_text=now_text,
        before_label=f"{labels['start_label']} ({start.taken_on:%b %Y})",
        now_label=f"{labels['now_label']} ({now.taken_on:%b %Y})",
        chart_min=min(low, start.value, now.value),
        chart_max=high,
        higher_is_better=row.direction == "higher_better",
        direction=direction,
    )


def _changed_meaningfully(row: MeasureRow) -> bool:
    v = row.since_baseline
    return v is not None and (
        v.mcid in ("met", "meaningful worsening") or v.reliable in ("reliable improvement", "reliable deterioration")
    )


def _sleep(summary: CheckinSummary, words: Mapping) -> tuple[str, ...]:
    s = summary.sleep
    if s is None or s.efficiency_last is None:
        return ()
    before = ""
    if s.efficiency_first is not None and len(s.weeks) > 1 and round(s.efficiency_first) != round(s.efficiency_last):
        before = words["efficiency_before"].format(before=f"{s.efficiency_first:.0f}")
    return (words["efficiency"].format(now=f"{s.efficiency_last:.0f}", before=before), words["target"])


def _steps(plan: str | None) -> tuple[str, ...]:
    lines = [line.strip().lstrip("-•*").strip() for line in (plan or "").splitlines()]
    return tuple(line for line in lines if line)


def build_handout(
    summary: CheckinSummary, signoff: Signoff | None = None, *, privacy: bool = False, today: dt.date | None = None
) -> Handout:
    """The handout for ``summary``: measures with plain wording and a start and a current
    value, goals, the plan agreed (``signoff``), flare advice and contacts."""
    w = wording()
    intro, measure_words = w["intro"], w["measure"]
    measures = []
    for row in summary.measures:
        words = measure_words.get(row.instrument)
        if words is None or row.baseline is None or row.current is None:
            continue
        if row.baseline.taken_on == row.current.taken_on and row.baseline.value == row.current.value:
            continue  # measured once: nothing to compare yet
        if words.get("show", "always") == "when_changed" and not _changed_meaningfully(row):
            continue
        measures.append(_measure(row, words, row.baseline, row.current, intro))
    goal_words = w["goals"]
    goals = tuple(
        HandoutGoal(
            text=g.text,
            status=goal_words.get(g.status, g.status.replace("_", " ").capitalize()),
            progress=g.progress if g.status == "active" else None,
            progress_text=goal_words["progress"].format(progress=g.progress)
            if g.status == "active" and g.progress is not None
            else None,
        )
        for g in summary.goals
        if g.status != "discontinued"
    )
    steps = w["next_steps"]
    plan = signoff.plan if signoff is not None else None
    next_date = signoff.next_checkin if signoff is not None else summary.patient.next_checkin
    helped = summary.what_helped
    flare = w["flare"]
    contacts_words = w["contacts"]
    contacts = []
    if summary.patient.case_manager:
        contacts.append(contacts_words["case_manager"].format(name=summary.patient.case_manager))
    team = [f"{a.clinician} ({a.discipline_name.lower()})" for a in summary.attendance if a.clinician]
    if team:
        contacts.append(contacts_words["team"].format(names=", ".join(team)))
    chosen = [s for s in summary.supporters if s.on_handout]
    if chosen:
        # De-identified (privacy) handouts name nobody: supporters by relationship only.
        names = [f"your {s.relationship}" if privacy else f"{s.name} ({s.relationship})" for s in chosen]
        contacts.append(contacts_words["supporters"].format(names=", ".join(names)))
    return Handout(
        clinic_id=summary.patient.clinic_id,
        patient_name=None if privacy else summary.patient.full_name,
        date=today or (signoff.held_on if signoff is not None else summary.period.end),
        title=intro["title"],
        lead=intro["lead"],
        measures=tuple(measures),
        sleep=_sleep(summary, w["sleep"]),
        sleep_title=w["sleep"]["title"],
        goals_title=goal_words["title"],
        goals=goals,
        goals_empty=goal_words["empty"],
        next_steps_title=steps["title"],
        next_steps=_steps(plan) or (steps["empty"],),
        next_review=steps["next_review"].format(date=f"{next_date:%A %d %B %Y}") if next_date else None,
        flare_title=flare["title"],
        flare_advice=tuple(flare["advice"]),
        flare_helped=flare["helped_before"].format(items="; ".join(helped)) if helped else None,
        urgent=flare["urgent"],
        contacts_title=contacts_words["title"],
        contacts=tuple(contacts),
    )
