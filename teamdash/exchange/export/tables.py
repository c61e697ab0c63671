"""The long (tidy) sheets shared by the cohort and long workbooks: one row per
measurement, session, goal, check-in, action item; patients and staff; the About sheet.

Identified sheets carry clinic IDs, names, dates and notes; de-identified ones carry
pseudonymous codes, days/weeks since programme start and no free text.
"""

from __future__ import annotations

import re

from teamdash import __version__
from teamdash.clinical import disciplines, instruments
from teamdash.exchange.export import deid
from teamdash.exchange.export.job import Job
from teamdash.exchange.export.options import KIND_DESCRIPTIONS, KIND_LABELS
from teamdash.exchange.export.query import staff_rows
from teamdash.exchange.export.sheets import (
    BOOL,
    DATE,
    DATETIME,
    INT,
    LABEL,
    NUMBER,
    PERCENT,
    TEXT,
    Book,
    Column,
    TableSheet,
    write_key_values,
)
from teamdash.storage import db

ITEM_HEADER = "Item {}"
ITEM_NAME_HEADER = "Item {} name"  # the patient's name for the item (a PSFS activity)


def item_count(job: Job) -> int:
    wanted = job.select.discipline_instruments
    library = instruments.library()
    ids = wanted if wanted is not None else tuple(library)
    return max((len(library[i].items) for i in ids), default=1)


def name_count(job: Job) -> int:
    """Columns for patient-named items (PSFS activities): none in a de-identified export,
    whose free text stays out."""
    if job.deidentify:
        return 0
    wanted = job.select.discipline_instruments
    library = instruments.library()
    ids = wanted if wanted is not None else tuple(library)
    return max((len(library[i].items) for i in ids if i in library and library[i].named_items), default=0)


def prorated(instrument_id: str, responses) -> bool | None:
    """Whether a stored total was prorated; None for instruments that never prorate."""
    definition = instruments.library().get(instrument_id)
    if definition is None or definition.scoring is None or not definition.scoring.prorate:
        return None
    return definition.prorated(responses or ())


# --- patients and staff (long workbook) ---------------------------------------------------------


PATIENT_COLUMNS = [
    Column("Patient ID", LABEL),
    Column("Given name", LABEL),
    Column("Family name", LABEL),
    Column("Date of birth", DATE),
    Column("Sex", LABEL),
    Column("Referral date", DATE),
    Column("Programme start", DATE),
    Column("Episode start", DATE),
    Column("Status", LABEL),
    Column("Status since", DATE),
    Column("Case manager", LABEL),
    Column("Next check-in", DATE),
    Column("Research consent", BOOL),
    Column("Flagged for review", BOOL),
    Column("Flag note", TEXT),
]

DEID_PATIENT_COLUMNS = [
    Column("Patient code", LABEL),
    Column("Age at programme start", INT),
    Column("Sex", LABEL),
    Column("Status", LABEL),
    Column("Status since (week)", NUMBER, "0.0"),
    Column("Weeks in programme", INT),
    Column("Case manager", LABEL),
]


def write_patients(job: Job, book: Book) -> int:
    sheet = TableSheet(book, "Patients", DEID_PATIENT_COLUMNS if job.deidentify else PATIENT_COLUMNS, freeze_columns=1)
    for p in job.patients:
        if job.deidentify:
            status_week = job.relative(p.id, p.status_changed_on)[1] if p.status != "active" else None
            sheet.add(
                [
                    job.patient_label(p.id),
                    job.age(p),
                    p.sex,
                    p.status,
                    status_week,
                    job.weeks_in_programme(p),
                    job.staff_label(p.case_manager),
                ]
            )
        else:
            sheet.add(
                [
                    p.clinic_id,
                    p.given_name,
                    p.family_name,
                    p.date_of_birth,
                    p.sex,
                    p.referral_date,
                    p.programme_start,
                    p.episode_start,
                    p.status,
                    p.status_changed_on,
                    job.staff_label(p.case_manager),
                    p.next_checkin,
                    p.research_consent,
                    p.flagged_for_review,
                    p.flag_note,
                ]
            )
        job.tick()
    return _done(job, sheet)


STAFF_COLUMNS = [
    Column("Username", LABEL),
    Column("Full name", LABEL),
    Column("Role", LABEL),
    Column("Discipline", LABEL),
    Column("Case manager", BOOL),
    Column("Active", BOOL),
]


