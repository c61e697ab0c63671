"""The check-in summary in words: the phrases the PDF, the screen and the plain-text
copy share ("−22 (−48 %)", "MCID met", "reliable improvement"), and the whole summary
as plain text for the clinic's record system (no markup, lines under 100 characters,
pasted as it is into a note)."""

from __future__ import annotations

import datetime as dt
import textwrap

from teamdash.clinical import disciplines
from teamdash.errors import NotFound
from teamdash.services.checkin_summary import (
    ActionRow,
    CheckinSummary,
    FlareRow,
    GoalRow,
    GradedActivityRow,
    MeasureRow,
    PatientHeader,
    Reading,
    Signoff,
    Verdict,
)

WIDTH = 100
NOT_ASSESSED = "reliability not assessed"  # the measure has no verified reliability figure


def day(value: dt.date | None) -> str:
    return f"{value:%d %b %Y}" if value else "–"


def patient_label(patient: PatientHeader, *, privacy: bool) -> str:
    """Who the document is about. In privacy (de-identified) mode: the clinic ID only,
    never the name, initials or date of birth."""
    if privacy:
        return patient.clinic_id
    return f"{patient.full_name} ({patient.clinic_id})"


def patient_facts(patient: PatientHeader, *, privacy: bool) -> list[str]:
    facts = []
    if not privacy:
        facts.append(f"born {day(patient.date_of_birth)}")
    if patient.age is not None:
        facts.append(f"{patient.age} years")
    if patient.sex and patient.sex != "unknown":
        facts.append(patient.sex)
    facts.append(patient.status.replace("_", " "))
    if patient.case_manager:
        facts.append(f"case manager {patient.case_manager}")
    if patient.programme_start:
        weeks = f", {patient.weeks_in_programme} weeks" if patient.weeks_in_programme is not None else ""
        facts.append(f"in the programme since {day(patient.programme_start)}{weeks}")
    return facts


def reading(r: Reading | None, *, with_day: bool = True) -> str:
    if r is None:
        return "–"
    text = r.text
    if with_day:
        text += f" ({r.taken_on:%d %b %Y})"
    return text


def change_headline(row: MeasureRow, v: Verdict) -> str:
    """'−22 (−48 %)': the change in the measure's own units, and in percent of where it started."""
    text = row.format_change(v.points)
    if v.percent is not None and abs(v.percent) >= 0.5:
        text += f" ({'+' if v.percent > 0 else '−'}{abs(v.percent):.0f} %)"
    return text


def verdict_phrases(v: Verdict, *, with_reliability: bool = True) -> list[str]:
    """MCID and reliable change named separately (one says whether it matters to the
    patient, the other whether it is more than measurement noise), then band movement."""
    out = []
    if v.direction in ("better", "worse"):
        out.append(v.direction)
    elif v.direction == "unchanged":
        out.append("unchanged")
    if v.mcid == "met":
        out.append("MCID met")
    elif v.mcid == "meaningful worsening":
        out.append("meaningful worsening")
    elif v.mcid == "not met":
        out.append("below MCID")
    if with_reliability:
        out.append(v.reliable if v.reliable else NOT_ASSESSED)
    if v.band_movement:
        out.append(v.band_movement)
    return out


def goal_status(goal: GoalRow) -> str:
    status = goal.status.replace("_", " ")
    if goal.past_due:
        status += f", past due ({day(goal.due_on)})"
    elif goal.due_on and goal.status == "active":
        status += f", due {day(goal.due_on)}"
    return status


def reference_phrase(summary: CheckinSummary) -> str:
    """'at the check-in of 06 Nov 2026', or 'before 01 Oct 2026' for a chosen period."""
    period = summary.period
    if period.after_checkin is not None:
        return f"at the check-in of {day(period.after_checkin)}"
    return f"before {day(period.start)}"


def reliability_note(summary: CheckinSummary) -> str:
    """Reliable change is judged only where a verified reliability figure exists; say
    which measures those are, once, instead of 'not assessed' on every other line."""
    assessed = [
        m.short_name for m in summary.measures if any(v and v.reliable for v in (m.since_baseline, m.since_start))
    ]
    if not assessed:
        return "Reliable change (RCI) is not assessed: none of these measures has a verified reliability figure."
    return (
        "Reliable change (RCI) is assessed only where a verified reliability figure exists: "
        + ", ".join(assessed)
        + ". MCID: minimal clinically important difference."
    )


def action_line(a: ActionRow) -> str:
    parts = [a.text]
    if a.owner:
        parts.append(a.owner)
    if a.completed_on:
        parts.append(f"{a.status} {day(a.completed_on)}")
    elif a.due_on:
        parts.append(f"due {day(a.due_on)}" + (" (overdue)" if a.overdue else ""))
    return " — ".join(parts)


def discipline_name(code: str) -> str:
    try:
        return disciplines.get(code).name
    except NotFound:  # a discipline removed from the resources still prints its code
        return code


def _heading(title: str) -> list[str]:
    return ["", title.upper(), "-" * len(title)]


