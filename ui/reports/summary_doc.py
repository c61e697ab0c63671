"""The check-in summary and the patient's handout as paged reports (``ui.reports.pdf``):
the same document for the on-screen preview, the PDF and the printer.

In privacy (de-identified) mode neither carries the patient's name, initials or date of
birth: the clinic ID identifies them on every page. A saved check-in shows, item by
item, where today's data differs from what the team signed off."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from html import escape

from teamdash.services import checkin_text as words
from teamdash.services.checkin_summary import CheckinSummary, MeasureRow, Signoff, Verdict
from teamdash.services.handout import Handout
from ui.reports import charts
from ui.reports.pdf import Figure, Report, Units

# Key timelines: two side by side across an A4 or Letter page.
TIMELINE_MM = (84.0, 40.0)
WIDEST_ROW_MM = 2 * TIMELINE_MM[0] + 4  # what the preview must fit side by side
SLEEP_MM = (110.0, 32.0)
HANDOUT_BARS_MM = (165.0, 22.0)
CHANGED_MARK = "⚠"


def _e(text: object) -> str:
    return escape(str(text), quote=False)


def _lines(text: str | None) -> str:
    """Typed text, one paragraph per line (so a page break can fall between them)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return "".join(f"<p>{_e(line)}</p>" for line in lines) or "<p>–</p>"


def _table(units: Units, header: list[str], rows: list[str], widths: list[int] | None = None) -> str:
    cols = ""
    if widths:
        cols = "".join(f'<col width="{w}%">' for w in widths)
    head = "".join(f"<th>{h}</th>" for h in header)
    return (
        f'<table width="100%" cellspacing="0" cellpadding="{units.px(3)}" border="0" '
        f'style="border-collapse: collapse; margin-bottom: {units.px(4)}px;">{cols}'
        f"<thead><tr>{head}</tr></thead>{''.join(rows)}</table>"
    )


def _row(cells: list[str], *, shade: bool = False) -> str:
    colour = ' bgcolor="#f6f8fa"' if shade else ""
    return "<tr>" + "".join(f'<td valign="top"{colour}>{c}</td>' for c in cells) + "</tr>"


def _small(text: str, cls: str = "muted") -> str:
    return f'<small class="{cls}">{text}</small>'


def _reading_cell(row: MeasureRow, reading) -> str:
    if reading is None:
        return _small("–")
    out = f"<b>{_e(reading.text)}</b><br>{_small(_e(f'{reading.taken_on:%d %b %Y}'))}"
    if reading.band:
        out += f"<br>{_small(_e(reading.band), 'neutral')}"
    return out


def _verdict_cell(row: MeasureRow, v: Verdict | None) -> str:
    if v is None:
        return _small("no new value")
    tone = v.direction if v.direction in ("better", "worse") else "neutral"
    phrases = words.verdict_phrases(v, with_reliability=False)
    if v.reliable:
        phrases.append(v.reliable)
    return f'<b class="{tone}">{_e(words.change_headline(row, v))}</b><br>' + _small(_e(", ".join(phrases)), tone)


def _changed_row(text: str, span: int) -> str:
    return (
        f'<tr><td colspan="{span}" bgcolor="#fff4e5"><span class="changed">{CHANGED_MARK} Changed since this '
        f"check-in:</span> {_e(text)}</td></tr>"
    )


def _chart_caption(row: MeasureRow) -> str:
    unit = row.unit if row.unit not in ("", "points") else ""
    return " · ".join(x for x in (unit, _direction_note(row)) if x)


def _direction_note(row: MeasureRow) -> str:
    if row.direction == "higher_better":
        return "higher is better"
    if row.direction == "higher_worse":
        return "lower is better"
    return ""


def summary_report(
    summary: CheckinSummary,
    signoff: Signoff | None = None,
    *,
    privacy: bool = False,
    changes: Mapping[str, str] | None = None,
    draft: bool = False,
) -> Report:
    """The check-in summary as a report. ``signoff`` adds the check-in's attendees,
    narrative and plan; ``changes`` marks what differs today (a saved check-in);
    ``draft`` labels a summary that has not been saved as a check-in yet."""
    changes = changes or {}
    figures: dict[str, Figure] = {}
    for row in summary.key_measures:
        figures[row.instrument] = Figure(
            row.instrument,
            *TIMELINE_MM,
            partial(charts.trend, row=row, period=summary.period, caption=_chart_caption(row)),
            f"{row.short_name} over the episode",
        )
    if summary.sleep is not None and any(w.efficiency is not None for w in summary.sleep.weeks):
        figures["sleep"] = Figure(
            "sleep", *SLEEP_MM, partial(charts.sleep_efficiency, sleep=summary.sleep), "weekly sleep efficiency"
        )
    title = "Check-in summary" + (" (draft, not saved)" if draft else "")
    held = f"check-in of {signoff.held_on:%d %b %Y}" if signoff is not None else "prepared"
    return Report(
        title=title,
        subject=f"Patient {summary.patient.clinic_id}",
        html=partial(_summary_html, summary=summary, signoff=signoff, privacy=privacy, changes=changes, title=title),
        figures=figures,
        footer=f"TeamDash · {held} · printed {summary.generated_at:%d %b %Y %H:%M} · confidential health information",
        base_pt=9.5,
    )