def write_staff(job: Job, book: Book) -> int:
    """Staff (identified workbooks only): lets an import into a new database restore who
    is whose case manager and who entered a score."""
    sheet = TableSheet(book, "Staff", STAFF_COLUMNS, freeze_columns=1)
    for _id, username, full_name, role, discipline, is_case_manager, active in staff_rows():
        sheet.add([username, full_name, role, discipline, is_case_manager, active])
        job.tick()
    return _done(job, sheet)


def count_staff() -> int:
    return len(staff_rows())


# --- measurements -------------------------------------------------------------------------------


def measurement_columns(job: Job, items: int, names: int = 0) -> list[Column]:
    when = [Column("Day", INT), Column("Week", NUMBER, "0.0")] if job.deidentify else [Column("Taken at", DATETIME)]
    columns = [
        Column(job.patient_header, LABEL),
        Column("Instrument", LABEL),
        Column("Measure", LABEL),
        *when,
        Column("Total", NUMBER),
        Column("Prorated", BOOL),
        Column("Band", LABEL),
        Column("Safety item positive", BOOL),
        *(Column(ITEM_HEADER.format(n), NUMBER) for n in range(1, items + 1)),
        *(Column(ITEM_NAME_HEADER.format(n), TEXT) for n in range(1, names + 1)),
        Column("Entered by", LABEL),
        Column("Source", LABEL),
    ]
    if not job.deidentify:
        columns.append(Column("Note", TEXT))
    return columns


def write_measurements(job: Job, book: Book) -> int:
    items = item_count(job)
    names = name_count(job)
    sheet = TableSheet(book, "Measurements", measurement_columns(job, items, names), freeze_columns=1)
    short = {i.id: i.short_name for i in instruments.library().values()}
    blank = [None] * items
    no_names = [None] * names
    label = job.patient_label
    staff = job.staff_label
    add = sheet.add
    tick = job.tick
    last_pid, who = None, None
    if job.deidentify:
        for (
            pid,
            inst,
            taken_at,
            responses,
            total,
            band,
            safety,
            entered_by,
            source,
            _note,
            _mid,
            _names,
        ) in job.select.measurements():
            if pid != last_pid:
                last_pid, who = pid, label(pid)
            days, weeks = job.relative(pid, taken_at)
            add(
                [
                    who,
                    inst,
                    short.get(inst, inst),
                    days,
                    weeks,
                    total,
                    prorated(inst, responses),
                    band,
                    safety,
                    *(responses + blank)[:items],
                    staff(entered_by),
                    source,
                ]
            )
            tick()
    else:
        for (
            pid,
            inst,
            taken_at,
            responses,
            total,
            band,
            safety,
            entered_by,
            source,
            note,
            _mid,
            item_names,
        ) in job.select.measurements():
            if pid != last_pid:
                last_pid, who = pid, label(pid)
            add(
                [
                    who,
                    inst,
                    short.get(inst, inst),
                    taken_at,
                    total,
                    prorated(inst, responses),
                    band,
                    safety,
                    *(responses + blank)[:items],
                    *((item_names or []) + no_names)[:names],
                    staff(entered_by),
                    source,
                    note,
                ]
            )
            tick()
    return _done(job, sheet)


# --- sessions, goals, check-ins, action items ----------------------------------------------------


def _session_kind(discipline: str, kind: str | None) -> str | None:
    """De-identified: a session kind from the discipline's list, else 'Other' (the
    field is typed, so it may hold anything)."""
    if kind is None:
        return None
    return kind if kind in disciplines.get(discipline).session_kinds else "Other"


def write_sessions(job: Job, book: Book) -> int:
    if job.deidentify:
        when = [Column("Day", INT), Column("Week", NUMBER, "0.0")]
    else:
        when = [Column("Held at", DATETIME)]
    columns = [
        Column(job.patient_header, LABEL),
        Column("Discipline", LABEL),
        *when,
        Column("Kind", LABEL),
        Column("Minutes", INT),
        Column("Attendance", LABEL),
        Column("Clinician", LABEL),
    ]
    if not job.deidentify:
        columns.append(Column("Note", TEXT))
    sheet = TableSheet(book, "Sessions", columns, freeze_columns=1)
    for pid, discipline, held_at, kind, minutes, attendance, clinician, note in job.select.sessions():
        if job.deidentify:
            days, weeks = job.relative(pid, held_at)
            sheet.add(
                [
                    job.patient_label(pid),
                    discipline,
                    days,
                    weeks,
                    _session_kind(discipline, kind),
                    minutes,
                    attendance,
                    job.staff_label(clinician),
                ]
            )
        else:
            sheet.add(
                [
                    job.patient_label(pid),
                    discipline,
                    held_at,
                    kind,
                    minutes,
                    attendance,
                    job.staff_label(clinician),
                    note,
                ]
            )
        job.tick()
    return _done(job, sheet)