def _wrap(text: str, indent: str = "") -> list[str]:
    lines = []
    for paragraph in (text or "").splitlines() or [""]:
        lines += textwrap.wrap(paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent.rstrip()]
    return lines


def summary_text(summary: CheckinSummary, signoff: Signoff | None = None, *, privacy: bool = False) -> str:
    """The whole summary as plain text (UTF-8, no markup)."""
    p, period = summary.patient, summary.period
    out = [f"Check-in summary: {patient_label(p, privacy=privacy)}"]
    out += _wrap("; ".join(patient_facts(p, privacy=privacy)))
    out.append(f"Period: {period.label}")
    if signoff is not None:
        out.append(f"Check-in held: {day(signoff.held_on)}")
        if signoff.attendees:
            out += _wrap("Attendees: " + ", ".join(signoff.attendees))
    out.append(f"Prepared: {summary.generated_at:%d %b %Y %H:%M}")

    if summary.flags:
        out += _heading("Active flags")
        for f in summary.flags:
            out += _wrap(f"! {f.reason}", "")
    out += _heading("Measures")
    if not summary.measures:
        out.append("No measures recorded in this episode.")
    for row in summary.measures:
        out.append(f"{row.name} ({row.short_name})")
        out.append(
            f"  baseline {reading(row.baseline)}; {reference_phrase(summary)}: {reading(row.at_start)}; "
            f"now {reading(row.current)}"
        )
        for label, v in (("since baseline", row.since_baseline), ("since the last check-in", row.since_start)):
            if v is not None:
                phrases = verdict_phrases(v, with_reliability=False) + ([v.reliable] if v.reliable else [])
                out += _wrap(f"{label}: {change_headline(row, v)}, {', '.join(phrases)}", "  ")
        bands = [r.band for r in (row.baseline, row.current) if r and r.band]
        if bands and not (row.since_baseline and row.since_baseline.band_movement):
            out.append(f"  band: {bands[-1]}")
        if row.taken_in_period == 0:
            out.append("  not measured in this period")
    if summary.measures:
        out += _wrap(reliability_note(summary))

    out += _heading("Goals")
    if not summary.goals:
        out.append("No goals set.")
    for g in summary.goals:
        progress = f"{g.progress} %" if g.progress is not None else "progress not recorded"
        out += _wrap(f"[{discipline_name(g.discipline)}] {g.text} — {goal_status(g)}; {progress}", "")

    out += _heading("Sessions in the period")
    if not summary.attendance:
        out.append("No sessions recorded.")
    for a in summary.attendance:
        rate = f"; attendance {a.rate * 100:.0f} %" if a.rate is not None else ""
        booked = f"; next booked {day(a.next_booked)}" if a.next_booked else ""
        out.append(
            f"{a.discipline_name}: {a.attended} attended ({a.minutes} min), {a.missed} missed, "
            f"{a.cancelled} cancelled{rate}{booked}"
        )

    out += _heading("Graded activity and courses")
    if not summary.graded_activity and not summary.courses:
        out.append("None recorded.")
    for plan in summary.graded_activity:
        out += _wrap(graded_line(plan))
        if plan.weeks_in_period:
            out.append(f"  this period: {graded_period_line(plan)}")
    for c in summary.courses:
        practice = (
            f"; practice {c.practice_minutes_per_week:.0f} min a week"
            if c.practice_minutes_per_week is not None
            else ""
        )
        out.append(f"{c.kind}: {c.modules_done} of {c.modules_total} modules, {c.status}{practice}")

    out += _heading("Sleep")
    out += sleep_lines(summary)

    out += _heading("Flares")
    out += _wrap(flare_count_line(summary))
    for flare in summary.flares:
        out += _wrap(f"{day(flare.started_on)}: {flare_details(flare)}", "  ")

    out += _heading("Return to work")
    out += _wrap(rtw_line(summary))

    out += _heading("Action items")
    if not summary.actions_open and not summary.actions_completed:
        out.append("None.")
    for action in summary.actions_open:
        out += _wrap(f"open: {action_line(action)}")
    for action in summary.actions_completed:
        out += _wrap(f"done: {action_line(action)}")

    if summary.previous is not None:
        out += _heading(f"Plan agreed at the check-in of {day(summary.previous.held_on)}")
        out += _wrap(summary.previous.plan or "No plan was recorded.")

    if signoff is not None:
        out += _heading("Narrative")
        out += _wrap(signoff.narrative or "–")
        out += _heading("Plan for the next period")
        out += _wrap(signoff.plan or "–")
        out.append(f"Next check-in: {day(signoff.next_checkin)}")
    lines = []
    for line in out:  # every line fits the record system's width, indentation kept
        indent = line[: len(line) - len(line.lstrip())]
        lines += _wrap(line.strip(), indent) if len(line) > WIDTH else [line]
    return "\n".join(lines).strip() + "\n"