def _summary_html(
    units: Units,
    *,
    summary: CheckinSummary,
    signoff: Signoff | None,
    privacy: bool,
    changes: Mapping[str, str],
    title: str,
) -> str:
    p, period = summary.patient, summary.period
    out = [f"<h1>{_e(title)}</h1>"]
    out.append(
        f"<p><b>{_e(words.patient_label(p, privacy=privacy))}</b> · {_e(' · '.join(words.patient_facts(p, privacy=privacy)))}</p>"
    )
    out.append(f"<p>Period {_e(period.label)} · prepared {summary.generated_at:%d %b %Y %H:%M}</p>")
    if signoff is not None:
        attendees = ", ".join(signoff.attendees) or "–"
        out.append(f"<p>Check-in held {signoff.held_on:%d %b %Y} · attendees: {_e(attendees)}</p>")
    if changes:
        items = "".join(
            f"<li>{_e(_change_label(summary, key))}: {_e(text)}</li>" for key, text in sorted(changes.items())
        )
        out.append(
            f'<table width="100%" cellpadding="{units.px(5)}" bgcolor="#fff4e5" style="margin-top: {units.px(4)}px;">'
            f'<tr><td><span class="changed">{CHANGED_MARK} Changed since this check-in</span> — the summary below '
            f"is as the team signed it off; today's data differs here:<ul>{items}</ul></td></tr></table>"
        )
    if summary.flags:
        flags = "".join(
            f"<li><b>{'Safety' if f.kind == 'safety' else _e(f.kind.replace('_', ' ').capitalize())}:</b> {_e(f.reason)}</li>"
            for f in summary.flags
        )
        out.append(
            f'<table width="100%" cellpadding="{units.px(5)}" bgcolor="#fdecea" style="margin-top: {units.px(4)}px;">'
            f'<tr><td><b style="color: #b71c1c;">Active flags</b><ul>{flags}</ul></td></tr></table>'
        )

    out.append("<h2>Measures</h2>")
    if summary.measures:
        since_label = "Since the check-in" if period.after_checkin else f"Since {period.start:%d %b}"
        header = ["Measure", "Baseline", _e(period.reference_label), "Now", "Since baseline", since_label]
        rows = []
        for i, row in enumerate(summary.measures):
            name = f"<b>{_e(row.short_name)}</b><br>{_small(_e(row.name))}"
            note = _direction_note(row)
            if note:
                name += f"<br>{_small(note)}"
            rows.append(
                _row(
                    [
                        name,
                        _reading_cell(row, row.baseline),
                        _reading_cell(row, row.at_start),
                        _reading_cell(row, row.current),
                        _verdict_cell(row, row.since_baseline),
                        _verdict_cell(row, row.since_start),
                    ],
                    shade=i % 2 == 1,
                )
            )
            if row.key in changes:
                rows.append(_changed_row(changes[row.key], 6))
        out.append(_table(units, header, rows, [20, 14, 14, 14, 19, 19]))
        out.append(f"<p>{_small(_e(words.reliability_note(summary)))}</p>")
    else:
        out.append("<p>No measures recorded in this episode.</p>")

    timelines = [r for r in summary.key_measures if r.instrument in units.figures]
    if timelines:
        out.append("<h2>Key timelines</h2>")
        cells = [units.figure(r.instrument) for r in timelines]
        pairs = ["".join(f'<td valign="top">{c}</td>' for c in cells[i : i + 2]) for i in range(0, len(cells), 2)]
        out.append(
            f'<table width="100%" cellspacing="0" cellpadding="{units.px(2)}">'
            + "".join(f"<tr>{pair}</tr>" for pair in pairs)
            + "</table>"
        )

    out.append("<h2>Goals</h2>")
    if summary.goals:
        rows = []
        for i, g in enumerate(summary.goals):
            progress = f"{g.progress} %" if g.progress is not None else "–"
            if g.instrument and g.latest_value is not None and g.target_value is not None:
                progress += "<br>" + _small(_e(f"{g.latest_value:g} now, target {g.target_value:g}"))
            status = _e(words.goal_status(g))
            if g.past_due:
                status = f'<span class="worse">{status}</span>'
            rows.append(_row([_e(words.discipline_name(g.discipline)), _e(g.text), status, progress], shade=i % 2 == 1))
            if g.key in changes:
                rows.append(_changed_row(changes[g.key], 4))
        out.append(_table(units, ["Discipline", "Goal", "Status", "Progress"], rows, [16, 50, 20, 14]))
    else:
        out.append("<p>No goals set.</p>")

    out.append("<h2>Sessions in the period</h2>")
    if summary.attendance:
        rows = []
        for i, a in enumerate(summary.attendance):
            rate = f"{a.rate * 100:.0f} %" if a.rate is not None else "–"
            missed = f'<span class="worse">{a.missed}</span>' if a.missed else "0"
            rows.append(
                _row(
                    [
                        _e(a.discipline_name),
                        str(a.attended),
                        missed,
                        str(a.cancelled),
                        f"{a.minutes} min",
                        rate,
                        _e(words.day(a.next_booked)) if a.next_booked else "–",
                    ],
                    shade=i % 2 == 1,
                )
            )
            if a.key in changes:
                rows.append(_changed_row(changes[a.key], 7))
        out.append(
            _table(
                units,
                ["Discipline", "Attended", "Missed", "Cancelled", "Time", "Attendance", "Next booked"],
                rows,
                [24, 11, 10, 11, 12, 13, 19],
            )
        )
    else:
        out.append("<p>No sessions recorded.</p>")

    out.append("<h2>Graded activity and courses</h2>")
    if not summary.graded_activity and not summary.courses:
        out.append("<p>None recorded.</p>")
    for plan in summary.graded_activity:
        line = _e(words.graded_line(plan))
        if plan.weeks_in_period:
            line += "<br>" + _small(_e("This period: " + words.graded_period_line(plan)))
        out.append(f"<p>{line}{_changed_inline(changes, plan.key)}</p>")
    for c in summary.courses:
        practice = (
            f"; practice {c.practice_minutes_per_week:.0f} min a week"
            if c.practice_minutes_per_week is not None
            else ""
        )
        out.append(
            f"<p>{_e(f'{c.kind}: {c.modules_done} of {c.modules_total} modules, {c.status}{practice}')}"
            f"{_changed_inline(changes, c.key)}</p>"
        )

    out.append("<h2>Sleep</h2>")
    sleep_lines = words.sleep_lines(summary)
    out.append(f"<p>{'<br>'.join(_e(line.strip()) for line in sleep_lines[:2])}{_changed_inline(changes, 'sleep')}</p>")
    if "sleep" in units.figures:
        out.append(f"<p>{units.figure('sleep')}</p>")

    out.append("<h2>Flares</h2>")
    out.append(f"<p>{_e(words.flare_count_line(summary))}</p>")
    if summary.flares:
        items = "".join(
            f"<li><b>{_e(words.day(f.started_on))}</b>: {_e(words.flare_details(f))}{_changed_inline(changes, f.key)}</li>"
            for f in summary.flares
        )
        out.append(f"<ul>{items}</ul>")

    out.append("<h2>Return to work</h2>")
    out.append(f"<p>{_e(words.rtw_line(summary))}{_changed_inline(changes, 'rtw')}</p>")

    out.append("<h2>Action items</h2>")
    if not summary.actions_open and not summary.actions_completed:
        out.append("<p>None.</p>")
    else:
        rows = []
        for i, item in enumerate((*summary.actions_open, *summary.actions_completed)):
            due = words.day(item.due_on) if item.due_on else "–"
            if item.overdue:
                due = f'<span class="worse">{_e(due)} (overdue)</span>'
            state = item.status if item.completed_on is None else f"{item.status} {words.day(item.completed_on)}"
            rows.append(_row([_e(item.text), _e(item.owner or "–"), due, _e(state)], shade=i % 2 == 1))
            if item.key in changes:
                rows.append(_changed_row(changes[item.key], 4))
        out.append(_table(units, ["Action", "Owner", "Due", "Status"], rows, [50, 20, 15, 15]))

    if summary.previous is not None:
        out.append(f"<h2>Plan agreed at the check-in of {summary.previous.held_on:%d %b %Y}</h2>")
        out.append(_lines(summary.previous.plan) if summary.previous.plan else "<p>No plan was recorded.</p>")

    if signoff is not None:
        out.append("<h2>Narrative</h2>")
        out.append(_lines(signoff.narrative))
        out.append("<h2>Plan for the next period</h2>")
        out.append(_lines(signoff.plan))
        out.append(f"<p><b>Next check-in:</b> {_e(words.day(signoff.next_checkin))}</p>")
    return "".join(out)