def write_goals(job: Job, book: Book) -> int:
    if job.deidentify:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Discipline", LABEL),
            Column("Instrument", LABEL),
            Column("Baseline value", NUMBER),
            Column("Target value", NUMBER),
            Column("Set (week)", NUMBER, "0.0"),
            Column("Due (week)", NUMBER, "0.0"),
            Column("Status", LABEL),
            Column("Progress", PERCENT, "0%"),
        ]
    else:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Discipline", LABEL),
            Column("Goal", TEXT),
            Column("Instrument", LABEL),
            Column("Baseline value", NUMBER),
            Column("Target value", NUMBER),
            Column("Set on", DATE),
            Column("Due on", DATE),
            Column("Status", LABEL),
            Column("Progress", PERCENT, "0%"),
        ]
    sheet = TableSheet(book, "Goals", columns, freeze_columns=1)
    for pid, discipline, text, instrument, baseline, target, set_on, due_on, status, progress in job.select.goals():
        if job.deidentify:
            sheet.add(
                [
                    job.patient_label(pid),
                    discipline,
                    instrument,
                    baseline,
                    target,
                    job.relative(pid, set_on)[1],
                    job.relative(pid, due_on)[1],
                    status,
                    progress,
                ]
            )
        else:
            sheet.add(
                [
                    job.patient_label(pid),
                    discipline,
                    text,
                    instrument,
                    baseline,
                    target,
                    set_on,
                    due_on,
                    status,
                    progress,
                ]
            )
        job.tick()
    return _done(job, sheet)


def write_checkins(job: Job, book: Book, *, decisions: bool = True) -> int:
    """One row per check-in. ``decisions``: their decisions in a column (the cohort
    workbook); the long workbook has a Decisions sheet instead."""
    if job.deidentify:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Day", INT),
            Column("Week", NUMBER, "0.0"),
            Column("Attendees", INT),
        ]
    else:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Held on", DATE),
            Column("Period from", DATE),  # the start of the period its summary covered
            Column("Attendees", TEXT),
            Column("Narrative", TEXT),
            Column("Plan", TEXT),  # the plan agreed for the next period
            Column("Next check-in", DATE),  # the date set for the next one
        ]
    if decisions:
        columns.append(Column("Decisions", INT if job.deidentify else TEXT))
    if not job.deidentify:
        columns.append(Column("Recorded by", LABEL))
    sheet = TableSheet(book, "Check-ins", columns, freeze_columns=1)
    for pid, held_on, attendees, narrative, created_by, texts, plan, since, following in job.select.checkins():
        if job.deidentify:
            days, weeks = job.relative(pid, held_on)
            row = [job.patient_label(pid), days, weeks, len(attendees)]
            if decisions:
                row.append(len(texts))
        else:
            names = ", ".join(a.get("name", "") for a in attendees if isinstance(a, dict))
            row = [job.patient_label(pid), held_on, since, names or None, narrative, plan, following]
            if decisions:
                row.append("\n".join(texts) or None)
            row.append(job.staff_label(created_by))
        sheet.add(row)
        job.tick()
    return _done(job, sheet)


def write_actions(job: Job, book: Book) -> int:
    if job.deidentify:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Owner", LABEL),
            Column("Discipline", LABEL),
            Column("Created (week)", NUMBER, "0.0"),
            Column("Due (week)", NUMBER, "0.0"),
            Column("Status", LABEL),
            Column("Completed (week)", NUMBER, "0.0"),
            Column("Check-in (week)", NUMBER, "0.0"),
        ]
    else:
        columns = [
            Column(job.patient_header, LABEL),
            Column("Action", TEXT),
            Column("Owner", LABEL),
            Column("Discipline", LABEL),
            Column("Due on", DATE),
            Column("Status", LABEL),
            Column("Created at", DATETIME),
            Column("Completed at", DATETIME),
            Column("Check-in", DATE),
        ]
    sheet = TableSheet(book, "Action items", columns, freeze_columns=1)
    for pid, text, owner, due_on, status, created_at, completed_at, checkin_on, discipline in job.select.actions():
        if job.deidentify:
            sheet.add(
                [
                    job.patient_label(pid),
                    job.staff_label(owner),
                    discipline,
                    job.relative(pid, created_at)[1],
                    job.relative(pid, due_on)[1],
                    status,
                    job.relative(pid, completed_at)[1],
                    job.relative(pid, checkin_on)[1],
                ]
            )
        else:
            sheet.add(
                [
                    job.patient_label(pid),
                    text,
                    job.staff_label(owner),
                    discipline,
                    due_on,
                    status,
                    created_at,
                    completed_at,
                    checkin_on,
                ]
            )
        job.tick()
    return _done(job, sheet)