def graded_line(g: GradedActivityRow) -> str:
    return (
        f"{g.activity}: {g.current_level:g} {g.unit} now (baseline {g.baseline_tolerance:g}, target "
        f"{g.target_level:g}, +{g.weekly_increment:g} a week), {g.progress} % of the way; {g.status}"
    )


def graded_period_line(g: GradedActivityRow) -> str:
    share = f"{g.achieved_share * 100:.0f} % of planned" if g.achieved_share is not None else "not logged"
    adherence = f"; home exercise adherence {g.mean_adherence:.0f} %" if g.mean_adherence is not None else ""
    return f"{len(g.weeks_in_period)} weeks logged, achieved {share}{adherence}"


def flare_details(f: FlareRow) -> str:
    details = [f"severity {f.severity}/10"]
    if f.suspected_trigger:
        details.append(f"trigger: {f.suspected_trigger}")
    if f.what_helped:
        details.append(f"helped: {f.what_helped}")
    if f.days_to_recover is not None:
        details.append(f"recovered in {f.days_to_recover} days")
    return "; ".join(details)


def sleep_lines(summary: CheckinSummary) -> list[str]:
    s = summary.sleep
    if s is None:
        return ["No sleep diary kept."]
    lines = [f"Sleep diary: {s.nights_in_period} nights logged in the period."]
    if s.efficiency_last is not None:
        trend = f", {s.trend}" if s.trend else ""
        first = (
            f" (from {s.efficiency_first:.0f} %)"
            if s.efficiency_first is not None and len(s.weeks) > 1 and s.trend
            else ""
        )
        lines.append(
            f"Sleep efficiency, weekly mean: {s.efficiency_last:.0f} %{first}{trend}; target {s.target:.0f} % or more."
        )
    for w in s.weeks:
        eff = f"{w.efficiency:.0f} %" if w.efficiency is not None else "–"
        tst = f", {w.total_sleep_minutes / 60:.1f} h asleep" if w.total_sleep_minutes is not None else ""
        lines.append(f"  week of {day(w.week_start)}: {eff}{tst} ({w.nights} nights)")
    return lines


def flare_count_line(summary: CheckinSummary) -> str:
    n = len(summary.flares)
    text = f"{n} flare{'s' if n != 1 else ''} in the period"
    text += f" ({summary.flares_before} in the {summary.period.days} days before)."
    return text


def rtw_line(summary: CheckinSummary) -> str:
    r = summary.rtw
    if r is None:
        return "No return-to-work plan recorded."
    text = f"{r.label} since {day(r.since)}"
    if r.hours_per_week is not None:
        text += f", {r.hours_per_week:g} hours a week"
    if r.modified_duties:
        text += f"; modified duties: {r.modified_duties}"
    start = summary.rtw_at_start
    if start is not None and start.phase != r.phase:
        text += f" (was {start.label} at the start of the period)"
    elif start is not None:
        text += " (unchanged in the period)"
    return text + "."


def draft_narrative(summary: CheckinSummary) -> str:
    """A first draft of the narrative from the summary, for the case manager to edit:
    the measures that changed meaningfully or reliably since the last check-in (or the
    baseline, without one), attendance, flares, return to work and open flags."""
    since_checkin = summary.period.after_checkin is not None
    where = f"Since the check-in of {day(summary.period.after_checkin)}" if since_checkin else "Since the baseline"
    notable, steady = [], []
    for row in summary.measures:
        v = row.since_start if since_checkin else row.since_baseline
        before = row.at_start if since_checkin else row.baseline
        if v is None or before is None or row.current is None:
            continue
        meaningful = v.mcid in ("met", "meaningful worsening") or v.reliable in (
            "reliable improvement",
            "reliable deterioration",
        )
        if meaningful:
            detail = [p for p in verdict_phrases(v, with_reliability=False) if p not in ("better", "worse")]
            if v.reliable and v.reliable != "no reliable change":
                detail.append(v.reliable)
            notable.append(
                f"{row.short_name} {v.direction or 'changed'} ({before.text} → {row.current.text}; {', '.join(detail)})"
            )
        elif row.taken_in_period and (v.mcid is not None or v.reliable is not None):
            steady.append(row.short_name)  # judged against a criterion and below it
    sentences = []
    if notable:
        sentences.append(f"{where}: " + "; ".join(notable) + ".")
    else:
        sentences.append(f"{where}: no clinically meaningful or reliable change in the measures.")
    if steady:
        sentences.append("No meaningful or reliable change in " + ", ".join(steady) + ".")
    held = [a for a in summary.attendance if a.attended or a.missed]
    if held:
        missed = sum(a.missed for a in held)
        sentences.append(
            f"Attended {sum(a.attended for a in held)} sessions"
            + (f", missed {missed}" if missed else ", none missed")
            + f" ({', '.join(f'{a.discipline_name} {a.attended}' for a in held)})."
        )
    sentences.append(flare_count_line(summary))
    if summary.rtw is not None:
        sentences.append(f"Return to work: {rtw_line(summary)}")
    if summary.safety_flags:
        sentences.append("Safety flag open: see the flags and the safety protocol.")
    return " ".join(sentences)
