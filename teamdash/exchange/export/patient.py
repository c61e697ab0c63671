"""The per-patient workbook: a Summary sheet (the patient, each measure's baseline, value
at the last check-in, latest and change, goals, open action items), one sheet per
discipline (its measures, sessions and goals as Excel tables, with a native line chart
of each key measure over time), and About."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import peewee as pw
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.axis import DateAxis
from openpyxl.chart.marker import Marker

from teamdash.clinical import analytics, disciplines, instruments
from teamdash.exchange.export import tables
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.sheets import (
    BOOL,
    DATE,
    DATETIME,
    LABEL,
    MIXED,
    NUMBER,
    PERCENT,
    TEXT,
    BlockSheet,
    Book,
    Column,
)
from teamdash.storage.models import CheckIn, Measurement, SafetyAcknowledgement
from teamdash.storage.queries import tuples

CHART_MIN_POINTS = 2


def count(job: Job) -> int:
    return sum(tables.count_rows(job).values()) + 1


def _checkin_dates(job: Job, patient_id: int) -> list[dt.date]:
    query = CheckIn.select(CheckIn.held_on).where(CheckIn.patient == patient_id).order_by(CheckIn.held_on)
    return [d for (d,) in tuples(query)]


def _open_safety(patient_id: int) -> int:
    return (
        Measurement.select()
        .join(SafetyAcknowledgement, pw.JOIN.LEFT_OUTER, on=(SafetyAcknowledgement.measurement == Measurement.id))
        .where((Measurement.patient == patient_id) & Measurement.safety & SafetyAcknowledgement.id.is_null())
        .count()
    )


def write(job: Job, book: Book, file_name: str) -> None:
    patient = job.patients[0]
    pid = patient.id
    library = instruments.library()
    by_instrument: dict[str, list[tuple]] = defaultdict(list)
    for row in job.select.measurements():
        by_instrument[row[1]].append(row)
        job.tick()
    sessions = list(job.select.sessions())
    goals = list(job.select.goals())
    actions = list(job.select.actions())
    job.tick(len(sessions) + len(goals) + len(actions))
    checkins = [d for d in _checkin_dates(job, pid) if (job.options.date_to is None or d <= job.options.date_to)]
    last_checkin = checkins[-1] if checkins else None

    progress = {}
    for instrument_id, rows in by_instrument.items():
        if instrument_id not in library:
            continue  # a measure whose (clinic) definition is gone: its rows stay in the long sheet
        points = [point(r) for r in rows if r[4] is not None]
        progress[instrument_id] = analytics.progress(
            library[instrument_id], points, patient.episode_start, last_checkin
        )
    order = _instrument_order(by_instrument)

    summary = BlockSheet(book, "Summary")
    rtw = job.select.rtw_phases().get(pid)
    details = [
        ("Patient ID", patient.clinic_id),
        ("Name", f"{patient.given_name} {patient.family_name}"),
        ("Date of birth", patient.date_of_birth),
        ("Age", job.age(patient)),
        ("Sex", patient.sex),
        ("Status", disciplines.patient_status_label(patient.status)),
        ("Status since", patient.status_changed_on if patient.status != "active" else None),
        ("Referral date", patient.referral_date),
        ("Programme start", patient.programme_start),
        ("Weeks in programme", job.weeks_in_programme(patient)),
        ("Case manager", job.staff_label(patient.case_manager)),
        ("Return-to-work phase", disciplines.rtw_phase_label(rtw)),
        ("Last check-in", last_checkin),
        ("Next check-in", patient.next_checkin),
        ("Open safety flags", _open_safety(pid)),
        ("Flagged for review", patient.flagged_for_review),
        ("Flag note", patient.flag_note),
        ("Research consent", patient.research_consent),
    ]
    summary.block("Patient", [Column("Field", LABEL), Column("Value", MIXED)], details)
    summary.block(
        "KeyMeasures",
        progress_columns(),
        [progress_row(library[i], progress[i]) for i in order if i in progress],
        title="Measures: baseline, last check-in, latest",
    )
    named = [i for i in order if i in progress and progress[i].items_from_baseline]
    if named:
        summary.block(
            "NamedItems",
            item_columns(),
            [row for i in named for row in item_rows(library[i], progress[i])],
            title="Patient-named activities (PSFS): change per activity",
        )
    summary.block(
        "Goals",
        _goal_columns(with_discipline=True),
        [[job.discipline_name(g[1]), _short(g[3]), g[4], g[5], g[6], g[7], g[8], g[9], g[2]] for g in goals],
        title="Goals",
    )
    summary.block(
        "OpenActions",
        [
            Column("Due on", DATE),
            Column("Status", LABEL),
            Column("Owner", LABEL),
            Column("Created at", DATETIME),
            Column("Action", TEXT),
        ],
        [[a[3], a[4], job.staff_label(a[2]), a[5], a[1]] for a in actions if a[4] == "open"],
        title="Open action items",
    )
    job.rows[summary.title] = summary.close()

    for d in disciplines.all_disciplines():
        if job.options.discipline and d.code != job.options.discipline:
            continue
        items = max((len(library[i].items) for i in by_instrument if library[i].discipline == d.code), default=1)
        _discipline_sheet(job, book, d, by_instrument, order, sessions, goals, items)

    tables.write_about(job, book, file_name, [i for i in order if i in library] or tables.instruments_in_export(job))


def _short(instrument_id: str | None) -> str | None:
    if not instrument_id:
        return None
    found = instruments.library().get(instrument_id)
    return found.short_name if found else instrument_id


def point(row: tuple) -> analytics.Point:
    """An export row (``Selection.measurements``) as analytics sees it."""
    responses, names = row[3], row[11]
    return analytics.Point(
        row[2],
        row[4],
        row[10],
        row[5],
        tuple(responses) if isinstance(responses, list) else None,
        tuple(names) if isinstance(names, list) else None,
    )


def _instrument_order(by_instrument: dict) -> list[str]:
    """Measures in the order the disciplines list them (clinic measures after each
    discipline's key ones), then any others."""
    ordered = [i for i in disciplines.all_measures() if i in by_instrument]
    return ordered + sorted(i for i in by_instrument if i not in ordered)


def progress_columns() -> list[Column]:
    return [
        Column("Measure", LABEL),
        Column("Discipline", LABEL),
        Column("Baseline date", DATE),
        Column("Baseline", NUMBER),
        Column("Baseline band", LABEL),
        Column("At last check-in", NUMBER),
        Column("Latest date", DATE),
        Column("Latest", NUMBER),
        Column("Latest band", LABEL),
        Column("Change", NUMBER),
        Column("% change", PERCENT),
        Column("MCID met", BOOL),
        Column("Reliable change", LABEL),
        Column("Band movement", LABEL),
        Column("Change since check-in", NUMBER),
        Column("MCID met since check-in", BOOL),
        Column("Reliable change since check-in", LABEL),
        Column("Change note", LABEL),
        Column("Next due", DATE),
        Column("Measurements", NUMBER, "0"),
    ]


def change_note(inst: instruments.Instrument, change: analytics.Change | None) -> str | None:
    """What a change was computed over, or why there is none."""
    if change is None:
        return None
    if change.matched_items:
        return f"over {change.matched_items} {inst.item_name_words(change.matched_items)} rated both times"
    return change.reason


def progress_row(inst: instruments.Instrument, p: analytics.Progress) -> list:
    """The core's progress row (``analytics.progress``) as workbook cells: the figures
    the patient's panels show."""
    first, last, change, since = p.baseline, p.latest, p.from_baseline, p.from_checkin
    return [
        inst.short_name,
        disciplines.get(inst.discipline).name,
        _day(first.taken_at) if first else None,
        _rounded(inst, first.value) if first else None,
        first.band if first else None,
        _rounded(inst, p.last_checkin.value) if p.last_checkin else None,
        _day(last.taken_at) if last else None,
        _rounded(inst, last.value) if last else None,
        last.band if last else None,
        _rounded(inst, change.points),
        change.percent if change.points is not None and not change.matched_items else None,
        change.mcid_met,
        change.rci_verdict,
        change.band_movement,
        _rounded(inst, since.points) if since else None,
        since.mcid_met if since else None,
        since.rci_verdict if since else None,
        change_note(inst, change),
        p.due_on,
        p.count,
    ]


def _day(when):
    return when.date() if isinstance(when, dt.datetime) else when


def item_columns() -> list[Column]:
    return [
        Column("Measure", LABEL),
        Column("Activity", TEXT),
        Column("Baseline", NUMBER),
        Column("At last check-in", NUMBER),
        Column("Latest", NUMBER),
        Column("Change", NUMBER),
        Column("Reliable change", LABEL),
    ]


def item_rows(inst: instruments.Instrument, p: analytics.Progress) -> list[list]:
    """One row per patient-named item (PSFS activity): ratings at baseline, at the last
    check-in and now, its change and its single-activity reliable-change verdict."""
    at_checkin = {c.name.casefold(): c.before for c in p.items_from_checkin}
    return [
        [
            inst.short_name,
            item.name,
            item.before,
            at_checkin.get(item.name.casefold()),
            item.after,
            item.points,
            item.rci_verdict,
        ]
        for item in p.items_from_baseline
    ]


def _rounded(inst: instruments.Instrument, value: float | None) -> float | None:
    # Rows of different measures share a column: show each at its own precision.
    return None if value is None else round(value, inst.decimals + 1) + 0.0


def _shown(value: float | None) -> float | None:
    """A score as the team reads it in the per-patient workbook: two decimals at most
    (the long workbook keeps full precision for analysis)."""
    return None if value is None else round(value, 2) + 0.0


def _goal_columns(*, with_discipline: bool) -> list[Column]:
    # Free text last: stacked tables share column widths, and a long text column first
    # would push every other column off the page.
    columns = [Column("Discipline", LABEL)] if with_discipline else []
    return columns + [
        Column("Instrument", LABEL),
        Column("Baseline value", NUMBER),
        Column("Target value", NUMBER),
        Column("Set on", DATE),
        Column("Due on", DATE),
        Column("Status", LABEL),
        Column("Progress", PERCENT, "0%"),
        Column("Goal", TEXT),
    ]


def _discipline_sheet(
    job: Job,
    book: Book,
    d: disciplines.DisciplineDef,
    by_instrument: dict,
    order: list[str],
    sessions: list,
    goals: list,
    items: int,
) -> None:
    library = instruments.library()
    sheet = BlockSheet(book, d.name)
    named = max(
        (
            len(library[i].items)
            for i in by_instrument
            if i in library and library[i].discipline == d.code and library[i].named_items
        ),
        default=0,
    )
    measure_columns = [
        Column("Measure", LABEL),
        Column("Taken at", DATETIME),
        Column("Total", NUMBER),
        Column("Prorated", BOOL),
        Column("Band", LABEL),
        Column("Change from baseline", NUMBER),
        *(Column(tables.ITEM_HEADER.format(n), NUMBER) for n in range(1, items + 1)),
        *(Column(tables.ITEM_NAME_HEADER.format(n), TEXT) for n in range(1, named + 1)),
        Column("Entered by", LABEL),
        Column("Note", TEXT),
    ]
    rows: list[list[Any]] = []
    spans: list[tuple[instruments.Instrument, int, int]] = []
    for instrument_id in order:
        inst = library.get(instrument_id)
        if inst is None or inst.discipline != d.code:
            continue
        first_index = len(rows)
        baseline = None
        for row in by_instrument[instrument_id]:
            pid, taken_at, responses, total, band, entered_by, note = (
                row[0],
                row[2],
                row[3],
                row[4],
                row[5],
                row[7],
                row[9],
            )
            this = point(row)
            if baseline is None and total is not None and taken_at.date() >= job.by_id[pid].episode_start:
                baseline = this
            # the same change the panels show (PSFS: over the activities rated both times)
            change = (
                None if baseline is None or total is None else analytics.change_between(inst, baseline, this).points
            )
            names = list(row[11] or [])
            rows.append(
                [
                    inst.short_name,
                    taken_at,
                    _shown(total),
                    tables.prorated(instrument_id, responses),
                    band,
                    _shown(change) if baseline is not None and baseline.id != this.id else None,
                    *(list(responses) + [None] * items)[:items],
                    *(names + [None] * named)[:named],
                    job.staff_label(entered_by),
                    note,
                ]
            )
        spans.append((inst, first_index, len(rows)))
    measures = sheet.block(f"{d.short}_Measures", measure_columns, rows)
    sheet.block(
        f"{d.short}_Sessions",
        [
            Column("Held at", DATETIME),
            Column("Kind", LABEL),
            Column("Minutes", NUMBER, "0"),
            Column("Attendance", LABEL),
            Column("Clinician", LABEL),
            Column("Note", TEXT),
        ],
        [[s[2], s[3], s[4], s[5], job.staff_label(s[6]), s[7]] for s in sessions if s[1] == d.code],
        title="Sessions",
    )
    sheet.block(
        f"{d.short}_Goals",
        _goal_columns(with_discipline=False),
        [[_short(g[3]), g[4], g[5], g[6], g[7], g[8], g[9], g[2]] for g in goals if g[1] == d.code],
        title="Goals",
    )
    charted = 0
    for inst, start, end in spans:
        if not inst.key_measure or end - start < CHART_MIN_POINTS:
            continue
        first_row = measures.first_row + 1 + start
        last_row = measures.first_row + end
        sheet.charts.append((_line_chart(sheet.ws, inst, first_row, last_row), sheet.chart_anchor(charted)))
        charted += 1
    job.rows[sheet.title] = sheet.close()


def _line_chart(ws, inst: instruments.Instrument, first_row: int, last_row: int) -> LineChart:
    """A native Excel line chart of one measure's totals over time (a date axis)."""
    chart = LineChart()
    direction = {"higher_worse": "lower is better", "higher_better": "higher is better"}.get(inst.direction or "")
    chart.title = f"{inst.short_name}" + (f" ({direction})" if direction else "")
    chart.style = 2
    chart.height, chart.width = 7.5, 16
    chart.legend = None
    chart.y_axis.title = inst.unit or "score"
    chart.y_axis.crossAx = 500
    if inst.total_min is not None and inst.total_max is not None:
        chart.y_axis.scaling.min = inst.total_min
        chart.y_axis.scaling.max = inst.total_max
    chart.x_axis = DateAxis(crossAx=100)
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.x_axis.title = "Date taken"
    # openpyxl 3.1 leaves axes to the reader's default, which Excel takes as hidden.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.add_data(Reference(ws, min_col=3, min_row=first_row, max_row=last_row), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=2, min_row=first_row, max_row=last_row))
    series = chart.series[0]
    series.marker = Marker(symbol="circle", size=5)
    series.smooth = False
    return chart