def count_rows(job: Job) -> dict[str, int]:
    s = job.select
    return {
        "Measurements": s.count_measurements(),
        "Sessions": s.session_query().count(),
        "Goals": s.goal_query().count(),
        "Check-ins": s.checkin_query().count(),
        "Action items": s.action_query().count(),
    }


def _done(job: Job, sheet: TableSheet) -> int:
    rows = sheet.close()
    job.rows[sheet.title] = rows
    job.check()
    return rows


# --- About -------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


# What the long workbook (and so an import of it) does not carry: it stays in the clinic's
# database and its backups.
NOT_EXCHANGED = (
    "earlier episodes of care and the status history (reasons, notes, who recorded each change: the "
    "Patients sheet has the current episode and status); team meetings (agendas, minutes, which meeting "
    "a decision or action item came from); the snapshot a saved check-in froze; staff passwords; the "
    "audit trail; clinic settings. They stay in the clinic's database and its backups."
)


def about_rows(job: Job, file_name: str, instrument_ids: list[str]) -> list[tuple[str, str, object]]:
    o = job.options
    rows: list[tuple[str, str, object]] = [
        ("Export", "Workbook", f"{KIND_LABELS[o.kind]}: {KIND_DESCRIPTIONS[o.kind]}"),
        ("Export", "File", file_name),
        ("Export", "Exported at", job.now),
        ("Export", "Exported by", f"{job.actor.display_name} ({job.actor.role})"),
        ("Export", "TeamDash version", __version__),
        ("Export", "Database", "withheld (de-identified export)" if job.deidentify else db.info().display),
        ("Export", "De-identified", "yes" if job.deidentify else "no"),
    ]
    patient = None
    if o.patient_id is not None and o.patient_id in job.by_id:
        patient = job.patient_label(o.patient_id)
    manager = None
    if o.case_manager_id is not None:
        manager = job.staff_label(o.case_manager_id) or f"staff {o.case_manager_id}"
    rows += [
        ("Filters", "Patient", patient or "all"),
        ("Filters", "Status", o.status or "all"),
        ("Filters", "Case manager", manager or "all"),
        ("Filters", "Discipline", job.discipline_name(o.discipline) or "all"),
        ("Filters", "Date from", "no limit" if o.date_from is None else o.date_from),
        ("Filters", "Date to", "no limit" if o.date_to is None else o.date_to),
        (
            "Filters",
            "How filters apply",
            "Status and case manager are the patient's current ones. A discipline keeps patients with a session or "
            "measure of that discipline and only that discipline's measures, sessions, goals and plans (graded "
            "activity: PT; courses: psychology; sleep diary: sleep; support network and return to work: social "
            "work). A date range keeps patients who were in the programme during it (referral to discharge or "
            "drop-out, or today) or had a measurement or session in it, and only rows dated inside it (goals and "
            "plans started up to its end).",
        ),
        ("Contents", "Patients", len(job.patients)),
    ]
    rows += [("Contents", f"Rows in '{name}'", count) for name, count in job.rows.items()]
    if o.kind == "long":
        rows.append(("Contents", "Not in this workbook", NOT_EXCHANGED))
    rows += [
        (
            "Method",
            "Baseline",
            "The first measurement of the patient's current episode (on or after the episode "
            "start) inside the date range.",
        ),
        ("Method", "Latest", "The last measurement inside the date range (for equal times, the later entry)."),
        ("Method", "Change", "Latest minus baseline, in the measure's points; % change is of the baseline."),
        (
            "Method",
            "MCID met",
            "TRUE when the improvement reaches the measure's minimal clinically important "
            "difference (absolute points or % of baseline, whichever the definition gives); "
            "blank when the measure has none.",
        ),
        (
            "Method",
            "Reliable change",
            "Jacobson & Truax reliable change index (|RCI| > 1.96) from the measure's "
            "SEM, or its published reliable-change threshold; blank when the measure "
            "has neither. A published MDC95 or MDC90 is turned into an SEM first "
            "(SEM = MDC95 / (1.96 x sqrt 2), or MDC90 / (1.645 x sqrt 2)), so every measure "
            "is judged at 95 %. Shown beside MCID: at a low baseline the 30 % rule can call a "
            "change meaningful that is within measurement error.",
        ),
        (
            "Method",
            "Patient-named items",
            "PSFS activities are named by the patient; change is computed over the activities "
            "named and rated at both times (their mean then and now), never between means of "
            "different activities. Activities not rated at both times have no change.",
        ),
        (
            "Method",
            "Prorated",
            "TRUE when items were left blank and the total was prorated (PHQ-9 up to 3, GAD-7 "
            "up to 2 missing items: sum / answered x items, rounded half up; DC/TMD scoring "
            "manual); blank for measures that are never prorated.",
        ),
        (
            "Method",
            "Bands",
            "Severity bands as defined for each measure (see the instruments below); on the "
            "Cohort sheet coloured green (best) to red (worst).",
        ),
    ]
    if job.deidentify:
        rows += [
            ("De-identification", "Codes", deid.METHOD_CODES),
            ("De-identification", "Dates", deid.METHOD_DATES),
            ("De-identification", "Left out", deid.METHOD_LEFT_OUT),
        ]
    library = instruments.library()
    for instrument_id in instrument_ids:
        inst = library[instrument_id]
        section = f"Instrument {inst.short_name}"
        mcid = " or ".join(
            x
            for x in (
                f"{inst.mcid_abs:g} points" if inst.mcid_abs is not None else "",
                f"{inst.mcid_pct:g} % of baseline" if inst.mcid_pct is not None else "",
            )
            if x
        )
        rows += [
            (section, "Name", f"{inst.name} ({inst.id})" + (" - clinic definition" if inst.origin == "clinic" else "")),
            (section, "Range and direction", _range(inst)),
            (section, "Recall period", inst.recall or "not stated"),
            (section, "MCID", mcid or "none defined"),
            (section, "Reliable change", _reliable_text(inst)),
            (section, "Licence", _one_line(inst.licence)),
        ]
        rows += [(section, "Unverified", _one_line(text)) for text in inst.unverified]
        rows += [(section, "Source", _one_line(text)) for text in inst.sources]
        if inst.notes:
            rows.append((section, "Notes", _one_line(inst.notes)))
    return rows