def _changed_inline(changes: Mapping[str, str], key: str) -> str:
    if key not in changes:
        return ""
    return f'<br><span class="changed">{CHANGED_MARK} Changed since this check-in:</span> {_e(changes[key])}'


def _change_label(summary: CheckinSummary, key: str) -> str:
    kind, _, ident = key.partition(":")
    if kind == "measure":
        row = summary.measure(ident)
        return row.short_name if row else ident
    labels = {
        "goal": "Goal",
        "attendance": "Sessions",
        "flare": "Flare",
        "action": "Action item",
        "graded": "Graded activity",
        "course": "Course",
        "sleep": "Sleep diary",
        "rtw": "Return to work",
    }
    if kind == "attendance":
        return f"Sessions ({words.discipline_name(ident)})"
    return labels.get(kind, kind)


# --- the patient's handout ----------------------------------------------------------------------

HANDOUT_STYLE = (
    "h1 { font-size: 24pt; color: #1f3b5a; margin-bottom: 6px; }"
    "h2 { font-size: 16pt; color: #1f3b5a; margin-top: 18px; margin-bottom: 4px; }"
    ".lead { font-size: 13pt; }"
    ".scale { font-size: 11pt; color: #4a5561; }"
)


def handout_report(handout: Handout) -> Report:
    """The handout in large type (13.5 pt body), one simple chart per measure."""
    figures = {
        m.instrument: Figure(m.instrument, *HANDOUT_BARS_MM, partial(charts.before_now, measure=m), m.sentence)
        for m in handout.measures
    }
    return Report(
        title="Your progress",
        subject=handout.clinic_id,
        html=partial(_handout_html, handout=handout),
        figures=figures,
        footer=f"Your programme team · {handout.date:%d %B %Y}",
        base_pt=13.5,
        style=HANDOUT_STYLE,
    )