def _reliable_text(inst) -> str:
    if inst.reliable_change is None:
        return "none defined"
    if inst.reliable_change_inclusive:
        return f"{inst.reliable_change:g} points or more (published criterion)"
    text = f"more than {inst.reliable_change:.2f} points (from {inst.reliability_basis}, SEM {inst.sem:.2f})"
    if inst.item_reliable_change is not None:
        text += (
            f"; one {inst.item_name_words()}: more than {inst.item_reliable_change:.2f} points "
            f"(from {inst.item_reliability_basis})"
        )
    return text


def _range(inst) -> str:
    span = ""
    if inst.total_min is not None and inst.total_max is not None:
        span = f"{inst.total_min:g}–{inst.total_max:g}{(' ' + inst.unit) if inst.unit else ''}"
    direction = {"higher_worse": "higher is worse", "higher_better": "higher is better"}.get(
        inst.direction, "no direction"
    )
    return f"{span}, {direction}" if span else direction


def write_about(job: Job, book: Book, file_name: str, instrument_ids: list[str]) -> int:
    return write_key_values(book, "About", about_rows(job, file_name, instrument_ids))


def instruments_in_export(job: Job) -> list[str]:
    """The instruments the About sheet describes: those of the discipline filter, or all."""
    wanted = job.select.discipline_instruments
    library = instruments.library()
    ids = list(wanted) if wanted is not None else list(library)
    return sorted(ids, key=lambda i: (library[i].discipline, library[i].short_name))


def write_record_sheets(job: Job, book: Book, *, decisions: bool = True) -> None:
    """The long sheets both the cohort and the long workbook carry (``decisions``: in a
    column of the check-ins, where no Decisions sheet follows)."""
    write_measurements(job, book)
    write_sessions(job, book)
    write_goals(job, book)
    write_checkins(job, book, decisions=decisions)
    write_actions(job, book)