def _handout_html(units: Units, *, handout: Handout) -> str:
    h = handout
    out = [f"<h1>{_e(h.title)}</h1>"]
    who = f"For {_e(h.patient_name)} · " if h.patient_name else ""
    out.append(f"<p>{who}{h.date:%d %B %Y}</p>")
    out.append(f'<p class="lead">{_e(h.lead)}</p>')
    for m in h.measures:
        out.append(f"<h2>{_e(m.title)}</h2>")
        out.append(f"<p>{_e(m.sentence)}</p>")
        out.append(f"<p>{units.figure(m.instrument)}</p>")
        out.append(f'<p class="scale">{_e(m.scale)}</p>')
    if h.sleep:
        out.append(f"<h2>{_e(h.sleep_title)}</h2>")
        out.append("".join(f"<p>{_e(s)}</p>" for s in h.sleep))
    out.append(f"<h2>{_e(h.goals_title)}</h2>")
    if h.goals:
        rows = []
        for g in h.goals:
            where = _e(g.status) + (f"<br><span class='scale'>{_e(g.progress_text)}</span>" if g.progress_text else "")
            rows.append(f'<tr><td valign="top" width="65%">{_e(g.text)}</td><td valign="top"><b>{where}</b></td></tr>')
        out.append(
            f'<table width="100%" cellspacing="0" cellpadding="{units.px(5)}" border="0">' + "".join(rows) + "</table>"
        )
    else:
        out.append(f"<p>{_e(h.goals_empty)}</p>")
    out.append(f"<h2>{_e(h.next_steps_title)}</h2>")
    out.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in h.next_steps) + "</ul>")
    if h.next_review:
        out.append(f"<p><b>{_e(h.next_review)}</b></p>")
    out.append(f"<h2>{_e(h.flare_title)}</h2>")
    out.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in h.flare_advice) + "</ul>")
    if h.flare_helped:
        out.append(f"<p>{_e(h.flare_helped)}</p>")
    out.append(
        f'<table width="100%" cellpadding="{units.px(6)}" bgcolor="#fdecea"><tr><td><b>{_e(h.urgent)}</b></td></tr></table>'
    )
    out.append(f"<h2>{_e(h.contacts_title)}</h2>")
    out.append("".join(f"<p>{_e(c)}</p>" for c in h.contacts) or "<p>–</p>")
    return "".join(out)


def checkin_without_summary_report(clinic_id: str, signoff: Signoff) -> Report:
    """A check-in saved before summaries were kept (or by an import): what it holds."""

    def html(units: Units) -> str:
        attendees = ", ".join(signoff.attendees) or "–"
        return (
            f"<h1>Check-in of {signoff.held_on:%d %b %Y}</h1>"
            f"<p><b>{_e(clinic_id)}</b> · attendees: {_e(attendees)}</p>"
            '<p class="muted">This check-in was recorded without a summary: only what the team wrote was kept.</p>'
            f"<h2>Narrative</h2>{_lines(signoff.narrative)}"
            f"<h2>Plan for the next period</h2>{_lines(signoff.plan)}"
            f"<p><b>Next check-in:</b> {_e(words.day(signoff.next_checkin))}</p>"
        )

    return Report(
        title="Check-in",
        subject=f"Patient {clinic_id}",
        html=html,
        footer=f"TeamDash · check-in of {signoff.held_on:%d %b %Y} · confidential health information",
    )
